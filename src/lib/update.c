/* One update pass over the configured records. */
#include "lib/update.h"
#include "lib/dnsauth.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/source.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *dw_verify_str(enum dw_verify_status s)
{
	switch (s) {
	case DW_VERIFY_STANDS:  return "stands";
	case DW_VERIFY_DRIFTED: return "drifted";
	case DW_VERIFY_UNKNOWN: return "unknown";
	}
	return "unknown";
}

void dw_verify_set(struct dw_verify *v, enum dw_verify_status s, const char *fmt, ...)
{
	v->status = s;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		v->msg[0] = '\0';
}

int dw_update_state_path(const struct dw_config *cfg, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/state.json", cfg->state_dir);
	return (n < 0 || (size_t)n >= cap) ? DW_ETOOBIG : DW_OK;
}

/* When every IPv4 address on the interface is a DS-Lite B4 or CGN one (or
 * link-local), and at least one of them is: the reason that says so, in
 * why, and true.  A host behind DS-Lite has no public IPv4 address of its
 * own, now or later: nothing a retry could change. */
static bool carrier_only(const struct dw_source *src, enum dw_family fam,
                         const struct dw_addr_list *addrs, const enum dw_reject *reasons,
                         char *why, size_t whylen)
{
	if (fam != DW_FAM_V4 || addrs == NULL)
		return false;
	const struct dw_ifaddr *carrier = NULL;
	enum dw_reject kind = DW_REJ_NONE;
	for (size_t i = 0; i < addrs->n; i++) {
		enum dw_reject r = reasons[i];
		if (r == DW_REJ_FAMILY || r == DW_REJ_IFACE || r == DW_REJ_LINKLOCAL)
			continue;
		if (r != DW_REJ_DSLITE && r != DW_REJ_CGN)
			return false;
		if (carrier == NULL || (r == DW_REJ_DSLITE && kind != DW_REJ_DSLITE)) {
			carrier = &addrs->v[i];
			kind = r;
		}
	}
	if (carrier == NULL)
		return false;
	char a[DW_IP_STRLEN];
	dw_ip_format(&carrier->ip, a);
	if (kind == DW_REJ_DSLITE)
		snprintf(why, whylen,
		         "no public IPv4 address on %s: it has only the DS-Lite address %s (192.0.0.0/29, "
		         "RFC 6333): IPv4 leaves through the provider's tunnel and shares its public "
		         "address; set ipv4 = off, or ipv4 = web to publish that shared address",
		         src->ifname, a);
	else
		snprintf(why, whylen,
		         "no public IPv4 address on %s: it has only the carrier-grade NAT address %s "
		         "(100.64.0.0/10, RFC 6598): the public address is the provider's NAT; set "
		         "ipv4 = off, or ipv4 = web to publish the NAT's address", src->ifname, a);
	return true;
}

int dw_update_desired(const struct dw_record *r, enum dw_family fam,
                      const struct dw_addr_list *addrs, struct dw_ip *ip,
                      char *why, size_t whylen)
{
	return dw_update_desired_ex(r, fam, addrs, ip, why, whylen, NULL);
}

