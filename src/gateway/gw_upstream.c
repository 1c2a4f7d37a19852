/* Upstream workers and retry scheduling (see gw_upstream.h). */
#include "gateway/gw_upstream.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "lib/log.h"
#include "lib/provider.h"

#define BACKOFF_BASE_S 5
#define FATAL_COOLDOWN_S 300
#define STORE_RETRY_MAX_S 60
#define ROUND_ROWS 32

struct host_job {
	int64_t host_id;
	bool pending, running;
	int64_t due_ms;            /* monotonic: when the next round may run */
	unsigned store_failures;   /* rounds in a row that failed on the store */
	uint64_t started, done;    /* rounds */
	bool last_store_failed;
	/* The provider record built for this host (reused between rounds). */
	struct dw_record *rec;
	struct dw_provider *rec_provider;
	char rec_fqdn[GW_FQDN_MAX];
};

struct prov_lock {
	struct dw_provider *p;
	pthread_mutex_t mu;
};

struct gw_upstream {
	const struct gw_conf *conf;
	struct gw_store *st;
	struct gw_metrics *m;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	bool stop;
	struct host_job **jobs;
	size_t njobs, capjobs;
	struct prov_lock *plocks;
	size_t nplocks;
	pthread_t *threads;
	size_t nthreads;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long gw_backoff_s(unsigned attempts, long base_s, long max_s, double rnd)
{
	double d = (double)base_s;
	for (unsigned i = 1; i < attempts && d < (double)max_s; i++)
		d *= 2;
	if (d > (double)max_s)
		d = (double)max_s;
	d *= 0.8 + 0.4 * rnd;
	long s = (long)d;
	return s < 1 ? 1 : s;
}

/* Caller holds mu. */
static struct host_job *job_get(struct gw_upstream *up, int64_t host_id, bool create)
{
	for (size_t i = 0; i < up->njobs; i++) {
		if (up->jobs[i]->host_id == host_id)
			return up->jobs[i];
	}
	if (!create)
		return NULL;
	if (up->njobs == up->capjobs) {
		size_t nc = up->capjobs ? up->capjobs * 2 : 64;
		struct host_job **nj = realloc(up->jobs, nc * sizeof(*nj));
		if (nj == NULL)
			return NULL;
		up->jobs = nj;
		up->capjobs = nc;
	}
	struct host_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->host_id = host_id;
	up->jobs[up->njobs++] = j;
	return j;
}

static void rec_free(struct host_job *j)
{
	if (j->rec == NULL)
		return;
	if (j->rec_provider->ops->free_record != NULL)
		j->rec_provider->ops->free_record(j->rec);
	free(j->rec->fqdn);
	free(j->rec);
	j->rec = NULL;
}

/* The dw_record a provider needs for host h, configured as an empty
 * [record FQDN] section would be (providers take per-record keys there; the
 * gateway has none, so providers that need per-record credentials cannot
 * serve gateway hosts). */
static struct dw_record *rec_for(const struct gw_conf *conf, struct host_job *j,
                                 struct dw_provider *p, const struct gw_host *h,
                                 char *err, size_t cap)
{
	if (j->rec != NULL && j->rec_provider == p && strcmp(j->rec_fqdn, h->fqdn) == 0)
		return j->rec;
	rec_free(j);
	struct dw_record *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->fqdn = strdup(h->fqdn)) == NULL) {
		free(r);
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	r->provider = p;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		r->src[f].kind = DW_SRC_STATIC;
		r->src[f].ttl = conf->ttl;
	}
	j->rec = r;
	j->rec_provider = p;
	snprintf(j->rec_fqdn, sizeof(j->rec_fqdn), "%s", h->fqdn);
	if (p->ops->configure_record != NULL) {
		char name[GW_FQDN_MAX], kind[] = "record", file[] = "gateway database";
		snprintf(name, sizeof(name), "%s", h->fqdn);
		struct dw_section sec = { .kind = kind, .name = name };
		struct dw_diag d = { "" };
		struct dw_conf_ctx ctx = { .file = file, .sec = &sec, .diag = &d };
		if (p->ops->configure_record(p, r, &ctx) != DW_OK) {
			snprintf(err, cap, "%s", d.msg);
			rec_free(j);
			return NULL;
		}
	}
	return r;
}

