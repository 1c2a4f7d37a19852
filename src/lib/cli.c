/* Shared start of the dnsward programs. */
#include "lib/cli.h"

#include <getopt.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>

#include "dw_build.h"
#include "lib/log.h"
#include "lib/provider.h"

void dw_cli_harden(void)
{
	struct rlimit nocore = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &nocore);
#if !defined(__SANITIZE_ADDRESS__)
	/* Not under ASan: LeakSanitizer must ptrace the process at exit. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	/* Hooks and cmd: sources we spawn can never gain privileges. */
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	umask(077);
}

int dw_cli_parse(int argc, char **argv, const char *prog, void (*usage)(FILE *),
                 struct dw_cli *cli)
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
	cli->config_path = NULL;
	cli->level = -1;
	cli->command = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+c:dvqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cli->config_path = optarg; break;
		case 'd': cli->level = DW_LOG_DEBUG; break;
		case 'v': cli->level = DW_LOG_INFO; break;
		case 'q': cli->level = DW_LOG_ERR; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("%s %s\n", prog, DW_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (cli->level >= 0)
		dw_log_set_level((enum dw_log_level)cli->level);
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cli->command = argv[optind];
	cli->argc = argc - optind;
	cli->argv = argv + optind;
	return -1;
}

void dw_cli_list_providers(FILE *out)
{
	for (size_t i = 0; dw_provider_table[i] != NULL; i++) {
		const struct dw_provider_ops *o = dw_provider_table[i];
		bool txt = (o->caps & DW_CAP_TXT) && o->txt_add != NULL && o->txt_del != NULL;
		char types[16];
		snprintf(types, sizeof(types), "%s%s%s", (o->caps & DW_CAP_A) ? "A " : "",
		         (o->caps & DW_CAP_AAAA) ? "AAAA " : "", txt ? "TXT" : "");
		size_t n = strlen(types);
		if (n > 0 && types[n - 1] == ' ')
			types[n - 1] = '\0';
		/* Fixed columns: the summaries line up whatever the types. */
		fprintf(out, "%-10s %-10s  %s\n", o->type, types, o->summary != NULL ? o->summary : "");
	}
}
