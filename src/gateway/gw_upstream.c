/* Upstream workers, leases and retry scheduling (see gw_upstream.h). */
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
#define SWEEP_MS 2000          /* how often the store is asked for due work */
#define SWEEP_HORIZON_S 10     /* work due within this is held in memory */
#define SWEEP_MAX 1000         /* rows per sweep (the earliest) */
#define CLAIM_POLL_MS 100      /* a waited-for host whose lease another holds */
#define NO_HEAP ((size_t)-1)

struct host_job {
	int64_t host_id;
	struct host_job *hnext;    /* hash chain */
	size_t heap_i;             /* place in the heap, NO_HEAP when not scheduled */
	int64_t due_ms;            /* monotonic */
	bool running;
	bool again;                /* kicked while running: another round at once */
	unsigned waiters;
	unsigned store_failures;   /* rounds in a row that failed on the store */
	uint64_t kicks;            /* kicks so far */
	uint64_t served;           /* kicks covered by the last round that ran */
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
	char owner[64];
	int64_t lease_ms;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	bool stop;
	/* Jobs by host id (chained hash) and by due time (binary heap). */
	struct host_job **buckets;
	size_t nbuckets, njobs;
	struct host_job **heap;
	size_t nheap, capheap;
	int64_t sweep_due_ms;
	bool sweeping;
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

bool gw_lease_renew_due(int64_t elapsed_ms, int64_t lease_ms)
{
	return elapsed_ms * 3 >= lease_ms;
}

/* ---- jobs: hash and heap (caller holds mu) ---------------------------------------- */

static size_t bucket_of(const struct gw_upstream *up, int64_t host_id)
{
	uint64_t h = (uint64_t)host_id * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 32) & (up->nbuckets - 1);
}

static void heap_swap(struct gw_upstream *up, size_t a, size_t b)
{
	struct host_job *t = up->heap[a];
	up->heap[a] = up->heap[b];
	up->heap[b] = t;
	up->heap[a]->heap_i = a;
	up->heap[b]->heap_i = b;
}

