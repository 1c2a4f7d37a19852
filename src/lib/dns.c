/* DNS helpers: TSIG keys, reply parsing, TSIG, transport, UPDATE. */
#include "lib/dns.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DNS_HDR 12
#define TYPE_SOA 6
#define TYPE_OPT 41
#define TYPE_TSIG 250
#define CLASS_ANY 255
#define DNS_MSG_MAX 65535

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

/* ------------------------------------------------------------------- HMAC */

/* md is the digest name libcrypto's HMAC takes (sized for the longest). */
static const struct {
	const char *name;
	char md[8];
	size_t digest;
} alg_info[DW_TSIG_ALG_COUNT] = {
	[DW_TSIG_HMAC_SHA256] = { "hmac-sha256", "SHA256", 32 },
	[DW_TSIG_HMAC_SHA384] = { "hmac-sha384", "SHA384", 48 },
	[DW_TSIG_HMAC_SHA512] = { "hmac-sha512", "SHA512", 64 },
	[DW_TSIG_HMAC_SHA224] = { "hmac-sha224", "SHA224", 28 },
	[DW_TSIG_HMAC_SHA1]   = { "hmac-sha1", "SHA1", 20 },
};

const char *dw_tsig_alg_name(enum dw_tsig_alg alg)
{
	if ((unsigned)alg >= DW_TSIG_ALG_COUNT)
		return "unknown";
	return alg_info[alg].name;
}

int dw_tsig_alg_parse(const char *name, enum dw_tsig_alg *out)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	for (int i = 0; i < DW_TSIG_ALG_COUNT; i++) {
		if (strlen(alg_info[i].name) == n && strncasecmp(name, alg_info[i].name, n) == 0) {
			*out = (enum dw_tsig_alg)i;
			return DW_OK;
		}
	}
	if ((n == 8 && strncasecmp(name, "hmac-md5", 8) == 0) ||
	    (n == 24 && strncasecmp(name, "hmac-md5.sig-alg.reg.int", 24) == 0))
		return DW_EUNSUPP;
	return DW_EINVAL;
}

/* Logs (at debug level) the oldest libcrypto error behind a failure and
 * empties the thread's error queue, so that nothing stale is left for the
 * TLS code sharing it; returns err. */
static int crypto_fail(int err, const char *what)
{
	unsigned long e = ERR_get_error();
	if (e != 0) {
		char buf[256];
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("%s: %s", what, buf);
	} else {
		log_debug("%s", what);
	}
	ERR_clear_error();
	return err;
}

/* Incremental HMAC over libcrypto's EVP_MAC.  The context holds the key and
 * wipes it when freed.  The first failing update is remembered and returned
 * by hmac_final, so code feeding data piecewise checks once, at the end. */
struct hmac_ctx {
	EVP_MAC_CTX *mac;
	size_t len;      /* MAC length */
	int err;         /* DW_OK or the first failure */
};

/* Returns DW_OK, DW_EINVAL (unknown algorithm), DW_ENOMEM or DW_ETSIG
 * (libcrypto refused).  On success hmac_final must follow. */
