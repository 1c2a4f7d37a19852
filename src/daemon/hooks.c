/* On-change hooks: lib/proc programs watched by pidfd, with a time limit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/hooks.h"
#include "lib/log.h"
#include "lib/proc.h"

#define HOOK_KILL_GRACE_MS 3000   /* after the stop, before killing the supervisor */

struct hook {
	struct dw_proc proc;
	struct dw_timer *timer;       /* the time limit, then the kill grace */
	bool stopping;
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

static void hook_free(struct hook *h, unsigned grace_ms)
{
	struct dmn_hooks *hs = h->hs;
	for (size_t i = 0; i < DMN_HOOKS_MAX; i++) {
		if (hs->run[i] == h)
			hs->run[i] = NULL;
	}
	dw_loop_del_fd(hs->loop, h->proc.pidfd);
	dw_proc_release(&h->proc, grace_ms);
	dw_timer_free(h->timer);
	free(h);
}

void dmn_hooks_free(struct dmn_hooks *hs)
{
	if (hs == NULL)
		return;
	for (size_t i = 0; i < DMN_HOOKS_MAX; i++) {
		if (hs->run[i] != NULL)
			hook_free(hs->run[i], HOOK_KILL_GRACE_MS);   /* stopped, tree and all */
	}
	free(hs);
}

static void hook_exited(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct hook *h = arg;
	int status = 0;
	int r = dw_proc_reap(&h->proc, &status);
	if (r == 0)
		return;   /* spurious */
	if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warning("on-change for %s exited with status %d", h->what, WEXITSTATUS(status));
	else if (r > 0 && WIFSIGNALED(status))
		log_warning("on-change for %s ended by signal %d%s", h->what, WTERMSIG(status),
		            h->stopping ? " (time limit)" : "");
	else
		log_debug("on-change for %s finished", h->what);
	hook_free(h, 0);
}

static void hook_timeout(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	struct hook *h = arg;
	if (!h->stopping) {
		log_warning("on-change for %s still running after %d s: ending it and everything "
		            "it started", h->what, DMN_HOOK_TIMEOUT_MS / 1000);
		h->stopping = true;
		dw_proc_stop(&h->proc);   /* the pidfd then reports its end */
		dw_timer_arm(h->timer, HOOK_KILL_GRACE_MS);
	} else {
		dw_proc_kill(&h->proc);   /* its supervisor did not end it: never seen */
	}
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
	/* stdout and stderr: the daemon's own (the journal). */
	struct dw_proc_spec spec = { .path = r->on_change, .argv = argv, .envp = envp,
	                             .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO };

	struct hook *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		log_error("%s %s: on-change not run: out of memory", r->fqdn, dw_family_rrtype(fam));
		return;
	}
	h->hs = hs;
	snprintf(h->what, sizeof(h->what), "%s %s", r->fqdn, dw_family_rrtype(fam));
	struct dw_diag diag = { "" };
	if (dw_proc_start(&spec, &h->proc, &diag) != DW_OK) {
		log_error("%s: on-change not run: %s", h->what, diag.msg);
		free(h);
		return;
	}
	h->timer = dw_loop_timer_new(hs->loop, hook_timeout, h);
	if (h->timer == NULL ||
	    dw_loop_add_fd(hs->loop, h->proc.pidfd, EPOLLIN, hook_exited, h) != 0) {
		log_error("%s: cannot watch on-change %s: ending it", h->what, r->on_change);
		dw_proc_release(&h->proc, HOOK_KILL_GRACE_MS);
		if (h->timer != NULL)
			dw_timer_free(h->timer);
		free(h);
		return;
	}
	dw_timer_arm(h->timer, DMN_HOOK_TIMEOUT_MS);
	hs->run[slot] = h;
	log_debug("on-change %s started for %s (supervisor pid %d)", r->on_change, h->what,
	          (int)h->proc.pid);
}
