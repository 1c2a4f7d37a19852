/* Address parsing, classification and selection (protocols.md section 9).
 *
 * Pure code: everything here works on values, so the policy can be tested
 * exhaustively without a kernel. */
#include "lib/addr.h"

#include <arpa/inet.h>
#include <limits.h>
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
	[DW_REJ_PRIVATE]     = { "private",       "private or carrier-grade NAT range" },
	[DW_REJ_DOC]         = { "documentation", "documentation range" },
	[DW_REJ_TENTATIVE]   = { "tentative",     "tentative (duplicate address detection not finished)" },
	[DW_REJ_DADFAILED]   = { "dad-failed",    "duplicate address detection failed" },
	[DW_REJ_DEPRECATED]  = { "deprecated",    "deprecated (preferred lifetime 0)" },
	[DW_REJ_TEMPORARY]   = { "temporary",     "temporary privacy address" },
	[DW_REJ_NOMATCH]     = { "no-match",      "outside the match prefix" },
	[DW_REJ_OUTRANKED]   = { "outranked",     "another address is preferred" },
	[DW_REJ_RESERVED]    = { "reserved",      "reserved range, never published" },
};

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

/* One special-purpose range: prefix bytes, length in bits, verdict. */
struct range {
	uint8_t bytes[16];
	uint8_t len;
	enum dw_reject why;
};

/* Order matters only where ranges nest (0.0.0.0/32 inside 0/8). */
static const struct range v4_ranges[] = {
	{ { 0, 0, 0, 0 },       32, DW_REJ_UNSPECIFIED },
	{ { 0 },                 8, DW_REJ_RESERVED },     /* "this network" */
	{ { 127 },               8, DW_REJ_LOOPBACK },
	{ { 224 },               4, DW_REJ_MULTICAST },
	{ { 240 },               4, DW_REJ_RESERVED },     /* incl. broadcast */
	{ { 198, 18 },          15, DW_REJ_RESERVED },     /* benchmarking */
	{ { 169, 254 },         16, DW_REJ_LINKLOCAL },
	{ { 10 },                8, DW_REJ_PRIVATE },
	{ { 172, 16 },          12, DW_REJ_PRIVATE },
	{ { 192, 168 },         16, DW_REJ_PRIVATE },
	{ { 100, 64 },          10, DW_REJ_PRIVATE },      /* CGNAT */
	{ { 192, 0, 0 },        24, DW_REJ_PRIVATE },      /* DS-Lite et al. */
	{ { 192, 0, 2 },        24, DW_REJ_DOC },
	{ { 198, 51, 100 },     24, DW_REJ_DOC },
	{ { 203, 0, 113 },      24, DW_REJ_DOC },
};

static const struct range v6_ranges[] = {
	{ { 0 },                                           128, DW_REJ_UNSPECIFIED },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128, DW_REJ_LOOPBACK },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },     96, DW_REJ_RESERVED }, /* v4-mapped */
	{ { 0 },                                            96, DW_REJ_RESERVED }, /* v4-compatible */
	{ { 0x01, 0x00 },                                   64, DW_REJ_RESERVED }, /* discard */
	{ { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 },           48, DW_REJ_RESERVED }, /* benchmarking */
	{ { 0xff },                                          8, DW_REJ_MULTICAST },
	{ { 0xfe, 0x80 },                                   10, DW_REJ_LINKLOCAL },
	{ { 0xfe, 0xc0 },                                   10, DW_REJ_RESERVED }, /* old site-local */
	{ { 0xfc },                                          7, DW_REJ_ULA },
	{ { 0x20, 0x01, 0x0d, 0xb8 },                       32, DW_REJ_DOC },
	{ { 0x3f, 0xff },                                   20, DW_REJ_DOC },
};

static enum dw_reject classify_range(const struct dw_ip *ip)
{
	const struct range *r = ip->family == DW_FAM_V6 ? v6_ranges : v4_ranges;
	size_t n = ip->family == DW_FAM_V6 ? sizeof(v6_ranges) / sizeof(v6_ranges[0])
	                                   : sizeof(v4_ranges) / sizeof(v4_ranges[0]);
	for (size_t i = 0; i < n; i++)
		if (bits_equal(r[i].bytes, ip->bytes, r[i].len))
			return r[i].why;
	/* IANA allocates IPv6 global unicast from 2000::/3 only; the rest of
	 * the space (e.g. NAT64 64:ff9b::/96) is never a host's own address. */
	if (ip->family == DW_FAM_V6 && (ip->bytes[0] & 0xE0u) != 0x20u)
		return DW_REJ_RESERVED;
	return DW_REJ_NONE;
}

/* Which accept bit lifts a range rejection (0: none can). */
static unsigned accept_bit(enum dw_reject r)
{
	switch (r) {
	case DW_REJ_LOOPBACK:  return DW_ACCEPT_LOOPBACK;
	case DW_REJ_LINKLOCAL: return DW_ACCEPT_LINKLOCAL;
	case DW_REJ_ULA:       return DW_ACCEPT_ULA;
	case DW_REJ_PRIVATE:   return DW_ACCEPT_PRIVATE;
	case DW_REJ_DOC:       return DW_ACCEPT_DOC;
	case DW_REJ_TEMPORARY: return DW_ACCEPT_TEMPORARY;
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

	enum dw_reject r = classify_range(&a->ip);
	/* The kernel's scope is authoritative when it is narrower than the
	 * address suggests (e.g. "ip addr add ... scope link"). */
	if (r == DW_REJ_NONE && a->scope == DW_SCOPE_HOST)
		r = DW_REJ_LOOPBACK;
	else if (r == DW_REJ_NONE && a->scope == DW_SCOPE_LINK)
		r = DW_REJ_LINKLOCAL;
	if (r != DW_REJ_NONE && (accept_bit(r) == 0 || (p->accept & accept_bit(r)) == 0))
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
