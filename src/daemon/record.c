/* The daemon's per-record view: set up from configuration and state file. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/record.h"
#include "lib/loop.h"
#include "lib/provider.h"
#include "lib/source.h"

static void rec_from_state(struct dmn_rec *rc, const struct dw_state *st)
{
	uint64_t now = dw_loop_now_ms();
	int64_t wall = (int64_t)time(NULL);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		const struct dw_state_entry *e =
			dw_state_get(st, rc->r->fqdn, (enum dw_family)f, rc->r->provider->name);
		struct dw_ip ip;
		if (e == NULL || dw_ip_parse(e->address, (enum dw_family)f, &ip) != DW_OK)
			continue;
		uint64_t age_ms = e->updated < wall ? (uint64_t)(wall - e->updated) * 1000u : 0;
		dw_sched_set_published(&rc->s, (enum dw_family)f, &ip, age_ms < now ? now - age_ms : 0);
		rc->pub_wall[f] = e->updated;
	}
}

/* Interface and static sources are known without asking anyone; web, dns
 * and cmd sources must be polled (poll-interval), in a worker since
 * fetching blocks. */
void dmn_rec_init(struct dmn_rec *rc, struct dw_record *r, const struct dw_state *st)
{
	memset(rc, 0, sizeof(*rc));
	rc->r = r;
	dw_sched_init(&rc->s);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		rc->s.fam[f].active = r->src[f].kind != DW_SRC_OFF;
		rc->polls |= dw_source_polls(&r->src[f]);
		snprintf(rc->why[f], sizeof(rc->why[f]), "%s",
		         dw_source_polls(&r->src[f]) ? "not fetched yet" : "no address information yet");
	}
	rec_from_state(rc, st);
	const char *memo = dw_state_get_memo(st, r->fqdn, r->provider->name);
	if (memo != NULL && r->provider->ops->memo_set != NULL)
		r->provider->ops->memo_set(r, memo);
}

void dmn_rec_carry(struct dmn_rec *rc, const struct dmn_rec *old)
{
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		bool active = rc->s.fam[f].active;
		rc->s.fam[f] = old->s.fam[f];
		rc->s.fam[f].active = active;
		memcpy(rc->msg[f], old->msg[f], sizeof(old->msg[f]));
		rc->last_wall[f] = old->last_wall[f];
		rc->pub_wall[f] = old->pub_wall[f];
		rc->verified[f] = old->verified[f];
		rc->vstatus[f] = old->vstatus[f];
		rc->verify_wall[f] = old->verify_wall[f];
		memcpy(rc->vmsg[f], old->vmsg[f], sizeof(old->vmsg[f]));
		memcpy(rc->vproblem[f], old->vproblem[f], sizeof(old->vproblem[f]));
		if (dw_source_polls(&rc->r->src[f]) != dw_source_polls(&old->r->src[f]))
			rc->s.fam[f].have_desired = false;
	}
	rc->s.verify_at = old->s.verify_at;
	dw_sched_unpark(&rc->s);
}
