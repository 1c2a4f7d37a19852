/* Contained programs: a subreaper supervisor per program (see proc.h).
 *
 * Everything between fork() and execve() or _exit() runs in a copy of a
 * possibly multi-threaded process, so it only makes system calls: no
 * allocation, no stdio, no locks. */
#include "lib/proc.h"
#include "lib/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_GRACE_MS 3000     /* supervisor's time to end the tree after a stop */
#define RESCAN_MS 100          /* re-read the list of children while ending */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- In the supervisor and the program (after fork) ---- */

static void put_str(char *buf, size_t cap, size_t *o, const char *s)
{
	while (*s != '\0' && *o + 1 < cap)
		buf[(*o)++] = *s++;
}

static void put_num(char *buf, size_t cap, size_t *o, long v)
{
	char d[24];
	size_t n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
	do {
		d[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0 && n < sizeof(d));
	if (v < 0 && *o + 1 < cap)
		buf[(*o)++] = '-';
	while (n > 0 && *o + 1 < cap)
		buf[(*o)++] = d[--n];
}

static void close_from(int first)
{
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	          rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	for (int fd = first; fd < max; fd++)
		(void)close(fd);
}

/* fd, or /dev/null when fd < 0, moved to a descriptor >= 10 so that the
 * final dup2 onto 0-2 cannot overwrite a source still needed. */
static int high_fd(int fd, int flags)
{
	int src = fd >= 0 ? fd : open("/dev/null", flags | O_CLOEXEC);
	if (src < 0)
		return -1;
	int h = fcntl(src, F_DUPFD_CLOEXEC, 10);
	if (fd < 0)
		(void)close(src);
	return h;
}

/* Sends SIGKILL to every child listed by the kernel; returns how many were
 * listed (-1 when the list cannot be read). */
static int kill_children(void)
{
	char path[64];
	size_t o = 0;
	put_str(path, sizeof(path), &o, "/proc/self/task/");
	put_num(path, sizeof(path), &o, (long)getpid());
	put_str(path, sizeof(path), &o, "/children");
	path[o] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int count = 0;
	long cur = 0;
	bool in_num = false;
	char buf[512];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = cur * 10 + (buf[i] - '0');
				in_num = true;
				continue;
			}
			if (in_num && cur > 0) {
				(void)kill((pid_t)cur, SIGKILL);
				count++;
			}
			cur = 0;
			in_num = false;
		}
	}
	if (in_num && cur > 0) {
		(void)kill((pid_t)cur, SIGKILL);
		count++;
	}
	(void)close(fd);
	return count;
}

/* Ends every process below the supervisor and reaps them all. */
static void end_tree(const sigset_t *chld)
{
	for (;;) {
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			;
		if (w < 0 && errno == ECHILD)
			return;
		if (kill_children() < 0) {
			/* No list: wait for the remaining children to end by
			 * themselves (they were in the killed group, or are
			 * re-parented orphans that will be reaped above). */
		}
		struct timespec ts = { 0, RESCAN_MS * 1000000L };
		(void)sigtimedwait(chld, NULL, &ts);
	}
}

static void mirror(int status) __attribute__((noreturn));
static void mirror(int status)
{
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	(void)sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	(void)kill(getpid(), sig);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	_exit(128 + sig);
}

static void run_program(const char *real, char *const *argv, char *const *envp)
	__attribute__((noreturn));
static void run_program(const char *real, char *const *argv, char *const *envp)
{
	(void)setpgid(0, 0);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++) {
		if (sigaction(s, &dfl, NULL) == 0 || s == SIGKILL || s == SIGSTOP)
			continue;   /* SIGPIPE ignored by dnsward, ... */
		/* The C library refuses the signals it reserves for itself (32
		 * and 33), which an ignoring ancestor leaves ignored (seen under
		 * a Debian package build): the kernel's call resets them too. */
		struct { void (*handler)(int); unsigned long flags; void (*restorer)(void); uint64_t mask; } k = {
			SIG_DFL, 0, NULL, 0
		};
		(void)syscall(SYS_rt_sigaction, s, &k, NULL, sizeof(k.mask));
	}
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (chdir("/") != 0) {
		/* stays where it is */
	}
	execve(real, argv, envp);
	int e = errno;
	char msg[PATH_MAX + 64];
	size_t o = 0;
	put_str(msg, sizeof(msg), &o, "dnsward: cannot execute ");
	put_str(msg, sizeof(msg), &o, real);
	put_str(msg, sizeof(msg), &o, " (errno ");
	put_num(msg, sizeof(msg), &o, e);
	put_str(msg, sizeof(msg), &o, ")\n");
	if (write(2, msg, o) < 0) {
		/* nothing left to tell it to */
	}
	_exit(127);
}

