/* The daemon's loop wiring: evaluate addresses, kick the scheduler, take
 * completions, reload, force, stop.  See daemon.h for the design. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/ctl_server.h"
#include "daemon/daemon.h"
#include "daemon/hooks.h"
#include "daemon/netwatch.h"
#include "daemon/pool.h"
#include "daemon/record.h"
#include "daemon/status.h"
#include "lib/dnsauth.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/netlink.h"
#include "lib/sandbox.h"
#include "lib/sched.h"
#include "lib/source.h"
#include "lib/state.h"
#include "lib/update.h"

#define STOP_GRACE_MS 5000   /* in-flight publishes get this long at exit */

struct daemon {
	bool spawns;                 /* sandbox set up for running programs */
	struct dw_dnsauth_setup cold;   /* where cold-start checks ask; rebuilt on
	                                 * reload, which waits for jobs in flight */
	struct dw_loop *loop;
	struct dw_config *cfg;
	struct dmn_rec *recs;
	size_t nrecs;
	struct dw_sched_params sp;
	struct dw_state st;
	char state_path[4096];
	struct dmn_pool *pool;
	unsigned jobs;                 /* queued or running */
	struct dmn_netwatch *nw;
	struct dw_addr_list addrs;
	bool have_addrs;
	struct dw_timer *t_debounce, *t_sched, *t_poll, *t_watchdog, *t_grace;
	uint64_t watchdog_usec;
	struct dmn_ctl *ctl;
	struct dmn_hooks *hooks;
	bool ready, reload_pending, stopping;
};

static uint32_t rnd32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)dw_loop_now_ms() * 2654435761u;
	return v;
}

static void sched_params(struct daemon *d)
{
	dw_sched_defaults(&d->sp);
	d->sp.backoff_base_ms = (uint64_t)d->cfg->backoff_base_s * 1000u;
	d->sp.backoff_max_ms = (uint64_t)d->cfg->backoff_max_s * 1000u;
	d->sp.max_interval_ms = (uint64_t)d->cfg->max_interval_s * 1000u;
	d->sp.verify_interval_ms = (uint64_t)d->cfg->verify_interval_s * 1000u;
}

static void notify_status(struct daemon *d)
{
	char line[160];
	dmn_status_summary(d->recs, d->nrecs, &d->sp, dw_loop_now_ms(), line, sizeof(line));
	sd_notifyf(0, "STATUS=%s", line);
}

/* ---- Scheduling -------------------------------------------------------- */

static void finish_stop_if_idle(struct daemon *d);
static void do_reload(struct daemon *d);

/* Starts every publish that may start now and arms the scheduler timer for
 * the earliest future one. */
static void kick(struct daemon *d)
{
	if (d->stopping || d->reload_pending || !d->ready)
		return;
	uint64_t now = dw_loop_now_ms();
	uint64_t next = DW_SCHED_NEVER;
	for (size_t i = 0; i < d->nrecs; i++) {
		struct dmn_rec *rc = &d->recs[i];
		bool pub[DW_FAM_COUNT];
		if (!rc->busy && dw_sched_begin(&rc->s, &d->sp, now, pub)) {
			struct dmn_job *j = calloc(1, sizeof(*j));
			if (j == NULL) {
				dw_sched_abort(&rc->s);
				log_error("out of memory: %s not published", rc->r->fqdn);
				continue;
			}
			j->kind = DMN_JOB_PUBLISH;
			j->rec = i;
			j->r = rc->r;
			j->cold = d->cfg->cold_start_check ? &d->cold.cfg : NULL;
			for (int f = 0; f < DW_FAM_COUNT; f++) {
				struct dw_plan *pl = &j->plan[f];
				const struct dw_sched_fam *s = &rc->s.fam[f];
				pl->active = s->active;
				pl->have_addr = pub[f];
				pl->publish = pub[f];
				pl->addr = s->sent;
				if (s->have_published)
					dw_ip_format(&s->published, pl->prev);
			}
			rc->busy = true;
			d->jobs++;
			dmn_pool_submit(d->pool, j);
			continue;
		}
		bool ver[DW_FAM_COUNT];
		if (!rc->busy && dw_sched_verify_begin(&rc->s, &d->sp, now, rnd32(), ver)) {
			struct dmn_job *j = calloc(1, sizeof(*j));
			if (j == NULL) {
				dw_sched_abort(&rc->s);
				dw_sched_verify_arm(&rc->s, &d->sp, now, rnd32());
				continue;
			}
			j->kind = DMN_JOB_VERIFY;
			j->rec = i;
			j->r = rc->r;
			j->auth = &d->cold.cfg;
			for (int f = 0; f < DW_FAM_COUNT; f++) {
				j->verify[f] = ver[f];
				j->published[f] = rc->s.fam[f].published;
			}
			rc->busy = true;
			d->jobs++;
			dmn_pool_submit(d->pool, j);
			continue;
		}
		uint64_t t = dw_sched_next(&rc->s, &d->sp, now);
		uint64_t tv = dw_sched_verify_next(&rc->s, &d->sp);
		if (tv < t)
			t = tv;
		if (t < next)
			next = t;
	}
	if (next == DW_SCHED_NEVER)
		dw_timer_disarm(d->t_sched);
	else
		dw_timer_arm_at(d->t_sched, next > now ? next : now);
	notify_status(d);
}

