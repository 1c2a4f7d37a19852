/* The daemon's control socket: a tiny line protocol over a unix stream
 * socket (mode 0600, so only the daemon's user and root can talk to it).
 *
 * A client sends one request line and reads the reply until end of file:
 *   status         -> one JSON document (see "dnsward status --json")
 *   force          -> "ok" line; every record is published at once, even
 *                     when in sync or parked (like SIGUSR1)
 *   force FQDN     -> the same for one record, or "error: ..." line
 * A request is at most DW_CTL_REQ_MAX bytes including its line end, printable
 * ASCII only; anything else is refused before it is interpreted. */
#pragma once

#include <stddef.h>

#include "lib/config.h"
#include "lib/error.h"

#define DW_CTL_REQ_MAX 300
#define DW_CTL_REPLY_MAX (4u * 1024u * 1024u)

enum dw_ctl_cmd {
	DW_CTL_STATUS = 0,
	DW_CTL_FORCE,
};

struct dw_ctl_req {
	enum dw_ctl_cmd cmd;
	char arg[256];   /* FORCE: normalised FQDN, "" = all records */
};

/* Parses one request buf[0..len) (need not be NUL-terminated; one final
 * "\n" or "\r\n" allowed).  Pure; fuzzed.  Returns 0, or DW_EPARSE (unknown
 * command, bad name, control bytes) / DW_ETOOBIG with a printable reason in
 * diag. */
int dw_ctl_parse(const char *buf, size_t len, struct dw_ctl_req *out, struct dw_diag *diag);

/* Where the socket lives: "control-socket" when set, else
 * $RUNTIME_DIRECTORY/dnsward.sock (its first entry) under systemd, else
 * STATE_DIR/dnsward.sock.  Returns 0 or DW_ETOOBIG. */
int dw_ctl_socket_path(const struct dw_config *cfg, char *buf, size_t cap);

/* Client side: connects to path, sends line (a request without its line
 * end), reads the whole reply (at most DW_CTL_REPLY_MAX bytes, within
 * timeout_ms) into *reply (malloc'd, NUL-terminated; caller frees).
 * Returns 0, DW_ENOTFOUND when nobody listens there (no daemon), or
 * DW_EIO / DW_ETIMEOUT / DW_ETOOBIG with diag. */
int dw_ctl_request(const char *path, const char *line, long timeout_ms, char **reply,
                   struct dw_diag *diag);
