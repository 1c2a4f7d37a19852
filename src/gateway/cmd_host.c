/* host add | list | remove */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/commands.h"
#include "gateway/gw_parse.h"
#include "gateway/gw_store.h"
#include "gateway/gw_token.h"
#include "lib/log.h"
#include "lib/provider.h"

/* "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDTHH:MM:SSZ" or "@UNIXTIME". */
static int parse_date(const char *s, int64_t *out)
{
	if (s[0] == '@') {
		char *end = NULL;
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end != '\0' || v <= 0)
			return DW_EINVAL;
		*out = v;
		return DW_OK;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return DW_EINVAL;
	}
	time_t t = timegm(&tm);
	if (t <= 0)
		return DW_EINVAL;
	*out = (int64_t)t;
	return DW_OK;
}

/* Names a token may own.  A certificate for the _acme-challenge name of X
 * is also valid for *.X, so ACME rights for X cover every name below it:
 * no ACME host may have another host below it (in either order of adding;
 * no option lifts this).  The zone apex (its ACME name validates *.zone,
 * every host), names outside [gateway] zones and labels starting with '_'
 * (_acme-challenge.B as a host, SRV-style names) are refused unless
 * --allow-any-name is given; then each is warned about. */
struct scope_ctx {
	const struct gw_host *h;
	char conflict[GW_FQDN_MAX];
	bool conflict_acme;        /* the existing host is the ACME one (above h) */
};

static bool below(const char *name, const char *above)
{
	size_t n = strlen(name), m = strlen(above);
	return n > m + 1 && name[n - m - 1] == '.' && strcmp(name + n - m, above) == 0;
}

static int scope_one(void *arg, const struct gw_host *o)
{
	struct scope_ctx *sc = arg;
	if (sc->conflict[0] != '\0')
		return DW_OK;
	if (sc->h->acme && below(o->fqdn, sc->h->fqdn)) {
		snprintf(sc->conflict, sizeof(sc->conflict), "%s", o->fqdn);
		sc->conflict_acme = false;
	} else if (o->acme && below(sc->h->fqdn, o->fqdn)) {
		snprintf(sc->conflict, sizeof(sc->conflict), "%s", o->fqdn);
		sc->conflict_acme = true;
	}
	return DW_OK;
}

/* 0, GW_EXIT_USAGE (refused, said why) or GW_EXIT_FAIL. */
static int check_scope(const struct gw_conf *conf, struct gw_db *db, const struct gw_host *h,
                       bool any_name)
{
	bool underscore = h->fqdn[0] == '_' || strstr(h->fqdn, "._") != NULL;
	const char *zone = gw_conf_zone_of(conf, h->fqdn);
	const char *problem = NULL;
	char text[GW_FQDN_MAX + 128];
	if (underscore)
		problem = "has a label starting with '_' (service and _acme-challenge names are not hosts)";
	if (zone != NULL && strcmp(zone, h->fqdn) == 0) {
		snprintf(text, sizeof(text), "is the apex of zone %s (its ACME name would validate "
		         "*.%s, every host)", zone, zone);
		problem = text;
	}
	if (zone == NULL) {
		snprintf(text, sizeof(text), "is outside the zones of [gateway] zones = (%s)",
		         conf->nzones > 0 ? "set them" : "none set");
		problem = text;
	}
	if (problem != NULL && !any_name) {
		log_error("%s %s; refused (--allow-any-name overrides this, see "
		          "dnsward-gateway(8))", h->fqdn, problem);
		return GW_EXIT_USAGE;
	}
	if (problem != NULL)
		log_warning("%s %s; added anyway (--allow-any-name)", h->fqdn, problem);
	struct scope_ctx sc = { .h = h };
	if (gw_db_host_list(db, scope_one, &sc) != DW_OK) {
		log_error("cannot read the hosts: %s", gw_db_errmsg(db));
		return GW_EXIT_FAIL;
	}
	if (sc.conflict[0] != '\0') {
		if (sc.conflict_acme)
			log_error("%s is below %s, which has ACME rights: a certificate %s can get "
			          "would cover %s; refused (re-add %s without --acme first)", h->fqdn,
			          sc.conflict, sc.conflict, h->fqdn, sc.conflict);
		else
			log_error("%s --acme: %s is a host below it, and a certificate %s could get "
			          "would cover it; refused (add it without --acme)", h->fqdn,
			          sc.conflict, h->fqdn);
		return GW_EXIT_USAGE;
	}
	return DW_OK;
}

