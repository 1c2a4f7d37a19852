/* The store, independent of the database engine: backend choice, the
 * connection pool with reconnection backoff, failure episodes and health,
 * and what every operation means, in terms of the numbered statements of
 * gw_store_int.h (see gw_store.h). */
#include "gateway/gw_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw_store_int.h"
#include "lib/log.h"

#define POOL_MAX 1024
#define PROBE_EVERY_MS 2000
#define PRUNE_BATCH 5000
#define TRIM_MAX 64
#define HOST_PAGE 256
#define COPY_PAGE 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define INSTANCE_KEEP_S 86400

/* The backends compiled in, tried in order. */
static const struct gw_store_ops *const backends[] = {
#if defined(DW_HAVE_POSTGRESQL)
	&gw_store_pg,
#endif
	&gw_store_sqlite,
	NULL,
};

const char *gw_rtype_str(enum gw_rtype t)
{
	switch (t) {
	case GW_RT_A: return "A";
	case GW_RT_AAAA: return "AAAA";
	case GW_RT_TXT: return "TXT";
	}
	return "?";
}

static int rtype_parse(const char *s, enum gw_rtype *out)
{
	if (strcmp(s, "A") == 0)
		*out = GW_RT_A;
	else if (strcmp(s, "AAAA") == 0)
		*out = GW_RT_AAAA;
	else if (strcmp(s, "TXT") == 0)
		*out = GW_RT_TXT;
	else
		return DW_EINVAL;
	return DW_OK;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- values ------------------------------------------------------------------ */

static struct gw_val vi(int64_t i)
{
	struct gw_val v = { .t = GW_V_INT, .i = i };
	return v;
}

static struct gw_val vt(const char *s)
{
	struct gw_val v = { .t = s != NULL ? GW_V_TEXT : GW_V_NULL, .s = s,
	                    .n = s != NULL ? strlen(s) : 0 };
	return v;
}

static struct gw_val vb(const void *p, size_t n)
{
	struct gw_val v = { .t = GW_V_BLOB, .s = p, .n = n };
	return v;
}

static int64_t ci(const struct gw_val *v)
{
	if (v->t == GW_V_INT)
		return v->i;
	if (v->t == GW_V_TEXT)
		return strtoll(v->s, NULL, 10);
	return 0;
}

static void ct(const struct gw_val *v, char *out, size_t cap)
{
	snprintf(out, cap, "%s", v->t == GW_V_TEXT ? v->s : "");
}

/* A text column as it is (NULL for SQL NULL), for the copy. */
static const char *cs(const struct gw_val *v)
{
	return v->t == GW_V_TEXT ? v->s : NULL;
}

static void hex16(const uint8_t key[16], char out[33])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = digits[key[i] >> 4];
		out[2 * i + 1] = digits[key[i] & 15];
	}
	out[32] = '\0';
}

/* ---- failures ---------------------------------------------------------------- */

static const char *const fault_names[GW_FAULT_COUNT] = {
	"none", "disk_full", "read_only", "corrupt", "io", "busy", "other", "unavailable",
};

const char *gw_fault_name(enum gw_fault f)
{
	return (unsigned)f < GW_FAULT_COUNT ? fault_names[f] : "?";
}

/* A corrupt database's episode lasts until restart; other kinds replace
 * each other. */
void gw_store_fault(struct gw_store *st, enum gw_fault f, const char *what, bool count)
{
	if (count)
		atomic_fetch_add_explicit(&st->errors[f], 1, memory_order_relaxed);
	pthread_mutex_lock(&st->fault_lock);
	st->last_kind = f;
	snprintf(st->last_what, sizeof(st->last_what), "%s", what);
	int cur = atomic_load(&st->fault);
	if (st->opening) {
		/* reported by gw_store_open */
	} else if (cur == (int)f || cur == GW_FAULT_CORRUPT) {
		log_debug("database %s: %s (%s again)", st->desc, what, gw_fault_name(f));
	} else {
		char msg[1024];
		st->ops->advice(st, f, what, msg, sizeof(msg));
		log_error("%s", msg);
		atomic_store(&st->fault, (int)f);
	}
	pthread_mutex_unlock(&st->fault_lock);
}

/* A write committed: an episode (other than corruption) is over. */
static void note_write_ok(struct gw_store *st)
{
	int cur = atomic_load_explicit(&st->fault, memory_order_relaxed);
	if (cur == GW_FAULT_NONE || cur == GW_FAULT_CORRUPT)
		return;
	pthread_mutex_lock(&st->fault_lock);
	cur = atomic_load(&st->fault);
	if (cur != GW_FAULT_NONE && cur != GW_FAULT_CORRUPT) {
		log_notice("database %s: writes succeed again (after: %s)", st->desc,
		           gw_fault_name((enum gw_fault)cur));
		atomic_store(&st->fault, GW_FAULT_NONE);
	}
	pthread_mutex_unlock(&st->fault_lock);
}

void gw_store_stats(struct gw_store *st, struct gw_store_stats *out)
{
	out->fault = (enum gw_fault)atomic_load(&st->fault);
	for (int i = 0; i < GW_FAULT_COUNT; i++)
		out->errors[i] = atomic_load_explicit(&st->errors[i], memory_order_relaxed);
}

/* ---- statements ---------------------------------------------------------------- */

/* Runs q; rows written inside a transaction are counted for commit. */
static int q_run(struct gw_db *db, enum gw_q q, const struct gw_val *a, size_t n, gw_row_cb cb,
                 void *arg, int64_t *changes)
{
	int64_t ch = 0;
	int ret = db->st->ops->exec(db, q, a, n, cb, arg, &ch);
	if (ret == DW_OK && ch > 0)
		db->tx_changes += ch;
	if (changes != NULL)
		*changes = ch;
	return ret;
}

static int q_exec(struct gw_db *db, enum gw_q q, const struct gw_val *a, size_t n)
{
	return q_run(db, q, a, n, NULL, NULL, NULL);
}

/* One row: fill(out, cols) for the first; DW_ENOTFOUND when none. */
struct one_ctx {
	int (*fill)(void *out, const struct gw_val *c, size_t n);
	void *out;
	int rows;
};

static int one_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct one_ctx *o = arg;
	if (o->rows++ > 0)
		return DW_OK;
	return o->fill(o->out, c, n);
}

static int q_one(struct gw_db *db, enum gw_q q, const struct gw_val *a, size_t n,
                 int (*fill)(void *out, const struct gw_val *c, size_t n), void *out)
{
	struct one_ctx o = { fill, out, 0 };
	int ret = q_run(db, q, a, n, one_cb, &o, NULL);
	if (ret == DW_OK && o.rows == 0)
		ret = DW_ENOTFOUND;
	return ret;
}