static void supervise(pid_t parent, const char *real, const struct dw_proc_spec *spec)
	__attribute__((noreturn));
static void supervise(pid_t parent, const char *real, const struct dw_proc_spec *spec)
{
	sigset_t all, wake;
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	sigemptyset(&wake);
	sigaddset(&wake, SIGCHLD);
	sigaddset(&wake, SIGTERM);
	sigaddset(&wake, SIGINT);
	sigaddset(&wake, SIGHUP);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);

	/* dnsward's end, however it comes, ends the tree. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(127);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		_exit(127);

	int in = high_fd(-1, O_RDONLY);
	int out = high_fd(spec->out_fd, O_WRONLY);
	int err = high_fd(spec->err_fd, O_WRONLY);
	if (in < 0 || out < 0 || err < 0 || dup2(in, 0) != 0 || dup2(out, 1) != 1 ||
	    dup2(err, 2) != 2)
		_exit(127);
	close_from(3);

	pid_t prog = fork();
	if (prog < 0)
		_exit(127);
	if (prog == 0)
		run_program(real, spec->argv, spec->envp);
	(void)setpgid(prog, prog);   /* both sides: no window without its group */
	/* Only the program holds them now. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		(void)dup2(devnull, 1);
		(void)dup2(devnull, 2);
		(void)close(devnull);
	}

	int status = 0;
	bool stopped = false;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* WNOWAIT: the program stays a zombie, so its process group
		 * (its pid) cannot be reused before the group is killed. */
		if (waitid(P_PID, (id_t)prog, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == prog)
			break;
		int sig = sigwaitinfo(&wake, NULL);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			stopped = true;
			break;
		}
		if (sig == SIGCHLD) {
			/* Reap orphans re-parented to us that have ended. */
			int st;
			siginfo_t pi;
			memset(&pi, 0, sizeof(pi));
			while (waitid(P_ALL, 0, &pi, WEXITED | WNOHANG | WNOWAIT) == 0 && pi.si_pid != 0 &&
			       pi.si_pid != prog) {
				(void)waitpid(pi.si_pid, &st, 0);
				memset(&pi, 0, sizeof(pi));
			}
		}
	}
	(void)kill(-prog, SIGKILL);
	if (stopped)
		(void)kill(prog, SIGKILL);
	while (waitpid(prog, &status, 0) < 0 && errno == EINTR)
		;
	end_tree(&chld);
	mirror(status);   /* after a stop: SIGKILL, or its own end if that came first */
}

/* ---- In dnsward ---- */

