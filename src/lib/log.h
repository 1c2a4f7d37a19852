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

/* Shortest secret accepted (shorter ones were never masked): a shorter one
 * can be guessed, and masking it would mask ordinary text everywhere. */
#define DW_LOG_SECRET_MIN 4
/* Secrets shorter than this are accepted, masked, and noted by "check". */
#define DW_LOG_SECRET_SHORT 8

/* Registers a secret (copied into locked memory) to be redacted from every
 * later line, together with every form it is sent in: percent-encoded
 * (upper- and lower-case hex), form-encoded, and as the contents of a JSON
 * string (with and without "\/").  Returns 0, DW_EINVAL when shorter than
 * DW_LOG_SECRET_MIN (nothing registered), or DW_ENOMEM.  Thread-safe. */
int dw_log_add_secret(const char *secret, size_t len);
/* Registers the base64 of "user:pass", what HTTP Basic authentication
 * sends (lib/http.c calls it for every request with credentials).
 * Returns 0 or DW_ENOMEM.  Thread-safe. */
int dw_log_add_secret_basic(const char *user, const char *pass);
/* Forgets all registered secrets, wiping their copies. */
void dw_log_clear_secrets(void);

/* Redacts registered secrets in buf (NUL-terminated, capacity cap) in place;
 * when there is no room to expand, the text is cut at the secret.  Exposed
 * for tests and for callers that build messages for other sinks
 * (lib/text.h's samples of replies). */
void dw_log_redact(char *buf, size_t cap);
/* Length of the longest registered form (0 when none): a window that long
 * past a cut holds every secret the cut could split. */
size_t dw_log_secret_maxlen(void);

void dw_log(enum dw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)   dw_log(DW_LOG_ERR, __VA_ARGS__)
#define log_warning(...) dw_log(DW_LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  dw_log(DW_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    dw_log(DW_LOG_INFO, __VA_ARGS__)
#define log_debug(...)   dw_log(DW_LOG_DEBUG, __VA_ARGS__)
