/* The imported configuration: sections, secrets, notes, and its rendering
 * as dnsward.conf text (see model.h). */
#include "migrate/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

void mg_conf_init(struct mg_conf *c, const char *file, const char *client)
{
	memset(c, 0, sizeof(*c));
	c->file = file;
	c->client = client;
}

static void kv_free(struct mg_kv *kv)
{
	if (kv->value != NULL && kv->secret)
		explicit_bzero(kv->value, strlen(kv->value));
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static void section_free(struct mg_section *s)
{
	for (size_t i = 0; i < s->nkv; i++)
		kv_free(&s->kv[i]);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

void mg_conf_free(struct mg_conf *c)
{
	if (c == NULL)
		return;
	section_free(&c->globals);
	for (size_t i = 0; i < c->nproviders; i++)
		section_free(&c->providers[i]);
	for (size_t i = 0; i < c->nrecords; i++)
		section_free(&c->records[i]);
	for (size_t i = 0; i < c->nnotes; i++)
		free(c->notes[i]);
	c->nproviders = c->nrecords = c->nnotes = 0;
}

int mg_note(struct mg_conf *c, int line, const char *fmt, ...)
{
	if (c->nnotes == MG_MAX_NOTES) {
		c->dropped_notes++;
		return DW_OK;
	}
	char text[768];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return DW_EINVAL;
	if ((size_t)n >= sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);   /* a long quoted value, cut */
	char *out = NULL;
	int m = line > 0 ? asprintf(&out, "%s:%d: %s", c->file, line, text)
	                 : asprintf(&out, "%s: %s", c->file, text);
	if (m < 0)
		return DW_ENOMEM;
	/* Quoted input may hold control characters (an inadyn "\n"): a note
	 * stays one printable line, in a terminal and as a comment. */
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	c->notes[c->nnotes++] = out;
	return DW_OK;
}

int mg_set(struct mg_section *sec, const char *key, const char *value, bool secret)
{
	if (strlen(value) > MG_MAX_VALUE)
		return DW_ETOOBIG;
	char *v = strdup(value);
	if (v == NULL)
		return DW_ENOMEM;
	for (size_t i = 0; i < sec->nkv; i++) {
		if (strcmp(sec->kv[i].key, key) == 0) {
			if (sec->kv[i].secret)
				explicit_bzero(sec->kv[i].value, strlen(sec->kv[i].value));
			free(sec->kv[i].value);
			sec->kv[i].value = v;
			sec->kv[i].secret = secret;
			return DW_OK;
		}
	}
	if (sec->nkv == MG_MAX_KV) {
		if (secret)
			explicit_bzero(v, strlen(v));
		free(v);
		return DW_ETOOBIG;
	}
	char *k = strdup(key);
	if (k == NULL) {
		free(v);
		return DW_ENOMEM;
	}
	sec->kv[sec->nkv++] = (struct mg_kv){ k, v, secret };
	return DW_OK;
}

const char *mg_get(const struct mg_section *sec, const char *key)
{
	for (size_t i = 0; i < sec->nkv; i++)
		if (strcmp(sec->kv[i].key, key) == 0)
			return sec->kv[i].value;
	return NULL;
}

/* Same keys with the same values and secrecy, in any order. */
static bool same_keys(const struct mg_section *a, const struct mg_section *b)
{
	if (a->nkv != b->nkv)
		return false;
	for (size_t i = 0; i < a->nkv; i++) {
		const char *v = mg_get(b, a->kv[i].key);
		if (v == NULL || strcmp(v, a->kv[i].value) != 0)
			return false;
	}
	return true;
}

static bool provider_named(const struct mg_conf *c, const char *name)
{
	for (size_t i = 0; i < c->nproviders; i++)
		if (strcmp(c->providers[i].name, name) == 0)
			return true;
	return false;
}

int mg_provider_add(struct mg_conf *c, const char *base, struct mg_section *cand,
                    const char **name_out)
{
	for (size_t i = 0; i < c->nproviders; i++) {
		if (same_keys(&c->providers[i], cand)) {
			section_free(cand);
			*name_out = c->providers[i].name;
			return DW_OK;
		}
	}
	if (c->nproviders == MG_MAX_PROVIDERS) {
		section_free(cand);
		return DW_ETOOBIG;
	}
	char name[96];
	int n = snprintf(name, sizeof(name), "%s", base);
	for (unsigned k = 2; n > 0 && (size_t)n < sizeof(name) && provider_named(c, name); k++)
		n = snprintf(name, sizeof(name), "%s-%u", base, k);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		section_free(cand);
		return DW_ETOOBIG;
	}
	struct mg_section *p = &c->providers[c->nproviders];
	*p = *cand;
	memset(cand, 0, sizeof(*cand));
	free(p->name);
	if ((p->name = strdup(name)) == NULL) {
		section_free(p);
		return DW_ENOMEM;
	}
	c->nproviders++;
	*name_out = p->name;
	return DW_OK;
}

struct mg_section *mg_record(struct mg_conf *c, const char *fqdn, int line, bool *created)
{
	*created = false;
	for (size_t i = 0; i < c->nrecords; i++)
		if (strcmp(c->records[i].name, fqdn) == 0)
			return &c->records[i];
	if (c->nrecords == MG_MAX_RECORDS)
		return NULL;
	struct mg_section *r = &c->records[c->nrecords];
	memset(r, 0, sizeof(*r));
	if ((r->name = strdup(fqdn)) == NULL)
		return NULL;
	r->line = line;
	c->nrecords++;
	*created = true;
	return r;
}

int mg_secret_filename(const struct mg_section *sec, const struct mg_kv *kv,
                       char *buf, size_t size)
{
	size_t klen = strlen(kv->key);
	if (klen > 5 && strcmp(kv->key + klen - 5, "-file") == 0)
		klen -= 5;
	int n = snprintf(buf, size, "%s.%.*s", sec->name, (int)klen, kv->key);
	if (n < 0 || (size_t)n >= size)
		return DW_ETOOBIG;
	for (char *p = buf; *p != '\0'; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && p != buf);
		if (!ok)
			*p = '_';
	}
	return DW_OK;
}

