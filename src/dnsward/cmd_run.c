/* dnsward run: the event-driven daemon.
 *
 * One thread owns everything: the configuration, the state file, the
 * per-record state machines (lib/sched.h) and one epoll loop (lib/loop.h)
 * over
 *   - an rtnetlink socket subscribed to address and link events
 *     (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK),
 *   - timers (debounce, the scheduler's next deadline, polling, watchdog,
 *     shutdown grace, hook time limits),
 *   - signals through a signalfd (HUP reload, USR1 force, TERM/INT stop),
 *   - an eventfd on which the worker pool reports finished jobs,
 *   - the control socket (lib/control.h) and hook pidfds.
 *
 * Network waits never block the loop.  Publishing is dw_update_publish():
 * providers are synchronous (HTTP through libcurl's easy interface, DNS
 * through dns.c), so it runs on a small pool of worker threads instead of
 * driving libcurl's multi interface from the loop.  One mechanism then
 * covers every provider, HTTP or DNS, and every blocking address source
 * (web, dns, cmd), with no provider rewritten as a state machine.  Workers
 * get a record and a plan, call the provider and hand back a result; they
 * never touch the state, the configuration or the scheduler.  At most one
 * job per record is in flight.
 *
 * Address changes: any address or link event arms a short debounce timer
 * (debounce-ms, default 50 ms, measured from the first event, so a storm of
 * events cannot postpone an update indefinitely); when it fires we take a
 * fresh RTM_GETADDR dump and re-evaluate every record from it.  A dump is
 * simple and never wrong: no incremental bookkeeping of adds, removals,
 * flag changes and lost events.  Tentative addresses are rejected by the
 * policy (addr.c); when DAD completes the kernel sends RTM_NEWADDR again with
 * the new flags, which starts another round.  ENOBUFS (events lost) simply
 * starts one too.
 *
 * Idle, the loop sleeps in epoll_wait() with no timeout: the only armed timer
 * is the next re-assertion (max-interval), polling sources' interval, and
 * the systemd watchdog when (and only when) WATCHDOG_USEC asks for it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "dnsward/commands.h"
#include "lib/control.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/dnsauth.h"
#include "lib/netlink.h"
#include "lib/sandbox.h"
#include "lib/sched.h"
#include "lib/source.h"
#include "lib/state.h"
#include "lib/update.h"

extern char **environ;

#define RUN_WORKERS_MAX 4
#define RUN_NL_RCVBUF (1024 * 1024)
#define RUN_NL_BUF 32768
#define RUN_STOP_GRACE_MS 5000       /* in-flight publishes get this long at exit */
#define RUN_HOOK_TIMEOUT_MS 10000    /* an on-change program is killed after this */
#define RUN_HOOKS_MAX 16             /* running at once; more are skipped, logged */
#define RUN_CLIENTS_MAX 8            /* control connections at once */
#define RUN_CLIENT_TIMEOUT_MS 2000

/* ---- Jobs and the worker pool ----------------------------------------- */

enum job_kind {
	JOB_PUBLISH,   /* dw_update_publish() for the families in plan */
	JOB_FETCH,     /* evaluate polling sources (web, dns, cmd) */
};

struct job {
	enum job_kind kind;
	size_t rec;                          /* index in daemon.recs when queued */
	struct dw_record *r;                 /* read-only for the worker */
	const struct dw_dnsauth_cfg *cold;   /* cold-start check, or NULL */
	struct dw_plan plan[DW_FAM_COUNT];   /* JOB_PUBLISH */
	struct dw_result res[DW_FAM_COUNT];  /* JOB_PUBLISH: filled by the worker */
	bool fetch[DW_FAM_COUNT];            /* JOB_FETCH: families to evaluate ... */
	bool fetched[DW_FAM_COUNT];          /* ... which gave an address ... */
	struct dw_ip addr[DW_FAM_COUNT];     /* ... this one */
	char why[DW_FAM_COUNT][256];         /* ... else why not */
	struct job *next;
};

struct pool {
	pthread_t th[RUN_WORKERS_MAX];
	size_t nth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail;   /* queued, FIFO */
	struct job *done;               /* finished, any order */
	bool quit;
	int efd;                        /* eventfd: written when done gains a job */
};

static void job_run(struct job *j)
{
	if (j->kind == JOB_PUBLISH) {
		dw_update_publish(j->r, j->plan, j->cold, j->res);
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
	struct pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->todo == NULL && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->todo == NULL)
			break;   /* quit, and nothing left to do */
		struct job *j = p->todo;
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

static int pool_start(struct pool *p, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0)
		return -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&p->th[i], NULL, worker, p) != 0)
			break;
		p->nth++;
	}
	return p->nth > 0 ? 0 : -1;
}

static void pool_submit(struct pool *p, struct job *j)
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

/* Takes the finished jobs (LIFO order; the caller does not care). */
static struct job *pool_take(struct pool *p)
{
	uint64_t n;
	(void)!read(p->efd, &n, sizeof(n));
	pthread_mutex_lock(&p->mu);
	struct job *j = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	return j;
}

/* Stops the workers once the queue is empty and joins them. */
static void pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	while (p->done != NULL) {
		struct job *j = p->done;
		p->done = j->next;
		free(j);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	close(p->efd);
}

/* ---- Daemon state ------------------------------------------------------ */

struct rec {
	struct dw_record *r;                  /* in the current configuration */
	struct dw_sched_rec s;
	bool busy;                            /* a job for it is queued or running */
	bool polls;                           /* a family's source must be polled */
	char why[DW_FAM_COUNT][256];          /* why there is no desired address */
	char msg[DW_FAM_COUNT][384];          /* last result's message */
	char problem[DW_FAM_COUNT][400];      /* failure last logged as an error, "" none */
	int64_t last_wall[DW_FAM_COUNT];      /* unix time of the last result */
	int64_t pub_wall[DW_FAM_COUNT];       /* unix time of the last success */
};

