/* The "custom" provider: method, URL, headers and body are templates from
 * the configuration; every value is escaped for the place it goes (URL
 * component, form field, JSON string) and secrets come from files.  The
 * reply is judged by an exact rule: a status code plus, optionally, the whole
 * first line or one JSON field. */
#include "providers/custom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/escape.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"

#define CUSTOM_HEADERS_MAX 6      /* header1 .. header6 */
#define CUSTOM_SECRETS_MAX 8
#define CUSTOM_URL_MAX 4096
#define CUSTOM_BODY_MAX 8192
#define CUSTOM_HEADER_MAX 1024
#define CUSTOM_SAMPLE_MAX 120

static const char *const tpl_names[DW_TPL_NVALUES] = {
	[DW_TPL_FQDN] = "fqdn", [DW_TPL_IP] = "ip", [DW_TPL_IPV4] = "ipv4",
	[DW_TPL_IPV6] = "ipv6", [DW_TPL_TTL] = "ttl", [DW_TPL_TYPE] = "type",
};

/* ---- Templates (pure) ---- */

void dw_tpl_free(struct dw_tpl *t)
{
	free(t->buf);
	free(t->parts);
	memset(t, 0, sizeof(*t));
}

static bool tpl_secret_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int dw_tpl_parse(const char *text, struct dw_tpl *t, char *err, size_t errcap)
{
	size_t n = strlen(text);
	memset(t, 0, sizeof(*t));
	if (errcap > 0)
		err[0] = '\0';
	if (n > DW_TPL_TEXT_MAX) {
		snprintf(err, errcap, "longer than %d bytes", DW_TPL_TEXT_MAX);
		return DW_EINVAL;
	}
	t->buf = malloc(n + 1);
	t->parts = calloc(DW_TPL_PARTS_MAX, sizeof(*t->parts));
	if (t->buf == NULL || t->parts == NULL) {
		dw_tpl_free(t);
		return DW_ENOMEM;
	}
	size_t o = 0;            /* write position in buf */
	size_t lit_start = 0;    /* of the literal being built, in buf */
	bool in_lit = false;
	int ret = DW_EINVAL;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c == 0x7f) {
			snprintf(err, errcap, "control character at offset %zu", i);
			goto fail;
		}
		bool placeholder = c == '{' && i + 1 < n && text[i + 1] >= 'a' && text[i + 1] <= 'z';
		if (!placeholder) {
			if (!in_lit) {
				if (t->n == DW_TPL_PARTS_MAX) {
					snprintf(err, errcap, "more than %d parts", DW_TPL_PARTS_MAX);
					goto fail;
				}
				in_lit = true;
				lit_start = o;
			}
			t->buf[o++] = (char)c;
			i += (c == '{' && i + 1 < n && text[i + 1] == '{') ? 2 : 1;
			continue;
		}
		if (in_lit) {
			t->parts[t->n++] = (struct dw_tpl_part){ DW_TPL_LITERAL, t->buf + lit_start,
			                                         o - lit_start };
			in_lit = false;
		}
		const char *close = memchr(text + i, '}', n - i);
		size_t nlen = close != NULL ? (size_t)(close - text) - i - 1 : 0;
		if (close == NULL || nlen > 7 + DW_TPL_SECRET_NAME_MAX) {
			snprintf(err, errcap, "unterminated placeholder at offset %zu", i);
			goto fail;
		}
		const char *name = text + i + 1;
		if (t->n == DW_TPL_PARTS_MAX) {
			snprintf(err, errcap, "more than %d parts", DW_TPL_PARTS_MAX);
			goto fail;
		}
		struct dw_tpl_part *part = &t->parts[t->n];
		bool known = false;
		for (int v = 0; v < DW_TPL_NVALUES && !known; v++) {
			if (strlen(tpl_names[v]) == nlen && memcmp(name, tpl_names[v], nlen) == 0) {
				*part = (struct dw_tpl_part){ (enum dw_tpl_var)v, NULL, 0 };
				known = true;
			}
		}
		if (!known && nlen > 7 && memcmp(name, "secret:", 7) == 0) {
			known = true;
			for (size_t k = 7; k < nlen; k++)
				known = known && tpl_secret_char(name[k]);
			if (known) {
				memcpy(t->buf + o, name + 7, nlen - 7);
				*part = (struct dw_tpl_part){ DW_TPL_SECRET, t->buf + o, nlen - 7 };
				o += nlen - 7;
			}
		}
		if (!known) {
			char sample[48];
			dw_text_sample(name, nlen, 40, sample, sizeof(sample));
			snprintf(err, errcap, "unknown placeholder {%s} (known: {fqdn} {ip} {ipv4} {ipv6} "
			         "{ttl} {type} {secret:NAME})", sample);
			goto fail;
		}
		t->uses |= 1u << part->var;
		t->n++;
		i += nlen + 2;
	}
	if (in_lit)
		t->parts[t->n++] = (struct dw_tpl_part){ DW_TPL_LITERAL, t->buf + lit_start,
		                                         o - lit_start };
	return 0;
