/* Unit tests for lib/addr: parsing, classification (every rejection reason
 * and accept bit) and selection (every prefer mode, ties, and independence
 * from input order, checked over all permutations of each scenario). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/error.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define FOREVER DW_LIFETIME_FOREVER
#define PERM DW_IFA_PERMANENT

static struct dw_ifaddr mk(const char *addr, const char *ifname, unsigned ifindex,
                           uint32_t flags, uint32_t preferred)
{
	struct dw_ifaddr a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(dw_ip_parse_any(addr, &a.ip), 0);
	a.prefixlen = a.ip.family == DW_FAM_V6 ? 64 : 24;
	a.flags = flags;
	a.preferred_lft = preferred;
	a.valid_lft = preferred == FOREVER ? FOREVER : preferred + 3600;
	a.ifindex = ifindex;
	snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
	return a;
}

/* ---- dw_ip_parse / format / equal ------------------------------------- */

static const struct {
	const char *s;
	int fam;          /* -1: parse_any */
	int ret;
	const char *canon;
} ip_vectors[] = {
	{ "81.2.69.10", DW_FAM_V4, 0, "81.2.69.10" },
	{ "0.0.0.0", DW_FAM_V4, 0, "0.0.0.0" },
	{ "255.255.255.255", DW_FAM_V4, 0, "255.255.255.255" },
	{ "2a01:4f8:0:0::1", DW_FAM_V6, 0, "2a01:4f8::1" },
	{ "2A01:4F8::ABCD", DW_FAM_V6, 0, "2a01:4f8::abcd" },
	{ "::", DW_FAM_V6, 0, "::" },
	{ "::ffff:81.2.69.1", DW_FAM_V6, 0, "::ffff:81.2.69.1" },
	{ "81.2.69.10", -1, 0, "81.2.69.10" },
	{ "fe80::1", -1, 0, "fe80::1" },
	{ "81.2.69", DW_FAM_V4, DW_EINVAL, NULL },
	{ "81.2.69.256", DW_FAM_V4, DW_EINVAL, NULL },
	{ " 81.2.69.1", DW_FAM_V4, DW_EINVAL, NULL },
	{ "81.2.69.1 ", DW_FAM_V4, DW_EINVAL, NULL },
	{ "081.2.69.1", DW_FAM_V4, DW_EINVAL, NULL },
	{ "2a01:4f8::1", DW_FAM_V4, DW_EINVAL, NULL },
	{ "81.2.69.1", DW_FAM_V6, DW_EINVAL, NULL },
	{ "2a01:4f8:::1", DW_FAM_V6, DW_EINVAL, NULL },
	{ "fe80::1%eth0", DW_FAM_V6, DW_EINVAL, NULL },
	{ "", DW_FAM_V4, DW_EINVAL, NULL },
	{ "", -1, DW_EINVAL, NULL },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999", DW_FAM_V6, DW_EINVAL, NULL },
	{ "0000000000000000000000000000000000000000000000000000000001.2.3.4", DW_FAM_V4, DW_EINVAL, NULL },
};

static void test_ip_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(ip_vectors); i++) {
		struct dw_ip ip;
		int r = ip_vectors[i].fam < 0 ? dw_ip_parse_any(ip_vectors[i].s, &ip)
		                              : dw_ip_parse(ip_vectors[i].s, (enum dw_family)ip_vectors[i].fam, &ip);
		if (r != ip_vectors[i].ret)
			fail_msg("vector %zu (%s): got %d", i, ip_vectors[i].s, r);
		if (r == 0) {
			char buf[DW_IP_STRLEN];
			assert_string_equal(dw_ip_format(&ip, buf), ip_vectors[i].canon);
			struct dw_ip again;
			assert_int_equal(dw_ip_parse_any(buf, &again), 0);
			assert_true(dw_ip_equal(&ip, &again));
		}
	}
	struct dw_ip a, b;
	assert_int_equal(dw_ip_parse_any("81.2.69.1", &a), 0);
	assert_int_equal(dw_ip_parse_any("::5102:4501", &b), 0);   /* same bytes, other family */
	assert_false(dw_ip_equal(&a, &b));
	assert_int_equal(dw_ip_parse(NULL, DW_FAM_V4, &a), DW_EINVAL);
	assert_int_equal(dw_ip_parse_any(NULL, &a), DW_EINVAL);
	assert_string_equal(dw_family_rrtype(DW_FAM_V4), "A");
	assert_string_equal(dw_family_rrtype(DW_FAM_V6), "AAAA");
	assert_string_equal(dw_family_name(DW_FAM_V4), "ipv4");
	assert_string_equal(dw_family_name(DW_FAM_V6), "ipv6");
}

/* ---- dw_accept_parse --------------------------------------------------- */

static const struct {
	const char *s;
	int ret;
	unsigned bits;
} accept_vectors[] = {
	{ "", 0, 0 },
	{ "   ", 0, 0 },
	{ "ula", 0, DW_ACCEPT_ULA },
	{ "ula,temporary", 0, DW_ACCEPT_ULA | DW_ACCEPT_TEMPORARY },
	{ " ula , private\t", 0, DW_ACCEPT_ULA | DW_ACCEPT_PRIVATE },
	{ "private,ula,temporary,documentation,link-local,loopback", 0,
	  DW_ACCEPT_PRIVATE | DW_ACCEPT_ULA | DW_ACCEPT_TEMPORARY | DW_ACCEPT_DOC |
	  DW_ACCEPT_LINKLOCAL | DW_ACCEPT_LOOPBACK },
	{ "ula,ula", 0, DW_ACCEPT_ULA },
	{ "ula,,private", DW_EINVAL, 0 },
	{ ",ula", DW_EINVAL, 0 },
	{ "ula,", DW_EINVAL, 0 },
	{ "ula private", DW_EINVAL, 0 },
	{ "bogus", DW_EINVAL, 0 },
	{ "ULA", DW_EINVAL, 0 },
	{ "doc", DW_EINVAL, 0 },
	{ "cgn,6to4,teredo", 0, DW_ACCEPT_CGN | DW_ACCEPT_6TO4 | DW_ACCEPT_TEREDO },
	{ "shared", DW_EINVAL, 0 },
	{ "ds-lite", DW_EINVAL, 0 },
	{ "linklocal", DW_EINVAL, 0 },
	{ "ulax", DW_EINVAL, 0 },
};

static void test_accept_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(accept_vectors); i++) {
		unsigned bits = 0xdead;
		int r = dw_accept_parse(accept_vectors[i].s, &bits);
		if (r != accept_vectors[i].ret)
			fail_msg("vector %zu (\"%s\"): got %d", i, accept_vectors[i].s, r);
		if (r == 0)
			assert_int_equal(bits, accept_vectors[i].bits);
		else
			assert_int_equal(bits, 0xdead);
	}
}

/* ---- dw_prefix_parse / contains --------------------------------------- */