static void on_sched_timer(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	kick(arg);
}

/* Re-evaluates the desired address of every non-polling source from the
 * latest dump. */
static void evaluate(struct daemon *d)
{
	for (size_t i = 0; i < d->nrecs; i++) {
		struct dmn_rec *rc = &d->recs[i];
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const struct dw_source *src = &rc->r->src[f];
			if (src->kind == DW_SRC_OFF || dw_source_polls(src))
				continue;
			if (src->kind == DW_SRC_IFACE && !d->have_addrs)
				continue;
			struct dw_ip ip;
			char why[sizeof(rc->why[f])];
			if (dw_update_desired(rc->r, (enum dw_family)f, &d->addrs, &ip, why,
			                      sizeof(why)) == DW_OK) {
				if (!rc->s.fam[f].have_desired || !dw_ip_equal(&ip, &rc->s.fam[f].desired)) {
					char a[DW_IP_STRLEN];
					log_info("%s %s: address is now %s", rc->r->fqdn,
					         dw_family_rrtype((enum dw_family)f), dw_ip_format(&ip, a));
				}
				dw_sched_set_desired(&rc->s, (enum dw_family)f, &ip);
				rc->why[f][0] = '\0';
			} else {
				if (rc->s.fam[f].have_desired)
					log_notice("%s %s: %s", rc->r->fqdn,
					           dw_family_rrtype((enum dw_family)f), why);
				dw_sched_set_desired(&rc->s, (enum dw_family)f, NULL);
				memcpy(rc->why[f], why, sizeof(why));
			}
		}
	}
}

/* Takes a fresh address dump, re-evaluates, publishes what changed. */
static void refresh(struct daemon *d)
{
	struct dw_diag diag = { "" };
	struct dw_addr_list l = { 0 };
	uint64_t t0 = dw_loop_now_ms();
	if (dw_netlink_dump(&l, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		dw_addr_list_free(&l);
		return;
	}
	dw_addr_list_free(&d->addrs);
	d->addrs = l;
	d->have_addrs = true;
	log_debug("address dump: %zu addresses in %llu ms", l.n,
	          (unsigned long long)(dw_loop_now_ms() - t0));
	evaluate(d);
	if (!d->ready) {
		d->ready = true;
		sd_notify(0, "READY=1");
		log_notice("running: %zu records, control socket %s", d->nrecs, dmn_ctl_path(d->ctl));
	}
	kick(d);
}

static void on_debounce(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	refresh(arg);
}

/* Something changed (or events were lost): refresh after the debounce. */
static void address_event(struct daemon *d)
{
	if (!dw_timer_armed(d->t_debounce))
		dw_timer_arm(d->t_debounce, d->cfg->debounce_ms);
}

/* ---- Polling sources --------------------------------------------------- */

static uint32_t poll_interval_s(const struct daemon *d)
{
	return d->cfg->poll_interval_s > 0 ? d->cfg->poll_interval_s : DW_SOURCE_POLL_DEFAULT_S;
}

static void on_poll(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct daemon *d = arg;
	bool any = false;
	for (size_t i = 0; i < d->nrecs; i++) {
		struct dmn_rec *rc = &d->recs[i];
		if (!rc->polls)
			continue;
		any = true;
		if (rc->busy || d->stopping || d->reload_pending)
			continue;   /* next round */
		struct dmn_job *j = calloc(1, sizeof(*j));
		if (j == NULL)
			continue;
		j->kind = DMN_JOB_FETCH;
		j->rec = i;
		j->r = rc->r;
		for (int f = 0; f < DW_FAM_COUNT; f++)
			j->fetch[f] = dw_source_polls(&rc->r->src[f]);
		rc->busy = true;
		d->jobs++;
		dmn_pool_submit(d->pool, j);
	}
	if (any)
		dw_timer_arm(d->t_poll, (uint64_t)poll_interval_s(d) * 1000u);
}

/* ---- Completions ------------------------------------------------------- */

/* What identifies a problem across its retries: the outcome and the
 * message with every run of digits as one '#', so that "timed out after
 * 1001 ms" and "after 1000 ms" are the same problem and a new status code,
 * a new cause or another class is a new one. */
static void problem_key(const struct dw_result *res, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "%s:", dw_outcome_str(res->outcome));
	bool digits = false;
	for (const char *c = res->msg; *c != '\0' && o + 1 < cap; c++) {
		bool dg = *c >= '0' && *c <= '9';
		if (!dg || !digits)
			out[o++] = dg ? '#' : *c;
		digits = dg;
	}
	out[o < cap ? o : cap - 1] = '\0';
}

