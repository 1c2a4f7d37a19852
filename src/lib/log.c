/* Logging sink with secret redaction. */
#include "lib/log.h"
#include "lib/error.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DW_LOG_LINE_MAX 2048
#define DW_LOG_SECRETS_MAX 64

static const char *log_ident = "dnsward";
static enum dw_log_level log_level = DW_LOG_NOTICE;
static bool log_journal;   /* stderr is connected to journald */

static struct {
	char *data;   /* sodium_malloc'd: guarded, locked, excluded from core dumps */
	size_t len;
} log_secrets[DW_LOG_SECRETS_MAX];
static size_t log_nsecrets;
/* The publisher adds a job's secrets while its workers log. */
static pthread_mutex_t log_secrets_mu = PTHREAD_MUTEX_INITIALIZER;

void dw_log_init(const char *ident)
{
	if (ident != NULL)
		log_ident = ident;
	/* systemd sets JOURNAL_STREAM when stderr is the journal: then use
	 * "<N>" priority prefixes instead of our own timestamps and names. */
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void dw_log_set_level(enum dw_log_level level) { log_level = level; }
enum dw_log_level dw_log_get_level(void) { return log_level; }

int dw_log_level_parse(const char *s, enum dw_log_level *out)
{
	static const struct { const char *name; enum dw_log_level level; } names[] = {
		{ "error", DW_LOG_ERR }, { "warning", DW_LOG_WARNING },
		{ "notice", DW_LOG_NOTICE }, { "info", DW_LOG_INFO },
		{ "debug", DW_LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return DW_OK;
		}
	}
	return DW_EINVAL;
}

int dw_log_add_secret(const char *secret, size_t len)
{
	if (secret == NULL || len < 4)
		return DW_OK;
	int ret = DW_OK;
	pthread_mutex_lock(&log_secrets_mu);
	for (size_t i = 0; i < log_nsecrets; i++) {
		if (log_secrets[i].len == len && memcmp(log_secrets[i].data, secret, len) == 0)
			goto out;
	}
	char *copy = NULL;
	if (log_nsecrets == DW_LOG_SECRETS_MAX || sodium_init() < 0 ||
	    (copy = sodium_malloc(len)) == NULL) {
		ret = DW_ENOMEM;
		goto out;
	}
	memcpy(copy, secret, len);
	log_secrets[log_nsecrets].data = copy;
	log_secrets[log_nsecrets].len = len;
	log_nsecrets++;
out:
	pthread_mutex_unlock(&log_secrets_mu);
	return ret;
}

void dw_log_clear_secrets(void)
{
	pthread_mutex_lock(&log_secrets_mu);
	for (size_t i = 0; i < log_nsecrets; i++)
		sodium_free(log_secrets[i].data);   /* wipes before freeing */
	log_nsecrets = 0;
	pthread_mutex_unlock(&log_secrets_mu);
}

void dw_log_redact(char *buf, size_t cap)
{
	static const char mask[] = "[REDACTED]";
	const size_t mlen = sizeof(mask) - 1;

	pthread_mutex_lock(&log_secrets_mu);
	for (size_t s = 0; s < log_nsecrets; s++) {
		const char *sec = log_secrets[s].data;
		size_t slen = log_secrets[s].len;
		char *p = buf;
		while ((p = memmem(p, strlen(p), sec, slen)) != NULL) {
			size_t tail = strlen(p + slen) + 1;  /* include NUL */
			if ((size_t)(p - buf) + mlen + tail > cap) {
				/* No room to expand: cut the line at the secret. */
				*p = '\0';
				break;
			}
			memmove(p + mlen, p + slen, tail);
			memcpy(p, mask, mlen);
			p += mlen;
		}
	}
	pthread_mutex_unlock(&log_secrets_mu);
}

/* Replaces control characters so that a hostile reply quoted in a message
 * cannot forge extra log lines or terminal escapes. */
static void log_sanitize(char *buf)
{
	for (unsigned char *p = (unsigned char *)buf; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

void dw_log(enum dw_log_level level, const char *fmt, ...)
{
	if (level > log_level)
		return;

	char line[DW_LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	dw_log_redact(line, sizeof(line));
	log_sanitize(line);

	static const char *const names[] = {
		[DW_LOG_ERR] = "error", [DW_LOG_WARNING] = "warning",
		[DW_LOG_NOTICE] = "notice", [DW_LOG_INFO] = "info",
		[DW_LOG_DEBUG] = "debug",
	};
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[level], line);
}
