/* The parts of dns.h and dnsauth.h that configuration needs, with neither
 * a DNS library nor a crypto library: RCODE and TSIG algorithm names, TSIG
 * key files (BIND, keymgr) read into sodium memory, names in zones, server
 * addresses and lists, resolv.conf.  Linked into every program; the wire
 * exchanges are in dns.c and dnsauth.c (the network library). */
#include "lib/dns.h"
#include "lib/dnsauth.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ names */

const char *dw_rcode_str(int rcode, char buf[16])
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	};
	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	switch (rcode) {
	case DW_TSIG_BADSIG: return "BADSIG";
	case DW_TSIG_BADKEY: return "BADKEY";
	case DW_TSIG_BADTIME: return "BADTIME";
	case DW_TSIG_BADTRUNC: return "BADTRUNC";
	default: break;
	}
	snprintf(buf, 16, "RCODE%u", (unsigned)rcode & 0xfffu);
	return buf;
}

static const char *const alg_names[DW_TSIG_ALG_COUNT] = {
	[DW_TSIG_HMAC_SHA256] = "hmac-sha256",
	[DW_TSIG_HMAC_SHA384] = "hmac-sha384",
	[DW_TSIG_HMAC_SHA512] = "hmac-sha512",
	[DW_TSIG_HMAC_SHA224] = "hmac-sha224",
	[DW_TSIG_HMAC_SHA1]   = "hmac-sha1",
};

const char *dw_tsig_alg_name(enum dw_tsig_alg alg)
{
	if ((unsigned)alg >= DW_TSIG_ALG_COUNT)
		return "unknown";
	return alg_names[alg];
}

int dw_tsig_alg_parse(const char *name, enum dw_tsig_alg *out)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	for (int i = 0; i < DW_TSIG_ALG_COUNT; i++) {
		if (strlen(alg_names[i]) == n && strncasecmp(name, alg_names[i], n) == 0) {
			*out = (enum dw_tsig_alg)i;
			return DW_OK;
		}
	}
	if ((n == 8 && strncasecmp(name, "hmac-md5", 8) == 0) ||
	    (n == 24 && strncasecmp(name, "hmac-md5.sig-alg.reg.int", 24) == 0))
		return DW_EUNSUPP;
	return DW_EINVAL;
}

bool dw_dns_name_in_zone(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);
	if (zl == 0)
		return true;
	if (nl < zl || strcmp(name + nl - zl, zone) != 0)
		return false;
	return nl == zl || name[nl - zl - 1] == '.';
}

/* -------------------------------------------------------------- key files */

#define KP_MAX_KEYS 64

struct kp_val {
	const char *s;     /* points into the input; NULL when absent */
	size_t len;
	int line;
};

struct kp_key {
	struct kp_val name, alg, secret;
	int line;
};

struct kp {
	const char *p, *end;
	int line;
	const char *file;
	struct dw_diag *diag;
	struct kp_key keys[KP_MAX_KEYS];
	size_t n;
};

