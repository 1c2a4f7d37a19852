/* A job: one piece of network work, as the resident dnsward hands it to its
 * publisher (src/publisher, over the protocol in lib/pubproto.h) and gets
 * it back with the outputs filled in.
 *
 * Each kind is one library call, made by the publisher with the same
 * configuration code and the same provider code as everywhere else:
 *
 *   PUBLISH     dw_update_publish(): r's families whose plan says publish,
 *               with the cold-start check when cold -> res[f]; the
 *               provider's note for r from the state file (memo) is handed
 *               to it first and its note afterwards comes back
 *   VERIFY      dw_update_verify() for each family in verify[] against
 *               published[f] -> ver[f]
 *   FETCH       dw_source_fetch() for each family in fetch[] (web, dns and
 *               cmd: sources) -> fetched[f], addr[f] or why[f]
 *   TXT_ADD     p->ops->txt_add(name, value, ttl) -> res[0]
 *   TXT_DEL     p->ops->txt_del(name, value) -> res[0]
 *   FOLLOW      dw_dnsauth_follow(): name's CNAMEs at the authoritative
 *               servers -> err, msg, target, have_zone, zone
 *   TXT_SERVED  dw_dnsauth_txt_has(srv, name, value) -> err, msg, has
 *
 * A job whose publisher died, hung or spoke garbage comes back failed:
 * results "retry" (PUBLISH, TXT_*), fetched false with a reason (FETCH),
 * err DW_EIO (FOLLOW, TXT_SERVED), the message saying what happened.
 * Plain data: the submitter allocates it and owns it throughout. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/config.h"
#include "lib/dnsauth.h"
#include "lib/provider.h"
#include "lib/state.h"
#include "lib/update.h"

enum dw_job_kind {
	DW_JOB_PUBLISH = 1,
	DW_JOB_FETCH = 2,
	DW_JOB_TXT_ADD = 3,
	DW_JOB_TXT_DEL = 4,
	DW_JOB_FOLLOW = 5,
	DW_JOB_TXT_SERVED = 6,
	DW_JOB_VERIFY = 7,
};
#define DW_JOB_KIND_LAST DW_JOB_VERIFY

#define DW_JOB_VALUE_MAX 256    /* a TXT value (ACME values are 43 bytes) */
#define DW_JOB_HOPS_MAX 8       /* FOLLOW: CNAMEs followed at most */

struct dw_job {
	enum dw_job_kind kind;

	/* In.  r and p point into the submitter's configuration, which must
	 * stay unchanged until the job is back. */
	const struct dw_record *r;              /* PUBLISH, FETCH */
	const struct dw_provider *p;            /* TXT_ADD, TXT_DEL */
	bool cold;                              /* PUBLISH: cold-start check */
	struct dw_plan plan[DW_FAM_COUNT];      /* PUBLISH */
	bool have_memo;                         /* PUBLISH: the state's note for r ... */
	char memo[DW_STATE_MEMO_MAX + 1];       /* ... in; after: the provider's, out */
	bool verify[DW_FAM_COUNT];              /* VERIFY: families to check ... */
	struct dw_ip published[DW_FAM_COUNT];   /* ... against these addresses */
	bool fetch[DW_FAM_COUNT];               /* FETCH: families to fetch */
	char name[DW_DNS_NAME_MAX];             /* TXT_*, FOLLOW, TXT_SERVED */
	char value[DW_JOB_VALUE_MAX];           /* TXT_*, TXT_SERVED */
	uint32_t ttl;                           /* TXT_ADD */
	uint32_t timeout_ms;                    /* FOLLOW: per query */
	struct dw_dns_server srv;               /* TXT_SERVED */

	/* Out. */
	struct dw_result res[DW_FAM_COUNT];     /* PUBLISH per family; TXT_*: res[0] */
	bool fetched[DW_FAM_COUNT];             /* FETCH: an acceptable address came ... */
	struct dw_ip addr[DW_FAM_COUNT];        /* ... this one ... */
	char why[DW_FAM_COUNT][512];            /* ... else why not (as dw_plan's) */
	int err;                                /* FOLLOW, TXT_SERVED: 0 or a DW_E* ... */
	char msg[384];                          /* ... with this reason */
	char target[DW_DNS_NAME_MAX];           /* FOLLOW: the last name reached */
	bool have_zone;                         /* FOLLOW: zone holds target's zone */
	struct dw_dnsauth_zone zone;
	bool has;                               /* TXT_SERVED: srv serves the value */
	struct dw_verify ver[DW_FAM_COUNT];     /* VERIFY: what each check found */
	bool memo_out;                          /* PUBLISH: the provider keeps notes:
	                                         * have_memo/memo are its own now */

	uint64_t tag;                           /* the submitter's; nobody else looks */

	/* The transport's (lib/pubclient.h); callers leave them alone. */
	uint64_t id;
	uint64_t budget_ms;
	struct dw_job *next;
};

/* "publish", "fetch", "txt-add", "txt-del", "follow", "txt-served". */
const char *dw_job_kind_name(enum dw_job_kind kind);

/* Marks every output of j failed with msg (see above). */
void dw_job_fail(struct dw_job *j, const char *msg);

/* How long the publisher may take over j before it counts as hung: the
 * timeouts of every request j may make, plus slack for starting up.
 * PUBLISH and TXT_*: six times the provider's timeout (the longest
 * providers make a zone probe, a read, a write and a confirmation), plus
 * the cold-start check's queries; FETCH: every service of each family in
 * turn; FOLLOW: every hop's queries; TXT_SERVED: one query. */
uint64_t dw_job_budget_ms(const struct dw_job *j);
