/* Per-record state machine; see sched.h. */
#include "lib/sched.h"

#include <string.h>

void dw_sched_defaults(struct dw_sched_params *p)
{
	p->backoff_base_ms = 5000;
	p->backoff_max_ms = 3600u * 1000u;
	p->max_interval_ms = 24u * 3600u * 1000u;
	p->retry_after_max_ms = 24u * 3600u * 1000u;
	p->verify_interval_ms = 4u * 3600u * 1000u;
}

void dw_sched_init(struct dw_sched_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	for (int f = 0; f < DW_FAM_COUNT; f++)
		rec->fam[f].retry_after_s = -1;
}

void dw_sched_set_desired(struct dw_sched_rec *rec, enum dw_family fam, const struct dw_ip *ip)
{
	struct dw_sched_fam *s = &rec->fam[fam];
	s->have_desired = ip != NULL;
	if (ip != NULL)
		s->desired = *ip;
}

void dw_sched_set_published(struct dw_sched_rec *rec, enum dw_family fam, const struct dw_ip *ip,
                            uint64_t at)
{
	struct dw_sched_fam *s = &rec->fam[fam];
	s->have_published = true;
	s->published = *ip;
	s->published_at = at;
}

/* Time from which fam needs publishing without any new event, or NEVER. */
static uint64_t needs_from(const struct dw_sched_rec *rec, const struct dw_sched_fam *s,
                           const struct dw_sched_params *p)
{
	if (!s->active || !s->have_desired || s->parked)
		return DW_SCHED_NEVER;
	if (rec->force || s->drifted || !s->have_published ||
	    !dw_ip_equal(&s->published, &s->desired))
		return 0;
	if (p->max_interval_ms == 0 || s->published_at > DW_SCHED_NEVER - p->max_interval_ms)
		return DW_SCHED_NEVER;
	return s->published_at + p->max_interval_ms;
}

bool dw_sched_needs(const struct dw_sched_rec *rec, enum dw_family fam,
                    const struct dw_sched_params *p, uint64_t now)
{
	return needs_from(rec, &rec->fam[fam], p) <= now;
}

/* When fam may start, or NEVER. */
static uint64_t fam_next(const struct dw_sched_rec *rec, const struct dw_sched_fam *s,
                         const struct dw_sched_params *p)
{
	uint64_t t = needs_from(rec, s, p);
	if (t == DW_SCHED_NEVER)
		return t;
	if (!rec->force && s->retry_at > t)
		t = s->retry_at;
	return t;
}

uint64_t dw_sched_next(const struct dw_sched_rec *rec, const struct dw_sched_params *p,
                       uint64_t now)
{
	(void)now;
	if (rec->inflight)
		return DW_SCHED_NEVER;
	uint64_t best = DW_SCHED_NEVER;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		uint64_t t = fam_next(rec, &rec->fam[f], p);
		if (t < best)
			best = t;
	}
	return best;
}

bool dw_sched_begin(struct dw_sched_rec *rec, const struct dw_sched_params *p, uint64_t now,
                    bool pub[DW_FAM_COUNT])
{
	bool any = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		pub[f] = !rec->inflight && fam_next(rec, &rec->fam[f], p) <= now;
		any |= pub[f];
	}
	if (!any)
		return false;
	/* Once one family goes, a second one that merely re-asserts soon rides
	 * along only when it is due too: each family keeps its own clock. */
	rec->inflight = true;
	rec->force = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_sched_fam *s = &rec->fam[f];
		s->sending = pub[f];
		if (pub[f])
			s->sent = s->desired;
	}
	return true;
}

uint64_t dw_sched_backoff(const struct dw_sched_params *p, unsigned failures, uint32_t rnd)
{
	uint64_t d = p->backoff_base_ms;
	for (unsigned i = 1; i < failures && d < p->backoff_max_ms; i++)
		d *= 2;
	if (d > p->backoff_max_ms)
		d = p->backoff_max_ms;
	uint64_t half = d / 2;
	return half + (uint64_t)rnd % (d - half + 1);
}

