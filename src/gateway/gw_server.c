/* HTTP front end: connections, limits, request framing, routing,
 * authentication, scope checks, replies.
 *
 * Threads: libmicrohttpd runs http-threads epoll loops per listen address;
 * they only read requests and write replies and never block.  A complete
 * request is suspended and handed to one of request-workers threads, which
 * does what may block (SQLite, the wait for the upstream) and resumes the
 * connection with the reply.  A reaper thread enforces request-timeout. */
#include "gateway/gw_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
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
#define SRC_BUCKETS 4096u         /* per-source connection counts (hash buckets) */
#define FD_RESERVE 256            /* descriptors besides connections: database, upstream */

/* One TCP connection (libmicrohttpd's socket context).  Lives from
 * NOTIFY_STARTED to NOTIFY_CLOSED, on srv->conns under srv->cmu. */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint8_t key[16];            /* its source (gw_rate_key_ip) */
	int64_t deadline_ms;        /* the current request must be read by then; 0 = none */
	bool listed;                /* on srv->conns, counted for its source */
	bool reaped;
};

/* Connections per source (IPv4 address, IPv6 prefix). */
struct src_count {
	struct src_count *next;
	uint8_t key[16];
	unsigned n;
};

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

	/* connections (cmu) */
	pthread_mutex_t cmu;
	pthread_cond_t reap_cv;
	struct conn *conns;
	size_t nconns;
	struct src_count *src[SRC_BUCKETS];
	uint8_t src_salt[crypto_shorthash_KEYBYTES];
	bool reaper_stop, reaper_sleeping;
	bool closing;                    /* stopping: accept nothing new */
	bool reaper_started;
	pthread_t reaper;
	uint64_t refused_conns, reaped_conns;   /* since the last log line */

	/* request workers (wmu) */
	pthread_mutex_t wmu;
	pthread_cond_t work_cv;
	struct req *qhead, *qtail;
	bool wstop;
	pthread_t *workers;
	size_t nworkers;
	atomic_uint waiting;             /* requests waiting for the upstream */
	unsigned max_waiting;
	bool sync_init;
};

enum req_state { RQ_NEW = 0, RQ_HEAD_OK, RQ_QUEUED, RQ_DONE };

/* What a handler answers. */
struct reply {
	unsigned status;
	const char *ctype;
	char *body;              /* malloc'ed */
	size_t len;
	long retry_after;        /* -1: none */
	bool www_auth;
	bool close;              /* Connection: close */
	const char *allow;       /* Allow header of a 405 */
	enum gw_result result;
};

