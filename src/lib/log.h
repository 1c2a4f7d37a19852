/* Logging to stderr in a journald-friendly form.
 *
 * Every line passes through the redactor: any byte sequence registered with
 * dw_log_add_secret() is replaced by "[REDACTED]" before the line is written,
 * at every level.  This is the last line of defence; callers still avoid
 * formatting secrets (e.g. they log redacted URLs). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum dw_log_level {
	DW_LOG_ERR = 3,     /* syslog priorities, so journald prefixes map 1:1 */
	DW_LOG_WARNING = 4,
	DW_LOG_NOTICE = 5,
	DW_LOG_INFO = 6,
	DW_LOG_DEBUG = 7,
};

/* Program name shown in lines when not under journald (default "dnsward"). */
void dw_log_init(const char *ident);
void dw_log_set_level(enum dw_log_level level);
enum dw_log_level dw_log_get_level(void);
/* Parses "error", "warning", "notice", "info", "debug"; returns 0 or DW_EINVAL. */
int dw_log_level_parse(const char *s, enum dw_log_level *out);

/* Registers a secret (copied into locked memory) to be redacted from every
 * later line.  Secrets shorter than 4 bytes are ignored (too likely to match
 * ordinary text).  Returns 0 or DW_ENOMEM. */
int dw_log_add_secret(const char *secret, size_t len);
/* Forgets all registered secrets, wiping their copies. */
void dw_log_clear_secrets(void);

/* Redacts registered secrets in buf (NUL-terminated, capacity cap) in place;
 * exposed for tests and for callers that build messages for other sinks. */
void dw_log_redact(char *buf, size_t cap);

void dw_log(enum dw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)   dw_log(DW_LOG_ERR, __VA_ARGS__)
#define log_warning(...) dw_log(DW_LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  dw_log(DW_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    dw_log(DW_LOG_INFO, __VA_ARGS__)
#define log_debug(...)   dw_log(DW_LOG_DEBUG, __VA_ARGS__)