static int fill_int(void *out, const struct gw_val *c, size_t n)
{
	if (n < 1)
		return DW_EIO;
	*(int64_t *)out = ci(&c[0]);
	return DW_OK;
}

static int q_int(struct gw_db *db, enum gw_q q, const struct gw_val *a, size_t n, int64_t *out)
{
	*out = 0;
	return q_one(db, q, a, n, fill_int, out);
}

#define HOST_NCOLS 8
static void read_host(const struct gw_val *c, struct gw_host *h)
{
	memset(h, 0, sizeof(*h));
	h->id = ci(&c[0]);
	ct(&c[1], h->fqdn, sizeof(h->fqdn));
	ct(&c[2], h->provider, sizeof(h->provider));
	h->acme = ci(&c[3]) != 0;
	ct(&c[4], h->allow, sizeof(h->allow));
	h->expires = ci(&c[5]);
	ct(&c[6], h->iid, sizeof(h->iid));
	h->created = ci(&c[7]);
}

#define REC_NCOLS 13
struct rec_out {
	struct gw_rec *r;
	bool *uncertain;   /* may be NULL */
};

/* Also gives whether the row's last attempt may have reached the provider. */
static void read_rec(const struct gw_val *c, struct gw_rec *r, bool *uncertain)
{
	memset(r, 0, sizeof(*r));
	r->id = ci(&c[0]);
	r->host_id = ci(&c[1]);
	if (c[2].t != GW_V_TEXT || rtype_parse(c[2].s, &r->rtype) != DW_OK)
		r->rtype = GW_RT_TXT;   /* the CHECK constraint makes this unreachable */
	ct(&c[3], r->value, sizeof(r->value));
	r->present = ci(&c[4]) != 0;
	r->applied = ci(&c[5]) != 0;
	r->attempts = ci(&c[6]);
	r->next_retry = ci(&c[7]);
	ct(&c[8], r->last_error, sizeof(r->last_error));
	r->seq = ci(&c[9]);
	r->updated = ci(&c[10]);
	r->failed = ci(&c[11]) != 0;
	if (uncertain != NULL)
		*uncertain = ci(&c[12]) != 0;
}

static int fill_rec(void *out, const struct gw_val *c, size_t n)
{
	struct rec_out *ro = out;
	if (n < REC_NCOLS)
		return DW_EIO;
	read_rec(c, ro->r, ro->uncertain);
	return DW_OK;
}

static int fill_host(void *out, const struct gw_val *c, size_t n)
{
	if (n < HOST_NCOLS)
		return DW_EIO;
	read_host(c, out);
	return DW_OK;
}

/* ---- opening and the pool ------------------------------------------------------ */

static const struct gw_store_ops *backend_for(const char *database)
{
	for (size_t i = 0; backends[i] != NULL; i++) {
		if (backends[i]->handles(database))
			return backends[i];
	}
	return NULL;
}

int gw_store_check_setting(const char *database, struct dw_diag *diag)
{
	if (database == NULL || database[0] == '\0')
		return dw_diag_set(diag, DW_ECONFIG, "no database given");
	const struct gw_store_ops *ops = backend_for(database);
	if (ops == NULL) {
		if (strncmp(database, "postgres", 8) == 0)
			return dw_diag_set(diag, DW_ECONFIG, "'%.60s...': this dnsward-gateway was built "
			                   "without PostgreSQL support (meson -Dpostgresql=enabled, "
			                   "libpq-dev)", database);
		return dw_diag_set(diag, DW_ECONFIG, "'%.200s' is neither an absolute path (SQLite) "
		                   "nor a postgresql:// URL", database);
	}
	return ops->check_setting(database, diag);
}

bool gw_store_is_file(const char *database)
{
	return database != NULL && database[0] == '/';
}

const char *gw_store_backend(const struct gw_store *st)
{
	return st->ops->name;
}

void gw_store_init(struct gw_store *st, const struct gw_store_ops *ops, const char *desc,
                   unsigned pool)
{
	st->ops = ops;
	snprintf(st->desc, sizeof(st->desc), "%s", desc);
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->fault_lock, NULL);
	pthread_mutex_init(&st->probe_lock, NULL);
	st->pool = pool < 1 ? 1 : pool > POOL_MAX ? POOL_MAX : pool;
	atomic_init(&st->generation, 1);
	atomic_init(&st->fault, GW_FAULT_NONE);
}

void gw_store_fini(struct gw_store *st)
{
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->fault_lock);
	pthread_mutex_destroy(&st->probe_lock);
}

static void db_close(struct gw_db *db)
{
	if (db != NULL)
		db->st->ops->disconnect(db);
}

/* One small write transaction: can the store take writes? */
static int probe_write(struct gw_db *db)
{
	int ret = gw_db_begin(db);
	if (ret == DW_OK) {
		struct gw_val a[] = { vi(now_s()) };
		ret = q_exec(db, Q_PROBE, a, 1);
	}
	if (ret == DW_OK)
		ret = gw_db_commit(db);
	gw_db_rollback(db);
	return ret;
}

int gw_store_open_cfg(const struct gw_store_cfg *cfg, struct gw_store **out,
                      struct dw_diag *diag)
{
	*out = NULL;
	int ret = gw_store_check_setting(cfg->database, diag);
	if (ret != DW_OK)
		return ret;
	const struct gw_store_ops *ops = backend_for(cfg->database);
	if (ops == NULL)
		return dw_diag_set(diag, DW_ECONFIG, "no backend for %s", cfg->database);
	struct gw_store *st = NULL;
	struct gw_db *db = NULL;
	if ((ret = ops->open(cfg, &st, &db, diag)) != DW_OK)
		return ret;
	if (st == NULL || db == NULL)
		return dw_diag_set(diag, DW_EIO, "database %s: no connection", cfg->database);
	db->st = st;
	db->generation = atomic_load(&st->generation);
	if (cfg->flags & GW_STORE_SERVE) {
		/* Serving needs writes: a probe now rather than a 911 later. */
		st->opening = true;
		if (probe_write(db) != DW_OK) {
			char msg[1024];
			ops->advice(st, st->last_kind, st->last_what, msg, sizeof(msg));
			ret = dw_diag_set(diag, DW_EIO, "%s", msg);
		}
		st->opening = false;
		atomic_store(&st->fault, GW_FAULT_NONE);
	}
	if (ret != DW_OK) {
		db_close(db);
		gw_store_close(st);
		return ret;
	}
	st->idle = db;
	st->nidle = 1;
	*out = st;
	return DW_OK;
}