fail:
	dw_tpl_free(t);
	return ret;
}

static int tpl_put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (n >= cap - *o)
		return DW_ETOOBIG;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

static int tpl_put_value(char *out, size_t cap, size_t *o, const char *v, enum dw_tpl_ctx ctx)
{
	int rc;
	switch (ctx) {
	case DW_TPL_CTX_URL:
		rc = dw_http_escape(v, out + *o, cap - *o);
		break;
	case DW_TPL_CTX_FORM:
		rc = dw_escape_form(v, out + *o, cap - *o);
		break;
	case DW_TPL_CTX_JSON:
		rc = dw_escape_json(v, out + *o, cap - *o);
		break;
	case DW_TPL_CTX_RAW:
	default:
		for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
			if (*p < 0x20 || *p == 0x7f)
				return DW_EINVAL;
		}
		return tpl_put(out, cap, o, v, strlen(v));
	}
	if (rc != 0)
		return rc;
	*o += strlen(out + *o);
	return 0;
}

int dw_tpl_expand(const struct dw_tpl *t, enum dw_tpl_ctx ctx, const struct dw_tpl_values *vals,
                  bool redact, char *out, size_t cap)
{
	size_t o = 0;
	int rc = 0;
	if (cap == 0)
		return DW_ETOOBIG;
	out[0] = '\0';
	for (size_t i = 0; i < t->n && rc == 0; i++) {
		const struct dw_tpl_part *p = &t->parts[i];
		if (p->var == DW_TPL_LITERAL) {
			rc = tpl_put(out, cap, &o, p->s, p->len);
		} else if (p->var == DW_TPL_SECRET) {
			const char *val = NULL;
			for (size_t k = 0; k < vals->nsecrets; k++) {
				if (strlen(vals->secrets[k].name) == p->len &&
				    memcmp(vals->secrets[k].name, p->s, p->len) == 0)
					val = vals->secrets[k].value;
			}
			if (val == NULL) {
				rc = DW_ENOTFOUND;
			} else if (redact) {
				rc = tpl_put(out, cap, &o, "[secret:", 8);
				if (rc == 0)
					rc = tpl_put(out, cap, &o, p->s, p->len);
				if (rc == 0)
					rc = tpl_put(out, cap, &o, "]", 1);
			} else {
				rc = tpl_put_value(out, cap, &o, val, ctx);
			}
		} else {
			const char *v = vals->v[p->var];
			rc = tpl_put_value(out, cap, &o, v != NULL ? v : "", ctx);
		}
	}
	if (rc != 0)
		out[0] = '\0';
	return rc;
}

/* ---- Success rule (pure) ---- */

json_t *dw_json_pointer(json_t *root, const char *ptr)
{
	json_t *cur = root;
	if (ptr[0] == '\0')
		return root;
	if (ptr[0] != '/')
		return NULL;
	const char *p = ptr + 1;
	for (;;) {
		char tok[256];
		size_t n = 0;
		while (*p != '\0' && *p != '/') {
			char c = *p++;
			if (c == '~') {
				if (*p == '0')
					c = '~';
				else if (*p == '1')
					c = '/';
				else
					return NULL;
				p++;
			}
			if (n + 1 >= sizeof(tok))
				return NULL;
			tok[n++] = c;
		}
		tok[n] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, tok);
		} else if (json_is_array(cur)) {
			if (n == 0 || n > 9 || (n > 1 && tok[0] == '0'))
				return NULL;
			size_t idx = 0;
			for (size_t k = 0; k < n; k++) {
				if (tok[k] < '0' || tok[k] > '9')
					return NULL;
				idx = idx * 10 + (size_t)(tok[k] - '0');
			}
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
		if (cur == NULL)
			return NULL;
		if (*p == '\0')
			return cur;
		p++;   /* the '/' */
	}
}

