/* Instance id and heartbeat (see gw_cluster.h). */
#include "gateway/gw_cluster.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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

unsigned gw_cluster_beat(struct gw_cluster *c)
{
	int64_t now = (int64_t)time(NULL), live = 0;
	struct gw_db *db = gw_store_get(c->st);
	int ret = db != NULL ? gw_db_instance_beat(db, c->id, c->name, now,
	                                           now - 3 * GW_CLUSTER_BEAT_S, &live)
	                     : DW_EIO;
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