int gw_store_open(const char *database, unsigned flags, unsigned pool, struct gw_store **out,
                  struct dw_diag *diag)
{
	struct gw_store_cfg cfg = { .database = database, .pool = pool, .flags = flags };
	return gw_store_open_cfg(&cfg, out, diag);
}

void gw_store_close(struct gw_store *st)
{
	if (st == NULL)
		return;
	while (st->idle != NULL) {
		struct gw_db *n = st->idle->next;
		db_close(st->idle);
		st->idle = n;
	}
	st->ops->close(st);
}

int gw_store_prepare(const char *database, uid_t uid, gid_t gid, struct dw_diag *diag)
{
	const struct gw_store_ops *ops = backend_for(database);
	if (ops == NULL || ops->prepare == NULL)
		return DW_OK;
	return ops->prepare(database, uid, gid, diag);
}

struct gw_db *gw_store_get(struct gw_store *st)
{
	struct gw_db *stale = NULL;
	unsigned gen = atomic_load(&st->generation);
	pthread_mutex_lock(&st->lock);
	struct gw_db *db = st->idle;
	while (db != NULL && db->generation != gen) {
		/* From before the server was lost: closed outside the lock. */
		st->idle = db->next;
		st->nidle--;
		db->next = stale;
		stale = db;
		db = st->idle;
	}
	if (db != NULL) {
		st->idle = db->next;
		st->nidle--;
	}
	/* While the server is away: one attempt at a time (a black-holed
	 * address holds it for connect_timeout), the others fail at once. */
	bool wait = db == NULL && (st->connect_after_ms > mono_ms() ||
	                           (st->connect_failures > 0 && st->reconnecting));
	bool trying = db == NULL && !wait && st->connect_failures > 0;
	if (trying)
		st->reconnecting = true;
	pthread_mutex_unlock(&st->lock);
	while (stale != NULL) {
		struct gw_db *n = stale->next;
		db_close(stale);
		stale = n;
	}
	if (wait)
		return NULL;   /* reconnection backs off; the failure was reported */
	if (db == NULL) {
		struct gw_why why = { GW_FAULT_OTHER, "" };
		if (st->ops->connect(st, &db, &why) != DW_OK) {
			pthread_mutex_lock(&st->lock);
			if (trying)
				st->reconnecting = false;
			unsigned f = st->connect_failures < 16 ? ++st->connect_failures : 16;
			int64_t wait_ms = BACKOFF_MIN_MS << (f - 1 < 6 ? f - 1 : 6);
			st->connect_after_ms = mono_ms() + (wait_ms < BACKOFF_MAX_MS ? wait_ms
			                                                               : BACKOFF_MAX_MS);
			pthread_mutex_unlock(&st->lock);
			gw_store_fault(st, why.kind, why.what, true);
			return NULL;
		}
		pthread_mutex_lock(&st->lock);
		if (trying)
			st->reconnecting = false;
		st->connect_failures = 0;
		st->connect_after_ms = 0;
		pthread_mutex_unlock(&st->lock);
		db->st = st;
		db->generation = gen;
	}
	db->next = NULL;
	db->tx_changes = 0;
	db->locked_host = 0;
	return db;
}

void gw_store_put(struct gw_store *st, struct gw_db *db)
{
	if (db == NULL)
		return;
	if (!db->broken && st->ops->in_tx(db))
		gw_db_rollback(db);   /* never keep a lock */
	if (db->broken) {
		/* The server went away: the other idle connections too. */
		atomic_fetch_add(&st->generation, 1);
		db_close(db);
		return;
	}
	pthread_mutex_lock(&st->lock);
	if (st->nidle < st->pool && db->generation == atomic_load(&st->generation)) {
		db->next = st->idle;
		st->idle = db;
		st->nidle++;
		db = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	db_close(db);
}

bool gw_store_healthy(struct gw_store *st, char *reason, size_t cap)
{
	/* Room first: cheap, and true even when nothing writes. */
	if (st->ops->room != NULL && !st->ops->room(st, reason, cap))
		return false;
	int f = atomic_load(&st->fault);
	if (f != GW_FAULT_NONE && f != GW_FAULT_CORRUPT &&
	    pthread_mutex_trylock(&st->probe_lock) == 0) {
		int64_t now = mono_ms();
		if (now - st->probed_ms >= PROBE_EVERY_MS) {
			st->probed_ms = now;
			struct gw_db *db = gw_store_get(st);
			if (db != NULL)
				(void)probe_write(db);   /* success ends the episode */
			gw_store_put(st, db);
		}
		pthread_mutex_unlock(&st->probe_lock);
		f = atomic_load(&st->fault);
	}
	if (f == GW_FAULT_NONE)
		return true;
	static const char *const why[GW_FAULT_COUNT] = {
		"", "disk full", "read-only", "corrupt", "I/O error", "locked by another process",
		"error", "server unavailable",
	};
	snprintf(reason, cap, "database cannot be written: %s", why[f]);
	return false;
}

const char *gw_db_errmsg(struct gw_db *db)
{
	return db->st->ops->errmsg(db);
}

/* ---- transactions -------------------------------------------------------------- */

int gw_db_begin(struct gw_db *db)
{
	db->tx_changes = 0;
	db->locked_host = 0;
	return q_exec(db, Q_BEGIN, NULL, 0);
}

int gw_db_begin_volatile(struct gw_db *db)
{
	db->tx_changes = 0;
	db->locked_host = 0;
	return q_exec(db, Q_BEGIN_VOLATILE, NULL, 0);
}

int gw_db_commit(struct gw_db *db)
{
	int ret = q_exec(db, Q_COMMIT, NULL, 0);
	db->locked_host = 0;
	if (ret != DW_OK)
		gw_db_rollback(db);
	else if (db->tx_changes > 0)
		note_write_ok(db->st);   /* something was written: the disk took it */
	db->tx_changes = 0;
	return ret;
}

void gw_db_rollback(struct gw_db *db)
{
	db->locked_host = 0;
	db->tx_changes = 0;
	if (!db->broken && db->st->ops->in_tx(db))
		(void)db->st->ops->exec(db, Q_ROLLBACK, NULL, 0, NULL, NULL, NULL);
}

/* Serialises the writers of one host (in a transaction; a no-op where the
 * engine already has one writer at a time). */
static int lock_host(struct gw_db *db, int64_t host_id)
{
	if (db->locked_host == host_id || !db->st->ops->in_tx(db))
		return DW_OK;
	struct gw_val a[] = { vi(host_id) };
	int ret = q_exec(db, Q_LOCK_HOST, a, 1);
	if (ret == DW_OK)
		db->locked_host = host_id;
	return ret;
}

int gw_db_schema_version(struct gw_db *db, int *out)
{
	return db->st->ops->schema_version(db, out);
}

int gw_db_check(struct gw_db *db, struct dw_diag *diag)
{
	return db->st->ops->check(db, diag);
}

int gw_db_explain(struct gw_db *db, const char *which, char *out, size_t cap)
{
	static const struct { const char *name; enum gw_q q; } hot[] = {
		{ "auth", Q_AUTH }, { "addr", Q_ADDR_GET }, { "host", Q_HOST_GET },
		{ "txt", Q_TXT_GET }, { "pending", Q_PENDING }, { "due", Q_DUE_HOSTS },
		{ "claim", Q_LEASE_CLAIM }, { "pending_count", Q_PENDING_COUNT },
		{ "failed_count", Q_FAILED_COUNT }, { "lockout", Q_LOCKOUT_FAIL },
	};
	if (db->st->ops->explain == NULL)
		return DW_EUNSUPP;
	for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++) {
		if (strcmp(hot[i].name, which) == 0)
			return db->st->ops->explain(db, hot[i].q, out, cap);
	}
	return DW_EINVAL;
}