static void heap_up(struct gw_upstream *up, size_t i)
{
	while (i > 0 && up->heap[(i - 1) / 2]->due_ms > up->heap[i]->due_ms) {
		heap_swap(up, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct gw_upstream *up, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < up->nheap && up->heap[l]->due_ms < up->heap[m]->due_ms)
			m = l;
		if (r < up->nheap && up->heap[r]->due_ms < up->heap[m]->due_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(up, i, m);
		i = m;
	}
}

static void heap_remove(struct gw_upstream *up, struct host_job *j)
{
	size_t i = j->heap_i;
	if (i == NO_HEAP)
		return;
	j->heap_i = NO_HEAP;
	up->nheap--;
	if (i == up->nheap)
		return;
	up->heap[i] = up->heap[up->nheap];
	up->heap[i]->heap_i = i;
	heap_up(up, i);
	heap_down(up, up->heap[i]->heap_i);
}

/* (Re)schedules j at due_ms.  false: out of memory (j stays as it was). */
static bool schedule(struct gw_upstream *up, struct host_job *j, int64_t due_ms)
{
	if (j->heap_i != NO_HEAP) {
		j->due_ms = due_ms;
		heap_up(up, j->heap_i);
		heap_down(up, j->heap_i);
		return true;
	}
	if (up->nheap == up->capheap) {
		size_t nc = up->capheap ? up->capheap * 2 : 64;
		struct host_job **nh = realloc(up->heap, nc * sizeof(*nh));
		if (nh == NULL)
			return false;
		up->heap = nh;
		up->capheap = nc;
	}
	j->due_ms = due_ms;
	j->heap_i = up->nheap;
	up->heap[up->nheap++] = j;
	heap_up(up, j->heap_i);
	return true;
}

static struct host_job *job_find(struct gw_upstream *up, int64_t host_id)
{
	for (struct host_job *j = up->buckets[bucket_of(up, host_id)]; j != NULL; j = j->hnext) {
		if (j->host_id == host_id)
			return j;
	}
	return NULL;
}

static void grow(struct gw_upstream *up)
{
	size_t nb = up->nbuckets * 2;
	struct host_job **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;   /* longer chains, still correct */
	struct host_job **old = up->buckets;
	size_t on = up->nbuckets;
	up->buckets = b;
	up->nbuckets = nb;
	for (size_t i = 0; i < on; i++) {
		for (struct host_job *j = old[i], *n; j != NULL; j = n) {
			n = j->hnext;
			size_t k = bucket_of(up, j->host_id);
			j->hnext = b[k];
			b[k] = j;
		}
	}
	free(old);
}

static struct host_job *job_get(struct gw_upstream *up, int64_t host_id)
{
	struct host_job *j = job_find(up, host_id);
	if (j != NULL)
		return j;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->host_id = host_id;
	j->heap_i = NO_HEAP;
	if (up->njobs >= 2 * up->nbuckets)
		grow(up);
	size_t k = bucket_of(up, host_id);
	j->hnext = up->buckets[k];
	up->buckets[k] = j;
	up->njobs++;
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

/* Frees j when nothing needs it: not scheduled, not running, nobody
 * waiting.  Hosts live in the store, not here. */
static void job_release(struct gw_upstream *up, struct host_job *j)
{
	if (j->running || j->waiters > 0 || j->heap_i != NO_HEAP)
		return;
	struct host_job **pp = &up->buckets[bucket_of(up, j->host_id)];
	while (*pp != NULL && *pp != j)
		pp = &(*pp)->hnext;
	if (*pp == j)
		*pp = j->hnext;
	up->njobs--;
	rec_free(j);
	free(j);
}

/* ---- a round ------------------------------------------------------------------------ */

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

/* One provider call, timed. */
static void timed_result(struct gw_upstream *up, int64_t t0, const struct dw_result *res)
{
	double s = (double)(mono_ms() - t0) / 1000.0;
	gw_metrics_upstream(up->m, s, (int)res->outcome, dw_outcome_ok(res->outcome));
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

struct round {
	bool store_failed;         /* the store could not be read or written */
	bool claimed;              /* false: another instance holds the lease */
	int64_t held_until;        /* unix time, when not claimed */
	bool more;                 /* rows still pending afterwards ... */
	int64_t next_s;            /* ... the earliest due then (unix time) */
};

/* Claims the host and reads its due rows, in one transaction. */
static int claim_and_read(struct gw_upstream *up, struct gw_db *db, int64_t host_id,
                          struct round *rr, struct gw_host *h, struct gw_rec *rows, size_t *n,
                          bool *gone)
{
	int64_t now = (int64_t)time(NULL);
	int64_t expires = now + (up->lease_ms + 999) / 1000;
	bool taken = false;
	*n = 0;
	*gone = false;
	/* Nothing due (another instance sent it, or a sweep ahead of a
	 * backoff): no claim, no write. */
	struct gw_rec one;
	size_t due = 0;
	int ret = gw_db_pending(db, host_id, now, &one, 1, &due);
	if (ret != DW_OK || due == 0) {
		rr->claimed = true;
		return ret;
	}
	/* The claim need not survive a crash of the machine (see
	 * gw_db_begin_volatile); the results recorded after the call must. */
	ret = gw_db_begin_volatile(db);
	if (ret == DW_OK)
		ret = gw_db_lease_claim(db, host_id, up->owner, expires, now, &taken,
		                        &rr->held_until);
	if (ret == DW_OK && taken) {
		ret = gw_db_host_by_id(db, host_id, h);
		if (ret == DW_ENOTFOUND) {
			*gone = true;   /* removed: its rows and lease went with it */
			ret = DW_OK;
		} else if (ret == DW_OK) {
			ret = gw_db_pending(db, host_id, now, rows, ROUND_ROWS, n);
			/* Taken meanwhile by another round: the lease back at once. */
			if (ret == DW_OK && *n == 0)
				ret = gw_db_lease_release(db, host_id, up->owner);
		}
	}
	if (ret == DW_OK)
		ret = gw_db_commit(db);
	gw_db_rollback(db);
	rr->claimed = taken;
	return ret;
}

/* Before a provider call: the lease renewed once a third of it has passed.
 * false: it is lost (expired and taken by another instance, or the store
 * failed). */
static bool keep_lease(struct gw_upstream *up, int64_t host_id, int64_t *since_ms)
{
	int64_t now = mono_ms();
	if (!gw_lease_renew_due(now - *since_ms, up->lease_ms))
		return true;
	struct gw_db *db = gw_store_get(up->st);
	bool ok = false;
	if (db != NULL) {
		int64_t expires = (int64_t)time(NULL) + (up->lease_ms + 999) / 1000;
		(void)gw_db_lease_renew(db, host_id, up->owner, expires, &ok);
	}
	gw_store_put(up->st, db);
	if (ok)
		*since_ms = now;
	return ok;
}

/* Sends the due rows of one host: each record set (A, AAAA, the TXT
 * values) keeps its own backoff in its rows' next_retry. */
static void run_round(struct gw_upstream *up, struct host_job *j, struct round *rr)
{
	memset(rr, 0, sizeof(*rr));
	struct gw_host h;
	struct gw_rec rows[ROUND_ROWS];
	size_t n = 0;
	bool gone = false;
	int64_t lease_ms = mono_ms();
	struct gw_db *db = gw_store_get(up->st);
	if (db == NULL || claim_and_read(up, db, j->host_id, rr, &h, rows, &n, &gone) != DW_OK) {
		rr->store_failed = true;
		gw_store_put(up->st, db);
		return;
	}
	if (rr->claimed && !gone && n == 0) {
		/* Nothing was due: nothing claimed, nothing to record. */
		if (gw_db_next_due(db, j->host_id, &rr->more, &rr->next_s) != DW_OK)
			rr->store_failed = true;
		gw_store_put(up->st, db);
		return;
	}
	gw_store_put(up->st, db);
	db = NULL;
	if (!rr->claimed || gone)
		return;

	struct dw_result res[ROUND_ROWS];
	bool sent[ROUND_ROWS];   /* a result to record (false: left pending) */
	for (size_t i = 0; i < n; i++) {
		dw_result_set(&res[i], DW_OUT_FATAL, -1, "not sent");
		sent[i] = false;
	}
	bool lost = false;
	struct dw_provider *p = n > 0 ? gw_conf_provider(up->conf, h.provider) : NULL;
	struct dw_record *r = NULL;
	char err[384] = "";
	if (n > 0 && p == NULL)
		snprintf(err, sizeof(err), "provider '%s' is not configured in the gateway file",
		         h.provider);
	else if (n > 0)
		r = rec_for(up->conf, j, p, &h, err, sizeof(err));
	if (n > 0 && r == NULL) {
		for (size_t i = 0; i < n; i++) {
			dw_result_set(&res[i], DW_OUT_FATAL, -1, "%s", err);
			sent[i] = true;
		}
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
				sent[i] = true;
				continue;
			}
			ia[f] = (ssize_t)i;
		}
		if (ia[0] >= 0 && ia[1] >= 0 && p->ops->update_multi != NULL) {
			if (!(lost = !keep_lease(up, j->host_id, &lease_ms))) {
				const struct dw_ip *const addrs[DW_FAM_COUNT] = { &ips[0], &ips[1] };
				struct dw_result mres[DW_FAM_COUNT];
				int64_t t0 = mono_ms();
				p->ops->update_multi(p, r, addrs, mres);
				for (int f = 0; f < DW_FAM_COUNT; f++) {
					res[ia[f]] = mres[f];
					sent[ia[f]] = true;
					timed_result(up, t0, &mres[f]);
				}
			}
		} else {
			for (int f = 0; f < DW_FAM_COUNT && !lost; f++) {
				if (ia[f] < 0)
					continue;
				if ((lost = !keep_lease(up, j->host_id, &lease_ms)))
					break;
				int64_t t0 = mono_ms();
				p->ops->update(p, r, &ips[f], &res[ia[f]]);
				sent[ia[f]] = true;
				timed_result(up, t0, &res[ia[f]]);
			}
		}
		for (size_t i = 0; i < n && !lost; i++) {
			if (rows[i].rtype == GW_RT_TXT) {
				char name[GW_FQDN_MAX + 16];
				snprintf(name, sizeof(name), "_acme-challenge.%s", h.fqdn);
				void (*op_add)(struct dw_provider *, const char *, const char *, uint32_t,
				               struct dw_result *) = p->ops->txt_add;
				void (*op_del)(struct dw_provider *, const char *, const char *,
				               struct dw_result *) = p->ops->txt_del;
				if ((rows[i].present && op_add == NULL) || (!rows[i].present && op_del == NULL)) {
					dw_result_set(&res[i], DW_OUT_FATAL, -1,
					              "provider type '%s' cannot publish TXT records", p->ops->type);
					sent[i] = true;
					continue;
				}
				if ((lost = !keep_lease(up, j->host_id, &lease_ms)))
					break;
				int64_t t0 = mono_ms();
				if (rows[i].present)
					op_add(p, name, rows[i].value, up->conf->txt_ttl, &res[i]);
				else
					op_del(p, name, rows[i].value, &res[i]);
				sent[i] = true;
				timed_result(up, t0, &res[i]);
			}
		}
		pthread_mutex_unlock(pm);
		if (lost) {
			/* Rows not sent stay pending for the lease's holder. */
			log_warning("upstream round for %s stopped: its lease was lost (expired after "
			            "lease-time, or the database failed); the rest is left to the next "
			            "round", h.fqdn);
		}
	}

	/* Record the results, each row in the same transaction as its audit,
	 * and give the lease back. */
	db = gw_store_get(up->st);
	if (db == NULL || gw_db_begin(db) != DW_OK) {
		rr->store_failed = true;
		goto out;
	}
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		if (!sent[i])
			continue;
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
			rr->store_failed = true;
			break;
		}
	}
	if (!rr->store_failed && gw_db_lease_release(db, j->host_id, up->owner) != DW_OK)
		rr->store_failed = true;
	if (!rr->store_failed && gw_db_commit(db) != DW_OK)
		rr->store_failed = true;
	gw_db_rollback(db);
	if (!rr->store_failed && gw_db_next_due(db, j->host_id, &rr->more, &rr->next_s) != DW_OK)
		rr->store_failed = true;
	if (rr->store_failed)
		log_debug("upstream round for %s: the database failed (logged once above); the "
		          "lease stays ours until it expires", h.fqdn);