static int hmac_init(struct hmac_ctx *c, enum dw_tsig_alg alg,
                     const uint8_t *key, size_t keylen)
{
	static const uint8_t no_key[1];
	c->mac = NULL;
	c->len = 0;
	c->err = DW_OK;
	if ((unsigned)alg >= DW_TSIG_ALG_COUNT)
		return DW_EINVAL;
	/* A NULL key means "keep the previous key" to EVP_MAC_init. */
	if (keylen == 0)
		key = no_key;
	/* OSSL_PARAM wants a modifiable buffer, even for a string it only reads. */
	char md[sizeof(alg_info[0].md)];
	memcpy(md, alg_info[alg].md, sizeof(md));
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (m == NULL)
		return crypto_fail(DW_ETSIG, "HMAC is not available");
	c->mac = EVP_MAC_CTX_new(m);
	EVP_MAC_free(m);   /* the context holds its own reference */
	if (c->mac == NULL)
		return crypto_fail(DW_ENOMEM, "cannot allocate an HMAC context");
	if (EVP_MAC_init(c->mac, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(c->mac);
		c->mac = NULL;
		return crypto_fail(DW_ETSIG, "cannot start the HMAC");
	}
	c->len = EVP_MAC_CTX_get_mac_size(c->mac);
	if (c->len != alg_info[alg].digest) {
		EVP_MAC_CTX_free(c->mac);
		c->mac = NULL;
		return crypto_fail(DW_ETSIG, "unexpected HMAC length");
	}
	return DW_OK;
}

static void hmac_update(struct hmac_ctx *c, const uint8_t *p, size_t len)
{
	if (c->err == DW_OK && EVP_MAC_update(c->mac, p, len) != 1)
		c->err = crypto_fail(DW_ETSIG, "HMAC update failed");
}

/* Frees c.  Returns DW_OK with the MAC in mac and its length in *maclen, or
 * the first error seen (then *maclen is 0 and mac is zeroed). */
static int hmac_final(struct hmac_ctx *c, uint8_t mac[DW_TSIG_MAC_MAX], size_t *maclen)
{
	size_t out = 0;
	int ret = c->err;
	if (ret == DW_OK && (EVP_MAC_final(c->mac, mac, &out, DW_TSIG_MAC_MAX) != 1 ||
	                     out != c->len))
		ret = crypto_fail(DW_ETSIG, "HMAC final failed");
	EVP_MAC_CTX_free(c->mac);
	c->mac = NULL;
	if (ret != DW_OK) {
		OPENSSL_cleanse(mac, DW_TSIG_MAC_MAX);
		out = 0;
	}
	*maclen = out;
	return ret;
}

int dw_hmac(enum dw_tsig_alg alg, const uint8_t *key, size_t keylen,
            const uint8_t *data, size_t len, uint8_t mac[DW_TSIG_MAC_MAX],
            size_t *maclen)
{
	struct hmac_ctx c;
	*maclen = 0;
	int ret = hmac_init(&c, alg, key, keylen);
	if (ret != DW_OK)
		return ret;
	hmac_update(&c, data, len);
	return hmac_final(&c, mac, maclen);
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

/* Decoded key bytes in sodium memory; *out NULL on error. */
static int key_decode(const struct dw_tsig_key *key, enum dw_tsig_alg *alg,
                      uint8_t **out, size_t *outlen)
{
	*out = NULL;
	if (key->secret.data == NULL || dw_tsig_alg_parse(key->algorithm, alg) != DW_OK)
		return DW_EINVAL;
	uint8_t *bin = sodium_malloc(key->secret.len + 1);
	if (bin == NULL)
		return DW_ENOMEM;
	if (sodium_base642bin(bin, key->secret.len + 1, key->secret.data, key->secret.len,
	                      NULL, outlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		sodium_free(bin);
		return DW_EINVAL;
	}
	*out = bin;
	return DW_OK;
}

/* ------------------------------------------------------------ wire parsing */

struct cur {
	const uint8_t *w;
	size_t len, pos;
	bool err;
};

static uint8_t get8(struct cur *c)
{
	if (c->err || c->len - c->pos < 1) {
		c->err = true;
		return 0;
	}
	return c->w[c->pos++];
}

static uint16_t get16(struct cur *c)
{
	uint16_t hi = get8(c);
	return (uint16_t)((hi << 8) | get8(c));
}

static uint32_t get32(struct cur *c)
{
	uint32_t hi = get16(c);
	return (hi << 16) | get16(c);
}

static const uint8_t *getn(struct cur *c, size_t n)
{
	if (c->err || c->len - c->pos < n) {
		c->err = true;
		return NULL;
	}
	const uint8_t *p = c->w + c->pos;
	c->pos += n;
	return p;
}

/* Reads a possibly compressed name at c->pos into presentation form (lower
 * case, no trailing dot, "" for the root, \DDD for unusual bytes).  Pointers
 * must point strictly backwards, which rules out loops. */
static void get_name(struct cur *c, char *out, size_t cap)
{
	size_t pos = c->pos, limit = c->pos, o = 0, wirelen = 0;
	bool jumped = false;
	if (c->err)
		return;
	for (;;) {
		if (pos >= c->len)
			goto bad;
		uint8_t l = c->w[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= c->len)
				goto bad;
			size_t target = (size_t)((l & 0x3f) << 8 | c->w[pos + 1]);
			if (target >= limit)
				goto bad;
			if (!jumped)
				c->pos = pos + 2;
			jumped = true;
			limit = target;
			pos = target;
			continue;
		}
		if ((l & 0xc0) != 0)
			goto bad;   /* extended label types are obsolete */
		pos++;
		wirelen += 1u + l;
		if (wirelen > 255)
			goto bad;
		if (l == 0)
			break;
		if (pos + l > c->len)
			goto bad;
		if (o > 0) {
			if (o + 1 >= cap)
				goto bad;
			out[o++] = '.';
		}
		for (uint8_t i = 0; i < l; i++) {
			uint8_t ch = c->w[pos + i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (uint8_t)(ch - 'A' + 'a');
			if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '_' || ch == '*') {
				if (o + 1 >= cap)
					goto bad;
				out[o++] = (char)ch;
			} else {
				if (o + 4 >= cap)
					goto bad;
				out[o++] = '\\';
				out[o++] = (char)('0' + ch / 100);
				out[o++] = (char)('0' + ch / 10 % 10);
				out[o++] = (char)('0' + ch % 10);
			}
		}
		pos += l;
	}
	if (!jumped)
		c->pos = pos;
	out[o] = '\0';
	return;
bad:
	c->err = true;
	if (cap > 0)
		out[0] = '\0';
}

int dw_dns_parse_reply(const uint8_t *wire, size_t len, struct dw_dns_reply *out,
                       struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	struct cur c = { wire, len, 0, false };
	char name[DW_DNS_NAME_MAX];
	if (len < DNS_HDR)
		return dw_diag_set(diag, DW_EPARSE, "DNS reply shorter than a header (%zu bytes)", len);
	if (len > DNS_MSG_MAX)
		return dw_diag_set(diag, DW_EPARSE, "DNS reply longer than 65535 bytes");
	out->id = get16(&c);
	uint16_t flags = get16(&c);
	out->qr = (flags & 0x8000u) != 0;
	out->opcode = (uint8_t)((flags >> 11) & 0xfu);
	out->aa = (flags & 0x0400u) != 0;
	out->tc = (flags & 0x0200u) != 0;
	out->rcode = flags & 0xf;
	out->qdcount = get16(&c);
	out->ancount = get16(&c);
	out->nscount = get16(&c);
	out->arcount = get16(&c);
	for (unsigned i = 0; i < out->qdcount && !c.err; i++) {
		get_name(&c, name, sizeof(name));
		getn(&c, 4);
	}
	unsigned total = (unsigned)out->ancount + out->nscount + out->arcount;
	bool has_opt = false;
	for (unsigned i = 0; i < total && !c.err; i++) {
		size_t start = c.pos;
		get_name(&c, name, sizeof(name));
		uint16_t type = get16(&c);
		uint16_t klass = get16(&c);
		uint32_t ttl = get32(&c);
		uint16_t rdlen = get16(&c);
		size_t rdstart = c.pos;
		if (c.err)
			break;
		if (c.len - c.pos < rdlen) {
			c.err = true;
			break;
		}
		bool additional = i >= (unsigned)out->ancount + out->nscount;
		if (type == TYPE_SOA && !additional && !out->has_soa) {
			out->has_soa = true;
			memcpy(out->soa_owner, name, sizeof(out->soa_owner));
		}
		if (type == TYPE_OPT && additional) {
			if (has_opt || name[0] != '\0')
				return dw_diag_set(diag, DW_EPARSE, "malformed EDNS OPT record in DNS reply");
			has_opt = true;
			out->rcode |= (int)((ttl >> 24) << 4);
		}
		if (type == TYPE_TSIG) {
			if (i != total - 1 || klass != CLASS_ANY)
				return dw_diag_set(diag, DW_EPARSE, "misplaced TSIG record in DNS reply");
			out->has_tsig = true;
			out->tsig_offset = start;
			memcpy(out->tsig_name, name, sizeof(out->tsig_name));
			struct cur r = { wire, rdstart + rdlen, rdstart, false };
			get_name(&r, out->tsig_alg, sizeof(out->tsig_alg));
			uint64_t hi = get16(&r);
			out->tsig_time = hi << 32 | get32(&r);
			out->tsig_fudge = get16(&r);
			out->tsig_mac_len = get16(&r);
			out->tsig_mac = getn(&r, out->tsig_mac_len);
			out->tsig_orig_id = get16(&r);
			out->tsig_error = get16(&r);
			out->tsig_other_len = get16(&r);
			out->tsig_other = getn(&r, out->tsig_other_len);
			if (r.err || r.pos != rdstart + rdlen)
				return dw_diag_set(diag, DW_EPARSE, "malformed TSIG record in DNS reply");
		}
		c.pos = rdstart + rdlen;
	}
	if (c.err)
		return dw_diag_set(diag, DW_EPARSE, "truncated or malformed DNS reply");
	if (c.pos != len)
		return dw_diag_set(diag, DW_EPARSE, "%zu trailing bytes after the DNS reply", len - c.pos);
	return DW_OK;
}

int dw_dns_reply_answers(const uint8_t *wire, size_t len, struct dw_dns_rr *q,
                         struct dw_dns_rr *an, size_t cap, size_t *nan, struct dw_diag *diag)
{
	struct dw_dns_reply rep;
	int ret = dw_dns_parse_reply(wire, len, &rep, diag);
	if (ret != DW_OK)
		return ret;
	*nan = 0;
	if (rep.qdcount == 0 && q != NULL)
		return dw_diag_set(diag, DW_EPARSE, "DNS reply without a question");
	if (rep.ancount > cap)
		return dw_diag_set(diag, DW_ETOOBIG, "DNS reply with %u answers (at most %zu)",
		                   (unsigned)rep.ancount, cap);
	/* The walk cannot fail: dw_dns_parse_reply() checked the same bytes. */
	struct cur c = { wire, len, DNS_HDR, false };
	char name[DW_DNS_NAME_MAX];
	for (unsigned i = 0; i < rep.qdcount && !c.err; i++) {
		get_name(&c, name, sizeof(name));
		uint16_t type = get16(&c);
		uint16_t klass = get16(&c);
		if (i == 0 && q != NULL) {
			memset(q, 0, sizeof(*q));
			memcpy(q->owner, name, sizeof(q->owner));
			q->type = type;
			q->klass = klass;
		}
	}
	for (unsigned i = 0; i < rep.ancount && !c.err; i++) {
		struct dw_dns_rr *rr = &an[i];
		get_name(&c, rr->owner, sizeof(rr->owner));
		rr->type = get16(&c);
		rr->klass = get16(&c);
		rr->ttl = get32(&c);
		rr->rdlen = get16(&c);
		rr->rdata = getn(&c, rr->rdlen);
	}
	if (c.err)
		return dw_diag_set(diag, DW_EPARSE, "truncated or malformed DNS reply");
	*nan = rep.ancount;
	return DW_OK;
}

/* ------------------------------------------------------------------- TSIG */

/* Uncompressed wire form of a validated presentation name ("" = root). */
static size_t name_wire(const char *name, uint8_t out[256])
{
	size_t o = 0;
	const char *p = name;
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || o + l + 2 > 256)
			return 0;
		out[o++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++) {
			char ch = p[i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			out[o++] = (uint8_t)ch;
		}
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return o;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Reports a failed hmac_init or hmac_final. */
static int hmac_diag(struct dw_diag *diag, int err)
{
	return dw_diag_set(diag, err, "%s",
	                   err == DW_ENOMEM ? "out of memory" : "cannot compute the TSIG HMAC");
}

/* The TSIG variables that follow the message in the MAC input (RFC 8945
 * 4.3.3): key name, class ANY, TTL 0, algorithm, time, fudge, error, other. */
static void mac_variables(struct hmac_ctx *h, const uint8_t *kname, size_t knlen,
                          const uint8_t *aname, size_t anlen, uint64_t time_signed,
                          uint16_t fudge, uint16_t error, const uint8_t *other,
                          uint16_t other_len)
{
	uint8_t b[16];
	hmac_update(h, kname, knlen);
	put16(b, CLASS_ANY);
	memset(b + 2, 0, 4);
	hmac_update(h, b, 6);
	hmac_update(h, aname, anlen);
	put16(b, (uint16_t)(time_signed >> 32));
	put16(b + 2, (uint16_t)(time_signed >> 16));
	put16(b + 4, (uint16_t)time_signed);
	put16(b + 6, fudge);
	put16(b + 8, error);
	put16(b + 10, other_len);
	hmac_update(h, b, 12);
	if (other_len > 0)
		hmac_update(h, other, other_len);
}

/* Signs the message wire[0..*len) in place, appending the TSIG RR (wire has
 * room for cap bytes).  mac receives the request MAC for verifying the reply. */
static int tsig_sign(const struct dw_tsig_key *key, uint8_t *wire, size_t *len,
                     size_t cap, uint64_t now, uint8_t mac[DW_TSIG_MAC_MAX],
                     size_t *maclen, struct dw_diag *diag)
{
	uint8_t kname[256], aname[256];
	size_t knlen = name_wire(key->name, kname);
	size_t anlen = name_wire(key->algorithm, aname);
	enum dw_tsig_alg alg;
	uint8_t *kb = NULL;
	size_t kblen = 0;
	if (knlen == 0 || anlen == 0 || key_decode(key, &alg, &kb, &kblen) != DW_OK)
		return dw_diag_set(diag, DW_ETSIG, "TSIG key '%s' is unusable", key->name);
	struct hmac_ctx h;
	int ret = hmac_init(&h, alg, kb, kblen);
	sodium_free(kb);
	if (ret != DW_OK)
		return hmac_diag(diag, ret);
	hmac_update(&h, wire, *len);
	mac_variables(&h, kname, knlen, aname, anlen, now, DW_TSIG_FUDGE, 0, NULL, 0);
	ret = hmac_final(&h, mac, maclen);
	if (ret != DW_OK)
		return hmac_diag(diag, ret);

	size_t rdlen = anlen + 6 + 2 + 2 + *maclen + 2 + 2 + 2;
	size_t need = knlen + 10 + rdlen;
	if (*len + need > cap)
		return dw_diag_set(diag, DW_ETOOBIG, "DNS message too large to sign");
	uint8_t *p = wire + *len;
	memcpy(p, kname, knlen);
	p += knlen;
	put16(p, TYPE_TSIG);
	put16(p + 2, CLASS_ANY);
	memset(p + 4, 0, 4);
	put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, aname, anlen);
	p += anlen;
	put16(p, (uint16_t)(now >> 32));
	put16(p + 2, (uint16_t)(now >> 16));
	put16(p + 4, (uint16_t)now);
	put16(p + 6, DW_TSIG_FUDGE);
	put16(p + 8, (uint16_t)*maclen);
	p += 10;
	memcpy(p, mac, *maclen);
	p += *maclen;
	memcpy(p, wire, 2);      /* original ID */
	memset(p + 2, 0, 4);     /* error 0, other len 0 */
	*len += need;
	put16(wire + 10, (uint16_t)(((wire[10] << 8) | wire[11]) + 1));   /* ARCOUNT */
	return DW_OK;
}

int dw_tsig_verify_reply(const uint8_t *wire, size_t len,
                         const struct dw_dns_reply *rep,
                         const struct dw_tsig_key *key,
                         const uint8_t *req_mac, size_t req_mac_len,
                         uint64_t now, struct dw_diag *diag)
{
	if (!rep->has_tsig)
		return dw_diag_set(diag, DW_ETSIG, "the reply is not signed");
	if (strcmp(rep->tsig_name, key->name) != 0)
		return dw_diag_set(diag, DW_ETSIG, "the reply is signed with another key");
	enum dw_tsig_alg alg, ralg;
	if (dw_tsig_alg_parse(key->algorithm, &alg) != DW_OK ||
	    dw_tsig_alg_parse(rep->tsig_alg, &ralg) != DW_OK || alg != ralg)
		return dw_diag_set(diag, DW_ETSIG, "the reply is signed with another algorithm");
	if (rep->tsig_mac_len != alg_info[alg].digest)
		return dw_diag_set(diag, DW_ETSIG, "the reply's TSIG MAC has %u bytes, expected %zu",
		                   rep->tsig_mac_len, alg_info[alg].digest);
	if (rep->tsig_offset < DNS_HDR || rep->tsig_offset > len || rep->arcount == 0)
		return dw_diag_set(diag, DW_ETSIG, "malformed TSIG record");

	uint8_t kname[256], aname[256];
	size_t knlen = name_wire(key->name, kname);
	size_t anlen = name_wire(key->algorithm, aname);
	uint8_t *kb = NULL;
	size_t kblen = 0;
	if (knlen == 0 || anlen == 0 || key_decode(key, &alg, &kb, &kblen) != DW_OK)
		return dw_diag_set(diag, DW_ETSIG, "TSIG key '%s' is unusable", key->name);
	struct hmac_ctx h;
	int ret = hmac_init(&h, alg, kb, kblen);
	sodium_free(kb);
	if (ret != DW_OK)
		return hmac_diag(diag, ret);
	uint8_t b[DNS_HDR];
	put16(b, (uint16_t)req_mac_len);
	if (req_mac != NULL) {
		hmac_update(&h, b, 2);
		hmac_update(&h, req_mac, req_mac_len);
	}
	/* The header as signed: original ID, ARCOUNT without the TSIG. */
	memcpy(b, wire, DNS_HDR);
	put16(b, rep->tsig_orig_id);
	put16(b + 10, (uint16_t)(rep->arcount - 1));
	hmac_update(&h, b, DNS_HDR);
	hmac_update(&h, wire + DNS_HDR, rep->tsig_offset - DNS_HDR);
	mac_variables(&h, kname, knlen, aname, anlen, rep->tsig_time, rep->tsig_fudge,
	              rep->tsig_error, rep->tsig_other, rep->tsig_other_len);
	uint8_t mac[DW_TSIG_MAC_MAX];
	size_t maclen = 0;
	ret = hmac_final(&h, mac, &maclen);
	if (ret != DW_OK)
		return hmac_diag(diag, ret);
	if (maclen != rep->tsig_mac_len || sodium_memcmp(mac, rep->tsig_mac, maclen) != 0)
		return dw_diag_set(diag, DW_ETSIG, "the reply's TSIG signature does not verify");
	uint64_t t = rep->tsig_time;
	uint64_t skew = t > now ? t - now : now - t;
	if (skew > rep->tsig_fudge)
		return dw_diag_set(diag, DW_ETSIG,
		                   "the reply was signed %llu seconds away from our clock "
		                   "(fudge %u): check the clocks", (unsigned long long)skew,
		                   rep->tsig_fudge);
	return DW_OK;
}

/* -------------------------------------------------------------- transport */

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

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline; 1 ready, 0 timeout, <0 error. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		return 1;
	}
}

