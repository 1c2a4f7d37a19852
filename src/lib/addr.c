/* Address parsing, classification and selection (protocols.md section 9).
 *
 * Pure code: everything here works on values, so the policy can be tested
 * exhaustively without a kernel. */
#include "lib/addr.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

/* Kernel RT_SCOPE_* values used for classification (rtnetlink.h). */
#define DW_SCOPE_LINK 253u
#define DW_SCOPE_HOST 254u

const char *dw_family_rrtype(enum dw_family fam)
{
	return fam == DW_FAM_V6 ? "AAAA" : "A";
}

const char *dw_family_name(enum dw_family fam)
{
	return fam == DW_FAM_V6 ? "ipv6" : "ipv4";
}

static size_t fam_len(enum dw_family fam)
{
	return fam == DW_FAM_V6 ? 16 : 4;
}

int dw_ip_parse(const char *s, enum dw_family fam, struct dw_ip *out)
{
	if (s == NULL || out == NULL || (fam != DW_FAM_V4 && fam != DW_FAM_V6))
		return DW_EINVAL;
	/* inet_pton is strict (no blanks, no shorthand like "1.2.3"); bound the
	 * length first so absurd inputs are cheap to refuse. */
	if (strnlen(s, DW_IP_STRLEN) >= DW_IP_STRLEN)
		return DW_EINVAL;
	struct dw_ip ip;
	memset(&ip, 0, sizeof(ip));
	ip.family = fam;
	if (inet_pton(fam == DW_FAM_V6 ? AF_INET6 : AF_INET, s, ip.bytes) != 1)
		return DW_EINVAL;
	*out = ip;
	return 0;
}

int dw_ip_parse_any(const char *s, struct dw_ip *out)
{
	if (s == NULL)
		return DW_EINVAL;
	return dw_ip_parse(s, strchr(s, ':') != NULL ? DW_FAM_V6 : DW_FAM_V4, out);
}

const char *dw_ip_format(const struct dw_ip *ip, char buf[DW_IP_STRLEN])
{
	if (ip == NULL || inet_ntop(ip->family == DW_FAM_V6 ? AF_INET6 : AF_INET,
	                            ip->bytes, buf, DW_IP_STRLEN) == NULL) {
		/* Cannot happen with a valid family and buffer; never leave garbage. */
		memcpy(buf, "?", 2);
	}
	return buf;
}

bool dw_ip_equal(const struct dw_ip *a, const struct dw_ip *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, fam_len(a->family)) == 0;
}

int dw_addr_list_push(struct dw_addr_list *l, const struct dw_ifaddr *a)
{
	if (l->n >= DW_ADDR_LIST_MAX)
		return DW_ETOOBIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		if (cap > DW_ADDR_LIST_MAX)
			cap = DW_ADDR_LIST_MAX;
		struct dw_ifaddr *nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return DW_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *a;
	return 0;
}

