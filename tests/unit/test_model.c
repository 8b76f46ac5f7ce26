// SPDX-License-Identifier: GPL-2.0-only
/* The v1 data model (controller/model.h): keys, record values, the
 * canonical format, and intent documents with every validation rule.
 *
 * JSON in the tables is written with single quotes for readability; J()
 * turns them into double quotes (no test string needs a real one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model.h"
#include "zh_shared.h"
#include "helpers.h"


/* --- keys -------------------------------------------------------------------- */

struct key_case {
	const char *key;
	size_t len;              /* 0: strlen(key) */
	int ret;
	enum zh_rec_kind kind;
	const char *name;        /* network or host name */
	const char *part;        /* ip, prefix or ifname from the key */
	const char *err;         /* exact message when ret != 0 */
};

static const struct key_case key_cases[] = {
	/* every kind */
	{R "networks/blue", 0, 0, ZH_REC_NETWORK, "blue", NULL, NULL},
	{R "networks/blue/endpoints/10.0.0.9", 0, 0, ZH_REC_ENDPOINT, "blue", "10.0.0.9", NULL},
	{R "networks/blue/routes/10.9.0.0/16", 0, 0, ZH_REC_ROUTE, "blue", "10.9.0.0/16", NULL},
	{R "networks/blue/routes/0.0.0.0/0", 0, 0, ZH_REC_ROUTE, "blue", "0.0.0.0/0", NULL},
	{R "networks/blue/routes/10.0.0.7/32", 0, 0, ZH_REC_ROUTE, "blue", "10.0.0.7/32", NULL},
	{R "hosts/h1", 0, 0, ZH_REC_HOST, "h1", NULL, NULL},
	{R "hosts/h1/ports/vm1p", 0, 0, ZH_REC_PORT, "h1", "vm1p", NULL},
	{R "hosts/h-1.a_b/ports/eth0.100", 0, 0, ZH_REC_PORT, "h-1.a_b", "eth0.100", NULL},
	{R "hosts/h1/ports/abcdefghijklmno", 0, 0, ZH_REC_PORT, "h1", "abcdefghijklmno", NULL},
	/* the key is the first len bytes, not up to a NUL */
	{R "hosts/h1GARBAGE", sizeof(R "hosts/h1") - 1, 0, ZH_REC_HOST, "h1", NULL, NULL},
	/* shapes v1 does not know: ignored */
	{"", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{"/zerohop/v1", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R, 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{"/zerohop/v2/networks/blue", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{"/other/networks/blue", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/endpoints", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/lbs/10.0.0.1:80/tcp", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/exports", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/exports/all/x", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/peerings/red/x", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/endpoints/10.0.0.9/extra", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "networks/blue/routes/10.9.0.0/16/x", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "published/blue", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "published/blue/all", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "published/blue/all/lbs/10.0.0.1:80/tcp", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "published/blue/all/endpoints/10.0.0.9/x", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "published/blue/all/routes/10.9.0.0/16/x", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "effective/blue/endpoints/10.0.0.9", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "effective/blue/routes/10.9.0.0/16/x", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	/* peering kinds */
	{R "networks/blue/exports/web-only", 0, 0, ZH_REC_EXPORT, "blue", "web-only", NULL},
	{R "networks/blue/peerings/red", 0, 0, ZH_REC_PEERING, "blue", "red", NULL},
	{R "published/blue/all/meta", 0, 0, ZH_REC_PUB_META, "blue", "all", NULL},
	{R "published/blue/all/endpoints/10.0.0.9", 0, 0, ZH_REC_PUB_ENDPOINT, "blue",
	 "all 10.0.0.9", NULL},
	{R "published/blue/all/routes/10.9.0.0/16", 0, 0, ZH_REC_PUB_ROUTE, "blue",
	 "all 10.9.0.0/16", NULL},
	{R "effective/blue/routes/10.9.0.0/16", 0, 0, ZH_REC_EFFECTIVE, "blue", "10.9.0.0/16",
	 NULL},
	{R "effective/blue/routes/0.0.0.0/0", 0, 0, ZH_REC_EFFECTIVE, "blue", "0.0.0.0/0", NULL},
	{R "hosts/h1/ports", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "hosts/h1/state", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	{R "a/b/c/d/e/f/g/h", 0, 0, ZH_REC_OTHER, NULL, NULL, NULL},
	/* known shapes with a bad part */
	{R "networks/Blue", 0, -EINVAL, 0, NULL, NULL,
	 "networks/Blue: \"Blue\" is not a valid network name ([a-z0-9][a-z0-9._-]*, at most 63 "
	 "characters)"},
	{R "networks/", 0, -EINVAL, 0, NULL, NULL,
	 "networks/: \"\" is not a valid network name ([a-z0-9][a-z0-9._-]*, at most 63 "
	 "characters)"},
	{R "networks/-a", 0, -EINVAL, 0, NULL, NULL,
	 "networks/-a: \"-a\" is not a valid network name ([a-z0-9][a-z0-9._-]*, at most 63 "
	 "characters)"},
	{R "networks/a234567890123456789012345678901234567890123456789012345678901234", 0, -EINVAL,
	 0, NULL, NULL,
	 "networks/a23456789012345678901234567890123456789012345678901234...: "
	 "\"a23456789012345678901234567890123456789012345678901234567890123...\" is not a valid "
	 "network name ([a-z0-9][a-z0-9._-]*, at most 63 characters)"},
	{R "networks/blue/endpoints/10.0.0.300", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/endpoints/10.0.0.300: \"10.0.0.300\" is not an IPv4 address (a.b.c.d)"},
	{R "networks/blue/endpoints/010.0.0.9", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/endpoints/010.0.0.9: \"010.0.0.9\" is not an IPv4 address (a.b.c.d)"},
	{R "networks/blue/endpoints/", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/endpoints/: \"\" is not an IPv4 address (a.b.c.d)"},
	{R "networks/blue/endpoints/224.0.0.1", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/endpoints/224.0.0.1: 224.0.0.1 is not a unicast address"},
	{R "networks/blue/endpoints/0.0.0.0", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/endpoints/0.0.0.0: 0.0.0.0 is not a unicast address"},
	{R "networks/blue/routes/10.9.0.1/16", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/routes/10.9.0.1/16: prefix has host bits set"},
	{R "networks/blue/routes/10.9.0.0/33", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/routes/10.9.0.0/33: not a route key (routes/<a.b.c.d>/<0-32>)"},
	{R "networks/blue/routes/10.9.0.0/016", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/routes/10.9.0.0/016: not a route key (routes/<a.b.c.d>/<0-32>)"},
	{R "networks/blue/routes/10.9.0.0/", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/routes/10.9.0.0/: not a route key (routes/<a.b.c.d>/<0-32>)"},
	{R "networks/blue/routes/10.9.0.0", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/routes/10.9.0.0: not a route key (routes/<a.b.c.d>/<0-32>)"},
	{R "hosts/H1", 0, -EINVAL, 0, NULL, NULL,
	 "hosts/H1: \"H1\" is not a valid host name ([a-z0-9][a-z0-9._-]*, at most 63 "
	 "characters)"},
	{R "hosts/h1/ports/", 0, -EINVAL, 0, NULL, NULL,
	 "hosts/h1/ports/: \"\" is not a valid interface name (1-15 characters, no '/', ':', "
	 "space or control character)"},
	{R "hosts/h1/ports/abcdefghijklmnop", 0, -EINVAL, 0, NULL, NULL,
	 "hosts/h1/ports/abcdefghijklmnop: \"abcdefghijklmnop\" is not a valid interface name "
	 "(1-15 characters, no '/', ':', space or control character)"},
	{R "hosts/h1/ports/a:b", 0, -EINVAL, 0, NULL, NULL,
	 "hosts/h1/ports/a:b: \"a:b\" is not a valid interface name (1-15 characters, no '/', "
	 "':', space or control character)"},
	{R "hosts/h1/ports/..", 0, -EINVAL, 0, NULL, NULL,
	 "hosts/h1/ports/..: \"..\" is not a valid interface name (1-15 characters, no '/', "
	 "':', space or control character)"},
	{R "hosts/h1/ports/a b", 0, -EINVAL, 0, NULL, NULL,
	 "hosts/h1/ports/a b: \"a b\" is not a valid interface name (1-15 characters, no '/', "
	 "':', space or control character)"},
	{R "networks/blue/exports/Web", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/exports/Web: \"Web\" is not a valid export policy name "
	 "([a-z0-9][a-z0-9._-]*, at most 63 characters)"},
	{R "networks/blue/peerings/", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/peerings/: \"\" is not a valid network name ([a-z0-9][a-z0-9._-]*, at "
	 "most 63 characters)"},
	{R "networks/blue/peerings/blue", 0, -EINVAL, 0, NULL, NULL,
	 "networks/blue/peerings/blue: a network does not peer with itself"},
	{R "published/Blue/all/meta", 0, -EINVAL, 0, NULL, NULL,
	 "published/Blue/all/meta: \"Blue\" is not a valid network name ([a-z0-9][a-z0-9._-]*, "
	 "at most 63 characters)"},
	{R "published/blue/-all/meta", 0, -EINVAL, 0, NULL, NULL,
	 "published/blue/-all/meta: \"-all\" is not a valid export policy name "
	 "([a-z0-9][a-z0-9._-]*, at most 63 characters)"},
	{R "published/blue/all/endpoints/10.0.0.256", 0, -EINVAL, 0, NULL, NULL,
	 "published/blue/all/endpoints/10.0.0.256: \"10.0.0.256\" is not an IPv4 address "
	 "(a.b.c.d)"},
	{R "published/blue/all/routes/10.9.0.0", 0, -EINVAL, 0, NULL, NULL,
	 "published/blue/all/routes/10.9.0.0: not a route key (routes/<a.b.c.d>/<0-32>)"},
	{R "published/blue/all/routes/10.9.0.1/16", 0, -EINVAL, 0, NULL, NULL,
	 "published/blue/all/routes/10.9.0.1/16: prefix has host bits set"},
	{R "effective/blue/routes/10.9.0.0", 0, -EINVAL, 0, NULL, NULL,
	 "effective/blue/routes/10.9.0.0: not a route key (routes/<a.b.c.d>/<0-32>)"},
	{R "effective/blue/routes/10.9.0.0/40", 0, -EINVAL, 0, NULL, NULL,
	 "effective/blue/routes/10.9.0.0/40: not a route key (routes/<a.b.c.d>/<0-32>)"},
	/* hostile bytes come out escaped */
	{R "networks/a\x01\xff", 0, -EINVAL, 0, NULL, NULL,
	 "networks/a\\x01\\xff: \"a\\x01\\xff\" is not a valid network name ([a-z0-9][a-z0-9._-]*, "
	 "at most 63 characters)"},
	{R "hosts/h1\0x", sizeof(R "hosts/h1\0x") - 1, -EINVAL, 0, NULL, NULL,
	 "hosts/h1\\x00x: \"h1\\x00x\" is not a valid host name ([a-z0-9][a-z0-9._-]*, at most 63 "
	 "characters)"},
	{R "hosts/h1/ports/p\n1", 0, -EINVAL, 0, NULL, NULL,
	 "hosts/h1/ports/p\\x0a1: \"p\\x0a1\" is not a valid interface name (1-15 characters, no "
	 "'/', ':', space or control character)"},
};

static void key_part(const struct zh_record *rec, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];

	buf[0] = 0;
	switch (rec->kind) {
	case ZH_REC_ENDPOINT:
		inet_ntop(AF_INET, &rec->ep.ip, buf, size);
		break;
	case ZH_REC_ROUTE:
		inet_ntop(AF_INET, &rec->route.prefix.addr, a, sizeof(a));
		snprintf(buf, size, "%s/%u", a, rec->route.prefix.len);
		break;
	case ZH_REC_PORT:
		snprintf(buf, size, "%s", rec->port.ifname);
		break;
	case ZH_REC_EXPORT:
	case ZH_REC_PUB_META:
		snprintf(buf, size, "%s", rec->policy);
		break;
	case ZH_REC_PEERING:
		snprintf(buf, size, "%s", rec->peering.peer);
		break;
	case ZH_REC_PUB_ENDPOINT:
		inet_ntop(AF_INET, &rec->ep.ip, a, sizeof(a));
		snprintf(buf, size, "%s %s", rec->policy, a);
		break;
	case ZH_REC_PUB_ROUTE:
		inet_ntop(AF_INET, &rec->route.prefix.addr, a, sizeof(a));
		snprintf(buf, size, "%s %s/%u", rec->policy, a, rec->route.prefix.len);
		break;
	case ZH_REC_EFFECTIVE:
		inet_ntop(AF_INET, &rec->eff.prefix.addr, a, sizeof(a));
		snprintf(buf, size, "%s/%u", a, rec->eff.prefix.len);
		break;
	default:
		break;
	}
}

static void test_key_parse_every_kind_and_hostile_keys(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(key_cases); i++) {
		const struct key_case *c = &key_cases[i];
		size_t len = c->len ? c->len : strlen(c->key);
		struct zh_record rec;
		char err[ZH_ERR_MAX] = "", part[64];
		int ret;

		memset(&rec, 0xa5, sizeof(rec));
		ret = zh_key_parse(c->key, len, &rec, err, sizeof(err));
		if (ret != c->ret)
			fail_msg("case %zu (%s): returned %d, want %d (%s)", i, c->key, ret, c->ret,
				 err);
		if (ret) {
			assert_int_equal(rec.kind, ZH_REC_OTHER);
			assert_string_equal(err, c->err);
			continue;
		}
		if (rec.kind != c->kind)
			fail_msg("case %zu (%s): kind %s, want %s", i, c->key,
				 zh_rec_kind_name(rec.kind), zh_rec_kind_name(c->kind));
		if (c->kind != ZH_REC_OTHER && c->kind != ZH_REC_HOST && c->kind != ZH_REC_PORT)
			assert_string_equal(rec.network, c->name);
		if (c->kind == ZH_REC_HOST || c->kind == ZH_REC_PORT)
			assert_string_equal(rec.host, c->name);
		if (c->part) {
			key_part(&rec, part, sizeof(part));
			assert_string_equal(part, c->part);
		}
	}
}

/* --- record values ---------------------------------------------------------------- */

struct rec_case {
	const char *key;         /* without ZH_KEY_ROOT */
	const char *val;         /* single-quoted JSON */
	const char *canonical;   /* zh_record_format's value; NULL: same as val */
	const char *err;         /* NULL: must parse */
};

#define EP_OK "{'mac':'02:00:00:00:00:12','host':'h2','host_ip':'198.18.0.2'}"

static const struct rec_case rec_ok_cases[] = {
	{"networks/blue", "{'vni':100,'cidrs':['10.0.0.0/24']}", NULL, NULL},
	{"networks/blue", "{'vni':16777215,'cidrs':['10.0.0.0/24','10.1.0.0/16','0.0.0.0/32']}",
	 NULL, NULL},
	{"networks/blue", " \n{ 'cidrs' : [ '10.0.0.0/8' ] , 'vni' : 1 }\n ",
	 "{'vni':1,'cidrs':['10.0.0.0/8']}", NULL},
	{"networks/blue/endpoints/10.0.0.12", EP_OK, NULL, NULL},
	{"networks/blue/endpoints/10.0.0.12",
	 "{'mac':'2-0-0-0-0-AB','host':'h2','host_ip':'198.18.0.2','encap':'geneve'}",
	 "{'mac':'02:00:00:00:00:ab','host':'h2','host_ip':'198.18.0.2','encap':'geneve'}", NULL},
	{"networks/blue/endpoints/10.0.0.12",
	 "{'mac':'02:00:00:00:00:12','host':'h2','host_ip':'198.18.0.2','encap':null}", EP_OK,
	 NULL},
	/* unknown fields: ignored, however deep */
	{"networks/blue/endpoints/10.0.0.12",
	 "{'future':{'a':[1,{'b':null}]},'mac':'02:00:00:00:00:12','host':'h2',"
	 "'host_ip':'198.18.0.2','weight':3.5}",
	 EP_OK, NULL},
	{"networks/blue/routes/10.9.0.0/16", "{'host':'h2','host_ip':'198.18.0.2'}", NULL, NULL},
	{"networks/blue/routes/10.9.0.0/16", "{'host':'h2','host_ip':'198.18.0.2','encap':'vxlan'}",
	 NULL, NULL},
	{"networks/blue/routes/10.9.0.0/16", "{'drop':true}", NULL, NULL},
	{"networks/blue/routes/10.9.0.0/16", "{'drop':false,'host':'h2','host_ip':'198.18.0.2'}",
	 "{'host':'h2','host_ip':'198.18.0.2'}", NULL},
	{"hosts/h1", "{'underlay':'198.18.0.1','networks':['blue','red']}", NULL, NULL},
	{"hosts/h1", "{'underlay':'198.18.0.1'}", "{'underlay':'198.18.0.1','networks':[]}", NULL},
	{"hosts/h1", "{'underlay':'198.18.0.1','networks':null}",
	 "{'underlay':'198.18.0.1','networks':[]}", NULL},
	{"hosts/h1", "{'underlay':'198.18.0.1','networks':[],'encap':'geneve'}", NULL, NULL},
	{"hosts/h1/ports/p1", "{'network':'blue','mac':'02:00:00:00:00:11','ip':'10.0.0.11'}", NULL,
	 NULL},
	/* peering kinds */
	{"networks/blue/exports/web", "{'prefixes':['10.0.1.0/24','10.0.2.8/29'],'protocols':['tcp']}",
	 NULL, NULL},
	{"networks/blue/exports/all", "{}", NULL, NULL},
	{"networks/blue/exports/all", "{'prefixes':[],'protocols':['icmp','tcp']}",
	 "{'protocols':['tcp','icmp']}", NULL},
	{"networks/blue/exports/all", "{'prefixes':null,'protocols':null}", "{}", NULL},
	/* naming all three is not every protocol: the others stay out */
	{"networks/blue/exports/all", "{'prefixes':['10.0.0.0/8'],'protocols':['udp','icmp','tcp']}",
	 "{'prefixes':['10.0.0.0/8'],'protocols':['tcp','udp','icmp']}", NULL},
	{"networks/blue/peerings/red", "{'grant':'web'}", "{'grant':'web','preference':100}", NULL},
	{"networks/blue/peerings/red",
	 "{'peer_shard':['http://198.18.0.202:23790','198.18.0.203:23790'],'grant':'web',"
	 "'preference':0,'user':'blue-hosts','password_file':'/etc/zerohop/red.pw',"
	 "'peer_user':'red-hosts','peer_password_file':'/etc/zerohop/blue-for-red.pw'}",
	 NULL, NULL},
	{"networks/blue/peerings/red",
	 "{'grant':'web','preference':65535,'password_file':'/a b/\\\\x','user':'u'}",
	 "{'grant':'web','preference':65535,'user':'u','password_file':'/a b/\\\\x'}", NULL},
	{"published/blue/web/meta",
	 "{'vni':100,'prefixes':['10.0.1.0/24'],'protocols':['udp','tcp']}",
	 "{'vni':100,'prefixes':['10.0.1.0/24'],'protocols':['tcp','udp']}", NULL},
	{"published/blue/all/meta", "{'vni':100,'prefixes':['10.0.0.0/24']}", NULL, NULL},
	{"published/blue/web/endpoints/10.0.1.5", EP_OK, NULL, NULL},
	{"published/blue/web/routes/10.0.1.128/25", "{'host':'h2','host_ip':'198.18.0.2'}", NULL,
	 NULL},
	{"published/blue/web/routes/10.0.1.0/26", "{'drop':true}", NULL, NULL},
	{"effective/blue/routes/10.9.0.0/16",
	 "{'origin':'local','network':'blue','vni':100,'host':'h2','host_ip':'198.18.0.2',"
	 "'rule':'only'}", NULL, NULL},
	{"effective/blue/routes/10.9.0.0/16",
	 "{'origin':'peer','network':'red','vni':200,'preference':50,'drop':true,"
	 "'rule':'preference','losers':[{'origin':'peer','network':'green','vni':300,"
	 "'preference':10,'host':'g1','host_ip':'198.18.0.7','encap':'geneve',"
	 "'rule':'preference'}],'losers_omitted':3}", NULL, NULL},
	{"effective/blue/routes/0.0.0.0/0",
	 "{'rule':'local','network':'blue','origin':'local','vni':100,'host':'h1',"
	 "'host_ip':'198.18.0.1','preference':7,'losers':[]}",
	 "{'origin':'local','network':'blue','vni':100,'host':'h1','host_ip':'198.18.0.1',"
	 "'rule':'local'}", NULL},
};

#define EPK "networks/blue/endpoints/10.0.0.12"
#define NETK "networks/blue"
#define RTK "networks/blue/routes/10.9.0.0/16"
#define EXK "networks/blue/exports/web"
#define PEK "networks/blue/peerings/red"
#define EFK "effective/blue/routes/10.9.0.0/16"

static const struct rec_case rec_bad_cases[] = {
	/* not JSON, or not an object */
	{EPK, "", NULL, EPK ": value: empty, expected a JSON object"},
	{EPK, "  \n ", NULL, EPK ": value: empty, expected a JSON object"},
	{EPK, "[1]", NULL, EPK ": value: not a JSON object"},
	{EPK, "'mac'", NULL, EPK ": value: not a JSON object"},
	{EPK, "null", NULL, EPK ": value: not a JSON object"},
	{EPK, "{'mac':'02:00", NULL, EPK ": value: invalid JSON: ends early (line 1, column 14)"},
	{EPK, "{'mac':'02:00:00:00:00:12',", NULL,
	 EPK ": value: invalid JSON: ends early (line 1, column 28)"},
	{EPK, "{'mac' '02'}", NULL,
	 EPK ": value: invalid JSON at line 1, column 8: object property name separator ':' "
	     "expected"},
	{EPK, "{}{}", NULL, EPK ": value: invalid JSON at line 1, column 3: unexpected character"},
	{EPK, "{} x", NULL, EPK ": value: invalid JSON at line 1, column 4: unexpected character"},
	{EPK, "{'a':1,}", NULL, EPK ": value: invalid JSON at line 1, column 8: unexpected character"},
	{EPK, "{\n'a':\n tru}", NULL,
	 EPK ": value: invalid JSON at line 3, column 5: boolean expected"},
	/* missing, wrong type, bad value */
	{EPK, "{}", NULL, EPK ": mac: required field missing"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':'h2'}", NULL, EPK ": host_ip: required field missing"},
	{EPK, "{'mac':'x','host':'h2','host_ip':'198.18.0.2'}", NULL,
	 EPK ": mac: \"x\" is not a MAC address (aa:bb:cc:dd:ee:ff)"},
	{EPK, "{'mac':'02:00:00:00:00:12:13','host':'h2','host_ip':'198.18.0.2'}", NULL,
	 EPK ": mac: \"02:00:00:00:00:12:13\" is not a MAC address (aa:bb:cc:dd:ee:ff)"},
	{EPK, "{'mac':'ff:ff:ff:ff:ff:ff','host':'h2','host_ip':'198.18.0.2'}", NULL,
	 EPK ": mac: ff:ff:ff:ff:ff:ff is not a unicast MAC address"},
	{EPK, "{'mac':'00:00:00:00:00:00','host':'h2','host_ip':'198.18.0.2'}", NULL,
	 EPK ": mac: 00:00:00:00:00:00 is not a unicast MAC address"},
	{EPK, "{'mac':12,'host':'h2','host_ip':'198.18.0.2'}", NULL,
	 EPK ": mac: expected a string, got an integer"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':null,'host_ip':'198.18.0.2'}", NULL,
	 EPK ": host: expected a string, got null"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':['h2'],'host_ip':'198.18.0.2'}", NULL,
	 EPK ": host: expected a string, got an array"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':'h2\\u0000x','host_ip':'198.18.0.2'}", NULL,
	 EPK ": host: \"h2\\x00x\" contains a NUL character"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':'h2\\u0001','host_ip':'198.18.0.2'}", NULL,
	 EPK ": host: \"h2\\x01\" is not a valid host name ([a-z0-9][a-z0-9._-]*, at most 63 "
	     "characters)"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':'h2','host_ip':'198.18.0'}", NULL,
	 EPK ": host_ip: \"198.18.0\" is not an IPv4 address (a.b.c.d)"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':'h2','host_ip':'255.255.255.255'}", NULL,
	 EPK ": host_ip: 255.255.255.255 is not a unicast address"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':'h2','host_ip':'198.18.0.2','encap':'gre'}", NULL,
	 EPK ": encap: unknown encap \"gre\" (vxlan or geneve)"},
	{EPK, "{'mac':'02:00:00:00:00:12','host':'h2','host_ip':'198.18.0.2','encap':1}", NULL,
	 EPK ": encap: expected a string, got an integer"},
	{NETK, "{'cidrs':['10.0.0.0/24']}", NULL, NETK ": vni: required field missing"},
	{NETK, "{'vni':'100','cidrs':['10.0.0.0/24']}", NULL,
	 NETK ": vni: expected an integer, got a string"},
	{NETK, "{'vni':100.0,'cidrs':['10.0.0.0/24']}", NULL,
	 NETK ": vni: expected an integer, got a fractional number"},
	{NETK, "{'vni':true,'cidrs':['10.0.0.0/24']}", NULL,
	 NETK ": vni: expected an integer, got a boolean"},
	{NETK, "{'vni':0,'cidrs':['10.0.0.0/24']}", NULL, NETK ": vni: VNI 0 out of range 1..16777215"},
	{NETK, "{'vni':-1,'cidrs':['10.0.0.0/24']}", NULL,
	 NETK ": vni: VNI -1 out of range 1..16777215"},
	{NETK, "{'vni':16777216,'cidrs':['10.0.0.0/24']}", NULL,
	 NETK ": vni: VNI 16777216 out of range 1..16777215"},
	{NETK, "{'vni':99999999999999999999999,'cidrs':['10.0.0.0/24']}", NULL,
	 NETK ": vni: VNI out of range 1..16777215"},
	{NETK, "{'vni':100}", NULL, NETK ": cidrs: required field missing"},
	{NETK, "{'vni':100,'cidrs':'10.0.0.0/24'}", NULL, NETK ": cidrs: expected an array, got a string"},
	{NETK, "{'vni':100,'cidrs':[]}", NULL, NETK ": cidrs: needs 1 to 16 prefixes, got 0"},
	{NETK, "{'vni':100,'cidrs':[10]}", NULL, NETK ": cidrs[0]: expected a string, got an integer"},
	{NETK, "{'vni':100,'cidrs':['10.0.0.1/24']}", NULL,
	 NETK ": cidrs[0]: 10.0.0.1/24 has host bits set (the prefix is 10.0.0.0/24)"},
	{NETK, "{'vni':100,'cidrs':['10.0.0.0']}", NULL,
	 NETK ": cidrs[0]: \"10.0.0.0\" is not a CIDR prefix (a.b.c.d/len, len 0-32)"},
	{NETK, "{'vni':100,'cidrs':['10.0.0.0/24','10.0.0.128/25']}", NULL,
	 NETK ": cidrs[1]: 10.0.0.128/25 overlaps 10.0.0.0/24"},
	{NETK,
	 "{'vni':100,'cidrs':['10.0.0.0/24','10.0.1.0/24','10.0.2.0/24','10.0.3.0/24',"
	 "'10.0.4.0/24','10.0.5.0/24','10.0.6.0/24','10.0.7.0/24','10.0.8.0/24','10.0.9.0/24',"
	 "'10.0.10.0/24','10.0.11.0/24','10.0.12.0/24','10.0.13.0/24','10.0.14.0/24',"
	 "'10.0.15.0/24','10.0.16.0/24']}",
	 NULL, NETK ": cidrs: needs 1 to 16 prefixes, got 17"},
	{RTK, "{}", NULL, RTK ": needs \"host\" (where the prefix is) or \"drop\": true"},
	{RTK, "{'drop':false}", NULL, RTK ": needs \"host\" (where the prefix is) or \"drop\": true"},
	{RTK, "{'drop':'yes'}", NULL, RTK ": drop: expected true or false, got a string"},
	{RTK, "{'drop':true,'host':'h2','host_ip':'198.18.0.2'}", NULL,
	 RTK ": host: not allowed with \"drop\": true"},
	{RTK, "{'drop':true,'encap':'geneve'}", NULL, RTK ": encap: not allowed with \"drop\": true"},
	{RTK, "{'host':'h2'}", NULL, RTK ": host_ip: required field missing"},
	{"hosts/h1", "{}", NULL, "hosts/h1: underlay: required field missing"},
	{"hosts/h1", "{'underlay':'127.0.0.1'}", NULL,
	 "hosts/h1: underlay: 127.0.0.1 is not a unicast address"},
	{"hosts/h1", "{'underlay':'198.18.0.1','networks':'blue'}", NULL,
	 "hosts/h1: networks: expected an array, got a string"},
	{"hosts/h1", "{'underlay':'198.18.0.1','networks':['blue','blue']}", NULL,
	 "hosts/h1: networks[1]: network \"blue\" is listed twice"},
	{"hosts/h1", "{'underlay':'198.18.0.1','networks':['Blue']}", NULL,
	 "hosts/h1: networks[0]: \"Blue\" is not a valid network name ([a-z0-9][a-z0-9._-]*, at "
	 "most 63 characters)"},
	{"hosts/h1",
	 "{'underlay':'198.18.0.1','networks':['a','b','c','d','e','f','g','h','i','j','k','l',"
	 "'m','n','o','p','q']}",
	 NULL, "hosts/h1: networks: at most 16 networks, got 17"},
	{"hosts/h1/ports/p1", "{'network':'blue','mac':'02:00:00:00:00:11'}", NULL,
	 "hosts/h1/ports/p1: ip: required field missing"},
	{"hosts/h1/ports/p1", "{'network':'blue','mac':'02:00:00:00:00:11','ip':'10.0.0.0/24'}",
	 NULL, "hosts/h1/ports/p1: ip: \"10.0.0.0/24\" is not an IPv4 address (a.b.c.d)"},
	{"hosts/h1/ports/p1", "{'network':'','mac':'02:00:00:00:00:11','ip':'10.0.0.11'}", NULL,
	 "hosts/h1/ports/p1: network: \"\" is not a valid network name ([a-z0-9][a-z0-9._-]*, at "
	 "most 63 characters)"},
	/* peering kinds */
	{EXK, "{'prefixes':'10.0.1.0/24'}", NULL, EXK ": prefixes: expected an array, got a string"},
	{EXK, "{'prefixes':['10.0.1.0/24','10.0.1.0/25']}", NULL,
	 EXK ": prefixes[1]: 10.0.1.0/25 overlaps 10.0.1.0/24"},
	{EXK, "{'prefixes':['10.0.1.1/24']}", NULL,
	 EXK ": prefixes[0]: 10.0.1.1/24 has host bits set (the prefix is 10.0.1.0/24)"},
	{EXK, "{'protocols':[]}", NULL,
	 EXK ": protocols: needs at least one of tcp, udp, icmp (leave it out for every protocol)"},
	{EXK, "{'protocols':['tcp','sctp']}", NULL,
	 EXK ": protocols[1]: unknown protocol \"sctp\" (tcp, udp or icmp)"},
	{EXK, "{'protocols':['tcp','tcp']}", NULL,
	 EXK ": protocols[1]: protocol \"tcp\" is listed twice"},
	{EXK, "{'protocols':[6]}", NULL, EXK ": protocols[0]: expected a string, got an integer"},
	{PEK, "{}", NULL, PEK ": grant: required field missing"},
	{PEK, "{'grant':'Web'}", NULL,
	 PEK ": grant: \"Web\" is not a valid export policy name ([a-z0-9][a-z0-9._-]*, at most "
	     "63 characters)"},
	{PEK, "{'grant':'web','preference':65536}", NULL,
	 PEK ": preference: 65536 out of range 0..65535"},
	{PEK, "{'grant':'web','preference':-1}", NULL, PEK ": preference: -1 out of range 0..65535"},
	{PEK, "{'grant':'web','preference':'high'}", NULL,
	 PEK ": preference: expected an integer, got a string"},
	{PEK, "{'grant':'web','peer_shard':'http://a:1'}", NULL,
	 PEK ": peer_shard: expected an array, got a string"},
	{PEK, "{'grant':'web','peer_shard':['http://a:1,http://b:2']}", NULL,
	 PEK ": peer_shard[0]: \"http://a:1,http://b:2\" is not an etcd URL (http://host:port or "
	     "https://host:port)"},
	{PEK, "{'grant':'web','peer_shard':['unix://x']}", NULL,
	 PEK ": peer_shard[0]: \"unix://x\" is not an etcd URL (http://host:port or "
	     "https://host:port)"},
	{PEK, "{'grant':'web','user':'u'}", NULL, PEK ": password_file: required with \"user\""},
	{PEK, "{'grant':'web','password_file':'/p'}", NULL,
	 PEK ": user: required with \"password_file\""},
	{PEK, "{'grant':'web','peer_user':'u'}", NULL,
	 PEK ": peer_password_file: required with \"peer_user\""},
	{PEK, "{'grant':'web','peer_password_file':'/p'}", NULL,
	 PEK ": peer_user: required with \"peer_password_file\""},
	{PEK, "{'grant':'web','user':'u','password_file':'relative/p'}", NULL,
	 PEK ": password_file: \"relative/p\" is not an absolute file path"},
	{PEK, "{'grant':'web','user':'U','password_file':'/p'}", NULL,
	 PEK ": user: \"U\" is not a valid user name ([a-z0-9][a-z0-9._-]*, at most 63 "
	     "characters)"},
	{"published/blue/web/meta", "{'vni':100,'protocols':['tcp']}", NULL,
	 "published/blue/web/meta: prefixes: required field missing"},
	{"published/blue/web/meta", "{'vni':100,'prefixes':[],'protocols':['tcp']}", NULL,
	 "published/blue/web/meta: prefixes: needs 1 to 16 prefixes, got 0"},
	{"published/blue/web/endpoints/10.0.1.5", "{'mac':'02:00:00:00:00:12','host':'h2'}", NULL,
	 "published/blue/web/endpoints/10.0.1.5: host_ip: required field missing"},
	{"published/blue/web/routes/10.0.1.0/24", "{}", NULL,
	 "published/blue/web/routes/10.0.1.0/24: needs \"host\" (where the prefix is) or "
	 "\"drop\": true"},
	{EFK, "{'network':'blue','vni':100,'drop':true,'rule':'only'}", NULL,
	 EFK ": origin: required field missing"},
	{EFK, "{'origin':'remote','network':'blue','vni':100,'drop':true,'rule':'only'}", NULL,
	 EFK ": origin: unknown origin (local or peer) \"remote\""},
	{EFK, "{'origin':'local','network':'blue','vni':100,'drop':true,'rule':'best'}", NULL,
	 EFK ": rule: unknown rule (only, local, preference or network-id) \"best\""},
	{EFK, "{'origin':'local','network':'blue','vni':100,'drop':true,'rule':'local',"
	      "'losers':[{'origin':'peer','network':'red','vni':200,'rule':'local'}]}", NULL,
	 EFK ": losers[0]: needs \"host\" (where the prefix is) or \"drop\": true"},
	{EFK, "{'origin':'local','network':'blue','vni':100,'drop':true,'rule':'local',"
	      "'losers':[{'origin':'peer','network':'red','vni':0,'drop':true,'rule':'local'}]}",
	 NULL, EFK ": losers[0]: vni: VNI 0 out of range 1..16777215"},
	{EFK, "{'origin':'local','network':'blue','vni':100,'drop':true,'rule':'local',"
	      "'losers':[1]}", NULL, EFK ": losers[0]: expected an object, got an integer"},
	/* a bad key is reported before the value is looked at */
	{"networks/blue/endpoints/10.0.0.256", "not even json", NULL,
	 "networks/blue/endpoints/10.0.0.256: \"10.0.0.256\" is not an IPv4 address (a.b.c.d)"},
};

/* Parse from an exact-size heap copy, so reading past vlen or relying
 * on a NUL would show under valgrind or ASan.
 */
static int parse_exact(const char *key, const char *val, size_t vlen, struct zh_record *rec,
		       char *err, size_t errlen)
{
	char full[256];
	char *v = malloc(vlen ? vlen : 1);
	int ret;

	assert_non_null(v);
	memcpy(v, val, vlen);
	snprintf(full, sizeof(full), "%s%s", ZH_KEY_ROOT, key);
	ret = zh_record_parse(full, strlen(full), v, vlen, rec, err, errlen);
	free(v);
	return ret;
}

static void test_record_parse_valid_values_and_canonical_format(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rec_ok_cases); i++) {
		const struct rec_case *c = &rec_ok_cases[i];
		const char *val = J(c->val);
		const char *want = J(c->canonical ? c->canonical : c->val);
		struct zh_record rec;
		char err[ZH_ERR_MAX] = "", wantkey[256], *k = NULL, *v = NULL;
		int ret;

		ret = parse_exact(c->key, val, strlen(val), &rec, err, sizeof(err));
		if (ret)
			fail_msg("case %zu (%s %s): %s", i, c->key, val, err);
		assert_int_equal(zh_record_format(&rec, &k, &v), 0);
		snprintf(wantkey, sizeof(wantkey), "%s%s", ZH_KEY_ROOT, c->key);
		assert_string_equal(k, wantkey);
		if (strcmp(v, want))
			fail_msg("case %zu (%s): formatted %s, want %s", i, c->key, v, want);
		free(k);
		free(v);
	}
}

static void test_record_parse_rejects_bad_values_naming_key_and_field(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rec_bad_cases); i++) {
		const struct rec_case *c = &rec_bad_cases[i];
		const char *val = J(c->val);
		struct zh_record rec;
		char err[ZH_ERR_MAX] = "";
		int ret;

		memset(&rec, 0x5a, sizeof(rec));
		ret = parse_exact(c->key, val, strlen(val), &rec, err, sizeof(err));
		if (ret != -EINVAL)
			fail_msg("case %zu (%s %s): returned %d, want -EINVAL", i, c->key, val,
				 ret);
		assert_int_equal(rec.kind, ZH_REC_OTHER);
		if (strcmp(err, c->err))
			fail_msg("case %zu (%s %s):\n got: %s\nwant: %s", i, c->key, val, err,
				 c->err);
	}
}

static void test_record_parse_hostile_bytes(void **state)
{
	static const struct {
		const char *val;
		size_t len;
		const char *err;
	} rows[] = {
		/* a NUL right after the object, then more */
		{"{\"vni\":1,\"cidrs\":[\"10.0.0.0/8\"]}\0junk", 37,
		 "networks/blue: value: invalid JSON: NUL byte at line 1, column 33"},
		/* invalid UTF-8 inside a string */
		{"{\"vni\":1,\"cidrs\":[\"10.0.0.0/8\xff\"]}", 33,
		 "networks/blue: value: invalid JSON at line 1, column 30: invalid utf-8 string"},
		/* only part of a valid value (truncated buffer) */
		{"{\"vni\":1,\"cidrs\":[\"10.0.0.0/8\"]}", 20,
		 "networks/blue: value: invalid JSON: ends early (line 1, column 21)"},
		/* deep nesting in an unknown field */
		{"{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		 87, "networks/blue: value: invalid JSON at line 1, column 37: nesting too deep"},
	};
	struct zh_record rec;
	char err[ZH_ERR_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		err[0] = 0;
		assert_int_equal(parse_exact("networks/blue", rows[i].val, rows[i].len, &rec, err,
					     sizeof(err)),
				 -EINVAL);
		if (strcmp(err, rows[i].err))
			fail_msg("row %zu:\n got: %s\nwant: %s", i, err, rows[i].err);
	}
	/* err may be NULL or tiny: still fails cleanly */
	assert_int_equal(parse_exact("networks/blue", "{}", 2, &rec, NULL, 0), -EINVAL);
	assert_int_equal(parse_exact("networks/blue", "{}", 2, &rec, err, 8), -EINVAL);
	assert_string_equal(err, "network");
}

static void test_record_parse_other_keys_ignore_the_value(void **state)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "";

	assert_int_equal(parse_exact("networks/blue/lbs/10.0.0.1:80/tcp", "garbage", 7, &rec, err,
				     sizeof(err)),
			 0);
	assert_int_equal(rec.kind, ZH_REC_OTHER);
	assert_int_equal(zh_record_parse("/elsewhere", 10, "", 0, &rec, err, sizeof(err)), 0);
	assert_int_equal(rec.kind, ZH_REC_OTHER);
}

/* --- format -> parse round trip ------------------------------------------------------ */

static void check_round_trip(const struct zh_record *in)
{
	struct zh_record out;
	char err[ZH_ERR_MAX] = "", *k, *v, *k2, *v2;

	assert_int_equal(zh_record_format(in, &k, &v), 0);
	if (zh_record_parse(k, strlen(k), v, strlen(v), &out, err, sizeof(err)))
		fail_msg("%s %s: %s", k, v, err);
	assert_int_equal(out.kind, in->kind);
	switch (in->kind) {
	case ZH_REC_NETWORK:
		assert_string_equal(out.network, in->network);
		assert_int_equal(out.net.vni, in->net.vni);
		assert_int_equal(out.net.n_cidrs, in->net.n_cidrs);
		for (int i = 0; i < in->net.n_cidrs; i++) {
			assert_int_equal(out.net.cidrs[i].addr, in->net.cidrs[i].addr);
			assert_int_equal(out.net.cidrs[i].len, in->net.cidrs[i].len);
		}
		break;
	case ZH_REC_ENDPOINT:
		assert_string_equal(out.network, in->network);
		assert_int_equal(out.ep.ip, in->ep.ip);
		assert_memory_equal(out.ep.mac, in->ep.mac, 6);
		assert_string_equal(out.ep.host, in->ep.host);
		assert_int_equal(out.ep.host_ip, in->ep.host_ip);
		assert_int_equal(out.ep.encap, in->ep.encap);
		break;
	case ZH_REC_ROUTE:
		assert_string_equal(out.network, in->network);
		assert_int_equal(out.route.prefix.addr, in->route.prefix.addr);
		assert_int_equal(out.route.prefix.len, in->route.prefix.len);
		assert_int_equal(out.route.drop, in->route.drop);
		if (!in->route.drop) {
			assert_string_equal(out.route.host, in->route.host);
			assert_int_equal(out.route.host_ip, in->route.host_ip);
			assert_int_equal(out.route.encap, in->route.encap);
		}
		break;
	case ZH_REC_HOST:
		assert_string_equal(out.host, in->host);
		assert_int_equal(out.hostrec.underlay, in->hostrec.underlay);
		assert_int_equal(out.hostrec.n_networks, in->hostrec.n_networks);
		for (int i = 0; i < in->hostrec.n_networks; i++)
			assert_string_equal(out.hostrec.networks[i], in->hostrec.networks[i]);
		assert_int_equal(out.hostrec.encap, in->hostrec.encap);
		break;
	case ZH_REC_PORT:
		assert_string_equal(out.host, in->host);
		assert_string_equal(out.port.ifname, in->port.ifname);
		assert_string_equal(out.port.network, in->port.network);
		assert_memory_equal(out.port.mac, in->port.mac, 6);
		assert_int_equal(out.port.ip, in->port.ip);
		break;
	case ZH_REC_EXPORT:
		assert_string_equal(out.policy, in->policy);
		assert_int_equal(out.exp.n_prefixes, in->exp.n_prefixes);
		assert_int_equal(out.exp.protocols, in->exp.protocols);
		break;
	case ZH_REC_PEERING:
		assert_string_equal(out.peering.peer, in->peering.peer);
		assert_string_equal(out.peering.peer_shard, in->peering.peer_shard);
		assert_string_equal(out.peering.grant, in->peering.grant);
		assert_int_equal(out.peering.preference, in->peering.preference);
		assert_string_equal(out.peering.user, in->peering.user);
		assert_string_equal(out.peering.password_file, in->peering.password_file);
		assert_string_equal(out.peering.peer_user, in->peering.peer_user);
		assert_string_equal(out.peering.peer_password_file, in->peering.peer_password_file);
		break;
	case ZH_REC_PUB_META:
		assert_string_equal(out.policy, in->policy);
		assert_int_equal(out.meta.vni, in->meta.vni);
		assert_int_equal(out.meta.scope.n_prefixes, in->meta.scope.n_prefixes);
		assert_int_equal(out.meta.scope.protocols, in->meta.scope.protocols);
		break;
	case ZH_REC_PUB_ENDPOINT:
		assert_string_equal(out.policy, in->policy);
		assert_int_equal(out.ep.ip, in->ep.ip);
		assert_int_equal(out.ep.host_ip, in->ep.host_ip);
		break;
	case ZH_REC_PUB_ROUTE:
		assert_string_equal(out.policy, in->policy);
		assert_int_equal(out.route.prefix.addr, in->route.prefix.addr);
		assert_int_equal(out.route.drop, in->route.drop);
		break;
	case ZH_REC_EFFECTIVE:
		assert_int_equal(out.eff.prefix.addr, in->eff.prefix.addr);
		assert_int_equal(out.eff.prefix.len, in->eff.prefix.len);
		assert_string_equal(out.eff.winner.network, in->eff.winner.network);
		assert_int_equal(out.eff.winner.rule, in->eff.winner.rule);
		assert_int_equal(out.eff.n_losers, in->eff.n_losers);
		assert_int_equal(out.eff.losers_omitted, in->eff.losers_omitted);
		for (int i = 0; i < in->eff.n_losers; i++) {
			assert_string_equal(out.eff.losers[i].network, in->eff.losers[i].network);
			assert_int_equal(out.eff.losers[i].host_ip, in->eff.losers[i].host_ip);
			assert_int_equal(out.eff.losers[i].preference, in->eff.losers[i].preference);
		}
		break;
	default:
		fail();
	}
	/* and formatting what was parsed gives the same bytes */
	assert_int_equal(zh_record_format(&out, &k2, &v2), 0);
	assert_string_equal(k2, k);
	assert_string_equal(v2, v);
	free(k);
	free(v);
	free(k2);
	free(v2);
}

static void test_format_parse_round_trip(void **state)
{
	static const char long_name[] =
		"a23456789012345678901234567890123456789012345678901234567890123";
	struct zh_record r;
	int i;

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_NETWORK;
	strcpy(r.network, long_name);
	r.net.vni = ZH_VNI_MAX;
	r.net.n_cidrs = ZH_NET_CIDRS_MAX;
	for (i = 0; i < ZH_NET_CIDRS_MAX; i++) {
		r.net.cidrs[i].addr = htonl(0x0a000000 | (i << 16));
		r.net.cidrs[i].len = 16;
	}
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_ENDPOINT;
	strcpy(r.network, "blue");
	r.ep.ip = ip4("10.0.0.12");
	memcpy(r.ep.mac, "\x02\xab\xcd\xef\x00\x12", 6);
	strcpy(r.ep.host, "h2");
	r.ep.host_ip = ip4("198.18.0.2");
	check_round_trip(&r);
	r.ep.encap = ZH_ENCAP_GENEVE;
	check_round_trip(&r);
	r.ep.encap = ZH_ENCAP_VXLAN;
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_ROUTE;
	strcpy(r.network, "blue");
	r.route.prefix.addr = 0;
	r.route.prefix.len = 0;
	r.route.drop = true;
	check_round_trip(&r);
	r.route.prefix.addr = ip4("10.9.0.0");
	r.route.prefix.len = 16;
	r.route.drop = false;
	strcpy(r.route.host, "h2");
	r.route.host_ip = ip4("198.18.0.2");
	r.route.encap = ZH_ENCAP_GENEVE;
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_HOST;
	strcpy(r.host, long_name);
	r.hostrec.underlay = ip4("198.18.0.1");
	check_round_trip(&r);
	r.hostrec.n_networks = ZH_HOST_NETWORKS_MAX;
	for (i = 0; i < ZH_HOST_NETWORKS_MAX; i++)
		snprintf(r.hostrec.networks[i], sizeof(r.hostrec.networks[i]), "%.55s-%d",
			 long_name, i);
	r.hostrec.encap = ZH_ENCAP_VXLAN;
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PORT;
	strcpy(r.host, "h1");
	strcpy(r.port.ifname, "we\"ird\\name.1");
	strcpy(r.port.network, "blue");
	memcpy(r.port.mac, "\x02\x00\x00\x00\x00\x11", 6);
	r.port.ip = ip4("10.0.0.11");
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_EXPORT;
	strcpy(r.network, "blue");
	strcpy(r.policy, long_name);
	r.exp.protocols = ZH_PROTO_UDP;
	check_round_trip(&r);
	r.exp.n_prefixes = ZH_EXPORT_PREFIXES_MAX;
	for (i = 0; i < ZH_EXPORT_PREFIXES_MAX; i++) {
		r.exp.prefixes[i].addr = htonl(0x0a000000 | (i << 8));
		r.exp.prefixes[i].len = 24;
	}
	r.exp.protocols = ZH_PROTO_ANY;
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PUB_META;
	strcpy(r.network, "blue");
	strcpy(r.policy, "web");
	r.meta.vni = 100;
	r.meta.scope = (struct zh_rec_export){.n_prefixes = 1, .protocols = ZH_PROTO_ICMP};
	r.meta.scope.prefixes[0].addr = ip4("10.0.1.0");
	r.meta.scope.prefixes[0].len = 24;
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PEERING;
	strcpy(r.network, "blue");
	strcpy(r.peering.peer, long_name);
	strcpy(r.peering.grant, "web");
	r.peering.preference = ZH_PREFERENCE_MAX;
	check_round_trip(&r);
	/* the longest values fit */
	memset(r.peering.peer_shard, 'a', ZH_PEER_SHARD_MAX - 1);
	for (i = 0; i < ZH_PEER_SHARD_MAX - 1; i += 64)
		memcpy(r.peering.peer_shard + i, "https://", 8);
	for (i = 63; i < ZH_PEER_SHARD_MAX - 1; i += 64)
		r.peering.peer_shard[i] = ',';
	r.peering.peer_shard[ZH_PEER_SHARD_MAX - 1] = 0;
	strcpy(r.peering.user, long_name);
	memset(r.peering.password_file, '"', ZH_PATH_MAX - 1);
	r.peering.password_file[0] = '/';
	strcpy(r.peering.peer_user, "u2");
	memset(r.peering.peer_password_file, '\\', ZH_PATH_MAX - 1);
	r.peering.peer_password_file[0] = '/';
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PUB_ENDPOINT;
	strcpy(r.network, "blue");
	strcpy(r.policy, "web");
	r.ep.ip = ip4("10.0.1.5");
	memcpy(r.ep.mac, "\x02\x00\x00\x00\x01\x05", 6);
	strcpy(r.ep.host, "h2");
	r.ep.host_ip = ip4("198.18.0.2");
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PUB_ROUTE;
	strcpy(r.network, "blue");
	strcpy(r.policy, "web");
	r.route.prefix.addr = ip4("10.0.1.128");
	r.route.prefix.len = 25;
	r.route.drop = true;
	check_round_trip(&r);

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_EFFECTIVE;
	strcpy(r.network, "blue");
	r.eff.prefix.addr = ip4("10.9.0.0");
	r.eff.prefix.len = 16;
	r.eff.winner = (struct zh_eff_route){.origin = ZH_ORIGIN_LOCAL, .rule = ZH_RULE_ONLY,
					     .vni = 100, .host_ip = ip4("198.18.0.2")};
	strcpy(r.eff.winner.network, "blue");
	strcpy(r.eff.winner.host, "h2");
	check_round_trip(&r);
	r.eff.winner.rule = ZH_RULE_LOCAL;
	r.eff.n_losers = ZH_EFF_LOSERS_MAX;
	r.eff.losers_omitted = 1000;
	for (i = 0; i < ZH_EFF_LOSERS_MAX; i++) {
		struct zh_eff_route *l = &r.eff.losers[i];

		*l = (struct zh_eff_route){.origin = ZH_ORIGIN_PEER, .rule = ZH_RULE_LOCAL,
					   .vni = ZH_VNI_MAX - i, .preference = ZH_PREFERENCE_MAX,
					   .host_ip = ip4("198.18.0.3"), .encap = ZH_ENCAP_GENEVE};
		snprintf(l->network, sizeof(l->network), "%.60s-%d", long_name, i);
		strcpy(l->host, long_name);
	}
	check_round_trip(&r);
}

static void test_format_refuses_invalid_records(void **state)
{
	struct zh_record r;
	char *k = (char *)1, *v = (char *)1;

	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_OTHER;
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL);
	r.kind = ZH_REC_NETWORK;
	strcpy(r.network, "Bad\"name");
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL);
	r.kind = ZH_REC_ENDPOINT;
	strcpy(r.network, "blue");
	strcpy(r.ep.host, "h\"2");
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL);
	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PORT;
	strcpy(r.host, "h1");
	strcpy(r.port.ifname, "a/b");
	strcpy(r.port.network, "blue");
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL);
	/* nothing was handed out */
	assert_ptr_equal(k, (char *)1);
	assert_ptr_equal(v, (char *)1);
	assert_string_equal(zh_rec_kind_name(ZH_REC_ROUTE), "route");
	assert_string_equal(zh_rec_kind_name(ZH_REC_OTHER), "other");
	assert_string_equal(zh_rec_kind_name(ZH_REC_EFFECTIVE), "effective route");

	/* the peering kinds: what a parse never gives */
	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_EXPORT;
	strcpy(r.network, "blue");
	strcpy(r.policy, "web");
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL); /* no protocol */
	r.exp.protocols = ZH_PROTO_TCP | ZH_PROTO_OTHER;
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL); /* cannot be written */
	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PUB_META;
	strcpy(r.network, "blue");
	strcpy(r.policy, "web");
	r.meta.scope.protocols = ZH_PROTO_TCP;
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL); /* no prefix */
	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_PEERING;
	strcpy(r.network, "blue");
	strcpy(r.peering.peer, "blue");
	strcpy(r.peering.grant, "web");
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL); /* itself */
	strcpy(r.peering.peer, "red");
	strcpy(r.peering.peer_shard, "http://a:1,,");
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL); /* empty URL */
	memset(&r, 0, sizeof(r));
	r.kind = ZH_REC_EFFECTIVE;
	strcpy(r.network, "blue");
	r.eff.winner.origin = ZH_ORIGIN_LOCAL;
	r.eff.winner.rule = ZH_RULE_ONLY;
	r.eff.winner.drop = true;
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL); /* no network */
	strcpy(r.eff.winner.network, "blue");
	r.eff.n_losers = ZH_EFF_LOSERS_MAX + 1;
	assert_int_equal(zh_record_format(&r, &k, &v), -EINVAL);
	assert_ptr_equal(k, (char *)1);
	assert_ptr_equal(v, (char *)1);
	assert_string_equal(zh_conflict_rule_name(ZH_RULE_NETWORK_ID), "network-id");
	assert_string_equal(zh_route_origin_name(ZH_ORIGIN_PEER), "peer");
}