struct hook {
	pid_t pid;
	int pidfd;
	struct dw_timer *kill_timer;
	char what[300];
	struct daemon *d;
};

struct client {
	int fd;
	char in[DW_CTL_REQ_MAX + 1];
	size_t nin;
	char *out;
	size_t nout, sent;
	struct dw_timer *timer;
	struct daemon *d;
};

struct daemon {
	bool spawns;                 /* sandbox set up for running programs */
	struct dw_dnsauth_setup cold;   /* where cold-start checks ask; rebuilt on
	                                 * reload, which waits for jobs in flight */
	struct dw_loop *loop;
	struct dw_config *cfg;
	struct rec *recs;
	size_t nrecs;
	struct dw_sched_params sp;
	struct dw_state st;
	char state_path[4096];
	struct pool pool;
	unsigned jobs;                 /* queued or running */
	int nl_fd;
	char *nl_buf;
	struct dw_addr_list addrs;
	bool have_addrs;
	struct dw_timer *t_debounce, *t_sched, *t_poll, *t_watchdog, *t_grace;
	uint64_t watchdog_usec;
	int ctl_fd;
	char ctl_path[108];
	struct client *clients[RUN_CLIENTS_MAX];
	struct hook *hooks[RUN_HOOKS_MAX];
	bool ready, reload_pending, stopping;
	int exit_code;
};

/* Interface and static sources are known without asking anyone; web, dns
 * and cmd sources must be polled (poll-interval), in a worker since
 * fetching blocks. */
static bool source_polls(const struct dw_source *s)
{
	return dw_source_polls(s);
}

static uint32_t rnd32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)dw_loop_now_ms() * 2654435761u;
	return v;
}

static void sched_params(struct daemon *d)
{
	dw_sched_defaults(&d->sp);
	d->sp.backoff_base_ms = (uint64_t)d->cfg->backoff_base_s * 1000u;
	d->sp.backoff_max_ms = (uint64_t)d->cfg->backoff_max_s * 1000u;
	d->sp.max_interval_ms = (uint64_t)d->cfg->max_interval_s * 1000u;
}

/* Loads what the state file says was published for rec into its machine. */
static void rec_from_state(struct daemon *d, struct rec *rc)
{
	uint64_t now = dw_loop_now_ms();
	int64_t wall = (int64_t)time(NULL);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		const struct dw_state_entry *e =
			dw_state_get(&d->st, rc->r->fqdn, (enum dw_family)f, rc->r->provider->name);
		struct dw_ip ip;
		if (e == NULL || dw_ip_parse(e->address, (enum dw_family)f, &ip) != DW_OK)
			continue;
		/* Convert the wall-clock age into the loop's clock, so the next
		 * re-assertion is counted from the real last success. */
		uint64_t age_ms = e->updated < wall ? (uint64_t)(wall - e->updated) * 1000u : 0;
		dw_sched_set_published(&rc->s, (enum dw_family)f, &ip, age_ms < now ? now - age_ms : 0);
		rc->pub_wall[f] = e->updated;
	}
}

static void rec_init(struct daemon *d, struct rec *rc, struct dw_record *r)
{
	memset(rc, 0, sizeof(*rc));
	rc->r = r;
	dw_sched_init(&rc->s);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		rc->s.fam[f].active = r->src[f].kind != DW_SRC_OFF;
		rc->polls |= source_polls(&r->src[f]);
		snprintf(rc->why[f], sizeof(rc->why[f]), "%s",
		         source_polls(&r->src[f]) ? "not fetched yet" : "no address information yet");
	}
	rec_from_state(d, rc);
}

static void notify_status(struct daemon *d)
{
	unsigned sync = 0, pending = 0, parked = 0;
	uint64_t now = dw_loop_now_ms();
	for (size_t i = 0; i < d->nrecs; i++) {
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const char *s = dw_sched_state_name(&d->recs[i].s, (enum dw_family)f, &d->sp, now);
			if (strcmp(s, "in-sync") == 0)
				sync++;
			else if (strcmp(s, "parked") == 0)
				parked++;
			else if (strcmp(s, "off") != 0)
				pending++;
		}
	}
	sd_notifyf(0, "STATUS=%zu records: %u in sync, %u waiting, %u parked", d->nrecs, sync,
	           pending, parked);
}

/* ---- Hooks ------------------------------------------------------------- */

static void hook_free(struct hook *h)
{
	struct daemon *d = h->d;
	for (size_t i = 0; i < RUN_HOOKS_MAX; i++) {
		if (d->hooks[i] == h)
			d->hooks[i] = NULL;
	}
	dw_loop_del_fd(d->loop, h->pidfd);
	close(h->pidfd);
	dw_timer_free(h->kill_timer);
	free(h);
}

