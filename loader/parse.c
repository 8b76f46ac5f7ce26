// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

int zh_parse_ipv4(const char *s, uint32_t *addr_be)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr_be = a.s_addr;
	return 0;
}

int zh_check_unicast_ipv4(uint32_t addr_be)
{
	const uint8_t *b = (const uint8_t *)&addr_be;

	if (b[0] == 0 || b[0] == 127 || b[0] >= 224)
		return -EINVAL;
	return 0;
}

int zh_parse_mac(const char *s, uint8_t mac[6])
{
	const char *p = s;
	int i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		unsigned int v = 0;
		int digits = 0;

		while (isxdigit((unsigned char)*p) && digits < 3) {
			v = v * 16 + (isdigit((unsigned char)*p) ? *p - '0'
								 : (tolower((unsigned char)*p) - 'a' + 10));
			p++;
			digits++;
		}
		if (digits == 0 || digits > 2)
			return -EINVAL;
		mac[i] = v;
		if (i < 5) {
			if (*p != ':' && *p != '-')
				return -EINVAL;
			p++;
		}
	}
	if (*p)
		return -EINVAL;
	if (mac[0] & 1) /* multicast or broadcast */
		return -EINVAL;
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

int zh_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int zh_check_instance_name(const char *s)
{
	size_t i, n;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n == 0 || n > ZH_INSTANCE_NAME_MAX || s[0] == '-')
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return -EINVAL;
	return 0;
}

int zh_check_ifname(const char *s)
{
	size_t i, n;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n == 0 || n >= ZH_IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]))
			return -EINVAL;
	return 0;
}

static int lookup_word(const char *s, const char *const *words, int n)
{
	int i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(s, words[i]))
			return i;
	return -EINVAL;
}

int zh_parse_xdp_request(const char *s, enum zh_xdp_request *out)
{
	static const char *const words[] = {"auto", "native", "generic", "off"};
	int i = lookup_word(s, words, 4);

	if (i < 0)
		return i;
	*out = (enum zh_xdp_request)i;
	return 0;
}

int zh_parse_tc_request(const char *s, enum zh_tc_request *out)
{
	static const char *const words[] = {"auto", "tcx", "clsact"};
	int i = lookup_word(s, words, 3);

	if (i < 0)
		return i;
	*out = (enum zh_tc_request)i;
	return 0;
}

int zh_parse_encap(const char *s, enum zh_encap *out)
{
	static const char *const words[] = {"default", "vxlan", "geneve"};
	int i = lookup_word(s, words, 3);

	if (i <= 0)
		return -EINVAL;
	*out = (enum zh_encap)i;
	return 0;
}

int zh_parse_prefix(const char *s, uint32_t *prefix_be, uint8_t *len)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash;
	uint32_t plen, mask;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= INET_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = 0;
	if (zh_parse_ipv4(buf, prefix_be) || zh_parse_u32(slash + 1, 0, 32, &plen))
		return -EINVAL;
	mask = plen ? htonl(~0u << (32 - plen)) : 0;
	if (*prefix_be & ~mask)
		return -EINVAL;
	*len = plen;
	return 0;
}

int zh_parse_protocols(const char *s, uint32_t *bits)
{
	static const struct {
		const char *name;
		uint32_t bits;
	} names[] = {
		{"tcp", ZH_PROTO_TCP},   {"udp", ZH_PROTO_UDP}, {"icmp", ZH_PROTO_ICMP},
		{"other", ZH_PROTO_OTHER}, {"any", ZH_PROTO_ANY},
	};
	const char *p = s, *end;
	uint32_t out = 0;
	size_t i, n;

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n && !strncasecmp(p, names[i].name, n))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		out |= names[i].bits;
		if (!end)
			break;
		p = end + 1;
	}
	*bits = out;
	return 0;
}

const char *zh_policy_protocols_str(uint32_t bits, char *buf, size_t len)
{
	static const char *const names[] = {"tcp", "udp", "icmp", "other"};
	size_t i, off = 0;

	if ((bits & ZH_PROTO_ANY) == ZH_PROTO_ANY) {
		snprintf(buf, len, "any");
		return buf;
	}
	buf[0] = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & (1u << i) && off < len)
			off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i]);
	if (!off)
		snprintf(buf, len, "none");
	return buf;
}

const char *zh_encap_str(uint32_t encap)
{
	switch (encap) {
	case ZH_ENCAP_VXLAN:
		return "vxlan";
	case ZH_ENCAP_GENEVE:
		return "geneve";
	default:
		return "default";
	}
}

const char *zh_xdp_mode_str(uint32_t mode)
{
	switch (mode) {
	case ZH_XDP_NATIVE:
		return "native";
	case ZH_XDP_GENERIC:
		return "generic";
	default:
		return "off";
	}
}

const char *zh_tc_mode_str(uint32_t mode)
{
	switch (mode) {
	case ZH_TC_TCX:
		return "tcx";
	case ZH_TC_CLSACT:
		return "clsact";
	default:
		return "none";
	}
}

const char *zh_role_str(uint32_t role)
{
	switch (role) {
	case ZH_ROLE_UPLINK:
		return "uplink";
	case ZH_ROLE_PORT:
		return "port";
	default:
		return "unknown";
	}
}
