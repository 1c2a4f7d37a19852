/* HTTP front end: routing, authentication, scope checks, replies. */
#include "gateway/gw_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gw_api.h"
#include "gateway/gw_parse.h"
#include "gateway/gw_token.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/secret.h"

#define URI_MAX 4096
#define CONN_MEMORY (16 * 1024)
#define DISCARD_MAX (64 * 1024)   /* oversized chunked body read before closing */
#define REALM "Basic realm=\"dnsward-gateway\", charset=\"UTF-8\""

struct gw_server {
	struct gw_server_deps d;
	struct MHD_Daemon *mhd[GW_LISTEN_MAX];
	size_t nmhd;
	int fd[GW_LISTEN_MAX];           /* bound, not yet handed to a daemon */
	char desc[GW_LISTEN_MAX][128];   /* "https://127.0.0.1:8053" */
	size_t nfd;
	bool tls;
	char *cert_pem;
	struct dw_secret key;
	uint8_t dummy_hash[GW_TOKEN_HASH_LEN];
};

/* Per-request state, created by the URI callback (first thing MHD calls). */
struct req {
	char uri[URI_MAX + 1];
	bool uri_too_long;
	bool started;
	char body[GW_BODY_MAX + 1];
	size_t blen;
	bool body_too_big;
	size_t discarded;        /* bytes of an oversized body thrown away */
};

