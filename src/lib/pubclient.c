/* Starting publishers and talking to them (see pubclient.h). */
#include "lib/pubclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dw_build.h"
#include "lib/log.h"
#include "lib/pubproto.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define DYING_MAX 8                /* publishers stopped and not yet reaped */
#define DW_PUB_EXIT_GRACE_MS 5000  /* dw_pub_free(): time to exit after EOF */

extern char **environ;

/* One publisher process. */
struct proc {
	pid_t pid;
	int pidfd;                   /* -1 where pidfds are missing (valgrind): then
	                              * the socket's end tells of the exit */
	int sock;                    /* -1 once closed */
	struct dw_pp_reader rd;
	struct dw_pp_buf *outq;      /* frames not yet written, in order */
	size_t noutq, outcap, out_off;
	bool want_out;               /* EPOLLOUT registered */
	bool hello;                  /* its HELLO came */
	unsigned flags;              /* DW_PP_* it was started with */
	struct dw_job *inflight;     /* sent, not answered */
	uint64_t last_ms;            /* its last answer (or its start) */
	bool prestarted;             /* started ahead; no job yet */
	bool retired;                /* on the dying list */
};

struct dw_pub {
	int exec_fd;
	int epfd, evfd, t_deadline, t_idle;
	struct dw_pub_opts opts;
	struct proc *cur;
	struct proc *dying[DYING_MAX];
	size_t ndying;
	struct dw_job *done;
	size_t held;                 /* submitted, not taken */
	uint64_t next_id;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void timer_arm(int tfd, uint64_t delay_ms)
{
	struct itimerspec its = { 0 };
	if (delay_ms == 0)
		delay_ms = 1;   /* zero would disarm */
	its.it_value.tv_sec = (time_t)(delay_ms / 1000u);
	its.it_value.tv_nsec = (long)(delay_ms % 1000u) * 1000000L;
	(void)timerfd_settime(tfd, 0, &its, NULL);
}

static void timer_disarm(int tfd)
{
	struct itimerspec its = { 0 };
	(void)timerfd_settime(tfd, 0, &its, NULL);
}

static void timer_drain(int tfd)
{
	uint64_t n;
	(void)!read(tfd, &n, sizeof(n));
}

static void watch(struct dw_pub *p, int fd, uint32_t events, bool mod)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	(void)epoll_ctl(p->epfd, mod ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
}

static void unwatch(struct dw_pub *p, int fd)
{
	(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void dw_pub_opts_from(const struct dw_config *cfg, struct dw_pub_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->idle_ms = cfg->publisher_idle_s * 1000u;
	o->seccomp = cfg->seccomp;
	for (size_t i = 0; i < cfg->nrecords; i++) {
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (cfg->records[i]->src[f].kind == DW_SRC_CMD)
				o->spawn = true;
		}
	}
}

static unsigned proc_flags(const struct dw_pub_opts *o)
{
	return (o->seccomp ? DW_PP_SECCOMP : 0u) | (o->spawn ? DW_PP_SPAWN : 0u);
}

int dw_pub_new(const struct dw_pub_opts *o, struct dw_pub **out, struct dw_diag *diag)
{
	*out = NULL;
	const char *path = getenv("DNSWARD_PUBLISHER");
	if (path == NULL || path[0] != '/')
		path = DW_PUBLISHER_PATH;
	struct dw_pub *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	p->opts = *o;
	p->next_id = 1;
	p->epfd = p->evfd = p->t_deadline = p->t_idle = -1;
	p->exec_fd = open(path, O_PATH | O_CLOEXEC);
	if (p->exec_fd < 0) {
		int e = errno;
		free(p);
		return dw_diag_set(diag, DW_EIO, "cannot open the publisher %s: %s (it does the "
		                   "network work of dnsward; is the package complete?)", path,
		                   strerror(e));
	}
	if (p->exec_fd < 4) {
		/* A publisher gets its socket as descriptor 3: keep clear of it. */
		int high = fcntl(p->exec_fd, F_DUPFD_CLOEXEC, 4);
		close(p->exec_fd);
		p->exec_fd = high;
		if (high < 0) {
			int e = errno;
			free(p);
			return dw_diag_set(diag, DW_EIO, "publisher: %s", strerror(e));
		}
	}
	if (faccessat(p->exec_fd, "", X_OK, AT_EMPTY_PATH) != 0 && errno != EINVAL) {
		int e = errno;
		close(p->exec_fd);
		free(p);
		return dw_diag_set(diag, DW_EIO, "cannot execute the publisher %s: %s", path,
		                   strerror(e));
	}
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->t_deadline = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	p->t_idle = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->epfd < 0 || p->evfd < 0 || p->t_deadline < 0 || p->t_idle < 0) {
		int e = errno;
		dw_pub_free(p);
		return dw_diag_set(diag, DW_EIO, "publisher client: %s", strerror(e));
	}
	watch(p, p->evfd, EPOLLIN, false);
	watch(p, p->t_deadline, EPOLLIN, false);
	watch(p, p->t_idle, EPOLLIN, false);
	*out = p;
	return DW_OK;
}

int dw_pub_exec_fd(const struct dw_pub *p)
{
	return p->exec_fd;
}

int dw_pub_fd(const struct dw_pub *p)
{
	return p->epfd;
}

int dw_pub_pid(const struct dw_pub *p)
{
	return p->cur != NULL ? (int)p->cur->pid : 0;
}

size_t dw_pub_held(const struct dw_pub *p)
{
	return p->held;
}

/* ---- Finished jobs ---------------------------------------------------------- */

static void finish(struct dw_pub *p, struct dw_job *j)
{
	j->next = p->done;
	p->done = j;
	uint64_t one = 1;
	(void)!write(p->evfd, &one, sizeof(one));
}

struct dw_job *dw_pub_take(struct dw_pub *p)
{
	uint64_t n;
	(void)!read(p->evfd, &n, sizeof(n));
	struct dw_job *list = p->done;
	p->done = NULL;
	for (struct dw_job *j = list; j != NULL; j = j->next)
		p->held--;
	return list;
}

/* ---- A publisher's life ----------------------------------------------------- */

static void proc_outq_free(struct proc *pr)
{
	for (size_t i = 0; i < pr->noutq; i++)
		dw_pp_buf_free(&pr->outq[i]);
	free(pr->outq);
	pr->outq = NULL;
	pr->noutq = pr->outcap = pr->out_off = 0;
}

/* What ended a process, for messages. */
static void describe_exit(const siginfo_t *si, char *buf, size_t cap)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, cap, "exited with status %d", si->si_status);
	else if (si->si_status == SIGSYS)
		snprintf(buf, cap, "was killed by SIGSYS (its system-call filter refused a call: "
		         "a bug, please report it with the log at debug level)");
	else
		snprintf(buf, cap, "was killed by signal %d (%s)", si->si_status,
		         strsignal(si->si_status));
}