void dw_custom_rule_free(struct dw_custom_rule *rule)
{
	free(rule->line);
	free(rule->pointer);
	json_decref(rule->value);
	rule->line = NULL;
	rule->pointer = NULL;
	rule->value = NULL;
}

int dw_custom_rule_json(const char *spec, struct dw_custom_rule *rule, char *err, size_t errcap)
{
	const char *eq = strstr(spec, " = ");
	if (eq == NULL || (spec[0] != '/' && eq != spec)) {
		snprintf(err, errcap, "must be POINTER = JSON-VALUE, e.g. /status = \"ok\"");
		return DW_EINVAL;
	}
	json_error_t jerr;
	json_t *v = json_loads(eq + 3, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		snprintf(err, errcap, "the value after \" = \" is not JSON (a string needs quotes): %s",
		         jerr.text);
		return DW_EINVAL;
	}
	char *ptr = strndup(spec, (size_t)(eq - spec));
	if (ptr == NULL) {
		json_decref(v);
		return DW_ENOMEM;
	}
	/* The pointer must be well-formed: try it on an empty object. */
	for (const char *q = ptr; *q != '\0'; q++) {
		if (*q == '~' && q[1] != '0' && q[1] != '1') {
			snprintf(err, errcap, "'~' in a JSON pointer must be ~0 or ~1");
			free(ptr);
			json_decref(v);
			return DW_EINVAL;
		}
	}
	free(rule->pointer);
	json_decref(rule->value);
	rule->pointer = ptr;
	rule->value = v;
	return 0;
}

void dw_custom_classify(const struct dw_custom_rule *rule, long status, const char *body,
                        size_t len, long retry_after_s, struct dw_result *res)
{
	char sample[CUSTOM_SAMPLE_MAX + 1];
	size_t n = 0;
	while (n < len && body[n] != '\n')
		n++;
	size_t line_len = n > 0 && body[n - 1] == '\r' ? n - 1 : n;
	dw_text_sample(body, line_len, CUSTOM_SAMPLE_MAX, sample, sizeof(sample));

	if (status == rule->status) {
		bool ok = true;
		if (rule->line != NULL)
			ok = line_len == strlen(rule->line) && memcmp(body, rule->line, line_len) == 0;
		if (ok && rule->pointer != NULL) {
			json_error_t jerr;
			json_t *root = len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
			json_t *v = root != NULL ? dw_json_pointer(root, rule->pointer) : NULL;
			ok = v != NULL && json_equal(v, rule->value);
			json_decref(root);
		}
		if (ok)
			dw_result_set(res, DW_OUT_DONE, -1, "accepted (HTTP %ld)", status);
		else
			dw_result_set(res, DW_OUT_RETRY, -1,
			              "reply does not match the success rule (HTTP %ld): \"%s\"", status,
			              sample);
	} else if (status == 429) {
		dw_result_http_wait(res, "custom", status, retry_after_s, -1, NULL);
	} else if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1, "refused (HTTP %ld): \"%s\"", status, sample);
	} else if (status >= 500 && status <= 599) {
		dw_result_http_wait(res, "custom", status, retry_after_s, -1, NULL);
	} else {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld", status);
	}
}

/* ---- Configuration ---- */

struct custom_header {
	char *name;               /* "X-Name" */
	struct dw_tpl value;
};

struct dw_provider_data {
	char *method;
	struct dw_tpl url;
	bool has_body;
	struct dw_tpl body;
	enum dw_tpl_ctx body_ctx;
	char *content_type;
	struct custom_header headers[CUSTOM_HEADERS_MAX];
	size_t nheaders;
	struct dw_custom_rule rule;
	char *secret_names[CUSTOM_SECRETS_MAX];
	struct dw_secret secrets[CUSTOM_SECRETS_MAX];
	size_t nsecrets;
	unsigned uses;            /* placeholders used by any template */
};