static int kp_err(struct kp *k, int err, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int kp_err(struct kp *k, int err, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	if (line > 0)
		return dw_diag_set(k->diag, err, "%s:%d: %s", k->file, line, msg);
	return dw_diag_set(k->diag, err, "%s: %s", k->file, msg);
}

/* Text of a value safe to show: names and keywords only, never a secret.
 * Returns "" for anything that does not look like a name. */
static const char *kp_show(const struct kp_val *v, char buf[72])
{
	if (v->s == NULL || v->len == 0 || v->len > 64)
		return "";
	for (size_t i = 0; i < v->len; i++) {
		char c = v->s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return "";
	}
	memcpy(buf, v->s, v->len);
	buf[v->len] = '\0';
	return buf;
}

static bool kp_is(const struct kp_val *v, const char *word)
{
	size_t n = strlen(word);
	return v->s != NULL && v->len == n && strncasecmp(v->s, word, n) == 0;
}

static int kp_add(struct kp *k, int line)
{
	if (k->n == KP_MAX_KEYS)
		return kp_err(k, DW_ETOOBIG, line, "more than %d keys", KP_MAX_KEYS);
	memset(&k->keys[k->n], 0, sizeof(k->keys[0]));
	k->keys[k->n].line = line;
	k->n++;
	return DW_OK;
}

/* ---- BIND named.conf "key" clauses */

enum btok { BT_EOF, BT_WORD, BT_STR, BT_LBRACE, BT_RBRACE, BT_SEMI };

static int bind_next(struct kp *k, enum btok *t, struct kp_val *v)
{
	v->s = NULL;
	v->len = 0;
	for (;;) {
		if (k->p >= k->end) {
			*t = BT_EOF;
			v->line = k->line;
			return DW_OK;
		}
		char c = *k->p;
		if (c == '\n') {
			k->line++;
			k->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			k->p++;
		} else if (c == '#' || (c == '/' && k->p + 1 < k->end && k->p[1] == '/')) {
			while (k->p < k->end && *k->p != '\n')
				k->p++;
		} else if (c == '/' && k->p + 1 < k->end && k->p[1] == '*') {
			int start = k->line;
			k->p += 2;
			for (;;) {
				if (k->p + 1 >= k->end)
					return kp_err(k, DW_EPARSE, start, "unterminated /* comment");
				if (k->p[0] == '*' && k->p[1] == '/') {
					k->p += 2;
					break;
				}
				if (*k->p == '\n')
					k->line++;
				k->p++;
			}
		} else {
			break;
		}
	}
	v->line = k->line;
	char c = *k->p;
	if (c == '{' || c == '}' || c == ';') {
		*t = c == '{' ? BT_LBRACE : c == '}' ? BT_RBRACE : BT_SEMI;
		v->s = k->p++;
		v->len = 1;
		return DW_OK;
	}
	if (c == '"') {
		const char *s = ++k->p;
		while (k->p < k->end && *k->p != '"') {
			if (*k->p == '\n' || *k->p == '\0')
				return kp_err(k, DW_EPARSE, v->line, "unterminated quoted string");
			k->p++;
		}
		if (k->p >= k->end)
			return kp_err(k, DW_EPARSE, v->line, "unterminated quoted string");
		v->s = s;
		v->len = (size_t)(k->p - s);
		k->p++;
		*t = BT_STR;
		return DW_OK;
	}
	const char *s = k->p;
	while (k->p < k->end) {
		unsigned char u = (unsigned char)*k->p;
		if (u <= ' ' || u == 0x7f || u == '{' || u == '}' || u == ';' || u == '"' || u == '#')
			break;
		if (u == '/' && k->p + 1 < k->end && (k->p[1] == '/' || k->p[1] == '*'))
			break;
		k->p++;
	}
	if (k->p == s)
		return kp_err(k, DW_EPARSE, v->line, "unexpected control character");
	v->s = s;
	v->len = (size_t)(k->p - s);
	*t = BT_WORD;
	return DW_OK;
}

static int bind_expect(struct kp *k, enum btok want, const char *what)
{
	enum btok t;
	struct kp_val v;
	int ret = bind_next(k, &t, &v);
	if (ret != DW_OK)
		return ret;
	if (t != want)
		return kp_err(k, DW_EPARSE, v.line, "expected %s", what);
	return DW_OK;
}

static int parse_bind(struct kp *k)
{
	for (;;) {
		enum btok t;
		struct kp_val v;
		int ret = bind_next(k, &t, &v);
		if (ret != DW_OK)
			return ret;
		if (t == BT_EOF)
			return DW_OK;
		if (t != BT_WORD || !kp_is(&v, "key"))
			return kp_err(k, DW_EPARSE, v.line,
			              "expected a key clause: key \"NAME\" { algorithm ...; secret \"...\"; };");
		if ((ret = kp_add(k, v.line)) != DW_OK)
			return ret;
		struct kp_key *key = &k->keys[k->n - 1];
		if ((ret = bind_next(k, &t, &key->name)) != DW_OK)
			return ret;
		if (t != BT_WORD && t != BT_STR)
			return kp_err(k, DW_EPARSE, key->name.line, "expected the key name after 'key'");
		if ((ret = bind_expect(k, BT_LBRACE, "'{' after the key name")) != DW_OK)
			return ret;
		for (;;) {
			struct kp_val kw;
			if ((ret = bind_next(k, &t, &kw)) != DW_OK)
				return ret;
			if (t == BT_RBRACE)
				break;
			if (t == BT_EOF)
				return kp_err(k, DW_EPARSE, key->line, "key clause is not closed with '};'");
			char show[72];
			struct kp_val *slot = NULL;
			if (t == BT_WORD && kp_is(&kw, "algorithm"))
				slot = &key->alg;
			else if (t == BT_WORD && kp_is(&kw, "secret"))
				slot = &key->secret;
			if (slot == NULL)
				return kp_err(k, DW_EPARSE, kw.line,
				              "unknown statement '%s' in key clause (expected algorithm or secret)",
				              t == BT_WORD ? kp_show(&kw, show) : "");
			if (slot->s != NULL)
				return kp_err(k, DW_EPARSE, kw.line, "'%s' given twice",
				              slot == &key->alg ? "algorithm" : "secret");
			if ((ret = bind_next(k, &t, slot)) != DW_OK)
				return ret;
			if (t != BT_WORD && t != BT_STR)
				return kp_err(k, DW_EPARSE, kw.line, "'%s' needs a value",
				              slot == &key->alg ? "algorithm" : "secret");
			if ((ret = bind_expect(k, BT_SEMI, "';' after the value")) != DW_OK)
				return ret;
		}
		if ((ret = bind_expect(k, BT_SEMI, "';' after '}'")) != DW_OK)
			return ret;
	}
}

/* ---- Knot "key:" YAML section (keymgr -t output) */

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

static int parse_knot(struct kp *k)
{
	bool in_section = false;
	while (k->p < k->end) {
		const char *ls = k->p;
		const char *le = memchr(ls, '\n', (size_t)(k->end - ls));
		if (le == NULL)
			le = k->end;
		k->p = le < k->end ? le + 1 : le;
		int line = k->line++;
		if (memchr(ls, '\0', (size_t)(le - ls)) != NULL)
			return kp_err(k, DW_EPARSE, line, "NUL byte");
		/* cut a comment: '#' at the start or after a blank, outside quotes */
		char quote = 0;
		for (const char *q = ls; q < le; q++) {
			if (quote != 0) {
				if (*q == quote)
					quote = 0;
			} else if (*q == '"' || *q == '\'') {
				quote = *q;
			} else if (*q == '#' && (q == ls || q[-1] == ' ' || q[-1] == '\t')) {
				le = q;
				break;
			}
		}
		size_t indent = 0;
		while (ls + indent < le && ls[indent] == ' ')
			indent++;
		const char *s = ls + indent, *e = le;
		trim(&s, &e);
		if (s == e)
			continue;
		if (*s == '\t' || (ls + indent < le && ls[indent] == '\t'))
			return kp_err(k, DW_EPARSE, line, "tab in indentation (YAML needs spaces)");
		if (indent == 0) {
			if ((size_t)(e - s) == 4 && memcmp(s, "key:", 4) == 0) {
				in_section = true;
				continue;
			}
			return kp_err(k, DW_EPARSE, line, "expected 'key:' (only a key section is allowed)");
		}
		if (!in_section)
			return kp_err(k, DW_EPARSE, line, "indented line outside a 'key:' section");
		if (*s == '-') {
			int ret = kp_add(k, line);
			if (ret != DW_OK)
				return ret;
			s++;
			trim(&s, &e);
			if (s == e)
				continue;
		} else if (k->n == 0) {
			return kp_err(k, DW_EPARSE, line, "expected '- id: NAME'");
		}
		const char *colon = memchr(s, ':', (size_t)(e - s));
		if (colon == NULL)
			return kp_err(k, DW_EPARSE, line, "expected 'FIELD: VALUE'");
		struct kp_val field = { s, (size_t)(colon - s), line };
		const char *vs = colon + 1, *ve = e;
		trim(&vs, &ve);
		if (ve - vs >= 2 && (*vs == '"' || *vs == '\'') && ve[-1] == *vs) {
			vs++;
			ve--;
		}
		struct kp_key *key = &k->keys[k->n - 1];
		struct kp_val *slot = NULL;
		if (kp_is(&field, "id"))
			slot = &key->name;
		else if (kp_is(&field, "algorithm"))
			slot = &key->alg;
		else if (kp_is(&field, "secret"))
			slot = &key->secret;
		char show[72];
		if (slot == NULL)
			return kp_err(k, DW_EPARSE, line,
			              "unknown field '%s' (expected id, algorithm or secret)",
			              kp_show(&field, show));
		if (slot->s != NULL)
			return kp_err(k, DW_EPARSE, line, "'%s' given twice", kp_show(&field, show));
		if (vs == ve)
			return kp_err(k, DW_EPARSE, line, "'%s' needs a value", kp_show(&field, show));
		slot->s = vs;
		slot->len = (size_t)(ve - vs);
		slot->line = line;
	}
	return DW_OK;
}

/* Normalised key name of v into out; DW_EPARSE when it is not a domain name. */
static int key_name_norm(const struct kp_val *v, char out[DW_DNS_NAME_MAX])
{
	size_t n = v->len;
	if (n > 0 && v->s[n - 1] == '.')
		n--;
	if (n == 0 || n >= DW_DNS_NAME_MAX - 2)
		return DW_EPARSE;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = v->s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return DW_EPARSE;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return DW_EPARSE;
		} else {
			return DW_EPARSE;
		}
		out[i] = c;
	}
	if (label == 0)
		return DW_EPARSE;
	out[n] = '\0';
	return DW_OK;
}

