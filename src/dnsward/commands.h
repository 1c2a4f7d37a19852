/* The dnsward sub-commands.  main.c parses global options, loads the
 * configuration when the command needs one, and dispatches here.
 * Each returns the process exit status (see dnsward(8)):
 *   0 success, 1 an update failed and will be retried, 2 usage or
 *   configuration error, 3 a record needs the user (fatal provider reply). */
#pragma once

#include "lib/config.h"

enum {
	DW_EXIT_OK = 0,
	DW_EXIT_RETRY = 1,
	DW_EXIT_USAGE = 2,
	DW_EXIT_FATAL = 3,
};

/* dnsward check: cfg loaded with check_only; prints a summary. */
int cmd_check(struct dw_config *cfg, int argc, char **argv);
/* dnsward addr [IFACE]: cfg may be NULL (no configuration file found or
 * given); then only addresses and flags are listed, with the default policy's
 * verdicts. */
int cmd_addr(struct dw_config *cfg, int argc, char **argv);
/* dnsward update [--dry-run] [--force] [RECORD...] */
int cmd_update(struct dw_config *cfg, int argc, char **argv);
/* dnsward acme ACTION ARGS...: ACME dns-01 hook for lego, certbot and
 * dehydrated (lib/acme.h, docs/acme.md). */
int cmd_acme(struct dw_config *cfg, int argc, char **argv);
/* dnsward run: the daemon (until SIGTERM/SIGINT).  cfg stays owned by the
 * caller; a reload (SIGHUP) replaces its contents in place. */
int cmd_run(struct dw_config *cfg, int argc, char **argv);
/* dnsward status [--json]: from the running daemon, else the state file. */
int cmd_status(struct dw_config *cfg, int argc, char **argv);
/* dnsward import ddclient|inadyn FILE [--secrets-dir DIR] [--force]: needs
 * no configuration (argv[0] = "import"); prints the translated dnsward.conf,
 * writes the secrets to files of their own (cmd_import.c). */
int cmd_import(int argc, char **argv);