static void hook_exited(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct hook *h = arg;
	int status = 0;
	pid_t r;
	do {
		r = waitpid(h->pid, &status, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return;   /* spurious */
	if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warning("on-change for %s exited with status %d", h->what, WEXITSTATUS(status));
	else if (r > 0 && WIFSIGNALED(status))
		log_warning("on-change for %s ended by signal %d%s", h->what, WTERMSIG(status),
		            WTERMSIG(status) == SIGKILL ? " (time limit)" : "");
	else
		log_debug("on-change for %s finished", h->what);
	hook_free(h);
}

static void hook_timeout(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct hook *h = arg;
	log_warning("on-change for %s still running after %d s: killing it", h->what,
	            RUN_HOOK_TIMEOUT_MS / 1000);
	(void)kill(h->pid, SIGKILL);   /* the pidfd then reports its end */
}

/* Runs r's on-change program without a shell, with only DNSWARD_* and a
 * fixed PATH in its environment (ours may hold credentials paths), stdin
 * from /dev/null; stdout and stderr are ours (the journal). */
static void hook_run(struct daemon *d, const struct dw_record *r, enum dw_family fam,
                     const char *old, const char *new, const char *result)
{
	if (r->on_change[0] == '\0')
		return;
	size_t slot = RUN_HOOKS_MAX;
	for (size_t i = 0; i < RUN_HOOKS_MAX; i++) {
		if (d->hooks[i] == NULL) {
			slot = i;
			break;
		}
	}
	if (slot == RUN_HOOKS_MAX) {
		log_warning("%s %s: on-change not run: %d hooks still running", r->fqdn,
		            dw_family_rrtype(fam), RUN_HOOKS_MAX);
		return;
	}
	char e_rec[300], e_fam[32], e_old[64], e_new[64], e_res[48];
	snprintf(e_rec, sizeof(e_rec), "DNSWARD_RECORD=%s", r->fqdn);
	snprintf(e_fam, sizeof(e_fam), "DNSWARD_FAMILY=%s", dw_family_name(fam));
	snprintf(e_old, sizeof(e_old), "DNSWARD_OLD=%s", old);
	snprintf(e_new, sizeof(e_new), "DNSWARD_NEW=%s", new);
	snprintf(e_res, sizeof(e_res), "DNSWARD_RESULT=%s", result);
	char e_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char *envp[] = { e_path, e_rec, e_fam, e_old, e_new, e_res, NULL };
	char prog[sizeof(r->on_change)];
	memcpy(prog, r->on_change, sizeof(prog));
	char *argv[] = { prog, NULL };

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	/* The loop blocks its signals; the child must start with none blocked
	 * and default dispositions. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int err = posix_spawn(&pid, r->on_change, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (err != 0) {
		log_error("%s %s: cannot run on-change %s: %s", r->fqdn, dw_family_rrtype(fam),
		          r->on_change, strerror(err));
		return;
	}
	struct hook *h = calloc(1, sizeof(*h));
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (h == NULL || pidfd < 0) {
		/* Cannot watch it: wait for it here rather than leave a zombie. */
		log_warning("%s: cannot watch on-change %s; waiting for it", r->fqdn, r->on_change);
		free(h);
		if (pidfd >= 0)
			close(pidfd);
		(void)waitpid(pid, NULL, 0);
		return;
	}
	h->pid = pid;
	h->pidfd = pidfd;
	h->d = d;
	snprintf(h->what, sizeof(h->what), "%s %s", r->fqdn, dw_family_rrtype(fam));
	h->kill_timer = dw_loop_timer_new(d->loop, hook_timeout, h);
	if (h->kill_timer == NULL || dw_loop_add_fd(d->loop, pidfd, EPOLLIN, hook_exited, h) != 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		if (h->kill_timer != NULL)
			dw_timer_free(h->kill_timer);
		close(pidfd);
		free(h);
		return;
	}
	dw_timer_arm(h->kill_timer, RUN_HOOK_TIMEOUT_MS);
	d->hooks[slot] = h;
	log_debug("on-change %s started for %s (pid %d)", r->on_change, h->what, (int)pid);
}

/* ---- Scheduling -------------------------------------------------------- */

static void finish_stop_if_idle(struct daemon *d);
static void do_reload(struct daemon *d);

/* Starts every publish that may start now and arms the scheduler timer for
 * the earliest future one. */
static void kick(struct daemon *d)
{
	if (d->stopping || d->reload_pending || !d->ready)
		return;
	uint64_t now = dw_loop_now_ms();
	uint64_t next = DW_SCHED_NEVER;
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *rc = &d->recs[i];
		bool pub[DW_FAM_COUNT];
		if (!rc->busy && dw_sched_begin(&rc->s, &d->sp, now, pub)) {
			struct job *j = calloc(1, sizeof(*j));
			if (j == NULL) {
				dw_sched_abort(&rc->s);
				log_error("out of memory: %s not published", rc->r->fqdn);
				continue;
			}
			j->kind = JOB_PUBLISH;
			j->rec = i;
			j->r = rc->r;
			j->cold = d->cfg->cold_start_check ? &d->cold.cfg : NULL;
			for (int f = 0; f < DW_FAM_COUNT; f++) {
				struct dw_plan *pl = &j->plan[f];
				const struct dw_sched_fam *s = &rc->s.fam[f];
				pl->active = s->active;
				pl->have_addr = pub[f];
				pl->publish = pub[f];
				pl->addr = s->sent;
				if (s->have_published)
					dw_ip_format(&s->published, pl->prev);
			}
			rc->busy = true;
			d->jobs++;
			pool_submit(&d->pool, j);
			continue;
		}
		uint64_t t = dw_sched_next(&rc->s, &d->sp, now);
		if (t < next)
			next = t;
	}
	if (next == DW_SCHED_NEVER)
		dw_timer_disarm(d->t_sched);
	else
		dw_timer_arm_at(d->t_sched, next > now ? next : now);
	notify_status(d);
}

static void on_sched_timer(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	kick(arg);
}

/* Re-evaluates the desired address of every non-polling source from the
 * latest dump. */