void dw_sched_done(struct dw_sched_rec *rec, const struct dw_sched_params *p, uint64_t now,
                   const struct dw_result res[DW_FAM_COUNT], uint32_t rnd)
{
	rec->inflight = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_sched_fam *s = &rec->fam[f];
		if (!s->sending)
			continue;
		s->sending = false;
		const struct dw_result *r = &res[f];
		s->has_result = true;
		s->last = r->outcome;
		s->last_at = now;
		s->retry_after_s = r->retry_after_s;
		if (dw_outcome_ok(r->outcome)) {
			s->have_published = true;
			s->published = s->sent;
			s->published_at = now;
			s->failures = 0;
			s->retry_at = 0;
			s->drifted = false;
			/* just confirmed: no need to ask again before an interval */
			dw_sched_verify_arm(rec, p, now, rnd);
			continue;
		}
		s->failures++;
		if (r->outcome == DW_OUT_FATAL) {
			s->parked = true;
			continue;
		}
		uint64_t delay = dw_sched_backoff(p, s->failures, rnd);
		if (r->retry_after_s >= 0) {
			/* A hint from the provider is a floor, whatever the class. */
			uint64_t ra = (uint64_t)r->retry_after_s * 1000u;
			if (ra > p->retry_after_max_ms)
				ra = p->retry_after_max_ms;
			if (ra > delay)
				delay = ra;
		}
		s->retry_at = now + delay;
	}
}

void dw_sched_abort(struct dw_sched_rec *rec)
{
	rec->inflight = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		rec->fam[f].sending = false;
		rec->fam[f].verifying = false;
	}
}

uint64_t dw_sched_verify_delay(const struct dw_sched_params *p, uint32_t rnd)
{
	uint64_t iv = p->verify_interval_ms;
	if (iv == 0)
		return DW_SCHED_NEVER;
	return iv - (uint64_t)rnd % (iv / 5 + 1);
}

void dw_sched_verify_arm(struct dw_sched_rec *rec, const struct dw_sched_params *p,
                         uint64_t now, uint32_t rnd)
{
	uint64_t d = dw_sched_verify_delay(p, rnd);
	rec->verify_at = d > DW_SCHED_NEVER - now ? DW_SCHED_NEVER : now + d;
}

uint64_t dw_sched_verify_next(const struct dw_sched_rec *rec, const struct dw_sched_params *p)
{
	if (p->verify_interval_ms == 0 || rec->inflight || rec->verify_at == 0)
		return DW_SCHED_NEVER;
	return rec->verify_at;
}

bool dw_sched_verify_begin(struct dw_sched_rec *rec, const struct dw_sched_params *p,
                           uint64_t now, uint32_t rnd, bool ver[DW_FAM_COUNT])
{
	bool any = false;
	for (int f = 0; f < DW_FAM_COUNT; f++)
		ver[f] = false;
	if (dw_sched_verify_next(rec, p) > now)
		return false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		const struct dw_sched_fam *s = &rec->fam[f];
		ver[f] = s->active && s->have_published && !s->parked && !s->drifted &&
		         s->failures == 0 && !dw_sched_needs(rec, (enum dw_family)f, p, now);
		any |= ver[f];
	}
	if (!any) {
		dw_sched_verify_arm(rec, p, now, rnd);
		return false;
	}
	rec->inflight = true;
	for (int f = 0; f < DW_FAM_COUNT; f++)
		rec->fam[f].verifying = ver[f];
	return true;
}

void dw_sched_verify_done(struct dw_sched_rec *rec, const struct dw_sched_params *p,
                          uint64_t now, const bool drifted[DW_FAM_COUNT], uint32_t rnd)
{
	rec->inflight = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_sched_fam *s = &rec->fam[f];
		if (s->verifying && drifted[f])
			s->drifted = true;
		s->verifying = false;
	}
	dw_sched_verify_arm(rec, p, now, rnd);
}

void dw_sched_unpark(struct dw_sched_rec *rec)
{
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		rec->fam[f].parked = false;
		rec->fam[f].failures = 0;
		rec->fam[f].retry_at = 0;
	}
}

void dw_sched_force(struct dw_sched_rec *rec)
{
	dw_sched_unpark(rec);
	rec->force = true;
}

const char *dw_sched_state_name(const struct dw_sched_rec *rec, enum dw_family fam,
                                const struct dw_sched_params *p, uint64_t now)
{
	const struct dw_sched_fam *s = &rec->fam[fam];
	if (!s->active)
		return "off";
	if (s->sending)
		return "publishing";
	if (s->parked)
		return "parked";
	if (!s->have_desired)
		return "no-address";
	if (!dw_sched_needs(rec, fam, p, now))
		return "in-sync";
	if (!rec->force && s->retry_at > now)
		return "backoff";
	return "pending";
}
