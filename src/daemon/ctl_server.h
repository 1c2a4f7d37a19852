/* The daemon's side of the control socket (protocol: lib/control.h).
 *
 * A unix stream socket, mode 0600 from its creation, served from the loop:
 * at most DMN_CTL_CLIENTS_MAX connections at once (more are closed at
 * once), each gets DMN_CTL_CLIENT_TIMEOUT_MS for its request and reply.  A
 * request is parsed by dw_ctl_parse() before anything acts on it; refused
 * ones get an "error: ..." line.  What a request does is the daemon's: the
 * server calls its ops.  Called from the loop's thread. */
#pragma once

#include "lib/config.h"
#include "lib/error.h"
#include "lib/loop.h"

#define DMN_CTL_CLIENTS_MAX 8
#define DMN_CTL_CLIENT_TIMEOUT_MS 2000

struct daemon;
struct dmn_ctl;

struct dmn_ctl_ops {
	/* The status document, JSON text (malloc'd, the server frees it);
	 * NULL when out of memory (the connection is closed). */
	char *(*status)(struct daemon *d);
	/* Publishes fqdn (NULL = every record) now.  Returns 0, or
	 * DW_ENOTFOUND when no record has that name. */
	int (*force)(struct daemon *d, const char *fqdn);
};

/* Creates the socket where dw_ctl_socket_path(cfg) says and serves it in
 * loop.  A socket left by a daemon that died is replaced; one where another
 * daemon answers is not, nor anything that is not a socket.  Returns 0 with
 * *out set, or DW_ETOOBIG / DW_EIO with diag (nothing left open). */
int dmn_ctl_open(struct dw_loop *loop, const struct dw_config *cfg,
                 const struct dmn_ctl_ops *ops, struct daemon *d, struct dmn_ctl **out,
                 struct dw_diag *diag);

/* The socket's path (for messages); owned by ctl. */
const char *dmn_ctl_path(const struct dmn_ctl *ctl);

/* Closes every connection and the socket, and removes the socket file.
 * NULL is fine. */
void dmn_ctl_free(struct dmn_ctl *ctl);
