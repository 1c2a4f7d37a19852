/* dnsward update: one pass publishing changed addresses. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsward/commands.h"
#include "lib/control.h"
#include "lib/log.h"
#include "lib/sandbox.h"
#include "lib/update.h"

/* With a daemon running, "update --force" asks it to publish now instead of
 * publishing beside it: one process owns the state file, and parked records
 * are released by the daemon itself.  Returns an exit status, or -1 when no
 * daemon listens (then the pass runs here). */
static int force_through_daemon(const struct dw_config *cfg, const struct dw_update_opts *opts)
{
	char path[4096];
	if (dw_ctl_socket_path(cfg, path, sizeof(path)) != DW_OK)
		return -1;
	size_t n = opts->nonly > 0 ? opts->nonly : 1;
	for (size_t i = 0; i < n; i++) {
		char line[300] = "force";
		if (opts->nonly > 0)
			snprintf(line, sizeof(line), "force %s", opts->only[i]);
		struct dw_diag diag = { "" };
		char *reply = NULL;
		int r = dw_ctl_request(path, line, 5000, &reply, &diag);
		if (r == DW_ENOTFOUND && i == 0)
			return -1;   /* no daemon: publish here */
		if (r != DW_OK) {
			log_error("the running daemon did not take the request: %s", diag.msg);
			return DW_EXIT_RETRY;
		}
		bool ok = strcmp(reply, "ok\n") == 0;
		if (!ok)
			log_error("the running daemon refused '%s': %.*s", line,
			          (int)strcspn(reply, "\n"), reply);
		free(reply);
		if (!ok)
			return DW_EXIT_USAGE;
	}
	printf("forced %s through the running daemon (see 'dnsward status')\n",
	       opts->nonly > 0 ? "the named records" : "every record");
	return DW_EXIT_OK;
}

int cmd_update(struct dw_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct dw_update_opts opts = { 0 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "nf", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': opts.dry_run = true; break;
		case 'f': opts.force = true; break;
		default:
			fprintf(stderr, "usage: dnsward update [--dry-run] [--force] [RECORD...]\n");
			return DW_EXIT_USAGE;
		}
	}
	opts.only = argv + optind;
	opts.nonly = (size_t)(argc - optind);
	for (size_t i = 0; i < opts.nonly; i++) {
		if (dw_config_find_record(cfg, opts.only[i]) == NULL) {
			log_error("no [record %s] in %s", opts.only[i], cfg->path);
			return DW_EXIT_USAGE;
		}
	}

	struct dw_update_summary sum;
	struct dw_diag diag = { "" };
	if (opts.force && !opts.dry_run) {
		int fr = force_through_daemon(cfg, &opts);
		if (fr >= 0)
			return fr;
	}
	/* The configuration and every secret are read: give up root (when
	 * configured) and confine the rest of the pass. */
	if (dw_sandbox_enter(cfg, 0, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		return DW_EXIT_USAGE;
	}
	int ret = dw_update_pass(cfg, &opts, &sum, stdout, &diag);
	fflush(stdout);
	if (ret != DW_OK) {
		log_error("%s", diag.msg);
		return DW_EXIT_RETRY;
	}
	log_info("pass done: %u updated, %u unchanged, %u planned, %u without address "
	         "(%u of them expected), %u to retry, %u need action", sum.updated, sum.unchanged,
	         sum.planned, sum.no_address + sum.steady, sum.steady, sum.retry, sum.fatal);
	if (sum.fatal > 0)
		return DW_EXIT_FATAL;
	/* sum.steady (no public IPv4 behind DS-Lite or CGN, the other family
	 * published) is an expected state, not a failure: a timer unit must
	 * not end up failed on every run. */
	if (sum.retry > 0 || sum.no_address > 0)
		return DW_EXIT_RETRY;
	return DW_EXIT_OK;
}
