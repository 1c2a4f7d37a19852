/* What every dnsward program does before its sub-command: process hardening
 * and the global options -c/-d/-v/-q/-h/-V. */
#pragma once

#include <stdio.h>

struct dw_cli {
	const char *config_path;   /* -c FILE, or NULL when not given */
	int level;                 /* enum dw_log_level from -d/-v/-q, -1 if none */
	const char *command;       /* argv[optind]: the sub-command, NULL if none */
	int argc;                  /* the sub-command's argc/argv (argv[0] = command) */
	char **argv;
};

/* No core dumps (secrets), no privilege gain through exec, umask 077.
 * Call first in main(). */
void dw_cli_harden(void);

/* Parses the global options, stopping at the first non-option (the
 * command), and applies the log level.  Returns -1 to go on with cli, or an
 * exit status: 0 after -h/-V (usage/version printed), 2 on a bad option or a
 * missing command (usage on stderr).  prog names the program in -V. */
int dw_cli_parse(int argc, char **argv, const char *prog, void (*usage)(FILE *),
                 struct dw_cli *cli);

/* Prints the provider table: type, record types, summary. */
void dw_cli_list_providers(FILE *out);
