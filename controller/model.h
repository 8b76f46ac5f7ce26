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
 * Peering (docs/controller-api.md#peering):
 *
 *   networks/<net>/exports/<policy>       {"prefixes":["10.0.1.0/24"],"protocols":["tcp"]}
 *   networks/<net>/peerings/<peer>        {"peer_shard":["http://.."],"grant":"<policy>",
 *                                          "preference":100,"user":..,"password_file":..,
 *                                          "peer_user":..,"peer_password_file":..}
 *   published/<net>/<policy>/meta         {"vni":100,"prefixes":[..],"protocols":[..]}
 *   published/<net>/<policy>/endpoints/<ip>        an endpoint value
 *   published/<net>/<policy>/routes/<addr>/<len>   a route value
 *   effective/<net>/routes/<addr>/<len>   {"origin":"local","network":"a","vni":100,
 *                                          "host":..,"host_ip":..,"rule":"only","losers":[..]}
 *
 * Keys this version does not know (lbs, ...) parse as ZH_REC_OTHER and
 * are ignored by consumers that do not handle them.
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
#define ZH_EXPORT_PREFIXES_MAX 16
#define ZH_PEER_SHARD_MAX 384 /* a peering's shard URLs, joined with ',' */
#define ZH_PATH_MAX      192  /* password file paths in peering records */
#define ZH_EFF_LOSERS_MAX 6   /* losers an effective route record holds */
#define ZH_PREFERENCE_MAX 65535
#define ZH_PREFERENCE_DEFAULT 100

/* Held in an unsigned int (struct zh_record.kind): a reader switches over
 * the kinds it handles and ignores the rest, and new kinds come with new
 * features.
 */
enum zh_rec_kind {
	ZH_REC_OTHER = 0,
	ZH_REC_NETWORK,
	ZH_REC_ENDPOINT,
	ZH_REC_ROUTE,
	ZH_REC_HOST,
	ZH_REC_PORT,
	ZH_REC_EXPORT,             /* networks/<net>/exports/<policy> */
	ZH_REC_PEERING,            /* networks/<net>/peerings/<peer> */
	ZH_REC_PUB_META,           /* published/<net>/<policy>/meta */
	ZH_REC_PUB_ENDPOINT,       /* published/<net>/<policy>/endpoints/<ip> */
	ZH_REC_PUB_ROUTE,          /* published/<net>/<policy>/routes/<addr>/<len> */
	ZH_REC_EFFECTIVE,          /* effective/<net>/routes/<addr>/<len> */
	ZH_REC_KINDS,
};

/* IP protocols an export policy allows (bits): the three a policy can
 * name, and OTHER for every other IP protocol. A policy that names none
 * allows ANY. Same replacement text as include/zh_shared.h (the data
 * plane's zh_policy values), so the compiler checks they agree.
 */
#define ZH_PROTO_TCP  0x1u
#define ZH_PROTO_UDP  0x2u
#define ZH_PROTO_ICMP 0x4u
#define ZH_PROTO_OTHER 0x8u
#define ZH_PROTO_ANY   (ZH_PROTO_TCP | ZH_PROTO_UDP | ZH_PROTO_ICMP | ZH_PROTO_OTHER)

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

/* An export policy: what a network shows the peers it is granted to. */
struct zh_rec_export {
	uint8_t n_prefixes;        /* 0: the network's CIDRs */
	struct zh_cidr prefixes[ZH_EXPORT_PREFIXES_MAX];
	uint8_t protocols;         /* ZH_PROTO_* bits: ANY (absent), or named ones only */
};

/* networks/<net>/peerings/<peer>: <net> grants <peer> the export policy
 * `grant`; <net>'s hosts and controller log into <peer>'s shard as `user`;
 * this shard's controller keeps the etcd user `peer_user` that <peer>'s
 * hosts log in with. Empty strings: not given.
 */
struct zh_rec_peering {
	char peer[ZH_NAME_MAX + 1];          /* from the key */
	char peer_shard[ZH_PEER_SHARD_MAX];  /* "url,url"; "": the peer is on this shard */
	char grant[ZH_NAME_MAX + 1];
	uint32_t preference;                 /* 0..65535, default 100; higher wins */
	char user[ZH_NAME_MAX + 1];
	char password_file[ZH_PATH_MAX];
	char peer_user[ZH_NAME_MAX + 1];
	char peer_password_file[ZH_PATH_MAX];
};

/* published/<net>/<policy>/meta: the policy as peers apply it, prefixes
 * resolved (never empty).
 */
struct zh_rec_pub_meta {
	uint32_t vni;
	struct zh_rec_export scope;
};

enum zh_route_origin {
	ZH_ORIGIN_LOCAL = 1,       /* the network's own routes/ */
	ZH_ORIGIN_PEER,            /* published to it by a peer */
};

/* Which rule decided a route conflict (docs/controller.md). */
enum zh_conflict_rule {
	ZH_RULE_ONLY = 1,          /* one origin, no conflict */
	ZH_RULE_LOCAL,             /* local beats peer */
	ZH_RULE_PREFERENCE,        /* higher peering preference */
	ZH_RULE_NETWORK_ID,        /* lower VNI (then network name) */
};

/* One origin's route for a prefix: the winner or a loser. */
struct zh_eff_route {
	uint8_t origin;            /* enum zh_route_origin */
	uint8_t rule;              /* enum zh_conflict_rule: winner: what decided; loser: why it lost */
	bool drop;
	uint8_t encap;
	char network[ZH_NAME_MAX + 1];
	uint32_t vni;
	uint32_t preference;       /* peers: the peering's preference; local: 0 */
	char host[ZH_NAME_MAX + 1];
	uint32_t host_ip;
};

/* effective/<net>/routes/<addr>/<len>. */
struct zh_rec_effective {
	struct zh_cidr prefix;     /* from the key */
	struct zh_eff_route winner;
	uint8_t n_losers;          /* best first */
	uint32_t losers_omitted;   /* more losers than ZH_EFF_LOSERS_MAX */
	struct zh_eff_route losers[ZH_EFF_LOSERS_MAX];
};

/* One record: its kind, the names from its key, and its value. About
 * 1.3 KB (a host's network names dominate): a table of many endpoints
 * should keep its own compact entries, not arrays of these.
 */
struct zh_record {
	unsigned int kind;               /* enum zh_rec_kind */
	char network[ZH_NAME_MAX + 1];   /* NETWORK, ENDPOINT, ROUTE, and every peering kind */
	char host[ZH_NAME_MAX + 1];      /* HOST, PORT */
	char policy[ZH_NAME_MAX + 1];    /* EXPORT, PUB_* */
	union {
		struct zh_rec_network net;
		struct zh_rec_endpoint ep;       /* ENDPOINT, PUB_ENDPOINT */
		struct zh_rec_route route;       /* ROUTE, PUB_ROUTE */
		struct zh_rec_host hostrec;
		struct zh_rec_port port;
		struct zh_rec_export exp;
		struct zh_rec_peering peering;
		struct zh_rec_pub_meta meta;
		struct zh_rec_effective eff;
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
 *               "routes":[{"prefix":"10.9.0.0/16","host":"h2"} | {"prefix":..,"drop":true}],
 *               "exports":[{"name":"web","prefixes":[..],"protocols":["tcp"]}],
 *               "peerings":[{"peer":"b","grant":"web","peer_shard":[..],"preference":100,
 *                            "user":..,"password_file":..,"peer_user":..,
 *                            "peer_password_file":..}]}],
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
 * hosts, endpoints, routes, exports, peerings, then each port followed by
 * its endpoint record. Errors come in the same order. -ENOMEM when out of
 * memory. A peering's grant must be an export of its network, export
 * prefixes inside the network's CIDRs; the peer need not be in the file
 * (it may live on another shard).
 * zh_intent_load reads a file first: if it cannot, -errno and one error
 * without a JSON path ("cannot read: No such file or directory").
 */
int zh_intent_parse(const char *json, size_t len, struct zh_intent *out, struct zh_errors *errs);
int zh_intent_load(const char *path, struct zh_intent *out, struct zh_errors *errs);
void zh_intent_free(struct zh_intent *in);
void zh_errors_free(struct zh_errors *errs);

/* "network", "endpoint", "route", "host", "port", "export", "peering",
 * "published meta", "published endpoint", "published route", "effective
 * route" or "other".
 */
const char *zh_rec_kind_name(enum zh_rec_kind kind);

/* "local"/"peer", "only"/"local"/"preference"/"network-id" ("?" for
 * others).
 */
const char *zh_route_origin_name(unsigned int origin);
const char *zh_conflict_rule_name(unsigned int rule);
/* "tcp,udp,icmp" style list of ZH_PROTO_* bits into buf ("any" for
 * ZH_PROTO_ANY).
 */
const char *zh_protocols_str(unsigned int protocols, char *buf, size_t size);

#endif /* ZH_MODEL_H */