static int host_add(struct gw_conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "acme", no_argument, NULL, 'a' },
		{ "allow", required_argument, NULL, 'A' },
		{ "expires", required_argument, NULL, 'e' },
		{ "iid", required_argument, NULL, 'i' },
		{ "allow-any-name", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	bool any_name = false;
	struct gw_host h;
	memset(&h, 0, sizeof(h));
	const char *provider = NULL;
	int c;
	optind = 0;   /* re-initialise GNU getopt (main parsed the global options) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			provider = optarg;
			break;
		case 'a':
			h.acme = true;
			break;
		case 'N':
			any_name = true;
			break;
		case 'A': {
			struct gw_cidrs one;
			size_t al = strlen(h.allow);
			if (gw_cidrs_parse(optarg, &one) != DW_OK || one.n == 0) {
				log_error("--allow %s: not a CIDR like 192.0.2.0/24 or 2001:db8::/56", optarg);
				return GW_EXIT_USAGE;
			}
			int n = snprintf(h.allow + al, sizeof(h.allow) - al, "%s%s", al ? "," : "", optarg);
			struct gw_cidrs all;
			if (n < 0 || (size_t)n >= sizeof(h.allow) - al ||
			    gw_cidrs_parse(h.allow, &all) != DW_OK) {
				log_error("--allow: too many source limits (at most %d)", GW_CIDR_MAX);
				return GW_EXIT_USAGE;
			}
			break;
		}
		case 'e':
			if (parse_date(optarg, &h.expires) != DW_OK) {
				log_error("--expires %s: not YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or @UNIXTIME",
				          optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'i': {
			struct dw_ip iid;
			if (dw_ip_parse(optarg, DW_FAM_V6, &iid) != DW_OK) {
				log_error("--iid %s: not an IPv6 interface id like ::1234", optarg);
				return GW_EXIT_USAGE;
			}
			dw_ip_format(&iid, h.iid);
			break;
		}
		default:
			return GW_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || provider == NULL) {
		log_error("usage: host add FQDN --provider NAME [--acme] [--allow CIDR]... "
		          "[--expires DATE] [--iid ::IID] [--allow-any-name]");
		return GW_EXIT_USAGE;
	}
	int n = snprintf(h.fqdn, sizeof(h.fqdn), "%s", argv[optind]);
	if (n < 0 || (size_t)n >= sizeof(h.fqdn) || gw_name_normalize(h.fqdn) != DW_OK) {
		log_error("'%s' is not a valid host name", argv[optind]);
		return GW_EXIT_USAGE;
	}
	struct dw_provider *p = gw_conf_provider(conf, provider);
	if (p == NULL) {
		log_error("no [provider %s] section in %s", provider, conf->cfg->path);
		return GW_EXIT_USAGE;
	}
	snprintf(h.provider, sizeof(h.provider), "%s", provider);
	if (h.acme && (p->ops->txt_add == NULL || p->ops->txt_del == NULL))
		log_warning("provider type '%s' cannot publish TXT records yet: ACME requests for "
		            "%s will fail until it can", p->ops->type, h.fqdn);
	if (h.expires != 0 && h.expires <= (int64_t)time(NULL))
		log_warning("%s: the expiry date is in the past; its token will not work", h.fqdn);

	struct gw_store *st = cmd_open_store(conf);
	if (st == NULL)
		return GW_EXIT_FAIL;
	struct gw_db *db = gw_store_get(st);
	struct gw_token tok;
	gw_token_new(&tok);
	int rc = GW_EXIT_FAIL;
	int ret = db != NULL ? gw_db_begin(db) : DW_EIO;
	if (ret == DW_OK) {
		/* Checked inside the write transaction: two admins adding at
		 * once cannot both pass. */
		int sc = check_scope(conf, db, &h, any_name);
		if (sc != DW_OK) {
			rc = sc;
			goto out;
		}
		ret = gw_db_host_add(db, &h);
	}
	if (ret == DW_EINVAL) {
		log_error("%s is already a host (use 'token rotate' for a new token)", h.fqdn);
		rc = GW_EXIT_USAGE;
		goto out;
	}
	struct gw_audit a = { .host = h.fqdn, .token_id = tok.id, .action = "host-add",
	                      .new_value = h.provider, .source = "cli", .result = "ok" };
	if (ret == DW_OK)
		ret = gw_db_token_add(db, h.id, &tok, "host");
	if (ret == DW_OK)
		ret = gw_db_audit(db, &a);
	if (ret == DW_OK)
		ret = gw_db_commit(db);
	if (ret != DW_OK) {
		log_error("cannot add %s: %s", h.fqdn, db != NULL ? gw_db_errmsg(db) : "no database");
		goto out;
	}
	/* The only time the token exists outside the client: stdout, once. */
	printf("%s\n", tok.text);
	fflush(stdout);
	fprintf(stderr, "host %s added (provider %s%s); its token is shown above and cannot be "
	        "shown again\n", h.fqdn, h.provider, h.acme ? ", ACME allowed" : "");
	rc = GW_EXIT_OK;
