/* The "custom" provider: an HTTP API described in the configuration.  Its
 * pure parts, for unit tests and fuzzing: the template parser and expander,
 * the JSON pointer used by success-json, and the reply classifier.
 *
 * Templates.  Text with placeholders {fqdn} {ip} {ipv4} {ipv6} {ttl} {type}
 * and {secret:NAME} (NAME: 1..32 of [a-z0-9-]).  "{{" is a literal "{"; a
 * "{" followed by anything but a lower-case letter or "{" is literal too, so
 * JSON bodies need no escaping ("{\"ip\":\"{ip}\"}").  Any other {name...}
 * is an error, as are control characters. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/provider.h"

enum dw_tpl_var {
	DW_TPL_FQDN = 0,
	DW_TPL_IP,
	DW_TPL_IPV4,
	DW_TPL_IPV6,
	DW_TPL_TTL,
	DW_TPL_TYPE,
	DW_TPL_SECRET,
	DW_TPL_LITERAL,
};
#define DW_TPL_NVALUES DW_TPL_SECRET      /* values given by name, not secrets */

#define DW_TPL_SECRET_NAME_MAX 32
#define DW_TPL_PARTS_MAX 128
#define DW_TPL_TEXT_MAX 4096

/* How values are escaped where they are placed. */
enum dw_tpl_ctx {
	DW_TPL_CTX_URL = 0,   /* percent-encoding of everything but A-Za-z0-9-._~ */
	DW_TPL_CTX_FORM,      /* application/x-www-form-urlencoded */
	DW_TPL_CTX_JSON,      /* inside a JSON string */
	DW_TPL_CTX_RAW,       /* verbatim; values holding control bytes are refused */
};

struct dw_tpl_part {
	enum dw_tpl_var var;
	const char *s;        /* literal text or secret name (in buf) */
	size_t len;
};

struct dw_tpl {
	char *buf;                       /* owned: literals (unescaped) and names */
	struct dw_tpl_part *parts;       /* owned */
	size_t n;
	unsigned uses;                   /* bit (1u << var) for each var used */
};

/* Parses text (at most DW_TPL_TEXT_MAX bytes).  Returns 0, or DW_EINVAL with
 * a message in err (e.g. "unknown placeholder {foo}"), or DW_ENOMEM.  On
 * error *t is empty.  dw_tpl_free() releases it in every case. */
int dw_tpl_parse(const char *text, struct dw_tpl *t, char *err, size_t errcap);
void dw_tpl_free(struct dw_tpl *t);

struct dw_tpl_secret {
	const char *name;
	const char *value;
};

struct dw_tpl_values {
	const char *v[DW_TPL_NVALUES];   /* NULL is expanded as "" */
	const struct dw_tpl_secret *secrets;
	size_t nsecrets;
};

/* Expands t into out (capacity cap), escaping each value for ctx.  With
 * redact, secrets are written as "[secret:NAME]" instead (for logs).
 * Returns 0, DW_ETOOBIG, DW_ENOTFOUND (a secret not in vals) or DW_EINVAL
 * (a raw value holding a control byte); out is "" on error. */
int dw_tpl_expand(const struct dw_tpl *t, enum dw_tpl_ctx ctx, const struct dw_tpl_values *vals,
                  bool redact, char *out, size_t cap);

/* RFC 6901 JSON pointer: "" is the root, else "/a/0/b" with "~1" for "/" and
 * "~0" for "~"; array indexes are decimal without leading zeros.  Returns
 * the value (borrowed) or NULL. */
json_t *dw_json_pointer(json_t *root, const char *ptr);

/* The success rule of a custom provider. */
struct dw_custom_rule {
	long status;          /* success-status, default 200 */
	char *line;           /* success-line: the whole first line, or NULL */
	char *pointer;        /* success-json: "POINTER = JSON-VALUE" ... */
	json_t *value;        /* ... split and parsed; NULL when not used */
};

/* Parses a success-json value "POINTER = VALUE": POINTER is a JSON pointer
 * (may not contain " = "), VALUE any JSON text (a string is "quoted").
 * Returns 0 (rule->pointer, rule->value set) or DW_EINVAL with err. */
int dw_custom_rule_json(const char *spec, struct dw_custom_rule *rule, char *err, size_t errcap);
void dw_custom_rule_free(struct dw_custom_rule *rule);

/* Classifies a reply: status == rule->status and the body rule holds (first
 * line exactly rule->line; field at rule->pointer equal to rule->value) ->
 * DONE; that status with another body -> RETRY; 429 RATELIMIT; other 4xx
 * FATAL; 5xx and anything else RETRY.  The message quotes a short sample. */
void dw_custom_classify(const struct dw_custom_rule *rule, long status, const char *body,
                        size_t len, long retry_after_s, struct dw_result *res);
