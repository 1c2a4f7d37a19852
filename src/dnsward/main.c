/* dnsward: command-line front end.  Parses global options, hardens the
 * process, loads the configuration and dispatches to a sub-command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsward/commands.h"
#include "dw_build.h"
#include "lib/cli.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/provider.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: dnsward [-c FILE] [-d|-v|-q] COMMAND [ARGS]\n"
	        "\n"
	        "commands:\n"
	        "  check                       validate the configuration (no network)\n"
	        "  addr [IFACE]                list interface addresses and what each record would publish\n"
	        "  update [--dry-run] [--force] [RECORD...]\n"
	        "                              publish changed addresses once\n"
	        "  run                         the daemon: publish, then follow address changes\n"
	        "  status [--json]             desired, published and last result of each record\n"
	        "  acme present|cleanup FQDN VALUE, acme certbot-auth|certbot-cleanup,\n"
	        "  acme dehydrated HOOK ARGS   ACME dns-01 hook (docs/acme.md)\n"
	        "  import ddclient|inadyn FILE [--secrets-dir DIR] [--force]\n"
	        "                              print an equivalent dnsward.conf; secrets to files\n"
	        "  providers                   list provider types\n"
	        "  version                     print the version\n"
	        "\n"
	        "options:\n"
	        "  -c, --config FILE   configuration (default " DW_DEFAULT_CONFIG ")\n"
	        "  -d, --debug         debug logging\n"
	        "  -v, --verbose       informational logging\n"
	        "  -q, --quiet         errors only\n"
	        "  -h, --help          this text\n");
}

int main(int argc, char **argv)
{
	dw_cli_harden();
	dw_log_init("dnsward");

	struct dw_cli cli;
	int rc0 = dw_cli_parse(argc, argv, "dnsward", usage, &cli);
	if (rc0 >= 0)
		return rc0;
	const char *config_path = cli.config_path;
	int level = cli.level;
	const char *cmd = cli.command;
	int cargc = cli.argc;
	char **cargv = cli.argv;

	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return DW_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("dnsward %s\n", DW_VERSION);
		return DW_EXIT_OK;
	}
	if (strcmp(cmd, "providers") == 0) {
		dw_cli_list_providers(stdout);
		return DW_EXIT_OK;
	}
	if (strcmp(cmd, "import") == 0)
		return cmd_import(cargc, cargv);   /* reads another client's file, not ours */

	int (*fn)(struct dw_config *, int, char **) = NULL;
	bool optional_config = false;
	if (strcmp(cmd, "check") == 0)
		fn = cmd_check;
	else if (strcmp(cmd, "update") == 0)
		fn = cmd_update;
	else if (strcmp(cmd, "run") == 0)
		fn = cmd_run;
	else if (strcmp(cmd, "status") == 0)
		fn = cmd_status;
	else if (strcmp(cmd, "acme") == 0)
		fn = cmd_acme;
	else if (strcmp(cmd, "addr") == 0) {
		fn = cmd_addr;
		optional_config = true;
	} else {
		log_error("unknown command '%s' (try 'dnsward help')", cmd);
		return DW_EXIT_USAGE;
	}

	struct dw_config *cfg = NULL;
	if (config_path == NULL) {
		config_path = DW_DEFAULT_CONFIG;
		if (optional_config && access(config_path, F_OK) != 0)
			config_path = NULL;
	}
	if (config_path != NULL) {
		struct dw_diag diag = { "" };
		/* Only "update" and "run" may touch the network while configuring.
		 * Secrets are read by the commands that publish (update, run,
		 * acme); "check" reads those it may and looks at the others;
		 * "addr" and "status" never touch them, so no privilege is
		 * needed to run them. */
		unsigned flags = 0;
		if (fn != cmd_update && fn != cmd_run)
			flags |= DW_CONF_OFFLINE;
		if (fn == cmd_check)
			flags |= DW_CONF_SECRETS_PEEK;
		else if (fn == cmd_addr || fn == cmd_status)
			flags |= DW_CONF_SECRETS_SKIP;
		int ret = dw_config_load(config_path, flags, &cfg, &diag);
		if (ret != DW_OK) {
			log_error("%s", diag.msg);
			return DW_EXIT_USAGE;
		}
		if (cfg->has_log_level && level < 0)
			dw_log_set_level(cfg->log_level);
	}

	int rc = DW_EXIT_USAGE;
	if (dw_http_global_init() != DW_OK) {
		log_error("cannot initialise the HTTP library");
	} else {
		rc = fn(cfg, cargc, cargv);
		dw_http_global_cleanup();
	}
	dw_config_free(cfg);
	dw_log_clear_secrets();
	return rc;
}
