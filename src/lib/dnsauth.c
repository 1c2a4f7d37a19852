/* A zone's authoritative servers, found and asked directly; see dnsauth.h. */
#include "lib/dnsauth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define TYPE_SOA 6
#define TYPE_NS 2
#define TYPE_CNAME 5
#define TYPE_TXT 16
#define TYPE_A 1
#define TYPE_AAAA 28

/* ------------------------------------------------------------------ queries */

/* Presentation name of a dname rdf: lower case, no trailing dot ("" = root).
 * False for names we do not compare (escapes, too long). */
static bool dname_text(const ldns_rdf *rdf, char out[DW_DNS_NAME_MAX])
{
	out[0] = '\0';
	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return false;
	char *s = ldns_rdf2str(rdf);
	if (s == NULL)
		return false;
	size_t n = strlen(s);
	bool ok = n < DW_DNS_NAME_MAX && strchr(s, '\\') == NULL;
	if (ok) {
		if (n > 0 && s[n - 1] == '.')
			s[--n] = '\0';
		for (size_t i = 0; i <= n; i++)
			out[i] = (char)tolower((unsigned char)s[i]);
	}
	free(s);
	return ok;
}

/* One query to srv; *out (caller frees) is a reply with our ID and
 * question.  rd sets Recursion Desired. */
static int aquery(const struct dw_dns_server *srv, bool rd, const char *name, uint16_t type,
                  ldns_pkt **out, struct dw_diag *diag)
{
	*out = NULL;
	int ret = DW_OK;
	char abs[DW_DNS_NAME_MAX + 2];
	int w = snprintf(abs, sizeof(abs), "%s.", name);
	if (w < 0 || (size_t)w >= sizeof(abs))
		return dw_diag_set(diag, DW_EINVAL, "name too long");
	ldns_resolver *r = ldns_resolver_new();
	ldns_rdf *qname = ldns_dname_new_frm_str(name[0] == '\0' ? "." : abs);
	uint16_t port = 0;
	ldns_rdf *addr = ldns_sockaddr_storage2rdf(&srv->addr, &port);
	ldns_pkt *q = NULL, *reply = NULL;
	if (r == NULL || qname == NULL || addr == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	if (ldns_resolver_push_nameserver(r, addr) != LDNS_STATUS_OK) {
		ret = dw_diag_set(diag, DW_EDNS, "cannot use %s", srv->text);
		goto out;
	}
	ldns_resolver_set_port(r, port);
	ldns_resolver_set_recursive(r, rd);
	ldns_resolver_set_dnssec(r, false);
	ldns_resolver_set_defnames(r, false);
	ldns_resolver_set_dnsrch(r, false);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_fallback(r, true);   /* TCP when truncated */
	ldns_resolver_set_retry(r, 2);
	long per_try = srv->timeout_ms / 2 > 0 ? srv->timeout_ms / 2 : 1000;
	struct timeval tv = { .tv_sec = per_try / 1000, .tv_usec = (per_try % 1000) * 1000 };
	ldns_resolver_set_timeout(r, tv);

	q = ldns_pkt_query_new(ldns_rdf_clone(qname), (ldns_rr_type)type, LDNS_RR_CLASS_IN,
	                       rd ? LDNS_RD : 0);
	if (q == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	uint16_t id;
	if (sodium_init() < 0) {
		ret = dw_diag_set(diag, DW_ENOMEM, "libsodium failed to initialise");
		goto out;
	}
	randombytes_buf(&id, sizeof(id));
	ldns_pkt_set_id(q, id);
	ldns_pkt_set_rd(q, rd);
	ldns_status s = ldns_resolver_send_pkt(&reply, r, q);
	if (s != LDNS_STATUS_OK || reply == NULL) {
		ret = dw_diag_set(diag, s == LDNS_STATUS_NETWORK_ERR || s == LDNS_STATUS_RES_NO_NS
		                        ? DW_ETIMEOUT : DW_EDNS,
		                  "no reply from %s: %s", srv->text, ldns_get_errorstr_by_id(s));
		goto out;
	}
	ldns_rr_list *qs = ldns_pkt_question(reply);
	ldns_rr *qrr = ldns_rr_list_rr_count(qs) == 1 ? ldns_rr_list_rr(qs, 0) : NULL;
	if (ldns_pkt_id(reply) != id || !ldns_pkt_qr(reply) || qrr == NULL ||
	    ldns_rr_get_type(qrr) != (ldns_rr_type)type ||
	    ldns_dname_compare(ldns_rr_owner(qrr), qname) != 0) {
		ret = dw_diag_set(diag, DW_EDNS, "unexpected reply from %s", srv->text);
		goto out;
	}
	*out = reply;
	reply = NULL;
out:
	ldns_pkt_free(reply);
	ldns_pkt_free(q);
	ldns_rdf_deep_free(addr);
	ldns_rdf_deep_free(qname);
	ldns_resolver_deep_free(r);
	return ret;
}

/* The owner of the first SOA of sec that holds name, or "" */
static bool soa_holding(ldns_rr_list *sec, const char *name, char apex[DW_DNS_NAME_MAX])
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		ldns_rr *rr = ldns_rr_list_rr(sec, i);
		char owner[DW_DNS_NAME_MAX];
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && dname_text(ldns_rr_owner(rr), owner) &&
		    dw_dns_name_in_zone(name, owner)) {
			memcpy(apex, owner, DW_DNS_NAME_MAX);
			return true;
		}
	}
	return false;
}

