// SPDX-License-Identifier: GPL-2.0-only
/* Interfaces coming and going: RTM_NEWLINK / RTM_DELLINK from the kernel,
 * so a VM port gets tc_port as soon as its interface exists.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

int zh_netlink_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	int fd, rcvbuf = 1 << 20, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* Many VMs starting at once must not overrun the socket. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void link_msg(const struct nlmsghdr *nh, zh_link_cb cb, void *ctx)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *rta;
	char name[IF_NAMESIZE] = "";
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type != IFLA_IFNAME)
			continue;
		size_t n = RTA_PAYLOAD(rta);

		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, RTA_DATA(rta), n);
		name[n] = 0;
	}
	cb((uint32_t)ifi->ifi_index, name[0] ? name : NULL, nh->nlmsg_type == RTM_DELLINK, ctx);
}

int zh_netlink_read(int fd, zh_link_cb cb, void *ctx)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlmsghdr *nh;
	ssize_t n;
	int lost = 0, len;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				lost = -ENOBUFS;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return lost;
			return -errno;
		}
		if (n == 0)
			return lost;
		len = (int)n;
		for (nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
				link_msg(nh, cb, ctx);
		}
	}
}
