// SPDX-License-Identifier: GPL-2.0-only
/* The file: source: an intent file (controller/model.h) expanded into the
 * same records etcd holds, applied as one resync per load. The file is
 * reloaded when it changes: inotify on its directory (close_write of the
 * file, or a file moved onto its name, as editors and `mv` do), and a stat
 * check every tick in case the directory itself was replaced. A file that
 * does not load keeps the last good state in the maps.
 *
 * Peering works within the file: it plays every shard. For each peering
 * record A -> B, B's record for A (if the file has one) is "their" side,
 * B's view under the policy it grants A is computed as zerohop-controller
 * publishes it, and A's effective routes are resolved by the controller's
 * rules (controller/peering.h), so two networks on one host, or hosts
 * sharing a file, peer without etcd.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "peering.h"

struct zh_src_file {
	struct zh_agent *a;
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char base[NAME_MAX + 1];
	int ifd;
	int wd;
	/* what the file looked like at the last load attempt */
	bool have_stat;
	struct stat st;
	int64_t loads;
};

static void watch_dir(struct zh_src_file *s)
{
	if (s->ifd < 0 || s->wd >= 0)
		return;
	s->wd = inotify_add_watch(s->ifd, s->dir,
				  IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF);
	if (s->wd < 0)
		pr_info("%s: cannot watch %s (%s); checking it every %d ms instead\n", s->path,
			s->dir, strerror(errno), ZH_AGENT_TICK_MS);
}

int zh_src_file_open(struct zh_agent *a, const char *path, struct zh_src_file **out)
{
	struct zh_src_file *s = calloc(1, sizeof(*s));
	char tmp[PATH_MAX];

	if (!s)
		return -ENOMEM;
	s->a = a;
	s->wd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(s->dir, sizeof(s->dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(s->base, sizeof(s->base), "%s", basename(tmp));
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ifd < 0)
		pr_warn("%s: inotify: %s; checking the file every %d ms instead\n", path,
			strerror(errno), ZH_AGENT_TICK_MS);
	watch_dir(s);
	*out = s;
	return 0;
}

void zh_src_file_close(struct zh_src_file *s)
{
	if (!s)
		return;
	if (s->ifd >= 0)
		close(s->ifd);
	free(s);
}

int zh_src_file_fd(const struct zh_src_file *s)
{
	return s->ifd;
}

static bool stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* --- peering within the file ------------------------------------------------------ */

static const struct zh_record *intent_find(const struct zh_intent *in, unsigned int kind,
					   const char *net, const char *name)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		const struct zh_record *r = &in->recs[i];

		if (r->kind != kind || strcmp(r->network, net))
			continue;
		if (kind == ZH_REC_NETWORK ||
		    (kind == ZH_REC_PEERING && !strcmp(r->peering.peer, name)) ||
		    (kind == ZH_REC_EXPORT && !strcmp(r->policy, name)))
			return r;
	}
	return NULL;
}

/* A network's endpoints and routes, as a view is built from them. */
struct file_net {
	const struct zh_record *rec;
	struct zh_rec_endpoint *eps;
	size_t n_eps;
	struct zh_rec_route *routes;
	size_t n_routes;
};

static void file_net_free(struct file_net *f)
{
	free(f->eps);
	free(f->routes);
	memset(f, 0, sizeof(*f));
}

static int file_net_gather(const struct zh_intent *in, const char *net, struct file_net *f)
{
	size_t i, ne = 0, nr = 0;

	memset(f, 0, sizeof(*f));
	f->rec = intent_find(in, ZH_REC_NETWORK, net, NULL);
	for (i = 0; i < in->n; i++) {
		ne += in->recs[i].kind == ZH_REC_ENDPOINT && !strcmp(in->recs[i].network, net);
		nr += in->recs[i].kind == ZH_REC_ROUTE && !strcmp(in->recs[i].network, net);
	}
	f->eps = calloc(ne + 1, sizeof(*f->eps));
	f->routes = calloc(nr + 1, sizeof(*f->routes));
	if (!f->eps || !f->routes) {
		file_net_free(f);
		return -ENOMEM;
	}
	for (i = 0; i < in->n; i++) {
		if (strcmp(in->recs[i].network, net))
			continue;
		if (in->recs[i].kind == ZH_REC_ENDPOINT)
			f->eps[f->n_eps++] = in->recs[i].ep;
		else if (in->recs[i].kind == ZH_REC_ROUTE)
			f->routes[f->n_routes++] = in->recs[i].route;
	}
	return 0;
}

struct cands {
	struct zh_route_cand *v;
	size_t n, cap;
};

