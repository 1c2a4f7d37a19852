/* The daemon's publisher: lib/pubclient.h behind the pool's interface. */
#include <stdlib.h>

#include "daemon/pool.h"
#include "lib/pubclient.h"

struct dmn_pool {
	struct dw_pub *pub;
};

struct dmn_pool *dmn_pool_new(const struct dw_config *cfg, struct dw_diag *diag)
{
	struct dmn_pool *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		dw_diag_set(diag, DW_ENOMEM, "out of memory");
		return NULL;
	}
	struct dw_pub_opts o;
	dw_pub_opts_from(cfg, &o);
	if (dw_pub_new(&o, &p->pub, diag) != DW_OK) {
		free(p);
		return NULL;
	}
	return p;
}

int dmn_pool_exec_fd(const struct dmn_pool *p)
{
	return dw_pub_exec_fd(p->pub);
}

int dmn_pool_fd(const struct dmn_pool *p)
{
	return dw_pub_fd(p->pub);
}

void dmn_pool_prestart(struct dmn_pool *p)
{
	dw_pub_prestart(p->pub);
}

void dmn_pool_submit(struct dmn_pool *p, const struct dw_config *cfg, struct dmn_job *j)
{
	dw_pub_submit(p->pub, cfg, &j->job);
}

struct dmn_job *dmn_pool_take(struct dmn_pool *p)
{
	dw_pub_io(p->pub);
	/* job is the first member: the list of dw_job is a list of dmn_job. */
	return (struct dmn_job *)(void *)dw_pub_take(p->pub);
}

void dmn_pool_reconfigure(struct dmn_pool *p, const struct dw_config *cfg)
{
	struct dw_pub_opts o;
	dw_pub_opts_from(cfg, &o);
	dw_pub_set_opts(p->pub, &o);
}

void dmn_pool_free(struct dmn_pool *p)
{
	if (p == NULL)
		return;
	struct dw_job *j = dw_pub_free(p->pub);
	while (j != NULL) {
		struct dw_job *next = j->next;
		free((struct dmn_job *)(void *)j);
		j = next;
	}
	free(p);
}