/* Zone apex of name through a recursive resolver: the SOA in the answer or
 * authority section that holds name, walking up when the answer is about
 * something else (a CNAME's target). */
static int apex_by_resolver(const struct dw_dns_server *res, const char *name,
                            char apex[DW_DNS_NAME_MAX], struct dw_diag *diag)
{
	const char *cand = name;
	for (;;) {
		ldns_pkt *p = NULL;
		int ret = aquery(res, true, cand, TYPE_SOA, &p, diag);
		if (ret != DW_OK)
			return ret;
		ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
		bool found = (rc == LDNS_RCODE_NOERROR || rc == LDNS_RCODE_NXDOMAIN) &&
		             (soa_holding(ldns_pkt_answer(p), name, apex) ||
		              soa_holding(ldns_pkt_authority(p), name, apex));
		ldns_pkt_free(p);
		if (found)
			return DW_OK;
		if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN)
			return dw_diag_set(diag, DW_EDNS, "resolver %s answered RCODE %d for %s SOA",
			                   res->text, (int)rc, cand);
		if (cand[0] == '\0')
			return dw_diag_set(diag, DW_ENOTFOUND, "no zone holds %s", name);
		const char *dot = strchr(cand, '.');
		cand = dot != NULL ? dot + 1 : "";
	}
}

static void add_addr(struct dw_dnsauth_zone *z, const ldns_rr *rr, long timeout_ms)
{
	const ldns_rdf *a = ldns_rr_rdf(rr, 0);
	if (a == NULL || z->nns == DW_DNSAUTH_SERVERS_MAX)
		return;
	char ip[INET6_ADDRSTRLEN];
	if (ldns_rdf_get_type(a) == LDNS_RDF_TYPE_A && ldns_rdf_size(a) == 4)
		inet_ntop(AF_INET, ldns_rdf_data(a), ip, sizeof(ip));
	else if (ldns_rdf_get_type(a) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(a) == 16)
		inet_ntop(AF_INET6, ldns_rdf_data(a), ip, sizeof(ip));
	else
		return;
	struct dw_dns_server s;
	if (dw_dns_server_set(&s, ip, 53, timeout_ms, NULL) != DW_OK)
		return;
	for (size_t i = 0; i < z->nns; i++) {
		if (strcmp(z->ns[i].text, s.text) == 0)
			return;
	}
	z->ns[z->nns++] = s;
}

/* Addresses (A and AAAA) of an NS name through the resolver. */
static void ns_addresses(const struct dw_dns_server *res, const char *nsname,
                         struct dw_dnsauth_zone *z)
{
	static const uint16_t types[] = { TYPE_A, TYPE_AAAA };
	for (size_t t = 0; t < 2; t++) {
		ldns_pkt *p = NULL;
		struct dw_diag d;
		if (aquery(res, true, nsname, types[t], &p, &d) != DW_OK) {
			log_debug("%s: %s", nsname, d.msg);
			continue;
		}
		ldns_rr_list *ans = ldns_pkt_answer(p);
		for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			ldns_rr *rr = ldns_rr_list_rr(ans, i);
			if (ldns_rr_get_type(rr) == (ldns_rr_type)types[t])
				add_addr(z, rr, res->timeout_ms);
		}
		ldns_pkt_free(p);
	}
}

