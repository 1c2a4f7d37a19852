/* Publishing and checking one record: the provider calls behind PUBLISH
 * and VERIFY jobs (see update.h).  In the network library: providers reach
 * the network here. */
#include "lib/update.h"

#include "lib/dns.h"
#include "lib/dnsauth.h"
#include "lib/log.h"

#include <stdio.h>

/* True when every authoritative server of r's zone serves exactly ip. */
static bool served_already(const struct dw_dnsauth_cfg *cold, const struct dw_record *r,
                           const struct dw_ip *ip)
{
	struct dw_dnsauth_zone z;
	struct dw_diag diag = { "" };
	if (dw_dnsauth_find(cold, r->fqdn, &z, &diag) != DW_OK || z.nns == 0) {
		log_debug("%s: cold-start check: %s", r->fqdn, diag.msg[0] ? diag.msg : "no servers");
		return false;
	}
	for (size_t i = 0; i < z.nns; i++) {
		bool match = false;
		if (dw_dnsauth_addr_is(&z.ns[i], r->fqdn, ip, &match, &diag) != DW_OK || !match)
			return false;
	}
	return true;
}

void dw_update_publish(struct dw_record *r, const struct dw_plan plan[DW_FAM_COUNT],
                       const struct dw_dnsauth_cfg *cold, struct dw_result res[DW_FAM_COUNT])
{
	const struct dw_provider_ops *ops = r->provider->ops;
	const struct dw_ip *want[DW_FAM_COUNT] = { NULL, NULL };
	int n = 0;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		res[f] = (struct dw_result){ .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
		if (plan[f].publish && plan[f].have_addr && cold != NULL && plan[f].prev[0] == '\0' &&
		    served_already(cold, r, &plan[f].addr)) {
			char a[DW_IP_STRLEN];
			dw_result_set(&res[f], DW_OUT_UNCHANGED, -1,
			              "every authoritative server already serves %s",
			              dw_ip_format(&plan[f].addr, a));
			log_info("%s %s: %s", r->fqdn, dw_family_rrtype((enum dw_family)f), res[f].msg);
			continue;
		}
		if (plan[f].publish && plan[f].have_addr) {
			want[f] = &plan[f].addr;
			n++;
			char a[DW_IP_STRLEN];
			log_info("%s %s: publishing %s through provider %s (was %s)", r->fqdn,
			         dw_family_rrtype((enum dw_family)f), dw_ip_format(&plan[f].addr, a),
			         r->provider->name, plan[f].prev[0] != '\0' ? plan[f].prev : "unknown");
		}
	}
	/* Both families in one request where the protocol allows it. */
	if (n == DW_FAM_COUNT && ops->update_multi != NULL) {
		ops->update_multi(r->provider, r, want, res);
		return;
	}
	/* A provider whose requests always carry both families gets the one
	 * not changing with its published address: sent empty, an API that
	 * reads empty as "delete" would lose that record. */
	if (n == 1 && r->provider->both_families && ops->update_multi != NULL) {
		int o = want[DW_FAM_V4] != NULL ? DW_FAM_V6 : DW_FAM_V4;
		struct dw_ip keep;
		if (plan[o].active && plan[o].prev[0] != '\0' &&
		    dw_ip_parse(plan[o].prev, (enum dw_family)o, &keep) == DW_OK) {
			struct dw_result unreported = res[o];
			want[o] = &keep;
			log_debug("%s %s: sent along unchanged: %s", r->fqdn,
			          dw_family_rrtype((enum dw_family)o), plan[o].prev);
			ops->update_multi(r->provider, r, want, res);
			res[o] = unreported;
			return;
		}
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (want[f] != NULL)
			ops->update(r->provider, r, want[f], &res[f]);
	}
}

/* The zone's authoritative servers, asked without a key. */
static void verify_by_dns(const struct dw_record *r, const struct dw_ip *addr,
                          const struct dw_dnsauth_cfg *auth, struct dw_verify *out)
{
	const char *rrtype = dw_family_rrtype(addr->family);
	char ip[DW_IP_STRLEN];
	const char *rd[1] = { dw_ip_format(addr, ip) };
	struct dw_dnsauth_zone z;
	struct dw_diag diag = { "" };
	if (auth == NULL) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "no way to ask the zone's servers");
		return;
	}
	if (dw_dnsauth_find(auth, r->fqdn, &z, &diag) != DW_OK || z.nns == 0) {
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "authoritative servers of %s: %s", r->fqdn,
		              diag.msg[0] != '\0' ? diag.msg : "none found");
		return;
	}
	size_t answered = 0, exact = 0;
	char other[sizeof(((struct dw_dns_seen *)0)->text) + 64] = "";
	for (size_t i = 0; i < z.nns; i++) {
		struct dw_dns_seen seen;
		struct dw_dns_status st;
		int ret = dw_dns_rrset_look(&z.ns[i], NULL, r->fqdn, addr->family == DW_FAM_V6 ? 28 : 1,
		                            r->src[addr->family].ttl, rd, 1, &seen, &st, &diag);
		if (ret != DW_OK || !seen.aa ||
		    (seen.rcode != DW_RCODE_NOERROR && seen.rcode != DW_RCODE_NXDOMAIN)) {
			log_debug("%s %s: verify: %s: %s", r->fqdn, rrtype, z.ns[i].text,
			          ret != DW_OK ? diag.msg : "no authoritative answer");
			continue;
		}
		answered++;
		if (seen.held == 1 && seen.others == 0)
			exact++;
		else if (other[0] == '\0')
			snprintf(other, sizeof(other), "%s serves %s", z.ns[i].text, seen.text);
	}
	if (answered == 0)
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "no authoritative answer from the %zu "
		              "server%s of %s", z.nns, z.nns == 1 ? "" : "s", z.apex);
	else if (exact == answered)
		dw_verify_set(out, DW_VERIFY_STANDS, "%zu authoritative server%s of %s serve%s %s %s",
		              exact, exact == 1 ? "" : "s", z.apex, exact == 1 ? "s" : "", rrtype, ip);
	else if (exact == 0)
		dw_verify_set(out, DW_VERIFY_DRIFTED, "%s, not %s %s", other, rrtype, ip);
	else
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "the servers of %s disagree (%zu of %zu serve "
		              "%s %s; %s): a change may still be spreading", z.apex, exact, answered,
		              rrtype, ip, other);
}

void dw_update_verify(const struct dw_record *r, const struct dw_ip *addr,
                      const struct dw_dnsauth_cfg *auth, struct dw_verify *out)
{
	dw_verify_set(out, DW_VERIFY_UNKNOWN, "not checked");
	if (r->provider->ops->verify != NULL)
		r->provider->ops->verify(r->provider, r, addr, out);
	else
		verify_by_dns(r, addr, auth, out);
}