static void evaluate(struct daemon *d)
{
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *rc = &d->recs[i];
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const struct dw_source *src = &rc->r->src[f];
			if (src->kind == DW_SRC_OFF || source_polls(src))
				continue;
			if (src->kind == DW_SRC_IFACE && !d->have_addrs)
				continue;
			struct dw_ip ip;
			char why[256];
			if (dw_update_desired(rc->r, (enum dw_family)f, &d->addrs, &ip, why,
			                      sizeof(why)) == DW_OK) {
				if (!rc->s.fam[f].have_desired || !dw_ip_equal(&ip, &rc->s.fam[f].desired)) {
					char a[DW_IP_STRLEN];
					log_info("%s %s: address is now %s", rc->r->fqdn,
					         dw_family_rrtype((enum dw_family)f), dw_ip_format(&ip, a));
				}
				dw_sched_set_desired(&rc->s, (enum dw_family)f, &ip);
				rc->why[f][0] = '\0';
			} else {
				if (rc->s.fam[f].have_desired)
					log_notice("%s %s: %s", rc->r->fqdn,
					           dw_family_rrtype((enum dw_family)f), why);
				dw_sched_set_desired(&rc->s, (enum dw_family)f, NULL);
				memcpy(rc->why[f], why, sizeof(why));
			}
		}
	}
}

/* Takes a fresh address dump, re-evaluates, publishes what changed. */
static void refresh(struct daemon *d)
{
	struct dw_diag diag = { "" };
	struct dw_addr_list l = { 0 };
	uint64_t t0 = dw_loop_now_ms();
	if (dw_netlink_dump(&l, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		dw_addr_list_free(&l);
		return;
	}
	dw_addr_list_free(&d->addrs);
	d->addrs = l;
	d->have_addrs = true;
	log_debug("address dump: %zu addresses in %llu ms", l.n,
	          (unsigned long long)(dw_loop_now_ms() - t0));
	evaluate(d);
	if (!d->ready) {
		d->ready = true;
		sd_notify(0, "READY=1");
		log_notice("running: %zu records, control socket %s", d->nrecs, d->ctl_path);
	}
	kick(d);
}

static void on_debounce(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	refresh(arg);
}

/* Something changed (or events were lost): refresh after the debounce. */
static void address_event(struct daemon *d)
{
	if (!dw_timer_armed(d->t_debounce))
		dw_timer_arm(d->t_debounce, d->cfg->debounce_ms);
}

struct nl_scan {
	bool relevant;
};

static int nl_msg(const struct nlmsghdr *nlh, size_t len, void *arg)
{
	struct nl_scan *s = arg;
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWLINK:
	case RTM_DELLINK:
		s->relevant = true;
		break;
	default:
		break;
	}
	return 0;
}

static void on_netlink(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct daemon *d = arg;
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { .iov_base = d->nl_buf, .iov_len = RUN_NL_BUF };
		struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa),
		                      .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The kernel dropped events: the dump tells the truth. */
				log_info("netlink: events lost (ENOBUFS), taking a fresh dump");
				address_event(d);
				continue;
			}
			if (errno != EAGAIN)
				log_error("netlink receive: %s", strerror(errno));
			return;
		}
		if (msg.msg_namelen != sizeof(sa) || sa.nl_pid != 0)
			continue;   /* not the kernel */
		struct nl_scan s = { false };
		if ((msg.msg_flags & MSG_TRUNC) ||
		    dw_netlink_walk(d->nl_buf, (size_t)n, nl_msg, &s) != 0) {
			log_warning("netlink: malformed event, taking a fresh dump");
			s.relevant = true;
		}
		if (s.relevant)
			address_event(d);
	}
}