static int find_by_resolver(const struct dw_dns_server *res, const char *name,
                            struct dw_dnsauth_zone *out, struct dw_diag *diag)
{
	int ret = apex_by_resolver(res, name, out->apex, diag);
	if (ret != DW_OK)
		return ret;
	ldns_pkt *p = NULL;
	if ((ret = aquery(res, true, out->apex, TYPE_NS, &p, diag)) != DW_OK)
		return ret;
	ldns_rr_list *ans = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		char owner[DW_DNS_NAME_MAX], ns[DW_DNS_NAME_MAX];
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !dname_text(ldns_rr_owner(rr), owner) ||
		    strcmp(owner, out->apex) != 0 || !dname_text(ldns_rr_rdf(rr, 0), ns))
			continue;
		ns_addresses(res, ns, out);
	}
	ldns_pkt_free(p);
	if (out->nns == 0)
		return dw_diag_set(diag, DW_ENOTFOUND, "no address found for the NS of zone %s",
		                   out->apex[0] ? out->apex : ".");
	return DW_OK;
}

int dw_dnsauth_find(const struct dw_dnsauth_cfg *cfg, const char *name,
                    struct dw_dnsauth_zone *out, struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	int ret = dw_diag_set(diag, DW_ENOTFOUND, "no DNS server to ask about %s", name);
	if (cfg->nfixed > 0) {
		for (size_t i = 0; i < cfg->nfixed; i++) {
			struct dw_dns_status st;
			ret = dw_dns_find_zone(&cfg->fixed[i], NULL, name, out->apex, &st, diag);
			if (ret == DW_OK)
				break;
		}
		if (ret != DW_OK)
			return ret;
		size_t n = cfg->nfixed < DW_DNSAUTH_SERVERS_MAX ? cfg->nfixed : DW_DNSAUTH_SERVERS_MAX;
		memcpy(out->ns, cfg->fixed, n * sizeof(out->ns[0]));
		out->nns = n;
		return DW_OK;
	}
	for (size_t i = 0; i < cfg->nresolvers; i++) {
		memset(out, 0, sizeof(*out));
		ret = find_by_resolver(&cfg->resolvers[i], name, out, diag);
		if (ret == DW_OK)
			return DW_OK;
		log_debug("resolver %s: %s", cfg->resolvers[i].text, diag->msg);
	}
	return ret;
}

int dw_dnsauth_zone_ns(const struct dw_dnsauth_cfg *cfg, const char *name,
                       struct dw_dns_zone_ns *out, struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	struct dw_dnsauth_zone z;
	int ret = dw_dnsauth_find(cfg, name, &z, diag);
	if (ret != DW_OK)
		return ret;
	memcpy(out->apex, z.apex, sizeof(out->apex));
	size_t answered = 0;
	ret = dw_diag_set(diag, DW_ENOTFOUND, "zone %s has no server to ask", z.apex);
	for (size_t i = 0; i < z.nns; i++) {
		struct dw_dns_status st;
		struct dw_diag d = { "" };
		int r = dw_dns_zone_ns(&z.ns[i], NULL, name, out, &st, &d);
		if (r == DW_OK) {
			answered++;
			continue;
		}
		log_debug("%s", d.msg);
		ret = dw_diag_set(diag, r, "%s", d.msg);
		if (r == DW_ETOOBIG)
			return ret;
	}
	return answered > 0 ? DW_OK : ret;
}

int dw_dnsauth_cname(const struct dw_dnsauth_zone *z, const char *name, bool *found,
                     char target[DW_DNS_NAME_MAX], struct dw_diag *diag)
{
	*found = false;
	target[0] = '\0';
	int ret = dw_diag_set(diag, DW_EDNS, "zone %s has no server to ask", z->apex);
	for (size_t i = 0; i < z->nns; i++) {
		ldns_pkt *p = NULL;
		ret = aquery(&z->ns[i], false, name, TYPE_CNAME, &p, diag);
		if (ret != DW_OK)
			continue;
		ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);
		if (!ldns_pkt_aa(p) || (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN)) {
			ret = dw_diag_set(diag, DW_EDNS, "%s gave no authoritative answer for %s (RCODE %d)",
			                  z->ns[i].text, name, (int)rc);
			ldns_pkt_free(p);
			continue;
		}
		ldns_rr_list *ans = ldns_pkt_answer(p);
		for (size_t k = 0; k < ldns_rr_list_rr_count(ans); k++) {
			ldns_rr *rr = ldns_rr_list_rr(ans, k);
			char owner[DW_DNS_NAME_MAX];
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    dname_text(ldns_rr_owner(rr), owner) && strcmp(owner, name) == 0 &&
			    dname_text(ldns_rr_rdf(rr, 0), target) && target[0] != '\0') {
				*found = true;
				break;
			}
		}
		if (!*found)
			target[0] = '\0';
		ldns_pkt_free(p);
		return DW_OK;
	}
	return ret;
}