/* Per-request state, created by the URI callback (first thing MHD calls). */
struct req {
	struct req *next;        /* work queue */
	struct MHD_Connection *c;
	enum req_state state;
	char uri[URI_MAX + 1];
	bool uri_too_long;
	char body[GW_BODY_MAX + 1];
	size_t blen;
	bool body_too_big;
	size_t discarded;        /* bytes of an oversized body thrown away */
	/* Taken in libmicrohttpd's thread before the request is handed to a
	 * worker (the header strings live in the connection's memory, which
	 * does not change while it is suspended). */
	const char *url, *method;
	enum gw_api api;
	bool have_peer;
	struct dw_ip peer;
	const char *h_authz, *h_api_user, *h_api_key, *h_xff;
	struct reply r;
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

/* ---- addresses ------------------------------------------------------------ */

static bool sockaddr_ip(const struct sockaddr *sa, struct dw_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return false;
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

static bool peer_addr(struct MHD_Connection *c, struct dw_ip *out)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL && sockaddr_ip(ci->client_addr, out);
}

/* An address that may be published: what the library's classification
 * accepts with private, ULA and documentation ranges allowed (a gateway
 * may serve an internal zone); never unspecified, loopback, multicast,
 * link-local or reserved (broadcast included). */
static bool publishable(const struct dw_ip *ip, enum dw_reject *why)
{
	struct dw_ifaddr a;
	memset(&a, 0, sizeof(a));
	a.ip = *ip;
	a.prefixlen = ip->family == DW_FAM_V4 ? 32 : 128;
	a.flags = DW_IFA_PERMANENT;
	a.preferred_lft = DW_LIFETIME_FOREVER;
	a.valid_lft = DW_LIFETIME_FOREVER;
	struct dw_addr_policy pol = { .accept = DW_ACCEPT_PRIVATE | DW_ACCEPT_ULA | DW_ACCEPT_DOC |
	                                        DW_ACCEPT_CGN | DW_ACCEPT_6TO4 | DW_ACCEPT_TEREDO };
	*why = dw_addr_check(&a, ip->family, NULL, &pol);
	return *why == DW_REJ_NONE;
}

/* ---- authentication and limits ------------------------------------------ */

/* Outcome of authentication. */
enum auth {
	AUTH_OK = 0,
	AUTH_BAD,        /* wrong user/token, expired, source not allowed */
	AUTH_LOCKED,     /* too many failures from this source */
	AUTH_ERROR,      /* database */
};

static void key_ip(struct gw_server *srv, const struct dw_ip *ip, uint8_t key[16])
{
	gw_rate_key_ip(ip, srv->d.conf->v6_prefix, key);
}

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
	key_ip(srv, client, key);
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
	key_ip(srv, client, key);
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

/* Waits for the upstream after a committed change.  At most max_waiting
 * requests wait at once, so that requests which do not wait (nochg,
 * refusals) always find a free worker; the others are answered at once
 * (the value is stored and published in the background).  The caller then
 * reads its rows back. */
static enum gw_up_result push(struct gw_server *srv, const struct gw_host *h, char *msg,
                              size_t cap)
{
	unsigned wait_ms = srv->d.conf->upstream_wait_s * 1000u;
	bool counted = false;
	if (wait_ms > 0) {
		if (atomic_fetch_add(&srv->waiting, 1) < srv->max_waiting) {
			counted = true;
		} else {
			atomic_fetch_sub(&srv->waiting, 1);
			log_info("%s: %u requests already wait for the upstream; answering without "
			         "waiting", h->fqdn, srv->max_waiting);
			wait_ms = 0;
		}
	}
	enum gw_up_result r = gw_upstream_kick(srv->d.up, h->id, wait_ms, msg, cap);
	if (counted)
		atomic_fetch_sub(&srv->waiting, 1);
	return r;
}

/* ACME rights of h are void while another configured host lies below it:
 * a certificate for the _acme-challenge name of h also covers *.h.  host
 * add refuses that; this catches databases from before the rule.
 * 0: may use ACME; 1: a host below (named in below); <0: database error. */
static int acme_blocked(struct gw_db *db, const struct gw_host *h, char below[GW_FQDN_MAX])
{
	int ret = gw_db_host_below(db, h->fqdn, below);
	if (ret == DW_ENOTFOUND)
		return 0;
	if (ret != DW_OK)
		return -1;
	log_error("%s has ACME rights but %s is a host below it (a certificate for %s would "
	          "also cover %s): ACME requests of %s are refused until one of them is removed "
	          "or re-added without --acme", h->fqdn, below, h->fqdn, below, h->fqdn);
	return 1;
}

/* ---- dyndns2 ------------------------------------------------------------ */

static void h_dyndns2(struct gw_server *srv, struct req *rq, const struct dw_ip *client,
                      struct gw_db *db, struct reply *r)
{
	const char *q = strchr(rq->uri, '?');
	struct gw_query query;
	if (gw_query_parse(q != NULL ? q + 1 : "", q != NULL ? strlen(q + 1) : 0, &query) != DW_OK) {
		reply_text(r, 400, GW_R_BADREQUEST, "badrequest\n");
		return;
	}
	char user[GW_CRED_MAX], pass[GW_CRED_MAX];
	const char *authz = rq->h_authz;
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
	if (dd.offline) {
		/* dyndns2's answer for an option the account cannot use; the
		 * gateway never takes a host offline, and publishing the
		 * caller's address instead would be the opposite of the ask. */
		reply_text(r, 200, GW_R_BADREQUEST, "!donator\n");
		log_notice("%s (token %s): offline=yes refused (not supported)", host.fqdn, tid);
		return;
	}