static int netlink_open(struct daemon *d, struct dw_diag *diag)
{
	d->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (d->nl_fd < 0)
		return dw_diag_set(diag, DW_ENETLINK, "netlink socket: %s", strerror(errno));
	int sz = RUN_NL_RCVBUF;
	(void)setsockopt(d->nl_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	sa.nl_groups = (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_IPV4_IFADDR - 1)) |
	               (1u << (RTNLGRP_IPV6_IFADDR - 1));
	if (bind(d->nl_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return dw_diag_set(diag, DW_ENETLINK, "netlink bind: %s", strerror(errno));
	d->nl_buf = aligned_alloc(NLMSG_ALIGNTO, RUN_NL_BUF);
	if (d->nl_buf == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	if (dw_loop_add_fd(d->loop, d->nl_fd, EPOLLIN, on_netlink, d) != 0)
		return dw_diag_set(diag, DW_EIO, "epoll: %s", strerror(errno));
	return DW_OK;
}

/* ---- Polling sources --------------------------------------------------- */

static uint32_t poll_interval_s(const struct daemon *d)
{
	return d->cfg->poll_interval_s > 0 ? d->cfg->poll_interval_s : DW_SOURCE_POLL_DEFAULT_S;
}

static void on_poll(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct daemon *d = arg;
	bool any = false;
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *rc = &d->recs[i];
		if (!rc->polls)
			continue;
		any = true;
		if (rc->busy || d->stopping || d->reload_pending)
			continue;   /* next round */
		struct job *j = calloc(1, sizeof(*j));
		if (j == NULL)
			continue;
		j->kind = JOB_FETCH;
		j->rec = i;
		j->r = rc->r;
		for (int f = 0; f < DW_FAM_COUNT; f++)
			j->fetch[f] = source_polls(&rc->r->src[f]);
		rc->busy = true;
		d->jobs++;
		pool_submit(&d->pool, j);
	}
	if (any)
		dw_timer_arm(d->t_poll, (uint64_t)poll_interval_s(d) * 1000u);
}

/* ---- Completions ------------------------------------------------------- */

/* What identifies a problem across its retries: the outcome and the
 * message with every run of digits as one '#', so that "timed out after
 * 1001 ms" and "after 1000 ms" are the same problem and a new status code,
 * a new cause or another class is a new one. */
static void problem_key(const struct dw_result *res, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "%s:", dw_outcome_str(res->outcome));
	bool digits = false;
	for (const char *c = res->msg; *c != '\0' && o + 1 < cap; c++) {
		bool dg = *c >= '0' && *c <= '9';
		if (!dg || !digits)
			out[o++] = dg ? '#' : *c;
		digits = dg;
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static void publish_done(struct daemon *d, struct rec *rc, struct job *j)
{
	const struct dw_record *r = rc->r;
	bool sent[DW_FAM_COUNT];
	unsigned failed_before[DW_FAM_COUNT];
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		sent[f] = rc->s.fam[f].sending;
		failed_before[f] = rc->s.fam[f].failures;
	}
	dw_sched_done(&rc->s, &d->sp, dw_loop_now_ms(), j->res, rnd32());
	int64_t wall = (int64_t)time(NULL);
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (!sent[f])
			continue;
		const struct dw_result *res = &j->res[f];
		const char *type = dw_family_rrtype((enum dw_family)f);
		char addr[DW_IP_STRLEN];
		dw_ip_format(&j->plan[f].addr, addr);
		snprintf(rc->msg[f], sizeof(rc->msg[f]), "%s", res->msg);
		rc->last_wall[f] = wall;
		if (dw_outcome_ok(res->outcome)) {
			if (failed_before[f] > 0)
				log_notice("%s %s %s: %s after %u failed attempt%s", r->fqdn, type, addr,
				           res->outcome == DW_OUT_DONE ? "updated" : "already published",
				           failed_before[f], failed_before[f] == 1 ? "" : "s");
			else
				log_notice("%s %s %s: %s", r->fqdn, type, addr,
				           res->outcome == DW_OUT_DONE ? "updated" : "already published");
			rc->problem[f][0] = '\0';
			rc->pub_wall[f] = wall;
			struct dw_diag diag = { "out of memory" };
			if (dw_state_set(&d->st, r->fqdn, (enum dw_family)f, r->provider->name, addr,
			                 wall) != DW_OK ||
			    dw_state_save(&d->st, d->state_path, &diag) != DW_OK)
				log_error("%s %s: published, but the state could not be saved: %s",
				          r->fqdn, type, diag.msg);
		} else if (res->outcome == DW_OUT_FATAL) {
			log_error("%s %s via %s: %s (parked until the configuration is reloaded or "
			          "an update is forced)", r->fqdn, type, r->provider->name, res->msg);
		} else {
			/* Once per problem: when it starts or changes; its retries
			 * at debug level, so a provider down for a day is one line. */
			char key[sizeof(rc->problem[f])];
			problem_key(res, key, sizeof(key));
			bool again = strcmp(key, rc->problem[f]) == 0;
			memcpy(rc->problem[f], key, sizeof(key));
			uint64_t now = dw_loop_now_ms();
			uint64_t at = rc->s.fam[f].retry_at;
			dw_log(again ? DW_LOG_DEBUG : DW_LOG_ERR,
			       "%s %s via %s: %s%s (attempt %u; next in %llu s)", r->fqdn, type,
			          r->provider->name, res->outcome == DW_OUT_RATELIMIT ? "rate-limited: " : "",
			          res->msg, rc->s.fam[f].failures,
			          (unsigned long long)((at > now ? at - now : 0) + 999) / 1000);
		}
		/* The hook hears of changes, not of re-assertions. */
		if (strcmp(j->plan[f].prev, addr) != 0)
			hook_run(d, r, (enum dw_family)f, j->plan[f].prev, addr,
			         dw_outcome_str(res->outcome));
	}
}

static void fetch_done(struct daemon *d, struct rec *rc, struct job *j)
{
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (!j->fetch[f])
			continue;
		if (j->fetched[f]) {
			dw_sched_set_desired(&rc->s, (enum dw_family)f, &j->addr[f]);
			rc->why[f][0] = '\0';
		} else {
			log_warning("%s %s: %s", rc->r->fqdn, dw_family_rrtype((enum dw_family)f),
			            j->why[f]);
			dw_sched_set_desired(&rc->s, (enum dw_family)f, NULL);
			memcpy(rc->why[f], j->why[f], sizeof(rc->why[f]));
		}
	}
}

static void on_jobs_done(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct daemon *d = arg;
	struct job *j = pool_take(&d->pool);
	while (j != NULL) {
		struct job *next = j->next;
		/* Records keep their index until a reload, and reloads wait for
		 * every job: j->rec is still this record. */
		struct rec *rc = &d->recs[j->rec];
		rc->busy = false;
		d->jobs--;
		if (j->kind == JOB_PUBLISH)
			publish_done(d, rc, j);
		else
			fetch_done(d, rc, j);
		free(j);
		j = next;
	}
	if (d->stopping) {
		finish_stop_if_idle(d);
		return;
	}
	if (d->reload_pending && d->jobs == 0)
		do_reload(d);
	kick(d);
}

/* ---- Reload, force, stop ----------------------------------------------- */