bool mg_value_ok(const char *v)
{
	size_t n = strlen(v);
	if (n > 0 && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch < 0x20 || ch == 0x7f)
			return false;
		if (ch == ';' && i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t'))
			return false;
	}
	return true;
}

/* A growable text with a hard limit (the output of a few hundred sections). */
struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	if (t->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->buf == NULL ? NULL : t->buf + t->len,
		                  t->buf == NULL ? 0 : t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->buf != NULL && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap == 0 ? 4096 : t->cap;
		while (cap - t->len <= (size_t)n)
			cap *= 2;
		if (cap > (size_t)16 << 20) {   /* far beyond any real configuration */
			t->failed = true;
			return;
		}
		char *nb = realloc(t->buf, cap);
		if (nb == NULL) {
			t->failed = true;
			return;
		}
		t->buf = nb;
		t->cap = cap;
	}
}

/* A note as comment lines of at most about 100 columns, broken at spaces
 * (short lines also keep clear of INI readers' line limits). */
static void add_comment(struct text *t, const char *note, const char *lead, const char *next_lead)
{
	const char *p = note;
	while (*p != '\0') {
		size_t len = strlen(p), cut = len;
		if (len > 96) {
			cut = 96;
			while (cut > 40 && p[cut] != ' ')
				cut--;
			if (p[cut] != ' ')
				cut = 96;
		}
		text_add(t, "%s%.*s\n", lead, (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		lead = next_lead;
	}
}

static bool render_section(struct text *t, const char *header, const struct mg_section *s,
                           const char *secret_dir, const char **bad)
{
	text_add(t, "\n%s\n", header);
	for (size_t i = 0; i < s->nkv; i++) {
		const struct mg_kv *kv = &s->kv[i];
		if (kv->secret) {
			char fname[256];
			if (mg_secret_filename(s, kv, fname, sizeof(fname)) != DW_OK) {
				*bad = kv->key;
				return false;
			}
			text_add(t, "%s = %s/%s\n", kv->key, secret_dir, fname);
			continue;
		}
		if (!mg_value_ok(kv->value)) {
			*bad = kv->key;
			return false;
		}
		text_add(t, "%s = %s\n", kv->key, kv->value);
	}
	return true;
}

char *mg_render(const struct mg_conf *c, const char *secret_dir, const char **bad)
{
	struct text t = { 0 };
	*bad = NULL;
	char *head = NULL;
	if (asprintf(&head, "dnsward.conf imported from %s configuration %s by \"dnsward import\". "
	             "Secrets are in files of their own under %s (mode 0600).", c->client, c->file,
	             secret_dir) < 0)
		return NULL;
	for (char *p = head; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';   /* a file name with a line break stays a comment */
	add_comment(&t, head, "; ", "; ");
	free(head);
	if (c->nnotes > 0) {
		text_add(&t, ";\n; Not translated (check each before using this file):\n");
		for (size_t i = 0; i < c->nnotes; i++)
			add_comment(&t, c->notes[i], ";   ", ";     ");
		if (c->dropped_notes > 0)
			text_add(&t, ";   ... and %zu more\n", c->dropped_notes);
	}
	if (c->globals.nkv > 0 && !render_section(&t, "[dnsward]", &c->globals, secret_dir, bad))
		goto fail;
	for (size_t i = 0; i < c->nproviders; i++) {
		char h[160];
		snprintf(h, sizeof(h), "[provider %s]", c->providers[i].name);
		if (!render_section(&t, h, &c->providers[i], secret_dir, bad))
			goto fail;
	}
	for (size_t i = 0; i < c->nrecords; i++) {
		char h[320];
		int n = snprintf(h, sizeof(h), "[record %s]", c->records[i].name);
		if (n < 0 || (size_t)n >= sizeof(h) || !mg_value_ok(c->records[i].name)) {
			*bad = "record";
			goto fail;
		}
		if (!render_section(&t, h, &c->records[i], secret_dir, bad))
			goto fail;
	}
	if (t.failed)
		goto fail;
	return t.buf;
fail:
	free(t.buf);
	return NULL;
}
