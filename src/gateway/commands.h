/* dnsward-gateway sub-commands (one file each: cmd_host.c, cmd_token.c,
 * cmd_audit.c, cmd_serve.c, cmd_migrate.c).  Each gets the loaded configuration and its
 * own argv (argv[0] is the command name) and returns an exit status. */
#pragma once

#include "gateway/gw_conf.h"
#include "gateway/gw_store.h"

#define GW_EXIT_OK 0
#define GW_EXIT_FAIL 1
#define GW_EXIT_USAGE 2

int cmd_host(struct gw_conf *conf, int argc, char **argv);
int cmd_token(struct gw_conf *conf, int argc, char **argv);
int cmd_audit(struct gw_conf *conf, int argc, char **argv);
int cmd_serve(struct gw_conf *conf, int argc, char **argv);
int cmd_migrate(struct gw_conf *conf, int argc, char **argv);

/* Run as root: gives the database to [gateway] user (or, when it does not
 * exist yet, to the owner of its directory) before any connection opens
 * (gw_store_prepare).  Not root: nothing.  0 or an error with diag. */
int cmd_prepare_store(const struct gw_conf *conf, struct dw_diag *diag);
/* The store settings of conf (database, password) with flags and pool. */
struct gw_store_cfg cmd_store_cfg(const struct gw_conf *conf, unsigned flags, unsigned pool);
/* Opens the configured database for an admin command, after
 * cmd_prepare_store (logs on failure). */
struct gw_store *cmd_open_store(const struct gw_conf *conf);
/* Formats unix time t as "YYYY-MM-DDTHH:MM:SSZ" (or "never" for 0). */
const char *cmd_time(int64_t t, char buf[32]);