	/* Scope: every name must be the token's own host; one foreign name
	 * refuses the whole request (nothing is changed).  A foreign name is
	 * answered "nohost" ("not in this account") whether or not another
	 * host has it, after the same lookup either way, so that a token
	 * cannot list the other hosts; the audit log keeps the difference. */
	const char *codes[GW_DD_MAX_NAMES], *why[GW_DD_MAX_NAMES];
	const char *refusal = NULL;
	enum gw_result refusal_res = GW_R_NOHOST;
	for (size_t i = 0; i < dd.nnames; i++) {
		codes[i] = why[i] = NULL;
		if (!dd.names[i].valid) {
			codes[i] = why[i] = "notfqdn";
		} else if (strcmp(dd.names[i].name, host.fqdn) != 0) {
			struct gw_host other;
			int ret = gw_db_host_get(db, dd.names[i].name, &other);
			codes[i] = "nohost";
			why[i] = ret == DW_OK ? "!yours" : "nohost";
		}
		if (codes[i] != NULL && refusal == NULL) {
			refusal = codes[i];
			refusal_res = strcmp(refusal, "notfqdn") == 0 ? GW_R_NOTFQDN : GW_R_NOHOST;
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
		/* The row keeps what the host is not told: "!yours" when one of
		 * the names is another host's. */
		const char *seen = refusal;
		for (size_t i = 0; i < dd.nnames; i++) {
			if (why[i] != NULL && strcmp(why[i], "!yours") == 0)
				seen = why[i];
		}
		audit_refusal(srv, db, &host, tid, "update", names, client, seen);
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
	/* Given or taken from the connection, an address that cannot reach
	 * the host (0.0.0.0, broadcast, loopback, multicast, link-local, ...)
	 * is never published: a client on the gateway's machine, or a proxy
	 * missing from trusted-proxies, would otherwise publish 127.0.0.1. */
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		enum dw_reject rej;
		char ip[DW_IP_STRLEN];
		if (dd.has_ip[f] && !publishable(&dd.ip[f], &rej)) {
			log_notice("%s (token %s): address %s refused (%s)", host.fqdn, tid,
			           dw_ip_format(&dd.ip[f], ip), dw_reject_str(rej));
			audit_refusal(srv, db, &host, tid, "update", ip, client, "bad-address");
			reply_text(r, 400, GW_R_BADREQUEST, "badrequest\n");
			return;
		}
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

static void h_acmedns_update(struct gw_server *srv, struct req *rq, const struct dw_ip *client,
                             struct gw_db *db, struct reply *r)
{
	const char *user = rq->h_api_user;
	const char *key = rq->h_api_key;
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
	char below[GW_FQDN_MAX];
	int blocked = acme_blocked(db, &host, below);
	if (blocked < 0) {
		reply_store(r, GW_API_ACMEDNS);
		return;
	}
	if (blocked > 0) {
		audit_refusal(srv, db, &host, tid, "acmedns-update", below, client, "host-below");
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

static void h_register(struct gw_server *srv, struct req *rq, const struct dw_ip *client,
                       struct gw_db *db, struct reply *r)
{
	if (!srv->d.conf->enable_register) {
		reply_json1(r, 403, GW_R_FORBIDDEN, "error", "registration_disabled");
		return;
	}
	/* Enabled: a host that authenticates gets the acme-dns account record
	 * describing its own credentials (for clients that keep an acme-dns
	 * account file).  Nothing new is created: a credential for a name no
	 * admin added would be worthless, and a new secret would widen access. */
	const char *user = rq->h_api_user;
	const char *key = rq->h_api_key;
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

static void h_httpreq(struct gw_server *srv, struct req *rq, const struct dw_ip *client,
                      struct gw_db *db, bool present, struct reply *r)
{
	const char *authz = rq->h_authz;
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
	char below[GW_FQDN_MAX];
	int blocked = acme_blocked(db, &host, below);
	if (blocked < 0) {
		reply_store(r, GW_API_HTTPREQ);
		return;
	}
	if (blocked > 0) {
		audit_refusal(srv, db, &host, tid, present ? "httpreq-present" : "httpreq-cleanup",
		              below, client, "host-below");
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

/* HEAD is a GET without a body only for the routes that merely read
 * (health, metrics, myip); /nic/update changes records and takes GET alone. */
static enum gw_api route(const char *path, const char *method, bool *method_ok,
                         const char **allow)
{
	static const struct { const char *path, *method; bool head; enum gw_api api; } routes[] = {
		{ "/nic/update", "GET", false, GW_API_DYNDNS2 },
		{ "/update", "POST", false, GW_API_ACMEDNS },
		{ "/register", "POST", false, GW_API_REGISTER },
		{ "/present", "POST", false, GW_API_HTTPREQ },
		{ "/cleanup", "POST", false, GW_API_HTTPREQ },
		{ "/health", "GET", true, GW_API_HEALTH },
		{ "/metrics", "GET", true, GW_API_METRICS },
		{ "/myip", "GET", true, GW_API_MYIP },
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) == 0) {
			*method_ok = strcmp(method, routes[i].method) == 0 ||
			             (routes[i].head && strcmp(method, "HEAD") == 0);
			*allow = routes[i].head ? "GET, HEAD" : routes[i].method;
			return routes[i].api;
		}
	}
	*method_ok = true;
	*allow = NULL;
	return GW_API_OTHER;
}

/* Runs in a request worker: everything that may block. */
static void handle(struct gw_server *srv, struct req *rq, struct reply *r)
{
	enum gw_api api = rq->api;
	struct dw_ip client;
	if (!rq->have_peer) {
		reply_text(r, 500, GW_R_ERROR, "no peer address\n");
		return;
	}
	if (gw_client_addr(&rq->peer, rq->h_xff, &srv->d.conf->trusted, &client) != DW_OK) {
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
	case GW_API_DYNDNS2: h_dyndns2(srv, rq, &client, db, r); break;
	case GW_API_ACMEDNS: h_acmedns_update(srv, rq, &client, db, r); break;
	case GW_API_REGISTER: h_register(srv, rq, &client, db, r); break;
	case GW_API_HTTPREQ: h_httpreq(srv, rq, &client, db, strcmp(rq->url, "/present") == 0, r); break;
	case GW_API_METRICS: h_metrics(srv, db, r); break;
	default: reply_text(r, 404, GW_R_NOTFOUND, "not found\n"); break;
	}
	gw_store_put(srv->d.st, db);
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
	if (r->allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (r->retry_after >= 0 && (r->status == 429 || r->status == 503)) {
		char ra[32];
		snprintf(ra, sizeof(ra), "%ld", r->retry_after > 0 ? r->retry_after : 1);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- strict framing -------------------------------------------------------- */

struct frame {
	const char *base;        /* the request head as libmicrohttpd parsed it in place */
	size_t size;
	size_t next;             /* where the next line must start */
	bool layout;             /* check line ends in place (libmicrohttpd < 1.0) */
	const char *bad;         /* first problem, or NULL */
	unsigned ncl, nte, nhost;
	const char *te;
};

/* RFC 9110 token characters. */
static bool tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* libmicrohttpd 0.9.x accepts a bare LF as a line end and parses the head
 * in place, writing NUL over each line end: CR LF become two NULs, a bare
 * LF one.  So every line must end in two NULs, the next line must start
 * right after them, and the head must end with an empty line whose two
 * NULs are its last bytes (REQUEST_HEADER_SIZE).  A folded header line
 * (obs-fold) is moved elsewhere and fails the check too, as RFC 9112
 * allows.  Newer libmicrohttpd versions refuse bare LF themselves
 * (MHD_OPTION_CLIENT_DISCIPLINE_LVL) and are not checked this way. */
static bool line_end_ok(struct frame *f, const char *end)
{
	if (end < f->base || end + 1 >= f->base + f->size)
		return false;
	size_t pos = (size_t)(end - f->base);
	if (f->base[pos] != '\0' || f->base[pos + 1] != '\0')
		return false;
	f->next = pos + 2;
	return true;
}

static enum MHD_Result frame_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t klen, const char *value, size_t vlen)
{
	struct frame *f = cls;
	(void)kind;
	if (f->bad != NULL)
		return MHD_NO;
	if (klen == 0) {
		f->bad = "empty header name";
		return MHD_NO;
	}
	for (size_t i = 0; i < klen; i++) {
		if (!tchar(key[i])) {
			f->bad = "header name with a blank or a non-token character";
			return MHD_NO;
		}
	}
	for (size_t i = 0; value != NULL && i < vlen; i++) {
		unsigned char ch = (unsigned char)value[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			f->bad = "control character in a header value";
			return MHD_NO;
		}
	}
	if (f->layout) {
		if (key != f->base + f->next || value == NULL || !line_end_ok(f, value + vlen)) {
			f->bad = "line not ended by CR LF (bare LF, NUL or folded header)";
			return MHD_NO;
		}
	}
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		f->ncl++;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->nte++;
		f->te = value;
	}
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		f->nhost++;
	return MHD_YES;
}

/* NULL when the request head is framed unambiguously, else why not.  What
 * a proxy in front and this server could read differently is refused:
 * Content-Length with Transfer-Encoding, Content-Length twice (even the
 * same value), a transfer coding other than one "chunked", two Host
 * headers (HTTP/1.1 without Host is refused by libmicrohttpd's strict
 * mode), blanks before a colon, and line ends other than CR LF. */
static const char *frame_check(struct MHD_Connection *c, const char *method, const char *version)
{
	struct frame f = { .base = method };
#if MHD_VERSION < 0x01000000
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci == NULL)
		return "request head size unknown";
	f.size = ci->header_size;
	f.layout = true;
	if (version == NULL || !line_end_ok(&f, version + strlen(version)))
		return "request line not ended by CR LF";
#endif
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, frame_header, &f);
	if (f.bad != NULL)
		return f.bad;
	if (f.layout && !(f.next + 2 == f.size && f.base[f.next] == '\0' && f.base[f.next + 1] == '\0'))
		return "head not ended by an empty CR LF line";
	if (f.ncl > 1)
		return "Content-Length given more than once";
	if (f.nte > 0 && f.ncl > 0)
		return "both Content-Length and Transfer-Encoding";
	if (f.nte > 1 || (f.nte == 1 && strcasecmp(f.te, "chunked") != 0))
		return "Transfer-Encoding other than one \"chunked\"";
	if (f.nte > 0 && strcmp(version, MHD_HTTP_VERSION_1_1) != 0)
		return "Transfer-Encoding in a request older than HTTP/1.1";
	if (f.nhost > 1)
		return "Host given more than once";
	return NULL;
}

/* ---- connections ------------------------------------------------------------ */

static size_t src_bucket(struct gw_server *srv, const uint8_t key[16])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, 16, srv->src_salt);
	uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16;
	return v % SRC_BUCKETS;
}

/* Caller holds cmu. */
static struct src_count *src_find(struct gw_server *srv, const uint8_t key[16], bool create)
{
	size_t b = src_bucket(srv, key);
	for (struct src_count *s = srv->src[b]; s != NULL; s = s->next) {
		if (memcmp(s->key, key, 16) == 0)
			return s;
	}
	if (!create)
		return NULL;
	struct src_count *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	memcpy(s->key, key, 16);
	s->next = srv->src[b];
	srv->src[b] = s;
	return s;
}

static void src_release(struct gw_server *srv, const uint8_t key[16])
{
	size_t b = src_bucket(srv, key);
	for (struct src_count **pp = &srv->src[b]; *pp != NULL; pp = &(*pp)->next) {
		struct src_count *s = *pp;
		if (memcmp(s->key, key, 16) != 0)
			continue;
		if (--s->n == 0) {
			*pp = s->next;
			free(s);
		}
		return;
	}
}

/* Accept policy: before libmicrohttpd sets anything up for a connection. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct gw_server *srv = cls;
	(void)len;
	struct dw_ip ip;
	if (!sockaddr_ip(addr, &ip))
		return MHD_NO;
	uint8_t key[16];
	key_ip(srv, &ip, key);
	pthread_mutex_lock(&srv->cmu);
	struct src_count *s = src_find(srv, key, false);
	bool ok = !srv->closing && srv->nconns < srv->d.conf->max_connections &&
	          (s == NULL || s->n < srv->d.conf->max_per_source);
	if (!ok)
		srv->refused_conns++;
	pthread_mutex_unlock(&srv->cmu);
	return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct gw_server *srv = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn *k = calloc(1, sizeof(*k));
		const union MHD_ConnectionInfo *fi =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct dw_ip ip;
		*socket_context = k;
		if (fi == NULL)
			return;
		pthread_mutex_lock(&srv->cmu);
		struct src_count *s = NULL;
		if (k != NULL && peer_addr(c, &ip)) {
			key_ip(srv, &ip, k->key);
			s = src_find(srv, k->key, true);
		}
		if (s == NULL) {
			pthread_mutex_unlock(&srv->cmu);
			shutdown(fi->connect_fd, SHUT_RDWR);
			return;
		}
		k->fd = fi->connect_fd;
		k->deadline_ms = mono_ms() + (int64_t)srv->d.conf->request_timeout_s * 1000;
		bool over = srv->nconns >= srv->d.conf->max_connections ||
		            s->n >= srv->d.conf->max_per_source;
		s->n++;
		k->listed = true;
		k->next = srv->conns;
		if (srv->conns != NULL)
			srv->conns->prev = k;
		srv->conns = k;
		srv->nconns++;
		/* Two accept threads may both have passed on_accept for the
		 * last free place: the later one is closed at once. */
		if (over) {
			k->reaped = true;
			srv->refused_conns++;
			shutdown(k->fd, SHUT_RDWR);
		}
		if (srv->reaper_sleeping)
			pthread_cond_signal(&srv->reap_cv);
		pthread_mutex_unlock(&srv->cmu);
		return;
	}
	struct conn *k = *socket_context;
	*socket_context = NULL;
	if (k == NULL)
		return;
	pthread_mutex_lock(&srv->cmu);
	if (k->listed) {
		if (k->prev != NULL)
			k->prev->next = k->next;
		else
			srv->conns = k->next;
		if (k->next != NULL)
			k->next->prev = k->prev;
		srv->nconns--;
		src_release(srv, k->key);
	}
	pthread_mutex_unlock(&srv->cmu);
	free(k);
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* deadline 0: none (the request is read; a worker has it). */
static void conn_deadline(struct gw_server *srv, struct MHD_Connection *c, bool set)
{
	struct conn *k = conn_of(c);
	if (k == NULL)
		return;
	pthread_mutex_lock(&srv->cmu);
	k->deadline_ms = set ? mono_ms() + (int64_t)srv->d.conf->request_timeout_s * 1000 : 0;
	pthread_mutex_unlock(&srv->cmu);
}

/* Closes every connection whose request is not read by its deadline: any
 * byte resets libmicrohttpd's idle timeout, this one it cannot.  shutdown()
 * wakes the connection's event loop, which then closes it; the descriptor
 * is still the connection's, since NOTIFY_CLOSED (which takes cmu) comes
 * before libmicrohttpd closes it. */
static void *reaper(void *arg)
{
	struct gw_server *srv = arg;
	pthread_mutex_lock(&srv->cmu);
	int64_t last_log = 0;
	while (!srv->reaper_stop) {
		int64_t now = mono_ms(), next = 0;
		for (struct conn *k = srv->conns; k != NULL; k = k->next) {
			if (k->reaped || k->deadline_ms == 0)
				continue;
			if (k->deadline_ms <= now) {
				k->reaped = true;
				srv->reaped_conns++;
				shutdown(k->fd, SHUT_RDWR);
			} else if (next == 0 || k->deadline_ms < next) {
				next = k->deadline_ms;
			}
		}
		if ((srv->reaped_conns > 0 || srv->refused_conns > 0) && now - last_log >= 60000) {
			log_notice("connections closed: %llu past request-timeout (%u s), %llu refused "
			           "by max-connections (%u) or max-connections-per-source (%u)",
			           (unsigned long long)srv->reaped_conns, srv->d.conf->request_timeout_s,
			           (unsigned long long)srv->refused_conns, srv->d.conf->max_connections,
			           srv->d.conf->max_per_source);
			srv->reaped_conns = srv->refused_conns = 0;
			last_log = now;
		}
		/* Sleeps until the earliest deadline (all deadlines are "now +
		 * request-timeout" when set, so a new one is never earlier),
		 * or until a connection arrives while there is none. */
		if (next == 0) {
			srv->reaper_sleeping = true;
			pthread_cond_wait(&srv->reap_cv, &srv->cmu);
			srv->reaper_sleeping = false;
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t wait = next - now + 5;
			int64_t ns = ts.tv_nsec + (wait % 1000) * 1000000;
			ts.tv_sec += wait / 1000 + ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			pthread_cond_timedwait(&srv->reap_cv, &srv->cmu, &ts);
		}
	}
	pthread_mutex_unlock(&srv->cmu);
	return NULL;
}

/* ---- request workers ---------------------------------------------------------- */

static void *worker(void *arg)
{
	struct gw_server *srv = arg;
	pthread_mutex_lock(&srv->wmu);
	for (;;) {
		while (srv->qhead == NULL && !srv->wstop)
			pthread_cond_wait(&srv->work_cv, &srv->wmu);
		struct req *rq = srv->qhead;
		if (rq == NULL)
			break;
		srv->qhead = rq->next;
		if (srv->qhead == NULL)
			srv->qtail = NULL;
		bool stopping = srv->wstop;
		pthread_mutex_unlock(&srv->wmu);
		if (stopping)
			reply_text(&rq->r, 503, GW_R_ERROR, rq->api == GW_API_DYNDNS2 ? "911\n" :
			           "shutting down\n");
		else
			handle(srv, rq, &rq->r);
		rq->state = RQ_DONE;
		MHD_resume_connection(rq->c);
		pthread_mutex_lock(&srv->wmu);
	}
	pthread_mutex_unlock(&srv->wmu);
	return NULL;
}

/* The connection is suspended.  Once the workers are stopping (a request
 * arriving on a kept-alive connection during shutdown), it is answered at
 * once: no connection may stay suspended when the daemons stop. */
static void enqueue(struct gw_server *srv, struct req *rq)
{
	pthread_mutex_lock(&srv->wmu);
	if (srv->wstop) {
		pthread_mutex_unlock(&srv->wmu);
		reply_text(&rq->r, 503, GW_R_ERROR, rq->api == GW_API_DYNDNS2 ? "911\n" :
		           "shutting down\n");
		rq->state = RQ_DONE;
		MHD_resume_connection(rq->c);
		return;
	}
	rq->next = NULL;
	if (srv->qtail != NULL)
		srv->qtail->next = rq;
	else
		srv->qhead = rq;
	srv->qtail = rq;
	pthread_cond_signal(&srv->work_cv);
	pthread_mutex_unlock(&srv->wmu);
}

/* ---- libmicrohttpd callbacks ----------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct gw_server *srv = cls;
	struct req *rq = *con_cls;
	if (rq == NULL)
		return MHD_NO;
	struct reply *r = &rq->r;

	if (rq->state == RQ_DONE)
		goto send;
	if (rq->state == RQ_NEW) {
		rq->state = RQ_HEAD_OK;
		rq->c = c;
		bool method_ok;
		const char *allow;
		rq->api = route(url, method, &method_ok, &allow);
		rq->url = url;
		rq->method = method;
		/* Limits and framing before anything else, authentication
		 * included.  These replies close the connection. */
		const char *bad = frame_check(c, method, version);
		if (bad != NULL) {
			char ip[DW_IP_STRLEN] = "?";
			struct dw_ip peer;
			if (peer_addr(c, &peer))
				dw_ip_format(&peer, ip);
			log_info("%s: request refused: %s", ip, bad);
			reply_text(r, 400, GW_R_BADREQUEST, "bad request framing\n");
			r->close = true;
			goto send;
		}
		if (rq->uri_too_long) {
			reply_text(r, 414, GW_R_TOOBIG, "request line too long\n");
			r->close = true;
			goto send;
		}
		if (!method_ok) {
			/* dyndns2's word for a refused method is "badagent". */
			reply_text(r, 405, GW_R_BADREQUEST, rq->api == GW_API_DYNDNS2 ?
			           "badagent\n" : "method not allowed\n");
			r->allow = allow;
			r->close = true;
			goto send;
		}
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			char *end = NULL;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno != 0 || end == cl || *end != '\0' || n > GW_BODY_MAX) {
				reply_text(r, 413, GW_R_TOOBIG, "body too large\n");
				r->close = true;
				goto send;
			}
		}
		/* Answer on a later call, for every method: libmicrohttpd treats a
		 * reply queued on the first call as early (sent before the request
		 * was read to its end) and closes the connection after it, which
		 * would cost a TCP and TLS handshake per request. */
		return MHD_YES;
	}
	if (rq->state == RQ_QUEUED)
		return MHD_YES;   /* not expected while suspended */
	if (*upload_size > 0) {
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
				gw_metrics_request(srv->d.m, rq->api, GW_R_TOOBIG);
				log_debug("%s %s: body over %u bytes, connection closed", method, url,
				          (unsigned)DISCARD_MAX);
				return MHD_NO;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->body_too_big) {
		reply_text(r, 413, GW_R_TOOBIG, "body too large\n");
		goto send;
	}
	/* The whole request is read: hand it to a worker (authentication,
	 * then the body's parse, the database, the upstream). */
	rq->have_peer = peer_addr(c, &rq->peer);
	rq->h_authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	rq->h_api_user = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-User");
	rq->h_api_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key");
	rq->h_xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
	conn_deadline(srv, c, false);
	rq->state = RQ_QUEUED;
	MHD_suspend_connection(c);
	enqueue(srv, rq);
	return MHD_YES;