int dw_update_desired_ex(const struct dw_record *r, enum dw_family fam,
                         const struct dw_addr_list *addrs, struct dw_ip *ip,
                         char *why, size_t whylen, bool *steady)
{
	const struct dw_source *src = &r->src[fam];
	if (steady != NULL)
		*steady = false;
	switch (src->kind) {
	case DW_SRC_OFF:
		snprintf(why, whylen, "disabled");
		return DW_ENOTFOUND;
	case DW_SRC_STATIC:
		*ip = src->addr;
		return DW_OK;
	case DW_SRC_WEB:
	case DW_SRC_DNS:
	case DW_SRC_CMD:
		return dw_source_fetch(src, fam, ip, why, whylen);   /* blocks, bounded */
	case DW_SRC_IFACE:
		break;
	}

	size_t n = addrs != NULL ? addrs->n : 0;
	enum dw_reject *reasons = calloc(n > 0 ? n : 1, sizeof(*reasons));
	if (reasons == NULL) {
		snprintf(why, whylen, "out of memory");
		return DW_ENOMEM;
	}
	int idx = dw_addr_select(n > 0 ? addrs->v : NULL, n, fam, src->ifname, &src->policy,
	                         reasons);
	if (idx >= 0) {
		*ip = addrs->v[idx].ip;
		free(reasons);
		if (src->has_suffix)   /* the interface's prefix, our host part */
			return dw_source_apply_suffix(&addrs->v[idx].ip, addrs->v[idx].prefixlen,
			                              &src->suffix, ip, why, whylen);
		return DW_OK;
	}

	if (carrier_only(src, fam, addrs, reasons, why, whylen)) {
		free(reasons);
		if (steady != NULL)
			*steady = true;
		return DW_ENOTFOUND;
	}

	/* Explain with every rejected address on that interface, in address
	 * order so the message does not depend on the kernel's dump order. */
	size_t used = (size_t)snprintf(why, whylen, "no usable %s address on %s",
	                               dw_family_name(fam), src->ifname);
	const struct dw_ifaddr *prev = NULL;
	for (;;) {
		const struct dw_ifaddr *next = NULL;
		size_t next_i = 0;
		for (size_t i = 0; i < n; i++) {
			const struct dw_ifaddr *a = &addrs->v[i];
			if (reasons[i] == DW_REJ_FAMILY || reasons[i] == DW_REJ_IFACE)
				continue;
			if (prev != NULL && memcmp(a->ip.bytes, prev->ip.bytes, 16) <= 0)
				continue;
			if (next == NULL || memcmp(a->ip.bytes, next->ip.bytes, 16) < 0) {
				next = a;
				next_i = i;
			}
		}
		if (next == NULL || used + 1 >= whylen)
			break;
		char a[DW_IP_STRLEN], item[DW_IP_STRLEN + 40];
		snprintf(item, sizeof(item), "%s %s %s", prev == NULL ? ":" : ",",
		         dw_ip_format(&next->ip, a), dw_reject_name(reasons[next_i]));
		size_t ilen = strnlen(item, sizeof(item));
		if (used + ilen + 1 > whylen)
			break;   /* keep whole items only */
		memcpy(why + used, item, ilen + 1);
		used += ilen;
		prev = next;
	}
	free(reasons);
	if (prev != NULL)
		return DW_ENOTFOUND;
	snprintf(why, whylen, "no %s address on %s", dw_family_name(fam), src->ifname);
	return DW_ENOTFOUND;
}

static bool record_selected(const struct dw_update_opts *opts, const struct dw_record *r)
{
	if (opts->nonly == 0)
		return true;
	for (size_t i = 0; i < opts->nonly; i++) {
		char name[256];
		int n = snprintf(name, sizeof(name), "%s", opts->only[i]);
		if (n > 0 && (size_t)n < sizeof(name) && dw_fqdn_normalize(name) == DW_OK &&
		    strcmp(name, r->fqdn) == 0)
			return true;
	}
	return false;
}

static bool needs_interfaces(const struct dw_config *cfg, const struct dw_update_opts *opts)
{
	for (size_t i = 0; i < cfg->nrecords; i++) {
		const struct dw_record *r = cfg->records[i];
		if (!record_selected(opts, r))
			continue;
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (r->src[f].kind == DW_SRC_IFACE)
				return true;
		}
	}
	return false;
}

void dw_update_plan(const struct dw_record *r, const struct dw_addr_list *addrs,
                    const struct dw_state *st, bool force, struct dw_plan plan[DW_FAM_COUNT])
{
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_plan *pl = &plan[f];
		memset(pl, 0, sizeof(*pl));
		pl->active = r->src[f].kind != DW_SRC_OFF;
		if (!pl->active)
			continue;
		if (dw_update_desired_ex(r, (enum dw_family)f, addrs, &pl->addr, pl->why,
		                         sizeof(pl->why), &pl->steady) != DW_OK)
			continue;
		pl->have_addr = true;
		char addr[DW_IP_STRLEN];
		dw_ip_format(&pl->addr, addr);
		const struct dw_state_entry *prev =
			st != NULL ? dw_state_get(st, r->fqdn, (enum dw_family)f, r->provider->name) : NULL;
		if (prev != NULL)
			memcpy(pl->prev, prev->address, sizeof(pl->prev));
		pl->publish = force || prev == NULL || strcmp(prev->address, addr) != 0;
	}
}

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

/* Keeps the family's result in the state (lib/state.h) and saves when it
 * changed: "dnsward status" shows it without a daemon. */
