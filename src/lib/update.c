/* One update pass over the configured records. */
#include "lib/update.h"
#include "lib/pubclient.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/source.h"

#include <stdarg.h>
#include <stddef.h>
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
		/* Fetched over the network: a FETCH job for the publisher. */
		snprintf(why, whylen, "fetched by the publisher, not here");
		return DW_EUNSUPP;
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

/* Whether the state already holds pl's address for r/fam: sets prev and
 * publish. */
static void plan_against_state(const struct dw_record *r, enum dw_family fam,
                               const struct dw_state *st, bool force, struct dw_plan *pl)
{
	char addr[DW_IP_STRLEN];
	dw_ip_format(&pl->addr, addr);
	const struct dw_state_entry *prev =
		st != NULL ? dw_state_get(st, r->fqdn, fam, r->provider->name) : NULL;
	if (prev != NULL)
		memcpy(pl->prev, prev->address, sizeof(pl->prev));
	pl->publish = force || prev == NULL || strcmp(prev->address, addr) != 0;
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
		return;   /* saved when it came (save_success) */
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

/* A provider's note for r from an earlier run (lib/state.h memos), handed
 * to the publisher with the job. */
static void memo_give(struct dw_job *j, const struct dw_record *r, const struct dw_state *st)
{
	const char *m = dw_state_get_memo(st, r->fqdn, r->provider->name);
	j->have_memo = m != NULL && r->provider->ops->memo_set != NULL;
	snprintf(j->memo, sizeof(j->memo), "%s", j->have_memo ? m : "");
}

/* Keeps the note the provider left after j; saves the state when it
 * changed. */
static void memo_keep(const struct dw_record *r, const struct dw_job *j, struct dw_state *st,
                      const char *state_path)
{
	if (!j->memo_out)
		return;
	bool changed = false;
	struct dw_diag d = { "out of memory" };
	if (dw_state_set_memo(st, r->fqdn, r->provider->name, j->have_memo ? j->memo : NULL,
	                      &changed) != DW_OK ||
	    (changed && dw_state_save(st, state_path, &d) != DW_OK))
		log_warning("%s: the provider's note could not be kept in the state file: %s", r->fqdn,
		            d.msg);
}

/* Saves a success right away, so that a crash later in the pass never
 * sends this record again: the address and its result in one write. */
static void save_success(struct dw_record *r, enum dw_family fam, const struct dw_plan *pl,
                         const struct dw_result *res, struct dw_state *st, const char *state_path)
{
	char addr[DW_IP_STRLEN];
	dw_ip_format(&pl->addr, addr);
	if (dw_state_set(st, r->fqdn, fam, r->provider->name, addr, (int64_t)time(NULL)) != DW_OK)
		log_error("%s %s: published, but the state could not be saved: out of memory",
		          r->fqdn, dw_family_rrtype(fam));
	else
		keep_result(r, fam, st, state_path, dw_outcome_str(res->outcome), addr, res->msg, true);
}

/* Whether family f of a pass ended well (published, or already there). */
static bool family_ok(const struct dw_plan *pl, const struct dw_result *res, bool dry_run)
{
	return pl->active && pl->have_addr && (!pl->publish || dry_run || dw_outcome_ok(res->outcome));
}

/* One record of a pass: its plan, and the job fetching, then publishing. */
struct pass_rec {
	struct dw_record *r;
	struct dw_plan plan[DW_FAM_COUNT];
	struct dw_result res[DW_FAM_COUNT];
	struct dw_job job;
};

static struct pass_rec *pass_rec_of(struct dw_job *j)
{
	return (struct pass_rec *)(void *)((char *)j - offsetof(struct pass_rec, job));
}

int dw_update_pass(struct dw_config *cfg, struct dw_pub *pub, const struct dw_update_opts *opts,
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
	struct dw_addr_list addrs = { 0 };
	bool have_addrs = false;
	struct pass_rec *recs = calloc(cfg->nrecords > 0 ? cfg->nrecords : 1, sizeof(*recs));
	size_t n = 0;
	if (recs == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	if (needs_interfaces(cfg, opts)) {
		ret = dw_netlink_dump(&addrs, diag);
		if (ret != DW_OK)
			goto out;
		have_addrs = true;
	}

	/* Desired addresses: interfaces and static here, the rest fetched by
	 * the publisher, every record's fetch at once. */
	for (size_t i = 0; i < cfg->nrecords; i++) {
		struct dw_record *r = cfg->records[i];
		if (!record_selected(opts, r))
			continue;
		struct pass_rec *pr = &recs[n++];
		pr->r = r;
		bool fetch = false;
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			struct dw_plan *pl = &pr->plan[f];
			pl->active = r->src[f].kind != DW_SRC_OFF;
			if (!pl->active)
				continue;
			if (dw_source_polls(&r->src[f])) {
				pr->job.fetch[f] = fetch = true;
				continue;
			}
			pl->have_addr = dw_update_desired_ex(r, (enum dw_family)f,
			                                     have_addrs ? &addrs : NULL, &pl->addr, pl->why,
			                                     sizeof(pl->why), &pl->steady) == DW_OK;
		}
		if (fetch) {
			pr->job.kind = DW_JOB_FETCH;
			pr->job.r = r;
			dw_pub_submit(pub, cfg, &pr->job);
		}
	}
	for (struct dw_job *j; (j = dw_pub_wait_one(pub)) != NULL;) {
		struct pass_rec *pr = pass_rec_of(j);
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (!j->fetch[f])
				continue;
			pr->plan[f].have_addr = j->fetched[f];
			if (j->fetched[f])
				pr->plan[f].addr = j->addr[f];
			else
				snprintf(pr->plan[f].why, sizeof(pr->plan[f].why), "%s", j->why[f]);
		}
	}

	/* What differs from the state, published through the publisher (every
	 * record at once); each success saved as it comes. */
	for (size_t i = 0; i < n; i++) {
		struct pass_rec *pr = &recs[i];
		bool any = false;
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			pr->res[f] = (struct dw_result){ .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
			if (pr->plan[f].active && pr->plan[f].have_addr) {
				plan_against_state(pr->r, (enum dw_family)f, &st, opts->force, &pr->plan[f]);
				any |= pr->plan[f].publish;
			}
		}
		if (!any || opts->dry_run)
			continue;
		memset(&pr->job, 0, sizeof(pr->job));
		pr->job.kind = DW_JOB_PUBLISH;
		pr->job.r = pr->r;
		pr->job.cold = cfg->cold_start_check;
		memcpy(pr->job.plan, pr->plan, sizeof(pr->plan));
		memo_give(&pr->job, pr->r, &st);
		dw_pub_submit(pub, cfg, &pr->job);
	}
	for (struct dw_job *j; (j = dw_pub_wait_one(pub)) != NULL;) {
		struct pass_rec *pr = pass_rec_of(j);
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (!pr->plan[f].publish || !pr->plan[f].have_addr)
				continue;
			pr->res[f] = j->res[f];
			if (dw_outcome_ok(j->res[f].outcome))
				save_success(pr->r, (enum dw_family)f, &pr->plan[f], &j->res[f], &st,
				             state_path);
		}
		memo_keep(pr->r, j, &st, state_path);
	}

	for (size_t i = 0; i < n; i++) {
		struct pass_rec *pr = &recs[i];
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			int o = f == DW_FAM_V4 ? DW_FAM_V6 : DW_FAM_V4;
			bool steady = pr->plan[f].steady &&
			              family_ok(&pr->plan[o], &pr->res[o], opts->dry_run);
			if (pr->plan[f].active)
				report(pr->r, (enum dw_family)f, &pr->plan[f], &pr->res[f], opts->dry_run,
				       steady, &st, state_path, sum, out);
		}
	}
out:
	free(recs);
	dw_addr_list_free(&addrs);
	dw_state_free(&st);
	return ret;
}