static void proc_kill(struct proc *pr)
{
	if (pr->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, pr->pidfd, SIGKILL, NULL, 0);
	else
		(void)kill(pr->pid, SIGKILL);
}

/* Reaps pr; block waits for it.  False when it has not exited (!block). */
static bool proc_wait(struct proc *pr, siginfo_t *si, bool block)
{
	memset(si, 0, sizeof(*si));
	int opts = WEXITED | (block ? 0 : WNOHANG);
	int r;
	do {
		r = pr->pidfd >= 0 ? waitid((idtype_t)P_PIDFD, (id_t)pr->pidfd, si, opts)
		                   : waitid(P_PID, (id_t)pr->pid, si, opts);
	} while (r != 0 && errno == EINTR);
	return r == 0 && si->si_pid != 0;
}

/* Fails every job pr still holds with why. */
static void fail_inflight(struct dw_pub *p, struct proc *pr, const char *why)
{
	size_t n = 0;
	while (pr->inflight != NULL) {
		struct dw_job *j = pr->inflight;
		pr->inflight = j->next;
		dw_job_fail(j, why);
		finish(p, j);
		n++;
	}
	if (n > 0)
		log_error("%s (%zu job%s failed)", why, n, n == 1 ? "" : "s");
}

/* Stops talking to pr (socket closed, jobs failed with why unless NULL),
 * kills it when kill is set, and keeps its pidfd until it is reaped. */