/* --- intent --------------------------------------------------------------------------- */

#define V1 "'version':'v1'"
#define BLUE "{'name':'blue','vni':100,'cidrs':['10.0.0.0/24']}"
#define H1 "{'name':'h1','underlay':'198.18.0.1','networks':['blue']}"
#define H2 "{'name':'h2','underlay':'198.18.0.2','networks':['blue']}"
#define NETS(...) "'networks':[" __VA_ARGS__ "]"
#define HOSTS(...) "'hosts':[" __VA_ARGS__ "]"
#define BLUE_WITH(...) "{'name':'blue','vni':100,'cidrs':['10.0.0.0/24']," __VA_ARGS__ "}"
#define H1_WITH(...) "{'name':'h1','underlay':'198.18.0.1','networks':['blue']," __VA_ARGS__ "}"
#define EP(ip, mac, host) "{'ip':'" ip "','mac':'" mac "','host':'" host "'}"
#define PORT(ifn, net, mac, ip) \
	"{'ifname':'" ifn "','network':'" net "','mac':'" mac "','ip':'" ip "'}"
#define M11 "02:00:00:00:00:11"
#define M12 "02:00:00:00:00:12"

struct intent_case {
	const char *name;
	const char *doc;
	const char *errs[4];     /* exact, in order; all of them */
};