static void keep_result(struct dw_record *r, enum dw_family fam, struct dw_state *st,
                        const char *state_path, const char *outcome, const char *addr,
                        const char *msg, bool save_anyway)
{
	/* Messages never hold secrets; the redactor is the last line of
	 * defence here as in the log. */
	char m[512];
	snprintf(m, sizeof(m), "%s", msg);
	dw_log_redact(m, sizeof(m));
	bool changed = false;
	struct dw_diag d = { "out of memory" };
	if (dw_state_set_result(st, r->fqdn, fam, r->provider->name, outcome, addr, m,
	                        (int64_t)time(NULL), &changed) != DW_OK ||
	    ((changed || save_anyway) && dw_state_save(st, state_path, &d) != DW_OK)) {
		if (save_anyway)
			log_error("%s %s: published, but the state could not be saved: %s", r->fqdn,
			          dw_family_rrtype(fam), d.msg);
		else
			log_warning("%s %s: the result could not be kept in the state file: %s",
			            r->fqdn, dw_family_rrtype(fam), d.msg);
	}
}

/* Reports one family's outcome of a pass and updates sum and st.  steady:
 * the family has no address for a steady, expected reason (pl->steady)
 * and the record's other family was published: a notice, not a failure. */
static void report(struct dw_record *r, enum dw_family fam, const struct dw_plan *pl,
                   const struct dw_result *res, bool dry_run, bool steady, struct dw_state *st,
                   const char *state_path, struct dw_update_summary *sum, FILE *out)
{
	const char *type = dw_family_rrtype(fam);
	if (!pl->have_addr) {
		fprintf(out, "no-address %s %s (%s)\n", r->fqdn, type, pl->why);
		if (steady) {
			log_notice("%s %s: %s (%s published: nothing to do)", r->fqdn, type, pl->why,
			           dw_family_rrtype(fam == DW_FAM_V4 ? DW_FAM_V6 : DW_FAM_V4));
			sum->steady++;
		} else {
			log_warning("%s %s: %s", r->fqdn, type, pl->why);
			sum->no_address++;
		}
		if (!dry_run)
			keep_result(r, fam, st, state_path, "no-address", NULL, pl->why, false);
		return;
	}
	char addr[DW_IP_STRLEN];
	dw_ip_format(&pl->addr, addr);
	if (!pl->publish) {
		fprintf(out, "unchanged %s %s %s\n", r->fqdn, type, addr);
		log_debug("%s %s: %s already published through %s", r->fqdn, type, addr,
		          r->provider->name);
		sum->unchanged++;
		/* Rewrites the file only when an earlier run ended otherwise. */
		const struct dw_state_result *prev =
			dw_state_get_result(st, r->fqdn, fam, r->provider->name);
		bool was_ok = prev != NULL && (strcmp(prev->outcome, "done") == 0 ||
		                               strcmp(prev->outcome, "unchanged") == 0);
		if (!dry_run && !was_ok)
			keep_result(r, fam, st, state_path, dw_outcome_str(DW_OUT_UNCHANGED), addr,
			            "already published", false);
		return;
	}
	if (dry_run) {
		fprintf(out, "would-update %s %s %s\n", r->fqdn, type, addr);
		sum->planned++;
		return;
	}

	if (dw_outcome_ok(res->outcome)) {
		fprintf(out, "%s %s %s %s\n", res->outcome == DW_OUT_DONE ? "updated" : "unchanged",
		        r->fqdn, type, addr);
		if (res->outcome == DW_OUT_DONE)
			sum->updated++;
		else
			sum->unchanged++;
		/* Save after every success so a crash later in the pass never
		 * causes this record to be sent again. */
		if (dw_state_set(st, r->fqdn, fam, r->provider->name, addr, (int64_t)time(NULL)) != DW_OK)
			log_error("%s %s: published, but the state could not be saved: out of memory",
			          r->fqdn, type);
		else
			keep_result(r, fam, st, state_path, dw_outcome_str(res->outcome), addr, res->msg,
			            true);
		return;
	}

	fprintf(out, "failed %s %s %s %s\n", r->fqdn, type, addr, dw_outcome_str(res->outcome));
	keep_result(r, fam, st, state_path, dw_outcome_str(res->outcome), addr, res->msg, false);
	/* The message never states the delay (provider.h): said here once. */
	char wait[48] = " (will retry)";
	if (res->retry_after_s >= 0)
		snprintf(wait, sizeof(wait), ": retry after %ld s", res->retry_after_s);
	switch (res->outcome) {
	case DW_OUT_FATAL:
		log_error("%s %s via %s: %s (needs your action; not retried)", r->fqdn, type,
		          r->provider->name, res->msg);
		sum->fatal++;
		break;
	case DW_OUT_ACTION:
		log_error("%s %s via %s: %s (needs your action)", r->fqdn, type, r->provider->name,
		          res->msg);
		sum->fatal++;
		break;
	default:
		log_error("%s %s via %s: %s%s", r->fqdn, type, r->provider->name, res->msg, wait);
		sum->retry++;
		break;
	}
}