send:
	gw_metrics_request(srv->d.m, rq->api, r->result);
	log_debug("%s %s -> %u %s", method, url, r->status, gw_result_name(r->result));
	enum MHD_Result ret = send_reply(c, r);
	free(r->body);
	r->body = NULL;
	return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	struct req *rq = calloc(1, sizeof(*rq));
	if (rq == NULL)
		return NULL;
	rq->r.status = 500;
	rq->r.retry_after = -1;
	rq->r.result = GW_R_ERROR;
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
	struct gw_server *srv = cls;
	(void)toe;
	struct req *rq = *con_cls;
	if (rq != NULL) {
		free(rq->r.body);
		sodium_memzero(rq, sizeof(*rq));
		free(rq);
	}
	*con_cls = NULL;
	/* The next request on this connection has request-timeout from now. */
	conn_deadline(srv, c, true);
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
	/* Connection-level refusals (limits, resets) are counted by the
	 * reaper's summary; one line each would let a flood fill the log. */
	log_debug("http: %s", buf);
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
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
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

/* Each connection is a descriptor: raise the soft limit as far as
 * max-connections needs and the hard limit allows (under systemd the
 * soft limit is 1024, the hard one far higher). */
static void raise_nofile(const struct gw_conf *conf)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t need = (rlim_t)conf->max_connections + FD_RESERVE;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warning("max-connections = %u needs %llu file descriptors, the limit is %llu: "
		            "raise it (LimitNOFILE=) or lower max-connections", conf->max_connections,
		            (unsigned long long)need, (unsigned long long)rl.rlim_cur);
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
	randombytes_buf(srv->src_salt, sizeof(srv->src_salt));
	pthread_mutex_init(&srv->cmu, NULL);
	pthread_mutex_init(&srv->wmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->reap_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&srv->work_cv, NULL);
	srv->sync_init = true;
	const struct gw_conf *conf = deps->conf;
	srv->max_waiting = conf->request_workers > 2 ? conf->request_workers - 2 : 1;
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
	raise_nofile(conf);
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
	srv->workers = calloc(conf->request_workers, sizeof(*srv->workers));
	if (srv->workers == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	for (size_t i = 0; i < conf->request_workers; i++) {
		if (pthread_create(&srv->workers[i], NULL, worker, srv) != 0)
			return dw_diag_set(diag, DW_ENOMEM, "cannot start request workers");
		srv->nworkers++;
	}
	if (pthread_create(&srv->reaper, NULL, reaper, srv) != 0)
		return dw_diag_set(diag, DW_ENOMEM, "cannot start the request-timeout thread");
	srv->reaper_started = true;
	for (size_t i = 0; i < srv->nfd; i++) {
		/* epoll loops in a small pool; a connection costs memory and a
		 * descriptor, not a thread. */
		unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		                 MHD_USE_ERROR_LOG | (srv->tls ? MHD_USE_TLS : 0);
		struct MHD_OptionItem opts[] = {
			{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)(uintptr_t)on_mhd_log, NULL },
			{ MHD_OPTION_LISTEN_SOCKET, srv->fd[i], NULL },
			{ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)conf->http_threads, NULL },
			{ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)conf->max_connections, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)conf->conn_timeout_s, NULL },
			{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL },
			{ MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL },
			{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)(uintptr_t)on_uri, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)(uintptr_t)on_completed, srv },
			{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)(uintptr_t)on_connection, srv },