/* ---- hosts ------------------------------------------------------------------- */

int gw_db_host_add(struct gw_db *db, struct gw_host *h)
{
	if (h->created == 0)
		h->created = now_s();
	struct gw_val a[] = { vt(h->fqdn), vt(h->provider), vi(h->acme ? 1 : 0), vt(h->allow),
	                      vi(h->expires), vt(h->iid), vi(h->created) };
	int64_t id = 0;
	int ret = q_int(db, Q_HOST_ADD, a, 7, &id);
	if (ret == DW_ENOTFOUND)
		ret = DW_EIO;
	if (ret != DW_OK)
		return ret;
	h->id = id;
	struct gw_val l[] = { vi(id) };
	return q_exec(db, Q_LEASE_INIT, l, 1);
}

int gw_db_host_get(struct gw_db *db, const char *fqdn, struct gw_host *out)
{
	struct gw_val a[] = { vt(fqdn) };
	return q_one(db, Q_HOST_GET, a, 1, fill_host, out);
}

int gw_db_host_by_id(struct gw_db *db, int64_t id, struct gw_host *out)
{
	struct gw_val a[] = { vi(id) };
	return q_one(db, Q_HOST_BY_ID, a, 1, fill_host, out);
}

int gw_db_host_remove(struct gw_db *db, int64_t id)
{
	int ret = lock_host(db, id);
	struct gw_val a[] = { vi(id) };
	return ret != DW_OK ? ret : q_exec(db, Q_HOST_REMOVE, a, 1);
}

static int fill_fqdn(void *out, const struct gw_val *c, size_t n)
{
	if (n < 1)
		return DW_EIO;
	ct(&c[0], out, GW_FQDN_MAX);
	return DW_OK;
}

int gw_db_host_below(struct gw_db *db, const char *fqdn, char found[GW_FQDN_MAX])
{
	/* "%." + fqdn with LIKE's own characters escaped. */
	char pat[2 * GW_FQDN_MAX + 4] = "%.";
	size_t o = 2;
	for (const char *p = fqdn; *p != '\0' && o + 3 < sizeof(pat); p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			pat[o++] = '\\';
		pat[o++] = *p;
	}
	pat[o] = '\0';
	found[0] = '\0';
	struct gw_val a[] = { vt(pat) };
	return q_one(db, Q_HOST_BELOW, a, 1, fill_fqdn, found);
}

struct page {
	struct gw_host *v;
	size_t n;
};

static int page_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct page *p = arg;
	if (n < HOST_NCOLS || p->n >= HOST_PAGE)
		return DW_EIO;
	read_host(c, &p->v[p->n++]);
	return DW_OK;
}

int gw_db_host_list(struct gw_db *db, int (*cb)(void *arg, const struct gw_host *h), void *arg)
{
	/* A page at a time, copied out: the callback may run other
	 * statements, and a million hosts must not sit in memory. */
	struct page p = { calloc(HOST_PAGE, sizeof(struct gw_host)), 0 };
	if (p.v == NULL)
		return DW_ENOMEM;
	char after[GW_FQDN_MAX] = "";
	int ret = DW_OK;
	for (;;) {
		p.n = 0;
		struct gw_val a[] = { vt(after), vi(HOST_PAGE) };
		ret = q_run(db, Q_HOST_PAGE, a, 2, page_cb, &p, NULL);
		for (size_t i = 0; ret == DW_OK && i < p.n; i++)
			ret = cb(arg, &p.v[i]);
		if (ret != DW_OK || p.n < HOST_PAGE)
			break;
		snprintf(after, sizeof(after), "%s", p.v[p.n - 1].fqdn);
	}
	free(p.v);
	return ret;
}

/* ---- tokens and authentication --------------------------------------------------- */

int gw_db_token_add(struct gw_db *db, int64_t host_id, const struct gw_token *t,
                    const char *scope)
{
	struct gw_val a[] = { vt(t->id), vi(host_id), vb(t->hash, GW_TOKEN_HASH_LEN), vt(scope),
	                      vi(now_s()) };
	return q_exec(db, Q_TOKEN_ADD, a, 5);
}

int gw_db_token_revoke_all(struct gw_db *db, int64_t host_id)
{
	struct gw_val a[] = { vi(host_id) };
	return q_exec(db, Q_TOKEN_REVOKE, a, 1);
}

/* A stored hash, checked for its length (a wrong one means corruption). */
static int take_hash(struct gw_store *st, const struct gw_val *c, uint8_t hash[GW_TOKEN_HASH_LEN])
{
	if (c->t == GW_V_BLOB && c->n == GW_TOKEN_HASH_LEN) {
		memcpy(hash, c->s, GW_TOKEN_HASH_LEN);
		return DW_OK;
	}
	gw_store_fault(st, GW_FAULT_CORRUPT, "a token hash of the wrong length", true);
	return DW_EIO;
}

struct lookup_out {
	struct gw_store *st;
	int64_t *host_id;
	uint8_t *hash;
};

static int fill_lookup(void *out, const struct gw_val *c, size_t n)
{
	struct lookup_out *lo = out;
	if (n < 2)
		return DW_EIO;
	*lo->host_id = ci(&c[0]);
	return take_hash(lo->st, &c[1], lo->hash);
}

