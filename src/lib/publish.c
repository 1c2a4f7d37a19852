/* Publishing one record: the provider call behind a PUBLISH job (see
 * update.h).  In the network library: providers reach the network here. */
#include "lib/update.h"

#include "lib/dnsauth.h"
#include "lib/log.h"

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
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (want[f] != NULL)
			ops->update(r->provider, r, want[f], &res[f]);
	}
}