static int custom_tpl(struct dw_conf_ctx *ctx, const char *key, const char *text,
                      struct dw_tpl *t)
{
	char err[200];
	int rc = dw_tpl_parse(text, t, err, sizeof(err));
	if (rc == DW_ENOMEM)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	if (rc != 0)
		return dw_conf_error(ctx, key, "%s", err);
	return 0;
}

/* Reads secret-NAME-file for every {secret:NAME} of t not read yet. */
static int custom_secrets(struct dw_provider_data *d, struct dw_conf_ctx *ctx, const char *key,
                          const struct dw_tpl *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct dw_tpl_part *p = &t->parts[i];
		if (p->var != DW_TPL_SECRET)
			continue;
		bool have = false;
		for (size_t k = 0; k < d->nsecrets && !have; k++)
			have = strlen(d->secret_names[k]) == p->len &&
			       memcmp(d->secret_names[k], p->s, p->len) == 0;
		if (have)
			continue;
		if (d->nsecrets == CUSTOM_SECRETS_MAX)
			return dw_conf_error(ctx, key, "more than %d different secrets", CUSTOM_SECRETS_MAX);
		char skey[64];
		int kn = snprintf(skey, sizeof(skey), "secret-%.*s-file",
		                  (int)(p->len < DW_TPL_SECRET_NAME_MAX ? p->len : DW_TPL_SECRET_NAME_MAX),
		                  p->s);
		if (kn < 0 || (size_t)kn >= sizeof(skey))
			return dw_conf_error(ctx, key, "secret name too long");
		if (dw_conf_get(ctx, skey) == NULL)
			return dw_conf_error(ctx, key, "{secret:%.*s} needs %s = FILE", (int)p->len, p->s,
			                     skey);
		struct dw_secret *s = &d->secrets[d->nsecrets];
		/* p->s points into the template buffer and is not NUL-terminated. */
		char *name = malloc(p->len + 1);
		if (name != NULL) {
			memcpy(name, p->s, p->len);
			name[p->len] = '\0';
		}
		if (name == NULL)
			return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
		d->secret_names[d->nsecrets++] = name;
		int rc = dw_conf_secret(ctx, skey, true, DW_SECRET_LINE, s);
		if (rc != 0)
			return rc;
		for (size_t k = 0; k < s->len; k++) {
			unsigned char c = (unsigned char)s->data[k];
			if (c < 0x20 || c == 0x7f)
				return dw_conf_error(ctx, skey, "the secret must be one line without control "
				                     "characters");
		}
	}
	return 0;
}

static void custom_values(const struct dw_provider_data *d, struct dw_tpl_values *vals,
                          struct dw_tpl_secret *sec)
{
	for (size_t k = 0; k < d->nsecrets; k++) {
		sec[k].name = d->secret_names[k];
		sec[k].value = d->secrets[k].data;
	}
	vals->secrets = sec;
	vals->nsecrets = d->nsecrets;
}