static const struct intent_case intent_cases[] = {
	/* the document */
	{"empty document", "", {"$: empty, expected a JSON object"}},
	{"not an object", "[{" V1 "}]", {"$: not a JSON object"}},
	{"syntax error", "{" V1 ",\n 'networks':[1,]}",
	 {"$: invalid JSON at line 2, column 16: unexpected character"}},
	{"truncated", "{" V1 ",'networks':[", {"$: invalid JSON: ends early (line 1, column 29)"}},
	{"version missing",
	 "{" NETS(BLUE) "}", {"$.version: required field missing (must be \"v1\")"}},
	{"unknown version",
	 "{'version':'v2'}", {"$.version: unknown version \"v2\" (must be \"v1\")"}},
	{"version of the wrong type",
	 "{'version':1}", {"$.version: expected a string, got an integer"}},
	{"unknown top-level field", "{" V1 ",'netwrks':[]}", {"$.netwrks: unknown field"}},
	{"unknown field with odd characters", "{" V1 ",'a b':1}", {"$: unknown field \"a b\""}},
	{"networks not an array",
	 "{" V1 ",'networks':{}}", {"$.networks: expected an array, got an object"}},
	{"hosts not an array",
	 "{" V1 ",'hosts':'h1'}", {"$.hosts: expected an array, got a string"}},
	/* networks */
	{"network not an object", "{" V1 "," NETS("'blue'") "}",
	 {"$.networks[0]: expected an object, got a string"}},
	{"network name missing", "{" V1 "," NETS("{'vni':100,'cidrs':['10.0.0.0/24']}") "}",
	 {"$.networks[0].name: required field missing"}},
	{"network name invalid",
	 "{" V1 "," NETS("{'name':'Blue','vni':100,'cidrs':['10.0.0.0/24']}") "}",
	 {"$.networks[0].name: \"Blue\" is not a valid network name ([a-z0-9][a-z0-9._-]*, at most "
	  "63 characters)"}},
	{"network name too long",
	 "{" V1 ","
	 NETS("{'name':'a234567890123456789012345678901234567890123456789012345678901234',"
			 "'vni':100,'cidrs':['10.0.0.0/24']}") "}",
	 {"$.networks[0].name: \"a23456789012345678901234567890123456789012345678901234567890123...\" "
	  "is not a valid network name ([a-z0-9][a-z0-9._-]*, at most 63 characters)"}},
	{"two networks, one name",
	 "{" V1 "," NETS(BLUE ",{'name':'blue','vni':200,'cidrs':['10.1.0.0/24']}") "}",
	 {"$.networks[1].name: duplicate network \"blue\" (first at $.networks[0])"}},
	{"VNI clash", "{" V1 "," NETS(BLUE ",{'name':'red','vni':100,'cidrs':['10.1.0.0/24']}") "}",
	 {"$.networks[1].vni: VNI 100 is already used by network \"blue\" (at $.networks[0])"}},
	{"VNI 0", "{" V1 "," NETS("{'name':'blue','vni':0,'cidrs':['10.0.0.0/24']}") "}",
	 {"$.networks[0].vni: VNI 0 out of range 1..16777215"}},
	{"VNI too large",
	 "{" V1 "," NETS("{'name':'blue','vni':16777216,'cidrs':['10.0.0.0/24']}") "}",
	 {"$.networks[0].vni: VNI 16777216 out of range 1..16777215"}},
	{"VNI as a string",
	 "{" V1 "," NETS("{'name':'blue','vni':'100','cidrs':['10.0.0.0/24']}") "}",
	 {"$.networks[0].vni: expected an integer, got a string"}},
	{"VNI missing", "{" V1 "," NETS("{'name':'blue','cidrs':['10.0.0.0/24']}") "}",
	 {"$.networks[0].vni: required field missing"}},
	{"CIDRs missing", "{" V1 "," NETS("{'name':'blue','vni':100}") "}",
	 {"$.networks[0].cidrs: required field missing"}},
	{"CIDR with host bits",
	 "{" V1 "," NETS("{'name':'blue','vni':100,'cidrs':['10.0.0.1/24']}") "}",
	 {"$.networks[0].cidrs[0]: 10.0.0.1/24 has host bits set (the prefix is 10.0.0.0/24)"}},
	{"CIDR not a prefix",
	 "{" V1 "," NETS("{'name':'blue','vni':100,'cidrs':['10.0.0.0/40']}") "}",
	 {"$.networks[0].cidrs[0]: \"10.0.0.0/40\" is not a CIDR prefix (a.b.c.d/len, len 0-32)"}},
	{"overlapping CIDRs",
	 "{" V1 "," NETS("{'name':'blue','vni':100,'cidrs':['10.0.0.0/16','10.0.5.0/24']}") "}",
	 {"$.networks[0].cidrs[1]: 10.0.5.0/24 overlaps 10.0.0.0/16"}},
	{"unknown network field", "{" V1 "," NETS(BLUE_WITH("'vnii':3")) "}",
	 {"$.networks[0].vnii: unknown field"}},
	{"endpoints not an array", "{" V1 "," NETS(BLUE_WITH("'endpoints':{}")) "}",
	 {"$.networks[0].endpoints: expected an array, got an object"}},
	/* endpoints */
	{"endpoint on an unknown host",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[" EP("10.0.0.5", M11, "h9") "]")) ","
	 HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].host: unknown host \"h9\""}},
	{"endpoint without a host",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[{'ip':'10.0.0.5','mac':'" M11 "'}]")) "}",
	 {"$.networks[0].endpoints[0].host: required field missing"}},
	{"endpoint outside the CIDRs",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[" EP("10.1.0.5", M11, "h1") "]")) ","
	 HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].ip: 10.1.0.5 is outside the CIDRs of network \"blue\""}},
	{"endpoint address not unicast",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[" EP("224.0.0.5", M11, "h1") "]")) ","
	 HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].ip: 224.0.0.5 is not a unicast address"}},
	{"endpoint address malformed",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[" EP("10.0.0", M11, "h1") "]")) "," HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].ip: \"10.0.0\" is not an IPv4 address (a.b.c.d)"}},
	{"endpoint MAC malformed",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[" EP("10.0.0.5", "02:00:00:00:00", "h1") "]")) ","
	 HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].mac: \"02:00:00:00:00\" is not a MAC address (aa:bb:cc:dd:ee:ff)"}},
	{"endpoint MAC multicast",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':["
	 EP("10.0.0.5", "01:00:5e:00:00:01", "h1") "]")) "," HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].mac: 01:00:5e:00:00:01 is not a unicast MAC address"}},
	{"endpoint encap unknown",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[{'ip':'10.0.0.5','mac':'"
	 M11 "','host':'h1','encap':'gre'}]")) "," HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].encap: unknown encap \"gre\" (vxlan or geneve)"}},
	{"endpoint with host_ip (not an intent field)",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[{'ip':'10.0.0.5','mac':'"
	 M11 "','host':'h1','host_ip':'198.18.0.1'}]")) "," HOSTS(H1) "}",
	 {"$.networks[0].endpoints[0].host_ip: unknown field"}},
	{"two endpoints, one address",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[" EP("10.0.0.5", M11, "h1") ","
	 EP("10.0.0.5", M12, "h1") "]")) "," HOSTS(H1) "}",
	 {"$.networks[0].endpoints[1].ip: duplicate address 10.0.0.5 in network \"blue\" (first at $.networks[0].endpoints[0])"}},
	{"an endpoint with a port's address",
	 "{" V1 "," NETS(BLUE_WITH("'endpoints':[" EP("10.0.0.11", M12, "h1") "]")) ","
	 HOSTS(H1_WITH("'ports':[" PORT("p1", "blue", M11, "10.0.0.11") "]")) "}",
	 {"$.hosts[0].ports[0].ip: duplicate address 10.0.0.11 in network \"blue\" (first at $.networks[0].endpoints[0])"}},
	/* routes */
	{"route prefix with host bits",
	 "{" V1 "," NETS(BLUE_WITH("'routes':[{'prefix':'10.9.0.1/16','drop':true}]")) "}",
	 {"$.networks[0].routes[0].prefix: 10.9.0.1/16 has host bits set (the prefix is 10.9.0.0/16)"}},
	{"route prefix missing", "{" V1 "," NETS(BLUE_WITH("'routes':[{'drop':true}]")) "}",
	 {"$.networks[0].routes[0].prefix: required field missing"}},
	{"same route prefix twice",
	 "{" V1 ","
	 NETS(BLUE_WITH("'routes':[{'prefix':'10.9.0.0/16','drop':true},{'prefix':'10.9.0.0/16','host':'h1'}]")) ","
	 HOSTS(H1) "}",
	 {"$.networks[0].routes[1].prefix: duplicate route 10.9.0.0/16 in network \"blue\" (first at $.networks[0].routes[0])"}},
	{"route to an unknown host",
	 "{" V1 "," NETS(BLUE_WITH("'routes':[{'prefix':'10.9.0.0/16','host':'h7'}]")) "}",
	 {"$.networks[0].routes[0].host: unknown host \"h7\""}},
	{"route with neither host nor drop",
	 "{" V1 "," NETS(BLUE_WITH("'routes':[{'prefix':'10.9.0.0/16'}]")) "}",
	 {"$.networks[0].routes[0]: needs \"host\" (where the prefix is) or \"drop\": true"}},
	{"drop route with a host",
	 "{" V1 ","
	 NETS(BLUE_WITH("'routes':[{'prefix':'10.9.0.0/16','drop':true,'host':'h1'}]")) ","
	 HOSTS(H1) "}",
	 {"$.networks[0].routes[0].host: not allowed with \"drop\": true"}},
	{"drop of the wrong type",
	 "{" V1 "," NETS(BLUE_WITH("'routes':[{'prefix':'10.9.0.0/16','drop':1}]")) "}",
	 {"$.networks[0].routes[0].drop: expected true or false, got an integer",
	  "$.networks[0].routes[0]: needs \"host\" (where the prefix is) or \"drop\": true"}},
	/* hosts */
	{"host not an object",
	 "{" V1 "," HOSTS("7") "}", {"$.hosts[0]: expected an object, got an integer"}},
	{"two hosts, one name",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1 ",{'name':'h1','underlay':'198.18.0.9'}") "}",
	 {"$.hosts[1].name: duplicate host \"h1\" (first at $.hosts[0])"}},
	{"two hosts, one underlay",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1 ",{'name':'h2','underlay':'198.18.0.1'}") "}",
	 {"$.hosts[1].underlay: 198.18.0.1 is already the underlay address of host \"h1\" (at $.hosts[0])"}},
	{"underlay missing",
	 "{" V1 "," HOSTS("{'name':'h1'}") "}", {"$.hosts[0].underlay: required field missing"}},
	{"underlay loopback", "{" V1 "," HOSTS("{'name':'h1','underlay':'127.0.0.1'}") "}",
	 {"$.hosts[0].underlay: 127.0.0.1 is not a unicast address"}},
	{"host serves an unknown network",
	 "{" V1 "," NETS(BLUE) ","
	 HOSTS("{'name':'h1','underlay':'198.18.0.1','networks':['blue','c']}") "}",
	 {"$.hosts[0].networks[1]: unknown network \"c\""}},
	{"host lists a network twice",
	 "{" V1 "," NETS(BLUE) ","
	 HOSTS("{'name':'h1','underlay':'198.18.0.1','networks':['blue','blue']}") "}",
	 {"$.hosts[0].networks[1]: network \"blue\" is listed twice"}},
	{"host encap unknown",
	 "{" V1 "," HOSTS("{'name':'h1','underlay':'198.18.0.1','encap':'mpls'}") "}",
	 {"$.hosts[0].encap: unknown encap \"mpls\" (vxlan or geneve)"}},
	/* ports */
	{"port on an unknown network",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("p1", "blue", M11, "10.0.0.11") "," PORT("p2", "c", M12, "10.0.0.12") "]")) "}",
	 {"$.hosts[0].ports[1].network: unknown network \"c\""}},
	{"port on a network its host does not list",
	 "{" V1 "," NETS(BLUE ",{'name':'red','vni':200,'cidrs':['10.1.0.0/24']}") ","
	 HOSTS(H1_WITH("'ports':[" PORT("p1", "red", M11, "10.1.0.11") "]")) "}",
	 {"$.hosts[0].ports[0].network: host \"h1\" does not list network \"red\" in its \"networks\""}},
	{"two ports, one ifname",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("p1", "blue", M11, "10.0.0.11") "," PORT("p1", "blue", M12, "10.0.0.12") "]")) "}",
	 {"$.hosts[0].ports[1].ifname: duplicate port \"p1\" on host \"h1\" (first at $.hosts[0].ports[0])"}},
	{"two ports, one address",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("p1", "blue", M11, "10.0.0.11") "]") ","
	 "{'name':'h2','underlay':'198.18.0.2','networks':['blue'],'ports':["
	 PORT("p1", "blue", M12, "10.0.0.11") "]}") "}",
	 {"$.hosts[1].ports[0].ip: duplicate address 10.0.0.11 in network \"blue\" (first at $.hosts[0].ports[0])"}},
	{"ifname too long",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("abcdefghijklmnop", "blue", M11, "10.0.0.11") "]")) "}",
	 {"$.hosts[0].ports[0].ifname: \"abcdefghijklmnop\" is not a valid interface name (1-15 characters, no '/', ':', space or control character)"}},
	{"ifname with a slash",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("a/b", "blue", M11, "10.0.0.11") "]")) "}",
	 {"$.hosts[0].ports[0].ifname: \"a/b\" is not a valid interface name (1-15 characters, no '/', ':', space or control character)"}},
	{"ifname with a space",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("a b", "blue", M11, "10.0.0.11") "]")) "}",
	 {"$.hosts[0].ports[0].ifname: \"a b\" is not a valid interface name (1-15 characters, no '/', ':', space or control character)"}},
	{"port outside the CIDRs",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("p1", "blue", M11, "10.0.1.11") "]")) "}",
	 {"$.hosts[0].ports[0].ip: 10.0.1.11 is outside the CIDRs of network \"blue\""}},
	{"port missing its MAC",
	 "{" V1 "," NETS(BLUE) ","
	 HOSTS(H1_WITH("'ports':[{'ifname':'p1','network':'blue','ip':'10.0.0.11'}]")) "}",
	 {"$.hosts[0].ports[0].mac: required field missing"}},
	{"port field of the wrong type",
	 "{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':[{'ifname':1,'network':'blue','mac':'"
	 M11 "','ip':'10.0.0.11'}]")) "}",
	 {"$.hosts[0].ports[0].ifname: expected a string, got an integer"}},
	/* exports and peerings */
	{"export without a name",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'protocols':['tcp']}]")) "}",
	 {"$.networks[0].exports[0].name: required field missing"}},
	{"export with an unknown field",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web','protocol':['tcp']}]")) "}",
	 {"$.networks[0].exports[0].protocol: unknown field"}},
	{"two exports, one name",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web'},{'name':'web'}]")) "}",
	 {"$.networks[0].exports[1].name: duplicate export policy \"web\" in network \"blue\" "
	  "(first at $.networks[0].exports[0])"}},
	{"overlapping export prefixes",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web','prefixes':['10.0.0.0/25',"
				     "'10.0.0.0/16']}]")) "}",
	 {"$.networks[0].exports[0].prefixes[1]: 10.0.0.0/16 overlaps 10.0.0.0/25"}},
	{"export prefix wider than the CIDR",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web','prefixes':['10.0.0.0/16']}]")) "}",
	 {"$.networks[0].exports[0].prefixes[0]: 10.0.0.0/16 is outside the CIDRs of network "
	  "\"blue\""}},
	{"export with a bad protocol",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web','protocols':['TCP']}]")) "}",
	 {"$.networks[0].exports[0].protocols[0]: unknown protocol \"TCP\" (tcp, udp or icmp)"}},
	{"peering granting an unknown export",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web'}],"
				  "'peerings':[{'peer':'red','grant':'all'}]")) "}",
	 {"$.networks[0].peerings[0].grant: unknown export policy \"all\" of network \"blue\""}},
	{"peering granting another network's export",
	 "{" V1 "," NETS(BLUE_WITH("'peerings':[{'peer':'red','grant':'web'}]") ","
			 "{'name':'red','vni':200,'cidrs':['10.1.0.0/24'],'exports':[{'name':'web'}]}")
	 "}",
	 {"$.networks[0].peerings[0].grant: unknown export policy \"web\" of network \"blue\""}},
	{"peering with itself",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web'}],"
				  "'peerings':[{'peer':'blue','grant':'web'}]")) "}",
	 {"$.networks[0].peerings[0].peer: a network does not peer with itself"}},
	{"two peerings with one peer",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web'}],"
				  "'peerings':[{'peer':'red','grant':'web'},"
				  "{'peer':'red','grant':'web','preference':5}]")) "}",
	 {"$.networks[0].peerings[1].peer: duplicate peering with \"red\" in network \"blue\" "
	  "(first at $.networks[0].peerings[0])"}},
	{"one peer_user for two peerings",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web'}],"
				  "'peerings':[{'peer':'red','grant':'web','peer_user':'u',"
				  "'peer_password_file':'/p'}]") ","
			 "{'name':'red','vni':200,'cidrs':['10.1.0.0/24'],'exports':[{'name':'x'}],"
			 "'peerings':[{'peer':'blue','grant':'x','peer_user':'u',"
			 "'peer_password_file':'/q'}]}") "}",
	 {"$.networks[1].peerings[0].peer_user: user \"u\" is already the peer_user of "
	  "$.networks[0].peerings[0]"}},
	{"peering without its password file, with an unknown field",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web'}],"
				  "'peerings':[{'peer':'red','grant':'web','user':'u','pref':1}]")) "}",
	 {"$.networks[0].peerings[0].pref: unknown field",
	  "$.networks[0].peerings[0].password_file: required with \"user\""}},
	{"peering with a bad peer_shard and preference",
	 "{" V1 "," NETS(BLUE_WITH("'exports':[{'name':'web'}],"
				  "'peerings':[{'peer':'red','grant':'web','peer_shard':['a b'],"
				  "'preference':1.5}]")) "}",
	 {"$.networks[0].peerings[0].peer_shard[0]: \"a b\" is not an etcd URL (http://host:port "
	  "or https://host:port)",
	  "$.networks[0].peerings[0].preference: expected an integer, got a fractional number"}},
	/* several at once: all reported */
	{"every error is reported",
	 "{'version':'v0'," NETS("{'name':'blue','vni':0,'cidrs':['10.0.0.0/24']}") ","
	 HOSTS("{'name':'h1','underlay':'1.2.3','networks':['blue'],'ports':["
	 PORT("p1", "c", M11, "10.0.0.11") "]}") "}",
	 {"$.version: unknown version \"v0\" (must be \"v1\")",
	  "$.networks[0].vni: VNI 0 out of range 1..16777215",
	  "$.hosts[0].underlay: \"1.2.3\" is not an IPv4 address (a.b.c.d)",
	  "$.hosts[0].ports[0].network: unknown network \"c\""}},
};

