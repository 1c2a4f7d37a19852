/* Unit tests for lib/netlink: RTM_NEWADDR messages built by hand in a buffer
 * (as the kernel lays them out) and parsed back, good and malformed; plus a
 * smoke test of a real dump of this process's network namespace. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/addr.h"
#include "lib/error.h"
#include "lib/netlink.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct attr_spec {
	uint16_t type;
	uint16_t len;
	const void *data;
};

/* How the built message is damaged before parsing. */
enum mutation {
	MUT_NONE = 0,
	MUT_LEN_SHORT,      /* caller's len one byte short of nlmsg_len */
	MUT_LEN_HDR,        /* caller's len smaller than a header */
	MUT_NLMSG_TINY,     /* nlmsg_len covers the header but not ifaddrmsg */
	MUT_NLMSG_UNDER,    /* nlmsg_len smaller than a netlink header */
	MUT_ATTR_OVERLONG,  /* last attribute claims 8 bytes more than there are */
	MUT_ATTR_TINY,      /* last attribute shorter than an attribute header */
	MUT_TRAILING,       /* 2 stray bytes after the last attribute */
	MUT_UNPADDED,       /* nlmsg_len ends right after the last attribute's data */
};

static const uint8_t v4_local[4] = { 81, 2, 69, 10 };
static const uint8_t v4_peer[4] = { 81, 2, 69, 1 };
static const uint8_t v6_a[16] = { 0x2a, 0x01, 0x04, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
static const uint8_t v6_b[16] = { 0x2a, 0x01, 0x04, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02 };
static const uint32_t flags_mng = IFA_F_MANAGETEMPADDR | IFA_F_PERMANENT;
static const uint32_t flags_tent = IFA_F_TENTATIVE;
static const struct ifa_cacheinfo ci_short = { .ifa_prefered = 100, .ifa_valid = 200, .cstamp = 1, .tstamp = 2 };
static const struct ifa_cacheinfo ci_forever = { .ifa_prefered = 0xFFFFFFFFu, .ifa_valid = 0xFFFFFFFFu };
static const struct ifa_cacheinfo ci_depr = { .ifa_prefered = 0, .ifa_valid = 7200 };
static const char label_ok[] = "eth0";
static const char label_nonul[4] = { 'e', 't', 'h', '0' };
static const char label_long[40] = "this-label-is-much-longer-than-ifnamsiz";
static const uint8_t u8_proto = 2;
static const uint8_t zeros[32];

struct nl_case {
	const char *name;
	uint16_t msgtype;
	uint8_t family, plen, flags8, scope;
	uint32_t index;
	struct attr_spec attrs[6];
	enum mutation mut;
	int ret;
	/* Expected result when ret == 0. */
	const char *addr;
	uint32_t flags, pref, valid;
};

#define NEW RTM_NEWADDR
#define V4 AF_INET
#define V6 AF_INET6
#define FOREVER DW_LIFETIME_FOREVER

static const struct nl_case cases[] = {
	{ "v4 address only, no cacheinfo = forever", NEW, V4, 24, IFA_F_PERMANENT, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local } }, MUT_NONE, 0, "81.2.69.10", IFA_F_PERMANENT, FOREVER, FOREVER },
	{ "v4 point-to-point: IFA_LOCAL wins over IFA_ADDRESS", NEW, V4, 32, 0, 0, 2,
	  { { IFA_ADDRESS, 4, v4_peer }, { IFA_LOCAL, 4, v4_local } }, MUT_NONE, 0, "81.2.69.10", 0, FOREVER, FOREVER },
	{ "IFA_LOCAL first", NEW, V4, 32, 0, 0, 2,
	  { { IFA_LOCAL, 4, v4_local }, { IFA_ADDRESS, 4, v4_peer } }, MUT_NONE, 0, "81.2.69.10", 0, FOREVER, FOREVER },
	{ "IFA_LOCAL alone", NEW, V4, 32, 0, 0, 2,
	  { { IFA_LOCAL, 4, v4_local } }, MUT_NONE, 0, "81.2.69.10", 0, FOREVER, FOREVER },
	{ "v4 with label and broadcast", NEW, V4, 24, IFA_F_PERMANENT, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local }, { IFA_LOCAL, 4, v4_local }, { IFA_BROADCAST, 4, v4_peer },
	    { IFA_LABEL, sizeof(label_ok), label_ok }, { IFA_FLAGS, 4, &flags_mng } },
	  MUT_NONE, 0, "81.2.69.10", IFA_F_MANAGETEMPADDR | IFA_F_PERMANENT, FOREVER, FOREVER },
	{ "IFA_FLAGS overrides ifa_flags", NEW, V6, 64, IFA_F_TENTATIVE, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_FLAGS, 4, &flags_mng } }, MUT_NONE, 0,
	  "2a01:4f8::1", IFA_F_MANAGETEMPADDR | IFA_F_PERMANENT, FOREVER, FOREVER },
	{ "u8 ifa_flags used without IFA_FLAGS", NEW, V6, 64, IFA_F_TENTATIVE | IFA_F_PERMANENT, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, 0, "2a01:4f8::1", IFA_F_TENTATIVE | IFA_F_PERMANENT, FOREVER, FOREVER },
	{ "IFA_FLAGS can clear ifa_flags", NEW, V6, 64, IFA_F_PERMANENT, 0, 3,
	  { { IFA_FLAGS, 4, &flags_tent }, { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, 0,
	  "2a01:4f8::1", IFA_F_TENTATIVE, FOREVER, FOREVER },
	{ "cacheinfo lifetimes", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_CACHEINFO, sizeof(ci_short), &ci_short } }, MUT_NONE, 0,
	  "2a01:4f8::1", 0, 100, 200 },
	{ "cacheinfo forever", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_CACHEINFO, sizeof(ci_forever), &ci_forever } }, MUT_NONE, 0,
	  "2a01:4f8::1", 0, FOREVER, FOREVER },
	{ "cacheinfo deprecated", NEW, V6, 64, IFA_F_DEPRECATED, 0, 3,
	  { { IFA_CACHEINFO, sizeof(ci_depr), &ci_depr }, { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, 0,
	  "2a01:4f8::1", IFA_F_DEPRECATED, 0, 7200 },
	{ "RTM_DELADDR parses too", RTM_DELADDR, V6, 64, 0, 253, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, 0, "2a01:4f8::1", 0, FOREVER, FOREVER },
	{ "unknown attribute ignored", NEW, V6, 64, 0, 0, 3,
	  { { 99, 3, zeros }, { IFA_ADDRESS, 16, v6_a }, { 1000, 0, zeros } }, MUT_NONE, 0,
	  "2a01:4f8::1", 0, FOREVER, FOREVER },
	{ "unpadded last attribute", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_PROTO, 1, &u8_proto } }, MUT_UNPADDED, 0,
	  "2a01:4f8::1", 0, FOREVER, FOREVER },
	{ "prefix length 128", NEW, V6, 128, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_b } }, MUT_NONE, 0, "2a01:4f8::2", 0, FOREVER, FOREVER },

	/* Rejected. */
	{ "no address attribute", NEW, V6, 64, 0, 0, 3,
	  { { IFA_FLAGS, 4, &flags_mng } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "v6-sized address in v4 message", NEW, V4, 24, 0, 0, 2,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "v4-sized address in v6 message", NEW, V6, 64, 0, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "short IFA_LOCAL", NEW, V4, 24, 0, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local }, { IFA_LOCAL, 3, v4_local } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "IFA_FLAGS of 2 bytes", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_FLAGS, 2, &flags_mng } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "IFA_FLAGS of 8 bytes", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_FLAGS, 8, zeros } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "short cacheinfo", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_CACHEINFO, 12, &ci_short } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "long cacheinfo", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_CACHEINFO, 20, zeros } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "label without NUL", NEW, V4, 24, 0, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local }, { IFA_LABEL, sizeof(label_nonul), label_nonul } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "label longer than IFNAMSIZ", NEW, V4, 24, 0, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local }, { IFA_LABEL, sizeof(label_long), label_long } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "IFA_PROTO of 4 bytes", NEW, V4, 24, 0, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local }, { IFA_PROTO, 4, zeros } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "duplicate IFA_ADDRESS", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_ADDRESS, 16, v6_b } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "v4 prefix length 33", NEW, V4, 33, 0, 0, 2,
	  { { IFA_ADDRESS, 4, v4_local } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "v6 prefix length 129", NEW, V6, 129, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "not an address message", RTM_NEWLINK, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "NLMSG_DONE", NLMSG_DONE, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NONE, DW_EPARSE, NULL, 0, 0, 0 },
	{ "AF_UNSPEC family", NEW, AF_UNSPEC, 0, 0, 0, 3,
	  { { IFA_ADDRESS, 4, v4_local } }, MUT_NONE, DW_EUNSUPP, NULL, 0, 0, 0 },
	{ "AF_PACKET family", NEW, AF_PACKET, 0, 0, 0, 3,
	  { { IFA_ADDRESS, 4, v4_local } }, MUT_NONE, DW_EUNSUPP, NULL, 0, 0, 0 },
	{ "len one byte short", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_LEN_SHORT, DW_EPARSE, NULL, 0, 0, 0 },
	{ "len shorter than a header", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_LEN_HDR, DW_EPARSE, NULL, 0, 0, 0 },
	{ "nlmsg_len without room for ifaddrmsg", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NLMSG_TINY, DW_EPARSE, NULL, 0, 0, 0 },
	{ "nlmsg_len under a header", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_NLMSG_UNDER, DW_EPARSE, NULL, 0, 0, 0 },
	{ "attribute longer than the message", NEW, V6, 64, 0, 0, 3,
	  { { IFA_FLAGS, 4, &flags_mng }, { IFA_ADDRESS, 16, v6_a } }, MUT_ATTR_OVERLONG, DW_EPARSE, NULL, 0, 0, 0 },
	{ "attribute shorter than its header", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a }, { IFA_FLAGS, 4, &flags_mng } }, MUT_ATTR_TINY, DW_EPARSE, NULL, 0, 0, 0 },
	{ "trailing bytes", NEW, V6, 64, 0, 0, 3,
	  { { IFA_ADDRESS, 16, v6_a } }, MUT_TRAILING, DW_EPARSE, NULL, 0, 0, 0 },
};

