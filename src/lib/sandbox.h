/* Confinement: dropping root and a seccomp system-call filter.
 *
 * Order in a program (dnsward update, dnsward run):
 *   1. load the configuration and every secret (may need root to read);
 *   2. open what needs privilege (nothing today: netlink needs none);
 *   3. dw_sandbox_enter(): drop to [dnsward] user/group when root, set
 *      PR_SET_NO_NEW_PRIVS, then install the seccomp filter.
 *
 * Two filters exist.  Without programs to run, an allowlist of what dnsward
 * itself calls (anything else kills the process).  With programs to run
 * (cmd: sources, hooks), they would inherit the filter and their needs are
 * unknown, so a denylist instead: calls no updater or script of ours needs
 * (mount, ptrace, module loading, kexec, bpf, keyrings, namespaces, clock
 * and host settings, ...) fail with EPERM, for dnsward and its children.
 *
 * Without libseccomp at build time the filter is a no-op that says so. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/config.h"
#include "lib/error.h"

enum dw_sandbox_flags {
	DW_SANDBOX_SPAWN = 0x1,   /* programs will be run: denylist, not allowlist */
	DW_SANDBOX_SERVER = 0x2,  /* the allowlist plus what dnsward-gateway's server
	                           * needs: thread names (prctl PR_SET_NAME only) and
	                           * SQLite's file calls; ignored with SPAWN */
	DW_SANDBOX_PUBLISHER = 0x4, /* the publisher's own allowlist, narrower than
	                           * the plain one: files only opened for reading
	                           * (others fail with EACCES), nothing renamed,
	                           * removed or created, no listening socket, no new
	                           * process; ignored with SPAWN */
};

/* Reads [dnsward] user, group and seccomp into cfg (config.c calls it).
 * An unknown user or group is a configuration error. */
int dw_sandbox_conf(struct dw_config *cfg, struct dw_conf_ctx *ctx);

/* True when cfg runs programs (a cmd: source). */
bool dw_sandbox_config_spawns(const struct dw_config *cfg);

/* The uid programs will run as: cfg's user when started as root with one
 * (the drop comes before any program starts), else the effective uid. */
uid_t dw_sandbox_run_uid(const struct dw_config *cfg);

/* When running as root and user is set: setgroups (none), setresgid, an
 * empty capability bounding set and no ambient capabilities, setresuid to
 * user (group: its primary group unless given), an empty inheritable set;
 * then checks with getresuid/getresgid/getgroups, capget and
 * PR_CAPBSET_READ that nothing of root is left and that root cannot be
 * regained.  The bounding set is per thread: call it before starting any
 * thread (more than one running is refused).  Not root: nothing to do.
 * Root without a user: a warning.  Returns 0 or DW_EIO with diag. */
int dw_sandbox_drop(const char *user, const char *group, struct dw_diag *diag);

/* PR_SET_NO_NEW_PRIVS, then the filter for flags.  Returns 0, or DW_EIO
 * with diag when the kernel refused.  Threads started before are covered
 * (the filter is synchronised to all threads). */
int dw_sandbox_seccomp(unsigned flags, struct dw_diag *diag);

/* dw_sandbox_drop() with cfg's user/group, then dw_sandbox_seccomp() when
 * cfg->seccomp (flags |= DW_SANDBOX_SPAWN when the configuration runs
 * programs; the daemon adds it for hooks). */
int dw_sandbox_enter(const struct dw_config *cfg, unsigned flags, struct dw_diag *diag);

/* dw_sandbox_enter() for a process that starts publishers (dnsward run,
 * update and acme; lib/pubclient.h).  Filters are inherited across fork
 * and exec, so the allowlist also lets this process fork and execute the
 * one program open at exec_fd (execveat with AT_EMPTY_PATH: no other
 * program, no path), watch and stop it through its pidfd, and lets that
 * program shed its capabilities and add its own, narrower filter. */
int dw_sandbox_enter_parent(const struct dw_config *cfg, unsigned flags, int exec_fd,
                            struct dw_diag *diag);

/* A process that needs no privilege (the publisher): empties the
 * capability bounding set when it can (root), the ambient, inheritable,
 * permitted and effective sets, and checks they are empty.  Call before
 * starting threads (the bounding set is per thread).  0 or DW_EIO. */
int dw_sandbox_no_caps(struct dw_diag *diag);

/* True when this build can filter system calls. */
bool dw_sandbox_seccomp_available(void);