static bool custom_header_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int custom_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;
	d->rule.status = 200;
	int rc;

	/* The core reads ca-file only for providers with a fixed base URL. */
	if ((rc = dw_conf_strdup(ctx, "ca-file", NULL, &p->ca_file)) != 0)
		return rc;
	if (p->ca_file != NULL && access(p->ca_file, R_OK) != 0)
		return dw_conf_error(ctx, "ca-file", "cannot read %s: %s", p->ca_file, strerror(errno));

	if ((rc = dw_conf_strdup(ctx, "method", "GET", &d->method)) != 0)
		return rc;
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", NULL };
	bool mok = false;
	for (size_t i = 0; methods[i] != NULL; i++)
		mok = mok || strcmp(d->method, methods[i]) == 0;
	if (!mok)
		return dw_conf_error(ctx, "method", "must be GET, POST, PUT or PATCH");

	const char *url = dw_conf_get(ctx, "url");
	if (url == NULL)
		return dw_conf_error(ctx, "url", "required: the URL template, https://...");
	if ((rc = custom_tpl(ctx, "url", url, &d->url)) != 0)
		return rc;
	/* Scheme and host must be literal, so no value can send the request,
	 * and its secrets, elsewhere. */
	const struct dw_tpl_part *first = d->url.n > 0 ? &d->url.parts[0] : NULL;
	size_t host_end = 8;
	if (first != NULL && first->var == DW_TPL_LITERAL && first->len > 8 &&
	    strncmp(first->s, "https://", 8) == 0) {
		while (host_end < first->len && first->s[host_end] != '/' &&
		       first->s[host_end] != '?' && first->s[host_end] != '#')
			host_end++;
	}
	if (first == NULL || first->var != DW_TPL_LITERAL || first->len <= 8 ||
	    strncmp(first->s, "https://", 8) != 0 || host_end == 8 ||
	    (host_end == first->len && d->url.n > 1))
		return dw_conf_error(ctx, "url", "must start with https://HOST/ written out "
		                     "(no placeholder in the scheme or host)");

	const char *body = dw_conf_get(ctx, "body");
	const char *fmt = dw_conf_get(ctx, "body-format");
	if (body != NULL) {
		if (strcmp(d->method, "GET") == 0)
			return dw_conf_error(ctx, "body", "a body needs method POST, PUT or PATCH");
		if (fmt == NULL)
			return dw_conf_error(ctx, "body", "needs body-format = json, form or raw (how "
			                     "values are escaped)");
		if (strcmp(fmt, "json") == 0)
			d->body_ctx = DW_TPL_CTX_JSON;
		else if (strcmp(fmt, "form") == 0)
			d->body_ctx = DW_TPL_CTX_FORM;
		else if (strcmp(fmt, "raw") == 0)
			d->body_ctx = DW_TPL_CTX_RAW;
		else
			return dw_conf_error(ctx, "body-format", "must be json, form or raw");
		if ((rc = custom_tpl(ctx, "body", body, &d->body)) != 0)
			return rc;
		d->has_body = true;
		const char *def = d->body_ctx == DW_TPL_CTX_JSON ? "application/json"
		                  : d->body_ctx == DW_TPL_CTX_FORM ? "application/x-www-form-urlencoded"
		                                                   : "text/plain; charset=utf-8";
		if ((rc = dw_conf_strdup(ctx, "content-type", def, &d->content_type)) != 0)
			return rc;
		for (const char *c = d->content_type; *c != '\0'; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return dw_conf_error(ctx, "content-type", "control character");
		}
	} else if (fmt != NULL) {
		return dw_conf_error(ctx, "body-format", "only used with body");
	} else if (dw_conf_get(ctx, "content-type") != NULL) {
		return dw_conf_error(ctx, "content-type", "only used with body");
	}

	for (int i = 1; i <= CUSTOM_HEADERS_MAX; i++) {
		char key[16];
		snprintf(key, sizeof(key), "header%d", i);
		const char *h = dw_conf_get(ctx, key);
		if (h == NULL)
			continue;
		const char *colon = strchr(h, ':');
		if (colon == NULL || !custom_header_name_ok(h, (size_t)(colon - h)))
			return dw_conf_error(ctx, key, "must be Name: value");
		struct custom_header *ch = &d->headers[d->nheaders];
		if ((ch->name = strndup(h, (size_t)(colon - h))) == NULL)
			return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
		d->nheaders++;
		if (strcasecmp(ch->name, "Content-Type") == 0 || strcasecmp(ch->name, "Host") == 0 ||
		    strcasecmp(ch->name, "Content-Length") == 0)
			return dw_conf_error(ctx, key, "%s is set by dnsward (use content-type =)",
			                     ch->name);
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		if ((rc = custom_tpl(ctx, key, v, &ch->value)) != 0)
			return rc;
		if ((rc = custom_secrets(d, ctx, key, &ch->value)) != 0)
			return rc;
		d->uses |= ch->value.uses;
	}

	if ((rc = custom_secrets(d, ctx, "url", &d->url)) != 0)
		return rc;
	d->uses |= d->url.uses;
	if (d->has_body) {
		if ((rc = custom_secrets(d, ctx, "body", &d->body)) != 0)
			return rc;
		d->uses |= d->body.uses;
	}
	/* A secret file nobody uses is a mistake worth saying. */
	for (size_t i = 0; i < ctx->sec->nkv; i++) {
		const struct dw_kv *kv = &ctx->sec->kv[i];
		size_t kl = strlen(kv->key);
		if (kl > 12 && strncmp(kv->key, "secret-", 7) == 0 &&
		    strcmp(kv->key + kl - 5, "-file") == 0 && !kv->used)
			return dw_conf_error(ctx, kv->key, "no template uses {secret:%.*s}", (int)(kl - 12),
			                     kv->key + 7);
	}

	uint32_t st;
	if ((rc = dw_conf_uint(ctx, "success-status", 100, 599, 200, &st)) != 0)
		return rc;
	d->rule.status = (long)st;
	if ((rc = dw_conf_strdup(ctx, "success-line", NULL, &d->rule.line)) != 0)
		return rc;
	const char *sj = dw_conf_get(ctx, "success-json");
	if (sj != NULL) {
		char err[200];
		if (d->rule.line != NULL)
			return dw_conf_error(ctx, "success-json", "give success-line or success-json, not both");
		rc = dw_custom_rule_json(sj, &d->rule, err, sizeof(err));
		if (rc == DW_ENOMEM)
			return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
		if (rc != 0)
			return dw_conf_error(ctx, "success-json", "%s", err);
	}

	/* A JSON body must stay JSON once expanded: try it with sample values. */
	if (d->has_body && d->body_ctx == DW_TPL_CTX_JSON) {
		struct dw_tpl_values vals = { .v = { "host.example.org", "192.0.2.1", "192.0.2.1",
		                                     "2001:db8::1", "300", "A" } };
		struct dw_tpl_secret sec[CUSTOM_SECRETS_MAX];
		custom_values(d, &vals, sec);
		char *buf = malloc(CUSTOM_BODY_MAX);
		if (buf == NULL)
			return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
		json_error_t jerr;
		rc = dw_tpl_expand(&d->body, DW_TPL_CTX_JSON, &vals, false, buf, CUSTOM_BODY_MAX);
		json_t *j = rc == 0 ? json_loads(buf, JSON_DECODE_ANY, &jerr) : NULL;
		explicit_bzero(buf, CUSTOM_BODY_MAX);
		free(buf);
		if (j == NULL)
			return dw_conf_error(ctx, "body", rc != 0 ? "too long once expanded"
			                                           : "not valid JSON once expanded");
		json_decref(j);
	}
	return 0;
}