out:
	gw_store_put(up->st, db);
}

/* After a round (caller holds mu). */
static void round_done(struct gw_upstream *up, struct host_job *j, uint64_t gen,
                       const struct round *rr)
{
	int64_t now = mono_ms();
	j->running = false;
	int64_t due = -1;
	if (rr->store_failed) {
		/* The rows are safe in the store (or the store is gone): the
		 * round again, on a short backoff of its own. */
		j->store_failures++;
		j->last_store_failed = true;
		j->served = gen;
		due = now + 1000 * gw_backoff_s(j->store_failures, BACKOFF_BASE_S, STORE_RETRY_MAX_S,
		                                randombytes_uniform(1000000) / 1e6);
	} else if (!rr->claimed) {
		/* Another instance sends this host's records now: look again
		 * soon when a request waits, else when its lease ends (it is
		 * released earlier; the sweep sees what is left). */
		j->store_failures = 0;
		int64_t in_s = rr->held_until - (int64_t)time(NULL);
		due = j->waiters > 0 ? now + CLAIM_POLL_MS
		                     : now + (in_s > 0 ? in_s * 1000 : CLAIM_POLL_MS);
	} else {
		j->store_failures = 0;
		j->last_store_failed = false;
		j->served = gen;
		if (rr->more) {
			int64_t in_s = rr->next_s - (int64_t)time(NULL);
			if (in_s <= SWEEP_HORIZON_S)
				due = now + (in_s > 0 ? in_s * 1000 : 0);
			/* later: the sweep brings it back in time */
		}
	}
	if (j->again) {
		j->again = false;
		due = now;
	}
	if (due >= 0 && !schedule(up, j, due))
		log_error("upstream: out of memory scheduling a host (the sweep finds it again)");
	job_release(up, j);
	pthread_cond_broadcast(&up->done_cv);
	pthread_cond_broadcast(&up->work_cv);
}

