/* The HTTP(S) server: libmicrohttpd with http-threads epoll loops per
 * listen address, which only read and write; a complete request is
 * suspended and run by one of request-workers threads (authentication,
 * SQLite, the wait for the upstream), then resumed with its reply.  At most
 * request-workers - 2 requests wait for the upstream at once, so a slow
 * provider never stalls requests that do not wait.  Bounded by
 * max-connections and max-connections-per-source (an IPv4 address or an
 * IPv6 prefix of ipv6-source-prefix bits; checked before libmicrohttpd sets
 * a connection up), connection-timeout (idle), request-timeout (each whole
 * request, head and body, enforced by a reaper thread), 16 KiB of memory
 * per connection for the request line and headers, and a 4 KiB body cap
 * enforced before any authentication.  Ambiguous framing (see
 * docs/gateway.md) is refused with 400 and the connection closed; TLS uses
 * tls-priorities.
 *
 * Routes:
 *   GET  /nic/update       dyndns2 (Basic auth: user = host FQDN, password = token);
 *                          GET only (405 badagent), offline=yes is !donator,
 *                          unusable addresses are 400, foreign names nohost
 *   POST /update           acme-dns (X-Api-User = host FQDN, X-Api-Key = token)
 *   POST /register         acme-dns registration (403 unless enable-register)
 *   GET  /health           200
 *   POST /present, /cleanup  lego httpreq (Basic auth)
 *   GET  /metrics          Prometheus text
 *   GET  /myip             the caller's address as the gateway sees it
 *
 * A request waits for the upstream at most upstream-wait seconds (0: never;
 * the answer is then 911 / 502 for every change, and the background retry
 * publishes it), then reads back its value: applied, queued (911 / 502),
 * or refused for good by the provider (!active / 424).  The desired value
 * is committed before the provider is called.  A failure of the database
 * is answered 503 (dyndns2: 503 with 911) and GET /health says 503 while
 * the database cannot take writes. */
#pragma once

#include "gateway/gw_conf.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_rate.h"
#include "gateway/gw_store.h"
#include "gateway/gw_upstream.h"

struct gw_server;

struct gw_server_deps {
	const struct gw_conf *conf;
	struct gw_store *st;
	struct gw_upstream *up;
	struct gw_metrics *m;
	struct gw_rate *rate;
};

/* What may need privileges: reads the TLS certificate and key, binds
 * every listen address.  Nothing is served yet (see gw_server_start). */
int gw_server_open(const struct gw_server_deps *deps, struct gw_server **out,
                   struct dw_diag *diag);
/* Starts serving on the sockets of gw_server_open (threads are created
 * here, after any privilege drop and seccomp filter: the request workers,
 * the request-timeout reaper, libmicrohttpd's loops); prints one line
 * "listening on http[s]://ADDR:PORT" per address to stdout. */
int gw_server_start(struct gw_server *srv, struct dw_diag *diag);
/* Stops accepting, lets the workers finish (at most upstream-wait) and
 * answers queued requests 503, stops the loops, closes the sockets, wipes
 * the key.  NULL is fine. */
void gw_server_stop(struct gw_server *srv);

#define GW_BODY_MAX 4096
