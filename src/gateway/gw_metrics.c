/* Prometheus counters (see gw_metrics.h). */
#include "gateway/gw_metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/provider.h"

static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
#define NOUTCOMES DW_OUT_COUNT

struct gw_metrics {
	atomic_ullong req[GW_API_COUNT][GW_R_COUNT];
	atomic_ullong bucket[NBUCKETS + 1];       /* cumulative at render time */
	atomic_ullong sum_us, count;
	atomic_ullong fail[NOUTCOMES];
	atomic_ullong refused, audit_skipped;
	const char *_Atomic backend;
	atomic_uint instances;
};

static const char *const api_names[GW_API_COUNT] = {
	"dyndns2", "acmedns", "httpreq", "register", "health", "myip", "metrics", "other",
};
static const char *const result_names[GW_R_COUNT] = {
	"good", "nochg", "badauth", "nohost", "!yours", "notfqdn", "numhost", "badrequest",
	"upstream_failed", "ratelimited", "locked", "ok", "forbidden", "notfound", "toobig", "error",
	"refused", "store_failed",
};

const char *gw_api_name(enum gw_api a)
{
	return (unsigned)a < GW_API_COUNT ? api_names[a] : "?";
}

const char *gw_result_name(enum gw_result r)
{
	return (unsigned)r < GW_R_COUNT ? result_names[r] : "?";
}

struct gw_metrics *gw_metrics_new(void)
{
	struct gw_metrics *m = calloc(1, sizeof(struct gw_metrics));
	if (m != NULL) {
		atomic_init(&m->backend, "sqlite");
		atomic_init(&m->instances, 1);
	}
	return m;
}

void gw_metrics_set_backend(struct gw_metrics *m, const char *backend)
{
	atomic_store(&m->backend, backend);
}

void gw_metrics_set_instances(struct gw_metrics *m, unsigned n)
{
	atomic_store(&m->instances, n);
}

void gw_metrics_free(struct gw_metrics *m)
{
	free(m);
}

void gw_metrics_request(struct gw_metrics *m, enum gw_api api, enum gw_result res)
{
	if ((unsigned)api < GW_API_COUNT && (unsigned)res < GW_R_COUNT)
		atomic_fetch_add_explicit(&m->req[api][res], 1, memory_order_relaxed);
}

void gw_metrics_upstream(struct gw_metrics *m, double seconds, int outcome_index, int ok)
{
	size_t b = 0;
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	atomic_fetch_add_explicit(&m->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_us, (unsigned long long)(seconds * 1e6),
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
	if (!ok && outcome_index >= 0 && outcome_index < NOUTCOMES)
		atomic_fetch_add_explicit(&m->fail[outcome_index], 1, memory_order_relaxed);
}

void gw_metrics_refused(struct gw_metrics *m)
{
	atomic_fetch_add_explicit(&m->refused, 1, memory_order_relaxed);
}

void gw_metrics_audit_skipped(struct gw_metrics *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->audit_skipped, n, memory_order_relaxed);
}

struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	if (b->err)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = b->cap * 2 + (size_t)n;
		if (nc > 4 * 1024 * 1024) {
			b->err = 1;
			return;
		}
		char *np = realloc(b->p, nc);
		if (np == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

int gw_metrics_render(struct gw_metrics *m, const struct gw_metrics_store *st, char **out,
                      size_t *len)
{
	struct buf b = { .p = malloc(8192), .cap = 8192 };
	if (b.p == NULL)
		return DW_ENOMEM;
	b.p[0] = '\0';
	put(&b, "# HELP dnsward_gateway_requests_total Requests by API and result.\n"
	        "# TYPE dnsward_gateway_requests_total counter\n");
	for (int a = 0; a < GW_API_COUNT; a++) {
		for (int r = 0; r < GW_R_COUNT; r++) {
			unsigned long long v = atomic_load_explicit(&m->req[a][r], memory_order_relaxed);
			if (v != 0)
				put(&b, "dnsward_gateway_requests_total{api=\"%s\",result=\"%s\"} %llu\n",
				    api_names[a], result_names[r], v);
		}
	}
	put(&b, "# HELP dnsward_gateway_upstream_seconds Time of each provider call.\n"
	        "# TYPE dnsward_gateway_upstream_seconds histogram\n");
	unsigned long long cum = 0;
	for (size_t i = 0; i <= NBUCKETS; i++) {
		cum += atomic_load_explicit(&m->bucket[i], memory_order_relaxed);
		if (i < NBUCKETS)
			put(&b, "dnsward_gateway_upstream_seconds_bucket{le=\"%g\"} %llu\n", buckets[i], cum);
		else
			put(&b, "dnsward_gateway_upstream_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	}
	put(&b, "dnsward_gateway_upstream_seconds_sum %.6f\n",
	    (double)atomic_load_explicit(&m->sum_us, memory_order_relaxed) / 1e6);
	put(&b, "dnsward_gateway_upstream_seconds_count %llu\n",
	    atomic_load_explicit(&m->count, memory_order_relaxed));
	put(&b, "# HELP dnsward_gateway_upstream_failures_total Provider calls that did not succeed.\n"
	        "# TYPE dnsward_gateway_upstream_failures_total counter\n");
	for (int o = 0; o < NOUTCOMES; o++) {
		if (dw_outcome_ok((enum dw_outcome)o))
			continue;
		put(&b, "dnsward_gateway_upstream_failures_total{outcome=\"%s\"} %llu\n",
		    dw_outcome_str((enum dw_outcome)o),
		    atomic_load_explicit(&m->fail[o], memory_order_relaxed));
	}
	put(&b, "# HELP dnsward_gateway_records_refused_total Desired records the provider refused "
	        "for good (ended as failed, not retried).\n"
	        "# TYPE dnsward_gateway_records_refused_total counter\n"
	        "dnsward_gateway_records_refused_total %llu\n",
	    atomic_load_explicit(&m->refused, memory_order_relaxed));
	put(&b, "# HELP dnsward_gateway_audit_refusals_skipped_total Refusals over a host's audit "
	        "budget, counted in its next audit row.\n"
	        "# TYPE dnsward_gateway_audit_refusals_skipped_total counter\n"
	        "dnsward_gateway_audit_refusals_skipped_total %llu\n",
	    atomic_load_explicit(&m->audit_skipped, memory_order_relaxed));
	put(&b, "# HELP dnsward_gateway_store_errors_total Database failures by kind.\n"
	        "# TYPE dnsward_gateway_store_errors_total counter\n");
	for (int k = 1; k < GW_FAULT_COUNT; k++)
		put(&b, "dnsward_gateway_store_errors_total{kind=\"%s\"} %llu\n",
		    gw_fault_name((enum gw_fault)k), (unsigned long long)st->stats.errors[k]);
	put(&b, "# HELP dnsward_gateway_store_info The database backend serving.\n"
	        "# TYPE dnsward_gateway_store_info gauge\n"
	        "dnsward_gateway_store_info{backend=\"%s\"} 1\n", atomic_load(&m->backend));
	put(&b, "# HELP dnsward_gateway_instances Gateway instances serving from the database, "
	        "as last seen.\n"
	        "# TYPE dnsward_gateway_instances gauge\n"
	        "dnsward_gateway_instances %u\n", atomic_load(&m->instances));
	put(&b, "# HELP dnsward_gateway_store_writable Whether the database takes writes (as GET "
	        "/health says).\n"
	        "# TYPE dnsward_gateway_store_writable gauge\n"
	        "dnsward_gateway_store_writable %d\n", st->writable ? 1 : 0);
	put(&b, "# HELP dnsward_gateway_retry_queue_depth Desired records not yet applied upstream, "
	        "still retried.\n"
	        "# TYPE dnsward_gateway_retry_queue_depth gauge\n"
	        "dnsward_gateway_retry_queue_depth %lld\n", (long long)st->queue_depth);
	put(&b, "# HELP dnsward_gateway_records_failed Desired records refused for good, not "
	        "retried.\n"
	        "# TYPE dnsward_gateway_records_failed gauge\n"
	        "dnsward_gateway_records_failed %lld\n", (long long)st->failed_records);
	if (b.err) {
		free(b.p);
		return DW_ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return DW_OK;
}