static void test_intent_validation_rules(void **state)
{
	size_t i, k, n;

	for (i = 0; i < ARRAY_SIZE(intent_cases); i++) {
		const struct intent_case *c = &intent_cases[i];
		struct zh_intent in = {(struct zh_record *)1, 99};
		struct zh_errors errs = {0};
		const char *doc = J(c->doc);
		char *copy = malloc(strlen(doc) + 1);
		int ret;

		/* no NUL after the document: the length is what counts */
		assert_non_null(copy);
		memcpy(copy, doc, strlen(doc));
		ret = zh_intent_parse(copy, strlen(doc), &in, &errs);
		free(copy);
		for (n = 0; n < ARRAY_SIZE(c->errs) && c->errs[n]; n++)
			;
		if (ret != -EINVAL || errs.n != n) {
			for (k = 0; k < errs.n; k++)
				print_message("# %s\n", errs.msg[k]);
			fail_msg("%s: returned %d with %zu errors, want -EINVAL with %zu",
				 c->name, ret, errs.n, n);
		}
		assert_null(in.recs);
		assert_int_equal(in.n, 0);
		for (k = 0; k < n; k++)
			if (strcmp(errs.msg[k], c->errs[k]))
				fail_msg("%s, error %zu:\n got: %s\nwant: %s", c->name, k,
					 errs.msg[k], c->errs[k]);
		zh_errors_free(&errs);
	}
}