int gw_db_token_lookup(struct gw_db *db, const char *id, int64_t *host_id,
                       uint8_t hash[GW_TOKEN_HASH_LEN])
{
	struct gw_val a[] = { vt(id) };
	struct lookup_out lo = { db->st, host_id, hash };
	return q_one(db, Q_TOKEN_LOOKUP, a, 1, fill_lookup, &lo);
}

static int fill_token_id(void *out, const struct gw_val *c, size_t n)
{
	if (n < 1)
		return DW_EIO;
	ct(&c[0], out, GW_TOKEN_ID_LEN + 1);
	return DW_OK;
}

int gw_db_token_of_host(struct gw_db *db, int64_t host_id, char id[GW_TOKEN_ID_LEN + 1])
{
	id[0] = '\0';
	struct gw_val a[] = { vi(host_id) };
	int ret = q_one(db, Q_TOKEN_OF_HOST, a, 1, fill_token_id, id);
	return ret == DW_ENOTFOUND ? DW_OK : ret;
}

struct auth_out {
	struct gw_store *st;
	struct gw_auth *a;
};

static int fill_auth(void *out, const struct gw_val *c, size_t n)
{
	struct auth_out *ao = out;
	struct gw_auth *a = ao->a;
	if (n < 3 + HOST_NCOLS)
		return DW_EIO;
	if (c[0].t != GW_V_NULL) {
		a->token_found = true;
		a->host_id = ci(&c[0]);
		if (take_hash(ao->st, &c[1], a->hash) != DW_OK)
			return DW_EIO;
	}
	if (c[2].t != GW_V_NULL) {
		a->host_found = true;
		read_host(&c[2], &a->host);
	}
	a->locked_until = ci(&c[2 + HOST_NCOLS]);
	return DW_OK;
}

int gw_db_auth(struct gw_db *db, const char *token_id, const uint8_t key[16],
               struct gw_auth *out)
{
	memset(out, 0, sizeof(*out));
	char hk[33];
	hex16(key, hk);
	struct gw_val a[] = { vt(token_id), vt(hk) };
	struct auth_out ao = { db->st, out };
	int ret = q_one(db, Q_AUTH, a, 2, fill_auth, &ao);
	return ret == DW_ENOTFOUND ? DW_EIO : ret;   /* always one row */
}

int gw_db_lockout_fail(struct gw_db *db, const uint8_t key[16], int64_t now, int64_t window_s,
                       unsigned max, int64_t *locked_until)
{
	*locked_until = 0;
	char hk[33];
	hex16(key, hk);
	/* One atomic statement counts the failure: every instance's failures
	 * land on the same row, so spreading them changes nothing. */
	struct gw_val a[] = { vt(hk), vi(now), vi(window_s) };
	int64_t failures = 0;
	int ret = q_int(db, Q_LOCKOUT_FAIL, a, 3, &failures);
	if (ret == DW_ENOTFOUND)
		ret = DW_EIO;
	if (ret != DW_OK || failures < (int64_t)max)
		return ret;
	struct gw_val l[] = { vt(hk), vi(now + window_s) };
	if ((ret = q_exec(db, Q_LOCKOUT_LOCK, l, 2)) == DW_OK)
		*locked_until = now + window_s;
	return ret;
}

/* ---- instances and leases ---------------------------------------------------------- */

int gw_db_instance_beat(struct gw_db *db, const char *id, const char *name, int64_t now,
                        int64_t live_after, int64_t *live)
{
	*live = 0;
	struct gw_val a[] = { vt(id), vt(name), vi(now) };
	int ret = q_exec(db, Q_INSTANCE_BEAT, a, 3);
	struct gw_val c[] = { vi(live_after) };
	if (ret == DW_OK)
		ret = q_int(db, Q_INSTANCE_COUNT, c, 1, live);
	return ret;
}

int gw_db_instance_leave(struct gw_db *db, const char *id)
{
	struct gw_val a[] = { vt(id) };
	return q_exec(db, Q_INSTANCE_LEAVE, a, 1);
}

struct stale_ctx {
	struct { char id[64], name[160]; } v[64];
	size_t n;
};

static int stale_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct stale_ctx *s = arg;
	if (n < 2 || s->n == sizeof(s->v) / sizeof(s->v[0]))
		return DW_OK;
	ct(&c[0], s->v[s->n].id, sizeof(s->v[s->n].id));
	ct(&c[1], s->v[s->n].name, sizeof(s->v[s->n].name));
	s->n++;
	return DW_OK;
}

int gw_db_instance_reap(struct gw_db *db, int64_t seen_before,
                        bool (*gone)(const char *name), int64_t *reaped)
{
	*reaped = 0;
	struct stale_ctx *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return DW_ENOMEM;
	struct gw_val a[] = { vi(seen_before) };
	int ret = q_run(db, Q_INSTANCE_STALE, a, 1, stale_cb, s, NULL);
	for (size_t i = 0; i < s->n && ret == DW_OK; i++) {
		if (!gone(s->v[i].name))
			continue;
		struct gw_val o[] = { vt(s->v[i].id) };
		if ((ret = q_exec(db, Q_LEASE_DROP_OWNER, o, 1)) == DW_OK &&
		    (ret = q_exec(db, Q_INSTANCE_LEAVE, o, 1)) == DW_OK)
			(*reaped)++;
	}
	free(s);
	return ret;
}

struct lease_row {
	char owner[64];
	int64_t expires;
};

static int fill_lease(void *out, const struct gw_val *c, size_t n)
{
	struct lease_row *l = out;
	if (n < 2)
		return DW_EIO;
	ct(&c[0], l->owner, sizeof(l->owner));
	l->expires = ci(&c[1]);
	return DW_OK;
}

int gw_db_lease_claim(struct gw_db *db, int64_t host_id, const char *owner, int64_t expires,
                      int64_t now, bool *taken, int64_t *held_until)
{
	*taken = false;
	*held_until = 0;
	struct gw_val a[] = { vi(host_id), vt(owner), vi(expires), vi(now) };
	struct gw_val h[] = { vi(host_id) };
	for (int attempt = 0; attempt < 2; attempt++) {
		int64_t got = 0;
		int ret = q_int(db, Q_LEASE_CLAIM, a, 4, &got);
		if (ret == DW_OK) {
			*taken = true;
			return DW_OK;
		}
		if (ret != DW_ENOTFOUND)
			return ret;
		struct lease_row l;
		ret = q_one(db, Q_LEASE_GET, h, 1, fill_lease, &l);
		if (ret == DW_OK) {
			/* Held by another (or its row locked by a claim in
			 * progress: then it ends soon). */
			*held_until = l.expires > now ? l.expires : now + 1;
			return DW_OK;
		}
		if (ret != DW_ENOTFOUND)
			return ret;
		/* A host without its lease row (added by hand): make it. */
		if ((ret = q_exec(db, Q_LEASE_INIT, h, 1)) != DW_OK)
			return ret;
	}
	return DW_OK;
}

