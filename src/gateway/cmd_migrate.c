/* migrate --from SOURCE [--from-password-file FILE]: copies another store
 * (a SQLite file, or another PostgreSQL database) into the configured one,
 * which must be empty. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "gateway/commands.h"
#include "gateway/gw_store.h"
#include "lib/log.h"
#include "lib/secret.h"

int cmd_migrate(struct gw_conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "from-password-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *pwfile = NULL;
	int c;
	optind = 0;   /* re-initialise GNU getopt (main parsed the global options) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'p':
			pwfile = optarg;
			break;
		default:
			return GW_EXIT_USAGE;
		}
	}
	if (optind != argc || from == NULL) {
		log_error("usage: migrate --from SOURCE [--from-password-file FILE]");
		return GW_EXIT_USAGE;
	}
	struct dw_diag diag = { "" };
	if (gw_store_check_setting(from, &diag) != DW_OK) {
		log_error("--from: %s", diag.msg);
		return GW_EXIT_USAGE;
	}
	if (strcmp(from, conf->database) == 0) {
		log_error("--from names the configured database itself (%s): nothing to copy",
		          conf->database);
		return GW_EXIT_USAGE;
	}
	struct dw_secret pw = { NULL, 0 };
	if (pwfile != NULL && dw_secret_load(pwfile, DW_SECRET_LINE, &pw, &diag) != DW_OK) {
		log_error("--from-password-file: %s", diag.msg);
		return GW_EXIT_USAGE;
	}
	/* The source is brought to the current schema first, as serve would. */
	struct gw_store_cfg scfg = { .database = from, .password = pw.data, .pool = 1, .flags = 0 };
	struct gw_store *src = NULL, *dst = NULL;
	int rc = GW_EXIT_FAIL;
	if (gw_store_open_cfg(&scfg, &src, &diag) != DW_OK) {
		log_error("source: %s", diag.msg);
		goto out;
	}
	if ((dst = cmd_open_store(conf)) == NULL)
		goto out;
	int64_t n[4];
	if (gw_store_copy(src, dst, n, &diag) != DW_OK) {
		log_error("%s; nothing was written to %s", diag.msg, conf->database);
		goto out;
	}
	char what[160];
	snprintf(what, sizeof(what), "%lld hosts, %lld tokens, %lld records, %lld audit rows",
	         (long long)n[0], (long long)n[1], (long long)n[2], (long long)n[3]);
	struct gw_db *db = gw_store_get(dst);
	struct gw_audit a = { .host = "-", .action = "migrate", .new_value = what,
	                      .source = "cli", .result = "ok" };
	if (db == NULL || gw_db_audit(db, &a) != DW_OK)
		log_warning("copied, but the audit row of the copy could not be written");
	gw_store_put(dst, db);
	fprintf(stderr, "copied %s from the %s store into the %s store; tokens stay valid\n", what,
	        gw_store_backend(src), gw_store_backend(dst));
	rc = GW_EXIT_OK;
out:
	gw_store_close(src);
	gw_store_close(dst);
	dw_secret_clear(&pw);
	return rc;
}
