/* A zone's authoritative servers, found and asked directly.
 *
 * Used where an answer must come from the source, never from a cache: ACME
 * propagation checks (every authoritative server serves the value), and
 * CNAME delegations of challenge names.  Queries are unsigned, over UDP
 * with TCP fallback (ldns' resolver: one per server, no search list, no
 * DNSSEC).
 *
 * Discovery has two modes, chosen by struct dw_dnsauth_cfg:
 *   - fixed servers (e.g. "acme-nameservers = 127.0.0.1:5353"): these are
 *     the authoritative servers of every zone; a zone apex is found by
 *     asking them for the name's SOA without recursion (dw_dns_find_zone);
 *   - otherwise, recursive resolvers (configured, or /etc/resolv.conf) are
 *     asked with RD set for the SOA (apex), the NS set of the apex and the
 *     addresses of each NS name; the servers found are then asked directly.
 *
 * Names are lower case, without the trailing dot, as in dns.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/dns.h"
#include "lib/error.h"

#define DW_DNSAUTH_SERVERS_MAX 16

struct dw_dnsauth_cfg {
	const struct dw_dns_server *fixed;      /* authoritative servers, or NULL */
	size_t nfixed;
	const struct dw_dns_server *resolvers;  /* recursive resolvers, or NULL */
	size_t nresolvers;
};

struct dw_dnsauth_zone {
	char apex[DW_DNS_NAME_MAX];
	struct dw_dns_server ns[DW_DNSAUTH_SERVERS_MAX];
	size_t nns;
};

/* Parses "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address (port
 * default_port) into srv with timeout_ms.  Returns 0 or DW_EINVAL. */
int dw_dnsauth_server_parse(const char *text, uint16_t default_port, long timeout_ms,
                            struct dw_dns_server *srv, struct dw_diag *diag);

/* Parses a list of the above separated by commas and/or blanks into
 * out[0..cap); *n receives the count (at least one).  Returns 0 or
 * DW_EINVAL. */
int dw_dnsauth_list_parse(const char *text, uint16_t default_port, long timeout_ms,
                          struct dw_dns_server *out, size_t cap, size_t *n,
                          struct dw_diag *diag);

/* The "nameserver" lines of a resolv.conf text (numeric addresses, port 53)
 * into out[0..cap).  Pure.  Returns the count (0 when none). */
size_t dw_dnsauth_resolv_conf(const char *text, size_t len, long timeout_ms,
                              struct dw_dns_server *out, size_t cap);

/* Storage for a dw_dnsauth_cfg built from configuration text. */
struct dw_dnsauth_setup {
	struct dw_dnsauth_cfg cfg;
	struct dw_dns_server fixed[DW_DNSAUTH_SERVERS_MAX];
	struct dw_dns_server resolvers[DW_DNSAUTH_SERVERS_MAX];
};

/* Fills out from the "acme-nameservers" and "acme-resolvers" texts (either
 * may be NULL): fixed servers when given, resolvers when given, else the
 * nameservers of /etc/resolv.conf.  out must not move afterwards (cfg points
 * into it).  Returns 0 or DW_EINVAL with diag naming the bad entry. */
int dw_dnsauth_setup(const char *nameservers, const char *resolvers, long timeout_ms,
                     struct dw_dnsauth_setup *out, struct dw_diag *diag);

/* Finds the zone holding name and its authoritative servers (see above).
 * Returns 0, DW_ENOTFOUND (no zone, or no address for any NS), or a
 * transport error (DW_ETIMEOUT, DW_EDNS, DW_EPARSE) with diag. */
int dw_dnsauth_find(const struct dw_dnsauth_cfg *cfg, const char *name,
                    struct dw_dnsauth_zone *out, struct dw_diag *diag);

/* The nameserver names of the zone holding name (dns.h dw_dns_zone_ns()),
 * found as dw_dnsauth_find() finds the zone and asked at each of its
 * authoritative servers, unsigned; their answers add up.  Returns 0 when at
 * least one server answered, DW_ETOOBIG (more NS than kept), or the error
 * of finding the zone or of the last server (diag). */
int dw_dnsauth_zone_ns(const struct dw_dnsauth_cfg *cfg, const char *name,
                       struct dw_dns_zone_ns *out, struct dw_diag *diag);

/* Asks the zone's servers, in turn until one gives an authoritative
 * answer, whether name is a CNAME; *found and target (the canonical name)
 * say.  Returns 0, or DW_EDNS/DW_ETIMEOUT when no server answered
 * authoritatively. */
int dw_dnsauth_cname(const struct dw_dnsauth_zone *z, const char *name, bool *found,
                     char target[DW_DNS_NAME_MAX], struct dw_diag *diag);

/* Follows name's CNAME chain at the authoritative servers: the zone of the
 * name and whether it is a CNAME (dw_dnsauth_find, dw_dnsauth_cname), then
 * the same for its target, at most hops_max times.  target receives the
 * last name reached.  Returns 0 when that name is no CNAME (zone holds its
 * zone and servers), DW_ETOOBIG after hops_max CNAMEs, or the error of the
 * lookup that failed (target is the name being looked up; zone unset),
 * with diag.  Each alias is logged at info level. */
int dw_dnsauth_follow(const struct dw_dnsauth_cfg *cfg, const char *name, unsigned hops_max,
                      char target[DW_DNS_NAME_MAX], struct dw_dnsauth_zone *zone,
                      struct dw_diag *diag);

/* Asks srv (no recursion) for the A or AAAA RRset (by ip's family) at name;
 * *match is true when the reply is authoritative and the RRset holds exactly
 * ip and nothing else.  Returns 0 when a reply came, else an error. */
int dw_dnsauth_addr_is(const struct dw_dns_server *srv, const char *name,
                       const struct dw_ip *ip, bool *match, struct dw_diag *diag);

/* Asks srv (no recursion) for the TXT RRset at name; *has is true when the
 * reply is authoritative (AA) and one TXT record's text (its strings
 * joined) equals value.  Returns 0 when a reply came, else an error. */
int dw_dnsauth_txt_has(const struct dw_dns_server *srv, const char *name, const char *value,
                       bool *has, struct dw_diag *diag);
