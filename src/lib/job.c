/* Jobs: names, failure, time budget (see job.h). */
#include "lib/job.h"

#include <stdio.h>
#include <string.h>

#include "lib/source.h"

#define BUDGET_SLACK_MS 5000u       /* starting a publisher, building the job's configuration */
#define PROVIDER_REQUESTS 8u        /* zone probe, read, write, confirmations */
#define COLD_CHECK_MS 60000u        /* SOA, NS, their addresses, each server asked */
#define FOLLOW_QUERIES_PER_HOP 8u   /* SOA, NS, addresses, CNAME; UDP then TCP */

const char *dw_job_kind_name(enum dw_job_kind kind)
{
	switch (kind) {
	case DW_JOB_PUBLISH:    return "publish";
	case DW_JOB_FETCH:      return "fetch";
	case DW_JOB_TXT_ADD:    return "txt-add";
	case DW_JOB_TXT_DEL:    return "txt-del";
	case DW_JOB_FOLLOW:     return "follow";
	case DW_JOB_TXT_SERVED: return "txt-served";
	case DW_JOB_VERIFY:     return "verify";
	}
	return "unknown";
}

void dw_job_fail(struct dw_job *j, const char *msg)
{
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		dw_result_set(&j->res[f], DW_OUT_RETRY, -1, "%s", msg);
		j->fetched[f] = false;
		snprintf(j->why[f], sizeof(j->why[f]), "%s", msg);
	}
	for (int f = 0; f < DW_FAM_COUNT; f++)
		dw_verify_set(&j->ver[f], DW_VERIFY_UNKNOWN, "%s", msg);
	j->memo_out = false;
	j->err = DW_EIO;
	snprintf(j->msg, sizeof(j->msg), "%s", msg);
	j->have_zone = false;
	j->has = false;
}

/* Longest a source's fetch may take: each service in turn, or the program. */
static uint64_t fetch_ms(const struct dw_source *src)
{
	uint64_t t = src->timeout_ms > 0 ? src->timeout_ms : DW_SOURCE_TIMEOUT_DEFAULT_S * 1000u;
	switch (src->kind) {
	case DW_SRC_WEB: return t * (src->nurls > 0 ? src->nurls : 1);
	case DW_SRC_DNS: return 2 * t * (src->nservers > 0 ? src->nservers : 1);   /* UDP, TCP */
	case DW_SRC_CMD: return t;
	default: return 0;
	}
}

uint64_t dw_job_budget_ms(const struct dw_job *j)
{
	uint64_t b = BUDGET_SLACK_MS;
	switch (j->kind) {
	case DW_JOB_PUBLISH:
		if (j->r != NULL && j->r->provider != NULL)
			b += PROVIDER_REQUESTS * (uint64_t)j->r->provider->timeout_ms;
		if (j->cold)
			b += COLD_CHECK_MS;
		break;
	case DW_JOB_FETCH:
		for (int f = 0; f < DW_FAM_COUNT && j->r != NULL; f++) {
			if (j->fetch[f])
				b += fetch_ms(&j->r->src[f]);
		}
		break;
	case DW_JOB_TXT_ADD:
	case DW_JOB_TXT_DEL:
		if (j->p != NULL)
			b += PROVIDER_REQUESTS * (uint64_t)j->p->timeout_ms;
		break;
	case DW_JOB_FOLLOW:
		b += (uint64_t)DW_JOB_HOPS_MAX * FOLLOW_QUERIES_PER_HOP * j->timeout_ms;
		break;
	case DW_JOB_TXT_SERVED:
		b += 2 * (uint64_t)(j->srv.timeout_ms > 0 ? j->srv.timeout_ms : 20000);
		break;
	case DW_JOB_VERIFY:
		/* A read-back per family, or the zone's servers found and asked. */
		if (j->r != NULL && j->r->provider != NULL)
			b += 2 * PROVIDER_REQUESTS * (uint64_t)j->r->provider->timeout_ms;
		b += COLD_CHECK_MS;
		break;
	}
	return b;
}
