/* audit [--host FQDN] [--limit N] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/commands.h"
#include "gateway/gw_parse.h"
#include "gateway/gw_store.h"
#include "lib/log.h"
#include "lib/text.h"

/* Values may come from clients: print them sanitised and bounded. */
static const char *safe(const char *s, char *buf, size_t cap)
{
	if (s == NULL)
		return "-";
	dw_text_sample(s, strlen(s), 120, buf, cap);
	return buf;
}

static int print_one(void *arg, const struct gw_audit *a)
{
	(void)arg;
	char t[32], b1[128], b2[128], b3[128], b4[128], b5[128];
	printf("%s %s %s token=%s old=%s new=%s source=%s result=%s", cmd_time(a->time, t),
	       safe(a->host, b1, sizeof(b1)), a->action, a->token_id != NULL ? a->token_id : "-",
	       safe(a->old_value, b2, sizeof(b2)), safe(a->new_value, b3, sizeof(b3)),
	       safe(a->source, b4, sizeof(b4)), safe(a->result, b5, sizeof(b5)));
	/* A refusal row that also stands for refusals over the host's budget. */
	if (a->count > 1)
		printf(" count=%lld", (long long)a->count);
	printf("\n");
	return DW_OK;
}

int cmd_audit(struct gw_conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	char host[GW_FQDN_MAX];
	bool has_host = false;
	unsigned long limit = 50;
	int c;
	optind = 0;   /* re-initialise GNU getopt (main parsed the global options) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': {
			int n = snprintf(host, sizeof(host), "%s", optarg);
			if (n < 0 || (size_t)n >= sizeof(host) || gw_name_normalize(host) != DW_OK) {
				log_error("--host %s: not a valid host name", optarg);
				return GW_EXIT_USAGE;
			}
			has_host = true;
			break;
		}
		case 'l': {
			char *end = NULL;
			limit = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '\0' || limit < 1 || limit > 100000) {
				log_error("--limit %s: a number from 1 to 100000", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		}
		default:
			return GW_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_error("usage: audit [--host FQDN] [--limit N]");
		return GW_EXIT_USAGE;
	}
	struct gw_store *st = cmd_open_store(conf);
	if (st == NULL)
		return GW_EXIT_FAIL;
	struct gw_db *db = gw_store_get(st);
	int ret = db != NULL ? gw_db_audit_list(db, has_host ? host : NULL, (unsigned)limit,
	                                        print_one, NULL)
	                     : DW_EIO;
	if (ret != DW_OK)
		log_error("cannot read the audit log: %s", db != NULL ? gw_db_errmsg(db) : "no database");
	gw_store_put(st, db);
	gw_store_close(st);
	return ret == DW_OK ? GW_EXIT_OK : GW_EXIT_FAIL;
}
