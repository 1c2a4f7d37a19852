/* dnsward acme: the ACME dns-01 hook for lego, certbot and dehydrated
 * (docs/acme.md).
 *
 * For each challenge: follow an _acme-challenge CNAME (asking the name's
 * authoritative servers), pick the provider whose acme-zones holds the
 * final name (longest suffix), add or remove the one TXT value, and for
 * "present" wait until every authoritative server of the zone serves it,
 * because certbot and dehydrated ask the CA to validate right after the
 * hook returns.
 *
 * Values present are remembered in STATE_DIR/acme-pending (under a lock),
 * so that a provider holding one TXT value per name refuses a second one
 * instead of silently replacing the first (a name and its wildcard). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnsward/commands.h"
#include "lib/acme.h"
#include "lib/dnsauth.h"
#include "lib/job.h"
#include "lib/log.h"
#include "lib/provider.h"
#include "lib/sandbox.h"
#include "lib/statedir.h"
#include "lib/pubclient.h"

#define QUERY_TIMEOUT_MS 2000
#define PENDING_STALE_S (6 * 3600)   /* an order never lasts this long */
#define PENDING_MAX 256

/* One challenge after resolution. */
struct target {
	char name[DW_DNS_NAME_MAX];     /* where the TXT record is written */
	bool have_zone;                 /* zone's servers known: propagation can be checked */
	struct dw_dnsauth_zone zone;
	struct dw_provider *provider;
};

struct pending {
	char name[DW_DNS_NAME_MAX];
	char value[DW_ACME_VALUE_LEN + 1];
	char provider[128];
	long long when;
};

static const char *env_get(const char *name)
{
	return getenv(name);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- Provider choice ---- */

static struct dw_provider *provider_for(const struct dw_config *cfg, const char *name)
{
	struct dw_provider *best = NULL;
	int best_len = -1;
	for (size_t i = 0; i < cfg->nproviders; i++) {
		struct dw_provider *p = cfg->providers[i];
		int m = dw_acme_zone_match(name, p->acme_zones, p->nacme_zones);
		if (m > best_len) {
			best_len = m;
			best = p;
		}
	}
	return best;
}

/* One job through the publisher, waited for.  NULL when out of memory;
 * else the caller frees it. */
static struct dw_job *call(struct dw_pub *pub, const struct dw_config *cfg, struct dw_job *j)
{
	if (j == NULL) {
		log_error("out of memory");
		return NULL;
	}
	dw_pub_submit(pub, cfg, j);
	return dw_pub_wait_one(pub);
}

/* Follows CNAMEs from name at the authoritative servers (a FOLLOW job for
 * the publisher) and picks the provider.  Returns an exit status. */
static int resolve(const struct dw_config *cfg, struct dw_pub *pub, const char *name,
                   bool must_know_servers, struct target *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name, sizeof(t->name));
	struct dw_job *j = calloc(1, sizeof(*j));
	if (j != NULL) {
		j->kind = DW_JOB_FOLLOW;
		memcpy(j->name, name, sizeof(j->name));
		j->timeout_ms = QUERY_TIMEOUT_MS;
	}
	if ((j = call(pub, cfg, j)) == NULL)
		return DW_EXIT_RETRY;
	memcpy(t->name, j->target, sizeof(t->name));
	if (j->err == DW_ETOOBIG) {
		log_error("acme: %s", j->msg);
		free(j);
		return DW_EXIT_FATAL;
	}
	if (j->err == DW_OK) {
		t->have_zone = true;
		t->zone = j->zone;
	} else if (provider_for(cfg, name) != NULL || provider_for(cfg, t->name) != NULL) {
		/* (With no provider for either name: a configuration matter,
		 * reported below.) */
		if (must_know_servers) {
			log_error("acme: cannot ask the authoritative servers of %s: %s "
			          "(set acme-nameservers or acme-resolvers, or "
			          "acme-propagation-timeout = 0 to skip the check)", t->name, j->msg);
			free(j);
			return DW_EXIT_RETRY;
		}
		log_info("acme: %s: %s; using the name as it is", t->name, j->msg);
	}
	free(j);
	/* The name the record is written at decides; the original name is the
	 * fallback (an acme-dns account listed by the name it validates). */
	t->provider = provider_for(cfg, t->name);
	if (t->provider == NULL)
		t->provider = provider_for(cfg, name);
	if (t->provider == NULL) {
		if (strcmp(t->name, name) != 0)
			log_error("acme: no provider's acme-zones holds %s (alias of %s)", t->name, name);
		else
			log_error("acme: no provider's acme-zones holds %s", name);
		return DW_EXIT_USAGE;
	}
	log_debug("acme: %s -> provider %s%s%s", t->name, t->provider->name,
	          t->have_zone ? ", zone " : "", t->have_zone ? t->zone.apex : "");
	return DW_EXIT_OK;
}