/* ---- the sweep ------------------------------------------------------------------------- */

struct due_row {
	int64_t host_id, next, lease;
};

struct sweep {
	struct due_row *v;
	size_t n;
};

static int sweep_cb(void *arg, int64_t host_id, int64_t next, int64_t lease)
{
	struct sweep *s = arg;
	if (s->n < SWEEP_MAX)
		s->v[s->n++] = (struct due_row){ host_id, next, lease };
	return DW_OK;
}

/* Rows due soon, from the store: scheduled at their next_retry, or when
 * the lease another instance holds ends (caller does not hold mu). */
static void sweep(struct gw_upstream *up)
{
	struct sweep s = { calloc(SWEEP_MAX, sizeof(struct due_row)), 0 };
	if (s.v == NULL)
		return;
	int64_t now_s = (int64_t)time(NULL);
	struct gw_db *db = gw_store_get(up->st);
	int ret = db != NULL ? gw_db_due_hosts(db, now_s + SWEEP_HORIZON_S, SWEEP_MAX, sweep_cb, &s)
	                     : DW_EIO;
	gw_store_put(up->st, db);
	if (ret != DW_OK) {
		free(s.v);
		return;   /* the store failed (logged there): the next sweep */
	}
	pthread_mutex_lock(&up->mu);
	int64_t now = mono_ms();
	for (size_t i = 0; i < s.n; i++) {
		int64_t at = s.v[i].next > s.v[i].lease ? s.v[i].next : s.v[i].lease;
		int64_t due = now + (at > now_s ? (at - now_s) * 1000 : 0);
		struct host_job *j = job_get(up, s.v[i].host_id);
		if (j == NULL)
			break;
		if (j->running || (j->heap_i != NO_HEAP && j->due_ms <= due))
			continue;
		if (!schedule(up, j, due))
			job_release(up, j);
	}
	pthread_cond_broadcast(&up->work_cv);
	pthread_mutex_unlock(&up->mu);
	free(s.v);
}