/* ---- Update ---- */

/* One request; fam_v4/fam_v6 are the addresses sent (NULL when not). */
static void custom_send(struct dw_provider *p, const struct dw_record *r,
                        const struct dw_ip *v4, const struct dw_ip *v6, const struct dw_ip *one,
                        struct dw_result *res)
{
	struct dw_provider_data *d = p->data;
	char ip4[DW_IP_STRLEN] = "", ip6[DW_IP_STRLEN] = "", ttl[16];
	char url[CUSTOM_URL_MAX], log_url[CUSTOM_URL_MAX] = "";
	char hdr[CUSTOM_HEADERS_MAX][CUSTOM_HEADER_MAX];
	char ctype[160];
	char *body = NULL;
	struct dw_http_resp resp = { 0 };
	struct dw_diag diag = { { 0 } };
	struct dw_http_req req;

	if (v4 != NULL)
		dw_ip_format(v4, ip4);
	if (v6 != NULL)
		dw_ip_format(v6, ip6);
	enum dw_family fam = one != NULL ? one->family : (v4 != NULL ? DW_FAM_V4 : DW_FAM_V6);
	snprintf(ttl, sizeof(ttl), "%u", (unsigned)r->src[fam].ttl);
	struct dw_tpl_values vals = { .v = {
		[DW_TPL_FQDN] = r->fqdn,
		[DW_TPL_IP] = one != NULL ? (one->family == DW_FAM_V4 ? ip4 : ip6) : "",
		[DW_TPL_IPV4] = ip4,
		[DW_TPL_IPV6] = ip6,
		[DW_TPL_TTL] = ttl,
		[DW_TPL_TYPE] = one != NULL ? dw_family_rrtype(one->family) : "",
	} };
	struct dw_tpl_secret sec[CUSTOM_SECRETS_MAX];
	custom_values(d, &vals, sec);