/* ---- Pending values (STATE_DIR/acme-pending) ---- */

#define PENDING_FILE "acme-pending"
#define PENDING_LOCK "acme-pending.lock"
#define PENDING_FILE_MAX (PENDING_MAX * 512)

/* Reached only as the state directory's owner (cmd_acme drops first), and
 * only relative to its descriptor (lib/statedir.h): nothing planted there
 * is followed. */
struct pending_file {
	struct dw_statedir dir;
	int lock_fd;
	struct pending v[PENDING_MAX];
	size_t n;
};

static int pending_open(const struct dw_config *cfg, struct pending_file *pf)
{
	struct dw_diag diag = { "" };
	pf->n = 0;
	pf->lock_fd = -1;
	int ret = dw_statedir_open(cfg->state_dir, DW_STATEDIR_CREATE | DW_STATEDIR_OWNER,
	                           &pf->dir, &diag);
	if (ret != DW_OK) {
		log_error("acme: %s", diag.msg);
		return DW_EXIT_USAGE;
	}
	if (dw_statedir_lock(&pf->dir, PENDING_LOCK, &pf->lock_fd, &diag) != DW_OK) {
		log_error("acme: %s", diag.msg);
		dw_statedir_close(&pf->dir);
		return DW_EXIT_RETRY;
	}
	char *text = NULL;
	size_t len = 0;
	ret = dw_statedir_read(&pf->dir, PENDING_FILE, PENDING_FILE_MAX, &text, &len, &diag);
	if (ret == DW_ENOTFOUND)
		return DW_EXIT_OK;   /* nothing pending */
	if (ret != DW_OK) {
		log_error("acme: %s", diag.msg);
		close(pf->lock_fd);
		pf->lock_fd = -1;
		dw_statedir_close(&pf->dir);
		return DW_EXIT_RETRY;
	}
	long long now = (long long)time(NULL);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL && pf->n < PENDING_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		struct pending *p = &pf->v[pf->n];
		char name[DW_DNS_NAME_MAX], value[64], prov[128];
		long long when;
		if (sscanf(line, "%255s %63s %127s %lld", name, value, prov, &when) != 4 ||
		    !dw_acme_value_valid(value) || when < now - PENDING_STALE_S)
			continue;   /* unreadable or stale lines are dropped */
		memcpy(p->name, name, sizeof(p->name));
		memcpy(p->value, value, sizeof(p->value));
		memcpy(p->provider, prov, sizeof(p->provider));
		p->when = when;
		pf->n++;
	}
	free(text);
	return DW_EXIT_OK;
}

static int pending_find(const struct pending_file *pf, const char *name, const char *value)
{
	for (size_t i = 0; i < pf->n; i++) {
		if (strcmp(pf->v[i].name, name) == 0 && strcmp(pf->v[i].value, value) == 0)
			return (int)i;
	}
	return -1;
}