/* What a handler answers. */
struct reply {
	unsigned status;
	const char *ctype;
	char *body;              /* malloc'ed */
	size_t len;
	long retry_after;        /* -1: none */
	bool www_auth;
	enum gw_result result;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reply_text(struct reply *r, unsigned status, enum gw_result res, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_text(struct reply *r, unsigned status, enum gw_result res, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	free(r->body);
	r->body = strndup(buf, (size_t)n);
	r->len = r->body != NULL ? (size_t)n : 0;
	r->status = status;
	r->ctype = "text/plain; charset=utf-8";
	r->result = res;
}

/* {"key": "value"} with value escaped. */
static void reply_json1(struct reply *r, unsigned status, enum gw_result res, const char *key,
                        const char *value)
{
	char esc[512];
	if (dw_escape_json(value, esc, sizeof(esc)) != DW_OK)
		esc[0] = '\0';
	reply_text(r, status, res, "{\"%s\": \"%s\"}", key, esc);
	r->ctype = "application/json";
}

/* The database failed (gw_store logged it with what to do): a 5xx naming
 * the store, with a code that means "retry later" to dyndns2 clients. */
#define STORE_RETRY_AFTER_S 60
static void reply_store(struct reply *r, enum gw_api api)
{
	if (api == GW_API_ACMEDNS || api == GW_API_REGISTER)
		reply_json1(r, 503, GW_R_STORE, "error", "store_unavailable");
	else
		reply_text(r, 503, GW_R_STORE, "%s", api == GW_API_DYNDNS2 ? "911\n" :
		           "store unavailable: the gateway cannot use its database; retry later\n");
	r->retry_after = STORE_RETRY_AFTER_S;
}

/* What a host is told when the provider refused its value for good. */
#define REFUSED_MSG "the gateway's DNS provider refused this change for good; only the " \
	"gateway's operator can fix it ('dnsward-gateway host list' shows the cause); the same " \
	"request is tried again only after a cool-down"

/* ---- request helpers ---------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static bool peer_addr(struct MHD_Connection *c, struct dw_ip *out)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return false;
	const struct sockaddr *sa = ci->client_addr;
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		out->family = DW_FAM_V4;
		memcpy(out->bytes, &s4->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		char t[DW_IP_STRLEN];
		inet_ntop(AF_INET6, &s6->sin6_addr, t, sizeof(t));
		return gw_ip_parse_unmapped(t, out) == DW_OK;
	}
	return false;
}

/* Outcome of authentication. */
enum auth {
	AUTH_OK = 0,
	AUTH_BAD,        /* wrong user/token, expired, source not allowed */
	AUTH_LOCKED,     /* too many failures from this source */
	AUTH_ERROR,      /* database */
};

/* Checks user (host FQDN) + token, and the lockout of the source, which
 * the store counts for every instance.  One query finds the token, its
 * host and the source's lockout.  Timing: the token hash is computed and
 * compared whether or not its id exists. */
static enum auth authenticate(struct gw_server *srv, struct gw_db *db, const char *user,
                              const char *token, const struct dw_ip *client,
                              struct gw_host *host, char token_id[GW_TOKEN_ID_LEN + 1],
                              long *retry)
{
	uint8_t key[16];
	gw_rate_key_ip(client, key);
	int64_t now = mono_ms(), wall = (int64_t)time(NULL);
	if (gw_rate_locked(srv->d.rate, key, now, retry))
		return AUTH_LOCKED;   /* known here already: the store is spared */
	size_t tlen = strlen(token);
	if (gw_token_parse(token, tlen, token_id) != DW_OK)
		token_id[0] = '\0';
	struct gw_auth au;
	if (gw_db_auth(db, token_id, key, &au) != DW_OK)
		return AUTH_ERROR;
	if (au.locked_until > wall) {
		gw_rate_lock(srv->d.rate, key, now, now + (au.locked_until - wall) * 1000);
		*retry = (long)(au.locked_until - wall);
		return AUTH_LOCKED;
	}
	bool match = gw_token_verify(token, tlen, au.token_found ? au.hash : srv->dummy_hash) &&
	             au.token_found;
	bool ok = false;
	if (match && au.host_found) {
		*host = au.host;
		char u[GW_CRED_MAX];
		snprintf(u, sizeof(u), "%s", user);
		ok = gw_name_normalize(u) == DW_OK && strcmp(u, host->fqdn) == 0;
		if (ok && host->expires != 0 && host->expires <= wall) {
			log_notice("token %s of %s has expired", token_id, host->fqdn);
			ok = false;
		}
		if (ok && host->allow[0] != '\0') {
			struct gw_cidrs allow;
			if (gw_cidrs_parse(host->allow, &allow) != DW_OK || !gw_cidrs_contain(&allow, client)) {
				char ip[DW_IP_STRLEN];
				log_notice("%s: request from %s, outside its allowed sources", host->fqdn,
				           dw_ip_format(client, ip));
				ok = false;
			}
		}
	}
	if (!ok) {
		char ip[DW_IP_STRLEN];
		int64_t until = 0;
		log_notice("bad credentials from %s", dw_ip_format(client, ip));
		if (gw_db_lockout_fail(db, key, wall, srv->d.conf->lockout_s,
		                       srv->d.conf->lockout_failures, &until) != DW_OK)
			return AUTH_ERROR;
		if (until > wall) {
			gw_rate_lock(srv->d.rate, key, now, now + (until - wall) * 1000);
			*retry = (long)(until - wall);
			return AUTH_LOCKED;
		}
		return AUTH_BAD;
	}
	return AUTH_OK;
}

/* Per-source and per-token budgets.  false: *retry set. */
static bool rate_source(struct gw_server *srv, const struct dw_ip *client, long *retry)
{
	uint8_t key[16];
	gw_rate_key_ip(client, key);
	return gw_rate_take(srv->d.rate, key, srv->d.conf->rate_source, mono_ms(), retry);
}

static bool rate_token(struct gw_server *srv, int64_t host_id, long *retry)
{
	uint8_t key[16];
	gw_rate_key_host(host_id, key);
	return gw_rate_take(srv->d.rate, key, srv->d.conf->rate_token, mono_ms(), retry);
}

/* An audit row; in a transaction, the change is committed with its row or
 * not at all (the store logs a failure once). */
static int audit(struct gw_db *db, const struct gw_host *h, const char *name,
                 const char *token_id, const char *action, const char *old_value,
                 const char *new_value, const struct dw_ip *client, const char *result)
{
	char ip[DW_IP_STRLEN];
	struct gw_audit a = { .host = h != NULL ? h->fqdn : name, .token_id = token_id,
	                      .action = action, .old_value = old_value, .new_value = new_value,
	                      .source = dw_ip_format(client, ip), .result = result };
	return gw_db_audit(db, &a);
}

/* One audit row for a refused request, within the host's budget
 * (audit-refusals rows a minute); refusals over it are counted into the
 * host's next refusal row (count) rather than written one by one, so a
 * host cannot grow the database by asking for what it may not have. */
static void audit_refusal(struct gw_server *srv, struct gw_db *db, const struct gw_host *h,
                          const char *token_id, const char *action, const char *names,
                          const struct dw_ip *client, const char *result)
{
	uint8_t key[16];
	uint64_t skipped = 0;
	gw_rate_key_audit(h->id, key);
	if (!gw_rate_take_counted(srv->d.rate, key, srv->d.conf->audit_refusals, mono_ms(),
	                          &skipped)) {
		gw_metrics_audit_skipped(srv->d.m, 1);
		return;
	}
	char ip[DW_IP_STRLEN];
	struct gw_audit a = { .host = h->fqdn, .token_id = token_id, .action = action,
	                      .new_value = names, .source = dw_ip_format(client, ip),
	                      .result = result, .count = 1 + (int64_t)skipped };
	(void)gw_db_audit(db, &a);
}

/* Waits for the upstream after a committed change; the caller then reads
 * its rows back. */
static enum gw_up_result push(struct gw_server *srv, const struct gw_host *h, char *msg,
                              size_t cap)
{
	return gw_upstream_kick(srv->d.up, h->id, srv->d.conf->upstream_wait_s * 1000u, msg, cap);
}

/* ---- dyndns2 ------------------------------------------------------------ */

static void h_dyndns2(struct gw_server *srv, struct MHD_Connection *c, struct req *rq,
                      const struct dw_ip *client, struct gw_db *db, struct reply *r)
{
	const char *q = strchr(rq->uri, '?');
	struct gw_query query;
	if (gw_query_parse(q != NULL ? q + 1 : "", q != NULL ? strlen(q + 1) : 0, &query) != DW_OK) {
		reply_text(r, 400, GW_R_BADREQUEST, "badrequest\n");
		return;
	}
	char user[GW_CRED_MAX], pass[GW_CRED_MAX];
	const char *authz = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	if (authz == NULL) {
		reply_text(r, 401, GW_R_BADAUTH, "badauth\n");
		r->www_auth = true;
		return;
	}
	struct gw_host host;
	char tid[GW_TOKEN_ID_LEN + 1] = "";
	enum auth a = AUTH_BAD;
	if (gw_basic_parse(authz, user, pass) == DW_OK)
		a = authenticate(srv, db, user, pass, client, &host, tid, &r->retry_after);
	else
		a = authenticate(srv, db, "", "", client, &host, tid, &r->retry_after);
	sodium_memzero(pass, sizeof(pass));
	if (a == AUTH_LOCKED) {
		reply_text(r, 429, GW_R_LOCKED, "abuse\n");
		return;
	}
	if (a == AUTH_ERROR) {
		reply_store(r, GW_API_DYNDNS2);
		return;
	}
	if (a == AUTH_BAD) {
		reply_text(r, 200, GW_R_BADAUTH, "badauth\n");
		return;
	}
	if (!rate_token(srv, host.id, &r->retry_after)) {
		reply_text(r, 429, GW_R_RATELIMITED, "911\n");
		return;
	}

	struct gw_dd_req dd;
	enum gw_dd_err de = gw_dd_parse(&query, &dd);
	if (de == GW_DD_NOHOST) {
		reply_text(r, 200, GW_R_NOTFQDN, "notfqdn\n");
		return;
	}
	if (de == GW_DD_TOOMANY) {
		reply_text(r, 200, GW_R_NUMHOST, "numhost\n");
		return;
	}
	if (de == GW_DD_BADIP) {
		reply_text(r, 400, GW_R_BADREQUEST, "badrequest\n");
		return;
	}

	/* Scope: every name must be the token's own host; one foreign name
	 * refuses the whole request (nothing is changed). */
	const char *codes[GW_DD_MAX_NAMES];
	const char *refusal = NULL;
	enum gw_result refusal_res = GW_R_NOHOST;
	for (size_t i = 0; i < dd.nnames; i++) {
		codes[i] = NULL;
		if (!dd.names[i].valid) {
			codes[i] = "notfqdn";
		} else if (strcmp(dd.names[i].name, host.fqdn) != 0) {
			struct gw_host other;
			int ret = gw_db_host_get(db, dd.names[i].name, &other);
			codes[i] = ret == DW_OK ? "!yours" : "nohost";
		}
		if (codes[i] != NULL && refusal == NULL) {
			refusal = codes[i];
			refusal_res = strcmp(refusal, "!yours") == 0 ? GW_R_NOTYOURS :
			              strcmp(refusal, "notfqdn") == 0 ? GW_R_NOTFQDN : GW_R_NOHOST;
		}
	}
	if (refusal != NULL) {
		char body[GW_DD_MAX_NAMES * 16];
		char names[GW_FQDN_MAX];   /* the refused names, for one audit row */
		size_t off = 0, noff = 0;
		names[0] = '\0';
		for (size_t i = 0; i < dd.nnames; i++) {
			int n = snprintf(body + off, sizeof(body) - off, "%s\n",
			                 codes[i] != NULL ? codes[i] : refusal);
			if (n > 0 && (size_t)n < sizeof(body) - off)
				off += (size_t)n;
			if (codes[i] == NULL)
				continue;
			const char *nm = dd.names[i].valid ? dd.names[i].name : "(invalid name)";
			n = snprintf(names + noff, sizeof(names) - noff, "%s%s", noff ? "," : "", nm);
			if (n > 0 && (size_t)n < sizeof(names) - noff) {
				noff += (size_t)n;
			} else if (noff + 4 < sizeof(names)) {
				memcpy(names + noff, ",...", 5);
				noff = sizeof(names);   /* full: no more names */
			}
		}
		audit_refusal(srv, db, &host, tid, "update", names, client, refusal);
		reply_text(r, 200, refusal_res, "%s", body);
		log_notice("%s (token %s) asked to update a name outside its scope: %s", host.fqdn,
		           tid, refusal);
		return;
	}

	/* The addresses to publish. */
	if (dd.has_prefix) {
		struct dw_ip iid;
		if (host.iid[0] == '\0' || dw_ip_parse(host.iid, DW_FAM_V6, &iid) != DW_OK ||
		    gw_prefix_combine(dd.prefix, &iid, &dd.ip[DW_FAM_V6]) != DW_OK) {
			reply_text(r, 400, GW_R_BADREQUEST, "badrequest\n");
			return;
		}
		dd.has_ip[DW_FAM_V6] = true;
	}
	if (!dd.has_ip[DW_FAM_V4] && !dd.has_ip[DW_FAM_V6]) {
		dd.has_ip[client->family] = true;
		dd.ip[client->family] = *client;
	}

	char v4s[DW_IP_STRLEN] = "", v6s[DW_IP_STRLEN] = "";
	char addrs[2 * DW_IP_STRLEN + 2] = "";
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (dd.has_ip[f])
			dw_ip_format(&dd.ip[f], f == DW_FAM_V4 ? v4s : v6s);
	}
	/* Most requests repeat what is stored (a router polling): read first,
	 * outside any transaction (WAL readers wait for nobody), and take the
	 * write lock only when a value differs, or a refused one may be tried
	 * again. */
	enum gw_want want[DW_FAM_COUNT] = { GW_WANT_SAME, GW_WANT_SAME };
	bool write = false;
	int64_t now = (int64_t)time(NULL);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (!dd.has_ip[f])
			continue;
		struct gw_rec cur;
		int ret = gw_db_addr_get(db, host.id, f == DW_FAM_V4 ? GW_RT_A : GW_RT_AAAA, &cur);
		if (ret != DW_OK && ret != DW_ENOTFOUND) {
			reply_store(r, GW_API_DYNDNS2);
			return;
		}
		if (ret == DW_ENOTFOUND || strcmp(cur.value, f == DW_FAM_V4 ? v4s : v6s) != 0 ||
		    (cur.failed && cur.next_retry <= now))
			write = true;
		else if (cur.failed)
			want[f] = GW_WANT_REFUSED;
		else if (!cur.applied)
			want[f] = GW_WANT_PENDING;   /* same value, still waiting for the upstream */
	}
	if (write) {
		/* Decided again under the lock: another request may have written
		 * the same value since. */
		if (gw_db_begin(db) != DW_OK) {
			reply_store(r, GW_API_DYNDNS2);
			return;
		}
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (!dd.has_ip[f])
				continue;
			const char *ip = f == DW_FAM_V4 ? v4s : v6s;
			enum gw_rtype rt = f == DW_FAM_V4 ? GW_RT_A : GW_RT_AAAA;
			struct gw_rec cur;
			int ret = gw_db_addr_get(db, host.id, rt, &cur);
			bool had = ret == DW_OK;
			if (ret == DW_OK || ret == DW_ENOTFOUND)
				ret = gw_db_addr_set(db, host.id, rt, ip, &want[f]);
			if (ret == DW_OK && want[f] == GW_WANT_CHANGED) {
				char action[16];
				snprintf(action, sizeof(action), "update-%s", gw_rtype_str(rt));
				ret = audit(db, &host, NULL, tid, action, had ? cur.value : NULL, ip,
				            client, "accepted");
			}
			if (ret != DW_OK) {
				gw_db_rollback(db);
				reply_store(r, GW_API_DYNDNS2);
				return;
			}
		}
		if (gw_db_commit(db) != DW_OK) {
			reply_store(r, GW_API_DYNDNS2);
			return;
		}
	}
	/* Wait for the upstream when there is something to send, then read
	 * back how each value stands. */
	bool send = false, changed = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		send |= want[f] == GW_WANT_CHANGED || want[f] == GW_WANT_PENDING;
		changed |= want[f] == GW_WANT_CHANGED;
	}
	if (send) {
		char msg[256];
		if (push(srv, &host, msg, sizeof(msg)) == GW_UP_STORE) {
			reply_store(r, GW_API_DYNDNS2);
			return;
		}
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (want[f] != GW_WANT_CHANGED && want[f] != GW_WANT_PENDING)
				continue;
			struct gw_rec cur;
			int ret = gw_db_addr_get(db, host.id, f == DW_FAM_V4 ? GW_RT_A : GW_RT_AAAA, &cur);
			if (ret != DW_OK && ret != DW_ENOTFOUND) {
				reply_store(r, GW_API_DYNDNS2);
				return;
			}
			bool mine = ret == DW_OK && strcmp(cur.value, f == DW_FAM_V4 ? v4s : v6s) == 0;
			want[f] = mine && cur.applied ? GW_WANT_SAME :
			          mine && cur.failed ? GW_WANT_REFUSED : GW_WANT_PENDING;
		}
	}
	enum gw_result res = changed ? GW_R_GOOD : GW_R_NOCHG;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (want[f] == GW_WANT_REFUSED)
			res = GW_R_REFUSED;
		else if (want[f] == GW_WANT_PENDING && res != GW_R_REFUSED)
			res = GW_R_UPSTREAM_FAILED;
	}
	snprintf(addrs, sizeof(addrs), "%s%s%s", v4s, v4s[0] && v6s[0] ? "," : "", v6s);
	/* A refusal for good: "!active", which clients stop on (inadyn exits,
	 * dnsward parks the record); "dnserr" would make them retry.  Still
	 * queued: "911" (retry later; the gateway retries on its own). */
	const char *word = res == GW_R_GOOD ? "good" : res == GW_R_NOCHG ? "nochg" :
	                   res == GW_R_REFUSED ? "!active" : "911";
	bool with_ip = res == GW_R_GOOD || res == GW_R_NOCHG;
	char body[GW_DD_MAX_NAMES * (2 * DW_IP_STRLEN + 10)];
	size_t off = 0;
	for (size_t i = 0; i < dd.nnames; i++) {
		int n = snprintf(body + off, sizeof(body) - off, "%s%s%s\n", word, with_ip ? " " : "",
		                 with_ip ? addrs : "");
		if (n > 0 && (size_t)n < sizeof(body) - off)
			off += (size_t)n;
	}
	reply_text(r, 200, res, "%s", body);
}

