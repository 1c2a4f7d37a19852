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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dnsward/commands.h"
#include "lib/acme.h"
#include "lib/dnsauth.h"
#include "lib/log.h"
#include "lib/provider.h"

#define CNAME_HOPS_MAX 8
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

/* Follows CNAMEs from name at the authoritative servers and picks the
 * provider.  Returns an exit status. */
static int resolve(const struct dw_config *cfg, const struct dw_dnsauth_cfg *acfg,
                   const char *name, bool must_know_servers, struct target *t)
{
	struct dw_diag diag = { "" };
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name, sizeof(t->name));
	for (int hop = 0;; hop++) {
		if (hop == CNAME_HOPS_MAX) {
			log_error("acme: more than %d CNAMEs from %s", CNAME_HOPS_MAX, name);
			return DW_EXIT_FATAL;
		}
		int ret = dw_dnsauth_find(acfg, t->name, &t->zone, &diag);
		bool found = false;
		char target[DW_DNS_NAME_MAX];
		if (ret == DW_OK)
			ret = dw_dnsauth_cname(&t->zone, t->name, &found, target, &diag);
		if (ret != DW_OK) {
			if (provider_for(cfg, name) == NULL && provider_for(cfg, t->name) == NULL)
				break;   /* reported below: a configuration matter */
			if (must_know_servers) {
				log_error("acme: cannot ask the authoritative servers of %s: %s "
				          "(set acme-nameservers or acme-resolvers, or "
				          "acme-propagation-timeout = 0 to skip the check)", t->name, diag.msg);
				return DW_EXIT_RETRY;
			}
			log_info("acme: %s: %s; using the name as it is", t->name, diag.msg);
			t->have_zone = false;
			break;
		}
		t->have_zone = true;
		if (!found)
			break;
		log_info("acme: %s is an alias of %s", t->name, target);
		memcpy(t->name, target, sizeof(t->name));
	}
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

struct pending_file {
	int lock_fd;
	char path[4096];
	struct pending v[PENDING_MAX];
	size_t n;
};

static int pending_open(const struct dw_config *cfg, struct pending_file *pf)
{
	char lock[4096];
	pf->n = 0;
	pf->lock_fd = -1;
	int a = snprintf(pf->path, sizeof(pf->path), "%s/acme-pending", cfg->state_dir);
	int b = snprintf(lock, sizeof(lock), "%s/acme-pending.lock", cfg->state_dir);
	if (a < 0 || (size_t)a >= sizeof(pf->path) || b < 0 || (size_t)b >= sizeof(lock)) {
		log_error("acme: state-dir path too long");
		return DW_EXIT_USAGE;
	}
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		log_error("acme: cannot create state-dir %s: %s", cfg->state_dir, strerror(errno));
		return DW_EXIT_RETRY;
	}
	pf->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (pf->lock_fd < 0 || flock(pf->lock_fd, LOCK_EX) != 0) {
		log_error("acme: cannot lock %s: %s", lock, strerror(errno));
		if (pf->lock_fd >= 0)
			close(pf->lock_fd);
		pf->lock_fd = -1;
		return DW_EXIT_RETRY;
	}
	FILE *f = fopen(pf->path, "re");
	if (f == NULL)
		return DW_EXIT_OK;   /* nothing pending */
	char line[512];
	long long now = (long long)time(NULL);
	while (fgets(line, sizeof(line), f) != NULL && pf->n < PENDING_MAX) {
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
	fclose(f);
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
	if (pf->n == 0) {
		if (unlink(pf->path) != 0 && errno != ENOENT)
			log_warning("acme: cannot remove %s: %s", pf->path, strerror(errno));
	} else {
		char tmp[4200];
		int w = snprintf(tmp, sizeof(tmp), "%s.tmp", pf->path);
		FILE *f = w > 0 && (size_t)w < sizeof(tmp) ? fopen(tmp, "we") : NULL;
		bool ok = f != NULL;
		for (size_t i = 0; ok && i < pf->n; i++)
			ok = fprintf(f, "%s %s %s %lld\n", pf->v[i].name, pf->v[i].value,
			             pf->v[i].provider, pf->v[i].when) > 0;
		if (f != NULL && (fflush(f) != 0 || fsync(fileno(f)) != 0))
			ok = false;
		if (f != NULL && fclose(f) != 0)
			ok = false;
		if (!ok || rename(tmp, pf->path) != 0) {
			log_warning("acme: cannot write %s: %s", pf->path, strerror(errno));
			(void)unlink(tmp);
		}
	}
	close(pf->lock_fd);   /* releases the lock */
	pf->lock_fd = -1;
}

/* ---- Propagation ---- */

/* Waits until every authoritative server of each present target serves its
 * value.  Returns an exit status. */
static int wait_served(const struct dw_config *cfg, const struct dw_acme_req *req,
                       const struct target *t)
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
				bool has = false;
				struct dw_diag diag = { "" };
				if (dw_dnsauth_txt_has(&t[i].zone.ns[s], t[i].name, req->items[i].value,
				                       &has, &diag) != DW_OK)
					log_debug("acme: %s", diag.msg);
				done[i][s] = has;
				if (!has) {
					missing++;
					miss_name = t[i].name;
					miss_srv = t[i].zone.ns[s].text;
				}
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
	struct dw_diag diag = { "" };
	if (pf != NULL)
		pf->lock_fd = -1;
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

	/* Where to ask: fixed authoritative servers, else recursive resolvers. */
	struct dw_dnsauth_setup setup;
	if (dw_dnsauth_setup(cfg->acme_nameservers, cfg->acme_resolvers, QUERY_TIMEOUT_MS,
	                     &setup, &diag) != DW_OK) {
		log_error("acme: acme-nameservers/acme-resolvers: %s", diag.msg);
		rc = DW_EXIT_USAGE;
		goto out;
	}
	const struct dw_dnsauth_cfg *acfg = &setup.cfg;

	bool present = req->action == DW_ACME_PRESENT;
	bool must_know = present && cfg->acme_timeout_s > 0;
	for (size_t i = 0; i < req->n; i++) {
		int r = resolve(cfg, acfg, req->items[i].name, must_know, &t[i]);
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
		struct dw_result r = { .outcome = DW_OUT_FATAL, .retry_after_s = -1 };
		if (present) {
			if ((p->ops->caps & DW_CAP_TXT_SINGLE) && single_conflict(pf, req, t, i)) {
				rc = worse(rc, DW_EXIT_FATAL);
				continue;
			}
			p->ops->txt_add(p, t[i].name, value, cfg->acme_ttl, &r);
		} else {
			p->ops->txt_del(p, t[i].name, value, &r);
		}
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
		rc = wait_served(cfg, req, t);
out:
	if (pf != NULL)
		pending_close(pf);
	free(pf);
	free(t);
	free(req);
	return rc;
}