int gw_db_lease_renew(struct gw_db *db, int64_t host_id, const char *owner, int64_t expires,
                      bool *ok)
{
	struct gw_val a[] = { vi(host_id), vt(owner), vi(expires) };
	int64_t ch = 0;
	int ret = q_run(db, Q_LEASE_RENEW, a, 3, NULL, NULL, &ch);
	*ok = ret == DW_OK && ch == 1;
	return ret;
}

int gw_db_lease_release(struct gw_db *db, int64_t host_id, const char *owner)
{
	struct gw_val a[] = { vi(host_id), vt(owner) };
	return q_exec(db, Q_LEASE_RELEASE, a, 2);
}

/* ---- desired records ------------------------------------------------------------- */

int gw_db_addr_get(struct gw_db *db, int64_t host_id, enum gw_rtype rt, struct gw_rec *out)
{
	int ret = lock_host(db, host_id);
	if (ret != DW_OK)
		return ret;
	struct gw_val a[] = { vi(host_id), vt(gw_rtype_str(rt)) };
	struct rec_out ro = { out, NULL };
	return q_one(db, Q_ADDR_GET, a, 2, fill_rec, &ro);
}

static int by_id(struct gw_db *db, enum gw_q q, int64_t row, int64_t arg2, bool has2)
{
	struct gw_val a[] = { vi(row), vi(arg2) };
	return q_exec(db, q, a, has2 ? 2 : 1);
}

/* The same value asked for again: what its row says. */
static int same_value(struct gw_db *db, const struct gw_rec *cur, enum gw_want *out)
{
	if (cur->applied) {
		*out = GW_WANT_SAME;
		return DW_OK;
	}
	if (!cur->failed) {
		*out = GW_WANT_PENDING;
		return DW_OK;
	}
	int64_t now = now_s();
	if (cur->next_retry > now) {
		*out = GW_WANT_REFUSED;
		return DW_OK;
	}
	/* A failed row asked for again: once more, its attempts (and so its
	 * cool-down after another refusal) kept. */
	*out = GW_WANT_CHANGED;
	return by_id(db, Q_REARM, cur->id, now, true);
}

int gw_db_addr_set(struct gw_db *db, int64_t host_id, enum gw_rtype rt, const char *value,
                   enum gw_want *out)
{
	struct gw_rec cur;
	*out = GW_WANT_SAME;
	int ret = gw_db_addr_get(db, host_id, rt, &cur);
	if (ret == DW_OK && strcmp(cur.value, value) == 0)
		return same_value(db, &cur, out);
	if (ret != DW_OK && ret != DW_ENOTFOUND)
		return ret;
	struct gw_val a[] = { vi(host_id), vt(gw_rtype_str(rt)), vt(value), vi(now_s()) };
	ret = q_exec(db, Q_ADDR_SET, a, 4);
	if (ret == DW_OK)
		*out = GW_WANT_CHANGED;
	return ret;
}

static int txt_get(struct gw_db *db, int64_t host_id, const char *value, struct gw_rec *out,
                   bool *uncertain)
{
	int ret = lock_host(db, host_id);
	if (ret != DW_OK)
		return ret;
	struct gw_val a[] = { vi(host_id), vt(value) };
	struct rec_out ro = { out, uncertain };
	return q_one(db, Q_TXT_GET, a, 2, fill_rec, &ro);
}

int gw_db_txt_get(struct gw_db *db, int64_t host_id, const char *value, struct gw_rec *out)
{
	return txt_get(db, host_id, value, out, NULL);
}

struct trim {
	int64_t ids[TRIM_MAX];
	bool published[TRIM_MAX];
	size_t n;
};

static int trim_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct trim *t = arg;
	if (n < 3)
		return DW_EIO;
	if (t->n < TRIM_MAX) {
		t->ids[t->n] = ci(&c[0]);
		t->published[t->n] = ci(&c[1]) != 0 || ci(&c[2]) != 0;
		t->n++;
	}
	return DW_OK;
}

/* Removes present values of host_id beyond the newest keep: a value never
 * published is deleted, the others are marked for removal upstream. */
static int txt_trim(struct gw_db *db, int64_t host_id, unsigned keep, int64_t now)
{
	struct trim t = { .n = 0 };
	struct gw_val a[] = { vi(host_id), vi(keep) };
	int ret = q_run(db, Q_TXT_TRIM_LIST, a, 2, trim_cb, &t, NULL);
	for (size_t i = 0; ret == DW_OK && i < t.n; i++) {
		if (!t.published[i]) {
			ret = by_id(db, Q_TXT_DELETE, t.ids[i], 0, false);
			continue;
		}
		struct gw_val u[] = { vi(0), vi(now), vi(t.ids[i]) };
		ret = q_exec(db, Q_TXT_UPDATE, u, 3);
	}
	return ret;
}

int gw_db_txt_set(struct gw_db *db, int64_t host_id, const char *value, bool present,
                  unsigned keep_max, enum gw_want *out)
{
	*out = GW_WANT_SAME;
	struct gw_rec cur;
	bool uncertain = false;
	int ret = txt_get(db, host_id, value, &cur, &uncertain);
	if (ret != DW_OK && ret != DW_ENOTFOUND)
		return ret;
	bool found = ret == DW_OK;
	int64_t now = now_s();
	if (!present) {
		if (!found)
			return DW_OK;   /* never added: nothing to remove */
		if (!cur.present)
			return same_value(db, &cur, out);
		if (!cur.applied && !uncertain) {
			/* Never reached the provider (not sent yet, or refused):
			 * nothing to remove upstream. */
			*out = GW_WANT_DROPPED;
			return by_id(db, Q_TXT_DELETE, cur.id, 0, false);
		}
	} else if (found && cur.present) {
		return same_value(db, &cur, out);
	}
	if (!found) {
		struct gw_val a[] = { vi(host_id), vt(value), vi(now) };
		ret = q_exec(db, Q_TXT_INSERT, a, 3);
	} else {
		struct gw_val a[] = { vi(present ? 1 : 0), vi(now), vi(cur.id) };
		ret = q_exec(db, Q_TXT_UPDATE, a, 3);
	}
	if (ret != DW_OK)
		return ret;
	*out = GW_WANT_CHANGED;
	if (!present)
		return DW_OK;
	/* A new value: the TXT set's backoff ends, and the set is trimmed. */
	if ((ret = by_id(db, Q_TXT_CLEAR_BACKOFF, host_id, 0, false)) != DW_OK)
		return ret;
	return keep_max > 0 ? txt_trim(db, host_id, keep_max, now) : DW_OK;
}