/* Two networks, two hosts: every kind of record, host encap inherited. */
static const char full_intent[] =
	"{" V1 ","
	NETS("{'name':'blue','vni':100,'cidrs':['10.0.0.0/24'],"
	     " 'endpoints':[" EP("10.0.0.50", "02:00:00:00:00:50", "h2") ","
	     "   {'ip':'10.0.0.51','mac':'02:00:00:00:00:51','host':'h2','encap':'vxlan'}],"
	     " 'routes':[{'prefix':'10.9.0.0/16','host':'h2'},{'prefix':'0.0.0.0/0','drop':true}]},"
	     "{'name':'red','vni':200,'cidrs':['10.1.0.0/24','10.2.0.0/24']}") ","
	HOSTS("{'name':'h1','underlay':'198.18.0.1','networks':['blue','red'],'ports':["
	      PORT("p1", "blue", M11, "10.0.0.11") ","
	      PORT("r1", "red", "02:00:00:00:01:11", "10.2.0.11") "]},"
	      "{'name':'h2','underlay':'198.18.0.2','networks':['blue'],'encap':'geneve','ports':["
	      PORT("p2", "blue", M12, "10.0.0.12") "]}")
	"}";

static const char *const full_keys[] = {
	R "networks/blue",
	R "networks/red",
	R "hosts/h1",
	R "hosts/h2",
	R "networks/blue/endpoints/10.0.0.50",
	R "networks/blue/endpoints/10.0.0.51",
	R "networks/blue/routes/10.9.0.0/16",
	R "networks/blue/routes/0.0.0.0/0",
	R "hosts/h1/ports/p1",
	R "networks/blue/endpoints/10.0.0.11",
	R "hosts/h1/ports/r1",
	R "networks/red/endpoints/10.2.0.11",
	R "hosts/h2/ports/p2",
	R "networks/blue/endpoints/10.0.0.12",
};

