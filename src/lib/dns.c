/* DNS exchanges: reply parsing, TSIG signing and checking, transport, UPDATE.
 * Key files, names and server addresses are in dnsconf.c. */
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
#define TYPE_NS 2
#define TYPE_SOA 6
#define TYPE_A 1
#define TYPE_OPT 41
#define TYPE_TSIG 250
#define CLASS_ANY 255
#define DNS_MSG_MAX 65535

/* ------------------------------------------------------------------- HMAC */

/* md is the digest name libcrypto's HMAC takes (sized for the longest);
 * the algorithms' DNS names are in dnsconf.c. */
static const struct {
	char md[8];
	size_t digest;
} alg_info[DW_TSIG_ALG_COUNT] = {
	[DW_TSIG_HMAC_SHA256] = { "SHA256", 32 },
	[DW_TSIG_HMAC_SHA384] = { "SHA384", 48 },
	[DW_TSIG_HMAC_SHA512] = { "SHA512", 64 },
	[DW_TSIG_HMAC_SHA224] = { "SHA224", 28 },
	[DW_TSIG_HMAC_SHA1]   = { "SHA1", 20 },
};

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

int dw_dns_reply_names(const uint8_t *wire, size_t len, const char *owner, uint16_t type,
                       char (*out)[DW_DNS_NAME_MAX], size_t cap, size_t *n,
                       char cut[DW_DNS_NAME_MAX], struct dw_diag *diag)
{
	if (cut != NULL)
		cut[0] = '\0';
	struct dw_dns_reply rep;
	int ret = dw_dns_parse_reply(wire, len, &rep, diag);
	if (ret != DW_OK)
		return ret;
	bool referral = rep.rcode == DW_RCODE_NOERROR && !rep.aa && rep.ancount == 0;
	/* The walk cannot fail where dw_dns_parse_reply() looked; only the
	 * names inside RDATA are new here. */
	struct cur c = { wire, len, DNS_HDR, false };
	char name[DW_DNS_NAME_MAX], target[DW_DNS_NAME_MAX];
	for (unsigned i = 0; i < rep.qdcount && !c.err; i++) {
		get_name(&c, name, sizeof(name));
		getn(&c, 4);
	}
	unsigned upto = (unsigned)rep.ancount + rep.nscount;
	for (unsigned i = 0; i < upto && !c.err; i++) {
		get_name(&c, name, sizeof(name));
		uint16_t t = get16(&c);
		getn(&c, 6);   /* class, TTL */
		uint16_t rdlen = get16(&c);
		size_t rdstart = c.pos;
		if (c.err)
			break;
		bool answer = i < rep.ancount;
		if (answer && out != NULL && t == type && strcmp(name, owner) == 0) {
			/* The name is the start of the RDATA, compressed or not, and
			 * must end inside it. */
			struct cur r = { wire, rdstart + rdlen, rdstart, false };
			get_name(&r, target, sizeof(target));
			if (r.err)
				return dw_diag_set(diag, DW_EPARSE, "malformed RDATA in DNS reply");
			bool seen = false;
			for (size_t k = 0; k < *n && !seen; k++)
				seen = strcmp(out[k], target) == 0;
			if (!seen) {
				if (*n == cap)
					return dw_diag_set(diag, DW_ETOOBIG, "more than %zu names at %s", cap,
					                   owner[0] != '\0' ? owner : ".");
				memcpy(out[(*n)++], target, sizeof(target));
			}
		}
		if (!answer && referral && t == TYPE_NS && cut != NULL && cut[0] == '\0')
			memcpy(cut, name, DW_DNS_NAME_MAX);
		c.pos = rdstart + rdlen;
	}
	if (c.err)
		return dw_diag_set(diag, DW_EPARSE, "truncated or malformed DNS reply");
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

/* Adds names[0..k) to out->ns (those not there yet); DW_ETOOBIG when full. */
static int ns_merge(struct dw_dns_zone_ns *out, char (*names)[DW_DNS_NAME_MAX], size_t k,
                    struct dw_diag *diag)
{
	for (size_t i = 0; i < k; i++) {
		bool seen = false;
		for (size_t j = 0; j < out->nns && !seen; j++)
			seen = strcmp(out->ns[j], names[i]) == 0;
		if (seen)
			continue;
		if (out->nns == DW_DNS_NS_MAX)
			return dw_diag_set(diag, DW_ETOOBIG, "zone %s has more than %d NS records",
			                   out->apex, DW_DNS_NS_MAX);
		memcpy(out->ns[out->nns++], names[i], DW_DNS_NAME_MAX);
	}
	return DW_OK;
}

int dw_dns_zone_ns(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                   const char *name, struct dw_dns_zone_ns *out, struct dw_dns_status *st,
                   struct dw_diag *diag)
{
	size_t fl = strlen(out->from), tl = strlen(srv->text);
	if (fl + 2 + tl < sizeof(out->from)) {   /* else the list says enough */
		if (fl > 0) {
			memcpy(out->from + fl, ", ", 2);
			fl += 2;
		}
		memcpy(out->from + fl, srv->text, tl + 1);
	}
	static const uint16_t types[] = { TYPE_SOA, TYPE_NS };
	char names[DW_DNS_NS_MAX][DW_DNS_NAME_MAX];
	char rb[16];
	int ret = DW_OK;
	for (size_t t = 0; t < 2 && ret == DW_OK; t++) {
		const char *tname = types[t] == TYPE_SOA ? "SOA" : "NS";
		uint8_t *w = NULL;
		size_t wl = 0, k = 0;
		struct dw_dns_reply rep;
		ret = query(srv, key, out->apex, types[t], &w, &wl, &rep, st, diag);
		if (ret == DW_OK && (st->tsig_error != 0 || st->rcode != DW_RCODE_NOERROR || !rep.aa))
			ret = dw_diag_set(diag, DW_EPROVIDER, "%s gave no authoritative answer for %s %s "
			                  "(%s%s)", srv->text, out->apex[0] ? out->apex : ".", tname,
			                  dw_rcode_str(st->tsig_error != 0 ? st->tsig_error : st->rcode, rb),
			                  rep.aa ? "" : ", not authoritative");
		if (ret == DW_OK)
			ret = dw_dns_reply_names(w, wl, out->apex, types[t], names,
			                         types[t] == TYPE_SOA ? 1 : DW_DNS_NS_MAX, &k, NULL, diag);
		if (ret == DW_EPARSE)
			dw_diag_set(diag, DW_EPARSE, "unparsable reply from %s", srv->text);
		free(w);
		if (ret == DW_OK && k == 0)
			ret = dw_diag_set(diag, DW_EPROVIDER, "%s serves no %s record at %s", srv->text,
			                  tname, out->apex[0] ? out->apex : ".");
		if (ret == DW_OK && types[t] == TYPE_SOA && out->mname[0] == '\0')
			memcpy(out->mname, names[0], sizeof(out->mname));
		if (ret == DW_OK && types[t] == TYPE_NS)
			ret = ns_merge(out, names, k, diag);
	}
	if (ret != DW_OK || strcmp(name, out->apex) == 0)
		return ret;
	/* Any type will do: at or below a delegation the answer is a referral. */
	uint8_t *w = NULL;
	size_t wl = 0, none = 0;
	struct dw_dns_reply rep;
	char cut[DW_DNS_NAME_MAX];
	ret = query(srv, key, name, TYPE_A, &w, &wl, &rep, st, diag);
	if (ret == DW_OK && (st->tsig_error != 0 || (st->rcode != DW_RCODE_NOERROR &&
	                                             st->rcode != DW_RCODE_NXDOMAIN)))
		ret = dw_diag_set(diag, DW_EPROVIDER, "%s did not answer a query for %s (%s)",
		                  srv->text, name,
		                  dw_rcode_str(st->tsig_error != 0 ? st->tsig_error : st->rcode, rb));
	if (ret == DW_OK)
		ret = dw_dns_reply_names(w, wl, name, 0, NULL, 0, &none, cut, diag);
	if (ret == DW_EPARSE)
		dw_diag_set(diag, DW_EPARSE, "unparsable reply from %s", srv->text);
	free(w);
	if (ret == DW_OK && cut[0] != '\0' && out->cut[0] == '\0')
		memcpy(out->cut, cut, sizeof(out->cut));
	return ret;
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
	return dw_dns_rrset_look_before(srv, key, name, type, ttl, rdata, n, seen, NULL, st, diag);
}

void dw_dns_before_clear(struct dw_dns_before *b)
{
	ldns_rr_list_deep_free(b->rrs);
	memset(b, 0, sizeof(*b));
}

void dw_dns_before_absent(struct dw_dns_before *b)
{
	dw_dns_before_clear(b);
	b->known = true;
}

bool dw_dns_before_same(const struct dw_dns_before *a, const struct dw_dns_before *b)
{
	if (!a->known || !b->known || a->n != b->n)
		return false;
	/* Both sorted when filled; TTLs are 0 in both. */
	for (size_t i = 0; i < a->n; i++)
		if (ldns_rr_compare(ldns_rr_list_rr(a->rrs, i), ldns_rr_list_rr(b->rrs, i)) != 0)
			return false;
	return true;
}

int dw_dns_before_from_reply(const uint8_t *wire, size_t len, const char *name, uint16_t type,
                             struct dw_dns_before *b)
{
	dw_dns_before_clear(b);
	ldns_pkt *p = NULL;
	ldns_rdf *owner = mk_dname(name);
	ldns_rr_list *l = ldns_rr_list_new();
	int ret = DW_OK;
	if (owner == NULL || l == NULL) {
		ret = DW_ENOMEM;
		goto out;
	}
	if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK) {
		ret = DW_EPARSE;
		goto out;
	}
	ldns_rr_list *ans = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		if (ldns_rr_get_type(rr) != (ldns_rr_type)type ||
		    ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		if (c == NULL || !ldns_rr_list_push_rr(l, c)) {
			ldns_rr_free(c);
			ret = DW_ENOMEM;
			goto out;
		}
		ldns_rr_set_ttl(c, 0);
		ldns_rr_set_class(c, LDNS_RR_CLASS_IN);
		/* The owner as asked (the reply's case may differ). */
		ldns_rdf *o = ldns_rdf_clone(owner);
		if (o == NULL) {
			ret = DW_ENOMEM;
			goto out;
		}
		ldns_rdf_deep_free(ldns_rr_owner(c));
		ldns_rr_set_owner(c, o);
	}
	ldns_rr_list_sort(l);
	b->n = ldns_rr_list_rr_count(l);
	b->rrs = l;
	b->known = true;
	l = NULL;
out:
	ldns_rr_list_deep_free(l);
	ldns_rdf_deep_free(owner);
	ldns_pkt_free(p);
	return ret;
}

