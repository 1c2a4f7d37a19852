/* The status document (jansson) and the systemd status line. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/status.h"

static json_t *ip_or_null(bool have, const struct dw_ip *ip)
{
	char a[DW_IP_STRLEN];
	return have ? json_string(dw_ip_format(ip, a)) : json_null();
}

char *dmn_status_json(const struct dmn_rec *recs, size_t n, const struct dw_sched_params *sp,
                      uint64_t now)
{
	json_t *root = json_object();
	json_t *jrecs = json_array();
	json_object_set_new(root, "daemon", json_true());
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "records", jrecs);
	for (size_t i = 0; i < n; i++) {
		const struct dmn_rec *rc = &recs[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(rc->r->fqdn));
		json_object_set_new(o, "provider", json_string(rc->r->provider->name));
		json_t *fams = json_array();
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const struct dw_sched_fam *s = &rc->s.fam[f];
			if (!s->active)
				continue;
			json_t *x = json_object();
			json_object_set_new(x, "family", json_string(dw_family_name((enum dw_family)f)));
			json_object_set_new(x, "type", json_string(dw_family_rrtype((enum dw_family)f)));
			json_object_set_new(x, "state", json_string(dw_sched_state_name(
				&rc->s, (enum dw_family)f, sp, now)));
			json_object_set_new(x, "desired", ip_or_null(s->have_desired, &s->desired));
			if (!s->have_desired)
				json_object_set_new(x, "why", json_string(rc->why[f]));
			json_object_set_new(x, "published", ip_or_null(s->have_published, &s->published));
			if (s->have_published && rc->pub_wall[f] > 0)
				json_object_set_new(x, "published_at", json_integer(rc->pub_wall[f]));
			if (s->has_result) {
				json_object_set_new(x, "last_result", json_string(dw_outcome_str(s->last)));
				json_object_set_new(x, "last_message", json_string(rc->msg[f]));
				json_object_set_new(x, "last_at", json_integer(rc->last_wall[f]));
			} else {
				json_object_set_new(x, "last_result", json_null());
			}
			if (rc->verified[f]) {
				json_object_set_new(x, "verify", json_string(dw_verify_str(rc->vstatus[f])));
				json_object_set_new(x, "verify_message", json_string(rc->vmsg[f]));
				json_object_set_new(x, "verified_at", json_integer(rc->verify_wall[f]));
			}
			json_object_set_new(x, "failures", json_integer(s->failures));
			if (!s->parked && s->retry_at > now)
				json_object_set_new(x, "retry_in_ms", json_integer((json_int_t)(s->retry_at - now)));
			json_array_append_new(fams, x);
		}
		json_object_set_new(o, "families", fams);
		json_array_append_new(jrecs, o);
	}
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(root);
	return text;
}

void dmn_status_summary(const struct dmn_rec *recs, size_t n, const struct dw_sched_params *sp,
                        uint64_t now, char *buf, size_t cap)
{
	unsigned sync = 0, pending = 0, parked = 0;
	for (size_t i = 0; i < n; i++) {
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const char *s = dw_sched_state_name(&recs[i].s, (enum dw_family)f, sp, now);
			if (strcmp(s, "in-sync") == 0)
				sync++;
			else if (strcmp(s, "parked") == 0)
				parked++;
			else if (strcmp(s, "off") != 0)
				pending++;
		}
	}
	snprintf(buf, cap, "%zu records: %u in sync, %u waiting, %u parked", n, sync, pending,
	         parked);
}
