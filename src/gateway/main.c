/* dnsward-gateway: command-line front end.  Global options, process
 * hardening, configuration, dispatch. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dw_build.h"
#include "gateway/commands.h"
#include "gateway/gw_store.h"
#include "lib/cli.h"
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
	        "           [--iid ::IID] [--allow-any-name]\n"
	        "                                add a host; prints its token once\n"
	        "  host list                     hosts, their limits and desired records\n"
	        "  host remove FQDN              remove a host and its tokens\n"
	        "  token rotate FQDN             replace the host's token; prints the new one\n"
	        "  token revoke FQDN             remove the host's tokens\n"
	        "  audit [--host FQDN] [--limit N]  the audit log, newest first\n"
	        "  serve                         run the server in the foreground\n"
	        "  migrate --from SOURCE         copy another store (a SQLite file) into the\n"
	        "                                configured, empty one (PostgreSQL)\n"
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

int cmd_prepare_store(const struct gw_conf *conf, struct dw_diag *diag)
{
	if (geteuid() != 0 || !gw_store_is_file(conf->database))
		return DW_OK;
	uid_t uid;
	gid_t gid;
	if (conf->user[0] != '\0') {
		struct passwd *pw = getpwnam(conf->user);
		if (pw == NULL)
			return dw_diag_set(diag, DW_EIO, "no such user '%s'", conf->user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (conf->group[0] != '\0') {
			struct group *gr = getgrnam(conf->group);
			if (gr == NULL)
				return dw_diag_set(diag, DW_EIO, "no such group '%s'", conf->group);
			gid = gr->gr_gid;
		}
	} else {
		/* No user: a database root is about to create belongs to whoever
		 * owns its directory (systemd's StateDirectory= of a DynamicUser
		 * service); an existing one keeps its owner, and SQLite gives the
		 * -wal and -shm files it creates as root to that owner. */
		struct stat sb;
		if (lstat(conf->database, &sb) == 0 || errno != ENOENT)
			return DW_OK;
		char dir[4096];
		int n = snprintf(dir, sizeof(dir), "%s", conf->database);
		char *slash = strrchr(dir, '/');
		if (n < 0 || (size_t)n >= sizeof(dir) || slash == NULL)
			return DW_OK;
		slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &sb) != 0 || sb.st_uid == 0)
			return DW_OK;
		uid = sb.st_uid;
		gid = sb.st_gid;
	}
	return gw_store_prepare(conf->database, uid, gid, diag);
}

struct gw_store_cfg cmd_store_cfg(const struct gw_conf *conf, unsigned flags, unsigned pool)
{
	struct gw_store_cfg cfg = { .database = conf->database, .password = conf->db_password.data,
	                            .pool = pool, .flags = flags };
	return cfg;
}

struct gw_store *cmd_open_store(const struct gw_conf *conf)
{
	struct gw_store *st = NULL;
	struct dw_diag diag = { "" };
	struct gw_store_cfg cfg = cmd_store_cfg(conf, GW_STORE_CREATE, 1);
	if (cmd_prepare_store(conf, &diag) != DW_OK || gw_store_open_cfg(&cfg, &st, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		return NULL;
	}
	return st;
}

int main(int argc, char **argv)
{
	dw_cli_harden();
	dw_log_init("dnsward-gateway");

	struct dw_cli cli;
	int rc0 = dw_cli_parse(argc, argv, "dnsward-gateway", usage, &cli);
	if (rc0 >= 0)
		return rc0;
	const char *config_path = cli.config_path != NULL ? cli.config_path : DEFAULT_CONF;
	int level = cli.level;
	const char *cmd = cli.command;
	int cargc = cli.argc;
	char **cargv = cli.argv;
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return GW_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("dnsward-gateway %s\n", DW_VERSION);
		return GW_EXIT_OK;
	}
	if (strcmp(cmd, "providers") == 0) {
		dw_cli_list_providers(stdout);
		return GW_EXIT_OK;
	}

	int (*fn)(struct gw_conf *, int, char **) = NULL;
	if (strcmp(cmd, "host") == 0)
		fn = cmd_host;
	else if (strcmp(cmd, "token") == 0)
		fn = cmd_token;
	else if (strcmp(cmd, "audit") == 0)
		fn = cmd_audit;
	else if (strcmp(cmd, "serve") == 0)
		fn = cmd_serve;
	else if (strcmp(cmd, "migrate") == 0)
		fn = cmd_migrate;
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
