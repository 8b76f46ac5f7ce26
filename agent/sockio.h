/* SPDX-License-Identifier: GPL-2.0-only */
/* Socket I/O with a deadline, for the agent's small servers (httpd,
 * statsock): the event loop must never wait on a client longer than the
 * deadline it set, and a client that went away must not raise SIGPIPE.
 */
#ifndef ZH_SOCKIO_H
#define ZH_SOCKIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t zh_now_ms(void);
/* One recv on a non-blocking socket, waiting until deadline_ms at most:
 * bytes read, 0 at end of stream, -ETIMEDOUT or -errno.
 */
ssize_t zh_recv_until(int fd, void *buf, size_t len, int64_t deadline_ms);
/* All of buf, or -ETIMEDOUT / -errno (-EPIPE when the peer is gone). */
int zh_send_until(int fd, const void *buf, size_t len, int64_t deadline_ms);
/* Shut down our side, discard what the client still sent (so closing does
 * not reset the connection before it read the reply), and close.
 */
void zh_close_conn(int fd);

#endif /* ZH_SOCKIO_H */