static void do_reload(struct daemon *d)
{
	d->reload_pending = false;
	struct dw_config *ncfg = NULL;
	struct dw_diag diag = { "" };
	if (dw_config_load(d->cfg->path, false, &ncfg, &diag) != DW_OK) {
		log_error("reload refused, keeping the running configuration: %s", diag.msg);
		sd_notify(0, "READY=1");
		return;
	}
	struct dw_dnsauth_setup ncold;
	if (dw_dnsauth_setup(ncfg->acme_nameservers, ncfg->acme_resolvers, 3000, &ncold,
	                     &diag) != DW_OK) {
		log_error("reload refused, keeping the running configuration: %s", diag.msg);
		dw_config_free(ncfg);
		sd_notify(0, "READY=1");
		return;
	}
	if (d->cfg->seccomp && !d->spawns && dw_sandbox_config_spawns(ncfg)) {
		/* The allowlist in force forbids starting programs for good. */
		log_error("reload refused, keeping the running configuration: the new one runs "
		          "programs (on-change or cmd: sources); restart dnsward to use it");
		dw_config_free(ncfg);
		sd_notify(0, "READY=1");
		return;
	}
	struct rec *nrecs = calloc(ncfg->nrecords > 0 ? ncfg->nrecords : 1, sizeof(*nrecs));
	if (nrecs == NULL) {
		log_error("reload: out of memory; keeping the running configuration");
		dw_config_free(ncfg);
		sd_notify(0, "READY=1");
		return;
	}
	/* The caller owns d->cfg (main frees it at exit): keep that object and
	 * swap contents, so it holds the new configuration and ncfg the old.
	 * Records and providers are separate allocations and do not move. */
	d->cold = ncold;
	d->cold.cfg.fixed = d->cold.fixed;       /* the copy must point at itself */
	d->cold.cfg.resolvers = d->cold.resolvers;
	struct dw_config swap = *d->cfg;
	*d->cfg = *ncfg;
	*ncfg = swap;
	struct dw_config *old = ncfg;
	ncfg = d->cfg;
	sched_params(d);
	for (size_t i = 0; i < ncfg->nrecords; i++) {
		struct dw_record *r = ncfg->records[i];
		rec_init(d, &nrecs[i], r);
		/* Same name and provider: keep what we know (results, backoff);
		 * a reload is the user acting, so parked records get another try. */
		for (size_t k = 0; k < d->nrecs; k++) {
			struct rec *o = &d->recs[k];
			if (strcmp(o->r->fqdn, r->fqdn) != 0 ||
			    strcmp(o->r->provider->name, r->provider->name) != 0)
				continue;
			for (int f = 0; f < DW_FAM_COUNT; f++) {
				bool active = nrecs[i].s.fam[f].active;
				nrecs[i].s.fam[f] = o->s.fam[f];
				nrecs[i].s.fam[f].active = active;
				memcpy(nrecs[i].msg[f], o->msg[f], sizeof(o->msg[f]));
				nrecs[i].last_wall[f] = o->last_wall[f];
				nrecs[i].pub_wall[f] = o->pub_wall[f];
				if (source_polls(&r->src[f]) != source_polls(&o->r->src[f]))
					nrecs[i].s.fam[f].have_desired = false;
			}
			dw_sched_unpark(&nrecs[i].s);
			break;
		}
	}
	free(d->recs);
	d->recs = nrecs;
	d->nrecs = ncfg->nrecords;
	dw_config_free(old);
	log_notice("configuration reloaded: %zu records", d->nrecs);
	sd_notify(0, "READY=1");
	evaluate(d);
	dw_timer_arm(d->t_poll, 0);
}

static void force_all(struct daemon *d, const char *fqdn)
{
	for (size_t i = 0; i < d->nrecs; i++) {
		if (fqdn == NULL || strcmp(d->recs[i].r->fqdn, fqdn) == 0)
			dw_sched_force(&d->recs[i].s);
	}
	kick(d);
}

static void finish_stop_if_idle(struct daemon *d)
{
	if (d->jobs == 0)
		dw_loop_stop(d->loop);
}

static void on_grace(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct daemon *d = arg;
	log_warning("stopping: abandoning %u publish%s still in flight after %d s", d->jobs,
	            d->jobs == 1 ? "" : "es", RUN_STOP_GRACE_MS / 1000);
	dw_loop_stop(loop);
}

static void on_signal(struct dw_loop *loop, int signo, void *arg)
{
	struct daemon *d = arg;
	switch (signo) {
	case SIGHUP:
		if (d->stopping)
			break;
		log_notice("SIGHUP: reloading %s", d->cfg->path);
		sd_notify(0, "RELOADING=1");
		d->reload_pending = true;
		if (d->jobs == 0) {
			do_reload(d);
			kick(d);
		} else {
			log_info("reload waits for %u job%s in flight", d->jobs, d->jobs == 1 ? "" : "s");
		}
		break;
	case SIGUSR1:
		log_notice("SIGUSR1: publishing every record now");
		force_all(d, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		if (d->stopping)
			break;
		log_notice("%s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
		sd_notify(0, "STOPPING=1");
		d->stopping = true;
		if (d->jobs > 0)
			dw_timer_arm(d->t_grace, RUN_STOP_GRACE_MS);
		finish_stop_if_idle(d);
		break;
	default:
		break;
	}
}

static void on_watchdog(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct daemon *d = arg;
	sd_notify(0, "WATCHDOG=1");
	dw_timer_arm(t, d->watchdog_usec / 2000u);
}

/* ---- Control socket ---------------------------------------------------- */

static void client_close(struct client *c)
{
	struct daemon *d = c->d;
	for (size_t i = 0; i < RUN_CLIENTS_MAX; i++) {
		if (d->clients[i] == c)
			d->clients[i] = NULL;
	}
	dw_loop_del_fd(d->loop, c->fd);
	close(c->fd);
	dw_timer_free(c->timer);
	free(c->out);
	free(c);
}

static json_t *ip_or_null(bool have, const struct dw_ip *ip)
{
	char a[DW_IP_STRLEN];
	return have ? json_string(dw_ip_format(ip, a)) : json_null();
}

static char *status_json(struct daemon *d)
{
	uint64_t now = dw_loop_now_ms();
	json_t *root = json_object();
	json_t *recs = json_array();
	json_object_set_new(root, "daemon", json_true());
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "records", recs);
	for (size_t i = 0; i < d->nrecs; i++) {
		struct rec *rc = &d->recs[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(rc->r->fqdn));
		json_object_set_new(o, "provider", json_string(rc->r->provider->name));
		json_t *fams = json_array();
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const struct dw_sched_fam *s = &rc->s.fam[f];
			if (!s->active)
				continue;
			json_t *x = json_object();
			json_object_set_new(x, "family", json_string(dw_family_name((enum dw_family)f)));
			json_object_set_new(x, "type", json_string(dw_family_rrtype((enum dw_family)f)));
			json_object_set_new(x, "state", json_string(dw_sched_state_name(
				&rc->s, (enum dw_family)f, &d->sp, now)));
			json_object_set_new(x, "desired", ip_or_null(s->have_desired, &s->desired));
			if (!s->have_desired)
				json_object_set_new(x, "why", json_string(rc->why[f]));
			json_object_set_new(x, "published", ip_or_null(s->have_published, &s->published));
			if (s->have_published && rc->pub_wall[f] > 0)
				json_object_set_new(x, "published_at", json_integer(rc->pub_wall[f]));
			if (s->has_result) {
				json_object_set_new(x, "last_result", json_string(dw_outcome_str(s->last)));
				json_object_set_new(x, "last_message", json_string(rc->msg[f]));
				json_object_set_new(x, "last_at", json_integer(rc->last_wall[f]));
			} else {
				json_object_set_new(x, "last_result", json_null());
			}
			json_object_set_new(x, "failures", json_integer(s->failures));
			if (!s->parked && s->retry_at > now)
				json_object_set_new(x, "retry_in_ms", json_integer((json_int_t)(s->retry_at - now)));
			json_array_append_new(fams, x);
		}
		json_object_set_new(o, "families", fams);
		json_array_append_new(recs, o);
	}
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(root);
	return text;
}