/* ---- workers ---------------------------------------------------------------------------- */

static void wait_until(struct gw_upstream *up, int64_t at_ms)
{
	int64_t wait_ms = at_ms - mono_ms();
	if (wait_ms <= 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ns = ts.tv_nsec + (wait_ms % 1000) * 1000000;
	ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_cond_timedwait(&up->work_cv, &up->mu, &ts);
}

static void *worker(void *arg)
{
	struct gw_upstream *up = arg;
	pthread_mutex_lock(&up->mu);
	while (!up->stop) {
		int64_t now = mono_ms();
		if (!up->sweeping && now >= up->sweep_due_ms) {
			up->sweeping = true;
			pthread_mutex_unlock(&up->mu);
			sweep(up);
			pthread_mutex_lock(&up->mu);
			up->sweeping = false;
			up->sweep_due_ms = mono_ms() + SWEEP_MS;
			continue;
		}
		struct host_job *j = up->nheap > 0 ? up->heap[0] : NULL;
		if (j == NULL || j->due_ms > now) {
			int64_t at = up->sweeping ? INT64_MAX : up->sweep_due_ms;
			if (j != NULL && j->due_ms < at)
				at = j->due_ms;
			if (at == INT64_MAX)
				pthread_cond_wait(&up->work_cv, &up->mu);
			else
				wait_until(up, at);
			continue;
		}
		heap_remove(up, j);
		j->running = true;
		j->again = false;
		uint64_t gen = j->kicks;
		pthread_mutex_unlock(&up->mu);

		struct round rr;
		run_round(up, j, &rr);

		pthread_mutex_lock(&up->mu);
		round_done(up, j, gen, &rr);
	}
	pthread_mutex_unlock(&up->mu);
	return NULL;
}

int gw_upstream_new(const struct gw_conf *conf, struct gw_store *st, struct gw_metrics *m,
                    const char *owner, struct gw_upstream **out, struct dw_diag *diag)
{
	*out = NULL;
	struct gw_upstream *up = calloc(1, sizeof(*up));
	if (up == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	up->conf = conf;
	up->st = st;
	up->m = m;
	snprintf(up->owner, sizeof(up->owner), "%s", owner);
	up->lease_ms = (int64_t)(conf->lease_s > 0 ? conf->lease_s : 60) * 1000;
	pthread_mutex_init(&up->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&up->work_cv, &ca);
	pthread_cond_init(&up->done_cv, &ca);
	pthread_condattr_destroy(&ca);

	up->nbuckets = 1024;
	up->buckets = calloc(up->nbuckets, sizeof(*up->buckets));
	up->nplocks = conf->cfg->nproviders;
	up->plocks = calloc(up->nplocks ? up->nplocks : 1, sizeof(*up->plocks));
	up->threads = calloc(conf->workers, sizeof(*up->threads));
	if (up->buckets == NULL || up->plocks == NULL || up->threads == NULL) {
		gw_upstream_stop(up);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < up->nplocks; i++) {
		up->plocks[i].p = conf->cfg->providers[i];
		pthread_mutex_init(&up->plocks[i].mu, NULL);
	}
	/* The queue is read now: a store that cannot be read fails the start. */
	struct gw_db *db = gw_store_get(st);
	int64_t pending = 0;
	int ret = db == NULL ? DW_EIO : gw_db_pending_count(db, &pending);
	gw_store_put(st, db);
	if (ret != DW_OK) {
		gw_upstream_stop(up);
		return dw_diag_set(diag, ret, "cannot read the retry queue from the database");
	}
	if (pending > 0)
		log_notice("%lld record(s) are waiting to be sent upstream", (long long)pending);
	*out = up;
	return DW_OK;
}

int gw_upstream_start(struct gw_upstream *up, struct dw_diag *diag)
{
	up->sweep_due_ms = 0;   /* the first sweep at once: nothing pending is lost */
	for (size_t i = 0; i < up->conf->workers; i++) {
		if (pthread_create(&up->threads[i], NULL, worker, up) != 0)
			return dw_diag_set(diag, DW_ENOMEM, "cannot start upstream threads");
		up->nthreads++;
	}
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
	for (size_t b = 0; up->buckets != NULL && b < up->nbuckets; b++) {
		for (struct host_job *j = up->buckets[b], *n; j != NULL; j = n) {
			n = j->hnext;
			rec_free(j);
			free(j);
		}
	}
	for (size_t i = 0; i < up->nplocks; i++) {
		if (up->plocks[i].p != NULL)
			pthread_mutex_destroy(&up->plocks[i].mu);
	}
	free(up->plocks);
	free(up->buckets);
	free(up->heap);
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
	struct host_job *j = job_get(up, host_id);
	if (j == NULL) {
		pthread_mutex_unlock(&up->mu);
		snprintf(msg, cap, "out of memory");
		return GW_UP_TIMEOUT;   /* the value is stored: the sweep sends it */
	}
	/* A round now: it sends what is due, a new value included (a new
	 * value's record set has no backoff); other sets keep theirs. */
	uint64_t target = ++j->kicks;
	if (j->running)
		j->again = true;
	else if (!schedule(up, j, mono_ms()))
		j->again = true;   /* out of memory: the sweep finds the rows */
	pthread_cond_signal(&up->work_cv);
	enum gw_up_result r = GW_UP_TIMEOUT;
	if (wait_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = ts.tv_nsec + (int64_t)(wait_ms % 1000) * 1000000;
		ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		j->waiters++;
		while (!up->stop && j->served < target) {
			if (pthread_cond_timedwait(&up->done_cv, &up->mu, &ts) != 0)
				break;
		}
		j->waiters--;
		if (j->served >= target)
			r = j->last_store_failed ? GW_UP_STORE : GW_UP_DONE;
	}
	job_release(up, j);
	pthread_mutex_unlock(&up->mu);
	if (r == GW_UP_STORE)
		snprintf(msg, cap, "the database failed");
	else if (r == GW_UP_TIMEOUT && wait_ms > 0)
		snprintf(msg, cap, "no answer from the provider within %u ms", wait_ms);
	return r;
}

size_t gw_upstream_jobs(struct gw_upstream *up)
{
	pthread_mutex_lock(&up->mu);
	size_t n = up->njobs;
	pthread_mutex_unlock(&up->mu);
	return n;
}
