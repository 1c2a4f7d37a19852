/* token rotate | revoke */
#include <stdio.h>
#include <string.h>

#include "gateway/commands.h"
#include "gateway/gw_parse.h"
#include "gateway/gw_store.h"
#include "gateway/gw_token.h"
#include "lib/log.h"

int cmd_token(struct gw_conf *conf, int argc, char **argv)
{
	bool rotate = argc == 3 && strcmp(argv[1], "rotate") == 0;
	bool revoke = argc == 3 && strcmp(argv[1], "revoke") == 0;
	if (!rotate && !revoke) {
		log_error("usage: token rotate FQDN | token revoke FQDN");
		return GW_EXIT_USAGE;
	}
	char fqdn[GW_FQDN_MAX];
	int n = snprintf(fqdn, sizeof(fqdn), "%s", argv[2]);
	if (n < 0 || (size_t)n >= sizeof(fqdn) || gw_name_normalize(fqdn) != DW_OK) {
		log_error("'%s' is not a valid host name", argv[2]);
		return GW_EXIT_USAGE;
	}
	struct gw_store *st = cmd_open_store(conf);
	if (st == NULL)
		return GW_EXIT_FAIL;
	struct gw_db *db = gw_store_get(st);
	struct gw_token tok;
	gw_token_new(&tok);
	struct gw_host h;
	char old[GW_TOKEN_ID_LEN + 1] = "";
	int rc = GW_EXIT_FAIL;
	int ret = db != NULL ? gw_db_begin(db) : DW_EIO;
	if (ret == DW_OK)
		ret = gw_db_host_get(db, fqdn, &h);
	if (ret == DW_ENOTFOUND) {
		log_error("%s is not a host", fqdn);
		rc = GW_EXIT_USAGE;
		goto out;
	}
	if (ret == DW_OK)
		ret = gw_db_token_of_host(db, h.id, old);
	if (ret == DW_OK)
		ret = gw_db_token_revoke_all(db, h.id);
	if (ret == DW_OK && rotate)
		ret = gw_db_token_add(db, h.id, &tok, "host");
	struct gw_audit a = { .host = fqdn, .token_id = rotate ? tok.id : NULL,
	                      .action = rotate ? "token-rotate" : "token-revoke",
	                      .old_value = old[0] ? old : NULL, .new_value = rotate ? tok.id : NULL,
	                      .source = "cli", .result = "ok" };
	if (ret == DW_OK)
		ret = gw_db_audit(db, &a);
	if (ret == DW_OK)
		ret = gw_db_commit(db);
	if (ret != DW_OK) {
		log_error("cannot change the token of %s: %s", fqdn,
		          db != NULL ? gw_db_errmsg(db) : "no database");
		goto out;
	}
	if (rotate) {
		printf("%s\n", tok.text);
		fflush(stdout);
		fprintf(stderr, "new token for %s shown above; the old one no longer works\n", fqdn);
	} else {
		fprintf(stderr, "%s has no token now ('token rotate' makes a new one)\n", fqdn);
	}
	rc = GW_EXIT_OK;
out:
	gw_token_wipe(&tok);
	if (db != NULL)
		gw_db_rollback(db);
	gw_store_put(st, db);
	gw_store_close(st);
	return rc;
}