/* ---- ACME (acme-dns and httpreq) ---------------------------------------- */

/* Sets or removes one TXT value of host, waits for the upstream, and reads
 * back how the value stands: GW_R_GOOD / NOCHG (done), REFUSED (for good),
 * UPSTREAM_FAILED (queued, retried), STORE. */
static enum gw_result txt_change(struct gw_server *srv, struct gw_db *db,
                                 const struct gw_host *h, const char *tid,
                                 const struct dw_ip *client, const char *value, bool present,
                                 unsigned keep_max, const char *action)
{
	enum gw_want want = GW_WANT_SAME;
	if (gw_db_begin(db) != DW_OK)
		return GW_R_STORE;
	int ret = gw_db_txt_set(db, h->id, value, present, keep_max, &want);
	if (ret == DW_OK && (want == GW_WANT_CHANGED || want == GW_WANT_DROPPED))
		ret = audit(db, h, NULL, tid, action, NULL, value, client,
		            want == GW_WANT_DROPPED ? "never-published" : "accepted");
	if (ret != DW_OK) {
		gw_db_rollback(db);
		return GW_R_STORE;
	}
	if (gw_db_commit(db) != DW_OK)
		return GW_R_STORE;
	switch (want) {
	case GW_WANT_SAME:
		return GW_R_NOCHG;
	case GW_WANT_DROPPED:
		return GW_R_GOOD;   /* it never reached the provider: nothing to remove */
	case GW_WANT_REFUSED:
		return GW_R_REFUSED;
	default:
		break;
	}
	char msg[256];
	if (push(srv, h, msg, sizeof(msg)) == GW_UP_STORE)
		return GW_R_STORE;
	struct gw_rec cur;
	ret = gw_db_txt_get(db, h->id, value, &cur);
	if (ret != DW_OK && ret != DW_ENOTFOUND)
		return GW_R_STORE;
	if (present) {
		if (ret == DW_OK && cur.present && cur.applied)
			return want == GW_WANT_CHANGED ? GW_R_GOOD : GW_R_NOCHG;
		if (ret == DW_OK && cur.present && cur.failed)
			return GW_R_REFUSED;
		return GW_R_UPSTREAM_FAILED;
	}
	if (ret == DW_ENOTFOUND || cur.present)
		return GW_R_GOOD;   /* removed (or added again meanwhile) */
	return cur.failed ? GW_R_REFUSED : GW_R_UPSTREAM_FAILED;
}

