/* Instance id and heartbeat (see gw_cluster.h). */
#include "gateway/gw_cluster.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

struct gw_cluster {
	struct gw_store *st;
	char id[33];
	char name[128];
	atomic_uint live;
};

struct gw_cluster *gw_cluster_new(struct gw_store *st)
{
	struct gw_cluster *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->st = st;
	uint8_t raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(c->id, sizeof(c->id), raw, sizeof(raw));
	char host[64] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(c->name, sizeof(c->name), "%s:%ld", host, (long)getpid());
	atomic_init(&c->live, 1);
	return c;
}

void gw_cluster_free(struct gw_cluster *c)
{
	if (c == NULL)
		return;
	struct gw_db *db = gw_store_get(c->st);
	if (db != NULL)
		(void)gw_db_instance_leave(db, c->id);
	gw_store_put(c->st, db);
	free(c);
}

const char *gw_cluster_id(const struct gw_cluster *c)
{
	return c->id;
}

/* An instance named "HOST:PID" (gw_cluster_new) whose host is this one and
 * whose process no longer exists.  Anything else (another machine, a live
 * process, a process of another user: EPERM) is left to its lease's expiry. */
static bool local_and_gone(const char *name)
{
	char host[64] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		return false;
	size_t hl = strlen(host);
	if (strncmp(name, host, hl) != 0 || name[hl] != ':')
		return false;
	char *end = NULL;
	long pid = strtol(name + hl + 1, &end, 10);
	if (end == name + hl + 1 || *end != '\0' || pid <= 1 || pid == (long)getpid())
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

unsigned gw_cluster_beat(struct gw_cluster *c)
{
	int64_t now = (int64_t)time(NULL), live = 0;
	struct gw_db *db = gw_store_get(c->st);
	int ret = db != NULL ? gw_db_instance_beat(db, c->id, c->name, now,
	                                           now - 3 * GW_CLUSTER_BEAT_S, &live)
	                     : DW_EIO;
	/* Instances of this machine that died (SIGKILL, a crash) and missed a
	 * beat hand their leases back now. */
	int64_t reaped = 0;
	if (ret == DW_OK &&
	    gw_db_instance_reap(db, now - GW_CLUSTER_BEAT_S, local_and_gone, &reaped) == DW_OK &&
	    reaped > 0)
		log_notice("%lld instance(s) of this machine ended without leaving: their hosts' "
		           "upstream work is taken over now", (long long)reaped);
	gw_store_put(c->st, db);
	if (ret != DW_OK)
		return atomic_load(&c->live);
	unsigned n = live < 1 ? 1 : live > 1000 ? 1000 : (unsigned)live;
	unsigned old = atomic_exchange(&c->live, n);
	if (old != n)
		log_notice("%u gateway instance(s) serve from this database now; rate limits are "
		           "shared out among them", n);
	return n;
}

unsigned gw_cluster_live(const struct gw_cluster *c)
{
	return atomic_load(&c->live);
}
