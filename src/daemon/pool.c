/* The worker pool: a FIFO of jobs, a few threads, an eventfd back. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/pool.h"

struct dmn_pool {
	pthread_t th[DMN_POOL_THREADS_MAX];
	size_t nth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dmn_job *todo, *todo_tail;   /* queued, FIFO */
	struct dmn_job *done;               /* finished, any order */
	bool quit;
	int efd;                            /* eventfd: written when done gains a job */
};

static void job_run(struct dmn_job *j)
{
	if (j->kind == DMN_JOB_PUBLISH) {
		dw_update_publish(j->r, j->plan, j->cold, j->res);
		return;
	}
	if (j->kind == DMN_JOB_VERIFY) {
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (j->verify[f])
				dw_update_verify(j->r, &j->published[f], j->auth, &j->ver[f]);
		}
		return;
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (j->fetch[f])
			j->fetched[f] = dw_update_desired(j->r, (enum dw_family)f, NULL, &j->addr[f],
			                                  j->why[f], sizeof(j->why[f])) == DW_OK;
	}
}

static void *worker(void *arg)
{
	struct dmn_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->todo == NULL && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->todo == NULL)
			break;   /* quit, and nothing left to do */
		struct dmn_job *j = p->todo;
		p->todo = j->next;
		if (p->todo == NULL)
			p->todo_tail = NULL;
		pthread_mutex_unlock(&p->mu);

		job_run(j);

		pthread_mutex_lock(&p->mu);
		j->next = p->done;
		p->done = j;
		uint64_t one = 1;
		(void)!write(p->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct dmn_pool *dmn_pool_new(size_t nthreads)
{
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > DMN_POOL_THREADS_MAX)
		nthreads = DMN_POOL_THREADS_MAX;
	struct dmn_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (size_t i = 0; i < nthreads; i++) {
		if (pthread_create(&p->th[i], NULL, worker, p) != 0)
			break;
		p->nth++;
	}
	if (p->nth == 0) {
		dmn_pool_free(p);
		return NULL;
	}
	return p;
}

int dmn_pool_fd(const struct dmn_pool *p)
{
	return p->efd;
}

void dmn_pool_submit(struct dmn_pool *p, struct dmn_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->todo_tail != NULL)
		p->todo_tail->next = j;
	else
		p->todo = j;
	p->todo_tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

struct dmn_job *dmn_pool_take(struct dmn_pool *p)
{
	uint64_t n;
	(void)!read(p->efd, &n, sizeof(n));
	pthread_mutex_lock(&p->mu);
	struct dmn_job *j = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	return j;
}

void dmn_pool_free(struct dmn_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	while (p->done != NULL) {
		struct dmn_job *j = p->done;
		p->done = j->next;
		free(j);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	close(p->efd);
	free(p);
}