out:
	gw_token_wipe(&tok);
	if (db != NULL)
		gw_db_rollback(db);
	gw_store_put(st, db);
	gw_store_close(st);
	return rc;
}

struct list_ctx {
	struct gw_db *db;
};

static int list_one(void *arg, const struct gw_host *h)
{
	struct list_ctx *lc = arg;
	char tid[GW_TOKEN_ID_LEN + 1] = "";
	char exp[32];
	(void)gw_db_token_of_host(lc->db, h->id, tid);
	printf("%s provider=%s acme=%s allow=%s expires=%s iid=%s token=%s\n", h->fqdn, h->provider,
	       h->acme ? "yes" : "no", h->allow[0] ? h->allow : "any", cmd_time(h->expires, exp),
	       h->iid[0] ? h->iid : "-", tid[0] ? tid : "(none)");
	struct gw_rec recs[16];
	size_t n = 0;
	if (gw_db_records(lc->db, h->id, recs, 16, &n) != DW_OK)
		return DW_EIO;
	for (size_t i = 0; i < n; i++) {
		char nr[32];
		const struct gw_rec *r = &recs[i];
		printf("  %s %s%s %s", gw_rtype_str(r->rtype), r->value,
		       r->present ? "" : " (to remove)",
		       r->applied ? "applied" : r->failed ? "FAILED" : "pending");
		if (r->failed)
			printf(" (refused for good by the provider after %lld attempt(s): %s; not "
			       "retried: the host's same request tries again after %s, a new value at "
			       "once)", (long long)r->attempts, r->last_error,
			       cmd_time(r->next_retry, nr));
		else if (!r->applied && r->attempts > 0)
			printf(" (%lld attempts, next %s: %s)", (long long)r->attempts,
			       cmd_time(r->next_retry, nr), r->last_error);
		printf("\n");
	}
	return DW_OK;
}

static int host_list(struct gw_conf *conf)
{
	struct gw_store *st = cmd_open_store(conf);
	if (st == NULL)
		return GW_EXIT_FAIL;
	struct gw_db *db = gw_store_get(st);
	struct list_ctx lc = { db };
	int ret = db != NULL ? gw_db_host_list(db, list_one, &lc) : DW_EIO;
	if (ret != DW_OK)
		log_error("cannot list hosts: %s", db != NULL ? gw_db_errmsg(db) : "no database");
	gw_store_put(st, db);
	gw_store_close(st);
	return ret == DW_OK ? GW_EXIT_OK : GW_EXIT_FAIL;
}

static int host_remove(struct gw_conf *conf, const char *name)
{
	char fqdn[GW_FQDN_MAX];
	int n = snprintf(fqdn, sizeof(fqdn), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(fqdn) || gw_name_normalize(fqdn) != DW_OK) {
		log_error("'%s' is not a valid host name", name);
		return GW_EXIT_USAGE;
	}
	struct gw_store *st = cmd_open_store(conf);
	if (st == NULL)
		return GW_EXIT_FAIL;
	struct gw_db *db = gw_store_get(st);
	struct gw_host h;
	int rc = GW_EXIT_FAIL;
	int ret = db != NULL ? gw_db_begin(db) : DW_EIO;
	if (ret == DW_OK)
		ret = gw_db_host_get(db, fqdn, &h);
	if (ret == DW_ENOTFOUND) {
		log_error("%s is not a host", fqdn);
		rc = GW_EXIT_USAGE;
		goto out;
	}
	struct gw_audit a = { .host = fqdn, .action = "host-remove", .source = "cli", .result = "ok" };
	if (ret == DW_OK)
		ret = gw_db_host_remove(db, h.id);
	if (ret == DW_OK)
		ret = gw_db_audit(db, &a);
	if (ret == DW_OK)
		ret = gw_db_commit(db);
	if (ret != DW_OK) {
		log_error("cannot remove %s: %s", fqdn, db != NULL ? gw_db_errmsg(db) : "no database");
		goto out;
	}
	fprintf(stderr, "host %s removed (its DNS records were left as they are)\n", fqdn);
	rc = GW_EXIT_OK;
out:
	if (db != NULL)
		gw_db_rollback(db);
	gw_store_put(st, db);
	gw_store_close(st);
	return rc;
}

int cmd_host(struct gw_conf *conf, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return host_add(conf, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return host_list(conf);
	if (argc == 3 && strcmp(argv[1], "remove") == 0)
		return host_remove(conf, argv[2]);
	log_error("usage: host add FQDN --provider NAME [...] | host list | host remove FQDN");
	return GW_EXIT_USAGE;
}
