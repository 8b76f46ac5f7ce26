/* SPDX-License-Identifier: GPL-2.0-only */
/* The zerohop data model, v1: the records under /zerohop/v1/ in a
 * controller shard's etcd, their JSON values, and the intent file that
 * `zerohop apply` and the agent's file: source read. docs/controller-api.md
 * is the reference for every key and field.
 *
 *   networks/<net>                        {"vni":100,"cidrs":["10.0.0.0/24"]}
 *   networks/<net>/endpoints/<ip>         {"mac":"..","host":"h2","host_ip":"198.18.0.2"}
 *   networks/<net>/routes/<addr>/<len>    {"host":"h2","host_ip":".."} | {"drop":true}
 *   hosts/<host>                          {"underlay":"198.18.0.1","networks":["a"]}
 *   hosts/<host>/ports/<ifname>           {"network":"a","mac":"..","ip":"10.0.0.1"}
 *
 * Endpoints, routes with a host, and hosts may also carry "encap":
 * "vxlan" | "geneve" (absent: the instance default).
 *
 * Keys this version does not know (exports, peerings, lbs, published/,
 * effective/ ...) parse as ZH_REC_OTHER and are ignored by consumers that
 * do not handle them.
 */
#ifndef ZH_MODEL_H
#define ZH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZH_KEY_ROOT      "/zerohop/v1/"
#define ZH_NAME_MAX      63   /* network and host names: [a-z0-9][a-z0-9._-]* */
#define ZH_NET_CIDRS_MAX 16
#define ZH_HOST_NETWORKS_MAX 16
#define ZH_ERR_MAX       256

enum zh_rec_kind {
	ZH_REC_OTHER = 0,
	ZH_REC_NETWORK,
	ZH_REC_ENDPOINT,
	ZH_REC_ROUTE,
	ZH_REC_HOST,
	ZH_REC_PORT,
};

struct zh_cidr {
	uint32_t addr;             /* network byte order, host bits zero */
	uint8_t len;
};

struct zh_rec_network {
	uint32_t vni;
	uint8_t n_cidrs;
	struct zh_cidr cidrs[ZH_NET_CIDRS_MAX];
};

struct zh_rec_endpoint {
	uint32_t ip;               /* network byte order (from the key) */
	uint8_t mac[6];
	char host[ZH_NAME_MAX + 1];
	uint32_t host_ip;          /* underlay address of that host */
	uint8_t encap;             /* enum zh_encap; 0 = the instance default */
};

struct zh_rec_route {
	struct zh_cidr prefix;     /* from the key */
	bool drop;
	char host[ZH_NAME_MAX + 1];
	uint32_t host_ip;
	uint8_t encap;             /* enum zh_encap; 0 = the instance default */
};

struct zh_rec_host {
	uint32_t underlay;
	uint8_t n_networks;
	char networks[ZH_HOST_NETWORKS_MAX][ZH_NAME_MAX + 1];
	/* How other hosts reach this host's VMs; an intent copies it into the
	 * endpoint and route records that point here (they are what the data
	 * plane uses), this copy is informational.
	 */
	uint8_t encap;
};

struct zh_rec_port {
	char ifname[16];           /* from the key */
	char network[ZH_NAME_MAX + 1];
	uint8_t mac[6];
	uint32_t ip;
};

/* One record: its kind, the names from its key, and its value. About
 * 1.2 KB (a host's network names dominate): a table of many endpoints
 * should keep its own compact entries, not arrays of these.
 */
struct zh_record {
	enum zh_rec_kind kind;
	char network[ZH_NAME_MAX + 1];   /* NETWORK, ENDPOINT, ROUTE */
	char host[ZH_NAME_MAX + 1];      /* HOST, PORT */
	union {
		struct zh_rec_network net;
		struct zh_rec_endpoint ep;
		struct zh_rec_route route;
		struct zh_rec_host hostrec;
		struct zh_rec_port port;
	};
};