static const char *const full_vals[] = {
	"{'vni':100,'cidrs':['10.0.0.0/24']}",
	"{'vni':200,'cidrs':['10.1.0.0/24','10.2.0.0/24']}",
	"{'underlay':'198.18.0.1','networks':['blue','red']}",
	"{'underlay':'198.18.0.2','networks':['blue'],'encap':'geneve'}",
	"{'mac':'02:00:00:00:00:50','host':'h2','host_ip':'198.18.0.2','encap':'geneve'}",
	"{'mac':'02:00:00:00:00:51','host':'h2','host_ip':'198.18.0.2','encap':'vxlan'}",
	"{'host':'h2','host_ip':'198.18.0.2','encap':'geneve'}",
	"{'drop':true}",
	"{'network':'blue','mac':'02:00:00:00:00:11','ip':'10.0.0.11'}",
	"{'mac':'02:00:00:00:00:11','host':'h1','host_ip':'198.18.0.1'}",
	"{'network':'red','mac':'02:00:00:00:01:11','ip':'10.2.0.11'}",
	"{'mac':'02:00:00:00:01:11','host':'h1','host_ip':'198.18.0.1'}",
	"{'network':'blue','mac':'02:00:00:00:00:12','ip':'10.0.0.12'}",
	"{'mac':'02:00:00:00:00:12','host':'h2','host_ip':'198.18.0.2','encap':'geneve'}",
};