/* Builds the case's message into buf; returns the length to pass. */
static size_t build(const struct nl_case *c, char *buf, size_t cap)
{
	memset(buf, 0, cap);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = c->msgtype;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = 42;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = c->family;
	ifa->ifa_prefixlen = c->plen;
	ifa->ifa_flags = c->flags8;
	ifa->ifa_scope = c->scope;
	ifa->ifa_index = c->index;
	struct nlattr *last = NULL;
	for (size_t i = 0; i < N_ELEMS(c->attrs) && c->attrs[i].type != 0; i++) {
		last = (struct nlattr *)mnl_nlmsg_get_payload_tail(nlh);
		mnl_attr_put(nlh, c->attrs[i].type, c->attrs[i].len, c->attrs[i].data);
	}
	size_t len = nlh->nlmsg_len;
	switch (c->mut) {
	case MUT_NONE:
		break;
	case MUT_LEN_SHORT:
		len--;
		break;
	case MUT_LEN_HDR:
		len = sizeof(struct nlmsghdr) - 1;
		break;
	case MUT_NLMSG_TINY:
		nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
		break;
	case MUT_NLMSG_UNDER:
		nlh->nlmsg_len = 8;
		break;
	case MUT_ATTR_OVERLONG:
		assert_non_null(last);
		last->nla_len = (uint16_t)(last->nla_len + 8);
		break;
	case MUT_ATTR_TINY:
		assert_non_null(last);
		last->nla_len = 2;
		break;
	case MUT_TRAILING:
		nlh->nlmsg_len += 2;
		len = nlh->nlmsg_len;
		break;
	case MUT_UNPADDED:
		assert_non_null(last);
		nlh->nlmsg_len = (uint32_t)((char *)last - buf) + last->nla_len;
		len = nlh->nlmsg_len;
		break;
	}
	return len;
}

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const struct nl_case *c = &cases[i];
		char buf[512] __attribute__((aligned(8)));
		size_t len = build(c, buf, sizeof(buf));
		struct dw_ifaddr a;
		memset(&a, 0xAB, sizeof(a));
		int r = dw_netlink_parse_addr((const struct nlmsghdr *)buf, len, &a);
		if (r != c->ret)
			fail_msg("case %zu \"%s\": got %d, want %d", i, c->name, r, c->ret);
		if (r != 0) {
			/* Output untouched on failure. */
			uint8_t pattern[sizeof(a)];
			memset(pattern, 0xAB, sizeof(pattern));
			assert_memory_equal(&a, pattern, sizeof(a));
			continue;
		}
		char text[DW_IP_STRLEN];
		dw_ip_format(&a.ip, text);
		if (strcmp(text, c->addr) != 0)
			fail_msg("case %zu \"%s\": address %s, want %s", i, c->name, text, c->addr);
		assert_int_equal(a.ip.family, c->family == AF_INET6 ? DW_FAM_V6 : DW_FAM_V4);
		assert_int_equal(a.prefixlen, c->plen);
		assert_int_equal(a.scope, c->scope);
		assert_int_equal(a.ifindex, c->index);
		assert_int_equal(a.flags, c->flags);
		assert_int_equal(a.preferred_lft, c->pref);
		assert_int_equal(a.valid_lft, c->valid);
		assert_string_equal(a.ifname, "");
		if (a.ip.family == DW_FAM_V4) {
			static const uint8_t z[12];
			assert_memory_equal(a.ip.bytes + 4, z, sizeof(z));
		}
	}
}