void dw_addr_list_free(struct dw_addr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static const struct {
	const char *name;
	unsigned bit;
} accept_names[] = {
	{ "private",       DW_ACCEPT_PRIVATE },
	{ "ula",           DW_ACCEPT_ULA },
	{ "temporary",     DW_ACCEPT_TEMPORARY },
	{ "documentation", DW_ACCEPT_DOC },
	{ "link-local",    DW_ACCEPT_LINKLOCAL },
	{ "loopback",      DW_ACCEPT_LOOPBACK },
	{ "cgn",           DW_ACCEPT_CGN },
	{ "6to4",          DW_ACCEPT_6TO4 },
	{ "teredo",        DW_ACCEPT_TEREDO },
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int dw_accept_parse(const char *s, unsigned *out)
{
	if (s == NULL || out == NULL)
		return DW_EINVAL;
	const char *p = s;
	while (is_blank(*p))
		p++;
	if (*p == '\0') {
		*out = 0;
		return 0;
	}
	unsigned bits = 0;
	for (;;) {
		while (is_blank(*p))
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ',')
			p++;
		const char *end = p;
		while (end > start && is_blank(end[-1]))
			end--;
		size_t len = (size_t)(end - start);
		bool found = false;
		for (size_t i = 0; i < sizeof(accept_names) / sizeof(accept_names[0]); i++) {
			if (strlen(accept_names[i].name) == len &&
			    memcmp(accept_names[i].name, start, len) == 0) {
				bits |= accept_names[i].bit;
				found = true;
				break;
			}
		}
		if (!found)
			return DW_EINVAL;   /* also an empty item: "ula,,private" */
		if (*p == '\0')
			break;
		p++;   /* past ',' */
	}
	*out = bits;
	return 0;
}

/* Whether the first len bits of a and b are equal. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int dw_prefix_parse(const char *s, enum dw_family fam, struct dw_prefix *out)
{
	if (s == NULL || out == NULL)
		return DW_EINVAL;
	const char *slash = strchr(s, '/');
	if (slash == NULL || slash == s)
		return DW_EINVAL;
	size_t alen = (size_t)(slash - s);
	char abuf[DW_IP_STRLEN];
	if (alen >= sizeof(abuf))
		return DW_EINVAL;
	memcpy(abuf, s, alen);
	abuf[alen] = '\0';

	/* Decimal digits only (no sign, blanks or leading zeros beyond "0"). */
	const char *d = slash + 1;
	size_t dlen = strlen(d);
	if (dlen == 0 || dlen > 3 || (dlen > 1 && d[0] == '0'))
		return DW_EINVAL;
	unsigned len = 0;
	for (size_t i = 0; i < dlen; i++) {
		if (d[i] < '0' || d[i] > '9')
			return DW_EINVAL;
		len = len * 10 + (unsigned)(d[i] - '0');
	}
	if (len > fam_len(fam) * 8)
		return DW_EINVAL;

	struct dw_prefix p;
	memset(&p, 0, sizeof(p));
	if (dw_ip_parse(abuf, fam, &p.ip) != 0)
		return DW_EINVAL;
	p.len = (uint8_t)len;
	/* Host bits must be zero: compare with an all-zero suffix. */
	struct dw_ip masked = p.ip;
	unsigned total = (unsigned)fam_len(fam) * 8;
	for (unsigned bit = len; bit < total; bit++)
		masked.bytes[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	if (memcmp(masked.bytes, p.ip.bytes, sizeof(masked.bytes)) != 0)
		return DW_EINVAL;
	*out = p;
	return 0;
}

bool dw_prefix_contains(const struct dw_prefix *p, const struct dw_ip *ip)
{
	if (p == NULL || ip == NULL || p->ip.family != ip->family)
		return false;
	if (p->len > fam_len(ip->family) * 8)
		return false;
	return bits_equal(p->ip.bytes, ip->bytes, p->len);
}

static const struct {
	const char *name;
	const char *text;
} reject_table[] = {
	[DW_REJ_NONE]        = { "ok",            "acceptable" },
	[DW_REJ_FAMILY]      = { "family",        "other address family" },
	[DW_REJ_IFACE]       = { "interface",     "other interface" },
	[DW_REJ_LOOPBACK]    = { "loopback",      "loopback address" },
	[DW_REJ_LINKLOCAL]   = { "link-local",    "link-local address" },
	[DW_REJ_MULTICAST]   = { "multicast",     "multicast address" },
	[DW_REJ_UNSPECIFIED] = { "unspecified",   "unspecified address" },
	[DW_REJ_ULA]         = { "ula",           "unique local address (fc00::/7)" },
	[DW_REJ_PRIVATE]     = { "private",       "private-use range (RFC 1918)" },
	[DW_REJ_DOC]         = { "documentation", "documentation range" },
	[DW_REJ_TENTATIVE]   = { "tentative",     "tentative (duplicate address detection not finished)" },
	[DW_REJ_DADFAILED]   = { "dad-failed",    "duplicate address detection failed" },
	[DW_REJ_DEPRECATED]  = { "deprecated",    "deprecated (preferred lifetime 0)" },
	[DW_REJ_TEMPORARY]   = { "temporary",     "temporary privacy address" },
	[DW_REJ_NOMATCH]     = { "no-match",      "outside the match prefix" },
	[DW_REJ_OUTRANKED]   = { "outranked",     "another address is preferred" },
	[DW_REJ_RESERVED]    = { "reserved",      "reserved range, never published" },
	[DW_REJ_CGN]         = { "cgn",           "carrier-grade NAT shared address (100.64.0.0/10)" },
	[DW_REJ_DSLITE]      = { "ds-lite",       "DS-Lite B4 address (192.0.0.0/29): IPv4 is tunnelled to the provider" },
	[DW_REJ_IETF]        = { "ietf",          "IETF protocol assignment, never a host's address" },
	[DW_REJ_ANYCAST]     = { "anycast",       "service anycast address, never a host's own" },
	[DW_REJ_BENCHMARK]   = { "benchmarking",  "benchmarking range" },
	[DW_REJ_NAT64]       = { "nat64",         "NAT64 translation prefix, never a host's own address" },
	[DW_REJ_MAPPED]      = { "ipv4-mapped",   "IPv4-mapped IPv6 address" },
	[DW_REJ_DISCARD]     = { "discard",       "discard or dummy prefix" },
	[DW_REJ_IDENTIFIER]  = { "identifier",    "cryptographic identifier (ORCHID, DET), not routable" },
	[DW_REJ_SRV6]        = { "srv6",          "SRv6 segment identifier, not a host address" },
	[DW_REJ_6TO4]        = { "6to4",          "6to4 address (2002::/16)" },
	[DW_REJ_TEREDO]      = { "teredo",        "Teredo address (2001::/32)" },
	[DW_REJ_WRAPPED]     = { "wrapped",       "6to4 or Teredo address wrapping a non-global IPv4 address" },
};

_Static_assert(sizeof(reject_table) / sizeof(reject_table[0]) == DW_REJ_LAST + 1,
               "every dw_reject has a name");

const char *dw_reject_str(enum dw_reject r)
{
	if ((unsigned)r >= sizeof(reject_table) / sizeof(reject_table[0]))
		return "unknown reason";
	return reject_table[r].text;
}

const char *dw_reject_name(enum dw_reject r)
{
	if ((unsigned)r >= sizeof(reject_table) / sizeof(reject_table[0]))
		return "unknown";
	return reject_table[r].name;
}

/* One row of a special-purpose registry: prefix bytes, length in bits,
 * verdict and why.  Lookup takes the longest matching prefix, so rows may
 * nest in any order (192.0.0.0/29 inside 192.0.0.0/24). */
struct range {
	uint8_t bytes[16];
	uint8_t len;
	enum dw_reject why;
	const char *text;
};

/* IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its updates),
 * plus multicast (224.0.0.0/4, RFC 5771). */
static const struct range v4_ranges[] = {
	{ { 0 },                 8, DW_REJ_RESERVED,    "\"this network\" (0.0.0.0/8, RFC 791), only a source before an address is known" },
	{ { 0, 0, 0, 0 },       32, DW_REJ_UNSPECIFIED, "unspecified address (0.0.0.0/32, RFC 1122)" },
	{ { 10 },                8, DW_REJ_PRIVATE,     "private-use (10.0.0.0/8, RFC 1918)" },
	{ { 100, 64 },          10, DW_REJ_CGN,         "shared address space of carrier-grade NAT (100.64.0.0/10, RFC 6598): the provider's side of a NAT" },
	{ { 127 },               8, DW_REJ_LOOPBACK,    "loopback (127.0.0.0/8, RFC 1122)" },
	{ { 169, 254 },         16, DW_REJ_LINKLOCAL,   "link-local (169.254.0.0/16, RFC 3927)" },
	{ { 172, 16 },          12, DW_REJ_PRIVATE,     "private-use (172.16.0.0/12, RFC 1918)" },
	{ { 192, 0, 0 },        24, DW_REJ_IETF,        "IETF protocol assignment (192.0.0.0/24, RFC 6890)" },
	{ { 192, 0, 0, 0 },     29, DW_REJ_DSLITE,      "DS-Lite B4 address (192.0.0.0/29, RFC 6333, RFC 7335): IPv4 is tunnelled to the provider's AFTR and shares its public address" },
	{ { 192, 0, 0, 8 },     32, DW_REJ_IETF,        "IPv4 dummy address (192.0.0.8/32, RFC 7600)" },
	{ { 192, 0, 0, 9 },     32, DW_REJ_ANYCAST,     "Port Control Protocol anycast (192.0.0.9/32, RFC 7723)" },
	{ { 192, 0, 0, 10 },    32, DW_REJ_ANYCAST,     "TURN anycast (192.0.0.10/32, RFC 8155)" },
	{ { 192, 0, 0, 170 },   32, DW_REJ_NAT64,       "NAT64/DNS64 discovery (192.0.0.170/32, RFC 8880)" },
	{ { 192, 0, 0, 171 },   32, DW_REJ_NAT64,       "NAT64/DNS64 discovery (192.0.0.171/32, RFC 8880)" },
	{ { 192, 0, 2 },        24, DW_REJ_DOC,         "documentation, TEST-NET-1 (192.0.2.0/24, RFC 5737)" },
	{ { 192, 31, 196 },     24, DW_REJ_ANYCAST,     "AS112 anycast (192.31.196.0/24, RFC 7535)" },
	{ { 192, 52, 193 },     24, DW_REJ_ANYCAST,     "AMT relay anycast (192.52.193.0/24, RFC 7450)" },
	{ { 192, 88, 99 },      24, DW_REJ_ANYCAST,     "former 6to4 relay anycast (192.88.99.0/24, deprecated by RFC 7526)" },
	{ { 192, 168 },         16, DW_REJ_PRIVATE,     "private-use (192.168.0.0/16, RFC 1918)" },
	{ { 192, 175, 48 },     24, DW_REJ_ANYCAST,     "AS112 direct delegation (192.175.48.0/24, RFC 7534)" },
	{ { 198, 18 },          15, DW_REJ_BENCHMARK,   "benchmarking (198.18.0.0/15, RFC 2544)" },
	{ { 198, 51, 100 },     24, DW_REJ_DOC,         "documentation, TEST-NET-2 (198.51.100.0/24, RFC 5737)" },
	{ { 203, 0, 113 },      24, DW_REJ_DOC,         "documentation, TEST-NET-3 (203.0.113.0/24, RFC 5737)" },
	{ { 224 },               4, DW_REJ_MULTICAST,   "multicast (224.0.0.0/4, RFC 5771)" },
	{ { 240 },               4, DW_REJ_RESERVED,    "reserved (240.0.0.0/4, RFC 1112)" },
	{ { 255, 255, 255, 255 }, 32, DW_REJ_RESERVED,  "limited broadcast (255.255.255.255/32, RFC 919)" },
};

/* IANA IPv6 Special-Purpose Address Registry, plus multicast, the
 * deprecated site-local and IPv4-compatible ranges, and (in
 * dw_addr_classify) everything outside global unicast 2000::/3. */
static const struct range v6_ranges[] = {
	{ { 0 },                                              128, DW_REJ_UNSPECIFIED, "unspecified address (::/128, RFC 4291)" },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },  128, DW_REJ_LOOPBACK,   "loopback (::1/128, RFC 4291)" },
	{ { 0 },                                               96, DW_REJ_RESERVED,   "IPv4-compatible (::/96, deprecated by RFC 4291)" },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },        96, DW_REJ_MAPPED,     "IPv4-mapped (::ffff:0:0/96, RFC 4291): an IPv4 address in IPv6 form" },
	{ { 0, 0x64, 0xff, 0x9b },                             96, DW_REJ_NAT64,      "NAT64 well-known prefix (64:ff9b::/96, RFC 6052): stands for an IPv4 host behind a translator" },
	{ { 0, 0x64, 0xff, 0x9b, 0, 1 },                       48, DW_REJ_NAT64,      "local-use NAT64 prefix (64:ff9b:1::/48, RFC 8215)" },
	{ { 0x01, 0x00 },                                      64, DW_REJ_DISCARD,    "discard-only (100::/64, RFC 6666)" },
	{ { 0x01, 0x00, 0, 0, 0, 0, 0, 1 },                    64, DW_REJ_DISCARD,    "dummy prefix (100:0:0:1::/64, RFC 9780)" },
	{ { 0x20, 0x01 },                                      23, DW_REJ_IETF,       "IETF protocol assignment (2001::/23, RFC 2928)" },
	{ { 0x20, 0x01, 0, 0 },                                32, DW_REJ_TEREDO,     "Teredo (2001::/32, RFC 4380)" },
	{ { 0x20, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128, DW_REJ_ANYCAST, "Port Control Protocol anycast (2001:1::1/128, RFC 7723)" },
	{ { 0x20, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 }, 128, DW_REJ_ANYCAST, "TURN anycast (2001:1::2/128, RFC 8155)" },
	{ { 0x20, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3 }, 128, DW_REJ_ANYCAST, "DNS-SD service registration anycast (2001:1::3/128, RFC 9665)" },
	{ { 0x20, 0x01, 0, 2, 0, 0 },                          48, DW_REJ_BENCHMARK,  "benchmarking (2001:2::/48, RFC 5180)" },
	{ { 0x20, 0x01, 0, 3 },                                32, DW_REJ_ANYCAST,    "AMT relay anycast (2001:3::/32, RFC 7450)" },
	{ { 0x20, 0x01, 0, 4, 0x01, 0x12 },                    48, DW_REJ_ANYCAST,    "AS112 anycast (2001:4:112::/48, RFC 7535)" },
	{ { 0x20, 0x01, 0, 0x10 },                             28, DW_REJ_IDENTIFIER, "ORCHID (2001:10::/28, deprecated, RFC 4843)" },
	{ { 0x20, 0x01, 0, 0x20 },                             28, DW_REJ_IDENTIFIER, "ORCHIDv2 (2001:20::/28, RFC 7343)" },
	{ { 0x20, 0x01, 0, 0x30 },                             28, DW_REJ_IDENTIFIER, "drone remote ID entity tags (2001:30::/28, RFC 9374)" },
	{ { 0x20, 0x01, 0x0d, 0xb8 },                          32, DW_REJ_DOC,        "documentation (2001:db8::/32, RFC 3849)" },
	{ { 0x20, 0x02 },                                      16, DW_REJ_6TO4,       "6to4 (2002::/16, RFC 3056)" },
	{ { 0x26, 0x20, 0, 0x4f, 0x80, 0x00 },                 48, DW_REJ_ANYCAST,    "AS112 direct delegation (2620:4f:8000::/48, RFC 7534)" },
	{ { 0x3f, 0xff },                                      20, DW_REJ_DOC,        "documentation (3fff::/20, RFC 9637)" },
	{ { 0x5f, 0x00 },                                      16, DW_REJ_SRV6,       "SRv6 segment identifiers (5f00::/16, RFC 9602)" },
	{ { 0xfc },                                             7, DW_REJ_ULA,        "unique local (fc00::/7, RFC 4193)" },
	{ { 0xfe, 0x80 },                                      10, DW_REJ_LINKLOCAL,  "link-local (fe80::/10, RFC 4291)" },
	{ { 0xfe, 0xc0 },                                      10, DW_REJ_RESERVED,   "site-local (fec0::/10, deprecated by RFC 3879)" },
	{ { 0xff },                                             8, DW_REJ_MULTICAST,  "multicast (ff00::/8, RFC 4291)" },
};