static int cand_add(struct cands *c, const struct zh_rec_route *rt, uint8_t origin,
		    const char *network, uint32_t vni, uint32_t preference)
{
	struct zh_route_cand *x;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *v = realloc(c->v, cap * sizeof(*c->v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	x->prefix = rt->prefix;
	x->r.origin = origin;
	x->r.drop = rt->drop;
	x->r.encap = rt->encap;
	x->r.vni = vni;
	x->r.preference = preference;
	x->r.host_ip = rt->host_ip;
	snprintf(x->r.network, sizeof(x->r.network), "%s", network);
	snprintf(x->r.host, sizeof(x->r.host), "%s", rt->host);
	return 0;
}

/* The peering x -> y (our record rec): y's side, y's view for x, and y's
 * routes as x's route candidates.
 */
static int file_peering(struct zh_agent *a, const struct zh_intent *in,
			const struct zh_record *rec, struct cands *cands)
{
	const char *x = rec->network, *y = rec->peering.peer;
	const struct zh_record *their = intent_find(in, ZH_REC_PEERING, y, x), *exp;
	struct zh_view_src src;
	struct zh_rec_export scope;
	struct zh_kvlist view = {0};
	struct file_net f;
	size_t i;
	int err;

	zh_agent_peer_their(a, x, y, their ? their->peering.grant : NULL);
	if (!their)
		return 0;
	err = file_net_gather(in, y, &f);
	if (err)
		return err;
	exp = intent_find(in, ZH_REC_EXPORT, y, their->peering.grant);
	zh_agent_peer_view(a, x, y, their->peering.grant, true);
	if (f.rec && exp) {
		src = (struct zh_view_src){
			.network = y, .net = &f.rec->net, .policy = their->peering.grant,
			.exp = &exp->exp, .eps = f.eps, .n_eps = f.n_eps,
			.routes = f.routes, .n_routes = f.n_routes,
		};
		err = zh_view_build(&src, &view);
		for (i = 0; !err && i < view.n; i++)
			zh_agent_peer_put(a, x, y, view.v[i].key, strlen(view.v[i].key),
					  view.v[i].value, strlen(view.v[i].value));
		zh_export_scope(&exp->exp, &f.rec->net, &scope);
		for (i = 0; !err && i < f.n_routes; i++)
			if (zh_scope_has_prefix(&scope, &f.routes[i].prefix))
				err = cand_add(cands, &f.routes[i], ZH_ORIGIN_PEER, y,
					       f.rec->net.vni, rec->peering.preference);
	}
	zh_agent_peer_view(a, x, y, their->peering.grant, false);
	zh_kvlist_free(&view);
	file_net_free(&f);
	return err;
}

/* Every peering of network x, and x's effective routes. */
static int file_network_peerings(struct zh_agent *a, const struct zh_intent *in,
				 const struct zh_record *net)
{
	struct zh_kvlist eff = {0};
	struct cands cands = {0};
	size_t i, n_local;
	int err = 0;

	for (i = 0; !err && i < in->n; i++)
		if (in->recs[i].kind == ZH_REC_ROUTE && !strcmp(in->recs[i].network, net->network))
			err = cand_add(&cands, &in->recs[i].route, ZH_ORIGIN_LOCAL, net->network,
				       net->net.vni, 0);
	n_local = cands.n;
	for (i = 0; !err && i < in->n; i++)
		if (in->recs[i].kind == ZH_REC_PEERING &&
		    !strcmp(in->recs[i].network, net->network))
			err = file_peering(a, in, &in->recs[i], &cands);
	/* Only peer winners program anything beyond the network's own routes. */
	if (!err && cands.n > n_local)
		err = zh_effective_build(net->network, cands.v, cands.n, &eff);
	for (i = 0; !err && i < eff.n; i++)
		zh_agent_put_kinds(a, ZH_KIND(ZH_REC_EFFECTIVE), eff.v[i].key, strlen(eff.v[i].key),
				   eff.v[i].value, strlen(eff.v[i].value), 0);
	zh_kvlist_free(&eff);
	free(cands.v);
	return err;
}

static void file_peerings(struct zh_src_file *s, const struct zh_intent *in)
{
	size_t i;
	int err;

	for (i = 0; i < in->n; i++) {
		if (in->recs[i].kind != ZH_REC_NETWORK)
			continue;
		err = file_network_peerings(s->a, in, &in->recs[i]);
		if (err)
			pr_warn("%s: peerings of network %s: %s\n", s->path, in->recs[i].network,
				strerror(-err));
	}
}

int zh_src_file_load(struct zh_src_file *s)
{
	struct zh_errors errs = {0};
	struct zh_intent in = {0};
	char reason[512];
	size_t i;
	int err;

	s->have_stat = stat(s->path, &s->st) == 0;
	err = zh_intent_load(s->path, &in, &errs);
	if (err) {
		for (i = 0; i < errs.n; i++)
			pr_warn("%s: %s\n", s->path, errs.msg[i]);
		snprintf(reason, sizeof(reason), "%s: %s%s", s->path,
			 errs.n ? errs.msg[0] : strerror(-err),
			 errs.n > 1 ? " (and more, see the log)" : "");
		pr_warn("%s: not loaded (%zu error%s); keeping the last good state\n", s->path,
			errs.n, errs.n == 1 ? "" : "s");
		zh_agent_source_state(s->a, false, reason);
		zh_errors_free(&errs);
		return err;
	}
	s->loads++;
	pr_info("%s: loaded %zu records\n", s->path, in.n);
	zh_agent_source_state(s->a, true, NULL);
	zh_agent_resync_begin(s->a, ZH_KINDS_ALL);
	for (i = 0; i < in.n; i++)
		zh_agent_apply(s->a, &in.recs[i]);
	file_peerings(s, &in);
	zh_agent_resync_end(s->a, ZH_KINDS_ALL, s->loads);
	zh_intent_free(&in);
	zh_errors_free(&errs);
	return 0;
}

void zh_src_file_readable(struct zh_src_file *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool reload = false;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(s->ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				/* The directory went: the tick watches for it again. */
				s->wd = -1;
				continue;
			}
			if (ev->len && !strcmp(ev->name, s->base))
				reload = true;
		}
	}
	if (reload) {
		pr_debug("%s changed\n", s->path);
		zh_src_file_load(s);
	}
}

void zh_src_file_tick(struct zh_src_file *s)
{
	struct stat st;
	bool now = stat(s->path, &st) == 0;

	watch_dir(s);
	if (now != s->have_stat || (now && !stat_same(&st, &s->st))) {
		pr_debug("%s changed (stat)\n", s->path);
		zh_src_file_load(s);
	}
}
