/* serve: the server in the foreground until SIGTERM or SIGINT. */
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/commands.h"
#include "gateway/gw_cluster.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_rate.h"
#include "gateway/gw_server.h"
#include "gateway/gw_store.h"
#include "gateway/gw_upstream.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/sandbox.h"

#define RATE_SLOTS 65536

/* Confinement once everything that may need root is open: the TLS key and
 * the provider secrets are read, the listening sockets bound, the database
 * open (given to [gateway] user before its first connection, see
 * cmd_prepare_store).  Then, when started as root with user: privileges are
 * dropped (lib/sandbox), and the seccomp allowlist with the server's
 * additions is installed for every thread (or only no-new-privs with
 * seccomp = no). */
static int confine(const struct gw_conf *conf, struct dw_diag *diag)
{
	bool root = geteuid() == 0 || getuid() == 0;
	if (root && conf->user[0] == '\0') {
		log_notice("running as root: set [gateway] user = NAME to drop privileges");
	} else if (conf->user[0] != '\0') {
		int ret = dw_sandbox_drop(conf->user, conf->group, diag);
		if (ret != DW_OK)
			return ret;
	}
	if (!conf->seccomp) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			return dw_diag_set(diag, DW_EIO, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return DW_OK;
	}
	return dw_sandbox_seccomp(DW_SANDBOX_SERVER, diag);
}

#define PRUNE_EVERY_S 60

/* Audit retention (audit-max-age days, audit-max-rows). */
static void prune(const struct gw_conf *conf, struct gw_store *st)
{
	int64_t n = 0;
	if (gw_store_prune(st, (int64_t)conf->audit_max_age_days * 86400, conf->audit_max_rows,
	                   &n) == DW_OK && n > 0)
		log_info("audit log: %lld row(s) past retention (%u days, %u rows) deleted",
		         (long long)n, conf->audit_max_age_days, conf->audit_max_rows);
}

/* The heartbeat: how many instances share the rate budgets now. */
static void beat(struct gw_cluster *c, struct gw_rate *rate, struct gw_metrics *m)
{
	unsigned n = gw_cluster_beat(c);
	gw_rate_set_share(rate, n);
	gw_metrics_set_instances(m, n);
}

int cmd_serve(struct gw_conf *conf, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		log_error("usage: serve");
		return GW_EXIT_USAGE;
	}
	/* Signals go to sigwait() below only: block them before any thread. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct dw_diag diag = { "" };
	struct gw_store *st = NULL;
	struct gw_metrics *m = gw_metrics_new();
	struct gw_rate *rate = gw_rate_new(RATE_SLOTS);
	struct gw_upstream *up = NULL;
	struct gw_server *srv = NULL;
	struct gw_cluster *cluster = NULL;
	int rc = GW_EXIT_FAIL;
	/* Connections kept open: SQLite opens one in microseconds (the
	 * upstream workers and 16 more); a PostgreSQL connection costs the
	 * server a process and an authentication, so one is kept for every
	 * request that may run at once, the upstream workers, and the sweep,
	 * heartbeat and health probe.  Only as many as were in use at once are
	 * ever opened. */
	unsigned pool = gw_store_is_file(conf->database) ? conf->workers + 16
	                                                 : conf->request_workers + conf->workers + 4;
	if (m == NULL || rate == NULL) {
		log_error("out of memory");
		goto out;
	}
	struct gw_store_cfg cfg = cmd_store_cfg(conf, GW_STORE_CREATE | GW_STORE_SERVE, pool);
	if (cmd_prepare_store(conf, &diag) != DW_OK || gw_store_open_cfg(&cfg, &st, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	if ((cluster = gw_cluster_new(st)) == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (gw_upstream_new(conf, st, m, gw_cluster_id(cluster), &up, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	/* The instances serving share the rate budgets out from the start. */
	gw_metrics_set_backend(m, gw_store_backend(st));
	beat(cluster, rate, m);
	/* Threads (upstream workers, then the HTTP server) start only after
	 * the confinement: each inherits its creator's capability bounding set. */
	struct gw_server_deps deps = { conf, st, up, m, rate };
	if (gw_server_open(&deps, &srv, &diag) != DW_OK || confine(conf, &diag) != DW_OK ||
	    gw_upstream_start(up, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	prune(conf, st);
	if (gw_server_start(srv, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	(void)dw_notify("READY=1");
	/* The main thread waits for signals, beats the instance's heart every
	 * few seconds and, every minute, applies the audit log's retention. */
	int sig = 0;
	time_t pruned = time(NULL);
	for (;;) {
		struct timespec ts = { GW_CLUSTER_BEAT_S, 0 };
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig < 0) {
			if (errno != EAGAIN)
				continue;
			beat(cluster, rate, m);
			if (time(NULL) - pruned >= PRUNE_EVERY_S) {
				prune(conf, st);
				pruned = time(NULL);
			}
			continue;
		}
		if (sig == SIGHUP) {
			log_notice("SIGHUP ignored: hosts and tokens are read from the database on every "
			           "request; restart to reload %s", conf->cfg->path);
			continue;
		}
		break;
	}
	log_notice("stopping (signal %d)", sig);
	rc = GW_EXIT_OK;
out:
	gw_server_stop(srv);
	gw_upstream_stop(up);
	gw_cluster_free(cluster);
	gw_store_close(st);
	gw_rate_free(rate);
	gw_metrics_free(m);
	return rc;
}