static const char v6_outside_text[] =
	"reserved by the IETF (outside global unicast 2000::/3, RFC 4291)";

/* The most specific row holding ip, or NULL. */
static const struct range *range_of(const struct dw_ip *ip)
{
	const struct range *r = ip->family == DW_FAM_V6 ? v6_ranges : v4_ranges;
	size_t n = ip->family == DW_FAM_V6 ? sizeof(v6_ranges) / sizeof(v6_ranges[0])
	                                   : sizeof(v4_ranges) / sizeof(v4_ranges[0]);
	const struct range *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (bits_equal(r[i].bytes, ip->bytes, r[i].len) && (best == NULL || r[i].len > best->len))
			best = &r[i];
	return best;
}

/* The IPv4 addresses a 6to4 or Teredo address carries: 6to4 its gateway
 * (bits 16-47); Teredo its server (bits 32-63) and its client (the last 32
 * bits, inverted).  Returns how many were written to out (0, 1 or 2). */
static size_t wrapped_v4(const struct dw_ip *ip, enum dw_reject outer, struct dw_ip out[2],
                         const char *role[2])
{
	memset(out, 0, 2 * sizeof(out[0]));
	out[0].family = out[1].family = DW_FAM_V4;
	if (outer == DW_REJ_6TO4) {
		memcpy(out[0].bytes, ip->bytes + 2, 4);
		role[0] = "6to4 gateway";
		return 1;
	}
	if (outer == DW_REJ_TEREDO) {
		memcpy(out[0].bytes, ip->bytes + 4, 4);
		role[0] = "Teredo server";
		for (size_t i = 0; i < 4; i++)
			out[1].bytes[i] = (uint8_t)~ip->bytes[12 + i];
		role[1] = "Teredo client";
		return 2;
	}
	return 0;
}