/* Sends q over UDP and receives the reply with its ID; other datagrams are
 * ignored.  The message is sent again after a third of the time. */
static int xfer_udp(const struct dw_dns_server *srv, const uint8_t *q, size_t qlen,
                    uint8_t *buf, size_t *rlen, long long deadline, struct dw_diag *diag)
{
	int ret;
	int fd = socket(srv->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dw_diag_set(diag, DW_EDNS, "socket: %s", strerror(errno));
	/* connect() makes the kernel drop datagrams from anyone else */
	if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addrlen) != 0) {
		ret = dw_diag_set(diag, DW_EDNS, "cannot reach %s: %s", srv->text, strerror(errno));
		goto out;
	}
	long long start = now_ms();
	long long step = (deadline - start) / 3;
	long long resend = start;
	for (;;) {
		long long t = now_ms();
		if (t >= deadline) {
			ret = dw_diag_set(diag, DW_ETIMEOUT, "no reply from %s", srv->text);
			goto out;
		}
		if (t >= resend) {
			if (send(fd, q, qlen, 0) < 0) {
				ret = dw_diag_set(diag, DW_EDNS, "cannot send to %s: %s", srv->text,
				                  strerror(errno));
				goto out;
			}
			resend = t + (step > 100 ? step : 100);
		}
		int r = wait_fd(fd, POLLIN, resend < deadline ? resend : deadline);
		if (r < 0) {
			ret = dw_diag_set(diag, DW_EDNS, "poll: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			continue;
		ssize_t n = recv(fd, buf, DNS_MSG_MAX, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ret = dw_diag_set(diag, DW_EDNS, "no reply from %s: %s", srv->text,
			                  strerror(errno));
			goto out;
		}
		if ((size_t)n < DNS_HDR || buf[0] != q[0] || buf[1] != q[1] || (buf[2] & 0x80) == 0)
			continue;   /* not our reply */
		*rlen = (size_t)n;
		ret = DW_OK;
		goto out;
	}
out:
	close(fd);
	return ret;
}

static int io_all(int fd, uint8_t *p, size_t len, bool rd, long long deadline)
{
	while (len > 0) {
		int r = wait_fd(fd, rd ? POLLIN : POLLOUT, deadline);
		if (r <= 0)
			return r == 0 ? DW_ETIMEOUT : DW_EDNS;
		ssize_t n = rd ? recv(fd, p, len, 0) : send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return DW_EDNS;
		if (n == 0)
			return DW_EDNS;   /* closed early */
		p += n;
		len -= (size_t)n;
	}
	return DW_OK;
}

static int xfer_tcp(const struct dw_dns_server *srv, const uint8_t *q, size_t qlen,
                    uint8_t *buf, size_t *rlen, long long deadline, struct dw_diag *diag)
{
	int ret;
	uint8_t lenb[2];
	int fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dw_diag_set(diag, DW_EDNS, "socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addrlen) != 0 &&
	    errno != EINPROGRESS) {
		ret = dw_diag_set(diag, DW_EDNS, "cannot connect to %s over TCP: %s", srv->text,
		                  strerror(errno));
		goto out;
	}
	int r = wait_fd(fd, POLLOUT, deadline);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (r == 0) {
		ret = dw_diag_set(diag, DW_ETIMEOUT, "TCP connection to %s timed out", srv->text);
		goto out;
	}
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		ret = dw_diag_set(diag, DW_EDNS, "cannot connect to %s over TCP: %s", srv->text,
		                  strerror(soerr ? soerr : errno));
		goto out;
	}
	put16(lenb, (uint16_t)qlen);
	uint8_t *qc = malloc(qlen + 2);
	if (qc == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(qc, lenb, 2);
	memcpy(qc + 2, q, qlen);
	ret = io_all(fd, qc, qlen + 2, false, deadline);
	free(qc);
	if (ret == DW_OK)
		ret = io_all(fd, lenb, 2, true, deadline);
	size_t n = (size_t)(lenb[0] << 8 | lenb[1]);
	if (ret == DW_OK && n < DNS_HDR)
		ret = DW_EDNS;
	if (ret == DW_OK)
		ret = io_all(fd, buf, n, true, deadline);
	if (ret != DW_OK) {
		ret = dw_diag_set(diag, ret, "%s from %s over TCP",
		                  ret == DW_ETIMEOUT ? "no reply" : "bad reply", srv->text);
		goto out;
	}
	*rlen = n;
	ret = DW_OK;
out:
	close(fd);
	return ret;
}

/* One signed exchange.  On success *rwire (malloc, caller frees) holds the
 * reply, rep its parse and st the classification inputs. */
static int exchange(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                    ldns_pkt *q, uint8_t **rwire, size_t *rwlen, struct dw_dns_reply *rep,
                    struct dw_dns_status *st, struct dw_diag *diag)
{
	int ret;
	uint8_t *lw = NULL, *qw = NULL, *buf = NULL;
	size_t lwlen = 0, qlen = 0, rlen = 0;
	uint8_t mac[DW_TSIG_MAC_MAX];
	size_t maclen = 0;
	uint16_t id;

	memset(st, 0, sizeof(*st));
	*rwire = NULL;
	if (sodium_init() < 0)
		return dw_diag_set(diag, DW_ENOMEM, "libsodium failed to initialise");
	randombytes_buf(&id, sizeof(id));
	ldns_pkt_set_id(q, id);
	if (ldns_pkt2wire(&lw, q, &lwlen) != LDNS_STATUS_OK || lwlen < DNS_HDR) {
		ret = dw_diag_set(diag, DW_EDNS, "cannot encode the DNS message");
		goto out;
	}
	size_t cap = lwlen + 1024;
	qw = malloc(cap);
	buf = malloc(DNS_MSG_MAX);
	if (qw == NULL || buf == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(qw, lw, lwlen);
	qlen = lwlen;
	if (key != NULL) {
		ret = tsig_sign(key, qw, &qlen, cap, (uint64_t)time(NULL), mac, &maclen, diag);
		if (ret != DW_OK)
			goto out;
	}
	long long deadline = now_ms() + srv->timeout_ms;
	ret = xfer_udp(srv, qw, qlen, buf, &rlen, deadline, diag);
	if (ret == DW_OK && (buf[2] & 0x02) != 0) {
		log_debug("reply from %s truncated, retrying over TCP", srv->text);
		st->tcp = true;
		ret = xfer_tcp(srv, qw, qlen, buf, &rlen, now_ms() + srv->timeout_ms, diag);
	}
	if (ret != DW_OK)
		goto out;
	ret = dw_dns_parse_reply(buf, rlen, rep, diag);
	if (ret != DW_OK)
		goto out;
	if (rep->id != id || !rep->qr || rep->opcode != ldns_pkt_get_opcode(q)) {
		ret = dw_diag_set(diag, DW_EDNS, "unexpected reply from %s", srv->text);
		goto out;
	}
	st->rcode = rep->rcode;
	if (key != NULL && rep->has_tsig) {
		st->tsig_error = rep->tsig_error;
		/* BADSIG/BADKEY replies carry an empty MAC (RFC 8945 5.3.2) */
		if (rep->tsig_mac_len > 0) {
			struct dw_diag vd;
			ret = dw_tsig_verify_reply(buf, rlen, rep, key, mac, maclen,
			                           (uint64_t)time(NULL), &vd);
			st->signed_ok = ret == DW_OK;
			if (ret != DW_OK)
				log_debug("%s: %s", srv->text, vd.msg);
			if (ret != DW_OK && rep->rcode == DW_RCODE_NOERROR && rep->tsig_error == 0) {
				ret = dw_diag_set(diag, DW_ETSIG, "reply from %s: %s", srv->text, vd.msg);
				goto out;
			}
		}
	}
	if (key != NULL && !st->signed_ok && st->rcode == DW_RCODE_NOERROR && st->tsig_error == 0) {
		ret = dw_diag_set(diag, DW_ETSIG, "reply from %s is not signed with key '%s'",
		                  srv->text, key->name);
		goto out;
	}
	*rwire = buf;
	*rwlen = rlen;
	buf = NULL;
	ret = DW_OK;
out:
	sodium_memzero(mac, sizeof(mac));
	free(lw);
	free(qw);
	free(buf);
	return ret;
}

/* Absolute dname rdf of a presentation name, or NULL. */
static ldns_rdf *mk_dname(const char *name)
{
	char abs[DW_DNS_NAME_MAX + 2];
	int n = snprintf(abs, sizeof(abs), "%s.", name);
	if (n < 0 || (size_t)n >= sizeof(abs))
		return NULL;
	if (name[0] == '\0')
		return ldns_dname_new_frm_str(".");
	ldns_rdf *r = NULL;
	if (ldns_str2rdf_dname(&r, abs) != LDNS_STATUS_OK)
		return NULL;
	return r;
}

static int query(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                 const char *name, uint16_t type, uint8_t **rwire, size_t *rwlen,
                 struct dw_dns_reply *rep, struct dw_dns_status *st, struct dw_diag *diag)
{
	ldns_rdf *owner = mk_dname(name);
	if (owner == NULL)
		return dw_diag_set(diag, DW_EINVAL, "invalid name '%s'", name);
	ldns_pkt *q = ldns_pkt_query_new(owner, (ldns_rr_type)type, LDNS_RR_CLASS_IN, 0);
	if (q == NULL) {
		ldns_rdf_deep_free(owner);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	int ret = exchange(srv, key, q, rwire, rwlen, rep, st, diag);
	ldns_pkt_free(q);
	return ret;
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

int dw_dns_find_zone(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                     const char *name, char zone[DW_DNS_NAME_MAX],
                     struct dw_dns_status *st, struct dw_diag *diag)
{
	const char *cand = name;
	zone[0] = '\0';
	memset(st, 0, sizeof(*st));
	for (;;) {
		uint8_t *w = NULL;
		size_t wl = 0;
		struct dw_dns_reply rep;
		int ret = query(srv, key, cand, TYPE_SOA, &w, &wl, &rep, st, diag);
		free(w);
		if (ret != DW_OK)
			return ret;
		char rb[16];
		log_debug("SOA query for '%s' at %s: %s%s%s", cand, srv->text,
		          dw_rcode_str(st->rcode, rb), rep.has_soa ? ", SOA owner " : "",
		          rep.has_soa ? rep.soa_owner : "");
		/* NOTAUTH to a signed query is about the key (PowerDNS sends it
		 * unsigned, without a TSIG error): asking the parent won't help. */
		if (st->tsig_error != 0 || st->rcode == DW_RCODE_SERVFAIL ||
		    (key != NULL && st->rcode == DW_RCODE_NOTAUTH))
			return dw_diag_set(diag, DW_EPROVIDER, "SOA query for %s failed", cand);
		if ((st->rcode == DW_RCODE_NOERROR || st->rcode == DW_RCODE_NXDOMAIN) &&
		    rep.has_soa && dw_dns_name_in_zone(name, rep.soa_owner)) {
			if (snprintf(zone, DW_DNS_NAME_MAX, "%s", rep.soa_owner) >= DW_DNS_NAME_MAX)
				return dw_diag_set(diag, DW_EPARSE, "zone name too long");
			return DW_OK;
		}
		if (cand[0] == '\0')
			break;
		const char *dot = strchr(cand, '.');
		cand = dot != NULL ? dot + 1 : "";
	}
	char rb[16];
	return dw_diag_set(diag, DW_ENOTFOUND,
	                   "%s is not authoritative for any zone holding %s (last reply %s)",
	                   srv->text, name, dw_rcode_str(st->rcode, rb));
}

/* Parses "NAME. TTL IN TYPE RDATA" for each rdata; NULL on error. */
static ldns_rr_list *mk_rrs(const char *name, uint16_t type, uint32_t ttl,
                            const char *const *rdata, size_t n, struct dw_diag *diag)
{
	ldns_rr_list *l = ldns_rr_list_new();
	char tbuf[16];
	char *tname = ldns_rr_type2str((ldns_rr_type)type);
	if (l == NULL || tname == NULL) {
		ldns_rr_list_free(l);
		free(tname);
		dw_diag_set(diag, DW_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char line[1024];
		int w = snprintf(line, sizeof(line), "%s. %u IN %s %s", name, ttl, tname, rdata[i]);
		ldns_rr *rr = NULL;
		if (w < 0 || (size_t)w >= sizeof(line) ||
		    ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK ||
		    ldns_rr_get_type(rr) != (ldns_rr_type)type) {
			ldns_rr_free(rr);
			ldns_rr_list_deep_free(l);
			snprintf(tbuf, sizeof(tbuf), "%s", tname);
			free(tname);
			dw_diag_set(diag, DW_EINVAL, "invalid %s record data for %s", tbuf, name);
			return NULL;
		}
		ldns_rr_list_push_rr(l, rr);
	}
	free(tname);
	return l;
}

/* Appends text to buf[*o..cap), keeping it NUL-terminated; false when it
 * did not fit (buf then holds what fitted). */
static bool buf_add(char *buf, size_t cap, size_t *o, const char *text)
{
	size_t len = strlen(text);
	if (*o >= cap)
		return false;
	size_t room = cap - *o - 1;
	size_t k = len < room ? len : room;
	memcpy(buf + *o, text, k);
	*o += k;
	buf[*o] = '\0';
	return k == len;
}

/* Appends text to seen->text, ending it in "..." when it does not fit. */
static void seen_add(struct dw_dns_seen *seen, const char *sep, const char *text)
{
	size_t cap = sizeof(seen->text), used = strnlen(seen->text, cap);
	if (used >= 3 && strcmp(seen->text + used - 3, "...") == 0)
		return;   /* already full */
	bool ok = used == 0 || buf_add(seen->text, cap, &used, sep);
	if (ok)
		ok = buf_add(seen->text, cap, &used, text);
	if (!ok)
		memcpy(seen->text + cap - 4, "...", 4);
}

/* "A 192.0.2.7 TTL 300" for one RR. */
static void seen_rr(struct dw_dns_seen *seen, const ldns_rr *rr)
{
	char item[320] = "";
	size_t o = 0;
	char *tname = ldns_rr_type2str(ldns_rr_get_type(rr));
	bool ok = buf_add(item, sizeof(item), &o, tname != NULL ? tname : "?");
	free(tname);
	for (size_t i = 0; ok && i < ldns_rr_rd_count(rr); i++) {
		char *d = ldns_rdf2str(ldns_rr_rdf(rr, i));
		ok = buf_add(item, sizeof(item), &o, " ") &&
		     buf_add(item, sizeof(item), &o, d != NULL ? d : "?");
		free(d);
	}
	char t[24];
	snprintf(t, sizeof(t), " TTL %u", (unsigned)ldns_rr_ttl(rr));
	if (ok)
		ok = buf_add(item, sizeof(item), &o, t);
	if (!ok && sizeof(item) > 4)
		memcpy(item + sizeof(item) - 4, "...", 4);
	seen_add(seen, ", ", item);
}

int dw_dns_rrset_compare(const uint8_t *wire, size_t len, const char *name, uint16_t type,
                         uint32_t ttl, const char *const *rdata, size_t n,
                         struct dw_dns_seen *seen, struct dw_diag *diag)
{
	memset(seen, 0, sizeof(*seen));
	ldns_rr_list *want = NULL;
	ldns_rdf *owner = mk_dname(name);
	ldns_pkt *p = NULL;
	int ret = DW_OK;
	if (owner == NULL) {
		ret = dw_diag_set(diag, DW_EINVAL, "invalid name '%s'", name);
		goto out;
	}
	if (n > 0 && (want = mk_rrs(name, type, ttl, rdata, n, diag)) == NULL) {
		ret = DW_EINVAL;
		goto out;
	}
	if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK) {
		ret = dw_diag_set(diag, DW_EPARSE, "unparsable reply");
		goto out;
	}
	seen->rcode = (int)ldns_pkt_get_rcode(p);
	seen->aa = ldns_pkt_aa(p);
	char rb[16];
	if (seen->rcode != DW_RCODE_NOERROR) {
		seen_add(seen, "", dw_rcode_str(seen->rcode, rb));
		goto out;
	}
	ldns_rr_list *ans = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		if (ldns_rr_get_type(rr) != (ldns_rr_type)type ||
		    ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		seen_rr(seen, rr);
		bool match = false;
		for (size_t j = 0; j < n && !match; j++)
			match = ldns_rr_compare(rr, ldns_rr_list_rr(want, j)) == 0;
		if (!match) {
			seen->others++;
			continue;
		}
		seen->held++;
		if (ldns_rr_ttl(rr) != ttl)
			seen->ttl_differs = true;
	}
	if (seen->text[0] == '\0') {
		char *tname = ldns_rr_type2str((ldns_rr_type)type);
		char none[48];
		snprintf(none, sizeof(none), "no %s record", tname != NULL ? tname : "such");
		free(tname);
		seen_add(seen, "", none);
	}
out:
	ldns_pkt_free(p);
	ldns_rr_list_deep_free(want);
	ldns_rdf_deep_free(owner);
	return ret;
}

int dw_dns_rrset_look(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                      const char *name, uint16_t type, uint32_t ttl,
                      const char *const *rdata, size_t n, struct dw_dns_seen *seen,
                      struct dw_dns_status *st, struct dw_diag *diag)
{
	memset(seen, 0, sizeof(*seen));
	uint8_t *w = NULL;
	size_t wl = 0;
	struct dw_dns_reply rep;
	int ret = query(srv, key, name, type, &w, &wl, &rep, st, diag);
	if (ret != DW_OK)
		goto out;
	if (st->tsig_error != 0) {
		seen->rcode = st->rcode;
		goto out;   /* the caller reads st */
	}
	ret = dw_dns_rrset_compare(w, wl, name, type, ttl, rdata, n, seen, diag);
	if (ret == DW_EPARSE)
		dw_diag_set(diag, DW_EPARSE, "unparsable reply from %s", srv->text);
out:
	free(w);
	return ret;
}

int dw_dns_rrset_equal(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                       const char *name, uint16_t type, uint32_t ttl,
                       const char *const *rdata, size_t n, bool *same,
                       struct dw_dns_status *st, struct dw_diag *diag)
{
	struct dw_dns_seen seen;
	int ret = dw_dns_rrset_look(srv, key, name, type, ttl, rdata, n, &seen, st, diag);
	*same = ret == DW_OK && st->tsig_error == 0 && dw_dns_seen_exact(&seen, n);
	return ret;
}

int dw_dns_replace_rrset(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                         const char *zone, const char *name, uint16_t type,
                         uint32_t ttl, const char *const *rdata, size_t n,
                         struct dw_dns_status *st, struct dw_diag *diag)
{
	memset(st, 0, sizeof(*st));
	if (!dw_dns_name_in_zone(name, zone))
		return dw_diag_set(diag, DW_EINVAL, "%s is not inside zone %s", name, zone);
	ldns_rr_list *up = mk_rrs(name, type, ttl, rdata, n, diag);
	if (up == NULL)
		return DW_EINVAL;
	ldns_rr *del = ldns_rr_new();
	ldns_rdf *owner = mk_dname(name);
	ldns_rdf *zrdf = mk_dname(zone);
	ldns_rr_list *upd = ldns_rr_list_new();
	ldns_pkt *q = NULL;
	uint8_t *w = NULL;
	size_t wl = 0;
	struct dw_dns_reply rep;
	int ret;
	if (del == NULL || owner == NULL || zrdf == NULL || upd == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	/* "Delete an RRset": class ANY, TTL 0, no RDATA; then the adds. */
	ldns_rr_set_owner(del, owner);
	owner = NULL;
	ldns_rr_set_type(del, (ldns_rr_type)type);
	ldns_rr_set_class(del, LDNS_RR_CLASS_ANY);
	ldns_rr_set_ttl(del, 0);
	ldns_rr_set_question(del, false);
	ldns_rr_list_push_rr(upd, del);
	del = NULL;
	ldns_rr_list_push_rr_list(upd, up);
	ldns_rr_list_free(up);   /* the RRs now belong to upd */
	up = NULL;
	/* takes zrdf, copies upd */
	q = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, NULL, upd, NULL);
	zrdf = NULL;
	if (q == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	ldns_pkt_set_rd(q, false);   /* no RD bit in an UPDATE header */
	ret = exchange(srv, key, q, &w, &wl, &rep, st, diag);
out:
	free(w);
	ldns_pkt_free(q);
	ldns_rr_list_deep_free(up);
	ldns_rr_list_deep_free(upd);
	ldns_rr_free(del);
	ldns_rdf_deep_free(owner);
	ldns_rdf_deep_free(zrdf);
	return ret;
}

int dw_dns_update_rrs(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                      const char *zone, const char *name, uint16_t type, uint32_t ttl,
                      const char *const *rdata, size_t n, bool del,
                      struct dw_dns_status *st, struct dw_diag *diag)
{
	memset(st, 0, sizeof(*st));
	if (!dw_dns_name_in_zone(name, zone))
		return dw_diag_set(diag, DW_EINVAL, "%s is not inside zone %s", name, zone);
	ldns_rr_list *upd = mk_rrs(name, type, ttl, rdata, n, diag);
	if (upd == NULL)
		return DW_EINVAL;
	ldns_rdf *zrdf = mk_dname(zone);
	ldns_pkt *q = NULL;
	uint8_t *w = NULL;
	size_t wl = 0;
	struct dw_dns_reply rep;
	int ret;
	if (zrdf == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; del && i < ldns_rr_list_rr_count(upd); i++) {
		/* "Delete an RR from an RRset": class NONE, TTL 0, the RDATA */
		ldns_rr_set_class(ldns_rr_list_rr(upd, i), LDNS_RR_CLASS_NONE);
		ldns_rr_set_ttl(ldns_rr_list_rr(upd, i), 0);
	}
	q = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, NULL, upd, NULL);   /* takes zrdf */
	zrdf = NULL;
	if (q == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	ldns_pkt_set_rd(q, false);
	ret = exchange(srv, key, q, &w, &wl, &rep, st, diag);
out:
	free(w);
	ldns_pkt_free(q);
	ldns_rr_list_deep_free(upd);
	ldns_rdf_deep_free(zrdf);
	return ret;
}
