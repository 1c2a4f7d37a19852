/* Counters for GET /metrics (Prometheus text format 0.0.4).  Lock-free
 * (relaxed atomics); the rendering is a consistent-enough snapshot.
 *
 *   dnsward_gateway_requests_total{api,result}
 *   dnsward_gateway_upstream_seconds (histogram, one observation per provider call)
 *   dnsward_gateway_upstream_failures_total{outcome}
 *   dnsward_gateway_records_refused_total (desired records the provider
 *     refused for good: ended as failed)
 *   dnsward_gateway_audit_refusals_skipped_total (refusals over a host's
 *     audit budget: counted in its next row instead of a row each)
 *   dnsward_gateway_store_errors_total{kind} (database failures by kind)
 *   dnsward_gateway_store_info{backend} (1: which backend serves)
 *   dnsward_gateway_instances (gateway instances serving from the database,
 *     as this one last saw them)
 *   gauges from the caller at rendering: dnsward_gateway_retry_queue_depth
 *     (desired records not yet applied, still retried),
 *     dnsward_gateway_records_failed (rows refused for good, not retried),
 *     dnsward_gateway_store_writable (1 or 0, as GET /health says) */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "gateway/gw_store.h"

enum gw_api {
	GW_API_DYNDNS2 = 0, GW_API_ACMEDNS, GW_API_HTTPREQ, GW_API_REGISTER, GW_API_HEALTH,
	GW_API_MYIP, GW_API_METRICS, GW_API_OTHER, GW_API_COUNT
};

enum gw_result {
	GW_R_GOOD = 0, GW_R_NOCHG, GW_R_BADAUTH, GW_R_NOHOST, GW_R_NOTYOURS, GW_R_NOTFQDN,
	GW_R_NUMHOST, GW_R_BADREQUEST, GW_R_UPSTREAM_FAILED, GW_R_RATELIMITED, GW_R_LOCKED,
	GW_R_OK, GW_R_FORBIDDEN, GW_R_NOTFOUND, GW_R_TOOBIG, GW_R_ERROR,
	GW_R_REFUSED,        /* the provider refused the value for good (!active, 424) */
	GW_R_STORE,          /* the database failed (911 / 503) */
	GW_R_COUNT
};

const char *gw_api_name(enum gw_api a);
const char *gw_result_name(enum gw_result r);

struct gw_metrics;

struct gw_metrics *gw_metrics_new(void);
void gw_metrics_free(struct gw_metrics *m);
void gw_metrics_request(struct gw_metrics *m, enum gw_api api, enum gw_result res);
/* outcome: a dw_outcome_str() value; ok: whether it counts as success. */
void gw_metrics_upstream(struct gw_metrics *m, double seconds, int outcome_index, int ok);
void gw_metrics_refused(struct gw_metrics *m);
void gw_metrics_audit_skipped(struct gw_metrics *m, uint64_t n);
/* backend: a static string (gw_store_backend). */
void gw_metrics_set_backend(struct gw_metrics *m, const char *backend);
void gw_metrics_set_instances(struct gw_metrics *m, unsigned n);

/* What the store says at rendering time; -1 for a count it could not read. */
struct gw_metrics_store {
	int64_t queue_depth;
	int64_t failed_records;
	int writable;                     /* 1 or 0 */
	struct gw_store_stats stats;
};
/* Renders into a malloc'ed string (*out, *len); 0 or DW_ENOMEM. */
int gw_metrics_render(struct gw_metrics *m, const struct gw_metrics_store *st, char **out,
                      size_t *len);
