/* dnsward-gateway: command-line front end.  Global options, process
 * hardening, configuration, dispatch. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dw_build.h"
#include "gateway/commands.h"
#include "gateway/gw_store.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/provider.h"

#define DEFAULT_CONF DW_SYSCONFDIR "/dnsward/gateway.conf"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: dnsward-gateway [-c FILE] [-d|-v|-q] COMMAND [ARGS]\n"
	        "\n"
	        "commands:\n"
	        "  host add FQDN --provider NAME [--acme] [--allow CIDR]... [--expires DATE]\n"
	        "           [--iid ::IID]        add a host; prints its token once\n"
	        "  host list                     hosts, their limits and desired records\n"
	        "  host remove FQDN              remove a host and its tokens\n"
	        "  token rotate FQDN             replace the host's token; prints the new one\n"
	        "  token revoke FQDN             remove the host's tokens\n"
	        "  audit [--host FQDN] [--limit N]  the audit log, newest first\n"
	        "  serve                         run the server in the foreground\n"
	        "  check                         validate the configuration (no network)\n"
	        "  providers                     list provider types\n"
	        "  version                       print the version\n"
	        "\n"
	        "options:\n"
	        "  -c, --config FILE   configuration (default " DEFAULT_CONF ")\n"
	        "  -d, --debug         debug logging\n"
	        "  -v, --verbose       informational logging\n"
	        "  -q, --quiet         errors only\n"
	        "  -h, --help          this text\n");
}

static void harden_process(void)
{
	struct rlimit nocore = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &nocore);
#if !defined(__SANITIZE_ADDRESS__)
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	umask(077);
}

static int cmd_providers(void)
{
	for (size_t i = 0; dw_provider_table[i] != NULL; i++) {
		const struct dw_provider_ops *o = dw_provider_table[i];
		bool txt = o->txt_add != NULL && o->txt_del != NULL;
		printf("%-10s %s%s%s\n", o->type, (o->caps & DW_CAP_A) ? "A " : "",
		       (o->caps & DW_CAP_AAAA) ? "AAAA " : "", txt ? "TXT" : "");
	}
	return GW_EXIT_OK;
}

const char *cmd_time(int64_t t, char buf[32])
{
	if (t == 0) {
		snprintf(buf, 32, "never");
		return buf;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}

struct gw_store *cmd_open_store(const struct gw_conf *conf)
{
	struct gw_store *st = NULL;
	struct dw_diag diag = { "" };
	if (gw_store_open(conf->database, true, 1, &st, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		return NULL;
	}
	return st;
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
	const char *config_path = DEFAULT_CONF;
	int level = -1;

	harden_process();
	dw_log_init("dnsward-gateway");
	int c;
	while ((c = getopt_long(argc, argv, "+c:dvqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'd': level = DW_LOG_DEBUG; break;
		case 'v': level = DW_LOG_INFO; break;
		case 'q': level = DW_LOG_ERR; break;
		case 'h': usage(stdout); return GW_EXIT_OK;
		case 'V': printf("dnsward-gateway %s\n", DW_VERSION); return GW_EXIT_OK;
		default: usage(stderr); return GW_EXIT_USAGE;
		}
	}
	if (level >= 0)
		dw_log_set_level((enum dw_log_level)level);
	if (optind >= argc) {
		usage(stderr);
		return GW_EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	int cargc = argc - optind;
	char **cargv = argv + optind;
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return GW_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("dnsward-gateway %s\n", DW_VERSION);
		return GW_EXIT_OK;
	}
	if (strcmp(cmd, "providers") == 0)
		return cmd_providers();

	int (*fn)(struct gw_conf *, int, char **) = NULL;
	if (strcmp(cmd, "host") == 0)
		fn = cmd_host;
	else if (strcmp(cmd, "token") == 0)
		fn = cmd_token;
	else if (strcmp(cmd, "audit") == 0)
		fn = cmd_audit;
	else if (strcmp(cmd, "serve") == 0)
		fn = cmd_serve;
	else if (strcmp(cmd, "check") != 0) {
		log_error("unknown command '%s' (try 'dnsward-gateway help')", cmd);
		return GW_EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		log_error("cannot initialise libsodium");
		return GW_EXIT_FAIL;
	}
	struct gw_conf conf;
	struct dw_diag diag = { "" };
	if (gw_conf_load(config_path, fn != cmd_serve, &conf, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		return GW_EXIT_USAGE;
	}
	if (conf.has_log_level && level < 0)
		dw_log_set_level(conf.log_level);
	int rc = GW_EXIT_OK;
	if (fn != NULL) {
		if (dw_http_global_init() != DW_OK) {
			log_error("cannot initialise the HTTP library");
			rc = GW_EXIT_FAIL;
		} else {
			rc = fn(&conf, cargc, cargv);
			dw_http_global_cleanup();
		}
	}
	gw_conf_free(&conf);
	dw_log_clear_secrets();
	return rc;
}