static void pending_add(struct pending_file *pf, const char *name, const char *value,
                        const char *provider)
{
	if (pending_find(pf, name, value) >= 0 || pf->n == PENDING_MAX)
		return;
	struct pending *p = &pf->v[pf->n++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->value, sizeof(p->value), "%s", value);
	if (snprintf(p->provider, sizeof(p->provider), "%s", provider) >= (int)sizeof(p->provider))
		p->provider[0] = '-';   /* only used for display */
	p->when = (long long)time(NULL);
}

static void pending_del(struct pending_file *pf, const char *name, const char *value)
{
	int i = pending_find(pf, name, value);
	if (i < 0)
		return;
	pf->v[i] = pf->v[pf->n - 1];
	pf->n--;
}

/* Writes the file atomically (or removes it when empty) and unlocks. */
static void pending_close(struct pending_file *pf)
{
	if (pf->lock_fd < 0)
		return;
	struct dw_diag diag = { "" };
	if (pf->n == 0) {
		if (dw_statedir_unlink(&pf->dir, PENDING_FILE, &diag) != DW_OK)
			log_warning("acme: %s", diag.msg);
	} else {
		char *text = malloc(PENDING_FILE_MAX);
		size_t len = 0;
		bool ok = text != NULL;
		for (size_t i = 0; ok && i < pf->n; i++) {
			int w = snprintf(text + len, PENDING_FILE_MAX - len, "%s %s %s %lld\n",
			                 pf->v[i].name, pf->v[i].value, pf->v[i].provider, pf->v[i].when);
			ok = w > 0 && (size_t)w < PENDING_FILE_MAX - len;
			if (ok)
				len += (size_t)w;
		}
		if (!ok)
			log_warning("acme: cannot write %s/%s: out of memory", pf->dir.path, PENDING_FILE);
		else if (dw_statedir_write(&pf->dir, PENDING_FILE, text, len, &diag) != DW_OK)
			log_warning("acme: %s", diag.msg);
		free(text);
	}
	close(pf->lock_fd);   /* releases the lock */
	pf->lock_fd = -1;
	dw_statedir_close(&pf->dir);
}

/* ---- Propagation ---- */

/* Waits until every authoritative server of each present target serves its
 * value: each round asks every server still missing it at once (TXT_SERVED
 * jobs for the publisher).  Returns an exit status. */
static int wait_served(const struct dw_config *cfg, struct dw_pub *pub,
                       const struct dw_acme_req *req, const struct target *t)
{
	long long start = now_ms();
	long long deadline = start + (long long)cfg->acme_timeout_s * 1000;
	bool done[DW_ACME_ITEMS_MAX][DW_DNSAUTH_SERVERS_MAX] = { { false } };
	for (;;) {
		size_t missing = 0;
		const char *miss_name = NULL, *miss_srv = NULL;
		for (size_t i = 0; i < req->n; i++) {
			if (!t[i].have_zone)
				continue;
			for (size_t s = 0; s < t[i].zone.nns; s++) {
				if (done[i][s])
					continue;
				struct dw_job *j = calloc(1, sizeof(*j));
				if (j == NULL) {
					log_error("out of memory");
					return DW_EXIT_RETRY;
				}
				j->kind = DW_JOB_TXT_SERVED;
				j->srv = t[i].zone.ns[s];
				memcpy(j->name, t[i].name, sizeof(j->name));
				snprintf(j->value, sizeof(j->value), "%s", req->items[i].value);
				j->tag = i * DW_DNSAUTH_SERVERS_MAX + s;
				dw_pub_submit(pub, cfg, j);
			}
		}
		for (struct dw_job *j; (j = dw_pub_wait_one(pub)) != NULL; free(j)) {
			size_t i = j->tag / DW_DNSAUTH_SERVERS_MAX, s = j->tag % DW_DNSAUTH_SERVERS_MAX;
			if (j->err != DW_OK)
				log_debug("acme: %s", j->msg);
			done[i][s] = j->err == DW_OK && j->has;
			if (!done[i][s]) {
				missing++;
				miss_name = t[i].name;
				miss_srv = t[i].zone.ns[s].text;
			}
		}
		if (missing == 0) {
			log_info("acme: every authoritative server serves the value%s after %lld ms",
			         req->n == 1 ? "" : "s", now_ms() - start);
			return DW_EXIT_OK;
		}
		long long left = deadline - now_ms();
		if (left <= 0) {
			log_error("acme: after %u s, %zu authoritative answer%s still lack%s the value "
			          "(e.g. %s at %s); raise acme-propagation-timeout or check the zone's "
			          "servers", cfg->acme_timeout_s, missing, missing == 1 ? "" : "s",
			          missing == 1 ? "s" : "", miss_name, miss_srv);
			return DW_EXIT_RETRY;
		}
		long long step = (long long)cfg->acme_poll_s * 1000;
		sleep_ms(step < left ? step : left);
	}
}

