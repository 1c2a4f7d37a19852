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

/* What a record accepts beyond the default (global unicast, usable, stable). */
#define DW_ACCEPT_PRIVATE    0x01u  /* IPv4 RFC 1918, CGNAT 100.64/10, 192.0.0/24 */
#define DW_ACCEPT_ULA        0x02u  /* IPv6 fc00::/7 */
#define DW_ACCEPT_TEMPORARY  0x04u  /* IPv6 privacy addresses */
#define DW_ACCEPT_DOC        0x08u  /* documentation ranges (192.0.2/24, 2001:db8::/32, ...) */
#define DW_ACCEPT_LINKLOCAL  0x10u  /* link-local (fe80::/10, 169.254/16) */
#define DW_ACCEPT_LOOPBACK   0x20u  /* loopback (127/8, ::1) */

/* Parses a comma-separated list of "private", "ula", "temporary",
 * "documentation", "link-local", "loopback" into DW_ACCEPT_* bits.  Blanks
 * around items are ignored; an empty (or all-blank) string gives 0; an empty
 * item or an unknown word is DW_EINVAL (*out untouched). */
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

/* Why an address was not chosen. */
enum dw_reject {
	DW_REJ_NONE = 0,     /* acceptable (or chosen) */
	DW_REJ_FAMILY,       /* other family */
	DW_REJ_IFACE,        /* other interface */
	DW_REJ_LOOPBACK,
	DW_REJ_LINKLOCAL,
	DW_REJ_MULTICAST,
	DW_REJ_UNSPECIFIED,
	DW_REJ_ULA,
	DW_REJ_PRIVATE,
	DW_REJ_DOC,
	DW_REJ_TENTATIVE,
	DW_REJ_DADFAILED,
	DW_REJ_DEPRECATED,   /* flag set or preferred lifetime 0 */
	DW_REJ_TEMPORARY,    /* IPv6 IFA_F_TEMPORARY (privacy address) */
	DW_REJ_NOMATCH,      /* outside the configured match prefix */
	DW_REJ_OUTRANKED,    /* acceptable, but another one was preferred */
	DW_REJ_RESERVED,     /* never publishable: 0/8 (but 0.0.0.0 is
	                        unspecified), 240/4, 198.18/15, ::ffff:0:0/96,
	                        ::/96, 100::/64, 2001:2::/48, fec0::/10 and
	                        all IPv6 outside 2000::/3 not listed above */
};

/* Short human text, e.g. "deprecated (preferred lifetime 0)".  Never NULL. */
const char *dw_reject_str(enum dw_reject r);
/* Stable one-word name for scripts and tests: "ok" for DW_REJ_NONE, then
 * "family", "interface", "loopback", "link-local", "multicast",
 * "unspecified", "ula", "private", "documentation", "tentative",
 * "dad-failed", "deprecated", "temporary", "no-match", "outranked",
 * "reserved".  Never NULL ("unknown" for out-of-range values). */
const char *dw_reject_name(enum dw_reject r);

/* Classifies one address against the family/interface filter and the policy
 * (ignores ranking: never returns DW_REJ_OUTRANKED).  ifname NULL = any
 * interface; p NULL = the default policy (accept nothing extra, no match,
 * DW_PREFER_STABLE).  Checks run in this order and the first failing one is
 * returned: family, interface, address range (unspecified, loopback,
 * multicast, reserved, link-local, ULA, private, documentation; kernel scope
 * "host" counts as loopback and "link" as link-local), match prefix, then
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