struct recs {
	struct gw_rec *out;
	size_t cap, *n;
};

static int recs_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct recs *r = arg;
	if (n < REC_NCOLS)
		return DW_EIO;
	if (*r->n < r->cap)
		read_rec(c, &r->out[(*r->n)++], NULL);
	return DW_OK;
}

int gw_db_pending(struct gw_db *db, int64_t host_id, int64_t now, struct gw_rec *out,
                  size_t cap, size_t *n)
{
	*n = 0;
	struct recs r = { out, cap, n };
	struct gw_val a[] = { vi(host_id), vi(now), vi((int64_t)cap) };
	return q_run(db, Q_PENDING, a, 3, recs_cb, &r, NULL);
}

int gw_db_records(struct gw_db *db, int64_t host_id, struct gw_rec *out, size_t cap, size_t *n)
{
	*n = 0;
	struct recs r = { out, cap, n };
	struct gw_val a[] = { vi(host_id) };
	return q_run(db, Q_RECORDS, a, 1, recs_cb, &r, NULL);
}

struct next_due {
	bool *any;
	int64_t *next;
};

static int fill_next_due(void *out, const struct gw_val *c, size_t n)
{
	struct next_due *nd = out;
	if (n < 2)
		return DW_EIO;
	*nd->any = ci(&c[0]) > 0;
	*nd->next = ci(&c[1]);
	return DW_OK;
}

int gw_db_next_due(struct gw_db *db, int64_t host_id, bool *any, int64_t *next)
{
	*any = false;
	*next = 0;
	struct gw_val a[] = { vi(host_id) };
	struct next_due nd = { any, next };
	int ret = q_one(db, Q_NEXT_DUE, a, 1, fill_next_due, &nd);
	return ret == DW_ENOTFOUND ? DW_OK : ret;
}

struct due {
	int (*cb)(void *arg, int64_t host_id, int64_t next, int64_t lease);
	void *arg;
};

static int due_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct due *d = arg;
	if (n < 3)
		return DW_EIO;
	return d->cb(d->arg, ci(&c[0]), ci(&c[1]), ci(&c[2]));
}

int gw_db_due_hosts(struct gw_db *db, int64_t horizon, unsigned limit,
                    int (*cb)(void *arg, int64_t host_id, int64_t next, int64_t lease),
                    void *arg)
{
	struct due d = { cb, arg };
	struct gw_val a[] = { vi(horizon), vi(limit) };
	return q_run(db, Q_DUE_HOSTS, a, 2, due_cb, &d, NULL);
}

int gw_db_pending_count(struct gw_db *db, int64_t *n)
{
	return q_int(db, Q_PENDING_COUNT, NULL, 0, n);
}

int gw_db_failed_count(struct gw_db *db, int64_t *n)
{
	return q_int(db, Q_FAILED_COUNT, NULL, 0, n);
}

int gw_db_mark(struct gw_db *db, const struct gw_rec *r, enum gw_mark m, int64_t next_retry,
               const char *error)
{
	/* The host first, as every writer of its rows does: one lock order. */
	int ret = lock_host(db, r->host_id);
	if (ret != DW_OK)
		return ret;
	if (m == GW_MARK_OK) {
		struct gw_val a[] = { vi(r->id), vi(r->seq) };
		return q_exec(db, r->rtype == GW_RT_TXT && !r->present ? Q_MARK_DEL : Q_MARK_OK, a, 2);
	}
	struct gw_val a[] = { vi(next_retry), vt(error != NULL ? error : ""), vi(r->id),
	                      vi(r->seq) };
	return q_exec(db, m == GW_MARK_FAILED ? Q_MARK_FAILED : Q_MARK_RETRY, a, 4);
}

/* ---- audit ------------------------------------------------------------------------ */

int gw_db_audit(struct gw_db *db, const struct gw_audit *a)
{
	struct gw_val v[] = { vi(a->time != 0 ? a->time : now_s()), vt(a->host), vt(a->token_id),
	                      vt(a->action), vt(a->old_value), vt(a->new_value), vt(a->source),
	                      vt(a->result), vi(a->count > 0 ? a->count : 1) };
	return q_exec(db, Q_AUDIT, v, 9);
}

struct audit_ctx {
	int (*cb)(void *arg, const struct gw_audit *a);
	void *arg;
};

static int audit_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct audit_ctx *ac = arg;
	if (n < 9)
		return DW_EIO;
	struct gw_audit a = {
		.time = ci(&c[0]), .host = c[1].t == GW_V_TEXT ? c[1].s : "", .token_id = cs(&c[2]),
		.action = c[3].t == GW_V_TEXT ? c[3].s : "", .old_value = cs(&c[4]),
		.new_value = cs(&c[5]), .source = cs(&c[6]),
		.result = c[7].t == GW_V_TEXT ? c[7].s : "", .count = ci(&c[8]),
	};
	return ac->cb(ac->arg, &a);
}

int gw_db_audit_list(struct gw_db *db, const char *host, unsigned limit,
                     int (*cb)(void *arg, const struct gw_audit *a), void *arg)
{
	struct audit_ctx ac = { cb, arg };
	if (host != NULL) {
		struct gw_val a[] = { vt(host), vi(limit) };
		return q_run(db, Q_AUDIT_HOST, a, 2, audit_cb, &ac, NULL);
	}
	struct gw_val a[] = { vi(limit) };
	return q_run(db, Q_AUDIT_ALL, a, 1, audit_cb, &ac, NULL);
}

int gw_db_audit_count(struct gw_db *db, int64_t *n)
{
	return q_int(db, Q_AUDIT_COUNT, NULL, 0, n);
}

/* ---- retention ---------------------------------------------------------------------- */

/* One statement in its own transaction; *n gets the rows deleted. */
static int prune_batch(struct gw_db *db, enum gw_q q, const struct gw_val *a, size_t na,
                       int64_t *n)
{
	*n = 0;
	int ret = gw_db_begin(db);
	if (ret == DW_OK)
		ret = q_run(db, q, a, na, NULL, NULL, n);
	if (ret == DW_OK)
		ret = gw_db_commit(db);
	gw_db_rollback(db);
	return ret;
}