static pthread_mutex_t *prov_mutex(struct gw_upstream *up, struct dw_provider *p)
{
	for (size_t i = 0; i < up->nplocks; i++) {
		if (up->plocks[i].p == p)
			return &up->plocks[i].mu;
	}
	return NULL;
}

static int outcome_index(enum dw_outcome o)
{
	return (int)o;
}

/* One provider call, timed. */
static void timed_result(struct gw_upstream *up, int64_t t0, const struct dw_result *res)
{
	double s = (double)(mono_ms() - t0) / 1000.0;
	gw_metrics_upstream(up->m, s, outcome_index(res->outcome), dw_outcome_ok(res->outcome));
}

/* How long before attempt number attempts + 1 of a row that failed with
 * res.  A refusal for good (FATAL) is not retried in the background: the
 * wait is the cool-down before the host's same request may try again. */
static long row_wait(const struct gw_upstream *up, int64_t attempts, const struct dw_result *res)
{
	long max = (long)up->conf->retry_max_s;
	long wait = gw_backoff_s((unsigned)(attempts + 1 > 64 ? 64 : attempts + 1), BACKOFF_BASE_S,
	                         max, randombytes_uniform(1000000) / 1e6);
	/* Needs the admin (refused, or a certificate the trust store
	 * refuses): do not hammer. */
	if (dw_outcome_needs_user(res->outcome) && wait < FATAL_COOLDOWN_S && max >= FATAL_COOLDOWN_S)
		wait = FATAL_COOLDOWN_S;
	if (res->retry_after_s > wait)
		wait = res->retry_after_s;
	return wait;
}

/* Sends the due rows of one host: each record set (A, AAAA, the TXT
 * values) keeps its own backoff in its rows' next_retry.  Afterwards
 * *more tells whether rows are still pending and *next_s (unix time) when
 * the earliest is due; *store_failed that the store could not be read or
 * written (the round is then retried on its own backoff). */