static void test_intent_expands_to_records(void **state)
{
	struct zh_intent in;
	struct zh_errors errs = {0};
	const char *doc = J(full_intent);
	size_t count[ZH_REC_PORT + 1] = {0}, i;

	if (zh_intent_parse(doc, strlen(doc), &in, &errs)) {
		for (i = 0; i < errs.n; i++)
			print_message("# %s\n", errs.msg[i]);
		fail_msg("the full intent does not parse");
	}
	assert_int_equal(errs.n, 0);
	assert_int_equal(in.n, ARRAY_SIZE(full_keys));
	for (i = 0; i < in.n; i++) {
		char *k, *v;

		count[in.recs[i].kind]++;
		assert_int_equal(zh_record_format(&in.recs[i], &k, &v), 0);
		assert_string_equal(k, full_keys[i]);
		if (strcmp(v, J(full_vals[i])))
			fail_msg("%s: %s, want %s", k, v, J(full_vals[i]));
		free(k);
		free(v);
	}
	assert_int_equal(count[ZH_REC_NETWORK], 2);
	assert_int_equal(count[ZH_REC_HOST], 2);
	assert_int_equal(count[ZH_REC_ENDPOINT], 5);   /* 2 given + 3 from ports */
	assert_int_equal(count[ZH_REC_ROUTE], 2);
	assert_int_equal(count[ZH_REC_PORT], 3);
	zh_intent_free(&in);
	assert_null(in.recs);
	assert_int_equal(in.n, 0);
}

