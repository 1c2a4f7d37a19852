/* dnsward addr [IFACE]: what the kernel reports, and what each record would
 * publish from it.
 *
 * Output format (stable; scripts and tests parse it).  One item per line,
 * fields separated by a single space; only the trailing "(...)" explanation
 * of a reject line contains spaces.
 *
 *   address IFNAME ADDR/PLEN FAMILY scope=SCOPE flags=FLAGS preferred=LFT valid=LFT verdict=WHY
 *
 *     one line per interface address (of IFACE only, when given), sorted by
 *     interface index, family (ipv4 first), then address.
 *     IFNAME   interface name, or "if" + index when the name is unknown
 *     FAMILY   ipv4 | ipv6
 *     SCOPE    global | site | link | host | nowhere | a number
 *     FLAGS    comma list of permanent, secondary (IPv4), temporary (IPv6),
 *              tentative, optimistic, dadfailed, deprecated, nodad,
 *              homeaddress, mngtmpaddr, noprefixroute, mcautojoin,
 *              stable-privacy, and 0xNN for unknown bits; "none" when 0
 *     LFT      seconds, or "forever"
 *     WHY      verdict of the default policy (global unicast, usable,
 *              stable): "ok" or a rejection name (dw_reject_name)
 *
 *   record FQDN TYPE iface=NAME publish ADDR
 *   record FQDN TYPE iface=NAME no-address
 *   record FQDN TYPE iface=NAME reject ADDR/PLEN WHY (TEXT)
 *
 *     only with a configuration: for each record (file order) and family
 *     (A, then AAAA) whose source is iface:NAME (NAME = IFACE when given),
 *     first the address it would publish or "no-address", then one reject
 *     line per other address of that family on NAME, in the order above.
 *     TYPE is A or AAAA; WHY a rejection name ("outranked" when acceptable
 *     but another one is preferred); TEXT its description (for an address
 *     range, the special-purpose registry row: dw_reject_explain).
 *
 *   default IFNAME TYPE publish ADDR
 *   default IFNAME TYPE no-address
 *
 *     only without a configuration: for each interface listed above (in the
 *     same order) and family (A, then AAAA), what a record with
 *     "ipv4/ipv6 = iface:IFNAME" and no accept, match or prefer keys would
 *     publish.
 *
 * Exit status: 0; 2 on a usage error, an unknown IFACE or a netlink failure
 * (message on stderr). */
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsward/commands.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/netlink.h"

static void usage(void)
{
	fprintf(stderr, "usage: dnsward addr [IFACE]\n");
}

static const char *scope_name(uint8_t scope, char *buf, size_t len)
{
	switch (scope) {
	case 0:   return "global";
	case 200: return "site";
	case 253: return "link";
	case 254: return "host";
	case 255: return "nowhere";
	default:
		snprintf(buf, len, "%u", (unsigned)scope);   /* fits: at most 3 digits */
		return buf;
	}
}

static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ DW_IFA_PERMANENT,   "permanent" },
	{ DW_IFA_TEMPORARY,   "temporary" },   /* "secondary" for IPv4 */
	{ DW_IFA_TENTATIVE,   "tentative" },
	{ DW_IFA_OPTIMISTIC,  "optimistic" },
	{ DW_IFA_DADFAILED,   "dadfailed" },
	{ DW_IFA_DEPRECATED,  "deprecated" },
	{ DW_IFA_NODAD,       "nodad" },
	{ DW_IFA_HOMEADDRESS, "homeaddress" },
	{ DW_IFA_MNGTMPADDR,  "mngtmpaddr" },
	{ DW_IFA_NOPREFIXRT,  "noprefixroute" },
	{ 0x400u,             "mcautojoin" },
	{ DW_IFA_STABLE_PRIV, "stable-privacy" },
};

/* Appends s to buf (capacity len) at *pos, with a comma when not first.
 * The buffer is sized for every name at once, so truncation cannot happen;
 * it is still checked rather than assumed. */
static void append(char *buf, size_t len, size_t *pos, const char *s)
{
	int n = snprintf(buf + *pos, len - *pos, "%s%s", *pos ? "," : "", s);
	if (n < 0 || (size_t)n >= len - *pos) {
		buf[*pos] = '\0';
		return;
	}
	*pos += (size_t)n;
}

/* Enough for all names plus an unknown-bits hex field. */
#define FLAGS_STRLEN 200

static const char *flags_str(const struct dw_ifaddr *a, char buf[FLAGS_STRLEN])
{
	size_t pos = 0;
	buf[0] = '\0';
	uint32_t rest = a->flags;
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (!(a->flags & flag_names[i].bit))
			continue;
		rest &= ~flag_names[i].bit;
		const char *name = flag_names[i].name;
		if (flag_names[i].bit == DW_IFA_TEMPORARY && a->ip.family == DW_FAM_V4)
			name = "secondary";
		append(buf, FLAGS_STRLEN, &pos, name);
	}
	if (rest != 0) {
		char hex[16];
		snprintf(hex, sizeof(hex), "%#x", (unsigned)rest);   /* fits: "0x" + 8 digits */
		append(buf, FLAGS_STRLEN, &pos, hex);
	}
	if (pos == 0)
		return "none";
	return buf;
}

static const char *lifetime_str(uint32_t lft, char *buf, size_t len)
{
	if (lft == DW_LIFETIME_FOREVER)
		return "forever";
	snprintf(buf, len, "%u", (unsigned)lft);   /* fits: at most 10 digits */
	return buf;
}

static const char *ifname_str(const struct dw_ifaddr *a, char *buf, size_t len)
{
	if (a->ifname[0] != '\0')
		return a->ifname;
	snprintf(buf, len, "if%u", a->ifindex);   /* fits: "if" + 10 digits */
	return buf;
}

