/* SPDX-License-Identifier: GPL-2.0-only */
/* Parsers for operator input. Each returns 0 or -EINVAL and never logs, so
 * the caller can name the option in its one-line error.
 */
#ifndef ZH_PARSE_H
#define ZH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "zh_shared.h"

#define ZH_INSTANCE_NAME_MAX 32

/* Requested XDP attach mode; "auto" tries native, then generic. */
enum zh_xdp_request {
	ZH_XDP_REQ_AUTO = 0,
	ZH_XDP_REQ_NATIVE,
	ZH_XDP_REQ_GENERIC,
	ZH_XDP_REQ_OFF,
};

/* Requested TC attach method; "auto" uses tcx where the kernel has it. */
enum zh_tc_request {
	ZH_TC_REQ_AUTO = 0,
	ZH_TC_REQ_TCX,
	ZH_TC_REQ_CLSACT,
};

/* Dotted quad, exactly four parts; result in network byte order. */
int zh_parse_ipv4(const char *s, uint32_t *addr_be);
/* A host address a VM can have: not 0.0.0.0/8, loopback, multicast,
 * reserved (240/4) or broadcast. 0 or -EINVAL.
 */
int zh_check_unicast_ipv4(uint32_t addr_be);
/* aa:bb:cc:dd:ee:ff (hex, 1-2 digits per part, ':' or '-'); a unicast,
 * non-zero station address only. */
int zh_parse_mac(const char *s, uint8_t mac[6]);
/* Decimal in [min, max]; no sign, no trailing garbage. */
int zh_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* 1..32 characters of [A-Za-z0-9_-], not starting with '-'. */
int zh_check_instance_name(const char *s);
/* A syntactically valid Linux interface name (1..15 chars, no '/', ':' or space). */
int zh_check_ifname(const char *s);
int zh_parse_xdp_request(const char *s, enum zh_xdp_request *out);
/* "vxlan" or "geneve". */
int zh_parse_encap(const char *s, enum zh_encap *out);
/* a.b.c.d/len; host bits must be zero. */
int zh_parse_prefix(const char *s, uint32_t *prefix_be, uint8_t *len);
const char *zh_encap_str(uint32_t encap);
/* Comma-separated protocols of an export policy: tcp, udp, icmp, other
 * (any other IP protocol) or any (all four), case-insensitive; the
 * ZH_PROTO_* bits.
 */
int zh_parse_protocols(const char *s, uint32_t *bits);
/* "any", "none" or the names joined by commas ("tcp,icmp"); returns buf. */
const char *zh_policy_protocols_str(uint32_t bits, char *buf, size_t len);
int zh_parse_tc_request(const char *s, enum zh_tc_request *out);

const char *zh_xdp_mode_str(uint32_t mode);
const char *zh_tc_mode_str(uint32_t mode);
const char *zh_role_str(uint32_t role);

#endif /* ZH_PARSE_H */
