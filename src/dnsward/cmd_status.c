/* dnsward status [--json]: each record's desired and published address and
 * last result, live from the running daemon over its control socket, or,
 * when no daemon answers, from the state file (published addresses and the
 * last run's result with its message and since when, plus what interface
 * and static sources would give now). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsward/commands.h"
#include "lib/control.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/state.h"
#include "lib/update.h"

#define STATUS_TIMEOUT_MS 5000

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* The same document the daemon sends, built from the state file. */
static json_t *offline_status(struct dw_config *cfg, struct dw_diag *diag)
{
	char path[4096];
	if (dw_update_state_path(cfg, path, sizeof(path)) != DW_OK) {
		dw_diag_set(diag, DW_ETOOBIG, "state-dir path too long");
		return NULL;
	}
	struct dw_state st;
	if (dw_state_load(path, &st, diag) != DW_OK)
		return NULL;
	struct dw_addr_list addrs = { 0 };
	struct dw_diag nd;
	bool have_addrs = dw_netlink_dump(&addrs, &nd) == DW_OK;

	json_t *root = json_object();
	json_t *recs = json_array();
	json_object_set_new(root, "daemon", json_false());
	json_object_set_new(root, "records", recs);
	for (size_t i = 0; i < cfg->nrecords; i++) {
		const struct dw_record *r = cfg->records[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(r->fqdn));
		json_object_set_new(o, "provider", json_string(r->provider->name));
		json_t *fams = json_array();
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const struct dw_source *src = &r->src[f];
			if (src->kind == DW_SRC_OFF)
				continue;
			json_t *x = json_object();
			json_object_set_new(x, "family", json_string(dw_family_name((enum dw_family)f)));
			json_object_set_new(x, "type", json_string(dw_family_rrtype((enum dw_family)f)));
			/* Only sources answered without the network are evaluated. */
			struct dw_ip ip;
			char why[512] = "", a[DW_IP_STRLEN];
			bool local = src->kind == DW_SRC_STATIC || (src->kind == DW_SRC_IFACE && have_addrs);
			if (!local)
				snprintf(why, sizeof(why), "not evaluated without the daemon");
			if (local && dw_update_desired(r, (enum dw_family)f, &addrs, &ip, why,
			                               sizeof(why)) == DW_OK) {
				json_object_set_new(x, "desired", json_string(dw_ip_format(&ip, a)));
			} else {
				json_object_set_new(x, "desired", json_null());
				json_object_set_new(x, "why", json_string(why));
			}
			const struct dw_state_entry *e =
				dw_state_get(&st, r->fqdn, (enum dw_family)f, r->provider->name);
			json_object_set_new(x, "published", str_or_null(e != NULL ? e->address : NULL));
			if (e != NULL)
				json_object_set_new(x, "published_at", json_integer(e->updated));
			/* The last run's result (lib/state.h), also of failed runs. */
			const struct dw_state_result *res =
				dw_state_get_result(&st, r->fqdn, (enum dw_family)f, r->provider->name);
			if (res != NULL) {
				json_object_set_new(x, "last_result", json_string(res->outcome));
				json_object_set_new(x, "last_message", json_string(res->message));
				json_object_set_new(x, "last_address", str_or_null(res->address));
				json_object_set_new(x, "last_result_since", json_integer(res->since));
			} else {
				json_object_set_new(x, "last_result", json_null());
			}
			json_array_append_new(fams, x);
		}
		json_object_set_new(o, "families", fams);
		json_array_append_new(recs, o);
	}
	dw_addr_list_free(&addrs);
	dw_state_free(&st);
	return root;
}

static const char *jstr(const json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : def;
}

static void print_text(const json_t *root)
{
	bool live = json_is_true(json_object_get(root, "daemon"));
	printf("%s\n", live ? "daemon: running" : "daemon: not running (from the state file)");
	size_t i, k;
	json_t *r, *x;
	json_array_foreach(json_object_get(root, "records"), i, r) {
		json_array_foreach(json_object_get(r, "families"), k, x) {
			printf("%s %s", jstr(r, "name", "?"), jstr(x, "type", "?"));
			if (live)
				printf(" state=%s", jstr(x, "state", "?"));
			printf(" desired=%s published=%s", jstr(x, "desired", "-"),
			       jstr(x, "published", "-"));
			const char *last = jstr(x, "last_result", NULL);
			if (last != NULL)
				printf(" last=%s", last);
			json_t *since = json_object_get(x, "last_result_since");
			if (json_is_integer(since)) {
				time_t t = (time_t)json_integer_value(since);
				struct tm tm;
				char when[32];
				if (gmtime_r(&t, &tm) != NULL &&
				    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
					printf(" since=%s", when);
			}
			json_int_t retry = json_integer_value(json_object_get(x, "retry_in_ms"));
			if (retry > 0)
				printf(" retry-in=%llds", (long long)(retry + 999) / 1000);
			const char *why = jstr(x, "why", NULL);
			if (why != NULL)
				printf(" (%s)", why);
			const char *msg = jstr(x, "last_message", NULL);
			if (last != NULL && msg != NULL && msg[0] != '\0' && strcmp(last, "done") != 0 &&
			    strcmp(last, "unchanged") != 0)
				printf(" [%s]", msg);
			printf("\n");
		}
	}
}

int cmd_status(struct dw_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool as_json = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = true; break;
		case 'h':
			printf("usage: dnsward status [--json]\n");
			return DW_EXIT_OK;
		default:
			fprintf(stderr, "usage: dnsward status [--json]\n");
			return DW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: dnsward status [--json]\n");
		return DW_EXIT_USAGE;
	}

	char path[108];
	if (dw_ctl_socket_path(cfg, path, sizeof(path)) != DW_OK) {
		log_error("control socket path too long");
		return DW_EXIT_USAGE;
	}
	struct dw_diag diag = { "" };
	char *reply = NULL;
	json_t *root = NULL;
	int r = dw_ctl_request(path, "status", STATUS_TIMEOUT_MS, &reply, &diag);
	if (r == DW_OK) {
		json_error_t jerr;
		root = json_loads(reply, JSON_REJECT_DUPLICATES, &jerr);
		if (root == NULL || !json_is_object(root)) {
			log_error("the daemon on %s sent an unreadable status", path);
			json_decref(root);
			free(reply);
			return DW_EXIT_RETRY;
		}
	} else if (r == DW_ENOTFOUND) {
		log_debug("%s", diag.msg);
		root = offline_status(cfg, &diag);
		if (root == NULL) {
			log_error("%s", diag.msg);
			return DW_EXIT_RETRY;
		}
	} else {
		log_error("%s", diag.msg);
		return DW_EXIT_RETRY;
	}
	free(reply);
	if (as_json) {
		char *t = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		if (t != NULL)
			printf("%s\n", t);
		free(t);
	} else {
		print_text(root);
	}
	json_decref(root);
	return DW_EXIT_OK;
}
