/* SPDX-License-Identifier: GPL-2.0-only */
/* Logging for the loader library and its front ends. */
#ifndef ZH_LOG_H
#define ZH_LOG_H

enum zh_log_level {
	ZH_LOG_WARN = 0,  /* always shown */
	ZH_LOG_INFO = 1,  /* -v */
	ZH_LOG_DEBUG = 2, /* -vv, together with libbpf's own messages */
};

/* Prefix for every message (the program name); set once by main(). */
void zh_log_set_prefix(const char *prefix);
/* 0 = warnings only, 1 = -v, 2 = -vv. Also routes libbpf's messages. */
void zh_log_set_level(int level);
int zh_log_get_level(void);

void zh_log(enum zh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_warn(fmt, ...)  zh_log(ZH_LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  zh_log(ZH_LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) zh_log(ZH_LOG_DEBUG, fmt, ##__VA_ARGS__)

#endif /* ZH_LOG_H */