static void run_round(struct gw_upstream *up, struct host_job *j, bool *more, int64_t *next_s,
                      bool *store_failed)
{
	*more = false;
	*next_s = 0;
	*store_failed = false;
	struct gw_db *db = gw_store_get(up->st);
	if (db == NULL) {
		*store_failed = true;
		return;
	}
	struct gw_host h;
	struct gw_rec rows[ROUND_ROWS];
	size_t n = 0;
	int64_t now = (int64_t)time(NULL);
	int ret = gw_db_host_by_id(db, j->host_id, &h);
	if (ret == DW_ENOTFOUND)
		goto out;   /* removed: its rows went with it */
	if (ret == DW_OK)
		ret = gw_db_pending(db, j->host_id, now, rows, ROUND_ROWS, &n);
	if (ret != DW_OK) {
		*store_failed = true;
		goto out;
	}
	gw_store_put(up->st, db);
	db = NULL;

	struct dw_result res[ROUND_ROWS];
	for (size_t i = 0; i < n; i++)
		dw_result_set(&res[i], DW_OUT_FATAL, -1, "not sent");
	struct dw_provider *p = n > 0 ? gw_conf_provider(up->conf, h.provider) : NULL;
	struct dw_record *r = NULL;
	char err[384] = "";
	if (n > 0 && p == NULL)
		snprintf(err, sizeof(err), "provider '%s' is not configured in the gateway file",
		         h.provider);
	else if (n > 0)
		r = rec_for(up->conf, j, p, &h, err, sizeof(err));
	if (n > 0 && r == NULL) {
		for (size_t i = 0; i < n; i++)
			dw_result_set(&res[i], DW_OUT_FATAL, -1, "%s", err);
	} else if (n > 0) {
		pthread_mutex_t *pm = prov_mutex(up, p);
		pthread_mutex_lock(pm);
		/* Addresses: both families in one request when the provider can. */
		ssize_t ia[DW_FAM_COUNT] = { -1, -1 };
		struct dw_ip ips[DW_FAM_COUNT];
		for (size_t i = 0; i < n; i++) {
			if (rows[i].rtype == GW_RT_TXT)
				continue;
			enum dw_family f = rows[i].rtype == GW_RT_A ? DW_FAM_V4 : DW_FAM_V6;
			if (dw_ip_parse(rows[i].value, f, &ips[f]) != DW_OK) {
				dw_result_set(&res[i], DW_OUT_FATAL, -1, "stored value is not an address");
				continue;
			}
			ia[f] = (ssize_t)i;
		}
		if (ia[0] >= 0 && ia[1] >= 0 && p->ops->update_multi != NULL) {
			const struct dw_ip *const addrs[DW_FAM_COUNT] = { &ips[0], &ips[1] };
			struct dw_result mres[DW_FAM_COUNT];
			int64_t t0 = mono_ms();
			p->ops->update_multi(p, r, addrs, mres);
			for (int f = 0; f < DW_FAM_COUNT; f++) {
				res[ia[f]] = mres[f];
				timed_result(up, t0, &mres[f]);
			}
		} else {
			for (int f = 0; f < DW_FAM_COUNT; f++) {
				if (ia[f] < 0)
					continue;
				int64_t t0 = mono_ms();
				p->ops->update(p, r, &ips[f], &res[ia[f]]);
				timed_result(up, t0, &res[ia[f]]);
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (rows[i].rtype != GW_RT_TXT)
				continue;
			char name[GW_FQDN_MAX + 16];
			snprintf(name, sizeof(name), "_acme-challenge.%s", h.fqdn);
			void (*op_add)(struct dw_provider *, const char *, const char *, uint32_t,
			               struct dw_result *) = p->ops->txt_add;
			void (*op_del)(struct dw_provider *, const char *, const char *,
			               struct dw_result *) = p->ops->txt_del;
			if ((rows[i].present && op_add == NULL) || (!rows[i].present && op_del == NULL)) {
				dw_result_set(&res[i], DW_OUT_FATAL, -1,
				              "provider type '%s' cannot publish TXT records", p->ops->type);
				continue;
			}
			int64_t t0 = mono_ms();
			if (rows[i].present)
				op_add(p, name, rows[i].value, up->conf->txt_ttl, &res[i]);
			else
				op_del(p, name, rows[i].value, &res[i]);
			timed_result(up, t0, &res[i]);
		}
		pthread_mutex_unlock(pm);
	}

	/* Record the results, each row in the same transaction as its audit. */
	db = gw_store_get(up->st);
	if (db != NULL && n == 0) {
		if (gw_db_next_due(db, j->host_id, more, next_s) != DW_OK)
			*store_failed = true;
		goto out;
	}
	if (db == NULL || gw_db_begin(db) != DW_OK) {
		*store_failed = true;
		goto out;
	}
	now = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		bool rok = dw_outcome_ok(res[i].outcome);
		bool refused = res[i].outcome == DW_OUT_FATAL;
		long wait = rok ? 0 : row_wait(up, rows[i].attempts, &res[i]);
		const char *what = rows[i].rtype == GW_RT_TXT ? (rows[i].present ? "add" : "delete")
		                                              : "update";
		if (refused) {
			char until[32];
			time_t t = (time_t)(now + wait);
			struct tm tm;
			if (gmtime_r(&t, &tm) == NULL || strftime(until, sizeof(until),
			                                         "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
				snprintf(until, sizeof(until), "in %ld s", wait);
			log_error("upstream %s %s %s for %s via %s refused for good: %s; not retried: the "
			          "host is told to stop (dyndns2 !active, HTTP 424), and its same request "
			          "tries again after %s (a new value at once); see 'dnsward-gateway host "
			          "list'", what, gw_rtype_str(rows[i].rtype), rows[i].value, h.fqdn,
			          h.provider, res[i].msg, until);
			gw_metrics_refused(up->m);
		} else if (!rok) {
			log_warning("upstream %s %s for %s via %s: %s (%s; retrying in %ld s)", what,
			            gw_rtype_str(rows[i].rtype), h.fqdn, h.provider, res[i].msg,
			            dw_outcome_str(res[i].outcome), wait);
		} else {
			log_info("upstream %s %s %s for %s via %s: %s", gw_rtype_str(rows[i].rtype),
			         rows[i].present ? "set" : "removed", rows[i].value, h.fqdn, h.provider,
			         dw_outcome_str(res[i].outcome));
		}
		char action[32];
		snprintf(action, sizeof(action), "upstream-%s%s", gw_rtype_str(rows[i].rtype),
		         rows[i].rtype == GW_RT_TXT ? (rows[i].present ? "-add" : "-del") : "");
		const char *result = refused ? "refused" : dw_outcome_str(res[i].outcome);
		struct gw_audit a = { .host = h.fqdn, .action = action, .new_value = rows[i].value,
		                      .source = "upstream", .result = result };
		enum gw_mark m = rok ? GW_MARK_OK : refused ? GW_MARK_FAILED : GW_MARK_RETRY;
		if (gw_db_mark(db, &rows[i], m, now + wait, rok ? NULL : res[i].msg) != DW_OK ||
		    gw_db_audit(db, &a) != DW_OK) {
			*store_failed = true;
			break;
		}
	}
	if (!*store_failed && gw_db_commit(db) != DW_OK)
		*store_failed = true;
	gw_db_rollback(db);
	if (!*store_failed && gw_db_next_due(db, j->host_id, more, next_s) != DW_OK)
		*store_failed = true;
	if (*store_failed)
		log_debug("upstream round for %s: the database failed (logged once above)", h.fqdn);
out:
	gw_store_put(up->st, db);
}

/* Caller holds mu.  The due job, or NULL and *wait_ms until the next. */
static struct host_job *next_job(struct gw_upstream *up, int64_t now, int64_t *wait_ms)
{
	*wait_ms = -1;
	for (size_t i = 0; i < up->njobs; i++) {
		struct host_job *j = up->jobs[i];
		if (!j->pending || j->running)
			continue;
		if (j->due_ms <= now)
			return j;
		if (*wait_ms < 0 || j->due_ms - now < *wait_ms)
			*wait_ms = j->due_ms - now;
	}
	return NULL;
}

static void *worker(void *arg)
{
	struct gw_upstream *up = arg;
	pthread_mutex_lock(&up->mu);
	while (!up->stop) {
		int64_t wait_ms;
		struct host_job *j = next_job(up, mono_ms(), &wait_ms);
		if (j == NULL) {
			if (wait_ms < 0) {
				pthread_cond_wait(&up->work_cv, &up->mu);
			} else {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				int64_t ns = ts.tv_nsec + (wait_ms % 1000) * 1000000;
				ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
				ts.tv_nsec = ns % 1000000000;
				pthread_cond_timedwait(&up->work_cv, &up->mu, &ts);
			}
			continue;
		}
		j->running = true;
		j->pending = false;
		j->started++;
		pthread_mutex_unlock(&up->mu);

		bool more, store_failed;
		int64_t next_s;
		run_round(up, j, &more, &next_s, &store_failed);

		pthread_mutex_lock(&up->mu);
		j->running = false;
		j->done = j->started;
		j->last_store_failed = store_failed;
		int64_t now = mono_ms();
		if (store_failed) {
			/* The rows are safe in the store (or the store is gone):
			 * try the round again, on a short backoff of its own. */
			j->store_failures++;
			j->pending = true;
			j->due_ms = now + 1000 * gw_backoff_s(j->store_failures, BACKOFF_BASE_S,
			                                      STORE_RETRY_MAX_S,
			                                      randombytes_uniform(1000000) / 1e6);
		} else {
			j->store_failures = 0;
			if (more) {
				/* A kick meanwhile (j->pending) keeps its earlier due. */
				int64_t in_s = next_s - (int64_t)time(NULL);
				int64_t due = now + (in_s > 0 ? in_s * 1000 : 0);
				if (!j->pending || due < j->due_ms)
					j->due_ms = due;
				j->pending = true;
			}
		}
		pthread_cond_broadcast(&up->done_cv);
		pthread_cond_broadcast(&up->work_cv);
	}
	pthread_mutex_unlock(&up->mu);
	return NULL;
}

struct load_ctx {
	struct gw_upstream *up;
	int64_t now_ms, now_s;
};

static int load_pending(void *arg, int64_t host_id, int64_t next)
{
	struct load_ctx *lc = arg;
	struct host_job *j = job_get(lc->up, host_id, true);
	if (j == NULL)
		return DW_ENOMEM;
	j->pending = true;
	j->due_ms = lc->now_ms + (next > lc->now_s ? (next - lc->now_s) * 1000 : 0);
	return DW_OK;
}

int gw_upstream_new(const struct gw_conf *conf, struct gw_store *st, struct gw_metrics *m,
                    struct gw_upstream **out, struct dw_diag *diag)
{
	*out = NULL;
	struct gw_upstream *up = calloc(1, sizeof(*up));
	if (up == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	up->conf = conf;
	up->st = st;
	up->m = m;
	pthread_mutex_init(&up->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&up->work_cv, &ca);
	pthread_cond_init(&up->done_cv, &ca);
	pthread_condattr_destroy(&ca);

	up->nplocks = conf->cfg->nproviders;
	up->plocks = calloc(up->nplocks ? up->nplocks : 1, sizeof(*up->plocks));
	up->threads = calloc(conf->workers, sizeof(*up->threads));
	if (up->plocks == NULL || up->threads == NULL) {
		gw_upstream_stop(up);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < up->nplocks; i++) {
		up->plocks[i].p = conf->cfg->providers[i];
		pthread_mutex_init(&up->plocks[i].mu, NULL);
	}
	struct gw_db *db = gw_store_get(st);
	struct load_ctx lc = { up, mono_ms(), (int64_t)time(NULL) };
	int ret = db == NULL ? DW_EIO : gw_db_pending_hosts(db, load_pending, &lc);
	gw_store_put(st, db);
	if (ret != DW_OK) {
		gw_upstream_stop(up);
		return dw_diag_set(diag, ret, "cannot read the retry queue from the database");
	}
	*out = up;
	return DW_OK;
}

int gw_upstream_start(struct gw_upstream *up, struct dw_diag *diag)
{
	for (size_t i = 0; i < up->conf->workers; i++) {
		if (pthread_create(&up->threads[i], NULL, worker, up) != 0)
			return dw_diag_set(diag, DW_ENOMEM, "cannot start upstream threads");
		up->nthreads++;
	}
	if (up->njobs > 0)
		log_notice("%zu host(s) have records waiting to be sent upstream", up->njobs);
	return DW_OK;
}

void gw_upstream_stop(struct gw_upstream *up)
{
	if (up == NULL)
		return;
	pthread_mutex_lock(&up->mu);
	up->stop = true;
	pthread_cond_broadcast(&up->work_cv);
	pthread_cond_broadcast(&up->done_cv);
	pthread_mutex_unlock(&up->mu);
	for (size_t i = 0; i < up->nthreads; i++)
		pthread_join(up->threads[i], NULL);
	for (size_t i = 0; i < up->njobs; i++) {
		rec_free(up->jobs[i]);
		free(up->jobs[i]);
	}
	for (size_t i = 0; i < up->nplocks; i++) {
		if (up->plocks[i].p != NULL)
			pthread_mutex_destroy(&up->plocks[i].mu);
	}
	free(up->plocks);
	free(up->jobs);
	free(up->threads);
	pthread_cond_destroy(&up->work_cv);
	pthread_cond_destroy(&up->done_cv);
	pthread_mutex_destroy(&up->mu);
	free(up);
}

enum gw_up_result gw_upstream_kick(struct gw_upstream *up, int64_t host_id, unsigned wait_ms,
                                   char *msg, size_t cap)
{
	if (cap > 0)
		msg[0] = '\0';
	pthread_mutex_lock(&up->mu);
	struct host_job *j = job_get(up, host_id, true);
	if (j == NULL) {
		pthread_mutex_unlock(&up->mu);
		snprintf(msg, cap, "out of memory");
		return GW_UP_TIMEOUT;   /* the value is stored: the next start sends it */
	}
	/* A round now: it sends what is due, a new value included (a new
	 * value's record set has no backoff); other sets keep theirs. */
	j->pending = true;
	j->due_ms = 0;
	uint64_t target = j->started + 1;
	pthread_cond_signal(&up->work_cv);
	enum gw_up_result r = GW_UP_TIMEOUT;
	if (wait_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = ts.tv_nsec + (int64_t)(wait_ms % 1000) * 1000000;
		ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		while (!up->stop && j->done < target) {
			if (pthread_cond_timedwait(&up->done_cv, &up->mu, &ts) != 0)
				break;
		}
		if (j->done >= target)
			r = j->last_store_failed ? GW_UP_STORE : GW_UP_DONE;
	}
	pthread_mutex_unlock(&up->mu);
	if (r == GW_UP_STORE)
		snprintf(msg, cap, "the database failed");
	else if (r == GW_UP_TIMEOUT && wait_ms > 0)
		snprintf(msg, cap, "no answer from the provider within %u ms", wait_ms);
	return r;
}