/* Keeps the result of an attempt in the state (lib/state.h), so "dnsward
 * status" shows it after the daemon stopped too.  Saves the file when the
 * result changed, or always with save (a success: one write for the
 * published address and its result). */
static void keep_result(struct daemon *d, const struct dw_record *r, enum dw_family fam,
                        const struct dw_result *res, const char *addr, int64_t wall, bool save)
{
	char m[sizeof(res->msg)];
	snprintf(m, sizeof(m), "%s", res->msg);
	dw_log_redact(m, sizeof(m));
	bool changed = false;
	struct dw_diag diag = { "out of memory" };
	if (dw_state_set_result(&d->st, r->fqdn, fam, r->provider->name,
	                        dw_outcome_str(res->outcome), addr, m, wall, &changed) != DW_OK ||
	    ((changed || save) && dw_state_save(&d->st, d->state_path, &diag) != DW_OK)) {
		if (save)
			log_error("%s %s: published, but the state could not be saved: %s", r->fqdn,
			          dw_family_rrtype(fam), diag.msg);
		else
			log_warning("%s %s: the result could not be kept in the state file: %s",
			            r->fqdn, dw_family_rrtype(fam), diag.msg);
	}
}

/* Keeps the provider's memo for r (provider.h memo_get), if it changed. */
static void keep_memo(struct daemon *d, const struct dw_record *r)
{
	const struct dw_provider_ops *ops = r->provider->ops;
	if (ops->memo_get == NULL)
		return;
	char buf[DW_STATE_MEMO_MAX + 1];
	bool has = ops->memo_get(r, buf, sizeof(buf));
	bool changed = false;
	struct dw_diag diag = { "out of memory" };
	if (dw_state_set_memo(&d->st, r->fqdn, r->provider->name, has ? buf : NULL, &changed) !=
	        DW_OK ||
	    (changed && dw_state_save(&d->st, d->state_path, &diag) != DW_OK))
		log_warning("%s: the provider's note could not be kept in the state file: %s",
		            r->fqdn, diag.msg);
}

