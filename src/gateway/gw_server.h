/* The HTTP(S) server: libmicrohttpd, one thread per connection (a request
 * may wait up to upstream-wait seconds for the provider, and a blocked
 * thread then stalls nobody else), bounded by max-connections,
 * max-connections-per-source, connection-timeout, 16 KiB of memory per
 * connection for the request line and headers, and a 4 KiB body cap
 * enforced before any authentication.
 *
 * Routes:
 *   GET  /nic/update       dyndns2 (Basic auth: user = host FQDN, password = token)
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
 * here, after any privilege drop and seccomp filter); prints one line
 * "listening on http[s]://ADDR:PORT" per address to stdout. */
int gw_server_start(struct gw_server *srv, struct dw_diag *diag);
/* Stops serving, closes the sockets, wipes the key.  NULL is fine. */
void gw_server_stop(struct gw_server *srv);

#define GW_BODY_MAX 4096