/* The classification without looking inside 6to4 and Teredo. */
static enum dw_reject classify_plain(const struct dw_ip *ip, const char **reason)
{
	const struct range *r = range_of(ip);
	if (r != NULL) {
		if (reason != NULL)
			*reason = r->text;
		return r->why;
	}
	/* IANA allocates IPv6 global unicast from 2000::/3 only. */
	if (ip->family == DW_FAM_V6 && (ip->bytes[0] & 0xE0u) != 0x20u) {
		if (reason != NULL)
			*reason = v6_outside_text;
		return DW_REJ_RESERVED;
	}
	if (reason != NULL)
		*reason = "global unicast";
	return DW_REJ_NONE;
}

/* The first wrapped IPv4 address that is not global (its index), or -1. */
static int bad_wrapped(const struct dw_ip *ip, enum dw_reject outer, struct dw_ip v4[2],
                       const char *role[2])
{
	size_t n = wrapped_v4(ip, outer, v4, role);
	for (size_t i = 0; i < n; i++)
		if (classify_plain(&v4[i], NULL) != DW_REJ_NONE)
			return (int)i;
	return -1;
}

enum dw_reject dw_addr_classify(const struct dw_ip *ip, const char **reason)
{
	enum dw_reject r = classify_plain(ip, reason);
	if (r == DW_REJ_6TO4 || r == DW_REJ_TEREDO) {
		struct dw_ip v4[2];
		const char *role[2] = { NULL, NULL };
		if (bad_wrapped(ip, r, v4, role) >= 0) {
			if (reason != NULL)
				*reason = r == DW_REJ_6TO4
				          ? "6to4 address (2002::/16, RFC 3056) wrapping a non-global IPv4 address"
				          : "Teredo address (2001::/32, RFC 4380) wrapping a non-global IPv4 address";
			return DW_REJ_WRAPPED;
		}
	}
	return r;
}

