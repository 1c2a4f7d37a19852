/* Interface addresses and the policy that picks the one to publish.
 *
 * Pure code: no sockets.  netlink.c fills a dw_addr_list from the kernel;
 * this module decides, deterministically, which entry a record publishes and
 * why each other entry was rejected (protocols.md section 9). */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dw_family {
	DW_FAM_V4 = 0,
	DW_FAM_V6 = 1,
	DW_FAM_COUNT
};

/* "A"/"AAAA" and "ipv4"/"ipv6" names of a family. */
const char *dw_family_rrtype(enum dw_family fam);
const char *dw_family_name(enum dw_family fam);

struct dw_ip {
	enum dw_family family;
	uint8_t bytes[16];   /* network order; first 4 used for IPv4 */
};

#define DW_IP_STRLEN INET6_ADDRSTRLEN

/* Parses a textual address of the given family (strict inet_pton); 0 or DW_EINVAL. */
int dw_ip_parse(const char *s, enum dw_family fam, struct dw_ip *out);
/* Parses either family. */
int dw_ip_parse_any(const char *s, struct dw_ip *out);
/* Formats into buf (DW_IP_STRLEN bytes), returns buf. */
const char *dw_ip_format(const struct dw_ip *ip, char buf[DW_IP_STRLEN]);
bool dw_ip_equal(const struct dw_ip *a, const struct dw_ip *b);

/* Kernel IFA_F_* flag values, repeated so tests need no kernel headers. */
#define DW_IFA_TEMPORARY   0x01u  /* IPv6; for IPv4 this bit is SECONDARY */
#define DW_IFA_NODAD       0x02u
#define DW_IFA_OPTIMISTIC  0x04u
#define DW_IFA_DADFAILED   0x08u
#define DW_IFA_HOMEADDRESS 0x10u
#define DW_IFA_DEPRECATED  0x20u
#define DW_IFA_TENTATIVE   0x40u
#define DW_IFA_PERMANENT   0x80u
#define DW_IFA_MNGTMPADDR  0x100u
#define DW_IFA_NOPREFIXRT  0x200u
#define DW_IFA_STABLE_PRIV 0x800u

#define DW_LIFETIME_FOREVER 0xFFFFFFFFu

struct dw_ifaddr {
	struct dw_ip ip;
	uint8_t prefixlen;
	uint8_t scope;            /* RT_SCOPE_* */
	uint32_t flags;           /* IFA_F_* (from IFA_FLAGS when present) */
	uint32_t preferred_lft;   /* seconds, DW_LIFETIME_FOREVER = forever */
	uint32_t valid_lft;
	unsigned ifindex;
	char ifname[IF_NAMESIZE]; /* "" when unknown */
};

/* Growable list; dw_addr_list_free() releases it.  A zeroed list is empty. */
struct dw_addr_list {
	struct dw_ifaddr *v;
	size_t n, cap;
};

/* Upper bound on a list's length, so a runaway dump cannot exhaust memory. */
#define DW_ADDR_LIST_MAX 65536u

/* Appends a copy of *a.  Returns 0, DW_ENOMEM, or DW_ETOOBIG when the list
 * already holds DW_ADDR_LIST_MAX entries; the list is unchanged on error. */
int dw_addr_list_push(struct dw_addr_list *l, const struct dw_ifaddr *a);
/* Frees the entries and zeroes *l (safe on a zeroed or freed list, or NULL). */
void dw_addr_list_free(struct dw_addr_list *l);

/* What a record accepts beyond the default (global unicast, usable,
 * stable).  Each bit names one verdict of dw_addr_classify(); no bit lifts
 * a verdict it does not name, and most verdicts (DS-Lite, NAT64, reserved,
 * benchmarking, anycast, ...) have no bit at all: never published. */
#define DW_ACCEPT_PRIVATE    0x01u  /* IPv4 RFC 1918 private-use only */
#define DW_ACCEPT_ULA        0x02u  /* IPv6 fc00::/7 */
#define DW_ACCEPT_TEMPORARY  0x04u  /* IPv6 privacy addresses */
#define DW_ACCEPT_DOC        0x08u  /* documentation ranges (192.0.2/24, 2001:db8::/32, ...) */
#define DW_ACCEPT_LINKLOCAL  0x10u  /* link-local (fe80::/10, 169.254/16) */
#define DW_ACCEPT_LOOPBACK   0x20u  /* loopback (127/8, ::1) */
#define DW_ACCEPT_CGN        0x40u  /* IPv4 shared address space 100.64/10 (carrier-grade NAT) */
#define DW_ACCEPT_6TO4       0x80u  /* 2002::/16 wrapping a global IPv4 address */
#define DW_ACCEPT_TEREDO     0x100u /* 2001::/32 whose client and server IPv4 are global */