int dw_proc_start(const struct dw_proc_spec *spec, struct dw_proc *p, struct dw_diag *diag)
{
	p->pid = -1;
	p->pidfd = -1;
	p->stopped = false;
	char real[PATH_MAX];
	int ret = dw_trust_program(spec->path, geteuid(), real, sizeof(real), diag);
	if (ret != DW_OK)
		return ret;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return dw_diag_set(diag, DW_EIO, "cannot start %s: fork: %s", spec->path,
		                   strerror(errno));
	if (pid == 0)
		supervise(parent, real, spec);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		int e = errno;
		(void)kill(pid, SIGTERM);
		/* The supervisor ends its tree on SIGTERM at once: this wait
		 * is bounded by that, not by the program. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return dw_diag_set(diag, DW_EIO, "cannot watch %s: pidfd_open: %s", spec->path,
		                   strerror(e));
	}
	p->pid = pid;
	p->pidfd = pidfd;
	return DW_OK;
}

void dw_proc_stop(struct dw_proc *p)
{
	if (p->pid > 0) {
		(void)kill(p->pid, SIGTERM);
		p->stopped = true;
	}
}

void dw_proc_kill(struct dw_proc *p)
{
	if (p->pid > 0)
		(void)kill(p->pid, SIGKILL);
}

int dw_proc_reap(struct dw_proc *p, int *status)
{
	if (p->pid <= 0)
		return -1;
	int st = 0;
	pid_t w;
	do {
		w = waitpid(p->pid, &st, WNOHANG);
	} while (w < 0 && errno == EINTR);
	if (w == 0)
		return 0;
	if (w < 0)
		return -1;
	p->pid = -1;
	*status = st;
	return 1;
}

/* Polls the pidfd until readable or ms pass: true when the supervisor ended. */
static bool wait_end(const struct dw_proc *p, long long ms)
{
	long long deadline = now_ms() + ms;
	for (;;) {
		long long left = deadline - now_ms();
		if (left < 0)
			left = 0;
		struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
		int r = poll(&pf, 1, (int)left);
		if (r > 0)
			return true;
		if (r == 0 || (r < 0 && errno != EINTR))
			return false;
	}
}

void dw_proc_release(struct dw_proc *p, unsigned grace_ms)
{
	if (p->pid > 0) {
		int st;
		if (dw_proc_reap(p, &st) == 0) {
			dw_proc_stop(p);
			if (p->pidfd >= 0 && wait_end(p, grace_ms))
				(void)dw_proc_reap(p, &st);
		}
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

int dw_proc_run(const struct dw_proc_spec *spec, uint32_t limit_ms, char *out, size_t out_cap,
                char *err, size_t err_cap, struct dw_proc_result *res, struct dw_diag *diag)
{
	memset(res, 0, sizeof(*res));
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		int e = errno;
		for (int k = 0; k < 2; k++) {
			if (outp[k] >= 0)
				close(outp[k]);
		}
		return dw_diag_set(diag, DW_EIO, "pipe: %s", strerror(e));
	}
	struct dw_proc_spec s = *spec;
	s.out_fd = outp[1];
	s.err_fd = errp[1];
	struct dw_proc p;
	int ret = dw_proc_start(&s, &p, diag);
	close(outp[1]);
	close(errp[1]);
	if (ret != DW_OK) {
		close(outp[0]);
		close(errp[0]);
		return ret;
	}

	long long deadline = now_ms() + limit_ms;
	long long hard = 0;          /* after a stop: when to kill the supervisor */
	long long drain = 0;         /* after the end: how long to wait for EOF */
	bool killed = false;
	struct pollfd pfd[3] = { { .fd = outp[0], .events = POLLIN },
	                         { .fd = errp[0], .events = POLLIN },
	                         { .fd = p.pidfd, .events = POLLIN } };
	for (;;) {
		long long now = now_ms();
		if (res->ended) {
			/* The tree is gone: the pipes end as soon as what is
			 * buffered is read (unless a copy is held elsewhere). */
			if ((pfd[0].fd < 0 && pfd[1].fd < 0) || now >= drain)
				break;
		} else if (!p.stopped && now >= deadline) {
			res->timed_out = true;
			dw_proc_stop(&p);
			hard = now + STOP_GRACE_MS;
		} else if (p.stopped && !killed && now >= hard) {
			dw_proc_kill(&p);
			killed = true;
			hard = now + STOP_GRACE_MS;
		} else if (killed && now >= hard) {
			break;   /* not even SIGKILL ended it: stop waiting */
		}
		long long until = res->ended ? drain : p.stopped ? hard : deadline;
		long long left = until > now ? until - now : 0;
		int pr = poll(pfd, 3, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno != EINTR && !p.stopped) {
			dw_proc_stop(&p);
			hard = now_ms() + STOP_GRACE_MS;
		}
		for (int k = 0; k < 2 && pr > 0; k++) {
			if (pfd[k].fd < 0 || pfd[k].revents == 0)
				continue;
			char tmp[1024];
			ssize_t n = read(pfd[k].fd, tmp, sizeof(tmp));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				pfd[k].fd = -1;
				continue;
			}
			char *dst = k == 0 ? out : err;
			size_t cap = k == 0 ? out_cap : err_cap;
			size_t *len = k == 0 ? &res->out_len : &res->err_len;
			size_t take = (size_t)n <= cap - *len ? (size_t)n : cap - *len;
			memcpy(dst + *len, tmp, take);
			*len += take;
			if (k == 0 && take < (size_t)n && !res->too_long) {
				res->too_long = true;
				if (!p.stopped) {
					dw_proc_stop(&p);
					hard = now_ms() + STOP_GRACE_MS;
				}
			}
		}
		if (pr > 0 && pfd[2].fd >= 0 && pfd[2].revents != 0 &&
		    dw_proc_reap(&p, &res->status) == 1) {
			res->ended = true;
			pfd[2].fd = -1;
			drain = now_ms() + STOP_GRACE_MS;
		}
	}
	close(outp[0]);
	close(errp[0]);
	dw_proc_release(&p, 0);
	return DW_OK;
}