static void proc_retire(struct dw_pub *p, struct proc *pr, bool kill, const char *why)
{
	if (kill)
		proc_kill(pr);
	if (pr->sock >= 0) {
		unwatch(p, pr->sock);
		close(pr->sock);
		pr->sock = -1;
	}
	dw_pp_reader_reset(&pr->rd);
	proc_outq_free(pr);
	if (why != NULL)
		fail_inflight(p, pr, why);
	if (p->cur == pr)
		p->cur = NULL;
	if (pr->retired)
		return;
	pr->retired = true;
	if (p->ndying == DYING_MAX) {
		/* Too many unreaped: wait for the oldest (killed: it goes fast). */
		struct proc *old = p->dying[0];
		proc_kill(old);
		siginfo_t si;
		(void)proc_wait(old, &si, true);
		unwatch(p, old->pidfd);
		close(old->pidfd);
		free(old);
		memmove(p->dying, p->dying + 1, (DYING_MAX - 1) * sizeof(p->dying[0]));
		p->ndying--;
	}
	p->dying[p->ndying++] = pr;
}

static int proc_spawn(struct dw_pub *p, struct dw_diag *diag)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return dw_diag_set(diag, DW_EIO, "socketpair: %s", strerror(errno));
	/* The environment minus what only the service manager's own child
	 * may use. */
	static const char *const drop[] = { "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
	                                    "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
	                                    "DNSWARD_PUBLISHER=", NULL };
	size_t nenv = 0;
	for (char **e = environ; e != NULL && *e != NULL; e++)
		nenv++;
	char **env = calloc(nenv + 1, sizeof(*env));
	struct proc *pr = calloc(1, sizeof(*pr));
	if (env == NULL || pr == NULL) {
		free(env);
		free(pr);
		close(sv[0]);
		close(sv[1]);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		bool skip = false;
		for (size_t d = 0; drop[d] != NULL && !skip; d++)
			skip = strncmp(*e, drop[d], strlen(drop[d])) == 0;
		if (!skip)
			env[k++] = *e;
	}
	char *argv[] = { (char *)"dnsward-publisher", NULL };

	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		free(env);
		free(pr);
		close(sv[0]);
		close(sv[1]);
		return dw_diag_set(diag, DW_EIO, "cannot start the publisher: fork: %s", strerror(e));
	}
	if (pid == 0) {
		/* The child: only async-signal-safe calls until the exec. */
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		if (sv[1] == 3) {
			(void)fcntl(3, F_SETFD, 0);
		} else if (dup2(sv[1], 3) != 3) {
			_exit(127);
		}
		/* Everything else closes at the exec (the executable's own
		 * descriptor must stay open until then). */
		(void)syscall(SYS_close_range, 4u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
		fexecve(p->exec_fd, argv, env);
		_exit(127);
	}
	free(env);
	close(sv[1]);
	pr->pid = pid;
	pr->sock = sv[0];
	pr->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	pr->last_ms = now_ms();
	pr->flags = proc_flags(&p->opts);
	if (pr->pidfd < 0 && errno == ENOSYS) {
		log_debug("no pidfd (%s): the publisher's socket tells of its exit", strerror(errno));
	} else if (pr->pidfd < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		close(pr->sock);
		free(pr);
		return dw_diag_set(diag, DW_EIO, "pidfd_open: %s", strerror(e));
	}
	(void)fcntl(pr->sock, F_SETFL, O_NONBLOCK);
	p->cur = pr;
	watch(p, pr->sock, EPOLLIN, false);
	if (pr->pidfd >= 0)
		watch(p, pr->pidfd, EPOLLIN, false);

	struct dw_pp_hello h = { .version = DW_PP_VERSION,
	                         .log_level = (uint8_t)dw_log_get_level(),
	                         .flags = (uint8_t)pr->flags };
	struct dw_pp_buf b;
	if (dw_pp_encode_hello(&h, true, &b) != DW_OK ||
	    (pr->outq = calloc(4, sizeof(*pr->outq))) == NULL) {
		dw_pp_buf_free(&b);
		proc_retire(p, pr, true, NULL);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	pr->outcap = 4;
	pr->outq[pr->noutq++] = b;
	log_debug("publisher started (pid %d)", (int)pid);
	return DW_OK;
}

/* Writes what the socket takes. */
static void proc_flush(struct dw_pub *p, struct proc *pr)
{
	while (pr->sock >= 0 && pr->noutq > 0) {
		struct dw_pp_buf *b = &pr->outq[0];
		ssize_t n = send(pr->sock, b->p + pr->out_off, b->len - pr->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!pr->want_out) {
				watch(p, pr->sock, EPOLLIN | EPOLLOUT, true);
				pr->want_out = true;
			}
			return;
		}
		if (n < 0) {
			/* Gone: its exit (pidfd) tells the rest. */
			log_debug("publisher %d: send: %s", (int)pr->pid, strerror(errno));
			proc_outq_free(pr);
			break;
		}
		pr->out_off += (size_t)n;
		if (pr->out_off == b->len) {
			dw_pp_buf_free(b);
			memmove(pr->outq, pr->outq + 1, (pr->noutq - 1) * sizeof(*pr->outq));
			pr->noutq--;
			pr->out_off = 0;
		}
	}
	if (pr->want_out && pr->sock >= 0) {
		watch(p, pr->sock, EPOLLIN, true);
		pr->want_out = false;
	}
}

