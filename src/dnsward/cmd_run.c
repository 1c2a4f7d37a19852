/* dnsward run: the daemon (src/daemon/daemon.h), in the foreground until
 * SIGTERM or SIGINT. */
#include <getopt.h>
#include <stdio.h>

#include "daemon/daemon.h"
#include "dnsward/commands.h"
#include "lib/error.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: dnsward run\n"
	           "Publishes every record, then follows address changes until stopped.\n"
	           "Signals: HUP reloads the configuration, USR1 publishes every record now,\n"
	           "TERM or INT stop.  'dnsward status' asks the running daemon.\n");
}

int cmd_run(struct dw_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return DW_EXIT_OK;
		}
		usage(stderr);
		return DW_EXIT_USAGE;
	}
	if (optind < argc) {
		usage(stderr);
		return DW_EXIT_USAGE;
	}
	switch (dmn_run(cfg)) {
	case DW_OK:
		return DW_EXIT_OK;
	case DW_ECONFIG:
		return DW_EXIT_USAGE;   /* the state file or its path: the user must act */
	default:
		return DW_EXIT_RETRY;
	}
}
