// SPDX-License-Identifier: GPL-2.0-only
/* The file: source: an intent file (controller/model.h) expanded into the
 * same records etcd holds, applied as one resync per load. The file is
 * reloaded when it changes: inotify on its directory (close_write of the
 * file, or a file moved onto its name, as editors and `mv` do), and a stat
 * check every tick in case the directory itself was replaced. A file that
 * does not load keeps the last good state in the maps.
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