static const struct {
	const char *s;
	enum dw_family fam;
	int ret;
	unsigned len;
} prefix_vectors[] = {
	{ "2a01:4f8::/32", DW_FAM_V6, 0, 32 },
	{ "::/0", DW_FAM_V6, 0, 0 },
	{ "2a01:4f8::1/128", DW_FAM_V6, 0, 128 },
	{ "10.0.0.0/8", DW_FAM_V4, 0, 8 },
	{ "81.2.69.128/25", DW_FAM_V4, 0, 25 },
	{ "0.0.0.0/0", DW_FAM_V4, 0, 0 },
	{ "81.2.69.1/32", DW_FAM_V4, 0, 32 },
	{ "2a01:4f8::1/32", DW_FAM_V6, DW_EINVAL, 0 },    /* host bits */
	{ "81.2.69.64/25", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/33", DW_FAM_V4, DW_EINVAL, 0 },
	{ "::/129", DW_FAM_V6, DW_EINVAL, 0 },
	{ "10.0.0.0/08", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/+8", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/-8", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/8 ", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0", DW_FAM_V4, DW_EINVAL, 0 },
	{ "/8", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/8/8", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/1000", DW_FAM_V4, DW_EINVAL, 0 },
	{ "2a01:4f8::/32", DW_FAM_V4, DW_EINVAL, 0 },
	{ "10.0.0.0/8", DW_FAM_V6, DW_EINVAL, 0 },
};

static const struct {
	const char *prefix;
	const char *addr;
	bool inside;
} contains_vectors[] = {
	{ "2a01:4f8::/32", "2a01:4f8::1", true },
	{ "2a01:4f8::/32", "2a01:4f8:ffff:ffff::1", true },
	{ "2a01:4f8::/32", "2a01:4f9::1", false },
	{ "2a01:4f8:1:2::/63", "2a01:4f8:1:3::1", true },
	{ "2a01:4f8:1:2::/64", "2a01:4f8:1:3::1", false },
	{ "::/0", "2a01:4f8::1", true },
	{ "::/0", "81.2.69.1", false },                  /* other family */
	{ "81.2.69.128/25", "81.2.69.200", true },
	{ "81.2.69.128/25", "81.2.69.127", false },
	{ "81.2.69.1/32", "81.2.69.1", true },
	{ "81.2.69.1/32", "81.2.69.2", false },
	{ "0.0.0.0/0", "1.2.3.4", true },
};

static void test_prefix(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(prefix_vectors); i++) {
		struct dw_prefix p;
		int r = dw_prefix_parse(prefix_vectors[i].s, prefix_vectors[i].fam, &p);
		if (r != prefix_vectors[i].ret)
			fail_msg("vector %zu (%s): got %d", i, prefix_vectors[i].s, r);
		if (r == 0) {
			assert_int_equal(p.len, prefix_vectors[i].len);
			assert_int_equal(p.ip.family, prefix_vectors[i].fam);
		}
	}
	for (size_t i = 0; i < N_ELEMS(contains_vectors); i++) {
		struct dw_prefix p;
		struct dw_ip ip;
		const char *ps = contains_vectors[i].prefix;
		enum dw_family fam = strchr(ps, ':') ? DW_FAM_V6 : DW_FAM_V4;
		assert_int_equal(dw_prefix_parse(ps, fam, &p), 0);
		assert_int_equal(dw_ip_parse_any(contains_vectors[i].addr, &ip), 0);
		if (dw_prefix_contains(&p, &ip) != contains_vectors[i].inside)
			fail_msg("vector %zu: %s in %s", i, contains_vectors[i].addr, ps);
	}
}

/* ---- dw_addr_check ----------------------------------------------------- */

#define ALL_ACCEPT (DW_ACCEPT_PRIVATE | DW_ACCEPT_ULA | DW_ACCEPT_TEMPORARY | \
                    DW_ACCEPT_DOC | DW_ACCEPT_LINKLOCAL | DW_ACCEPT_LOOPBACK | \
                    DW_ACCEPT_CGN | DW_ACCEPT_6TO4 | DW_ACCEPT_TEREDO)