int dw_dns_rrset_look_before(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                             const char *name, uint16_t type, uint32_t ttl,
                             const char *const *rdata, size_t n, struct dw_dns_seen *seen,
                             struct dw_dns_before *before, struct dw_dns_status *st,
                             struct dw_diag *diag)
{
	memset(seen, 0, sizeof(*seen));
	if (before != NULL)
		dw_dns_before_clear(before);
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
	if (ret == DW_OK && before != NULL &&
	    (st->rcode == DW_RCODE_NOERROR || st->rcode == DW_RCODE_NXDOMAIN)) {
		ret = dw_dns_before_from_reply(w, wl, name, type, before);
		if (ret != DW_OK)
			dw_diag_set(diag, ret, ret == DW_ENOMEM ? "out of memory" :
			            "unparsable reply from %s", srv->text);
	}
out:
	free(w);
	return ret;
}

/* The prerequisite section for pre (see struct dw_dns_before): copies of
 * its RRs, or one "RRset does not exist" for name/type.  NULL when pre is
 * NULL or not known (no prerequisite) and on failure (*err set). */
static ldns_rr_list *mk_prereq(const char *name, uint16_t type, const struct dw_dns_before *pre,
                               int *err)
{
	*err = DW_OK;
	if (pre == NULL || !pre->known)
		return NULL;
	if (pre->n > 0) {
		ldns_rr_list *l = ldns_rr_list_clone(pre->rrs);
		if (l == NULL)
			*err = DW_ENOMEM;
		return l;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *owner = mk_dname(name);
	if (l == NULL || rr == NULL || owner == NULL) {
		ldns_rr_list_free(l);
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		*err = DW_ENOMEM;
		return NULL;
	}
	/* RFC 2136 2.4.3: class NONE, TTL 0, no RDATA. */
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, (ldns_rr_type)type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, 0);
	ldns_rr_set_question(rr, false);
	ldns_rr_list_push_rr(l, rr);
	return l;
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
                         const struct dw_dns_before *pre,
                         struct dw_dns_status *st, struct dw_diag *diag)
{
	memset(st, 0, sizeof(*st));
	if (!dw_dns_name_in_zone(name, zone))
		return dw_diag_set(diag, DW_EINVAL, "%s is not inside zone %s", name, zone);
	int perr;
	ldns_rr_list *pr = mk_prereq(name, type, pre, &perr);
	if (perr != DW_OK)
		return dw_diag_set(diag, perr, "out of memory");
	ldns_rr_list *up = mk_rrs(name, type, ttl, rdata, n, diag);
	if (up == NULL) {
		ldns_rr_list_deep_free(pr);
		return DW_EINVAL;
	}
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
	/* takes zrdf, copies pr and upd */
	q = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, pr, upd, NULL);
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
	ldns_rr_list_deep_free(pr);
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
                      const struct dw_dns_before *pre,
                      struct dw_dns_status *st, struct dw_diag *diag)
{
	memset(st, 0, sizeof(*st));
	if (!dw_dns_name_in_zone(name, zone))
		return dw_diag_set(diag, DW_EINVAL, "%s is not inside zone %s", name, zone);
	int perr;
	ldns_rr_list *pr = mk_prereq(name, type, pre, &perr);
	if (perr != DW_OK)
		return dw_diag_set(diag, perr, "out of memory");
	ldns_rr_list *upd = mk_rrs(name, type, ttl, rdata, n, diag);
	if (upd == NULL) {
		ldns_rr_list_deep_free(pr);
		return DW_EINVAL;
	}
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
	q = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, pr, upd, NULL);   /* takes zrdf */
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
	ldns_rr_list_deep_free(pr);
	ldns_rr_list_deep_free(upd);
	ldns_rdf_deep_free(zrdf);
	return ret;
}