static void publish_done(struct daemon *d, struct dmn_rec *rc, struct dmn_job *j)
{
	const struct dw_record *r = rc->r;
	bool sent[DW_FAM_COUNT];
	unsigned failed_before[DW_FAM_COUNT];
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		sent[f] = rc->s.fam[f].sending;
		failed_before[f] = rc->s.fam[f].failures;
	}
	dw_sched_done(&rc->s, &d->sp, dw_loop_now_ms(), j->res, rnd32());
	int64_t wall = (int64_t)time(NULL);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (!sent[f])
			continue;
		const struct dw_result *res = &j->res[f];
		const char *type = dw_family_rrtype((enum dw_family)f);
		char addr[DW_IP_STRLEN];
		dw_ip_format(&j->plan[f].addr, addr);
		snprintf(rc->msg[f], sizeof(rc->msg[f]), "%s", res->msg);
		rc->last_wall[f] = wall;
		if (dw_outcome_ok(res->outcome)) {
			if (failed_before[f] > 0)
				log_notice("%s %s %s: %s after %u failed attempt%s", r->fqdn, type, addr,
				           res->outcome == DW_OUT_DONE ? "updated" : "already published",
				           failed_before[f], failed_before[f] == 1 ? "" : "s");
			else
				log_notice("%s %s %s: %s", r->fqdn, type, addr,
				           res->outcome == DW_OUT_DONE ? "updated" : "already published");
			rc->problem[f][0] = '\0';
			rc->pub_wall[f] = wall;
			if (dw_state_set(&d->st, r->fqdn, (enum dw_family)f, r->provider->name, addr,
			                 wall) != DW_OK)
				log_error("%s %s: published, but the state could not be saved: out of "
				          "memory", r->fqdn, type);
			else
				keep_result(d, r, (enum dw_family)f, res, addr, wall, true);
		} else if (res->outcome == DW_OUT_FATAL) {
			keep_result(d, r, (enum dw_family)f, res, addr, wall, false);
			log_error("%s %s via %s: %s (parked until the configuration is reloaded or "
			          "an update is forced)", r->fqdn, type, r->provider->name, res->msg);
		} else {
			/* Once per problem: when it starts or changes; its retries
			 * at debug level, so a provider down for a day is one line. */
			keep_result(d, r, (enum dw_family)f, res, addr, wall, false);
			char key[sizeof(rc->problem[f])];
			problem_key(res, key, sizeof(key));
			bool again = strcmp(key, rc->problem[f]) == 0;
			memcpy(rc->problem[f], key, sizeof(key));
			uint64_t now = dw_loop_now_ms();
			uint64_t at = rc->s.fam[f].retry_at;
			/* needs-action (a refused certificate): the user should act,
			 * but a CA bundle update or a renewed certificate also ends
			 * it, so it is retried rather than parked.  The message
			 * never holds the delay (provider.h): said here once. */
			dw_log(again ? DW_LOG_DEBUG : DW_LOG_ERR,
			       "%s %s via %s: %s (%sattempt %u; next in %llu s)", r->fqdn, type,
			       r->provider->name, res->msg,
			       res->outcome == DW_OUT_ACTION ? "needs your action; retried: " : "",
			       rc->s.fam[f].failures,
			       (unsigned long long)((at > now ? at - now : 0) + 999) / 1000);
		}
		/* The hook hears of changes, not of re-assertions. */
		if (strcmp(j->plan[f].prev, addr) != 0)
			dmn_hooks_run(d->hooks, r, (enum dw_family)f, j->plan[f].prev, addr,
			              dw_outcome_str(res->outcome));
	}
	keep_memo(d, r);
}

/* A drift check came back: a drifted family is published again at once
 * (the scheduler says it needs it); "unknown" is logged once per problem. */
static void verify_done(struct daemon *d, struct dmn_rec *rc, struct dmn_job *j)
{
	const struct dw_record *r = rc->r;
	bool drifted[DW_FAM_COUNT] = { false, false };
	int64_t wall = (int64_t)time(NULL);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (!j->verify[f])
			continue;
		const struct dw_verify *v = &j->ver[f];
		const char *type = dw_family_rrtype((enum dw_family)f);
		char addr[DW_IP_STRLEN];
		dw_ip_format(&j->published[f], addr);
		rc->verified[f] = true;
		rc->vstatus[f] = v->status;
		rc->verify_wall[f] = wall;
		snprintf(rc->vmsg[f], sizeof(rc->vmsg[f]), "%s", v->msg);
		switch (v->status) {
		case DW_VERIFY_STANDS:
			log_debug("%s %s %s: verified: %s", r->fqdn, type, addr, v->msg);
			rc->vproblem[f][0] = '\0';
			break;
		case DW_VERIFY_DRIFTED:
			drifted[f] = true;
			rc->vproblem[f][0] = '\0';
			log_warning("%s %s: changed behind dnsward's back: %s; publishing %s again",
			            r->fqdn, type, v->msg, addr);
			break;
		case DW_VERIFY_UNKNOWN: {
			char key[sizeof(rc->vproblem[f])];
			struct dw_result tmp = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
			snprintf(tmp.msg, sizeof(tmp.msg), "%s", v->msg);
			problem_key(&tmp, key, sizeof(key));
			bool again = strcmp(key, rc->vproblem[f]) == 0;
			memcpy(rc->vproblem[f], key, sizeof(key));
			dw_log(again ? DW_LOG_DEBUG : DW_LOG_INFO, "%s %s: cannot verify the published %s: %s",
			       r->fqdn, type, addr, v->msg);
			break;
		}
		}
	}
	dw_sched_verify_done(&rc->s, &d->sp, dw_loop_now_ms(), drifted, rnd32());
}

