// SPDX-License-Identifier: GPL-2.0-only
/* zerohop-agent's configuration (agent/config.c): a full config parses
 * into every field, defaults apply, and every bad input is refused with
 * one line naming the field and the reason.
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

#include "config.h"
#include "stats.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* s with ' -> " */
static const char *J(const char *s)
{
	static char buf[4096];
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	buf[i] = 0;
	return buf;
}

static int parse(const char *json, struct zh_agent_config *c, char *err, size_t len)
{
	const char *j = J(json);

	return zh_agent_config_parse(j, strlen(j), c, err, len);
}

#define BASE "'instance':'h1','host':'h1','uplink':'upl','underlay_ip':'198.18.0.1'"

static void test_full_config(void **unused)
{
	struct zh_agent_config c;
	char err[256] = "";
	uint32_t ip;

	assert_int_equal(parse("{" BASE ",'source':'etcd:http://198.18.0.200:2379,https://e2:2379',"
			       "'etcd':{'user':'agent-h1','password':'s3cret','cacert':'/ca.pem',"
			       "'cert':'/c.pem','key':'/k.pem'},"
			       "'attach':{'xdp_mode':'generic','tc_mode':'clsact',"
			       "'router_mac':'02:7a:00:00:00:01','encap':'geneve','mtu':9000,"
			       "'max_endpoints':1048576,'max_routes':100,'max_policies':2048},"
			       "'metrics':'127.0.0.1:9465','status_socket':'/run/x.sock'}",
			       &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.instance, "h1");
	assert_string_equal(c.host, "h1");
	assert_string_equal(c.uplink, "upl");
	inet_pton(AF_INET, "198.18.0.1", &ip);
	assert_int_equal(c.underlay_ip, ip);
	assert_int_equal(c.source_kind, ZH_SOURCE_ETCD);
	assert_string_equal(c.etcd_endpoints, "http://198.18.0.200:2379,https://e2:2379");
	assert_string_equal(c.etcd_user, "agent-h1");
	assert_string_equal(c.etcd_password, "s3cret");
	assert_string_equal(c.etcd_cacert, "/ca.pem");
	assert_int_equal(c.xdp, ZH_XDP_REQ_GENERIC);
	assert_int_equal(c.tc, ZH_TC_REQ_CLSACT);
	assert_true(c.has_router_mac);
	assert_int_equal(c.router_mac[5], 1);
	assert_int_equal(c.encap, ZH_ENCAP_GENEVE);
	assert_int_equal(c.mtu, 9000);
	assert_int_equal(c.sizes.endpoints, 1048576);
	assert_int_equal(c.sizes.routes, 100);
	assert_int_equal(c.sizes.policies, 2048);
	assert_string_equal(c.metrics, "127.0.0.1:9465");
	assert_string_equal(c.status_socket, "/run/x.sock");
	zh_agent_config_free(&c);
	assert_null(c.etcd_password);
}

static void test_defaults(void **unused)
{
	struct zh_agent_config c;
	char err[256] = "", sock[128];

	assert_int_equal(parse("{" BASE ",'source':'file:/etc/zerohop/intent.json','metrics':null}",
			       &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.source_kind, ZH_SOURCE_FILE);
	assert_string_equal(c.file, "/etc/zerohop/intent.json");
	assert_int_equal(c.xdp, ZH_XDP_REQ_AUTO);
	assert_int_equal(c.tc, ZH_TC_REQ_AUTO);
	assert_false(c.has_router_mac);
	assert_int_equal(c.encap, ZH_ENCAP_DEFAULT);
	assert_int_equal(c.sizes.endpoints, 0);
	assert_string_equal(c.metrics, "");
	snprintf(sock, sizeof(sock), ZH_AGENT_SOCK_FMT, "h1");
	assert_string_equal(c.status_socket, sock);
	zh_agent_config_free(&c);
}

static void test_password_file(void **unused)
{
	char path[] = "/tmp/zh-agent-pw.XXXXXX", err[256] = "", doc[512];
	struct zh_agent_config c;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hunter2\n", 8), 8);
	close(fd);
	snprintf(doc, sizeof(doc),
		 "{" BASE ",'source':'etcd:http://a:1','etcd':{'user':'u','password_file':'%s'}}",
		 path);
	assert_int_equal(parse(doc, &c, err, sizeof(err)), 0);
	assert_string_equal(c.etcd_password, "hunter2");
	zh_agent_config_free(&c);
	unlink(path);
	assert_int_equal(parse(doc, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "etcd.password_file: cannot read"));
}

struct bad_case {
	const char *json;
	const char *err; /* exact message */
};

static const struct bad_case bad_cases[] = {
	{"", "config: not valid JSON: unexpected end"},
	{"[]", "config: must be a JSON object"},
	{"{" BASE ",'source':'file:/x'} x", "config: trailing data after the JSON object"},
	{"{'host':'h1','uplink':'upl','underlay_ip':'198.18.0.1','source':'file:/x'}",
	 "instance: missing"},
	{"{'instance':'a b','host':'h1','uplink':'upl','underlay_ip':'198.18.0.1','source':'file:/x'}",
	 "instance: \"a b\" is not 1-32 characters of [A-Za-z0-9_-]"},
	{"{'instance':'h1','host':'H1','uplink':'upl','underlay_ip':'198.18.0.1','source':'file:/x'}",
	 "host: \"H1\" is not a host name ([a-z0-9][a-z0-9._-]*, at most 63)"},
	{"{'instance':'h1','host':'h1','uplink':'a/b','underlay_ip':'198.18.0.1','source':'file:/x'}",
	 "uplink: \"a/b\" is not a valid interface name"},
	{"{'instance':'h1','host':'h1','uplink':'upl','underlay_ip':'224.0.0.1','source':'file:/x'}",
	 "underlay_ip: \"224.0.0.1\" is not a unicast IPv4 address"},
	{"{'instance':'h1','host':'h1','uplink':'upl','underlay_ip':1,'source':'file:/x'}",
	 "underlay_ip: must be a string"},
	{"{" BASE "}", "source: missing"},
	{"{" BASE ",'source':'ftp:/x'}", "source: must start with etcd: or file:"},
	{"{" BASE ",'source':'file:'}", "source: file: needs a path (file:/etc/zerohop/intent.json)"},
	{"{" BASE ",'source':'etcd:'}", "source: etcd: needs at least one URL (etcd:http://198.18.0.200:2379)"},
	{"{" BASE ",'source':'etcd:http://a:1,b:2'}", "source: \"b:2\" is not an http:// or https:// URL"},
	{"{" BASE ",'source':'etcd:http://'}", "source: a URL has no host"},
	{"{" BASE ",'source':'file:/x','sourse':1}", "sourse: unknown field"},
	{"{" BASE ",'source':'file:/x','etcd':{'user':'u'}}",
	 "etcd.password: missing (a user needs password or password_file)"},
	{"{" BASE ",'source':'file:/x','etcd':{'password':'p'}}",
	 "etcd.user: missing (a password needs a user)"},
	{"{" BASE ",'source':'file:/x','etcd':{'user':'u','password':'p','password_file':'/f'}}",
	 "etcd.password: give password or password_file, not both"},
	{"{" BASE ",'source':'file:/x','etcd':{'cert':'/c'}}",
	 "etcd.key: missing (a client certificate needs cert and key)"},
	{"{" BASE ",'source':'file:/x','etcd':{'pass':'p'}}", "etcd.pass: unknown field"},
	{"{" BASE ",'source':'file:/x','attach':{'xdp_mode':'fast'}}",
	 "attach.xdp_mode: must be auto, native, generic or off"},
	{"{" BASE ",'source':'file:/x','attach':{'tc_mode':'tc'}}",
	 "attach.tc_mode: must be auto, tcx or clsact"},
	{"{" BASE ",'source':'file:/x','attach':{'router_mac':'01:00:00:00:00:01'}}",
	 "attach.router_mac: \"01:00:00:00:00:01\" is not a unicast MAC address"},
	{"{" BASE ",'source':'file:/x','attach':{'encap':'gre'}}", "attach.encap: must be vxlan or geneve"},
	{"{" BASE ",'source':'file:/x','attach':{'mtu':100}}",
	 "attach.mtu: must be 0 (the uplink's) or at least 576"},
	{"{" BASE ",'source':'file:/x','attach':{'mtu':-1}}", "attach.mtu: must be from 0 to 65535"},
	{"{" BASE ",'source':'file:/x','attach':{'mtu':'1500'}}", "attach.mtu: must be a whole number"},
	{"{" BASE ",'source':'file:/x','attach':{'max_endpoints':1e6}}",
	 "attach.max_endpoints: must be a whole number"},
	{"{" BASE ",'source':'file:/x','attach':{'max_routes':99999999}}",
	 "attach.max_routes: must be from 0 to 16777216"},
	{"{" BASE ",'source':'file:/x','attach':{'max_policies':-5}}",
	 "attach.max_policies: must be from 0 to 16777216"},
	{"{" BASE ",'source':'file:/x','attach':{'mode':1}}", "attach.mode: unknown field"},
	{"{" BASE ",'source':'file:/x','attach':[]}", "attach: must be an object"},
	{"{" BASE ",'source':'file:/x','metrics':'9465'}",
	 "metrics: \"9465\" is not ADDRESS:PORT (127.0.0.1:9465)"},
	{"{" BASE ",'source':'file:/x','status_socket':'x.sock'}",
	 "status_socket: must be an absolute path"},
	{"{" BASE ",'source':'file:/x','host':''}", "host: must not be empty"},
};

static void test_bad_configs_name_the_field(void **unused)
{
	struct zh_agent_config c;
	char err[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		err[0] = 0;
		if (parse(bad_cases[i].json, &c, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu (%s) was accepted", i, bad_cases[i].json);
		if (strcmp(err, bad_cases[i].err))
			fail_msg("case %zu (%s): got '%s', want '%s'", i, bad_cases[i].json, err,
				 bad_cases[i].err);
	}
}

static void test_load_names_an_unreadable_file(void **unused)
{
	struct zh_agent_config c;
	char err[256];

	assert_int_equal(zh_agent_config_load("/nonexistent/agent.json", &c, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "cannot read: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_bad_configs_name_the_field),
		cmocka_unit_test(test_load_names_an_unreadable_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