/* ---- The command ---- */

static int outcome_exit(enum dw_outcome o)
{
	if (dw_outcome_ok(o))
		return DW_EXIT_OK;
	return dw_outcome_needs_user(o) ? DW_EXIT_FATAL : DW_EXIT_RETRY;
}

static int worse(int a, int b)
{
	/* usage/config and fatal dominate retry */
	if (a == DW_EXIT_FATAL || b == DW_EXIT_FATAL)
		return DW_EXIT_FATAL;
	if (a == DW_EXIT_USAGE || b == DW_EXIT_USAGE)
		return DW_EXIT_USAGE;
	return a > b ? a : b;
}

/* For a provider holding one value per name: refuses a second value at the
 * same name, whether pending from an earlier call or in this one. */
static bool single_conflict(const struct pending_file *pf, const struct dw_acme_req *req,
                            const struct target *t, size_t i)
{
	const char *other = NULL;
	for (size_t k = 0; k < pf->n && other == NULL; k++) {
		if (strcmp(pf->v[k].name, t[i].name) == 0 &&
		    strcmp(pf->v[k].value, req->items[i].value) != 0)
			other = pf->v[k].value;
	}
	for (size_t k = 0; k < i && other == NULL; k++) {
		if (strcmp(t[k].name, t[i].name) == 0 &&
		    strcmp(req->items[k].value, req->items[i].value) != 0)
			other = req->items[k].value;
	}
	if (other == NULL)
		return false;
	log_error("acme: provider %s (type %s) holds one TXT value per name, and %s already "
	          "holds the pending value %.8s...: a second value would replace it and fail "
	          "that validation.  Order the name and its wildcard in separate certificates, "
	          "or delegate _acme-challenge to a provider that holds several values",
	          t[i].provider->name, t[i].provider->ops->type, t[i].name, other);
	return true;
}

