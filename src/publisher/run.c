/* One job, one library call (see lib/job.h for the kinds). */
#include <stdio.h>
#include <string.h>

#include "lib/dnsauth.h"
#include "lib/log.h"
#include "lib/source.h"
#include "lib/update.h"
#include "publisher/serve.h"

/* A job whose configuration could not be built: PUBLISH and TXT results
 * are "fatal" (the same configuration fails the same way: the user must
 * look), the others fail with the reason. */
static void fail_configuration(struct dw_job *j, const char *msg)
{
	dw_job_fail(j, msg);
	for (int f = 0; f < DW_FAM_COUNT; f++)
		j->res[f].outcome = DW_OUT_FATAL;
	j->err = DW_ECONFIG;
}

void pub_run(struct pub_task *t)
{
	struct dw_job *j = &t->pj.job;
	if (t->failed[0] != '\0') {
		fail_configuration(j, t->failed);
		return;
	}
	struct dw_diag diag = { "" };
	switch (j->kind) {
	case DW_JOB_PUBLISH: {
		/* The provider's note from the state file first (a zone it
		 * found by probing), its note after the publish back. */
		const struct dw_provider_ops *ops = t->r->provider->ops;
		if (j->have_memo && ops->memo_set != NULL)
			ops->memo_set(t->r, j->memo);
		dw_update_publish(t->r, j->plan, j->cold ? &t->dnsauth.cfg : NULL, j->res);
		j->memo_out = ops->memo_get != NULL;
		j->have_memo = j->memo_out && ops->memo_get(t->r, j->memo, sizeof(j->memo));
		if (!j->have_memo)
			j->memo[0] = '\0';
		break;
	}
	case DW_JOB_VERIFY:
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (j->verify[f])
				dw_update_verify(t->r, &j->published[f], &t->dnsauth.cfg, &j->ver[f]);
		}
		break;
	case DW_JOB_FETCH:
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (j->fetch[f])
				j->fetched[f] = dw_source_fetch(&t->r->src[f], (enum dw_family)f, &j->addr[f],
				                                j->why[f], sizeof(j->why[f])) == DW_OK;
		}
		break;
	case DW_JOB_TXT_ADD:
		j->res[0] = (struct dw_result){ .outcome = DW_OUT_FATAL, .retry_after_s = -1 };
		t->p->ops->txt_add(t->p, j->name, j->value, j->ttl, &j->res[0]);
		break;
	case DW_JOB_TXT_DEL:
		j->res[0] = (struct dw_result){ .outcome = DW_OUT_FATAL, .retry_after_s = -1 };
		t->p->ops->txt_del(t->p, j->name, j->value, &j->res[0]);
		break;
	case DW_JOB_FOLLOW:
		j->err = dw_dnsauth_follow(&t->dnsauth.cfg, j->name, DW_JOB_HOPS_MAX, j->target,
		                           &j->zone, &diag);
		j->have_zone = j->err == DW_OK;
		snprintf(j->msg, sizeof(j->msg), "%s", diag.msg);
		break;
	case DW_JOB_TXT_SERVED:
		j->err = dw_dnsauth_txt_has(&j->srv, j->name, j->value, &j->has, &diag);
		snprintf(j->msg, sizeof(j->msg), "%s", diag.msg);
		break;
	}
}
