/* The publisher's loop: frames in, jobs to workers, results out. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/provider.h"
#include "publisher/serve.h"

#define COLD_QUERY_MS 3000   /* per query of the cold-start check and the drift check */

struct pool {
	pthread_t th[PUB_THREADS_MAX];
	size_t nth, idle;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pub_task *todo, *todo_tail;   /* FIFO */
	struct pub_task *done;
	bool quit;
	int efd;                             /* written when done gains a task */
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		p->idle++;
		while (p->todo == NULL && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		p->idle--;
		if (p->todo == NULL)
			break;
		struct pub_task *t = p->todo;
		p->todo = t->next;
		if (p->todo == NULL)
			p->todo_tail = NULL;
		pthread_mutex_unlock(&p->mu);

		pub_run(t);

		pthread_mutex_lock(&p->mu);
		t->next = p->done;
		p->done = t;
		uint64_t one = 1;
		(void)!write(p->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Queues t; starts a worker when none is free (up to the maximum). */
static void pool_submit(struct pool *p, struct pub_task *t)
{
	t->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->todo_tail != NULL)
		p->todo_tail->next = t;
	else
		p->todo = t;
	p->todo_tail = t;
	bool start = p->idle == 0 && p->nth < PUB_THREADS_MAX;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (start && pthread_create(&p->th[p->nth], NULL, worker, p) == 0)
		p->nth++;
	if (p->nth == 0) {
		/* Not even one thread: run it here. */
		pthread_mutex_lock(&p->mu);
		p->todo = p->todo_tail = NULL;
		pthread_mutex_unlock(&p->mu);
		pub_run(t);
		t->next = p->done;
		p->done = t;
		uint64_t one = 1;
		(void)!write(p->efd, &one, sizeof(one));
	}
}

static struct pub_task *pool_take(struct pool *p)
{
	uint64_t n;
	(void)!read(p->efd, &n, sizeof(n));
	pthread_mutex_lock(&p->mu);
	struct pub_task *t = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	return t;
}

static void pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
}

/* ---- A job's configuration ------------------------------------------------- */

static void task_free(struct pub_task *t)
{
	dw_pp_job_free(&t->pj);
	dw_config_free(t->cfg);   /* wipes the secrets its providers hold */
	free(t);
}

/* Builds t's configuration from the sections in the frame, the secrets
 * served from it (no secret file is opened), and finds what the job is
 * about.  A failure is kept in t->failed for the result. */
static void configure(struct pub_task *t)
{
	struct dw_job *j = &t->pj.job;
	const struct dw_config_ext ext = { .allow_no_records = true,
	                                   .sources_only = j->kind == DW_JOB_FETCH };
	struct dw_diag diag = { "" };
	dw_secret_serve(&t->pj.secrets);
	int ret = dw_config_from_sections(t->pj.file != NULL ? t->pj.file : "", t->pj.secs,
	                                  t->pj.nsecs, false, &ext, &t->cfg, &diag);
	dw_secret_serve(NULL);
	t->pj.secs = NULL;   /* the configuration's now, or freed */
	t->pj.nsecs = 0;
	dw_secret_set_free(&t->pj.secrets);   /* the configuration holds its own copies */
	if (ret != DW_OK) {
		snprintf(t->failed, sizeof(t->failed), "the publisher cannot use the configuration: %s",
		         diag.msg);
		return;
	}
	long dnsauth_ms = 0;
	switch (j->kind) {
	case DW_JOB_PUBLISH:
	case DW_JOB_FETCH:
	case DW_JOB_VERIFY:
		t->r = dw_config_find_record(t->cfg, t->pj.fqdn);
		if (t->r == NULL)
			snprintf(t->failed, sizeof(t->failed), "the job names no record of its sections");
		if ((j->kind == DW_JOB_PUBLISH && j->cold) || j->kind == DW_JOB_VERIFY)
			dnsauth_ms = COLD_QUERY_MS;
		break;
	case DW_JOB_TXT_ADD:
	case DW_JOB_TXT_DEL:
		for (size_t i = 0; i < t->cfg->nproviders && t->p == NULL; i++) {
			if (strcmp(t->cfg->providers[i]->name, t->pj.provider) == 0)
				t->p = t->cfg->providers[i];
		}
		if (t->p == NULL || !(t->p->ops->caps & DW_CAP_TXT) || t->p->ops->txt_add == NULL ||
		    t->p->ops->txt_del == NULL)
			snprintf(t->failed, sizeof(t->failed),
			         "the job names no provider of its sections that writes TXT records");
		break;
	case DW_JOB_FOLLOW:
		dnsauth_ms = (long)j->timeout_ms;
		break;
	case DW_JOB_TXT_SERVED:
		break;
	}
	if (t->failed[0] == '\0' && dnsauth_ms > 0 &&
	    dw_dnsauth_setup(t->cfg->acme_nameservers, t->cfg->acme_resolvers, dnsauth_ms,
	                     &t->dnsauth, &diag) != DW_OK)
		snprintf(t->failed, sizeof(t->failed), "acme-nameservers/acme-resolvers: %s", diag.msg);
}

/* ---- The loop ---------------------------------------------------------------- */

/* Writes all of buf, waiting while the socket is full.  False when
 * dnsward is gone. */
static bool write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			(void)poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Sends t's result and frees t.  False when dnsward is gone. */
static bool answer(int fd, struct pub_task *t)
{
	struct dw_pp_buf b;
	bool ok = true;
	if (dw_pp_encode_result(t->pj.id, &t->pj.job, &b) == DW_OK) {
		ok = write_all(fd, b.p, b.len);
		dw_pp_buf_free(&b);
	} else {
		log_error("cannot encode the result of a %s job", dw_job_kind_name(t->pj.job.kind));
		ok = false;
	}
	task_free(t);
	return ok;
}

int pub_serve(int fd)
{
	struct pool pool = { .efd = -1 };
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.cv, NULL);
	pool.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pool.efd < 0) {
		log_error("publisher: eventfd: %s", strerror(errno));
		return 1;
	}
	struct dw_pp_reader rd = { 0 };
	size_t running = 0;
	bool eof = false;
	int rc = 0;
	while (!eof || running > 0) {
		struct pollfd pfd[2] = {
			{ .fd = pool.efd, .events = POLLIN },
			{ .fd = eof ? -1 : fd, .events = POLLIN },
		};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			log_error("publisher: poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct pub_task *t = pool_take(&pool);
			while (t != NULL) {
				struct pub_task *next = t->next;
				running--;
				if (!answer(fd, t)) {
					rc = 1;   /* dnsward is gone: nothing to answer for */
					eof = true;
				}
				t = next;
			}
			if (rc != 0)
				break;
		}
		if (eof || !(pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (;;) {
			struct dw_diag diag = { "" };
			int r = dw_pp_read(&rd, fd, &diag);
			if (r == 0)
				break;
			if (r == DW_ENOTFOUND) {
				eof = true;   /* no more jobs: answer the rest, then exit */
				break;
			}
			if (r < 0) {
				log_error("publisher: %s", diag.msg);
				rc = 1;
				break;
			}
			struct pub_task *t = calloc(1, sizeof(*t));
			if (rd.type != DW_PP_JOB) {
				log_error("publisher: unexpected frame of type %u", (unsigned)rd.type);
				rc = 1;
			} else if (t == NULL) {
				log_error("publisher: out of memory");
				rc = 1;
			} else if (dw_pp_decode_job(rd.body, rd.body_len, &t->pj, &diag) != DW_OK) {
				log_error("publisher: %s", diag.msg);
				rc = 1;
			}
			dw_pp_reader_reset(&rd);   /* wipes the frame and its secrets */
			if (rc != 0) {
				free(t);
				break;
			}
			configure(t);
			running++;
			pool_submit(&pool, t);
		}
		if (rc != 0)
			break;
	}
	dw_pp_reader_reset(&rd);
	if (rc != 0) {
		/* Garbage or a lost connection: no one waits for the jobs
		 * still running.  Leave without joining their threads. */
		fflush(stderr);
		_exit(rc);
	}
	pool_stop(&pool);
	close(pool.efd);
	pthread_mutex_destroy(&pool.mu);
	pthread_cond_destroy(&pool.cv);
	return rc;
}