int cmd_acme(struct dw_config *cfg, int argc, char **argv)
{
	struct dw_acme_req *req = calloc(1, sizeof(*req));
	struct target *t = calloc(DW_ACME_ITEMS_MAX, sizeof(*t));
	struct pending_file *pf = calloc(1, sizeof(*pf));
	struct dw_pub *pub = NULL;
	struct dw_diag diag = { "" };
	if (pf != NULL) {
		pf->lock_fd = -1;
		pf->dir.fd = -1;
	}
	int rc = DW_EXIT_OK;
	if (req == NULL || t == NULL || pf == NULL) {
		log_error("out of memory");
		rc = DW_EXIT_RETRY;
		goto out;
	}
	if (dw_acme_parse(argc, argv, env_get, req, &diag) != DW_OK) {
		log_error("acme: %s", diag.msg);
		rc = DW_EXIT_USAGE;
		goto out;
	}
	if (req->action == DW_ACME_NOTHING) {
		log_debug("acme: %s hook '%s' needs nothing from dnsward", req->client,
		          argc > 2 ? argv[2] : "");
		goto out;
	}
	bool any = false;
	for (size_t i = 0; cfg != NULL && i < cfg->nproviders; i++)
		any |= cfg->providers[i]->nacme_zones > 0;
	if (!any) {
		log_error("acme: no provider has acme-zones: list the zones whose challenges "
		          "each provider writes (docs/acme.md)");
		rc = DW_EXIT_USAGE;
		goto out;
	}

	/* The DNS questions and the provider calls are the publisher's. */
	struct dw_pub_opts po;
	dw_pub_opts_from(cfg, &po);
	po.idle_ms = cfg->acme_poll_s * 1000u + 1000u;   /* kept between polls */
	if (dw_pub_new(&po, &pub, &diag) != DW_OK) {
		log_error("acme: %s", diag.msg);
		rc = DW_EXIT_USAGE;
		goto out;
	}

	/* ACME clients run hooks as root; the state directory belongs to the
	 * daemon's user.  Everything from here on (DNS queries, the provider's
	 * request, the pending file) runs as that user, confined. */
	if (dw_sandbox_enter_parent(cfg, 0, dw_pub_exec_fd(pub), &diag) != DW_OK) {
		log_error("acme: %s", diag.msg);
		rc = DW_EXIT_USAGE;
		goto out;
	}
	/* A state directory we may not work in is refused before anything
	 * is asked or changed (lib/statedir.h). */
	struct dw_statedir sd;
	if (dw_statedir_open(cfg->state_dir, DW_STATEDIR_CREATE | DW_STATEDIR_OWNER, &sd,
	                     &diag) != DW_OK) {
		log_error("acme: %s", diag.msg);
		rc = DW_EXIT_USAGE;
		goto out;
	}
	dw_statedir_close(&sd);

	bool present = req->action == DW_ACME_PRESENT;
	bool must_know = present && cfg->acme_timeout_s > 0;
	for (size_t i = 0; i < req->n; i++) {
		int r = resolve(cfg, pub, req->items[i].name, must_know, &t[i]);
		if (r != DW_EXIT_OK) {
			rc = r;
			goto out;
		}
	}

	if ((rc = pending_open(cfg, pf)) != DW_EXIT_OK)
		goto out;
	for (size_t i = 0; i < req->n; i++) {
		struct dw_provider *p = t[i].provider;
		const char *value = req->items[i].value;
		if (present && (p->ops->caps & DW_CAP_TXT_SINGLE) && single_conflict(pf, req, t, i)) {
			rc = worse(rc, DW_EXIT_FATAL);
			continue;
		}
		struct dw_job *j = calloc(1, sizeof(*j));
		if (j != NULL) {
			j->kind = present ? DW_JOB_TXT_ADD : DW_JOB_TXT_DEL;
			j->p = p;
			memcpy(j->name, t[i].name, sizeof(j->name));
			snprintf(j->value, sizeof(j->value), "%s", value);
			j->ttl = cfg->acme_ttl;
		}
		if ((j = call(pub, cfg, j)) == NULL) {
			rc = worse(rc, DW_EXIT_RETRY);
			continue;
		}
		struct dw_result r = j->res[0];
		free(j);
		if (dw_outcome_ok(r.outcome)) {
			/* Hooks succeed in silence (-v shows this): certbot reports
			 * any stderr output as "ran with error output". */
			log_info("acme: %s %s at %s via %s: %s", present ? "added" : "removed",
			         value, t[i].name, p->name, r.msg);
			if (present)
				pending_add(pf, t[i].name, value, p->name);
			else
				pending_del(pf, t[i].name, value);
		} else {
			char wait[48] = "";
			if (!dw_outcome_needs_user(r.outcome) && r.retry_after_s >= 0)
				snprintf(wait, sizeof(wait), ": retry after %ld s", r.retry_after_s);
			log_error("acme: %s the value at %s via %s failed: %s%s",
			          present ? "adding" : "removing", t[i].name, p->name, r.msg, wait);
			rc = worse(rc, outcome_exit(r.outcome));
		}
	}
	pending_close(pf);
	if (rc == DW_EXIT_OK && present && cfg->acme_timeout_s > 0)
		rc = wait_served(cfg, pub, req, t);
out:
	dw_pub_free(pub);
	if (pf != NULL)
		pending_close(pf);
	free(pf);
	free(t);
	free(req);
	return rc;
}
