/* dnsward-gateway sub-commands (one file each: cmd_host.c, cmd_token.c,
 * cmd_audit.c, cmd_serve.c).  Each gets the loaded configuration and its
 * own argv (argv[0] is the command name) and returns an exit status. */
#pragma once

#include "gateway/gw_conf.h"

#define GW_EXIT_OK 0
#define GW_EXIT_FAIL 1
#define GW_EXIT_USAGE 2

int cmd_host(struct gw_conf *conf, int argc, char **argv);
int cmd_token(struct gw_conf *conf, int argc, char **argv);
int cmd_audit(struct gw_conf *conf, int argc, char **argv);
int cmd_serve(struct gw_conf *conf, int argc, char **argv);

/* Opens the configured database for an admin command (logs on failure). */
struct gw_store *cmd_open_store(const struct gw_conf *conf);
/* Formats unix time t as "YYYY-MM-DDTHH:MM:SSZ" (or "never" for 0). */
const char *cmd_time(int64_t t, char buf[32]);