static void h_acmedns_update(struct gw_server *srv, struct MHD_Connection *c, struct req *rq,
                             const struct dw_ip *client, struct gw_db *db, struct reply *r)
{
	const char *user = header(c, "X-Api-User");
	const char *key = header(c, "X-Api-Key");
	if (user == NULL || key == NULL) {
		reply_json1(r, 401, GW_R_BADAUTH, "error", "forbidden");
		return;
	}
	struct gw_host host;
	char tid[GW_TOKEN_ID_LEN + 1];
	enum auth a = authenticate(srv, db, user, key, client, &host, tid, &r->retry_after);
	if (a == AUTH_LOCKED) {
		reply_json1(r, 429, GW_R_LOCKED, "error", "too_many_failures");
		return;
	}
	if (a == AUTH_ERROR) {
		reply_store(r, GW_API_ACMEDNS);
		return;
	}
	if (a != AUTH_OK) {
		reply_json1(r, 401, GW_R_BADAUTH, "error", "forbidden");
		return;
	}
	if (!rate_token(srv, host.id, &r->retry_after)) {
		reply_json1(r, 429, GW_R_RATELIMITED, "error", "rate_limited");
		return;
	}
	struct gw_acmedns_req ar;
	switch (gw_acmedns_parse(rq->body, rq->blen, &ar)) {
	case GW_JSON_OK:
		break;
	case GW_JSON_BAD_NAME:
		reply_json1(r, 400, GW_R_BADREQUEST, "error", "bad_subdomain");
		return;
	case GW_JSON_BAD_TXT:
		reply_json1(r, 400, GW_R_BADREQUEST, "error", "bad_txt");
		return;
	default:
		reply_json1(r, 400, GW_R_BADREQUEST, "error", "malformed_json_payload");
		return;
	}
	/* The subdomain is the host's own name (or its _acme-challenge name). */
	char own[GW_NAME_MAX + 16];
	bool mine = strcmp(ar.subdomain, host.fqdn) == 0 ||
	            (gw_acme_name(host.fqdn, own, sizeof(own)) && strcmp(ar.subdomain, own) == 0);
	if (!mine || !host.acme) {
		audit_refusal(srv, db, &host, tid, "acmedns-update", ar.subdomain, client,
		              mine ? "acme-not-allowed" : "!yours");
		reply_json1(r, 401, GW_R_FORBIDDEN, "error", "forbidden");
		return;
	}
	enum gw_result res = txt_change(srv, db, &host, tid, client, ar.txt, true, 2, "txt-add");
	if (res == GW_R_GOOD || res == GW_R_NOCHG) {
		reply_json1(r, 200, res, "txt", ar.txt);
	} else if (res == GW_R_STORE) {
		reply_store(r, GW_API_ACMEDNS);
	} else if (res == GW_R_REFUSED) {
		reply_text(r, 424, res, "{\"error\": \"upstream_refused\", \"message\": \"%s\"}",
		           REFUSED_MSG);
		r->ctype = "application/json";
	} else {
		reply_json1(r, 502, res, "error", "upstream_failed");
	}
}