static bool proc_queue(struct proc *pr, struct dw_pp_buf *b)
{
	if (pr->noutq == pr->outcap) {
		size_t ncap = pr->outcap * 2;
		struct dw_pp_buf *nq = realloc(pr->outq, ncap * sizeof(*nq));
		if (nq == NULL)
			return false;
		pr->outq = nq;
		pr->outcap = ncap;
	}
	pr->outq[pr->noutq++] = *b;
	return true;
}

/* Deadline for pr's jobs from its last answer; idle timer when it has
 * none. */
static void rearm(struct dw_pub *p)
{
	struct proc *pr = p->cur;
	if (pr == NULL) {
		timer_disarm(p->t_deadline);
		timer_disarm(p->t_idle);
		return;
	}
	if (pr->inflight != NULL) {
		uint64_t budget = 0;
		for (struct dw_job *j = pr->inflight; j != NULL; j = j->next)
			budget = j->budget_ms > budget ? j->budget_ms : budget;
		uint64_t at = pr->last_ms + budget, now = now_ms();
		timer_arm(p->t_deadline, at > now ? at - now : 0);
		timer_disarm(p->t_idle);
		return;
	}
	timer_disarm(p->t_deadline);
	uint64_t idle = p->opts.idle_ms;
	if (pr->prestarted && idle < DW_PUB_PRESTART_MS)
		idle = DW_PUB_PRESTART_MS;
	timer_arm(p->t_idle, idle);
}