/* A provider's note for r from an earlier run (lib/state.h memos). */
static void memo_give(struct dw_record *r, struct dw_state *st)
{
	const struct dw_provider_ops *ops = r->provider->ops;
	const char *m = dw_state_get_memo(st, r->fqdn, r->provider->name);
	if (ops->memo_set != NULL && m != NULL)
		ops->memo_set(r, m);
}

/* Keeps the provider's note for r; saves the state when it changed. */
static void memo_keep(struct dw_record *r, struct dw_state *st, const char *state_path)
{
	const struct dw_provider_ops *ops = r->provider->ops;
	if (ops->memo_get == NULL)
		return;
	char buf[DW_STATE_MEMO_MAX + 1];
	bool has = ops->memo_get(r, buf, sizeof(buf));
	bool changed = false;
	struct dw_diag d = { "out of memory" };
	if (dw_state_set_memo(st, r->fqdn, r->provider->name, has ? buf : NULL, &changed) != DW_OK ||
	    (changed && dw_state_save(st, state_path, &d) != DW_OK))
		log_warning("%s: the provider's note could not be kept in the state file: %s", r->fqdn,
		            d.msg);
}

/* Whether family f of a pass ended well (published, or already there). */
static bool family_ok(const struct dw_plan *pl, const struct dw_result *res, bool dry_run)
{
	return pl->active && pl->have_addr && (!pl->publish || dry_run || dw_outcome_ok(res->outcome));
}

int dw_update_pass(struct dw_config *cfg, const struct dw_update_opts *opts,
                   struct dw_update_summary *sum, FILE *out, struct dw_diag *diag)
{
	memset(sum, 0, sizeof(*sum));
	char state_path[4096];
	if (dw_update_state_path(cfg, state_path, sizeof(state_path)) != DW_OK)
		return dw_diag_set(diag, DW_ETOOBIG, "state-dir path too long");

	struct dw_state st;
	int ret = dw_state_load(state_path, &st, diag);
	if (ret != DW_OK)
		return ret;

	struct dw_dnsauth_setup cold;
	if (cfg->cold_start_check &&
	    dw_dnsauth_setup(cfg->acme_nameservers, cfg->acme_resolvers, 3000, &cold, diag) != DW_OK) {
		dw_state_free(&st);
		return DW_ECONFIG;
	}
	struct dw_addr_list addrs = { 0 };
	bool have_addrs = false;
	if (needs_interfaces(cfg, opts)) {
		ret = dw_netlink_dump(&addrs, diag);
		if (ret != DW_OK)
			goto out;
		have_addrs = true;
	}

	for (size_t i = 0; i < cfg->nrecords; i++) {
		struct dw_record *r = cfg->records[i];
		if (!record_selected(opts, r))
			continue;
		struct dw_plan plan[DW_FAM_COUNT];
		struct dw_result res[DW_FAM_COUNT];
		dw_update_plan(r, have_addrs ? &addrs : NULL, &st, opts->force, plan);
		if (!opts->dry_run) {
			memo_give(r, &st);
			dw_update_publish(r, plan, cfg->cold_start_check ? &cold.cfg : NULL, res);
			memo_keep(r, &st, state_path);
		}
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			int o = f == DW_FAM_V4 ? DW_FAM_V6 : DW_FAM_V4;
			bool steady = plan[f].steady && family_ok(&plan[o], &res[o], opts->dry_run);
			if (plan[f].active)
				report(r, (enum dw_family)f, &plan[f], &res[f], opts->dry_run, steady, &st,
				       state_path, sum, out);
		}
	}
out:
	dw_addr_list_free(&addrs);
	dw_state_free(&st);
	return ret;
}