int dw_tsig_key_parse(const char *text, size_t len, const char *file,
                      const char *want, struct dw_tsig_key *out,
                      struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	if (sodium_init() < 0)
		return dw_diag_set(diag, DW_ENOMEM, "libsodium failed to initialise");
	struct kp *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	k->p = text;
	k->end = text + len;
	k->line = 1;
	k->file = file != NULL ? file : "<key>";
	k->diag = diag;
	int ret;
	char *secret = NULL;

	/* The first word decides the format: "key:" is Knot's YAML. */
	const char *q = text;
	for (;;) {
		while (q < k->end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
			q++;
		if (q < k->end && *q == '#') {
			while (q < k->end && *q != '\n')
				q++;
			continue;
		}
		break;
	}
	if (k->end - q >= 4 && memcmp(q, "key:", 4) == 0)
		ret = parse_knot(k);
	else
		ret = parse_bind(k);
	if (ret != DW_OK)
		goto out;

	if (k->n == 0) {
		ret = kp_err(k, DW_EPARSE, 0,
		             "no TSIG key found (expected a BIND key clause or keymgr output)");
		goto out;
	}
	for (size_t i = 0; i < k->n; i++) {
		if (k->keys[i].name.s == NULL) {
			ret = kp_err(k, DW_EPARSE, k->keys[i].line, "key has no id");
			goto out;
		}
	}
	char wantn[DW_DNS_NAME_MAX] = "";
	if (want != NULL) {
		struct kp_val wv = { want, strlen(want), 0 };
		if (key_name_norm(&wv, wantn) != DW_OK) {
			ret = dw_diag_set(diag, DW_EINVAL, "invalid key name '%s'", want);
			goto out;
		}
	}
	struct kp_key *sel = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < k->n; i++) {
		char nm[DW_DNS_NAME_MAX];
		if (key_name_norm(&k->keys[i].name, nm) != DW_OK) {
			char show[72];
			ret = kp_err(k, DW_EPARSE, k->keys[i].name.line, "invalid key name '%s'",
			             kp_show(&k->keys[i].name, show));
			goto out;
		}
		if (want == NULL || strcmp(nm, wantn) == 0) {
			if (sel == NULL)
				sel = &k->keys[i];
			matches++;
		}
	}
	if (matches != 1) {
		char list[256] = "";
		size_t used = 0;
		for (size_t i = 0; i < k->n; i++) {
			char show[72];
			const char *parts[] = { i ? ", '" : "'", kp_show(&k->keys[i].name, show), "'" };
			for (size_t j = 0; j < 3; j++) {
				size_t pl = strlen(parts[j]);
				if (used + pl >= sizeof(list))
					pl = sizeof(list) - 1 - used;
				memcpy(list + used, parts[j], pl);
				used += pl;
			}
			list[used] = '\0';
		}
		if (want != NULL && matches == 0)
			ret = kp_err(k, DW_ENOTFOUND, 0, "no key named '%s' (found %s)", wantn, list);
		else if (want != NULL)
			ret = kp_err(k, DW_EPARSE, 0, "key '%s' is defined %zu times", wantn, matches);
		else
			ret = kp_err(k, DW_ENOTFOUND, 0,
			             "holds %zu keys (%s): set key-name to choose one", matches, list);
		goto out;
	}

	if (key_name_norm(&sel->name, out->name) != DW_OK) {
		ret = kp_err(k, DW_EPARSE, sel->name.line, "invalid key name");
		goto out;
	}
	enum dw_tsig_alg alg = DW_TSIG_HMAC_SHA256;
	if (sel->alg.s != NULL) {
		char an[64];
		char show[72];
		if (sel->alg.len >= sizeof(an)) {
			ret = kp_err(k, DW_EUNSUPP, sel->alg.line, "unknown TSIG algorithm");
			goto out;
		}
		memcpy(an, sel->alg.s, sel->alg.len);
		an[sel->alg.len] = '\0';
		int r = dw_tsig_alg_parse(an, &alg);
		if (r == DW_EUNSUPP) {
			ret = kp_err(k, DW_EUNSUPP, sel->alg.line,
			             "key '%s' uses hmac-md5, which is broken and refused; create a "
			             "new key with \"keymgr -t %s hmac-sha256\" (Knot) or "
			             "\"tsig-keygen -a hmac-sha256 %s\" (BIND)",
			             out->name, out->name, out->name);
			goto out;
		}
		if (r != DW_OK) {
			ret = kp_err(k, DW_EUNSUPP, sel->alg.line,
			             "unknown TSIG algorithm '%s' (use hmac-sha256, hmac-sha384, "
			             "hmac-sha512, hmac-sha224 or hmac-sha1)", kp_show(&sel->alg, show));
			goto out;
		}
	}
	if (snprintf(out->algorithm, sizeof(out->algorithm), "%s", dw_tsig_alg_name(alg))
	    >= (int)sizeof(out->algorithm)) {
		ret = kp_err(k, DW_EINVAL, 0, "algorithm name too long");
		goto out;
	}
	if (sel->secret.s == NULL) {
		ret = kp_err(k, DW_EPARSE, sel->line, "key '%s' has no secret", out->name);
		goto out;
	}
	/* Keep the base64 text without blanks (BIND tolerates them inside the
	 * quotes), then check it decodes. */
	secret = sodium_malloc(sel->secret.len + 1);
	uint8_t *bin = sodium_malloc(sel->secret.len + 1);
	if (secret == NULL || bin == NULL) {
		if (bin != NULL)
			sodium_free(bin);
		ret = kp_err(k, DW_ENOMEM, 0, "out of memory");
		goto out;
	}
	size_t slen = 0;
	for (size_t i = 0; i < sel->secret.len; i++) {
		char c = sel->secret.s[i];
		if (c != ' ' && c != '\t')
			secret[slen++] = c;
	}
	secret[slen] = '\0';
	size_t binlen = 0;
	const char *b64end = NULL;
	int dec = sodium_base642bin(bin, sel->secret.len + 1, secret, slen, NULL, &binlen,
	                            &b64end, sodium_base64_VARIANT_ORIGINAL);
	sodium_free(bin);
	if (slen == 0 || dec != 0 || b64end != secret + slen || binlen == 0) {
		ret = kp_err(k, DW_EPARSE, sel->secret.line,
		             "secret of key '%s' is not valid base64", out->name);
		goto out;
	}
	out->secret.data = secret;
	out->secret.len = slen;
	secret = NULL;
	ret = DW_OK;
out:
	if (secret != NULL)
		sodium_free(secret);
	if (ret != DW_OK) {
		memset(out, 0, sizeof(*out));
	}
	sodium_memzero(k, sizeof(*k));
	free(k);
	return ret;
}

