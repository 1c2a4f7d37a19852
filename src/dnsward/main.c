/* dnsward: command-line front end.  Parses global options, hardens the
 * process, loads the configuration and dispatches to a sub-command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnsward/commands.h"
#include "dw_build.h"
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

/* Keeps secrets out of core files and away from other users' eyes. */
static void harden_process(void)
{
	struct rlimit nocore = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &nocore);
#if !defined(__SANITIZE_ADDRESS__)
	/* Not under ASan: LeakSanitizer must ptrace the process at exit. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	umask(077);
}

static int cmd_providers(void)
{
	for (size_t i = 0; dw_provider_table[i] != NULL; i++) {
		const struct dw_provider_ops *o = dw_provider_table[i];
		printf("%-10s %s%s%s  %s\n", o->type, (o->caps & DW_CAP_A) ? "A " : "",
		       (o->caps & DW_CAP_AAAA) ? "AAAA " : "", (o->caps & DW_CAP_TXT) ? "TXT" : "",
		       o->summary != NULL ? o->summary : "");
	}
	return DW_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	int level = -1;

	harden_process();
	dw_log_init("dnsward");

	int c;
	while ((c = getopt_long(argc, argv, "+c:dvqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'd': level = DW_LOG_DEBUG; break;
		case 'v': level = DW_LOG_INFO; break;
		case 'q': level = DW_LOG_ERR; break;
		case 'h': usage(stdout); return DW_EXIT_OK;
		case 'V': printf("dnsward %s\n", DW_VERSION); return DW_EXIT_OK;
		default: usage(stderr); return DW_EXIT_USAGE;
		}
	}
	if (level >= 0)
		dw_log_set_level((enum dw_log_level)level);
	if (optind >= argc) {
		usage(stderr);
		return DW_EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	int cargc = argc - optind;
	char **cargv = argv + optind;

	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return DW_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("dnsward %s\n", DW_VERSION);
		return DW_EXIT_OK;
	}
	if (strcmp(cmd, "providers") == 0)
		return cmd_providers();

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
		/* Only "update" and "run" may touch the network while configuring. */
		bool check_only = fn != cmd_update && fn != cmd_run;
		int ret = dw_config_load(config_path, check_only, &cfg, &diag);
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