/* Exports and peerings: records after routes, defaults filled in; the
 * peer need not be in the file.
 */
static void test_intent_expands_exports_and_peerings(void **state)
{
	static const char doc[] =
		"{" V1 ","
		NETS(BLUE_WITH("'routes':[{'prefix':'10.9.0.0/16','drop':true}],"
			       "'exports':[{'name':'web','prefixes':['10.0.0.0/25'],'protocols':['tcp']},"
			       "{'name':'all'}],"
			       "'peerings':[{'peer':'red','grant':'web','peer_shard':['http://198.18.0.202:2'],"
			       "'preference':200,'user':'blue-at-red','password_file':'/etc/zh/red.pw',"
			       "'peer_user':'red-at-blue','peer_password_file':'/etc/zh/blue.pw'},"
			       "{'peer':'green','grant':'all'}]"))
		"}";
	static const char *const keys[] = {
		R "networks/blue",
		R "networks/blue/routes/10.9.0.0/16",
		R "networks/blue/exports/web",
		R "networks/blue/exports/all",
		R "networks/blue/peerings/red",
		R "networks/blue/peerings/green",
	};
	static const char *const vals[] = {
		"{'vni':100,'cidrs':['10.0.0.0/24']}",
		"{'drop':true}",
		"{'prefixes':['10.0.0.0/25'],'protocols':['tcp']}",
		"{}",
		"{'peer_shard':['http://198.18.0.202:2'],'grant':'web','preference':200,"
		"'user':'blue-at-red','password_file':'/etc/zh/red.pw','peer_user':'red-at-blue',"
		"'peer_password_file':'/etc/zh/blue.pw'}",
		"{'grant':'all','preference':100}",
	};
	struct zh_errors errs = {0};
	struct zh_intent in;
	const char *d = J(doc);
	size_t i;

	if (zh_intent_parse(d, strlen(d), &in, &errs)) {
		for (i = 0; i < errs.n; i++)
			print_message("# %s\n", errs.msg[i]);
		fail_msg("the intent does not parse");
	}
	assert_int_equal(in.n, ARRAY_SIZE(keys));
	for (i = 0; i < in.n; i++) {
		char *k, *v;

		assert_int_equal(zh_record_format(&in.recs[i], &k, &v), 0);
		assert_string_equal(k, keys[i]);
		if (strcmp(v, J(vals[i])))
			fail_msg("%s: %s, want %s", k, v, J(vals[i]));
		free(k);
		free(v);
	}
	assert_int_equal(in.recs[4].kind, ZH_REC_PEERING);
	assert_string_equal(in.recs[4].peering.peer, "red");
	assert_string_equal(in.recs[4].peering.peer_shard, "http://198.18.0.202:2");
	zh_intent_free(&in);
}

static void test_intent_minimal_documents(void **state)
{
	static const char *const docs[] = {
		"{" V1 "}",
		"{" V1 ",'networks':[],'hosts':[]}",
		"{" V1 ",'networks':null}",
		"  {" V1 "}  \n",
	};
	struct zh_intent in;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(docs); i++) {
		const char *doc = J(docs[i]);

		assert_int_equal(zh_intent_parse(doc, strlen(doc), &in, NULL), 0);
		assert_int_equal(in.n, 0);
		zh_intent_free(&in);
	}
	/* errs may be NULL on failure too */
	assert_int_equal(zh_intent_parse("{}", 2, &in, NULL), -EINVAL);
}

/* A network with many endpoints: the checks are hash lookups, and the
 * duplicate found is the one with the same address.
 */
static void test_intent_many_endpoints(void **state)
{
	const size_t n = 20000;
	size_t cap = n * 80 + 1024, o = 0, i;
	char *doc = malloc(cap);
	struct zh_intent in;
	struct zh_errors errs = {0};

	assert_non_null(doc);
	o += snprintf(doc + o, cap - o,
		      "{\"version\":\"v1\",\"networks\":[{\"name\":\"big\",\"vni\":7,"
		      "\"cidrs\":[\"10.0.0.0/8\"],\"endpoints\":[");
	for (i = 0; i < n; i++)
		o += snprintf(doc + o, cap - o,
			      "%s{\"ip\":\"10.%zu.%zu.%zu\",\"mac\":\"02:00:00:%02zx:%02zx:%02zx\","
			      "\"host\":\"h\"}",
			      i ? "," : "", (i >> 16) & 255, (i >> 8) & 255, (i & 255) | 1,
			      (i >> 16) & 255, (i >> 8) & 255, i & 255);
	o += snprintf(doc + o, cap - o,
		      ",{\"ip\":\"10.0.1.1\",\"mac\":\"02:00:00:00:00:01\",\"host\":\"h\"}]}],"
		      "\"hosts\":[{\"name\":\"h\",\"underlay\":\"198.18.0.1\"}]}");
	assert_true(o < cap);
	/* i | 1 makes pairs collide: 2k and 2k+1 share an address */
	assert_int_equal(zh_intent_parse(doc, o, &in, &errs), -EINVAL);
	assert_int_equal(errs.n, n / 2 + 1);
	assert_string_equal(errs.msg[0], "$.networks[0].endpoints[1].ip: duplicate address 10.0.0.1 "
					 "in network \"big\" (first at $.networks[0].endpoints[0])");
	assert_string_equal(errs.msg[n / 2], "$.networks[0].endpoints[20000].ip: duplicate address "
					     "10.0.1.1 in network \"big\" (first at "
					     "$.networks[0].endpoints[256])");
	zh_errors_free(&errs);
	free(doc);
}

static void test_intent_load_reads_a_file(void **state)
{
	char path[] = "/tmp/zh-test-model-XXXXXX";
	struct zh_errors errs = {0};
	struct zh_intent in;
	const char *doc = J("{" V1 "," NETS(BLUE) "," HOSTS(H1_WITH("'ports':["
	 PORT("p1", "blue", M11, "10.0.0.11") "]")) "}");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	assert_int_equal(zh_intent_load(path, &in, &errs), 0);
	assert_int_equal(in.n, 4);
	zh_intent_free(&in);
	unlink(path);

	assert_int_equal(zh_intent_load(path, &in, &errs), -ENOENT);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "cannot read: No such file or directory");
	assert_int_equal(zh_intent_load("/", &in, &errs), -EISDIR);
	assert_int_equal(errs.n, 2);
	assert_string_equal(errs.msg[1], "cannot read: Is a directory");
	zh_errors_free(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_parse_every_kind_and_hostile_keys),
		cmocka_unit_test(test_record_parse_valid_values_and_canonical_format),
		cmocka_unit_test(test_record_parse_rejects_bad_values_naming_key_and_field),
		cmocka_unit_test(test_record_parse_hostile_bytes),
		cmocka_unit_test(test_record_parse_other_keys_ignore_the_value),
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_format_refuses_invalid_records),
		cmocka_unit_test(test_intent_validation_rules),
		cmocka_unit_test(test_intent_expands_to_records),
		cmocka_unit_test(test_intent_expands_exports_and_peerings),
		cmocka_unit_test(test_intent_minimal_documents),
		cmocka_unit_test(test_intent_many_endpoints),
		cmocka_unit_test(test_intent_load_reads_a_file),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
