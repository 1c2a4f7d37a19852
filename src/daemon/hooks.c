/* On-change hooks: posix_spawn, then a pidfd and a kill timer per child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/hooks.h"
#include "lib/log.h"

struct hook {
	pid_t pid;
	int pidfd;
	struct dw_timer *kill_timer;
	char what[300];
	struct dmn_hooks *hs;
};

struct dmn_hooks {
	struct dw_loop *loop;
	struct hook *run[DMN_HOOKS_MAX];
};

struct dmn_hooks *dmn_hooks_new(struct dw_loop *loop)
{
	struct dmn_hooks *hs = calloc(1, sizeof(*hs));
	if (hs != NULL)
		hs->loop = loop;
	return hs;
}

static void hook_free(struct hook *h)
{
	struct dmn_hooks *hs = h->hs;
	for (size_t i = 0; i < DMN_HOOKS_MAX; i++) {
		if (hs->run[i] == h)
			hs->run[i] = NULL;
	}
	dw_loop_del_fd(hs->loop, h->pidfd);
	close(h->pidfd);
	dw_timer_free(h->kill_timer);
	free(h);
}

void dmn_hooks_free(struct dmn_hooks *hs)
{
	if (hs == NULL)
		return;
	for (size_t i = 0; i < DMN_HOOKS_MAX; i++) {
		if (hs->run[i] != NULL)
			hook_free(hs->run[i]);   /* a hook still running is left to finish */
	}
	free(hs);
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
	            DMN_HOOK_TIMEOUT_MS / 1000);
	(void)kill(h->pid, SIGKILL);   /* the pidfd then reports its end */
}

/* Our environment may hold credentials paths: the child gets none of it. */
void dmn_hooks_run(struct dmn_hooks *hs, const struct dw_record *r, enum dw_family fam,
                   const char *old, const char *new, const char *result)
{
	if (r->on_change[0] == '\0')
		return;
	size_t slot = DMN_HOOKS_MAX;
	for (size_t i = 0; i < DMN_HOOKS_MAX; i++) {
		if (hs->run[i] == NULL) {
			slot = i;
			break;
		}
	}
	if (slot == DMN_HOOKS_MAX) {
		log_warning("%s %s: on-change not run: %d hooks still running", r->fqdn,
		            dw_family_rrtype(fam), DMN_HOOKS_MAX);
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
	h->hs = hs;
	snprintf(h->what, sizeof(h->what), "%s %s", r->fqdn, dw_family_rrtype(fam));
	h->kill_timer = dw_loop_timer_new(hs->loop, hook_timeout, h);
	if (h->kill_timer == NULL || dw_loop_add_fd(hs->loop, pidfd, EPOLLIN, hook_exited, h) != 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		if (h->kill_timer != NULL)
			dw_timer_free(h->kill_timer);
		close(pidfd);
		free(h);
		return;
	}
	dw_timer_arm(h->kill_timer, DMN_HOOK_TIMEOUT_MS);
	hs->run[slot] = h;
	log_debug("on-change %s started for %s (pid %d)", r->on_change, h->what, (int)pid);
}