static void h_register(struct gw_server *srv, struct MHD_Connection *c,
                       const struct dw_ip *client, struct gw_db *db, struct reply *r)
{
	if (!srv->d.conf->enable_register) {
		reply_json1(r, 403, GW_R_FORBIDDEN, "error", "registration_disabled");
		return;
	}
	/* Enabled: a host that authenticates gets the acme-dns account record
	 * describing its own credentials (for clients that keep an acme-dns
	 * account file).  Nothing new is created: a credential for a name no
	 * admin added would be worthless, and a new secret would widen access. */
	const char *user = header(c, "X-Api-User");
	const char *key = header(c, "X-Api-Key");
	struct gw_host host;
	char tid[GW_TOKEN_ID_LEN + 1];
	enum auth a = user != NULL && key != NULL
	              ? authenticate(srv, db, user, key, client, &host, tid, &r->retry_after)
	              : AUTH_BAD;
	if (a == AUTH_ERROR) {
		reply_store(r, GW_API_REGISTER);
		return;
	}
	if (a != AUTH_OK || !host.acme) {
		reply_json1(r, a == AUTH_LOCKED ? 429 : 401, a == AUTH_LOCKED ? GW_R_LOCKED : GW_R_BADAUTH,
		            "error", "forbidden");
		return;
	}
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "username", host.fqdn, "password", key,
	                        "fulldomain", "", "subdomain", host.fqdn, "allowfrom");
	char own[GW_NAME_MAX + 16];
	if (doc != NULL && gw_acme_name(host.fqdn, own, sizeof(own)))
		json_object_set_new(doc, "fulldomain", json_string(own));
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL) {
		reply_json1(r, 500, GW_R_ERROR, "error", "internal");
		return;
	}
	free(r->body);
	r->body = text;
	r->len = strlen(text);
	r->status = 201;
	r->ctype = "application/json";
	r->result = GW_R_OK;
}