int dw_tsig_key_load(const char *path, const char *want, struct dw_tsig_key *out,
                     struct dw_diag *diag)
{
	struct dw_secret file = { 0 };
	memset(out, 0, sizeof(*out));
	int ret = dw_secret_load(path, DW_SECRET_FILE, &file, diag);
	if (ret != DW_OK)
		return ret;
	ret = dw_tsig_key_parse(file.data, file.len, path, want, out, diag);
	dw_secret_clear(&file);
	if (ret != DW_OK)
		return ret;
	ret = dw_log_add_secret(out->secret.data, out->secret.len);
	if (ret != DW_OK) {
		dw_tsig_key_clear(out);
		return dw_diag_set(diag, ret, "too many secrets to track for redaction (%s)", path);
	}
	if (strcmp(out->algorithm, "hmac-sha1") == 0)
		log_warning("%s: key '%s' uses hmac-sha1, a legacy algorithm; "
		            "prefer hmac-sha256", path, out->name);
	return DW_OK;
}

void dw_tsig_key_clear(struct dw_tsig_key *k)
{
	dw_secret_clear(&k->secret);
	memset(k, 0, sizeof(*k));
}

/* -------------------------------------------------------------- servers */

int dw_dns_server_set(struct dw_dns_server *srv, const char *ip, uint16_t port,
                      long timeout_ms, struct dw_diag *diag)
{
	memset(srv, 0, sizeof(*srv));
	struct sockaddr_in *a4 = (struct sockaddr_in *)&srv->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&srv->addr;
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		srv->addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		srv->addrlen = sizeof(*a6);
	} else {
		return dw_diag_set(diag, DW_EINVAL, "'%s' is not an IPv4 or IPv6 address", ip);
	}
	if (port == 0)
		return dw_diag_set(diag, DW_EINVAL, "port 0 is not valid");
	int n = snprintf(srv->text, sizeof(srv->text), "%s port %u", ip, (unsigned)port);
	if (n < 0 || (size_t)n >= sizeof(srv->text))
		return dw_diag_set(diag, DW_EINVAL, "server address too long");
	srv->timeout_ms = timeout_ms > 0 ? timeout_ms : 20000;
	return DW_OK;
}

