/* The gateway's configuration file (default DW_SYSCONFDIR/dnsward/gateway.conf):
 *
 *   [gateway]
 *   listen = 127.0.0.1:8053, [::1]:8053   ; loopback unless configured
 *   tls-cert = /etc/dnsward/gateway.pem    ; both or neither: native HTTPS
 *   tls-key = /etc/dnsward/gateway.key     ; mode 0600/0640 like every secret
 *   trusted-proxies = 127.0.0.1/32          ; X-Forwarded-For honoured from these
 *   database = /var/lib/dnsward/gateway.db  ; or postgresql://user@host/db?sslmode=verify-full
 *   database-password-file = PATH           ; PostgreSQL: the password (a secret file)
 *   zones = example.org, example.net        ; hosts are added strictly below these
 *   nameservers = 192.0.2.53:53             ; "host add" asks these for a zone's NS
 *   resolvers = 192.0.2.1                   ; ... else finds its servers through these
 *                                           ; (default /etc/resolv.conf's); rfc2136
 *                                           ; providers ask their own server instead
 *   lease-time = 60                         ; seconds an instance holds a host's upstream work
 *   rate = 30                               ; requests per minute per token
 *   rate-source = 120                       ; requests per minute per source /32 or /64
 *   lockout-failures = 10                   ; bad credentials from one source ...
 *   lockout-time = 900                      ; ... lock it out for this many seconds
 *   enable-register = no                    ; acme-dns POST /register
 *   ttl = 300, txt-ttl = 60                 ; TTLs sent upstream
 *   upstream-wait = 5                       ; seconds a request waits for the upstream
 *   upstream-workers = 4, retry-max = 3600  ; background retries, longest backoff
 *   allow-plain-http = no                   ; plain HTTP outside loopback (behind a
 *                                           ; TLS-terminating proxy): yes, warned
 *   tls-priorities = GNUTLS-PRIORITY        ; default: TLS 1.2+, AEAD suites only
 *   max-connections = 1024, connection-timeout = 15
 *   max-connections-per-source = 32         ; per IPv4 address / IPv6 prefix
 *   ipv6-source-prefix = 64                 ; one IPv6 "source" for every per-source limit
 *   request-timeout = 10                    ; whole request head and body, per request
 *   http-threads = 2                        ; event loops (epoll) per listen address
 *   request-workers = 16                    ; threads running handlers (database, upstream)
 *   log-level = notice
 *   user = dnsward-gw, group = NAME        ; started as root: drop to this user
 *                                           ; once secrets, sockets and the
 *                                           ; database are open (serve only)
 *   seccomp = yes                           ; system-call allowlist while serving
 *   audit-refusals = 2                      ; refusal rows per host and minute
 *   audit-max-age = 90, audit-max-rows = 100000  ; audit retention (days, rows)
 *
 *   [provider NAME]                         ; exactly as in dnsward.conf
 *
 * The same configuration module reads both ([gateway] through its extension
 * hook); [record] sections are not used here and are refused. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gateway/gw_parse.h"
#include "lib/config.h"
#include "lib/secret.h"

#define GW_LISTEN_MAX 8
#define GW_ZONES_MAX 32
#define GW_ZONE_MAX 254

/* Mozilla's "intermediate" profile in GnuTLS terms: TLS 1.3 and 1.2 only;
 * for TLS 1.2 ECDHE (and finite-field DHE) key exchange with AEAD ciphers
 * (AES-GCM, ChaCha20-Poly1305) only: no CBC, no SHA-1 MACs, no RSA key
 * transport. */
#define GW_TLS_PRIORITIES                                                              \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:" \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA"

struct gw_listen {
	struct dw_ip ip;
	uint16_t port;          /* 0 = any free port (tests) */
};

struct gw_conf {
	struct gw_listen listen[GW_LISTEN_MAX];
	size_t nlisten;
	char *tls_cert;         /* paths, NULL when plain HTTP */
	char *tls_key;
	struct gw_cidrs trusted;
	char *database;
	struct dw_secret db_password;   /* database-password-file; data NULL when none */
	uint32_t lease_s;
	char zones[GW_ZONES_MAX][GW_ZONE_MAX];   /* normalised; "host add" checks names */
	size_t nzones;
	char *nameservers;      /* "nameservers", "resolvers": where "host add" finds */
	char *resolvers;        /* a zone's nameserver names (lib/dnsauth.h); NULL unset */
	uint32_t rate_token;    /* per minute */
	uint32_t rate_source;
	uint32_t lockout_failures;
	uint32_t lockout_s;
	bool enable_register;
	uint32_t ttl, txt_ttl;
	uint32_t upstream_wait_s;
	uint32_t workers;
	uint32_t retry_max_s;
	uint32_t max_connections;
	uint32_t max_per_source;
	uint32_t conn_timeout_s;
	uint32_t request_timeout_s;
	uint32_t v6_prefix;     /* ipv6-source-prefix */
	uint32_t http_threads;
	uint32_t request_workers;
	bool allow_plain_http;
	char *tls_priorities;   /* GnuTLS priority string (default GW_TLS_PRIORITIES) */
	char user[64];          /* "" = no drop (see lib/sandbox.h) */
	char group[64];
	bool seccomp;
	uint32_t audit_refusals;     /* per host and minute; more are counted, not written */
	uint32_t audit_max_age_days;
	uint32_t audit_max_rows;
	bool has_log_level;
	enum dw_log_level log_level;
	struct dw_config *cfg;  /* the providers */
};

/* Loads path.  check_only: providers touch no network. */
int gw_conf_load(const char *path, bool check_only, struct gw_conf *out, struct dw_diag *diag);
void gw_conf_free(struct gw_conf *c);
/* The [provider NAME] section called name, or NULL. */
struct dw_provider *gw_conf_provider(const struct gw_conf *c, const char *name);
/* Parses "ADDR:PORT" / "[V6]:PORT" (pure, for tests). */
int gw_listen_parse(const char *s, struct gw_listen *out);
/* The longest zone that fqdn (normalised) is in or equal to, or NULL. */
const char *gw_conf_zone_of(const struct gw_conf *c, const char *fqdn);
/* True when every listen address is loopback (127/8, ::1). */
bool gw_listen_loopback(const struct gw_listen *l);