static void h_httpreq(struct gw_server *srv, struct MHD_Connection *c, struct req *rq,
                      const struct dw_ip *client, struct gw_db *db, bool present,
                      struct reply *r)
{
	const char *authz = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	if (authz == NULL) {
		reply_text(r, 401, GW_R_BADAUTH, "unauthorized\n");
		r->www_auth = true;
		return;
	}
	char user[GW_CRED_MAX], pass[GW_CRED_MAX];
	struct gw_host host;
	char tid[GW_TOKEN_ID_LEN + 1] = "";
	bool parsed = gw_basic_parse(authz, user, pass) == DW_OK;
	enum auth a = authenticate(srv, db, parsed ? user : "", parsed ? pass : "", client, &host,
	                           tid, &r->retry_after);
	sodium_memzero(pass, sizeof(pass));
	if (a == AUTH_LOCKED) {
		reply_text(r, 429, GW_R_LOCKED, "too many failures\n");
		return;
	}
	if (a == AUTH_ERROR) {
		reply_store(r, GW_API_HTTPREQ);
		return;
	}
	if (a != AUTH_OK) {
		reply_text(r, 401, GW_R_BADAUTH, "unauthorized\n");
		r->www_auth = true;
		return;
	}
	if (!rate_token(srv, host.id, &r->retry_after)) {
		reply_text(r, 429, GW_R_RATELIMITED, "rate limited\n");
		return;
	}
	struct gw_httpreq_req hr;
	if (gw_httpreq_parse(rq->body, rq->blen, &hr) != GW_JSON_OK) {
		reply_text(r, 400, GW_R_BADREQUEST, "bad request\n");
		return;
	}
	char own[GW_NAME_MAX + 16];
	if (!gw_acme_name(host.fqdn, own, sizeof(own)) || strcmp(hr.fqdn, own) != 0 || !host.acme) {
		bool mine = gw_acme_name(host.fqdn, own, sizeof(own)) && strcmp(hr.fqdn, own) == 0;
		audit_refusal(srv, db, &host, tid, present ? "httpreq-present" : "httpreq-cleanup",
		              hr.fqdn, client, mine ? "acme-not-allowed" : "!yours");
		reply_text(r, 403, GW_R_FORBIDDEN, "forbidden\n");
		return;
	}
	enum gw_result res = txt_change(srv, db, &host, tid, client, hr.value, present, 8,
	                                present ? "txt-add" : "txt-del");
	if (res == GW_R_GOOD || res == GW_R_NOCHG)
		reply_text(r, 200, res, "ok\n");
	else if (res == GW_R_STORE)
		reply_store(r, GW_API_HTTPREQ);
	else if (res == GW_R_REFUSED)
		reply_text(r, 424, res, "upstream refused: %s\n", REFUSED_MSG);
	else
		reply_text(r, 502, res, "upstream failed\n");
}

/* ---- dispatch ----------------------------------------------------------- */

static void h_metrics(struct gw_server *srv, struct gw_db *db, struct reply *r)
{
	struct gw_metrics_store ms = { .queue_depth = -1, .failed_records = -1 };
	char why[128];
	ms.writable = gw_store_healthy(srv->d.st, why, sizeof(why));
	if (db != NULL) {
		(void)gw_db_pending_count(db, &ms.queue_depth);
		(void)gw_db_failed_count(db, &ms.failed_records);
	}
	gw_store_stats(srv->d.st, &ms.stats);
	char *text;
	size_t len;
	if (gw_metrics_render(srv->d.m, &ms, &text, &len) != DW_OK) {
		reply_text(r, 500, GW_R_ERROR, "error\n");
		return;
	}
	free(r->body);
	r->body = text;
	r->len = len;
	r->status = 200;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
	r->result = GW_R_OK;
}

static enum gw_api route(const char *path, const char *method, bool *method_ok)
{
	static const struct { const char *path, *method; enum gw_api api; } routes[] = {
		{ "/nic/update", "GET", GW_API_DYNDNS2 },
		{ "/update", "POST", GW_API_ACMEDNS },
		{ "/register", "POST", GW_API_REGISTER },
		{ "/present", "POST", GW_API_HTTPREQ },
		{ "/cleanup", "POST", GW_API_HTTPREQ },
		{ "/health", "GET", GW_API_HEALTH },
		{ "/metrics", "GET", GW_API_METRICS },
		{ "/myip", "GET", GW_API_MYIP },
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) == 0) {
			*method_ok = strcmp(method, routes[i].method) == 0 ||
			             (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0);
			return routes[i].api;
		}
	}
	*method_ok = true;
	return GW_API_OTHER;
}