/* The identity of a key (kind, names and the key's own fields) without a
 * value, for delete events. Keys outside ZH_KEY_ROOT or of unknown shape
 * give ZH_REC_OTHER and 0; a known shape with a bad part (an address that
 * is not one) gives -EINVAL and the reason in err.
 */
int zh_key_parse(const char *key, size_t len, struct zh_record *rec, char *err, size_t errlen);

/* Key and JSON value to a complete, validated record; -EINVAL with the
 * reason in err ("networks/a/endpoints/10.0.0.9: mac: \"x\" is not a MAC
 * address") and rec->kind ZH_REC_OTHER (the rest is unusable). A key of
 * unknown shape gives 0 and ZH_REC_OTHER without looking at the value.
 * Unknown JSON fields are ignored (newer writers); a known field of the
 * wrong type is an error; null is the same as absent for optional fields.
 * Checks only what one record can say: references to other records (is
 * the network there, is the address in its CIDRs) are the reader's job.
 * No heap use apart from json-c's parse of val (which need not be
 * NUL-terminated).
 */
int zh_record_parse(const char *key, size_t klen, const char *val, size_t vlen,
		    struct zh_record *rec, char *err, size_t errlen);

/* The full key (starting with ZH_KEY_ROOT) and the canonical JSON value
 * of a record (fields in the order of the table above, no spaces, MACs in
 * lower case); both malloc'ed. 0, -ENOMEM, or -EINVAL for ZH_REC_OTHER or
 * a name that is not valid (nothing allocated).
 */
int zh_record_format(const struct zh_record *rec, char **key, char **val);

/* An intent file (docs/controller-api.md):
 * {"version":"v1",
 *  "networks":[{"name":"a","vni":100,"cidrs":["10.0.0.0/24"],
 *               "endpoints":[{"ip":..,"mac":..,"host":..}],
 *               "routes":[{"prefix":"10.9.0.0/16","host":"h2"} | {"prefix":..,"drop":true}]}],
 *  "hosts":[{"name":"h1","underlay":"198.18.0.1","networks":["a"],
 *            "ports":[{"ifname":"vm1","network":"a","mac":..,"ip":..}]}]}
 * expanded into records: one per network, endpoint, route, host and port,
 * plus an endpoint record for every port (host and host_ip filled in) so
 * other hosts reach it. Routes and endpoints naming a host get its
 * underlay address, and its "encap" when they have none of their own.
 */
struct zh_intent {
	struct zh_record *recs;
	size_t n;
};

/* Validation errors, each "<JSON path>: <reason>", e.g.
 * "$.hosts[0].ports[1].network: unknown network \"c\"".
 * Start from a zeroed struct; zh_errors_free releases it.
 */
struct zh_errors {
	size_t n;
	char (*msg)[ZH_ERR_MAX];
	size_t cap;
};

/* Parse and validate a whole intent document. Every problem is collected
 * in errs (may be NULL) (unknown network, bad address or MAC, address
 * outside the network's CIDRs, duplicate name or key, VNI clash, a port on
 * a network its host does not serve, wrong types, missing fields, unknown
 * fields: an intent is operator input, so a typo is an error); any error
 * gives -EINVAL and an empty intent. Records come parents first: networks,
 * hosts, endpoints, routes, then each port followed by its endpoint
 * record. Errors come in the same order. -ENOMEM when out of memory.
 * zh_intent_load reads a file first: if it cannot, -errno and one error
 * without a JSON path ("cannot read: No such file or directory").
 */
int zh_intent_parse(const char *json, size_t len, struct zh_intent *out, struct zh_errors *errs);
int zh_intent_load(const char *path, struct zh_intent *out, struct zh_errors *errs);
void zh_intent_free(struct zh_intent *in);
void zh_errors_free(struct zh_errors *errs);

/* "network", "endpoint", "route", "host", "port" or "other". */
const char *zh_rec_kind_name(enum zh_rec_kind kind);

#endif /* ZH_MODEL_H */