void dw_pub_prestart(struct dw_pub *p)
{
	if (p->cur != NULL && p->cur->sock < 0)
		proc_retire(p, p->cur, false, NULL);   /* its end closed: it is going */
	if (p->cur != NULL)
		return;
	struct dw_diag diag = { "" };
	if (proc_spawn(p, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		return;
	}
	p->cur->prestarted = true;
	proc_flush(p, p->cur);
	rearm(p);
}

void dw_pub_submit(struct dw_pub *p, const struct dw_config *cfg, struct dw_job *j)
{
	p->held++;
	j->next = NULL;
	j->id = p->next_id++;
	j->budget_ms = dw_job_budget_ms(j);
	struct dw_diag diag = { "" };
	if (p->cur != NULL && p->cur->sock < 0)
		proc_retire(p, p->cur, false, NULL);   /* its end closed: it is going */
	if (p->cur == NULL && proc_spawn(p, &diag) != DW_OK) {
		log_error("%s", diag.msg);
		dw_job_fail(j, diag.msg);
		finish(p, j);
		return;
	}
	struct proc *pr = p->cur;
	struct dw_pp_buf b;
	int ret = dw_pp_encode_job(j->id, cfg, j, &b);
	if (ret != DW_OK || !proc_queue(pr, &b)) {
		if (ret == DW_OK)
			dw_pp_buf_free(&b);
		char msg[160];
		snprintf(msg, sizeof(msg), "cannot hand the %s job to the publisher: %s",
		         dw_job_kind_name(j->kind),
		         ret == DW_ETOOBIG ? "it exceeds the protocol's limits" : "out of memory");
		log_error("%s", msg);
		dw_job_fail(j, msg);
		finish(p, j);
		return;
	}
	if (pr->inflight == NULL)
		pr->last_ms = now_ms();   /* the budget counts from now */
	pr->prestarted = false;
	j->next = pr->inflight;
	pr->inflight = j;
	proc_flush(p, pr);
	rearm(p);
}

/* ---- Answers ----------------------------------------------------------------- */

/* Handles one whole frame from pr.  False: garbage (pr must be killed). */
static bool proc_frame(struct dw_pub *p, struct proc *pr, char *why, size_t whycap)
{
	struct dw_diag diag = { "" };
	const uint8_t *body = pr->rd.body;
	size_t len = pr->rd.body_len;
	if (!pr->hello) {
		struct dw_pp_hello h;
		if (pr->rd.type != DW_PP_HELLO ||
		    dw_pp_decode_hello(body, len, false, &h, &diag) != DW_OK) {
			snprintf(why, whycap, "the publisher did not start with HELLO%s%s",
			         diag.msg[0] ? ": " : "", diag.msg);
			return false;
		}
		if (h.version != DW_PP_VERSION) {
			snprintf(why, whycap, "the publisher speaks protocol version %u, not %u "
			         "(DNSWARD_PUBLISHER names another version?)", (unsigned)h.version,
			         (unsigned)DW_PP_VERSION);
			return false;
		}
		pr->hello = true;
		return true;
	}
	uint64_t id;
	enum dw_job_kind kind;
	if (pr->rd.type != DW_PP_RESULT || dw_pp_result_id(body, len, &id, &kind, &diag) != DW_OK) {
		snprintf(why, whycap, "the publisher sent an unexpected frame (type %u)%s%s",
		         (unsigned)pr->rd.type, diag.msg[0] ? ": " : "", diag.msg);
		return false;
	}
	struct dw_job **pp = &pr->inflight;
	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->next;
	if (*pp == NULL || (*pp)->kind != kind) {
		snprintf(why, whycap, "the publisher answered a job it was not given (id %llu)",
		         (unsigned long long)id);
		return false;
	}
	struct dw_job *j = *pp;
	if (dw_pp_decode_result(body, len, j, &diag) != DW_OK) {
		snprintf(why, whycap, "the publisher sent %s", diag.msg);
		return false;
	}
	*pp = j->next;
	pr->last_ms = now_ms();
	finish(p, j);
	return true;
}

static void proc_exited(struct dw_pub *p, struct proc *pr);

/* Reads whatever pr sent.  Ends pr on EOF, errors and garbage. */
static void proc_read(struct dw_pub *p, struct proc *pr)
{
	for (;;) {
		struct dw_diag diag = { "" };
		int r = dw_pp_read(&pr->rd, pr->sock, &diag);
		if (r == 0)
			return;
		if (r == 1) {
			char why[600] = "";
			bool ok = proc_frame(p, pr, why, sizeof(why));
			dw_pp_reader_reset(&pr->rd);
			if (!ok) {
				char msg[700];
				snprintf(msg, sizeof(msg), "%s; stopped it", why);
				log_error("publisher %d: %s", (int)pr->pid, msg);
				proc_retire(p, pr, true, msg);
				return;
			}
			continue;
		}
		if (r == DW_ENOTFOUND) {
			/* It closed its end: its exit status (pidfd) follows. */
			unwatch(p, pr->sock);
			close(pr->sock);
			pr->sock = -1;
			if (pr->pidfd < 0)
				proc_exited(p, pr);
			return;
		}
		/* Most often it died (a reset): its exit status tells more.
		 * Stopped either way. */
		log_debug("publisher %d: %s", (int)pr->pid, diag.msg);
		unwatch(p, pr->sock);
		close(pr->sock);
		pr->sock = -1;
		proc_kill(pr);
		if (pr->pidfd < 0)
			proc_exited(p, pr);
		return;
	}
}

/* pr exited (its pidfd is readable, or without pidfds its socket ended).
 * Answers it sent before still count. */
static void proc_exited(struct dw_pub *p, struct proc *pr)
{
	siginfo_t si;
	if (!proc_wait(pr, &si, pr->pidfd < 0))
		return;   /* not yet */
	if (pr->sock >= 0)
		proc_read(p, pr);   /* answers still in the socket */
	char how[200];
	describe_exit(&si, how, sizeof(how));
	if (pr->inflight != NULL) {
		char msg[300];
		snprintf(msg, sizeof(msg), "the publisher (pid %d) %s before answering", (int)pr->pid,
		         how);
		fail_inflight(p, pr, msg);
	} else if (si.si_code != CLD_EXITED || si.si_status != 0) {
		log_debug("publisher %d %s", (int)pr->pid, how);
	} else {
		log_debug("publisher %d exited", (int)pr->pid);
	}
	if (p->cur == pr) {
		proc_retire(p, pr, false, NULL);   /* onto the dying list ... */
	}
	for (size_t i = 0; i < p->ndying; i++) {   /* ... and off it */
		if (p->dying[i] == pr) {
			memmove(p->dying + i, p->dying + i + 1, (p->ndying - i - 1) * sizeof(p->dying[0]));
			p->ndying--;
			break;
		}
	}
	if (pr->pidfd >= 0) {
		unwatch(p, pr->pidfd);
		close(pr->pidfd);
	}
	free(pr);
}

static void on_deadline(struct dw_pub *p)
{
	struct proc *pr = p->cur;
	if (pr == NULL || pr->inflight == NULL)
		return;
	uint64_t budget = 0;
	for (struct dw_job *j = pr->inflight; j != NULL; j = j->next)
		budget = j->budget_ms > budget ? j->budget_ms : budget;
	if (now_ms() < pr->last_ms + budget) {
		rearm(p);
		return;
	}
	char msg[200];
	snprintf(msg, sizeof(msg), "the publisher (pid %d) gave no answer for %llu s; stopped it",
	         (int)pr->pid, (unsigned long long)(budget + 999) / 1000u);
	proc_retire(p, pr, true, msg);
}

static void on_idle(struct dw_pub *p)
{
	struct proc *pr = p->cur;
	if (pr == NULL || pr->inflight != NULL || pr->noutq > 0)
		return;
	/* Closing is the request to exit: it reads EOF, and goes. */
	log_debug("publisher %d idle: closing", (int)pr->pid);
	proc_retire(p, pr, false, NULL);
}

void dw_pub_io(struct dw_pub *p)
{
	struct epoll_event ev[16];
	int n = epoll_wait(p->epfd, ev, 16, 0);
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		if (fd == p->evfd)
			continue;   /* dw_pub_take() resets it */
		if (fd == p->t_deadline) {
			timer_drain(fd);
			on_deadline(p);
			continue;
		}
		if (fd == p->t_idle) {
			timer_drain(fd);
			on_idle(p);
			continue;
		}
		struct proc *pr = p->cur;
		if (pr != NULL && fd == pr->sock) {
			if (ev[i].events & EPOLLOUT)
				proc_flush(p, pr);
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				proc_read(p, pr);
			continue;
		}
		if (pr != NULL && fd == pr->pidfd) {
			proc_exited(p, pr);
			continue;
		}
		for (size_t k = 0; k < p->ndying; k++) {
			if (p->dying[k]->pidfd == fd) {
				proc_exited(p, p->dying[k]);
				break;
			}
		}
	}
	/* Without pidfds, those stopped are reaped now (killed, or closed
	 * while idle: either way they go at once). */
	for (size_t k = 0; k < p->ndying;) {
		if (p->dying[k]->pidfd < 0)
			proc_exited(p, p->dying[k]);   /* takes it off the list */
		else
			k++;
	}
	rearm(p);
}