static void handle(struct gw_server *srv, struct MHD_Connection *c, struct req *rq,
                   const char *url, const char *method, enum gw_api api, struct reply *r)
{
	struct dw_ip peer, client;
	if (!peer_addr(c, &peer)) {
		reply_text(r, 500, GW_R_ERROR, "no peer address\n");
		return;
	}
	if (gw_client_addr(&peer, header(c, "X-Forwarded-For"), &srv->d.conf->trusted, &client)
	    != DW_OK) {
		reply_text(r, 400, GW_R_BADREQUEST, "missing or malformed X-Forwarded-For\n");
		return;
	}
	if (api == GW_API_HEALTH) {
		/* 503 while the database cannot take writes (a monitor's cue). */
		char why[128];
		if (gw_store_healthy(srv->d.st, why, sizeof(why))) {
			reply_text(r, 200, GW_R_OK, "%s", "");
		} else {
			reply_text(r, 503, GW_R_STORE, "%s\n", why);
			r->retry_after = STORE_RETRY_AFTER_S;
		}
		return;
	}
	if (api == GW_API_OTHER) {
		reply_text(r, 404, GW_R_NOTFOUND, "not found\n");
		return;
	}
	if (api != GW_API_METRICS && !rate_source(srv, &client, &r->retry_after)) {
		reply_text(r, 429, GW_R_RATELIMITED, api == GW_API_DYNDNS2 ? "911\n" : "rate limited\n");
		return;
	}
	if (api == GW_API_MYIP) {
		char ip[DW_IP_STRLEN];
		reply_text(r, 200, GW_R_OK, "%s\n", dw_ip_format(&client, ip));
		return;
	}
	struct gw_db *db = gw_store_get(srv->d.st);
	if (db == NULL && api != GW_API_METRICS) {
		reply_store(r, api);
		return;
	}
	switch (api) {
	case GW_API_DYNDNS2: h_dyndns2(srv, c, rq, &client, db, r); break;
	case GW_API_ACMEDNS: h_acmedns_update(srv, c, rq, &client, db, r); break;
	case GW_API_REGISTER: h_register(srv, c, &client, db, r); break;
	case GW_API_HTTPREQ: h_httpreq(srv, c, rq, &client, db, strcmp(url, "/present") == 0, r); break;
	case GW_API_METRICS: h_metrics(srv, db, r); break;
	default: reply_text(r, 404, GW_R_NOTFOUND, "not found\n"); break;
	}
	gw_store_put(srv->d.st, db);
	(void)method;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		r->len, r->body != NULL ? r->body : (void *)(uintptr_t)"", MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        r->ctype != NULL ? r->ctype : "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (r->www_auth)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, REALM);
	if (r->retry_after >= 0 && (r->status == 429 || r->status == 503)) {
		char ra[32];
		snprintf(ra, sizeof(ra), "%ld", r->retry_after > 0 ? r->retry_after : 1);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct gw_server *srv = cls;
	struct req *rq = *con_cls;
	(void)version;
	if (rq == NULL)
		return MHD_NO;
	bool method_ok;
	enum gw_api api = route(url, method, &method_ok);
	struct reply r = { .status = 500, .retry_after = -1, .result = GW_R_ERROR };

	if (!rq->started) {
		rq->started = true;
		/* Limits before anything else, authentication included. */
		if (rq->uri_too_long) {
			reply_text(&r, 414, GW_R_TOOBIG, "request line too long\n");
			goto send;
		}
		if (!method_ok) {
			reply_text(&r, 405, GW_R_BADREQUEST, "method not allowed\n");
			goto send;
		}
		const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			char *end = NULL;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno != 0 || end == cl || *end != '\0' || n > GW_BODY_MAX) {
				reply_text(&r, 413, GW_R_TOOBIG, "body too large\n");
				goto send;
			}
		}
		/* Answer on a later call, for every method: libmicrohttpd treats a
		 * reply queued on the first call as early (sent before the request
		 * was read to its end) and closes the connection after it, which
		 * would cost a TCP and TLS handshake per request.  The refusals
		 * above may close: the client is misbehaving. */
		return MHD_YES;
	} else if (*upload_size > 0) {
		/* Chunked bodies have no Content-Length: the cap is checked as
		 * they arrive.  libmicrohttpd cannot queue a reply in the middle
		 * of an upload, so an oversized body is discarded up to a bound
		 * and answered 413 at its end; past that bound the connection is
		 * closed without an answer.  Nothing is authenticated either way. */
		if (!rq->body_too_big && rq->blen + *upload_size <= GW_BODY_MAX) {
			memcpy(rq->body + rq->blen, upload_data, *upload_size);
			rq->blen += *upload_size;
			rq->body[rq->blen] = '\0';
		} else {
			rq->body_too_big = true;
			rq->discarded += *upload_size;
			if (rq->discarded > DISCARD_MAX) {
				gw_metrics_request(srv->d.m, api, GW_R_TOOBIG);
				log_debug("%s %s: body over %u bytes, connection closed", method, url,
				          (unsigned)DISCARD_MAX);
				return MHD_NO;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->body_too_big) {
		reply_text(&r, 413, GW_R_TOOBIG, "body too large\n");
		goto send;
	}
	/* The whole request is read: authentication, then the body's parse. */
	handle(srv, c, rq, url, method, api, &r);
send:
	gw_metrics_request(srv->d.m, api, r.result);
	log_debug("%s %s -> %u %s", method, url, r.status, gw_result_name(r.result));
	enum MHD_Result ret = send_reply(c, &r);
	free(r.body);
	return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	struct req *rq = calloc(1, sizeof(*rq));
	if (rq == NULL)
		return NULL;
	size_t n = strlen(uri);
	if (n > URI_MAX)
		rq->uri_too_long = true;
	else
		memcpy(rq->uri, uri, n + 1);
	return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct req *rq = *con_cls;
	if (rq != NULL) {
		sodium_memzero(rq, sizeof(*rq));
		free(rq);
	}
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_info("http: %s", buf);
}

/* Reads a public file (a certificate) of at most 64 KiB. */
static int read_public(const char *path, char **out, struct dw_diag *diag)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return dw_diag_set(diag, DW_EIO, "tls-cert: cannot open %s: %s", path, strerror(errno));
	char *buf = calloc(1, 65537);
	size_t n = buf != NULL ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (buf == NULL || n == 0 || n == 65536) {
		free(buf);
		return dw_diag_set(diag, DW_EIO, "tls-cert: %s is empty, unreadable or over 64 KiB", path);
	}
	*out = buf;
	return DW_OK;
}