static int cmp_listing(const void *pa, const void *pb)
{
	const struct dw_ifaddr *a = pa, *b = pb;
	if (a->ifindex != b->ifindex)
		return a->ifindex < b->ifindex ? -1 : 1;
	if (a->ip.family != b->ip.family)
		return a->ip.family < b->ip.family ? -1 : 1;
	int c = memcmp(a->ip.bytes, b->ip.bytes, sizeof(a->ip.bytes));
	if (c != 0)
		return c;
	return (int)a->prefixlen - (int)b->prefixlen;
}

static void print_address(const struct dw_ifaddr *a)
{
	char ip[DW_IP_STRLEN], name[32], scope[8], flags[FLAGS_STRLEN], pref[16], valid[16];
	enum dw_reject r = dw_addr_check(a, a->ip.family, NULL, NULL);
	printf("address %s %s/%u %s scope=%s flags=%s preferred=%s valid=%s verdict=%s\n",
	       ifname_str(a, name, sizeof(name)), dw_ip_format(&a->ip, ip), (unsigned)a->prefixlen,
	       dw_family_name(a->ip.family), scope_name(a->scope, scope, sizeof(scope)),
	       flags_str(a, flags), lifetime_str(a->preferred_lft, pref, sizeof(pref)),
	       lifetime_str(a->valid_lft, valid, sizeof(valid)), dw_reject_name(r));
}

/* The record lines for one record and family with an interface source. */
static int print_record(const struct dw_record *rec, enum dw_family fam,
                        const struct dw_addr_list *l)
{
	const struct dw_source *src = &rec->src[fam];
	enum dw_reject *reasons = calloc(l->n ? l->n : 1, sizeof(*reasons));
	if (reasons == NULL) {
		log_error("out of memory");
		return DW_ENOMEM;
	}
	const char *type = dw_family_rrtype(fam);
	char ip[DW_IP_STRLEN];
	int idx = dw_addr_select(l->v, l->n, fam, src->ifname, &src->policy, reasons);
	if (idx >= 0)
		printf("record %s %s iface=%s publish %s\n", rec->fqdn, type, src->ifname,
		       dw_ip_format(&l->v[idx].ip, ip));
	else
		printf("record %s %s iface=%s no-address\n", rec->fqdn, type, src->ifname);
	for (size_t i = 0; i < l->n; i++) {
		if ((int)i == idx || reasons[i] == DW_REJ_FAMILY || reasons[i] == DW_REJ_IFACE)
			continue;
		char text[256];
		printf("record %s %s iface=%s reject %s/%u %s (%s)\n", rec->fqdn, type, src->ifname,
		       dw_ip_format(&l->v[i].ip, ip), (unsigned)l->v[i].prefixlen,
		       dw_reject_name(reasons[i]),
		       dw_reject_explain(&l->v[i].ip, reasons[i], text, sizeof(text)));
	}
	free(reasons);
	return 0;
}

int cmd_addr(struct dw_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("usage: dnsward addr [IFACE]\n");
			return DW_EXIT_OK;
		default:
			usage();
			return DW_EXIT_USAGE;
		}
	}
	const char *only = NULL;
	if (argc - optind > 1) {
		usage();
		return DW_EXIT_USAGE;
	}
	if (argc - optind == 1) {
		only = argv[optind];
		if (strlen(only) >= IF_NAMESIZE || if_nametoindex(only) == 0) {
			log_error("no interface named '%s'", only);
			return DW_EXIT_USAGE;
		}
	}

	struct dw_addr_list l = { 0 };
	struct dw_diag diag = { "" };
	int ret = dw_netlink_dump(&l, &diag);
	if (ret != DW_OK) {
		log_error("cannot read interface addresses: %s", diag.msg);
		return DW_EXIT_USAGE;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(l.v[0]), cmp_listing);

	for (size_t i = 0; i < l.n; i++)
		if (only == NULL || strcmp(l.v[i].ifname, only) == 0)
			print_address(&l.v[i]);

	/* Without a configuration: what the default policy picks. */
	for (size_t i = 0; cfg == NULL && i < l.n; i++) {
		const char *ifname = l.v[i].ifname;
		if ((only != NULL && strcmp(ifname, only) != 0) || ifname[0] == '\0' ||
		    (i > 0 && strcmp(l.v[i - 1].ifname, ifname) == 0))
			continue;   /* sorted by interface: once each */
		for (int fam = 0; fam < DW_FAM_COUNT; fam++) {
			char ip[DW_IP_STRLEN];
			int idx = dw_addr_select(l.v, l.n, (enum dw_family)fam, ifname, NULL, NULL);
			if (idx >= 0)
				printf("default %s %s publish %s\n", ifname,
				       dw_family_rrtype((enum dw_family)fam), dw_ip_format(&l.v[idx].ip, ip));
			else
				printf("default %s %s no-address\n", ifname,
				       dw_family_rrtype((enum dw_family)fam));
		}
	}

	int rc = DW_EXIT_OK;
	for (size_t r = 0; cfg != NULL && r < cfg->nrecords; r++) {
		const struct dw_record *rec = cfg->records[r];
		for (int fam = 0; fam < DW_FAM_COUNT; fam++) {
			const struct dw_source *src = &rec->src[fam];
			if (src->kind != DW_SRC_IFACE)
				continue;
			if (only != NULL && strcmp(src->ifname, only) != 0)
				continue;
			if (print_record(rec, (enum dw_family)fam, &l) != 0) {
				rc = DW_EXIT_USAGE;
				goto out;
			}
		}
	}
out:
	dw_addr_list_free(&l);
	if (fflush(stdout) != 0) {
		log_error("cannot write the listing");
		rc = DW_EXIT_USAGE;
	}
	return rc;
}