static const struct {
	const char *addr;
	uint32_t flags;
	uint32_t preferred;
	uint8_t scope;
	unsigned accept;
	const char *match;        /* NULL: no match prefix */
	enum dw_family fam;       /* family asked for */
	const char *filter;       /* interface filter, NULL = any; address is on "eth0" */
	enum dw_reject want;
} check_vectors[] = {
	/* Plain global unicast. */
	{ "81.2.69.10", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "2a01:4f8::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "2a01:4f8::1", 0, 3600, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "3fff:1000::1", 0, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "172.32.0.1", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "172.15.255.255", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "100.128.0.1", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "100.63.255.255", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "192.0.1.1", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "198.20.0.1", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "223.255.255.254", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	/* Family and interface filters. */
	{ "2a01:4f8::1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_FAMILY },
	{ "81.2.69.10", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_FAMILY },
	{ "81.2.69.10", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, "eth1", DW_REJ_IFACE },
	{ "81.2.69.10", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, "eth0", DW_REJ_NONE },
	{ "81.2.69.10", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, "eth", DW_REJ_IFACE },
	{ "127.0.0.1", 0, FOREVER, 0, 0, NULL, DW_FAM_V4, "eth1", DW_REJ_IFACE },
	/* Unspecified, loopback, multicast: */
	{ "0.0.0.0", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_UNSPECIFIED },
	{ "::", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_UNSPECIFIED },
	{ "127.0.0.1", PERM, FOREVER, 254, 0, NULL, DW_FAM_V4, NULL, DW_REJ_LOOPBACK },
	{ "127.255.0.1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_LOOPBACK },
	{ "::1", PERM, FOREVER, 254, 0, NULL, DW_FAM_V6, NULL, DW_REJ_LOOPBACK },
	{ "127.0.0.1", PERM, FOREVER, 254, DW_ACCEPT_LOOPBACK, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "::1", PERM, FOREVER, 254, DW_ACCEPT_LOOPBACK, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "127.0.0.1", PERM, FOREVER, 254, ALL_ACCEPT & ~DW_ACCEPT_LOOPBACK, NULL, DW_FAM_V4, NULL, DW_REJ_LOOPBACK },
	{ "224.0.0.1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_MULTICAST },
	{ "239.255.255.250", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_MULTICAST },
	{ "ff02::1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_MULTICAST },
	{ "ff0e::1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_MULTICAST },
	/* Reserved: never accepted. */
	{ "0.1.2.3", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_RESERVED },
	{ "240.0.0.1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_RESERVED },
	{ "255.255.255.255", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_RESERVED },
	{ "198.18.0.1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_BENCHMARK },
	{ "198.19.255.255", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_BENCHMARK },
	{ "::ffff:81.2.69.1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_MAPPED },
	{ "::81.2.69.1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_RESERVED },
	{ "100::1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_DISCARD },
	{ "2001:2::1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_BENCHMARK },
	{ "fec0::1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_RESERVED },
	{ "64:ff9b::5102:4501", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_NAT64 },
	{ "4000::1", 0, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_RESERVED },
	/* Link-local, by range and by kernel scope. */
	{ "169.254.1.1", PERM, FOREVER, 253, 0, NULL, DW_FAM_V4, NULL, DW_REJ_LINKLOCAL },
	{ "fe80::1", PERM, FOREVER, 253, 0, NULL, DW_FAM_V6, NULL, DW_REJ_LINKLOCAL },
	{ "febf:ffff::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_LINKLOCAL },
	{ "169.254.1.1", PERM, FOREVER, 253, DW_ACCEPT_LINKLOCAL, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "fe80::1", PERM, FOREVER, 253, DW_ACCEPT_LINKLOCAL, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "81.2.69.10", PERM, FOREVER, 253, 0, NULL, DW_FAM_V4, NULL, DW_REJ_LINKLOCAL },
	{ "81.2.69.10", PERM, FOREVER, 253, DW_ACCEPT_LINKLOCAL, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "81.2.69.10", PERM, FOREVER, 254, 0, NULL, DW_FAM_V4, NULL, DW_REJ_LOOPBACK },
	{ "81.2.69.10", PERM, FOREVER, 200, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	/* ULA. */
	{ "fd12:3456::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_ULA },
	{ "fc00::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_ULA },
	{ "fdff:ffff::1", PERM, FOREVER, 0, ALL_ACCEPT & ~DW_ACCEPT_ULA, NULL, DW_FAM_V6, NULL, DW_REJ_ULA },
	{ "fd12:3456::1", PERM, FOREVER, 0, DW_ACCEPT_ULA, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	/* IPv4 private, CGNAT, DS-Lite: each lifted only by its own word. */
	{ "10.1.2.3", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_PRIVATE },
	{ "172.16.0.1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_PRIVATE },
	{ "172.31.255.255", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_PRIVATE },
	{ "192.168.1.1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_PRIVATE },
	{ "100.64.0.1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_CGN },
	{ "100.127.255.255", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_CGN },
	{ "192.0.0.2", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_DSLITE },
	{ "10.1.2.3", PERM, FOREVER, 0, ALL_ACCEPT & ~DW_ACCEPT_PRIVATE, NULL, DW_FAM_V4, NULL, DW_REJ_PRIVATE },
	{ "10.1.2.3", PERM, FOREVER, 0, DW_ACCEPT_PRIVATE, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "192.0.0.2", PERM, FOREVER, 0, DW_ACCEPT_PRIVATE, NULL, DW_FAM_V4, NULL, DW_REJ_DSLITE },
	{ "192.0.0.2", PERM, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_DSLITE },
	{ "100.64.0.1", PERM, FOREVER, 0, DW_ACCEPT_PRIVATE, NULL, DW_FAM_V4, NULL, DW_REJ_CGN },
	{ "100.64.0.1", PERM, FOREVER, 0, DW_ACCEPT_CGN, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "10.1.2.3", PERM, FOREVER, 0, DW_ACCEPT_CGN, NULL, DW_FAM_V4, NULL, DW_REJ_PRIVATE },
	/* 6to4 and Teredo: their own words, and the IPv4 inside must be global. */
	{ "2002:5102:450a::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_6TO4 },
	{ "2002:5102:450a::1", PERM, FOREVER, 0, DW_ACCEPT_6TO4, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "2002:7f00:1::1", PERM, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_WRAPPED },
	{ "2002:a00:1::1", PERM, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_WRAPPED },
	{ "2001:0:5102:450a:0:fbff:aefd:baf5", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_TEREDO },
	{ "2001:0:5102:450a:0:fbff:aefd:baf5", PERM, FOREVER, 0, DW_ACCEPT_TEREDO, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "2001:0:5102:450a:0:fbff:aefd:baf5", PERM, FOREVER, 0, DW_ACCEPT_6TO4, NULL, DW_FAM_V6, NULL, DW_REJ_TEREDO },
	{ "2001:0:5102:450a:0:fbff:f5ff:fffa", PERM, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_WRAPPED },
	/* Documentation. */
	{ "192.0.2.1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_DOC },
	{ "198.51.100.1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_DOC },
	{ "203.0.113.255", PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_DOC },
	{ "2001:db8::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_DOC },
	{ "3fff::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_DOC },
	{ "3fff:fff::1", PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_DOC },
	{ "2001:db8::1", PERM, FOREVER, 0, ALL_ACCEPT & ~DW_ACCEPT_DOC, NULL, DW_FAM_V6, NULL, DW_REJ_DOC },
	{ "2001:db8::1", PERM, FOREVER, 0, DW_ACCEPT_DOC, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "192.0.2.1", PERM, FOREVER, 0, DW_ACCEPT_DOC, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	/* States: tentative, DAD failed, deprecated are never accepted. */
	{ "2a01:4f8::1", DW_IFA_TENTATIVE | PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_TENTATIVE },
	{ "2a01:4f8::1", DW_IFA_TENTATIVE | DW_IFA_OPTIMISTIC, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_TENTATIVE },
	{ "2a01:4f8::1", DW_IFA_DADFAILED | DW_IFA_TENTATIVE, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_DADFAILED },
	{ "2a01:4f8::1", DW_IFA_DADFAILED, FOREVER, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_DADFAILED },
	{ "2a01:4f8::1", DW_IFA_DEPRECATED, 0, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_DEPRECATED },
	{ "2a01:4f8::1", DW_IFA_DEPRECATED | PERM, FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_DEPRECATED },
	{ "2a01:4f8::1", PERM, 0, 0, ALL_ACCEPT, NULL, DW_FAM_V6, NULL, DW_REJ_DEPRECATED },
	{ "81.2.69.10", 0, 0, 0, ALL_ACCEPT, NULL, DW_FAM_V4, NULL, DW_REJ_DEPRECATED },
	{ "2a01:4f8::1", PERM, 1, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "2a01:4f8::1", DW_IFA_TENTATIVE | DW_IFA_DEPRECATED, 0, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_TENTATIVE },
	/* Temporary (privacy) addresses. */
	{ "2a01:4f8::abcd", DW_IFA_TEMPORARY, 3600, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_TEMPORARY },
	{ "2a01:4f8::abcd", DW_IFA_TEMPORARY, 3600, 0, ALL_ACCEPT & ~DW_ACCEPT_TEMPORARY, NULL, DW_FAM_V6, NULL, DW_REJ_TEMPORARY },
	{ "2a01:4f8::abcd", DW_IFA_TEMPORARY, 3600, 0, DW_ACCEPT_TEMPORARY, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "2a01:4f8::abcd", DW_IFA_TEMPORARY, 0, 0, DW_ACCEPT_TEMPORARY, NULL, DW_FAM_V6, NULL, DW_REJ_DEPRECATED },
	{ "2a01:4f8::abcd", DW_IFA_TEMPORARY | DW_IFA_TENTATIVE, 3600, 0, DW_ACCEPT_TEMPORARY, NULL, DW_FAM_V6, NULL, DW_REJ_TENTATIVE },
	{ "fd12::abcd", DW_IFA_TEMPORARY, 3600, 0, DW_ACCEPT_TEMPORARY, NULL, DW_FAM_V6, NULL, DW_REJ_ULA },
	{ "fd12::abcd", DW_IFA_TEMPORARY, 3600, 0, DW_ACCEPT_ULA, NULL, DW_FAM_V6, NULL, DW_REJ_TEMPORARY },
	{ "fd12::abcd", DW_IFA_TEMPORARY, 3600, 0, DW_ACCEPT_ULA | DW_ACCEPT_TEMPORARY, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	/* For IPv4, bit 0x01 is IFA_F_SECONDARY, not a privacy address. */
	{ "81.2.69.10", DW_IFA_TEMPORARY | PERM, FOREVER, 0, 0, NULL, DW_FAM_V4, NULL, DW_REJ_NONE },
	/* Flags that do not matter. */
	{ "2a01:4f8::1", DW_IFA_MNGTMPADDR | DW_IFA_NOPREFIXRT | DW_IFA_NODAD | DW_IFA_STABLE_PRIV | DW_IFA_HOMEADDRESS,
	  FOREVER, 0, 0, NULL, DW_FAM_V6, NULL, DW_REJ_NONE },
	/* Match prefix: checked after the range, before the state. */
	{ "2a01:4f8::1", 0, FOREVER, 0, 0, "2a01:4f8::/32", DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "2a01:4f9::1", 0, FOREVER, 0, 0, "2a01:4f8::/32", DW_FAM_V6, NULL, DW_REJ_NOMATCH },
	{ "2a01:4f9::1", DW_IFA_TENTATIVE, FOREVER, 0, 0, "2a01:4f8::/32", DW_FAM_V6, NULL, DW_REJ_NOMATCH },
	{ "2a01:4f8::1", DW_IFA_TENTATIVE, FOREVER, 0, 0, "2a01:4f8::/32", DW_FAM_V6, NULL, DW_REJ_TENTATIVE },
	{ "fd00::1", 0, FOREVER, 0, 0, "fd00::/8", DW_FAM_V6, NULL, DW_REJ_ULA },
	{ "fd00::1", 0, FOREVER, 0, DW_ACCEPT_ULA, "fd00::/8", DW_FAM_V6, NULL, DW_REJ_NONE },
	{ "fd01::1", 0, FOREVER, 0, DW_ACCEPT_ULA, "fd00::/16", DW_FAM_V6, NULL, DW_REJ_NOMATCH },
	{ "81.2.69.10", 0, FOREVER, 0, 0, "81.2.69.0/24", DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "81.2.70.10", 0, FOREVER, 0, 0, "81.2.69.0/24", DW_FAM_V4, NULL, DW_REJ_NOMATCH },
	{ "81.2.69.10", 0, FOREVER, 0, 0, "81.2.69.10/32", DW_FAM_V4, NULL, DW_REJ_NONE },
	{ "81.2.69.10", 0, FOREVER, 0, 0, "::/0", DW_FAM_V4, NULL, DW_REJ_NOMATCH },
};

static void test_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(check_vectors); i++) {
		struct dw_ifaddr a = mk(check_vectors[i].addr, "eth0", 2, check_vectors[i].flags,
		                        check_vectors[i].preferred);
		a.scope = check_vectors[i].scope;
		struct dw_addr_policy p;
		memset(&p, 0, sizeof(p));
		p.accept = check_vectors[i].accept;
		if (check_vectors[i].match != NULL) {
			const char *m = check_vectors[i].match;
			p.has_match = true;
			assert_int_equal(dw_prefix_parse(m, strchr(m, ':') ? DW_FAM_V6 : DW_FAM_V4, &p.match), 0);
		}
		enum dw_reject r = dw_addr_check(&a, check_vectors[i].fam, check_vectors[i].filter, &p);
		if (r != check_vectors[i].want)
			fail_msg("vector %zu (%s flags %#x pref %u accept %#x): got %s, want %s", i,
			         check_vectors[i].addr, (unsigned)check_vectors[i].flags,
			         (unsigned)check_vectors[i].preferred, check_vectors[i].accept,
			         dw_reject_name(r), dw_reject_name(check_vectors[i].want));
		/* NULL policy behaves as the all-zero default. */
		if (check_vectors[i].accept == 0 && check_vectors[i].match == NULL)
			assert_int_equal(dw_addr_check(&a, check_vectors[i].fam, check_vectors[i].filter, NULL), r);
	}
}

static void test_reject_names(void **state)
{
	(void)state;
	for (int r = DW_REJ_NONE; r <= DW_REJ_LAST; r++) {
		const char *name = dw_reject_name((enum dw_reject)r);
		const char *text = dw_reject_str((enum dw_reject)r);
		assert_non_null(name);
		assert_non_null(text);
		assert_true(strlen(text) > 0);
		assert_string_not_equal(name, "unknown");
		assert_null(strchr(name, ' '));   /* one word: scripts split on blanks */
		for (int o = DW_REJ_NONE; o < r; o++)
			assert_string_not_equal(name, dw_reject_name((enum dw_reject)o));
	}
	assert_string_equal(dw_reject_name(DW_REJ_NONE), "ok");
	assert_string_equal(dw_reject_name(DW_REJ_DEPRECATED), "deprecated");
	assert_string_equal(dw_reject_str(DW_REJ_DEPRECATED), "deprecated (preferred lifetime 0)");
	assert_string_equal(dw_reject_name((enum dw_reject)999), "unknown");
	assert_non_null(dw_reject_str((enum dw_reject)999));
}

/* ---- dw_addr_classify: the IANA special-purpose registries --------------- */

/* One row per registry entry (IPv4: RFC 6890 and updates; IPv6 likewise),
 * with the first and last address of the range that no more specific row
 * covers, its verdict and the one accept word that lifts it (0: none). */
static const struct {
	const char *first, *last;
	enum dw_reject verdict;
	unsigned accept;
	const char *reason_has;   /* a piece of the reason (the range itself) */
} registry[] = {
	/* IPv4 */
	{ "0.0.0.1", "0.255.255.255", DW_REJ_RESERVED, 0, "0.0.0.0/8" },
	{ "0.0.0.0", "0.0.0.0", DW_REJ_UNSPECIFIED, 0, "0.0.0.0/32" },
	{ "10.0.0.0", "10.255.255.255", DW_REJ_PRIVATE, DW_ACCEPT_PRIVATE, "10.0.0.0/8" },
	{ "100.64.0.0", "100.127.255.255", DW_REJ_CGN, DW_ACCEPT_CGN, "100.64.0.0/10" },
	{ "127.0.0.0", "127.255.255.255", DW_REJ_LOOPBACK, DW_ACCEPT_LOOPBACK, "127.0.0.0/8" },
	{ "169.254.0.0", "169.254.255.255", DW_REJ_LINKLOCAL, DW_ACCEPT_LINKLOCAL, "169.254.0.0/16" },
	{ "172.16.0.0", "172.31.255.255", DW_REJ_PRIVATE, DW_ACCEPT_PRIVATE, "172.16.0.0/12" },
	{ "192.0.0.11", "192.0.0.255", DW_REJ_IETF, 0, "192.0.0.0/24" },
	{ "192.0.0.0", "192.0.0.7", DW_REJ_DSLITE, 0, "192.0.0.0/29" },
	{ "192.0.0.2", "192.0.0.2", DW_REJ_DSLITE, 0, "RFC 6333" },
	{ "192.0.0.8", "192.0.0.8", DW_REJ_IETF, 0, "192.0.0.8/32" },
	{ "192.0.0.9", "192.0.0.9", DW_REJ_ANYCAST, 0, "192.0.0.9/32" },
	{ "192.0.0.10", "192.0.0.10", DW_REJ_ANYCAST, 0, "192.0.0.10/32" },
	{ "192.0.0.170", "192.0.0.170", DW_REJ_NAT64, 0, "192.0.0.170/32" },
	{ "192.0.0.171", "192.0.0.171", DW_REJ_NAT64, 0, "192.0.0.171/32" },
	{ "192.0.2.0", "192.0.2.255", DW_REJ_DOC, DW_ACCEPT_DOC, "192.0.2.0/24" },
	{ "192.31.196.0", "192.31.196.255", DW_REJ_ANYCAST, 0, "192.31.196.0/24" },
	{ "192.52.193.0", "192.52.193.255", DW_REJ_ANYCAST, 0, "192.52.193.0/24" },
	{ "192.88.99.0", "192.88.99.255", DW_REJ_ANYCAST, 0, "192.88.99.0/24" },
	{ "192.168.0.0", "192.168.255.255", DW_REJ_PRIVATE, DW_ACCEPT_PRIVATE, "192.168.0.0/16" },
	{ "192.175.48.0", "192.175.48.255", DW_REJ_ANYCAST, 0, "192.175.48.0/24" },
	{ "198.18.0.0", "198.19.255.255", DW_REJ_BENCHMARK, 0, "198.18.0.0/15" },
	{ "198.51.100.0", "198.51.100.255", DW_REJ_DOC, DW_ACCEPT_DOC, "198.51.100.0/24" },
	{ "203.0.113.0", "203.0.113.255", DW_REJ_DOC, DW_ACCEPT_DOC, "203.0.113.0/24" },
	{ "224.0.0.0", "239.255.255.255", DW_REJ_MULTICAST, 0, "224.0.0.0/4" },
	{ "240.0.0.0", "255.255.255.254", DW_REJ_RESERVED, 0, "240.0.0.0/4" },
	{ "255.255.255.255", "255.255.255.255", DW_REJ_RESERVED, 0, "255.255.255.255/32" },
	/* the global space around them */
	{ "1.0.0.0", "9.255.255.255", DW_REJ_NONE, 0, "global" },
	{ "100.63.255.255", "100.128.0.0", DW_REJ_NONE, 0, "global" },
	{ "192.0.1.255", "192.0.3.0", DW_REJ_NONE, 0, "global" },
	{ "198.17.255.255", "198.20.0.0", DW_REJ_NONE, 0, "global" },
	{ "223.255.255.255", "223.255.255.255", DW_REJ_NONE, 0, "global" },
	/* IPv6 */
	{ "::", "::", DW_REJ_UNSPECIFIED, 0, "::/128" },
	{ "::1", "::1", DW_REJ_LOOPBACK, DW_ACCEPT_LOOPBACK, "::1/128" },
	{ "::2", "::ffff:ffff", DW_REJ_RESERVED, 0, "::/96" },
	{ "::ffff:0:0", "::ffff:ffff:ffff", DW_REJ_MAPPED, 0, "::ffff:0:0/96" },
	{ "64:ff9b::", "64:ff9b::ffff:ffff", DW_REJ_NAT64, 0, "64:ff9b::/96" },
	{ "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", DW_REJ_NAT64, 0, "64:ff9b:1::/48" },
	{ "100::", "100::ffff:ffff:ffff:ffff", DW_REJ_DISCARD, 0, "100::/64" },
	{ "100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff", DW_REJ_DISCARD, 0, "100:0:0:1::/64" },
	{ "2001:1::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_IETF, 0, "2001::/23" },
	{ "2001:1::4", "2001:1::ffff", DW_REJ_IETF, 0, "2001::/23" },
	{ "2001::", "2001::ffff:ffff:ffff:ffff", DW_REJ_WRAPPED, 0, "2001::/32" },
	{ "2001:1::1", "2001:1::1", DW_REJ_ANYCAST, 0, "2001:1::1/128" },
	{ "2001:1::2", "2001:1::2", DW_REJ_ANYCAST, 0, "2001:1::2/128" },
	{ "2001:1::3", "2001:1::3", DW_REJ_ANYCAST, 0, "2001:1::3/128" },
	{ "2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff", DW_REJ_BENCHMARK, 0, "2001:2::/48" },
	{ "2001:3::", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_ANYCAST, 0, "2001:3::/32" },
	{ "2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff", DW_REJ_ANYCAST, 0, "2001:4:112::/48" },
	{ "2001:10::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_IDENTIFIER, 0, "2001:10::/28" },
	{ "2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_IDENTIFIER, 0, "2001:20::/28" },
	{ "2001:30::", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_IDENTIFIER, 0, "2001:30::/28" },
	{ "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_DOC, DW_ACCEPT_DOC, "2001:db8::/32" },
	{ "2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_WRAPPED, 0, "2002::/16" },
	{ "2620:4f:8000::", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", DW_REJ_ANYCAST, 0, "2620:4f:8000::/48" },
	{ "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_DOC, DW_ACCEPT_DOC, "3fff::/20" },
	{ "5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_SRV6, 0, "5f00::/16" },
	{ "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_ULA, DW_ACCEPT_ULA, "fc00::/7" },
	{ "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_LINKLOCAL, DW_ACCEPT_LINKLOCAL, "fe80::/10" },
	{ "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_RESERVED, 0, "fec0::/10" },
	{ "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_MULTICAST, 0, "ff00::/8" },
	{ "1::", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_RESERVED, 0, "2000::/3" },
	{ "4000::", "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_RESERVED, 0, "2000::/3" },
	{ "e000::", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_RESERVED, 0, "2000::/3" },
	/* the global space around them */
	{ "2000::", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_NONE, 0, "global" },
	{ "2001:200::", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_NONE, 0, "global" },
	{ "2001:db9::", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_NONE, 0, "global" },
	{ "2003::", "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", DW_REJ_NONE, 0, "global" },
	{ "3fff:1000::", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", DW_REJ_NONE, 0, "global" },
};

/* 6to4 and Teredo carry IPv4 addresses: the verdict depends on them. */
static const struct {
	const char *addr;
	enum dw_reject verdict;
	const char *describe_has;   /* NULL: no check */
} wrapped[] = {
	/* 6to4: 2002:V4V4:V4V4::/48 */
	{ "2002:5102:450a::1", DW_REJ_6TO4, "6to4 (2002::/16" },
	{ "2002:0808:0808:1::5", DW_REJ_6TO4, NULL },
	{ "2002:7f00:1::1", DW_REJ_WRAPPED, "6to4 gateway is 127.0.0.1: loopback (127.0.0.0/8" },
	{ "2002:a00:5::1", DW_REJ_WRAPPED, "6to4 gateway is 10.0.0.5: private-use (10.0.0.0/8" },
	{ "2002:c0a8:101::1", DW_REJ_WRAPPED, "6to4 gateway is 192.168.1.1: private-use" },
	{ "2002:6440:1::1", DW_REJ_WRAPPED, "100.64.0.1: shared address space" },
	{ "2002:c000:2::1", DW_REJ_WRAPPED, "192.0.0.2: DS-Lite" },
	{ "2002:a9fe:101::1", DW_REJ_WRAPPED, "169.254.1.1: link-local" },
	{ "2002:c000:201::1", DW_REJ_WRAPPED, "192.0.2.1: documentation" },
	{ "2002:e000:1::1", DW_REJ_WRAPPED, "224.0.0.1: multicast" },
	{ "2002::1", DW_REJ_WRAPPED, "0.0.0.0: unspecified" },
	{ "2002:ffff:ffff::1", DW_REJ_WRAPPED, "255.255.255.255: limited broadcast" },
	/* Teredo: 2001:0:SERVER:FLAGS:~PORT:~CLIENT */
	{ "2001:0:5102:450a:0:fbff:aefd:baf5", DW_REJ_TEREDO, "Teredo (2001::/32" },
	{ "2001:0:5102:450a:8000:fbff:f5ff:fffa", DW_REJ_WRAPPED,
	  "Teredo client is 10.0.0.5: private-use (10.0.0.0/8" },
	{ "2001:0:5102:450a:0:fbff:80ff:fffe", DW_REJ_WRAPPED, "Teredo client is 127.0.0.1: loopback" },
	{ "2001:0:5102:450a:0:fbff:9b9f:ffbd", DW_REJ_WRAPPED, "Teredo client is 100.96.0.66: shared" },
	{ "2001:0:a00:1:0:fbff:aefd:baf5", DW_REJ_WRAPPED, "Teredo server is 10.0.0.1: private-use" },
	{ "2001:0:c000:201:0:fbff:aefd:baf5", DW_REJ_WRAPPED, "Teredo server is 192.0.2.1: documentation" },
};

static void check_one(const char *addr, enum dw_reject want, unsigned accept, const char *has)
{
	struct dw_ip ip;
	if (dw_ip_parse_any(addr, &ip) != 0)
		fail_msg("cannot parse %s", addr);
	const char *reason = NULL;
	enum dw_reject got = dw_addr_classify(&ip, &reason);
	if (got != want)
		fail_msg("%s: verdict %s, want %s (%s)", addr, dw_reject_name(got),
		         dw_reject_name(want), reason != NULL ? reason : "no reason");
	assert_non_null(reason);
	assert_int_equal(dw_accept_bit(got), accept);
	char text[256];
	dw_addr_describe(&ip, text, sizeof(text));
	if (has != NULL && strstr(text, has) == NULL && strstr(reason, has) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", addr, text, has);
	assert_null(dw_addr_classify(&ip, NULL) != got ? "NULL reason changes the verdict" : NULL);

	/* Through the policy: published only when its own word is accepted. */
	struct dw_ifaddr a;
	memset(&a, 0, sizeof(a));
	a.ip = ip;
	a.prefixlen = ip.family == DW_FAM_V6 ? 64 : 24;
	a.flags = PERM;
	a.preferred_lft = a.valid_lft = FOREVER;
	struct dw_addr_policy p;
	memset(&p, 0, sizeof(p));
	static const unsigned words[] = { DW_ACCEPT_PRIVATE, DW_ACCEPT_ULA, DW_ACCEPT_TEMPORARY,
	                                  DW_ACCEPT_DOC, DW_ACCEPT_LINKLOCAL, DW_ACCEPT_LOOPBACK,
	                                  DW_ACCEPT_CGN, DW_ACCEPT_6TO4, DW_ACCEPT_TEREDO };
	for (size_t w = 0; w < N_ELEMS(words); w++) {
		p.accept = ALL_ACCEPT & ~words[w];
		enum dw_reject r = dw_addr_check(&a, ip.family, NULL, &p);
		enum dw_reject exp = (want != DW_REJ_NONE && (accept == 0 || accept == words[w]))
		                     ? want : DW_REJ_NONE;
		if (r != exp)
			fail_msg("%s accepting all but %#x: %s, want %s", addr, words[w],
			         dw_reject_name(r), dw_reject_name(exp));
		p.accept = words[w];
		r = dw_addr_check(&a, ip.family, NULL, &p);
		exp = want != DW_REJ_NONE && accept != words[w] ? want : DW_REJ_NONE;
		if (r != exp)
			fail_msg("%s accepting only %#x: %s, want %s", addr, words[w],
			         dw_reject_name(r), dw_reject_name(exp));
	}
}

static void test_classify_registry(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(registry); i++) {
		check_one(registry[i].first, registry[i].verdict, registry[i].accept,
		          registry[i].reason_has);
		check_one(registry[i].last, registry[i].verdict, registry[i].accept,
		          registry[i].reason_has);
	}
	for (size_t i = 0; i < N_ELEMS(wrapped); i++)
		check_one(wrapped[i].addr, wrapped[i].verdict,
		          dw_accept_bit(wrapped[i].verdict), wrapped[i].describe_has);
}

static void test_classify_dslite_reason(void **state)
{
	(void)state;
	struct dw_ip ip;
	const char *reason = NULL;
	assert_int_equal(dw_ip_parse("192.0.0.2", DW_FAM_V4, &ip), 0);
	assert_int_equal(dw_addr_classify(&ip, &reason), DW_REJ_DSLITE);
	assert_non_null(strstr(reason, "DS-Lite"));
	assert_non_null(strstr(reason, "RFC 6333"));
	/* A describe buffer too small truncates but stays a string. */
	char tiny[8];
	assert_ptr_equal(dw_addr_describe(&ip, tiny, sizeof(tiny)), tiny);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

/* ---- dw_addr_select ---------------------------------------------------- */

struct entry {
	const char *addr;
	const char *ifname;
	unsigned ifindex;
	uint32_t flags;
	uint32_t preferred;
	enum dw_reject want;     /* expected reason (NONE = the chosen one) */
};

#define MAXE 6

struct select_case {
	const char *name;
	enum dw_family fam;
	const char *filter;
	unsigned accept;
	const char *match;
	enum dw_prefer prefer;
	size_t n;
	struct entry e[MAXE];
	bool dup_ok;             /* identical entries: NONE and OUTRANKED may swap */
};

static const struct select_case select_vectors[] = {
	{ "permanent beats a longer-living lower dynamic address", DW_FAM_V6, NULL, 0, NULL, DW_PREFER_STABLE, 3, {
		{ "2a01:4f8::5", "eth0", 2, PERM, FOREVER, DW_REJ_NONE },
		{ "2a01:4f8::1", "eth0", 2, 0, 86400, DW_REJ_OUTRANKED },
		{ "2a01:4f8::3", "eth0", 2, DW_IFA_MNGTMPADDR, FOREVER, DW_REJ_OUTRANKED },
	}, false },
	{ "longest preferred lifetime among dynamic", DW_FAM_V6, NULL, 0, NULL, DW_PREFER_STABLE, 3, {
		{ "2a01:4f8::1", "eth0", 2, 0, 100, DW_REJ_OUTRANKED },
		{ "2a01:4f8::9", "eth0", 2, 0, 200, DW_REJ_NONE },
		{ "2a01:4f8::5", "eth0", 2, 0, 150, DW_REJ_OUTRANKED },
	}, false },
	{ "lowest address breaks equal permanence and lifetime", DW_FAM_V6, NULL, 0, NULL, DW_PREFER_STABLE, 3, {
		{ "2a01:4f8::9", "eth0", 2, PERM, FOREVER, DW_REJ_OUTRANKED },
		{ "2a01:4f8::1", "eth0", 2, PERM, FOREVER, DW_REJ_NONE },
		{ "2a01:4f8:0:1::", "eth0", 2, PERM, FOREVER, DW_REJ_OUTRANKED },
	}, false },
	{ "prefer lowest ignores permanence", DW_FAM_V6, NULL, 0, NULL, DW_PREFER_LOWEST, 3, {
		{ "2a01:4f8::9", "eth0", 2, PERM, FOREVER, DW_REJ_OUTRANKED },
		{ "2a01:4f8::1", "eth0", 2, 0, 60, DW_REJ_NONE },
		{ "2a01:4f8::5", "eth0", 2, 0, 6000, DW_REJ_OUTRANKED },
	}, false },
	{ "prefer highest ignores permanence", DW_FAM_V6, NULL, 0, NULL, DW_PREFER_HIGHEST, 3, {
		{ "2a01:4f8::9", "eth0", 2, 0, 60, DW_REJ_NONE },
		{ "2a01:4f8::1", "eth0", 2, PERM, FOREVER, DW_REJ_OUTRANKED },
		{ "2a01:4f8::5", "eth0", 2, 0, 6000, DW_REJ_OUTRANKED },
	}, false },
	{ "every rejection on one interface, one survivor", DW_FAM_V6, "eth0", 0, NULL, DW_PREFER_STABLE, 6, {
		{ "fd12:3456::1", "eth0", 2, PERM, FOREVER, DW_REJ_ULA },
		{ "fe80::1", "eth0", 2, PERM, FOREVER, DW_REJ_LINKLOCAL },
		{ "2a01:4f8::2", "eth0", 2, DW_IFA_TENTATIVE | PERM, FOREVER, DW_REJ_TENTATIVE },
		{ "2a01:4f8::3", "eth0", 2, PERM, 0, DW_REJ_DEPRECATED },
		{ "2a01:4f8::4", "eth0", 2, DW_IFA_TEMPORARY, 3600, DW_REJ_TEMPORARY },
		{ "2a01:4f8::ff", "eth0", 2, 0, 1800, DW_REJ_NONE },
	}, false },
	{ "nothing acceptable", DW_FAM_V6, "eth0", 0, NULL, DW_PREFER_STABLE, 5, {
		{ "fd12:3456::1", "eth0", 2, PERM, FOREVER, DW_REJ_ULA },
		{ "2a01:4f8::2", "eth0", 2, DW_IFA_DADFAILED | DW_IFA_TENTATIVE, FOREVER, DW_REJ_DADFAILED },
		{ "2a01:4f8::3", "eth0", 2, DW_IFA_DEPRECATED, 0, DW_REJ_DEPRECATED },
		{ "81.2.69.10", "eth0", 2, PERM, FOREVER, DW_REJ_FAMILY },
		{ "2a01:4f8::7", "eth1", 3, PERM, FOREVER, DW_REJ_IFACE },
	}, false },
	{ "interface filter", DW_FAM_V4, "eth1", 0, NULL, DW_PREFER_STABLE, 4, {
		{ "81.2.69.10", "eth0", 2, PERM, FOREVER, DW_REJ_IFACE },
		{ "81.2.69.20", "eth1", 3, PERM, FOREVER, DW_REJ_NONE },
		{ "81.2.69.30", "eth1", 3, PERM, FOREVER, DW_REJ_OUTRANKED },
		{ "10.0.0.1", "eth1", 3, PERM, FOREVER, DW_REJ_PRIVATE },
	}, false },
	{ "IPv4 static beats DHCP lease", DW_FAM_V4, NULL, 0, NULL, DW_PREFER_STABLE, 4, {
		{ "81.2.69.10", "eth0", 2, 0, 1000, DW_REJ_OUTRANKED },
		{ "81.2.69.20", "eth0", 2, PERM, FOREVER, DW_REJ_NONE },
		{ "192.168.1.2", "eth1", 3, PERM, FOREVER, DW_REJ_PRIVATE },
		{ "127.0.0.1", "lo", 1, PERM, FOREVER, DW_REJ_LOOPBACK },
	}, false },
	{ "same address on two interfaces: lower ifindex wins", DW_FAM_V6, NULL, 0, NULL, DW_PREFER_STABLE, 2, {
		{ "2a01:4f8::1", "eth1", 3, PERM, FOREVER, DW_REJ_OUTRANKED },
		{ "2a01:4f8::1", "eth0", 2, PERM, FOREVER, DW_REJ_NONE },
	}, false },
	{ "identical duplicates", DW_FAM_V6, NULL, 0, NULL, DW_PREFER_STABLE, 3, {
		{ "2a01:4f8::1", "eth0", 2, PERM, FOREVER, DW_REJ_NONE },
		{ "2a01:4f8::1", "eth0", 2, PERM, FOREVER, DW_REJ_OUTRANKED },
		{ "2a01:4f8::2", "eth0", 2, PERM, FOREVER, DW_REJ_OUTRANKED },
	}, true },
	{ "temporary accepted, still ranked after permanent", DW_FAM_V6, NULL, DW_ACCEPT_TEMPORARY, NULL, DW_PREFER_STABLE, 3, {
		{ "2a01:4f8::aaaa", "eth0", 2, DW_IFA_TEMPORARY, 86400, DW_REJ_OUTRANKED },
		{ "2a01:4f8::ffff", "eth0", 2, PERM, FOREVER, DW_REJ_NONE },
		{ "2a01:4f8::bbbb", "eth0", 2, DW_IFA_TEMPORARY, 0, DW_REJ_DEPRECATED },
	}, false },
	{ "temporary only, prefer lowest", DW_FAM_V6, NULL, DW_ACCEPT_TEMPORARY, "2a01:4f8::/32", DW_PREFER_LOWEST, 3, {
		{ "2a01:4f8::bbbb", "eth0", 2, DW_IFA_TEMPORARY, 600, DW_REJ_OUTRANKED },
		{ "2a01:4f8::aaaa", "eth0", 2, DW_IFA_TEMPORARY, 300, DW_REJ_NONE },
		{ "2a01:4f9::1", "eth0", 2, PERM, FOREVER, DW_REJ_NOMATCH },
	}, false },
	{ "ULA accepted, match picks the prefix", DW_FAM_V6, NULL, DW_ACCEPT_ULA, "fd00:1::/32", DW_PREFER_STABLE, 4, {
		{ "fd00:1::1", "eth0", 2, 0, 100, DW_REJ_NONE },
		{ "fd00:2::1", "eth0", 2, PERM, FOREVER, DW_REJ_NOMATCH },
		{ "2a01:4f8::1", "eth0", 2, PERM, FOREVER, DW_REJ_NOMATCH },
		{ "fd00:1::2", "eth0", 2, 0, 50, DW_REJ_OUTRANKED },
	}, false },
	{ "empty", DW_FAM_V4, NULL, 0, NULL, DW_PREFER_STABLE, 0, { { NULL, NULL, 0, 0, 0, DW_REJ_NONE } }, false },
};

/* Next lexicographic permutation of idx[0..n); false after the last. */
static bool next_perm(size_t *idx, size_t n)
{
	if (n < 2)
		return false;
	size_t i = n - 1;
	while (i > 0 && idx[i - 1] >= idx[i])
		i--;
	if (i == 0)
		return false;
	size_t j = n - 1;
	while (idx[j] <= idx[i - 1])
		j--;
	size_t t = idx[i - 1];
	idx[i - 1] = idx[j];
	idx[j] = t;
	for (size_t a = i, b = n - 1; a < b; a++, b--) {
		t = idx[a];
		idx[a] = idx[b];
		idx[b] = t;
	}
	return true;
}

static void test_select(void **state)
{
	(void)state;
	for (size_t s = 0; s < N_ELEMS(select_vectors); s++) {
		const struct select_case *sv = &select_vectors[s];
		struct dw_ifaddr base[MAXE];
		long want = -1;
		for (size_t i = 0; i < sv->n; i++) {
			base[i] = mk(sv->e[i].addr, sv->e[i].ifname, sv->e[i].ifindex,
			             sv->e[i].flags, sv->e[i].preferred);
			if (sv->e[i].want == DW_REJ_NONE)
				want = (long)i;
		}
		struct dw_addr_policy p;
		memset(&p, 0, sizeof(p));
		p.accept = sv->accept;
		p.prefer = sv->prefer;
		if (sv->match != NULL) {
			p.has_match = true;
			assert_int_equal(dw_prefix_parse(sv->match, sv->fam, &p.match), 0);
		}

		size_t idx[MAXE];
		for (size_t i = 0; i < sv->n; i++)
			idx[i] = i;
		unsigned perms = 0;
		do {
			struct dw_ifaddr v[MAXE];
			enum dw_reject reasons[MAXE];
			for (size_t i = 0; i < sv->n; i++)
				v[i] = base[idx[i]];
			int got = dw_addr_select(v, sv->n, sv->fam, sv->filter, &p, reasons);
			assert_int_equal(dw_addr_select(v, sv->n, sv->fam, sv->filter, &p, NULL), got);
			perms++;
			if (want < 0) {
				if (got != -1)
					fail_msg("%s: chose %d, expected none", sv->name, got);
			} else {
				if (got < 0)
					fail_msg("%s: chose none", sv->name);
				/* Same content as the expected entry (the position varies). */
				if (memcmp(&v[got], &base[want], sizeof(v[got])) != 0)
					fail_msg("%s (permutation %u): chose %s on %s", sv->name, perms,
					         sv->e[idx[got]].addr, sv->e[idx[got]].ifname);
			}
			size_t chosen = 0;
			for (size_t i = 0; i < sv->n; i++) {
				enum dw_reject w = sv->e[idx[i]].want;
				if (reasons[i] == DW_REJ_NONE)
					chosen++;
				if (sv->dup_ok && (w == DW_REJ_NONE || w == DW_REJ_OUTRANKED) &&
				    (reasons[i] == DW_REJ_NONE || reasons[i] == DW_REJ_OUTRANKED))
					continue;
				if (reasons[i] != w)
					fail_msg("%s: %s on %s: reason %s, want %s", sv->name,
					         sv->e[idx[i]].addr, sv->e[idx[i]].ifname,
					         dw_reject_name(reasons[i]), dw_reject_name(w));
			}
			assert_int_equal(chosen, want < 0 ? 0 : 1);
			if (got >= 0)
				assert_int_equal(reasons[got], DW_REJ_NONE);
		} while (next_perm(idx, sv->n));
	}
}

static void test_select_null_policy(void **state)
{
	(void)state;
	struct dw_ifaddr v[2] = {
		mk("fd00::1", "eth0", 2, PERM, FOREVER),
		mk("2a01:4f8::1", "eth0", 2, 0, 100),
	};
	assert_int_equal(dw_addr_select(v, 2, DW_FAM_V6, NULL, NULL, NULL), 1);
	assert_int_equal(dw_addr_select(v, 0, DW_FAM_V6, NULL, NULL, NULL), -1);
}

static void test_list(void **state)
{
	(void)state;
	struct dw_addr_list l = { 0 };
	for (unsigned i = 0; i < 100; i++) {
		struct dw_ifaddr a = mk("81.2.69.1", "eth0", i, 0, FOREVER);
		assert_int_equal(dw_addr_list_push(&l, &a), 0);
	}
	assert_int_equal(l.n, 100);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(l.v[i].ifindex, i);
	dw_addr_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	dw_addr_list_free(&l);   /* twice is harmless */
	dw_addr_list_free(NULL);
}

static void test_list_limit(void **state)
{
	(void)state;
	struct dw_addr_list l = { 0 };
	struct dw_ifaddr a = mk("2a01:4f8::1", "eth0", 2, 0, FOREVER);
	for (unsigned i = 0; i < DW_ADDR_LIST_MAX; i++)
		assert_int_equal(dw_addr_list_push(&l, &a), 0);
	assert_int_equal(dw_addr_list_push(&l, &a), DW_ETOOBIG);
	assert_int_equal(l.n, DW_ADDR_LIST_MAX);
	dw_addr_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_parse),
		cmocka_unit_test(test_accept_parse),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_reject_names),
		cmocka_unit_test(test_classify_registry),
		cmocka_unit_test(test_classify_dslite_reason),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_select_null_policy),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