int gw_store_prune(struct gw_store *st, int64_t max_age_s, int64_t max_rows, int64_t *deleted)
{
	int64_t total = 0, n, now = now_s();
	struct gw_db *db = gw_store_get(st);
	int ret = db != NULL ? DW_OK : DW_EIO;
	if (ret == DW_OK && max_age_s > 0) {
		struct gw_val a[] = { vi(now - max_age_s), vi(PRUNE_BATCH) };
		do {
			ret = prune_batch(db, Q_PRUNE_AGE, a, 2, &n);
			total += n;
		} while (ret == DW_OK && n == PRUNE_BATCH);
	}
	if (ret == DW_OK && max_rows > 0) {
		int64_t count = 0;
		ret = gw_db_audit_count(db, &count);
		while (ret == DW_OK && count > max_rows) {
			int64_t over = count - max_rows;
			struct gw_val a[] = { vi(over < PRUNE_BATCH ? over : PRUNE_BATCH) };
			ret = prune_batch(db, Q_PRUNE_ROWS, a, 1, &n);
			total += n;
			count -= n;
			if (n == 0)
				break;
		}
	}
	/* Lockouts that ended (their counting window too), instances gone. */
	if (ret == DW_OK) {
		struct gw_val a[] = { vi(now), vi(now - INSTANCE_KEEP_S) };
		ret = prune_batch(db, Q_LOCKOUT_PRUNE, a, 2, &n);
	}
	if (ret == DW_OK) {
		struct gw_val a[] = { vi(now - INSTANCE_KEEP_S) };
		ret = prune_batch(db, Q_INSTANCE_PRUNE, a, 1, &n);
	}
	gw_store_put(st, db);
	if (deleted != NULL)
		*deleted = total;
	return ret;
}

/* ---- the copy of `migrate` ------------------------------------------------------------ */

struct copy {
	struct gw_db *to;
	enum gw_q load;
	size_t ncols;
	int64_t last_id;       /* integer keys */
	char last_text[64];    /* text keys (tokens) */
	bool text_key;
	int64_t rows, page_rows;
};

static int copy_cb(void *arg, const struct gw_val *c, size_t n)
{
	struct copy *cp = arg;
	if (n < cp->ncols)
		return DW_EIO;
	int ret = cp->to->st->ops->exec(cp->to, cp->load, c, cp->ncols, NULL, NULL, NULL);
	if (ret != DW_OK)
		return ret;
	if (cp->text_key)
		ct(&c[0], cp->last_text, sizeof(cp->last_text));
	else
		cp->last_id = ci(&c[0]);
	cp->rows++;
	cp->page_rows++;
	return DW_OK;
}

static int copy_table(struct gw_db *from, struct gw_db *to, enum gw_q dump, enum gw_q load,
                      size_t ncols, bool text_key, int64_t *rows)
{
	struct copy cp = { .to = to, .load = load, .ncols = ncols, .text_key = text_key };
	int ret;
	do {
		cp.page_rows = 0;
		struct gw_val a[] = { text_key ? vt(cp.last_text) : vi(cp.last_id), vi(COPY_PAGE) };
		ret = q_run(from, dump, a, 2, copy_cb, &cp, NULL);
	} while (ret == DW_OK && cp.page_rows == COPY_PAGE);
	*rows = cp.rows;
	return ret;
}

static int fill_counts(void *out, const struct gw_val *c, size_t n)
{
	int64_t *v = out;
	if (n < 4)
		return DW_EIO;
	for (int i = 0; i < 4; i++)
		v[i] = ci(&c[i]);
	return DW_OK;
}

int gw_store_copy(struct gw_store *from, struct gw_store *to, int64_t counts[4],
                  struct dw_diag *diag)
{
	memset(counts, 0, 4 * sizeof(counts[0]));
	struct gw_db *src = gw_store_get(from), *dst = gw_store_get(to);
	int64_t have[4] = { 0, 0, 0, 0 }, after[4];
	int ret = src != NULL && dst != NULL ? DW_OK : DW_EIO;
	if (ret != DW_OK) {
		dw_diag_set(diag, DW_EIO, "cannot connect to %s",
		            src == NULL ? from->desc : to->desc);
		goto out;
	}
	if ((ret = gw_db_begin(dst)) != DW_OK ||
	    (ret = q_one(dst, Q_COUNTS, NULL, 0, fill_counts, have)) != DW_OK) {
		dw_diag_set(diag, DW_EIO, "%s: %s", to->desc, gw_db_errmsg(dst));
		goto out;
	}
	if (have[0] != 0 || have[3] != 0) {
		ret = dw_diag_set(diag, DW_EINVAL, "%s already holds %lld host(s) and %lld audit "
		                  "row(s): migrate copies into an empty database only", to->desc,
		                  (long long)have[0], (long long)have[3]);
		goto out;
	}
	static const struct { enum gw_q dump, load; size_t ncols; bool text_key; } tables[4] = {
		{ Q_DUMP_HOSTS, Q_LOAD_HOST, 8, false },
		{ Q_DUMP_TOKENS, Q_LOAD_TOKEN, 5, true },
		{ Q_DUMP_RECORDS, Q_LOAD_RECORD, REC_NCOLS, false },
		{ Q_DUMP_AUDIT, Q_LOAD_AUDIT, 10, false },
	};
	for (int i = 0; i < 4 && ret == DW_OK; i++) {
		ret = copy_table(src, dst, tables[i].dump, tables[i].load, tables[i].ncols,
		                 tables[i].text_key, &counts[i]);
		if (ret == DW_OK && i == 0)   /* each host gets its (free) lease row */
			ret = q_exec(dst, Q_LEASE_INIT_ALL, NULL, 0);
	}
	if (ret == DW_OK)
		ret = q_exec(dst, Q_LOAD_FINISH, NULL, 0);
	if (ret == DW_OK)
		ret = q_one(dst, Q_COUNTS, NULL, 0, fill_counts, after);
	if (ret != DW_OK) {
		dw_diag_set(diag, DW_EIO, "copy failed: %s / %s", gw_db_errmsg(src), gw_db_errmsg(dst));
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		if (after[i] != counts[i]) {
			ret = dw_diag_set(diag, DW_EIO, "copy incomplete: %lld of %lld rows of table %d "
			                  "arrived", (long long)after[i], (long long)counts[i], i);
			goto out;
		}
	}
	if ((ret = gw_db_commit(dst)) != DW_OK)
		dw_diag_set(diag, DW_EIO, "%s: commit failed: %s", to->desc, gw_db_errmsg(dst));
out:
	if (dst != NULL)
		gw_db_rollback(dst);
	gw_store_put(from, src);
	gw_store_put(to, dst);
	return ret;
}