/* Parses a comma-separated list of "private", "cgn", "ula", "temporary",
 * "documentation", "link-local", "loopback", "6to4", "teredo" into
 * DW_ACCEPT_* bits.  Blanks around items are ignored; an empty (or
 * all-blank) string gives 0; an empty item or an unknown word is DW_EINVAL
 * (*out untouched). */
int dw_accept_parse(const char *s, unsigned *out);

struct dw_prefix {
	struct dw_ip ip;
	uint8_t len;
};
/* Parses "ADDR/LEN" of family fam: LEN is decimal, 0..32 or 0..128, and the
 * host bits must be zero.  Returns 0 or DW_EINVAL. */
int dw_prefix_parse(const char *s, enum dw_family fam, struct dw_prefix *out);
/* True when ip has p's family and its first p->len bits equal p's. */
bool dw_prefix_contains(const struct dw_prefix *p, const struct dw_ip *ip);

enum dw_prefer {
	DW_PREFER_STABLE = 0,  /* permanent, then longest preferred lifetime, then lowest address */
	DW_PREFER_LOWEST,      /* lowest address among the acceptable ones */
	DW_PREFER_HIGHEST,     /* highest address */
};

struct dw_addr_policy {
	unsigned accept;         /* DW_ACCEPT_* */
	bool has_match;
	struct dw_prefix match;  /* only addresses inside it (when has_match) */
	enum dw_prefer prefer;
};

/* Why an address was not chosen.  The range verdicts (loopback ...
 * reserved, cgn ... wrapped) come from dw_addr_classify(); the others from
 * the interface, the policy and the address's state.  Values are never
 * renumbered: new ones go at the end. */
enum dw_reject {
	DW_REJ_NONE = 0,     /* acceptable (or chosen); global unicast */
	DW_REJ_FAMILY,       /* other family */
	DW_REJ_IFACE,        /* other interface */
	DW_REJ_LOOPBACK,     /* 127/8, ::1 */
	DW_REJ_LINKLOCAL,    /* 169.254/16, fe80::/10 */
	DW_REJ_MULTICAST,    /* 224/4, ff00::/8 */
	DW_REJ_UNSPECIFIED,  /* 0.0.0.0, :: */
	DW_REJ_ULA,          /* fc00::/7 */
	DW_REJ_PRIVATE,      /* RFC 1918 */
	DW_REJ_DOC,          /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20 */
	DW_REJ_TENTATIVE,
	DW_REJ_DADFAILED,
	DW_REJ_DEPRECATED,   /* flag set or preferred lifetime 0 */
	DW_REJ_TEMPORARY,    /* IPv6 IFA_F_TEMPORARY (privacy address) */
	DW_REJ_NOMATCH,      /* outside the configured match prefix */
	DW_REJ_OUTRANKED,    /* acceptable, but another one was preferred */
	DW_REJ_RESERVED,     /* 0/8, 240/4, 255.255.255.255, ::/96, fec0::/10,
	                        IPv6 outside 2000::/3 not listed elsewhere */
	DW_REJ_CGN,          /* 100.64/10 shared address space (RFC 6598) */
	DW_REJ_DSLITE,       /* 192.0.0.0/29 (RFC 6333, RFC 7335) */
	DW_REJ_IETF,         /* rest of 192.0.0/24 and 2001::/23 */
	DW_REJ_ANYCAST,      /* service anycast: PCP, TURN, AS112, AMT, DNS-SD SRP,
	                        the former 6to4 relay 192.88.99/24 */
	DW_REJ_BENCHMARK,    /* 198.18/15, 2001:2::/48 */
	DW_REJ_NAT64,        /* 64:ff9b::/96, 64:ff9b:1::/48, 192.0.0.170/31 */
	DW_REJ_MAPPED,       /* ::ffff:0:0/96 IPv4-mapped */
	DW_REJ_DISCARD,      /* 100::/64, 100:0:0:1::/64 */
	DW_REJ_IDENTIFIER,   /* ORCHID 2001:10::/28, ORCHIDv2 2001:20::/28, DETs 2001:30::/28 */
	DW_REJ_SRV6,         /* 5f00::/16 segment identifiers */
	DW_REJ_6TO4,         /* 2002::/16 wrapping a global IPv4 address */
	DW_REJ_TEREDO,       /* 2001::/32 whose server and client IPv4 are global */
	DW_REJ_WRAPPED,      /* 6to4 or Teredo wrapping any other IPv4 address */
};
#define DW_REJ_LAST DW_REJ_WRAPPED