static void fetch_done(struct daemon *d, struct dmn_rec *rc, struct dmn_job *j)
{
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (!j->fetch[f])
			continue;
		if (j->fetched[f]) {
			dw_sched_set_desired(&rc->s, (enum dw_family)f, &j->addr[f]);
			rc->why[f][0] = '\0';
		} else {
			log_warning("%s %s: %s", rc->r->fqdn, dw_family_rrtype((enum dw_family)f),
			            j->why[f]);
			dw_sched_set_desired(&rc->s, (enum dw_family)f, NULL);
			memcpy(rc->why[f], j->why[f], sizeof(rc->why[f]));
		}
	}
}

static void on_jobs_done(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct daemon *d = arg;
	struct dmn_job *j = dmn_pool_take(d->pool);
	while (j != NULL) {
		struct dmn_job *next = j->next;
		/* Records keep their index until a reload, and reloads wait for
		 * every job: j->rec is still this record. */
		struct dmn_rec *rc = &d->recs[j->rec];
		rc->busy = false;
		d->jobs--;
		if (j->kind == DMN_JOB_PUBLISH)
			publish_done(d, rc, j);
		else if (j->kind == DMN_JOB_VERIFY)
			verify_done(d, rc, j);
		else
			fetch_done(d, rc, j);
		free(j);
		j = next;
	}
	if (d->stopping) {
		finish_stop_if_idle(d);
		return;
	}
	if (d->reload_pending && d->jobs == 0)
		do_reload(d);
	kick(d);
}

/* ---- Reload, force, stop ----------------------------------------------- */

static void do_reload(struct daemon *d)
{
	d->reload_pending = false;
	struct dw_config *ncfg = NULL;
	struct dw_diag diag = { "" };
	if (dw_config_load(d->cfg->path, false, &ncfg, &diag) != DW_OK) {
		log_error("reload refused, keeping the running configuration: %s", diag.msg);
		sd_notify(0, "READY=1");
		return;
	}
	struct dw_dnsauth_setup ncold;
	if (dw_dnsauth_setup(ncfg->acme_nameservers, ncfg->acme_resolvers, 3000, &ncold,
	                     &diag) != DW_OK) {
		log_error("reload refused, keeping the running configuration: %s", diag.msg);
		dw_config_free(ncfg);
		sd_notify(0, "READY=1");
		return;
	}
	if (d->cfg->seccomp && !d->spawns && dw_sandbox_config_spawns(ncfg)) {
		/* The allowlist in force forbids starting programs for good. */
		log_error("reload refused, keeping the running configuration: the new one runs "
		          "programs (on-change or cmd: sources); restart dnsward to use it");
		dw_config_free(ncfg);
		sd_notify(0, "READY=1");
		return;
	}
	struct dmn_rec *nrecs = calloc(ncfg->nrecords > 0 ? ncfg->nrecords : 1, sizeof(*nrecs));
	if (nrecs == NULL) {
		log_error("reload: out of memory; keeping the running configuration");
		dw_config_free(ncfg);
		sd_notify(0, "READY=1");
		return;
	}
	/* The caller owns d->cfg (main frees it at exit): keep that object and
	 * swap contents, so it holds the new configuration and ncfg the old.
	 * Records and providers are separate allocations and do not move. */
	d->cold = ncold;
	d->cold.cfg.fixed = d->cold.fixed;       /* the copy must point at itself */
	d->cold.cfg.resolvers = d->cold.resolvers;
	struct dw_config swap = *d->cfg;
	*d->cfg = *ncfg;
	*ncfg = swap;
	struct dw_config *old = ncfg;
	ncfg = d->cfg;
	sched_params(d);
	for (size_t i = 0; i < ncfg->nrecords; i++) {
		struct dw_record *r = ncfg->records[i];
		dmn_rec_init(&nrecs[i], r, &d->st);
		/* Same name and provider: keep what we know (results, backoff). */
		for (size_t k = 0; k < d->nrecs; k++) {
			const struct dmn_rec *o = &d->recs[k];
			if (strcmp(o->r->fqdn, r->fqdn) == 0 &&
			    strcmp(o->r->provider->name, r->provider->name) == 0) {
				dmn_rec_carry(&nrecs[i], o);
				break;
			}
		}
	}
	uint64_t now = dw_loop_now_ms();
	for (size_t i = 0; i < ncfg->nrecords; i++) {
		struct dw_sched_rec *s = &nrecs[i].s;
		uint64_t latest = dw_sched_verify_delay(&d->sp, 0);
		if (s->verify_at == 0 || (latest != DW_SCHED_NEVER && s->verify_at > now + latest))
			dw_sched_verify_arm(s, &d->sp, now, rnd32());
	}
	free(d->recs);
	d->recs = nrecs;
	d->nrecs = ncfg->nrecords;
	dw_config_free(old);
	log_notice("configuration reloaded: %zu records", d->nrecs);
	sd_notify(0, "READY=1");
	evaluate(d);
	dw_timer_arm(d->t_poll, 0);
}