/* ------------------------------------------------------------ server lists */

int dw_dnsauth_server_parse(const char *text, uint16_t default_port, long timeout_ms,
                            struct dw_dns_server *srv, struct dw_diag *diag)
{
	char ip[64];
	const char *port_s = NULL;
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof(ip) + 8)
		return dw_diag_set(diag, DW_EINVAL, "'%.64s' is not IP, IP:PORT or [IPv6]:PORT", text);
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || (size_t)(close - text - 1) >= sizeof(ip) ||
		    (close[1] != '\0' && close[1] != ':'))
			return dw_diag_set(diag, DW_EINVAL, "'%s' is not [IPv6]:PORT", text);
		memcpy(ip, text + 1, (size_t)(close - text - 1));
		ip[close - text - 1] = '\0';
		if (close[1] == ':')
			port_s = close + 2;
	} else {
		const char *colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {   /* IPv4:PORT */
			if ((size_t)(colon - text) >= sizeof(ip))
				return dw_diag_set(diag, DW_EINVAL, "'%s' is too long", text);
			memcpy(ip, text, (size_t)(colon - text));
			ip[colon - text] = '\0';
			port_s = colon + 1;
		} else {                                                 /* IPv4 or bare IPv6 */
			if (len >= sizeof(ip))
				return dw_diag_set(diag, DW_EINVAL, "'%s' is too long", text);
			memcpy(ip, text, len + 1);
		}
	}
	unsigned long port = default_port;
	if (port_s != NULL) {
		char *end = NULL;
		if (!isdigit((unsigned char)port_s[0]))
			return dw_diag_set(diag, DW_EINVAL, "'%s': bad port", text);
		port = strtoul(port_s, &end, 10);
		if (*end != '\0' || port == 0 || port > 65535)
			return dw_diag_set(diag, DW_EINVAL, "'%s': bad port", text);
	}
	struct dw_diag d;
	if (dw_dns_server_set(srv, ip, (uint16_t)port, timeout_ms, &d) != DW_OK)
		return dw_diag_set(diag, DW_EINVAL, "'%s': %s", text, d.msg);
	return DW_OK;
}