static void client_write(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct client *c = arg;
	while (c->sent < c->nout) {
		ssize_t n = send(c->fd, c->out + c->sent, c->nout - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;   /* EPOLLOUT calls again */
		if (n < 0) {
			client_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	client_close(c);
}

static void client_reply(struct client *c, char *text)
{
	struct daemon *d = c->d;
	if (text == NULL) {
		client_close(c);
		return;
	}
	c->out = text;
	c->nout = strlen(text);
	dw_loop_del_fd(d->loop, c->fd);
	if (dw_loop_add_fd(d->loop, c->fd, EPOLLOUT, client_write, c) != 0) {
		client_close(c);
		return;
	}
	client_write(d->loop, c->fd, EPOLLOUT, c);
}

static void client_read(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct client *c = arg;
	struct daemon *d = c->d;
	ssize_t n = recv(fd, c->in + c->nin, sizeof(c->in) - 1 - c->nin, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->nin += (size_t)n;
	char *nl = memchr(c->in, '\n', c->nin);
	if (nl == NULL && c->nin < sizeof(c->in) - 1)
		return;   /* not a whole line yet */
	size_t len = nl != NULL ? (size_t)(nl - c->in) + 1 : c->nin;
	struct dw_ctl_req req;
	struct dw_diag diag = { "" };
	if (dw_ctl_parse(c->in, len, &req, &diag) != DW_OK) {
		log_info("control: refused a request: %s", diag.msg);
		char *e = NULL;
		if (asprintf(&e, "error: %s\n", diag.msg) < 0)
			e = NULL;
		client_reply(c, e);
		return;
	}
	if (req.cmd == DW_CTL_STATUS) {
		char *s = status_json(d);
		char *t = NULL;
		if (s != NULL && asprintf(&t, "%s\n", s) < 0)
			t = NULL;
		free(s);
		client_reply(c, t);
		return;
	}
	/* DW_CTL_FORCE */
	if (req.arg[0] != '\0' && dw_config_find_record(d->cfg, req.arg) == NULL) {
		client_reply(c, strdup("error: no such record\n"));
		return;
	}
	log_notice("control: forcing %s", req.arg[0] != '\0' ? req.arg : "every record");
	force_all(d, req.arg[0] != '\0' ? req.arg : NULL);
	client_reply(c, strdup("ok\n"));
}

static void client_timeout(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	client_close(arg);
}

static void on_accept(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct daemon *d = arg;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			return;
		size_t slot = RUN_CLIENTS_MAX;
		for (size_t i = 0; i < RUN_CLIENTS_MAX; i++) {
			if (d->clients[i] == NULL) {
				slot = i;
				break;
			}
		}
		struct client *c = slot < RUN_CLIENTS_MAX ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->d = d;
		c->timer = dw_loop_timer_new(loop, client_timeout, c);
		if (c->timer == NULL || dw_loop_add_fd(loop, cfd, EPOLLIN, client_read, c) != 0) {
			if (c->timer != NULL)
				dw_timer_free(c->timer);
			close(cfd);
			free(c);
			continue;
		}
		dw_timer_arm(c->timer, RUN_CLIENT_TIMEOUT_MS);
		d->clients[slot] = c;
	}
}

static int control_open(struct daemon *d, struct dw_diag *diag)
{
	if (dw_ctl_socket_path(d->cfg, d->ctl_path, sizeof(d->ctl_path)) != DW_OK)
		return dw_diag_set(diag, DW_ETOOBIG, "control socket path too long");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, d->ctl_path, strlen(d->ctl_path) + 1);
	/* A socket left by a daemon that died is replaced; a live one is not. */
	char *reply = NULL;
	struct dw_diag cd;
	int r = dw_ctl_request(d->ctl_path, "status", 2000, &reply, &cd);
	free(reply);
	if (r == DW_OK)
		return dw_diag_set(diag, DW_EIO, "another dnsward daemon answers on %s", d->ctl_path);
	struct stat sb;
	if (lstat(d->ctl_path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return dw_diag_set(diag, DW_EIO, "%s exists and is not a socket", d->ctl_path);
		(void)unlink(d->ctl_path);
	}
	d->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->ctl_fd < 0)
		return dw_diag_set(diag, DW_EIO, "socket: %s", strerror(errno));
	mode_t old = umask(0177);   /* 0600 from the start, not after a chmod */
	r = bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0)
		return dw_diag_set(diag, DW_EIO, "cannot create the control socket %s: %s",
		                   d->ctl_path, strerror(errno));
	if (listen(d->ctl_fd, 8) != 0 ||
	    dw_loop_add_fd(d->loop, d->ctl_fd, EPOLLIN, on_accept, d) != 0)
		return dw_diag_set(diag, DW_EIO, "control socket: %s", strerror(errno));
	return DW_OK;
}

/* ---- Entry ------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: dnsward run\n"
	           "Publishes every record, then follows address changes until stopped.\n"
	           "Signals: HUP reloads the configuration, USR1 publishes every record now,\n"
	           "TERM or INT stop.  'dnsward status' asks the running daemon.\n");
}

static void daemon_cleanup(struct daemon *d)
{
	for (size_t i = 0; i < RUN_CLIENTS_MAX; i++) {
		if (d->clients[i] != NULL)
			client_close(d->clients[i]);
	}
	for (size_t i = 0; i < RUN_HOOKS_MAX; i++) {
		if (d->hooks[i] != NULL)
			hook_free(d->hooks[i]);   /* a hook still running is left to finish */
	}
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		(void)unlink(d->ctl_path);
	}
	if (d->nl_fd >= 0)
		close(d->nl_fd);
	free(d->nl_buf);
	dw_addr_list_free(&d->addrs);
	dw_state_free(&d->st);
	free(d->recs);
	dw_loop_free(d->loop);
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

	struct daemon *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return DW_EXIT_RETRY;
	d->cfg = cfg;
	d->nl_fd = -1;
	d->ctl_fd = -1;
	int rc = DW_EXIT_RETRY;
	struct dw_diag diag = { "" };
	bool pool_up = false;

	d->loop = dw_loop_new();
	if (d->loop == NULL) {
		log_error("epoll: %s", strerror(errno));
		goto out;
	}
	/* Before any thread starts, so that workers inherit the blocked mask
	 * and signals only ever arrive through the signalfd. */
	static const int sigs[] = { SIGHUP, SIGUSR1, SIGTERM, SIGINT };
	if (dw_loop_signals(d->loop, sigs, 4, on_signal, d) != 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}
	(void)signal(SIGPIPE, SIG_IGN);

	if (dw_update_state_path(cfg, d->state_path, sizeof(d->state_path)) != DW_OK) {
		log_error("state-dir path too long");
		rc = DW_EXIT_USAGE;
		goto out;
	}
	if (dw_state_load(d->state_path, &d->st, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		rc = DW_EXIT_USAGE;
		goto out;
	}
	sched_params(d);
	d->recs = calloc(cfg->nrecords > 0 ? cfg->nrecords : 1, sizeof(*d->recs));
	if (d->recs == NULL)
		goto out;
	d->nrecs = cfg->nrecords;
	for (size_t i = 0; i < cfg->nrecords; i++)
		rec_init(d, &d->recs[i], cfg->records[i]);

	d->t_debounce = dw_loop_timer_new(d->loop, on_debounce, d);
	d->t_sched = dw_loop_timer_new(d->loop, on_sched_timer, d);
	d->t_poll = dw_loop_timer_new(d->loop, on_poll, d);
	d->t_grace = dw_loop_timer_new(d->loop, on_grace, d);
	if (d->t_debounce == NULL || d->t_sched == NULL || d->t_poll == NULL || d->t_grace == NULL) {
		log_error("timerfd: %s", strerror(errno));
		goto out;
	}
	/* Subscribe before the first dump, so no change between them is lost. */
	if (netlink_open(d, &diag) != DW_OK || control_open(d, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	/* Everything that needs privileges is open (netlink and control
	 * sockets, secrets read by the configuration): drop them and confine
	 * the process before the first byte from outside.  The workers start
	 * after it: the capability bounding set is per thread, so threads
	 * started before the drop would keep theirs. */
	d->spawns = dw_sandbox_config_spawns(cfg);
	if (dw_sandbox_enter(cfg, d->spawns ? DW_SANDBOX_SPAWN : 0, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	size_t nw = cfg->nrecords < RUN_WORKERS_MAX ? cfg->nrecords : RUN_WORKERS_MAX;
	if (pool_start(&d->pool, nw > 0 ? nw : 1) != 0 ||
	    dw_loop_add_fd(d->loop, d->pool.efd, EPOLLIN, on_jobs_done, d) != 0) {
		log_error("cannot start worker threads");
		goto out;
	}
	pool_up = true;

	if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 && d->watchdog_usec >= 2000) {
		d->t_watchdog = dw_loop_timer_new(d->loop, on_watchdog, d);
		if (d->t_watchdog != NULL)
			dw_timer_arm(d->t_watchdog, d->watchdog_usec / 2000u);
	}

	if (dw_dnsauth_setup(cfg->acme_nameservers, cfg->acme_resolvers, 3000, &d->cold,
	                     &diag) != DW_OK) {
		log_error("%s", diag.msg);
		goto out;
	}
	refresh(d);                 /* first dump: READY=1, first publishes */
	dw_timer_arm(d->t_poll, 0); /* first fetch of polling sources */
	if (dw_loop_run(d->loop) != 0) {
		log_error("event loop: %s", strerror(errno));
		goto out;
	}
	rc = DW_EXIT_OK;
	if (d->jobs > 0) {
		/* Workers still wait on the network with the configuration in
		 * hand: leave without freeing it.  Every finished publish is
		 * already in the state file. */
		daemon_cleanup(d);
		fflush(stderr);
		_exit(rc);
	}
out:
	if (pool_up)
		pool_stop(&d->pool);
	daemon_cleanup(d);
	free(d);
	return rc;
}