static void test_parse_null(void **state)
{
	(void)state;
	struct dw_ifaddr a;
	char buf[64] __attribute__((aligned(8)));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(dw_netlink_parse_addr(NULL, 64, &a), DW_EPARSE);
	assert_int_equal(dw_netlink_parse_addr((const struct nlmsghdr *)buf, sizeof(buf), NULL), DW_EPARSE);
	assert_int_equal(dw_netlink_parse_addr((const struct nlmsghdr *)buf, 0, &a), DW_EPARSE);
}

/* Two messages back to back in one buffer, walked as the dump does. */
static void test_walk_two(void **state)
{
	(void)state;
	char buf[1024] __attribute__((aligned(8)));
	size_t l1 = build(&cases[0], buf, 512);
	size_t l2 = build(&cases[8], buf + 512, 512);
	memmove(buf + MNL_ALIGN(l1), buf + 512, l2);
	size_t total = MNL_ALIGN(l1) + l2;
	int rem = (int)total;
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	unsigned n = 0;
	while (mnl_nlmsg_ok(nlh, rem)) {
		struct dw_ifaddr a;
		assert_int_equal(dw_netlink_parse_addr(nlh, (size_t)rem, &a), 0);
		n++;
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	assert_int_equal(n, 2);
}

static void test_dump_smoke(void **state)
{
	(void)state;
	struct dw_addr_list l = { 0 };
	struct dw_diag diag = { "" };
	int r = dw_netlink_dump(&l, &diag);
	if (r != 0)
		fail_msg("dump failed: %d %s", r, diag.msg);
	for (size_t i = 0; i < l.n; i++) {
		assert_true(l.v[i].ip.family == DW_FAM_V4 || l.v[i].ip.family == DW_FAM_V6);
		assert_true(l.v[i].ifindex > 0);
		struct dw_ip lo;
		assert_int_equal(dw_ip_parse("127.0.0.1", DW_FAM_V4, &lo), 0);
		if (dw_ip_equal(&l.v[i].ip, &lo))
			assert_string_equal(l.v[i].ifname, "lo");
	}
	/* A second dump into the same (filled) list replaces it. */
	size_t n = l.n;
	assert_int_equal(dw_netlink_dump(&l, &diag), 0);
	assert_int_equal(l.n, n);
	dw_addr_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_null),
		cmocka_unit_test(test_walk_two),
		cmocka_unit_test(test_dump_smoke),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