int dw_dnsauth_list_parse(const char *text, uint16_t default_port, long timeout_ms,
                          struct dw_dns_server *out, size_t cap, size_t *n,
                          struct dw_diag *diag)
{
	*n = 0;
	const char *p = text;
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t len = strcspn(p, ", \t");
		char item[96];
		if (len >= sizeof(item))
			return dw_diag_set(diag, DW_EINVAL, "'%.40s...' is too long", p);
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		if (*n == cap)
			return dw_diag_set(diag, DW_EINVAL, "more than %zu servers", cap);
		int ret = dw_dnsauth_server_parse(item, default_port, timeout_ms, &out[*n], diag);
		if (ret != DW_OK)
			return ret;
		(*n)++;
	}
	if (*n == 0)
		return dw_diag_set(diag, DW_EINVAL, "empty: list one or more server addresses");
	return DW_OK;
}

size_t dw_dnsauth_resolv_conf(const char *text, size_t len, long timeout_ms,
                              struct dw_dns_server *out, size_t cap)
{
	size_t n = 0, pos = 0;
	while (pos < len && n < cap) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += ll + 1;
		char buf[128];
		if (ll >= sizeof(buf))
			continue;
		memcpy(buf, line, ll);
		buf[ll] = '\0';
		char *s = buf;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, "nameserver", 10) != 0 || (s[10] != ' ' && s[10] != '\t'))
			continue;
		s += 10;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t al = strcspn(s, " \t\r#;%");
		if (s[al] == '%')
			continue;   /* scoped link-local: not for us */
		s[al] = '\0';
		struct dw_diag d;
		if (dw_dns_server_set(&out[n], s, 53, timeout_ms, &d) == DW_OK)
			n++;
	}
	return n;
}

int dw_dnsauth_setup(const char *nameservers, const char *resolvers, long timeout_ms,
                     struct dw_dnsauth_setup *out, struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	out->cfg.fixed = out->fixed;
	out->cfg.resolvers = out->resolvers;
	if (nameservers != NULL &&
	    dw_dnsauth_list_parse(nameservers, 53, timeout_ms, out->fixed, DW_DNSAUTH_SERVERS_MAX,
	                          &out->cfg.nfixed, diag) != DW_OK)
		return DW_EINVAL;
	if (resolvers != NULL)
		return dw_dnsauth_list_parse(resolvers, 53, timeout_ms, out->resolvers,
		                             DW_DNSAUTH_SERVERS_MAX, &out->cfg.nresolvers, diag);
	if (out->cfg.nfixed == 0) {
		char buf[8192];
		FILE *f = fopen("/etc/resolv.conf", "re");
		size_t len = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
		if (f != NULL)
			fclose(f);
		out->cfg.nresolvers = dw_dnsauth_resolv_conf(buf, len, timeout_ms, out->resolvers,
		                                             DW_DNSAUTH_SERVERS_MAX);
	}
	return DW_OK;
}
