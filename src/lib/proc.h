/* Programs dnsward starts (cmd: sources, on-change hooks), contained.
 *
 * Every program is started through a supervisor: a forked copy of dnsward
 * that makes itself a child subreaper (PR_SET_CHILD_SUBREAPER) and then
 * starts the program.  Whatever the program starts stays below the
 * supervisor, even after setsid(), a double fork or a move into another
 * process group: orphans are re-parented to it, never to init.  The
 * supervisor ends the whole tree (SIGKILL to the program's group, the
 * program and, until none is left, every process re-parented to it)
 *   - as soon as the program has exited: nothing it started outlives it;
 *   - when told to stop (dw_proc_stop: a time limit), and
 *   - when dnsward itself ends (PR_SET_PDEATHSIG), killed or not;
 * then it ends the way the program ended (same exit status or signal), so
 * its status reads as the program's.
 *
 * The program gets a fixed argv and environment, fds 0-2 only (stdin
 * /dev/null; stdout and stderr as the caller says; everything else closed
 * with close_range), default signal dispositions and an empty signal mask,
 * its own process group, "/" as working directory, and dnsward's
 * credentials, seccomp filter and no-new-privileges.  Before each start the
 * program is checked again (lib/trust.h) and the checked, resolved path is
 * what runs.
 *
 * Waiting never blocks: the caller watches a pidfd (poll or epoll) with its
 * own deadline, or uses dw_proc_run(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

struct dw_proc_spec {
	const char *path;            /* absolute path of the program (checked) */
	char *const *argv;           /* NULL-terminated; argv[0] as given */
	char *const *envp;           /* NULL-terminated: the whole environment */
	int out_fd;                  /* the program's stdout, or -1 for /dev/null */
	int err_fd;                  /* its stderr, or -1 for /dev/null */
};

struct dw_proc {
	pid_t pid;                   /* the supervisor; -1 when none */
	int pidfd;                   /* readable once the supervisor, and with it
	                              * every process of the tree, has ended */
	bool stopped;                /* dw_proc_stop() was called */
};

/* Checks the program (uid: the effective one) and starts it under a
 * supervisor.  Returns 0 with p filled, or an error with diag (the program
 * is untrusted, or fork/pidfd failed).  spec's descriptors stay the
 * caller's. */
int dw_proc_start(const struct dw_proc_spec *spec, struct dw_proc *p, struct dw_diag *diag);

/* Ends the program and everything it started, now (SIGTERM to the
 * supervisor, which SIGKILLs the tree and then ends by SIGKILL itself).
 * The pidfd reports the end. */
void dw_proc_stop(struct dw_proc *p);

/* Last resort when the supervisor does not end after dw_proc_stop (it
 * always should): SIGKILL to the supervisor itself. */
void dw_proc_kill(struct dw_proc *p);

/* Collects the end without blocking: 1 with *status as from waitpid() (the
 * program's), 0 while still running, -1 on error.  After 1, p->pid is -1. */
int dw_proc_reap(struct dw_proc *p, int *status);

/* Closes the pidfd.  A supervisor still running is stopped and, if it
 * ended within grace_ms, reaped; otherwise left to end on its own. */
void dw_proc_release(struct dw_proc *p, unsigned grace_ms);

/* One synchronous run with a deadline: starts spec's program with stdout
 * and stderr captured (spec's out_fd/err_fd are ignored), reads up to
 * out_cap bytes of stdout into out and err_cap bytes of stderr into err,
 * and waits for the end; at limit_ms, or when stdout exceeds out_cap, the
 * tree is stopped.  The wait itself is bounded: a supervisor that does not
 * end within a grace period after the stop is killed. */
struct dw_proc_result {
	int status;                  /* as from waitpid(), when ended */
	bool ended;                  /* status is valid */
	bool timed_out;              /* stopped at limit_ms */
	bool too_long;               /* stopped: stdout exceeded out_cap */
	size_t out_len, err_len;
};
int dw_proc_run(const struct dw_proc_spec *spec, uint32_t limit_ms, char *out, size_t out_cap,
                char *err, size_t err_cap, struct dw_proc_result *res, struct dw_diag *diag);