	memset(&req, 0, sizeof(req));
	memset(hdr, 0, sizeof(hdr));
	int rc = dw_tpl_expand(&d->url, DW_TPL_CTX_URL, &vals, false, url, sizeof(url));
	if (rc == 0)
		rc = dw_tpl_expand(&d->url, DW_TPL_CTX_URL, &vals, true, log_url, sizeof(log_url));
	size_t h = 0;
	for (size_t i = 0; rc == 0 && i < d->nheaders; i++) {
		int n = snprintf(hdr[i], sizeof(hdr[i]), "%s: ", d->headers[i].name);
		if (n < 0 || (size_t)n >= sizeof(hdr[i])) {
			rc = DW_ETOOBIG;
			break;
		}
		rc = dw_tpl_expand(&d->headers[i].value, DW_TPL_CTX_RAW, &vals, false, hdr[i] + n,
		                   sizeof(hdr[i]) - (size_t)n);
		req.headers[h++] = hdr[i];
	}
	if (rc == 0 && d->has_body) {
		body = malloc(CUSTOM_BODY_MAX);
		rc = body == NULL ? DW_ENOMEM
		                  : dw_tpl_expand(&d->body, d->body_ctx, &vals, false, body,
		                                  CUSTOM_BODY_MAX);
		int n = snprintf(ctype, sizeof(ctype), "Content-Type: %s", d->content_type);
		if (rc == 0 && (n < 0 || (size_t)n >= sizeof(ctype)))
			rc = DW_ETOOBIG;
		req.headers[h++] = ctype;
	}
	if (rc != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1, "cannot build the request: %s", dw_strerror(rc));
		goto out;
	}
	req.method = d->method;
	req.url = url;
	req.log_url = log_url;
	req.ca_file = p->ca_file;
	req.timeout_ms = p->timeout_ms;
	if (body != NULL) {
		req.body = body;
		req.body_len = strlen(body);
	}
	rc = dw_http_request(&req, &resp, &diag);
	if (rc != 0) {
		dw_result_http_failure(res, p, "custom", rc, &resp, &diag);
		goto out;
	}
	dw_custom_classify(&d->rule, resp.status, resp.body, resp.len, resp.retry_after_s, res);
out:
	log_debug("custom %s %s: %s", d->method, log_url, dw_outcome_str(res->outcome));
	dw_http_resp_free(&resp);
	explicit_bzero(url, sizeof(url));
	explicit_bzero(hdr, sizeof(hdr));
	if (body != NULL) {
		explicit_bzero(body, CUSTOM_BODY_MAX);
		free(body);
	}
}

static void custom_update(struct dw_provider *p, const struct dw_record *r,
                          const struct dw_ip *addr, struct dw_result *res)
{
	if (p->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "custom provider not configured");
		return;
	}
	custom_send(p, r, addr->family == DW_FAM_V4 ? addr : NULL,
	            addr->family == DW_FAM_V6 ? addr : NULL, addr, res);
}

/* Both families in one request when the templates name them apart ({ipv4},
 * {ipv6}) and never per family ({ip}, {type}); else one request each. */
static void custom_update_multi(struct dw_provider *p, const struct dw_record *r,
                                const struct dw_ip *const addr[DW_FAM_COUNT],
                                struct dw_result res[DW_FAM_COUNT])
{
	struct dw_provider_data *d = p->data;
	unsigned per_family = (1u << DW_TPL_IP) | (1u << DW_TPL_TYPE);
	if (d != NULL && (d->uses & per_family) == 0) {
		custom_send(p, r, addr[DW_FAM_V4], addr[DW_FAM_V6], NULL, &res[DW_FAM_V4]);
		res[DW_FAM_V6] = res[DW_FAM_V4];
		return;
	}
	for (int f = 0; f < DW_FAM_COUNT; f++)
		custom_update(p, r, addr[f], &res[f]);
}

static void custom_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	free(d->method);
	dw_tpl_free(&d->url);
	dw_tpl_free(&d->body);
	free(d->content_type);
	for (size_t i = 0; i < d->nheaders; i++) {
		free(d->headers[i].name);
		dw_tpl_free(&d->headers[i].value);
	}
	dw_custom_rule_free(&d->rule);
	for (size_t i = 0; i < d->nsecrets; i++) {
		free(d->secret_names[i]);
		dw_secret_clear(&d->secrets[i]);
	}
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_custom = {
	.type = "custom",
	.summary = "any HTTP API, described by URL, header and body templates",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TTL,   /* through {ttl} */
	.configure = custom_configure,
	.update = custom_update,
	.update_multi = custom_update_multi,
	.free = custom_free,
};
