/* serve: the server in the foreground until SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/commands.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_rate.h"
#include "gateway/gw_server.h"
#include "gateway/gw_store.h"
#include "gateway/gw_upstream.h"
#include "lib/log.h"

#define RATE_SLOTS 65536

/* systemd readiness (Type=notify) without libsystemd. */
static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	static const char msg[] = "READY=1";
	(void)sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
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
	int rc = GW_EXIT_FAIL;
	unsigned pool = conf->workers + 16;
	if (m == NULL || rate == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (gw_store_open(conf->database, true, pool, &st, &diag) != DW_OK ||
	    gw_upstream_start(conf, st, m, &up, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	struct gw_server_deps deps = { conf, st, up, m, rate };
	if (gw_server_start(&deps, &srv, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	sd_notify_ready();
	int sig = 0;
	while (sigwait(&set, &sig) == 0) {
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
	gw_store_close(st);
	gw_rate_free(rate);
	gw_metrics_free(m);
	return rc;
}