static int bind_socket(const struct gw_listen *l, struct dw_diag *diag, char *desc, size_t cap,
                       bool tls)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	int fam = l->ip.family == DW_FAM_V4 ? AF_INET : AF_INET6;
	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(l->port);
		memcpy(&s4->sin_addr, l->ip.bytes, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(l->port);
		memcpy(&s6->sin6_addr, l->ip.bytes, 16);
		sl = sizeof(*s6);
	}
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dw_diag_set(diag, DW_EIO, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	char ip[DW_IP_STRLEN];
	dw_ip_format(&l->ip, ip);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 128) != 0) {
		int e = errno;
		close(fd);
		return dw_diag_set(diag, DW_EIO, "cannot listen on %s%s%s:%u: %s",
		                   fam == AF_INET6 ? "[" : "", ip, fam == AF_INET6 ? "]" : "",
		                   l->port, strerror(e));
	}
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	unsigned port = fam == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
	                               : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(desc, cap, "%s://%s%s%s:%u", tls ? "https" : "http", fam == AF_INET6 ? "[" : "", ip,
	         fam == AF_INET6 ? "]" : "", port);
	return fd;
}

int gw_server_open(const struct gw_server_deps *deps, struct gw_server **out,
                   struct dw_diag *diag)
{
	*out = NULL;
	struct gw_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	srv->d = *deps;
	for (size_t i = 0; i < GW_LISTEN_MAX; i++)
		srv->fd[i] = -1;
	randombytes_buf(srv->dummy_hash, sizeof(srv->dummy_hash));
	const struct gw_conf *conf = deps->conf;
	srv->tls = conf->tls_cert != NULL;
	int ret = DW_OK;
	if (srv->tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			ret = dw_diag_set(diag, DW_EUNSUPP, "libmicrohttpd was built without TLS");
			goto fail;
		}
		struct dw_diag d;
		/* The certificate is public; the key is a secret (mode checked,
		 * locked memory, wiped at exit). */
		if ((ret = read_public(conf->tls_cert, &srv->cert_pem, diag)) != DW_OK)
			goto fail;
		if ((ret = dw_secret_load(conf->tls_key, DW_SECRET_FILE, &srv->key, &d)) != DW_OK) {
			ret = dw_diag_set(diag, ret, "tls-key: %s", d.msg);
			goto fail;
		}
	}
	for (size_t i = 0; i < conf->nlisten; i++) {
		int fd = bind_socket(&conf->listen[i], diag, srv->desc[i], sizeof(srv->desc[i]),
		                     srv->tls);
		if (fd < 0) {
			ret = fd;
			goto fail;
		}
		srv->fd[i] = fd;
		srv->nfd++;
	}
	*out = srv;
	return DW_OK;
fail:
	gw_server_stop(srv);
	return ret;
}

int gw_server_start(struct gw_server *srv, struct dw_diag *diag)
{
	const struct gw_conf *conf = srv->d.conf;
	for (size_t i = 0; i < srv->nfd; i++) {
		unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		                 MHD_USE_ERROR_LOG | (srv->tls ? MHD_USE_TLS : 0);
		struct MHD_OptionItem opts[] = {
			{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)(uintptr_t)on_mhd_log, NULL },
			{ MHD_OPTION_LISTEN_SOCKET, srv->fd[i], NULL },
			{ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)conf->max_connections, NULL },
			{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)conf->max_per_source, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)conf->conn_timeout_s, NULL },
			{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL },
			{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)(uintptr_t)on_uri, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)(uintptr_t)on_completed, NULL },
			{ srv->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
			  srv->tls ? srv->cert_pem : NULL },
			{ srv->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
			  srv->tls ? srv->key.data : NULL },
			{ MHD_OPTION_END, 0, NULL },
		};
		struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
		                                        MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
		if (d == NULL)
			return dw_diag_set(diag, DW_EIO, "cannot start the HTTP server on %s",
			                   srv->desc[i]);
		srv->fd[i] = -1;   /* the daemon's now */
		srv->mhd[srv->nmhd++] = d;
		printf("listening on %s\n", srv->desc[i]);
		fflush(stdout);
		log_notice("listening on %s", srv->desc[i]);
	}
	return DW_OK;
}

void gw_server_stop(struct gw_server *srv)
{
	if (srv == NULL)
		return;
	for (size_t i = 0; i < srv->nmhd; i++)
		MHD_stop_daemon(srv->mhd[i]);
	for (size_t i = 0; i < srv->nfd; i++) {
		if (srv->fd[i] >= 0)
			close(srv->fd[i]);
	}
	free(srv->cert_pem);
	dw_secret_clear(&srv->key);
	free(srv);
}