static void force_all(struct daemon *d, const char *fqdn)
{
	for (size_t i = 0; i < d->nrecs; i++) {
		if (fqdn == NULL || strcmp(d->recs[i].r->fqdn, fqdn) == 0)
			dw_sched_force(&d->recs[i].s);
	}
	kick(d);
}

static void finish_stop_if_idle(struct daemon *d)
{
	if (d->jobs == 0)
		dw_loop_stop(d->loop);
}

static void on_grace(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct daemon *d = arg;
	log_warning("stopping: abandoning %u publish%s still in flight after %d s", d->jobs,
	            d->jobs == 1 ? "" : "es", STOP_GRACE_MS / 1000);
	dw_loop_stop(loop);
}

static void on_signal(struct dw_loop *loop, int signo, void *arg)
{
	struct daemon *d = arg;
	switch (signo) {
	case SIGHUP:
		if (d->stopping)
			break;
		log_notice("SIGHUP: reloading %s", d->cfg->path);
		sd_notify(0, "RELOADING=1");
		d->reload_pending = true;
		if (d->jobs == 0) {
			do_reload(d);
			kick(d);
		} else {
			log_info("reload waits for %u job%s in flight", d->jobs, d->jobs == 1 ? "" : "s");
		}
		break;
	case SIGUSR1:
		log_notice("SIGUSR1: publishing every record now");
		force_all(d, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		if (d->stopping)
			break;
		log_notice("%s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
		sd_notify(0, "STOPPING=1");
		d->stopping = true;
		if (d->jobs > 0)
			dw_timer_arm(d->t_grace, STOP_GRACE_MS);
		finish_stop_if_idle(d);
		break;
	default:
		break;
	}
}

static void on_watchdog(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct daemon *d = arg;
	sd_notify(0, "WATCHDOG=1");
	dw_timer_arm(t, d->watchdog_usec / 2000u);
}

/* ---- What the control socket asks -------------------------------------- */

static char *ctl_status(struct daemon *d)
{
	return dmn_status_json(d->recs, d->nrecs, &d->sp, dw_loop_now_ms());
}

static int ctl_force(struct daemon *d, const char *fqdn)
{
	if (fqdn != NULL && dw_config_find_record(d->cfg, fqdn) == NULL)
		return DW_ENOTFOUND;
	log_notice("control: forcing %s", fqdn != NULL ? fqdn : "every record");
	force_all(d, fqdn);
	return DW_OK;
}

static const struct dmn_ctl_ops ctl_ops = {
	.status = ctl_status,
	.force = ctl_force,
};

/* ---- Entry ------------------------------------------------------------- */

/* Everything but the worker pool, which the caller stops first (or leaves
 * running when it exits at once). */
static void daemon_cleanup(struct daemon *d)
{
	dmn_ctl_free(d->ctl);
	dmn_hooks_free(d->hooks);
	dmn_netwatch_free(d->nw);
	dw_addr_list_free(&d->addrs);
	dw_state_free(&d->st);
	free(d->recs);
	dw_loop_free(d->loop);
}

int dmn_run(struct dw_config *cfg)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return DW_ENOMEM;
	d->cfg = cfg;
	int rc = DW_EIO;
	struct dw_diag diag = { "" };

	d->loop = dw_loop_new();
	if (d->loop == NULL) {
		log_error("epoll: %s", strerror(errno));
		goto out;
	}
	/* Before any thread starts, so that workers inherit the blocked mask
	 * and signals only ever arrive through the signalfd. */
	static const int sigs[] = { SIGHUP, SIGUSR1, SIGTERM, SIGINT };
	if (dw_loop_signals(d->loop, sigs, 4, on_signal, d) != 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}
	(void)signal(SIGPIPE, SIG_IGN);

	if (dw_update_state_path(cfg, d->state_path, sizeof(d->state_path)) != DW_OK) {
		log_error("state-dir path too long");
		rc = DW_ECONFIG;
		goto out;
	}
	if (dw_state_load(d->state_path, &d->st, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		rc = DW_ECONFIG;
		goto out;
	}
	sched_params(d);
	d->recs = calloc(cfg->nrecords > 0 ? cfg->nrecords : 1, sizeof(*d->recs));
	if (d->recs == NULL) {
		rc = DW_ENOMEM;
		goto out;
	}
	d->nrecs = cfg->nrecords;
	for (size_t i = 0; i < cfg->nrecords; i++) {
		dmn_rec_init(&d->recs[i], cfg->records[i], &d->st);
		dw_sched_verify_arm(&d->recs[i].s, &d->sp, dw_loop_now_ms(), rnd32());
	}

	d->t_debounce = dw_loop_timer_new(d->loop, on_debounce, d);
	d->t_sched = dw_loop_timer_new(d->loop, on_sched_timer, d);
	d->t_poll = dw_loop_timer_new(d->loop, on_poll, d);
	d->t_grace = dw_loop_timer_new(d->loop, on_grace, d);
	d->hooks = dmn_hooks_new(d->loop);
	if (d->t_debounce == NULL || d->t_sched == NULL || d->t_poll == NULL || d->t_grace == NULL) {
		log_error("timerfd: %s", strerror(errno));
		goto out;
	}
	if (d->hooks == NULL) {
		log_error("out of memory");
		rc = DW_ENOMEM;
		goto out;
	}
	/* Subscribe before the first dump, so no change between them is lost. */
	if (dmn_netwatch_open(d->loop, address_event, d, &d->nw, &diag) != DW_OK ||
	    dmn_ctl_open(d->loop, cfg, &ctl_ops, d, &d->ctl, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	/* Everything that needs privileges is open (netlink and control
	 * sockets, secrets read by the configuration): drop them and confine
	 * the process before the first byte from outside.  The workers start
	 * after it: the capability bounding set is per thread, so threads
	 * started before the drop would keep theirs. */
	d->spawns = dw_sandbox_config_spawns(cfg);
	if (dw_sandbox_enter(cfg, d->spawns ? DW_SANDBOX_SPAWN : 0, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	d->pool = dmn_pool_new(cfg->nrecords < DMN_POOL_THREADS_MAX ? cfg->nrecords
	                                                              : DMN_POOL_THREADS_MAX);
	if (d->pool == NULL ||
	    dw_loop_add_fd(d->loop, dmn_pool_fd(d->pool), EPOLLIN, on_jobs_done, d) != 0) {
		log_error("cannot start worker threads");
		goto out;
	}

	if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 && d->watchdog_usec >= 2000) {
		d->t_watchdog = dw_loop_timer_new(d->loop, on_watchdog, d);
		if (d->t_watchdog != NULL)
			dw_timer_arm(d->t_watchdog, d->watchdog_usec / 2000u);
	}

	if (dw_dnsauth_setup(cfg->acme_nameservers, cfg->acme_resolvers, 3000, &d->cold,
	                     &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	refresh(d);                 /* first dump: READY=1, first publishes */
	dw_timer_arm(d->t_poll, 0); /* first fetch of polling sources */
	if (dw_loop_run(d->loop) != 0) {
		log_error("event loop: %s", strerror(errno));
		goto out;
	}
	rc = DW_OK;
	if (d->jobs > 0) {
		/* Workers still wait on the network with the configuration in
		 * hand: leave without freeing it.  Every finished publish is
		 * already in the state file. */
		daemon_cleanup(d);
		fflush(stderr);
		_exit(0);
	}
out:
	dmn_pool_free(d->pool);
	daemon_cleanup(d);
	free(d);
	return rc;
}
