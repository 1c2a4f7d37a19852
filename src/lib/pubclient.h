/* Starting a publisher and handing it jobs: the client side of
 * lib/pubproto.h, used by the resident dnsward (daemon/pool.c) and by the
 * one-shot commands that need the network (update, acme).
 *
 * The publisher is its own program (src/publisher), installed as
 * DW_PUBLISHER_PATH; $DNSWARD_PUBLISHER (an absolute path) overrides it
 * for tests and development.  dw_pub_new() opens it (O_PATH) before the
 * caller drops privileges and enters its system-call filter, and every
 * publisher is executed through that descriptor (execveat): a process that
 * can no longer reach the path, or whose filter allows no other program
 * (lib/sandbox.h dw_sandbox_enter_parent), still starts exactly this one,
 * and a running daemon keeps starting the publisher of its own version
 * even after a package upgrade replaced the file.
 *
 * A publisher starts on demand (or ahead of time, dw_pub_prestart), with a
 * socketpair as its descriptor 3, stdin/stdout/stderr shared, the
 * environment minus systemd's notification and socket-activation
 * variables, every signal unblocked, and dies with its parent
 * (PR_SET_PDEATHSIG).  Jobs are answered in any order; they run on a few
 * threads of the publisher.  When nothing is in flight for idle_ms the
 * client closes the socket and the publisher exits.
 *
 * Failures come back as failed jobs (lib/job.h), never lost: a publisher
 * that exits or is killed before answering, answers with a malformed or
 * unexpected frame (it is killed), or gives no answer within the budget
 * of the jobs it holds (dw_job_budget_ms, counted from its last answer:
 * it is killed).  Each such event is logged once, with how the process
 * ended (a SIGSYS means its filter refused a system call).
 *
 * Non-blocking except dw_pub_wait_one().  The caller's loop watches
 * dw_pub_fd() (an epoll set of the socket, the pidfds, two timers and an
 * eventfd) and calls dw_pub_io() when it is readable.  Single-threaded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/error.h"
#include "lib/job.h"

#define DW_PUB_IDLE_DEFAULT_MS 10000u   /* "publisher-idle" default */
#define DW_PUB_PRESTART_MS 5000u        /* a publisher started ahead waits this long */

struct dw_pub;

struct dw_pub_opts {
	uint32_t idle_ms;   /* close a publisher with nothing in flight after this;
	                     * 0: once its last job is answered */
	bool seccomp;       /* the publisher installs its own filter */
	bool spawn;         /* jobs run programs (cmd: sources): the publisher's
	                     * filter must let them (the denylist) */
};

/* Options from a configuration: publisher-idle, seccomp, cmd: sources. */
void dw_pub_opts_from(const struct dw_config *cfg, struct dw_pub_opts *o);

/* Opens the publisher's executable; no process is started yet.  Returns
 * 0, or DW_EIO with diag (the file is missing or not executable). */
int dw_pub_new(const struct dw_pub_opts *o, struct dw_pub **out, struct dw_diag *diag);

/* Ends the publishers and reaps them: an idle one is closed and gets a
 * few seconds to exit, one with jobs in flight is killed.  Returns every
 * job still held (those in flight failed), linked by next, for the caller
 * to free.  NULL is fine. */
struct dw_job *dw_pub_free(struct dw_pub *p);

/* New options for the next publisher; a running one with other filter
 * flags is closed once idle.  Call after a reload. */
void dw_pub_set_opts(struct dw_pub *p, const struct dw_pub_opts *o);

/* The descriptor of the executable: for dw_sandbox_enter_parent(). */
int dw_pub_exec_fd(const struct dw_pub *p);

/* The one descriptor the caller watches (readable: call dw_pub_io). */
int dw_pub_fd(const struct dw_pub *p);

/* Starts a publisher now unless one runs, so that its start-up overlaps
 * a wait (the daemon's debounce).  Failures are logged, not returned: the
 * next submit tries again and fails its job. */
void dw_pub_prestart(struct dw_pub *p);

/* Sends j (kind and inputs set) with what it needs from cfg.  Never
 * fails: a job that cannot be sent comes back failed.  The client holds j
 * until dw_pub_take() or dw_pub_wait_one() returns it. */
void dw_pub_submit(struct dw_pub *p, const struct dw_config *cfg, struct dw_job *j);

/* Does what is ready: writes, reads and decodes answers, reaps, enforces
 * deadlines, closes an idle publisher.  Never blocks. */
void dw_pub_io(struct dw_pub *p);

/* Every finished job, linked by next (in no particular order), or NULL. */
struct dw_job *dw_pub_take(struct dw_pub *p);

/* Blocks until a job finishes and returns it (next is NULL); NULL when
 * the client holds no job. */
struct dw_job *dw_pub_wait_one(struct dw_pub *p);

/* Jobs submitted and not yet taken. */
size_t dw_pub_held(const struct dw_pub *p);

/* The pid of the running publisher, 0 when none (status, tests). */
int dw_pub_pid(const struct dw_pub *p);