#if MHD_VERSION >= 0x01000000
			/* Refuses bare LF and other lenient forms itself. */
			{ MHD_OPTION_CLIENT_DISCIPLINE_LVL, 2, NULL },
#endif
			{ srv->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
			  srv->tls ? srv->cert_pem : NULL },
			{ srv->tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
			  srv->tls ? srv->key.data : NULL },
			{ srv->tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, 0,
			  srv->tls ? conf->tls_priorities : NULL },
			{ MHD_OPTION_END, 0, NULL },
		};
		struct MHD_Daemon *d = MHD_start_daemon(flags, 0, on_accept, srv, on_request, srv,
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
	/* No new connections; requests in the workers finish (at most
	 * upstream-wait) and queued ones are answered 503, so that no
	 * connection is left suspended when the daemons stop.  New
	 * connections are refused in on_accept rather than by
	 * MHD_quiesce_daemon: with a thread pool in epoll mode, libmicrohttpd
	 * 0.9.75 races its own loop removing the listen socket and aborts
	 * ("Failed to remove listen FD from epoll set"). */
	pthread_mutex_lock(&srv->cmu);
	srv->closing = true;
	pthread_mutex_unlock(&srv->cmu);
	if (srv->sync_init) {
		pthread_mutex_lock(&srv->wmu);
		srv->wstop = true;
		pthread_cond_broadcast(&srv->work_cv);
		pthread_mutex_unlock(&srv->wmu);
	}
	for (size_t i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	for (size_t i = 0; i < srv->nmhd; i++) {
		MHD_stop_daemon(srv->mhd[i]);   /* closes the listen socket */
	}
	if (srv->reaper_started) {
		pthread_mutex_lock(&srv->cmu);
		srv->reaper_stop = true;
		pthread_cond_signal(&srv->reap_cv);
		pthread_mutex_unlock(&srv->cmu);
		pthread_join(srv->reaper, NULL);
	}
	for (size_t i = 0; i < srv->nfd; i++) {
		if (srv->fd[i] >= 0)
			close(srv->fd[i]);
	}
	for (size_t b = 0; b < SRC_BUCKETS; b++) {
		while (srv->src[b] != NULL) {
			struct src_count *s = srv->src[b];
			srv->src[b] = s->next;
			free(s);
		}
	}
	if (srv->sync_init) {
		pthread_mutex_destroy(&srv->cmu);
		pthread_mutex_destroy(&srv->wmu);
		pthread_cond_destroy(&srv->reap_cv);
		pthread_cond_destroy(&srv->work_cv);
	}
	free(srv->workers);
	free(srv->cert_pem);
	dw_secret_clear(&srv->key);
	free(srv);
}