int dw_dnsauth_follow(const struct dw_dnsauth_cfg *cfg, const char *name, unsigned hops_max,
                      char target[DW_DNS_NAME_MAX], struct dw_dnsauth_zone *zone,
                      struct dw_diag *diag)
{
	snprintf(target, DW_DNS_NAME_MAX, "%s", name);
	for (unsigned hop = 0;; hop++) {
		if (hop == hops_max)
			return dw_diag_set(diag, DW_ETOOBIG, "more than %u CNAMEs from %s", hops_max, name);
		bool found = false;
		char next[DW_DNS_NAME_MAX];
		int ret = dw_dnsauth_find(cfg, target, zone, diag);
		if (ret == DW_OK)
			ret = dw_dnsauth_cname(zone, target, &found, next, diag);
		if (ret != DW_OK)
			return ret;
		if (!found)
			return DW_OK;
		log_info("%s is an alias of %s", target, next);
		memcpy(target, next, DW_DNS_NAME_MAX);
	}
}

int dw_dnsauth_addr_is(const struct dw_dns_server *srv, const char *name,
                       const struct dw_ip *ip, bool *match, struct dw_diag *diag)
{
	*match = false;
	bool v6 = ip->family == DW_FAM_V6;
	ldns_pkt *p = NULL;
	int ret = aquery(srv, false, name, v6 ? TYPE_AAAA : TYPE_A, &p, diag);
	if (ret != DW_OK)
		return ret;
	size_t want = v6 ? 16 : 4, same = 0, other = 0;
	ldns_rr_list *ans = ldns_pkt_answer(p);
	for (size_t i = 0; ldns_pkt_aa(p) && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR &&
	                   i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		char owner[DW_DNS_NAME_MAX];
		if (ldns_rr_get_type(rr) != (v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A) ||
		    !dname_text(ldns_rr_owner(rr), owner) || strcmp(owner, name) != 0 ||
		    ldns_rr_rd_count(rr) != 1)
			continue;
		const ldns_rdf *d = ldns_rr_rdf(rr, 0);
		if (ldns_rdf_size(d) == want && memcmp(ldns_rdf_data(d), ip->bytes, want) == 0)
			same++;
		else
			other++;
	}
	*match = same == 1 && other == 0;
	ldns_pkt_free(p);
	return DW_OK;
}

int dw_dnsauth_txt_has(const struct dw_dns_server *srv, const char *name, const char *value,
                       bool *has, struct dw_diag *diag)
{
	*has = false;
	ldns_pkt *p = NULL;
	int ret = aquery(srv, false, name, TYPE_TXT, &p, diag);
	if (ret != DW_OK)
		return ret;
	size_t vlen = strlen(value);
	ldns_rr_list *ans = ldns_pkt_answer(p);
	for (size_t i = 0; ldns_pkt_aa(p) && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR &&
	                   i < ldns_rr_list_rr_count(ans) && !*has; i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		char owner[DW_DNS_NAME_MAX];
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || !dname_text(ldns_rr_owner(rr), owner) ||
		    strcmp(owner, name) != 0)
			continue;
		size_t off = 0;
		bool same = true;
		for (size_t k = 0; k < ldns_rr_rd_count(rr) && same; k++) {
			const ldns_rdf *s = ldns_rr_rdf(rr, k);
			const uint8_t *d = ldns_rdf_data(s);
			size_t sz = ldns_rdf_size(s);
			if (sz == 0 || (size_t)d[0] + 1 != sz || off + d[0] > vlen ||
			    memcmp(value + off, d + 1, d[0]) != 0)
				same = false;
			else
				off += d[0];
		}
		*has = same && off == vlen;
	}
	ldns_pkt_free(p);
	return DW_OK;
}