/* snprintf that may truncate (messages): the result stays terminated. */
static void fmt_into(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt_into(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
}

const char *dw_addr_describe(const struct dw_ip *ip, char *buf, size_t cap)
{
	if (cap == 0)
		return buf;
	const char *reason = NULL;
	enum dw_reject r = classify_plain(ip, &reason);
	struct dw_ip v4[2];
	const char *role[2] = { NULL, NULL };
	int bad = (r == DW_REJ_6TO4 || r == DW_REJ_TEREDO) ? bad_wrapped(ip, r, v4, role) : -1;
	if (bad < 0) {
		fmt_into(buf, cap, "%s", reason);
		return buf;
	}
	const char *inner = NULL;
	classify_plain(&v4[bad], &inner);
	char a[DW_IP_STRLEN];
	fmt_into(buf, cap, "%s whose %s is %s: %s", reason, role[bad], dw_ip_format(&v4[bad], a),
	         inner);
	return buf;
}

const char *dw_reject_explain(const struct dw_ip *ip, enum dw_reject r, char *buf, size_t cap)
{
	if (r != DW_REJ_NONE && cap > 0 && dw_addr_classify(ip, NULL) == r)
		return dw_addr_describe(ip, buf, cap);
	return dw_reject_str(r);
}

unsigned dw_accept_bit(enum dw_reject r)
{
	switch (r) {
	case DW_REJ_LOOPBACK:  return DW_ACCEPT_LOOPBACK;
	case DW_REJ_LINKLOCAL: return DW_ACCEPT_LINKLOCAL;
	case DW_REJ_ULA:       return DW_ACCEPT_ULA;
	case DW_REJ_PRIVATE:   return DW_ACCEPT_PRIVATE;
	case DW_REJ_CGN:       return DW_ACCEPT_CGN;
	case DW_REJ_DOC:       return DW_ACCEPT_DOC;
	case DW_REJ_TEMPORARY: return DW_ACCEPT_TEMPORARY;
	case DW_REJ_6TO4:      return DW_ACCEPT_6TO4;
	case DW_REJ_TEREDO:    return DW_ACCEPT_TEREDO;
	default:               return 0;
	}
}

static const struct dw_addr_policy default_policy = { 0 };

enum dw_reject dw_addr_check(const struct dw_ifaddr *a, enum dw_family fam,
                             const char *ifname, const struct dw_addr_policy *p)
{
	if (p == NULL)
		p = &default_policy;
	if (a->ip.family != fam)
		return DW_REJ_FAMILY;
	if (ifname != NULL && strncmp(a->ifname, ifname, sizeof(a->ifname)) != 0)
		return DW_REJ_IFACE;

	enum dw_reject r = dw_addr_classify(&a->ip, NULL);
	/* The kernel's scope is authoritative when it is narrower than the
	 * address suggests (e.g. "ip addr add ... scope link"). */
	if (r == DW_REJ_NONE && a->scope == DW_SCOPE_HOST)
		r = DW_REJ_LOOPBACK;
	else if (r == DW_REJ_NONE && a->scope == DW_SCOPE_LINK)
		r = DW_REJ_LINKLOCAL;
	if (r != DW_REJ_NONE && (dw_accept_bit(r) == 0 || (p->accept & dw_accept_bit(r)) == 0))
		return r;

	if (p->has_match && !dw_prefix_contains(&p->match, &a->ip))
		return DW_REJ_NOMATCH;

	if (a->flags & DW_IFA_DADFAILED)
		return DW_REJ_DADFAILED;
	if (a->flags & DW_IFA_TENTATIVE)
		return DW_REJ_TENTATIVE;
	if ((a->flags & DW_IFA_DEPRECATED) || a->preferred_lft == 0)
		return DW_REJ_DEPRECATED;
	/* For IPv4 the same bit is IFA_F_SECONDARY: a second address in a
	 * subnet, perfectly publishable. */
	if (a->ip.family == DW_FAM_V6 && (a->flags & DW_IFA_TEMPORARY) &&
	    !(p->accept & DW_ACCEPT_TEMPORARY))
		return DW_REJ_TEMPORARY;
	return DW_REJ_NONE;
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

/* Total order on everything that distinguishes two entries, used after the
 * policy's own criteria so the choice never depends on input order. */
static int cmp_tiebreak(const struct dw_ifaddr *a, const struct dw_ifaddr *b)
{
	int c;
	if ((c = cmp_u32(a->prefixlen, b->prefixlen)) != 0)
		return c;
	if ((c = cmp_u32(a->ifindex, b->ifindex)) != 0)
		return c;
	if ((c = strncmp(a->ifname, b->ifname, sizeof(a->ifname))) != 0)
		return c;
	if ((c = cmp_u32(a->flags, b->flags)) != 0)
		return c;
	if ((c = cmp_u32(a->valid_lft, b->valid_lft)) != 0)
		return c;
	if ((c = cmp_u32(a->preferred_lft, b->preferred_lft)) != 0)
		return c;
	return cmp_u32(a->scope, b->scope);
}

/* Negative when a ranks before (is better than) b. */
static int cmp_rank(const struct dw_ifaddr *a, const struct dw_ifaddr *b, enum dw_prefer prefer)
{
	int c;
	size_t len = fam_len(a->ip.family);
	switch (prefer) {
	case DW_PREFER_HIGHEST:
		c = -memcmp(a->ip.bytes, b->ip.bytes, len);
		break;
	case DW_PREFER_LOWEST:
		c = memcmp(a->ip.bytes, b->ip.bytes, len);
		break;
	case DW_PREFER_STABLE:
	default: {
		bool pa = (a->flags & DW_IFA_PERMANENT) != 0;
		bool pb = (b->flags & DW_IFA_PERMANENT) != 0;
		if (pa != pb)
			return pa ? -1 : 1;
		if (a->preferred_lft != b->preferred_lft)
			return a->preferred_lft > b->preferred_lft ? -1 : 1;
		c = memcmp(a->ip.bytes, b->ip.bytes, len);
		break;
	}
	}
	if (c != 0)
		return c;
	return cmp_tiebreak(a, b);
}

int dw_addr_select(const struct dw_ifaddr *v, size_t n, enum dw_family fam,
                   const char *ifname, const struct dw_addr_policy *p,
                   enum dw_reject *reasons)
{
	if (p == NULL)
		p = &default_policy;
	long best = -1;
	for (size_t i = 0; i < n; i++) {
		enum dw_reject r = dw_addr_check(&v[i], fam, ifname, p);
		if (reasons != NULL)
			reasons[i] = r;
		if (r != DW_REJ_NONE)
			continue;
		if (best < 0 || cmp_rank(&v[i], &v[best], p->prefer) < 0)
			best = (long)i;
	}
	if (best < 0)
		return -1;
	if (reasons != NULL)
		for (size_t i = 0; i < n; i++)
			if (reasons[i] == DW_REJ_NONE && (long)i != best)
				reasons[i] = DW_REJ_OUTRANKED;
	return best > INT_MAX ? -1 : (int)best;
}