/* Short human text, e.g. "deprecated (preferred lifetime 0)".  Never NULL. */
const char *dw_reject_str(enum dw_reject r);
/* Stable one-word name for scripts and tests: "ok" for DW_REJ_NONE, then
 * "family", "interface", "loopback", "link-local", "multicast",
 * "unspecified", "ula", "private", "documentation", "tentative",
 * "dad-failed", "deprecated", "temporary", "no-match", "outranked",
 * "reserved", "cgn", "ds-lite", "ietf", "anycast", "benchmarking", "nat64",
 * "ipv4-mapped", "discard", "identifier", "srv6", "6to4", "teredo",
 * "wrapped".  Never NULL ("unknown" for out-of-range values). */
const char *dw_reject_name(enum dw_reject r);

/* Classifies ip by the IANA IPv4 and IPv6 special-purpose address
 * registries (plus multicast, and for IPv6 everything outside 2000::/3):
 * DW_REJ_NONE for global unicast, else the range's verdict (one of the
 * range values of enum dw_reject).  The most specific registry row wins.
 * For 6to4 (2002::/16) the wrapped IPv4 address, and for Teredo
 * (2001::/32) the server's and the (obfuscated) client's IPv4 addresses,
 * are classified too: unless they are all global, the verdict is
 * DW_REJ_WRAPPED.  reason (may be NULL) receives a static description of
 * the registry row, e.g. "DS-Lite B4 address (192.0.0.0/29, RFC 6333)";
 * "global unicast" for DW_REJ_NONE.  Pure; safe from any thread. */
enum dw_reject dw_addr_classify(const struct dw_ip *ip, const char **reason);

/* Formats what dw_addr_classify() says of ip into buf (cap bytes): its
 * reason, and for DW_REJ_WRAPPED also the wrapped IPv4 address and its own
 * reason ("6to4 address (2002::/16, RFC 3056) wrapping 10.0.0.1:
 * private-use (10.0.0.0/8, RFC 1918)").  Truncates safely; returns buf. */
const char *dw_addr_describe(const struct dw_ip *ip, char *buf, size_t cap);

/* Text for verdict r on address ip (as dw_addr_check() returned it): the
 * registry row (dw_addr_describe) when r is ip's own range verdict, else
 * dw_reject_str(r) (states, filters, a kernel scope narrower than the
 * address).  Writes into buf when needed; returns a string never NULL. */
const char *dw_reject_explain(const struct dw_ip *ip, enum dw_reject r, char *buf, size_t cap);

/* The DW_ACCEPT_* bit that lifts verdict r, or 0 when none does. */
unsigned dw_accept_bit(enum dw_reject r);

/* Classifies one address against the family/interface filter and the policy
 * (ignores ranking: never returns DW_REJ_OUTRANKED).  ifname NULL = any
 * interface; p NULL = the default policy (accept nothing extra, no match,
 * DW_PREFER_STABLE).  Checks run in this order and the first failing one is
 * returned: family, interface, address range (dw_addr_classify(); kernel
 * scope "host" counts as loopback and "link" as link-local; a range verdict
 * passes only when p->accept holds its dw_accept_bit()), match prefix, then
 * state (DAD failed, tentative, deprecated, temporary).  Tentative, DAD
 * failed and deprecated addresses are never accepted. */
enum dw_reject dw_addr_check(const struct dw_ifaddr *a, enum dw_family fam,
                             const char *ifname, const struct dw_addr_policy *p);

/* Picks the address to publish among v[0..n): returns its index or -1.
 * Ranking among acceptable addresses: DW_PREFER_STABLE puts IFA_F_PERMANENT
 * ones first, then the longest preferred lifetime, then the lowest address;
 * DW_PREFER_LOWEST/HIGHEST use the address bytes alone.  Remaining ties are
 * broken by prefix length, interface index and name, flags and valid
 * lifetime; entries equal in all of these are interchangeable.  p NULL =
 * default policy.
 * When reasons is non-NULL it must hold n entries and receives, for each
 * address, DW_REJ_NONE for the chosen one, DW_REJ_OUTRANKED for acceptable
 * ones not chosen, or the rejection reason.  The result depends only on the
 * set of addresses, not on their order in v, so the choice never flaps when
 * the kernel reorders a dump. */
int dw_addr_select(const struct dw_ifaddr *v, size_t n, enum dw_family fam,
                   const char *ifname, const struct dw_addr_policy *p,
                   enum dw_reject *reasons);