struct dw_job *dw_pub_wait_one(struct dw_pub *p)
{
	for (;;) {
		if (p->done != NULL) {
			struct dw_job *j = p->done;
			p->done = j->next;
			j->next = NULL;
			p->held--;
			if (p->done == NULL) {
				uint64_t x;
				(void)!read(p->evfd, &x, sizeof(x));
			}
			return j;
		}
		if (p->held == 0)
			return NULL;
		struct epoll_event ev;
		int r = epoll_wait(p->epfd, &ev, 1, -1);
		if (r < 0 && errno != EINTR)
			return NULL;
		dw_pub_io(p);
	}
}

void dw_pub_set_opts(struct dw_pub *p, const struct dw_pub_opts *o)
{
	p->opts = *o;
	if (p->cur != NULL && p->cur->flags != proc_flags(o) && p->cur->inflight == NULL)
		proc_retire(p, p->cur, false, NULL);
	rearm(p);
}

struct dw_job *dw_pub_free(struct dw_pub *p)
{
	if (p == NULL)
		return NULL;
	struct dw_job *left = NULL;
	if (p->cur != NULL) {
		bool busy = p->cur->inflight != NULL;
		while (p->cur->inflight != NULL) {   /* failed quietly: we are stopping */
			struct dw_job *j = p->cur->inflight;
			p->cur->inflight = j->next;
			dw_job_fail(j, "stopped before the publisher answered");
			finish(p, j);
		}
		proc_retire(p, p->cur, busy, NULL);
	}
	left = p->done;   /* every job still held, failed or finished */
	p->done = NULL;
	/* Closed ones exit at once on EOF; a moment of grace (a sanitizer
	 * build checks for leaks at exit), then SIGKILL. */
	uint64_t until = now_ms() + DW_PUB_EXIT_GRACE_MS;
	for (size_t i = 0; i < p->ndying; i++) {
		struct proc *pr = p->dying[i];
		struct pollfd pfd = { .fd = pr->pidfd, .events = POLLIN };
		uint64_t now = now_ms();
		if (pr->pidfd >= 0 && poll(&pfd, 1, now < until ? (int)(until - now) : 0) != 1)
			proc_kill(pr);
		siginfo_t si;
		(void)proc_wait(pr, &si, true);
		if (pr->pidfd >= 0)
			close(pr->pidfd);
		free(pr);
	}
	const int fds[] = { p->epfd, p->evfd, p->t_deadline, p->t_idle, p->exec_fd };
	for (size_t k = 0; k < sizeof(fds) / sizeof(fds[0]); k++) {
		if (fds[k] >= 0)
			close(fds[k]);
	}
	free(p);
	return left;
}
