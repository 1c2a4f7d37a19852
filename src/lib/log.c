/* Logging sink with secret redaction. */
#include "lib/log.h"
#include "lib/error.h"
#include "lib/escape.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DW_LOG_LINE_MAX 2048
#define DW_LOG_SECRETS_MAX 512   /* forms, several per secret */

static const char *log_ident = "dnsward";
static enum dw_log_level log_level = DW_LOG_NOTICE;
static bool log_journal;   /* stderr is connected to journald */

/* Worker threads log while a publish may register a Basic form. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *data;   /* sodium_malloc'd: guarded, locked, excluded from core dumps */
	size_t len;
} log_secrets[DW_LOG_SECRETS_MAX];
static size_t log_nsecrets;
static size_t log_maxlen;

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

/* One form, under the lock; duplicates are kept once. */
static int add_form_locked(const char *form, size_t len)
{
	if (len == 0)
		return DW_OK;
	for (size_t i = 0; i < log_nsecrets; i++) {
		if (log_secrets[i].len == len && memcmp(log_secrets[i].data, form, len) == 0)
			return DW_OK;
	}
	if (log_nsecrets == DW_LOG_SECRETS_MAX || sodium_init() < 0)
		return DW_ENOMEM;
	char *copy = sodium_malloc(len);
	if (copy == NULL)
		return DW_ENOMEM;
	memcpy(copy, form, len);
	/* Kept longest first: a form holding a shorter one (an encoding that
	 * contains the raw secret) is masked whole. */
	size_t at = log_nsecrets;
	while (at > 0 && log_secrets[at - 1].len < len) {
		log_secrets[at] = log_secrets[at - 1];
		at--;
	}
	log_secrets[at].data = copy;
	log_secrets[at].len = len;
	log_nsecrets++;
	if (len > log_maxlen)
		log_maxlen = len;
	return DW_OK;
}

/* %XX -> %xx: servers and libraries differ in the case they echo. */
static void lower_hex(char *s)
{
	for (; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] != '\0' && s[2] != '\0') {
			s[1] = (char)tolower((unsigned char)s[1]);
			s[2] = (char)tolower((unsigned char)s[2]);
			s += 2;
		}
	}
}

/* JSON "\/" for every "/" (PHP's json_encode and others escape it). */
static void json_solidus(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in != '\0' && o + 3 < cap; in++) {
		if (*in == '/')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
}

int dw_log_add_secret(const char *secret, size_t len)
{
	if (secret == NULL || len < DW_LOG_SECRET_MIN)
		return DW_EINVAL;
	if (sodium_init() < 0)
		return DW_ENOMEM;
	/* The encoders need a C string: secrets of one line never hold NUL,
	 * and a TSIG secret is base64; other forms are skipped otherwise. */
	bool text = memchr(secret, '\0', len) == NULL;
	size_t cap = len * 6 + 1;   /* \u00XX: the longest growth per byte */
	char *src = sodium_malloc(len + 1);
	char *buf = sodium_malloc(cap);
	char *buf2 = sodium_malloc(cap * 2);
	int ret = src != NULL && buf != NULL && buf2 != NULL ? DW_OK : DW_ENOMEM;
	pthread_mutex_lock(&log_lock);
	if (ret == DW_OK)
		ret = add_form_locked(secret, len);
	if (ret == DW_OK && text) {
		memcpy(src, secret, len);
		src[len] = '\0';
		if (ret == DW_OK && dw_escape_url(src, buf, cap) == DW_OK) {
			ret = add_form_locked(buf, strlen(buf));
			lower_hex(buf);
			if (ret == DW_OK)
				ret = add_form_locked(buf, strlen(buf));
		}
		if (ret == DW_OK && dw_escape_form(src, buf, cap) == DW_OK) {
			ret = add_form_locked(buf, strlen(buf));
			lower_hex(buf);
			if (ret == DW_OK)
				ret = add_form_locked(buf, strlen(buf));
		}
		if (ret == DW_OK && dw_escape_json(src, buf, cap) == DW_OK) {
			ret = add_form_locked(buf, strlen(buf));
			json_solidus(buf, buf2, cap * 2);
			if (ret == DW_OK)
				ret = add_form_locked(buf2, strlen(buf2));
		}
	}
	pthread_mutex_unlock(&log_lock);
	if (src != NULL)
		sodium_free(src);
	if (buf != NULL)
		sodium_free(buf);
	if (buf2 != NULL)
		sodium_free(buf2);
	return ret;
}

int dw_log_add_secret_basic(const char *user, const char *pass)
{
	if (sodium_init() < 0)
		return DW_ENOMEM;
	size_t ul = strlen(user), pl = strlen(pass);
	size_t rawlen = ul + 1 + pl;
	size_t b64cap = sodium_base64_ENCODED_LEN(rawlen, sodium_base64_VARIANT_ORIGINAL);
	char *raw = sodium_malloc(rawlen + 1);
	char *b64 = sodium_malloc(b64cap);
	int ret = DW_ENOMEM;
	if (raw != NULL && b64 != NULL) {
		memcpy(raw, user, ul);
		raw[ul] = ':';
		memcpy(raw + ul + 1, pass, pl);
		sodium_bin2base64(b64, b64cap, (const unsigned char *)raw, rawlen,
		                  sodium_base64_VARIANT_ORIGINAL);
		pthread_mutex_lock(&log_lock);
		ret = add_form_locked(b64, strlen(b64));
		pthread_mutex_unlock(&log_lock);
	}
	if (raw != NULL)
		sodium_free(raw);
	if (b64 != NULL)
		sodium_free(b64);
	return ret;
}

void dw_log_clear_secrets(void)
{
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++)
		sodium_free(log_secrets[i].data);   /* wipes before freeing */
	log_nsecrets = 0;
	log_maxlen = 0;
	pthread_mutex_unlock(&log_lock);
}

size_t dw_log_secret_maxlen(void)
{
	pthread_mutex_lock(&log_lock);
	size_t n = log_maxlen;
	pthread_mutex_unlock(&log_lock);
	return n;
}

void dw_log_redact(char *buf, size_t cap)
{
	static const char mask[] = "[REDACTED]";
	const size_t mlen = sizeof(mask) - 1;

	pthread_mutex_lock(&log_lock);
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
	pthread_mutex_unlock(&log_lock);
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

	/* Formatted whole, redacted, and only then cut to the line limit: a
	 * cut first could split a secret where the redactor cannot see it. */
	char stack[DW_LOG_LINE_MAX * 2];
	char *line = stack;
	size_t cap = sizeof(stack);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(stack, sizeof(stack), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	char *big = NULL;
	if ((size_t)n >= sizeof(stack)) {
		cap = (size_t)n * 2 + 16;   /* room for masks longer than short forms */
		big = malloc(cap);
		if (big != NULL) {
			va_start(ap, fmt);
			vsnprintf(big, cap, fmt, ap);
			va_end(ap);
			line = big;
		} else {
			cap = sizeof(stack);   /* cut: the redactor cuts at a partial secret */
		}
	}
	dw_log_redact(line, cap);
	if (strlen(line) >= DW_LOG_LINE_MAX)
		memcpy(line + DW_LOG_LINE_MAX - 4, "...", 4);
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
	free(big);
}
