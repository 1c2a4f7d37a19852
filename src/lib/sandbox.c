/* Confinement: privilege drop and seccomp (see sandbox.h for the order). */
#include "lib/sandbox.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#if defined(DW_HAVE_SECCOMP)
#include <sched.h>
#include <seccomp.h>
#endif

/* Sanitizer runtimes make system calls of their own (LeakSanitizer stops
 * the world at exit with ptrace from a cloned tracer task).  Those builds
 * are for tests only: they get the calls added below, marked as such. */
#if defined(__SANITIZE_ADDRESS__)
#define DW_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DW_SANITIZER_BUILD 1
#endif
#endif

/* ---- Configuration --------------------------------------------------------- */

static int conf_name(struct dw_conf_ctx *ctx, const char *key, char *out, size_t cap)
{
	const char *v = dw_conf_get(ctx, key);
	if (v == NULL)
		return DW_OK;
	size_t n = strlen(v);
	if (n == 0 || n >= cap)
		return dw_conf_error(ctx, key, "'%s' is not a user or group name", v);
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return dw_conf_error(ctx, key, "'%s' is not a user or group name", v);
	}
	memcpy(out, v, n + 1);
	return DW_OK;
}

int dw_sandbox_conf(struct dw_config *cfg, struct dw_conf_ctx *ctx)
{
	int ret = conf_name(ctx, "user", cfg->user, sizeof(cfg->user));
	if (ret == DW_OK)
		ret = conf_name(ctx, "group", cfg->group, sizeof(cfg->group));
	if (ret != DW_OK)
		return ret;
	if (cfg->group[0] != '\0' && cfg->user[0] == '\0')
		return dw_conf_error(ctx, "group", "only with user = NAME");
	if (cfg->user[0] != '\0') {
		struct passwd *pw = getpwnam(cfg->user);
		if (pw == NULL)
			return dw_conf_error(ctx, "user", "no such user '%s'", cfg->user);
		if (pw->pw_uid == 0)
			return dw_conf_error(ctx, "user", "'%s' is root: name an unprivileged user",
			                     cfg->user);
	}
	if (cfg->group[0] != '\0') {
		struct group *gr = getgrnam(cfg->group);
		if (gr == NULL)
			return dw_conf_error(ctx, "group", "no such group '%s'", cfg->group);
		if (gr->gr_gid == 0)
			return dw_conf_error(ctx, "group", "'%s' is root's group: name another",
			                     cfg->group);
	}
	return dw_conf_bool(ctx, "seccomp", true, &cfg->seccomp);
}

bool dw_sandbox_config_spawns(const struct dw_config *cfg)
{
	for (size_t i = 0; i < cfg->nrecords; i++) {
		if (cfg->records[i]->on_change[0] != '\0')
			return true;   /* the daemon's on-change hooks */
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (cfg->records[i]->src[f].kind == DW_SRC_CMD)
				return true;
		}
	}
	return false;
}

uid_t dw_sandbox_run_uid(const struct dw_config *cfg)
{
	if (geteuid() == 0 && cfg->user[0] != '\0') {
		struct passwd *pw = getpwnam(cfg->user);
		if (pw != NULL)
			return pw->pw_uid;
	}
	return geteuid();
}

/* ---- Privileges ------------------------------------------------------------ */

/* Effective, permitted and inheritable sets all empty. */
static bool caps_all_zero(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	for (int i = 0; i < 2; i++) {
		if (data[i].effective != 0 || data[i].permitted != 0 || data[i].inheritable != 0)
			return false;
	}
	return true;
}

/* Capabilities the kernel knows: PR_CAPBSET_READ fails past the last. */
static int cap_count(void)
{
	int n = 0;
	while (n < 64 && prctl(PR_CAPBSET_READ, (unsigned long)n, 0, 0, 0) >= 0)
		n++;
	return n;
}

/* Empties the calling thread's bounding set (needs CAP_SETPCAP: before
 * setresuid) and the ambient set.  The bounding set is per thread and
 * inherited at thread creation: callers drop before starting threads. */
static int clear_bounding_set(struct dw_diag *diag)
{
	int n = cap_count();
	for (int c = 0; c < n; c++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) != 0)
			return dw_diag_set(diag, DW_EIO, "PR_CAPBSET_DROP(%d): %s", c, strerror(errno));
	}
	/* EINVAL: a kernel without ambient capabilities has none to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return dw_diag_set(diag, DW_EIO, "PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
	return DW_OK;
}

static bool bounding_set_empty(void)
{
	int n = cap_count();
	for (int c = 0; c < n; c++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) != 0)
			return false;
	}
	return n > 0;
}

/* Threads of this process, from /proc/self/status; -1 when unknown. */
static long thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return -1;
	char line[256];
	long n = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Threads:", 8) == 0) {
			n = strtol(line + 8, NULL, 10);
			break;
		}
	}
	fclose(f);
	return n;
}

int dw_sandbox_drop(const char *user, const char *group, struct dw_diag *diag)
{
	if (geteuid() != 0 && getuid() != 0) {
		if (user != NULL && user[0] != '\0')
			log_debug("not started as root: user = %s has nothing to drop", user);
		return DW_OK;
	}
	if (user == NULL || user[0] == '\0') {
		log_info("running as root: set [dnsward] user = NAME to drop privileges");
		return DW_OK;
	}
	/* Looked up now, while files of the system are still readable. */
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		return dw_diag_set(diag, DW_EIO, "cannot drop privileges: no such user '%s'", user);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);
		if (gr == NULL)
			return dw_diag_set(diag, DW_EIO, "cannot drop privileges: no such group '%s'",
			                   group);
		gid = gr->gr_gid;
	}
	if (uid == 0 || gid == 0)
		return dw_diag_set(diag, DW_EIO, "refusing to run as root's user or group");

	/* The capability bounding set is per thread: a thread started earlier
	 * would keep it.  The programs drop before starting any. */
	long threads = thread_count();
	if (threads > 1)
		return dw_diag_set(diag, DW_EIO, "cannot drop privileges: %ld threads already run "
		                   "(a bug: the drop must come first)", threads);

	/* Order matters: groups, gid and the bounding set need root, which
	 * setresuid gives up. */
	if (setgroups(0, NULL) != 0)
		return dw_diag_set(diag, DW_EIO, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) != 0)
		return dw_diag_set(diag, DW_EIO, "setresgid(%u): %s", (unsigned)gid, strerror(errno));
	int ret = clear_bounding_set(diag);
	if (ret != DW_OK)
		return ret;
	if (setresuid(uid, uid, uid) != 0)
		return dw_diag_set(diag, DW_EIO, "setresuid(%u): %s", (unsigned)uid, strerror(errno));
	/* setresuid empties the permitted and effective sets; the inheritable
	 * set stays unless emptied (always allowed: it only shrinks). */
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct none[2];
	memset(none, 0, sizeof(none));
	if (syscall(SYS_capset, &hdr, none) != 0)
		return dw_diag_set(diag, DW_EIO, "capset: %s", strerror(errno));

	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return dw_diag_set(diag, DW_EIO, "privileges not fully dropped (ids differ)");
	if (getgroups(0, NULL) != 0)
		return dw_diag_set(diag, DW_EIO, "privileges not fully dropped (groups remain)");
	if (setresuid((uid_t)-1, 0, (uid_t)-1) == 0 || setegid(0) == 0)
		return dw_diag_set(diag, DW_EIO, "privileges not fully dropped (root regained)");
	if (!caps_all_zero())
		return dw_diag_set(diag, DW_EIO, "privileges not fully dropped (capabilities remain)");
	if (!bounding_set_empty())
		return dw_diag_set(diag, DW_EIO,
		                   "privileges not fully dropped (capability bounding set not empty)");
	log_info("dropped privileges to user %s (uid %u, gid %u)", user, (unsigned)uid,
	         (unsigned)gid);
	return DW_OK;
}

int dw_sandbox_no_caps(struct dw_diag *diag)
{
	/* The bounding set needs CAP_SETPCAP to shrink: only root has it. */
	for (int c = 0; c < 64; c++) {
		int in = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);
		if (in < 0)
			break;   /* past the last capability the kernel knows */
		if (in == 1 && prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) != 0 && errno != EPERM)
			return dw_diag_set(diag, DW_EIO, "PR_CAPBSET_DROP(%d): %s", c, strerror(errno));
	}
	/* EINVAL: a kernel without ambient capabilities has none to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return dw_diag_set(diag, DW_EIO, "PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct none[2];
	memset(none, 0, sizeof(none));
	struct __user_cap_data_struct data[2];
	for (int pass = 0; pass < 2; pass++) {
		memset(data, 0, sizeof(data));
		if (syscall(SYS_capget, &hdr, data) != 0)
			return dw_diag_set(diag, DW_EIO, "capget: %s", strerror(errno));
		bool empty = true;
		for (int i = 0; i < 2; i++)
			empty &= data[i].effective == 0 && data[i].permitted == 0 &&
			         data[i].inheritable == 0;
		if (empty)
			return DW_OK;   /* (a systemd unit's filter may refuse capset itself) */
		if (pass == 1)
			return dw_diag_set(diag, DW_EIO, "capabilities remain after capset");
		if (syscall(SYS_capset, &hdr, none) != 0)
			return dw_diag_set(diag, DW_EIO, "capset: %s", strerror(errno));
	}
	return DW_OK;
}

/* ---- seccomp ---------------------------------------------------------------- */

bool dw_sandbox_seccomp_available(void)
{
#if defined(DW_HAVE_SECCOMP)
	return true;
#else
	return false;
#endif
}

#if defined(DW_HAVE_SECCOMP)

/* What dnsward itself calls: the C library, libcurl with OpenSSL, ldns,
 * libmnl, libsodium, and the daemon's event loop. */
static const char *const allow_plain[] = {
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mlock", "munlock", "mlock2",
	/* threads and time */
	"futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "sched_yield",
	"sched_getaffinity", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
	"gettimeofday", "time", "getrandom", "membarrier",
	/* identity and limits (reading) */
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
	"getresgid", "getgroups", "uname", "sysinfo", "getrlimit", "prlimit64", "capget",
	/* signals and exit */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
	"restart_syscall", "tgkill", "exit", "exit_group",
	/* files: configuration, secrets, CA bundles, state (atomic rename), status socket */
	"openat", "open", "close", "read", "write", "readv", "writev", "pread64", "pwrite64",
	"lseek", "fstat", "newfstatat", "stat", "lstat", "statx", "fstatfs", "statfs", "access",
	"faccessat", "faccessat2", "fcntl", "dup", "dup2", "dup3", "pipe", "pipe2", "fsync",
	"fdatasync", "rename", "renameat", "renameat2", "unlink", "unlinkat", "readlink",
	"readlinkat", "getcwd", "ftruncate", "umask", "fchmod", "fchmodat", "getdents64",
	"fadvise64", "close_range", "flock", "mkdir", "mkdirat", "chmod",
	/* sockets (domains are checked below) */
	"connect", "bind", "listen", "accept", "accept4", "getsockname", "getpeername",
	"setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "shutdown",
	/* waiting: poll and the daemon's descriptors */
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "signalfd", "signalfd4", "eventfd", "eventfd2",
	NULL,
};

/* DW_SANDBOX_SERVER (dnsward-gateway) adds these to the allowlist.  The
 * rest of what SQLite (pread64/pwrite64, fcntl locks, the WAL index in a
 * shared mapping, fdatasync) and libmicrohttpd with GnuTLS (a thread per
 * connection, accept4, pselect6, eventfd2) call is in allow_plain already;
 * thread names are allowed separately (prctl PR_SET_NAME only). */
static const char *const allow_server[] = {
	"fallocate",   /* SQLite growing a file */
	"fchown",      /* SQLite, when root: new WAL files get the database's owner */
	NULL,
};

/* DW_SANDBOX_PUBLISHER takes these out of the plain allowlist: the
 * publisher writes no file (opening one for writing fails with EACCES,
 * see below), listens on nothing and keeps no timer or signal of its own. */
static const char *const publisher_drop[] = {
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "chmod",
	"fchmod", "fchmodat", "ftruncate", "fsync", "fdatasync", "flock", "umask", "pwrite64",
	"listen", "accept", "accept4", "open", "openat", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "signalfd", "signalfd4",
	NULL,
};

/* A process starting publishers (dw_sandbox_enter_parent) adds these:
 * reaping and stopping its child through a pidfd, and what the child does
 * under this inherited filter before adding its own: the dynamic loader's
 * thread pointer, dropping capabilities, installing a filter. */
static const char *const allow_parent[] = {
	"wait4", "waitid", "pidfd_open", "pidfd_send_signal", "kill", "arch_prctl", "capset",
	"seccomp", "setrlimit",
	NULL,
};

#if !defined(DW_SANITIZER_BUILD)
/* prctl options the parent's child uses (the sanitizer build allows all). */
static const int parent_prctl[] = {
	PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_SET_DUMPABLE,
	PR_GET_DUMPABLE, PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_GET_SECCOMP,
	PR_SET_SECCOMP,
};
#endif

#if defined(DW_SANITIZER_BUILD)
/* Test builds only: what the AddressSanitizer/LeakSanitizer runtime adds. */
static const char *const allow_sanitizer[] = {
	"ptrace", "prctl", "wait4", "waitid", "kill", "clone", "sched_getparam", "getdents",
	"process_vm_readv", NULL,
};
#endif

/* Spawning mode: calls refused (EPERM) to dnsward and every program it runs. */
static const char *const deny_spawn[] = {
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "ptrace", "process_vm_readv",
	"process_vm_writev", "kcmp", "pidfd_getfd", "kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "bpf",
	"perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "acct",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
	"setdomainname", "iopl", "ioperm", "open_by_handle_at", "name_to_handle_at", "quotactl",
	"unshare", "setns", "lookup_dcookie", "vhangup", "fanotify_init", "syslog", "uselib",
	"personality", "nfsservctl", "_sysctl", "io_uring_setup", "io_uring_enter",
	"io_uring_register", NULL,
};

static bool listed(const char *name, const char *const *list)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		if (strcmp(list[i], name) == 0)
			return true;
	}
	return false;
}

/* names, except those in skip (may be NULL), with action. */
static int add_names_except(scmp_filter_ctx ctx, uint32_t action, const char *const *names,
                            const char *const *skip)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		if (listed(names[i], skip))
			continue;
#if defined(DW_SANITIZER_BUILD)
		/* Test builds only: LeakSanitizer ptraces its own threads at exit. */
		if (action != SCMP_ACT_ALLOW && (strcmp(names[i], "ptrace") == 0 ||
		                                 strcmp(names[i], "process_vm_readv") == 0))
			continue;
#endif
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;   /* not on this architecture */
		int r = seccomp_rule_add(ctx, action, nr, 0);
		if (r != 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

static int add_names(scmp_filter_ctx ctx, uint32_t action, const char *const *names)
{
	return add_names_except(ctx, action, names, NULL);
}

/* An argument comparison with every field set: libseccomp's SCMP_An()
 * macros leave datum_b out, which clang reports under -Wextra. */
static struct scmp_arg_cmp arg_eq(unsigned int arg, scmp_datum_t value)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0 };
	return c;
}

static struct scmp_arg_cmp arg_masked(unsigned int arg, scmp_datum_t mask, scmp_datum_t value)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask,
	                          .datum_b = value };
	return c;
}

/* The publisher's opens: read-only ones pass, a write, create, truncate or
 * append fails with EACCES (a library's attempt is refused, not fatal). */
static int add_read_only_opens(scmp_filter_ctx ctx)
{
	static const scmp_datum_t bits[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND };
	const scmp_datum_t all = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
	static const struct { int nr; unsigned arg; } opens[] = {
		{ SCMP_SYS(openat), 2 }, { SCMP_SYS(open), 1 },
	};
	int r = 0;
	for (size_t o = 0; o < sizeof(opens) / sizeof(opens[0]) && r == 0; o++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, opens[o].nr, 1,
		                     arg_masked(opens[o].arg, all, 0));
		for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]) && r == 0; b++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), opens[o].nr, 1,
			                     arg_masked(opens[o].arg, bits[b], bits[b]));
	}
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(creat), 0);
	if (r == 0)   /* its flags are in memory: ENOSYS sends callers back to openat */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
	return r;
}

/* What a parent of publishers adds (see allow_parent): fork as the C
 * library does it, and executing exec_fd only. */
static int add_parent(scmp_filter_ctx ctx, int exec_fd)
{
	int r = add_names(ctx, SCMP_ACT_ALLOW, allow_parent);
#if !defined(DW_SANITIZER_BUILD)
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		                     arg_eq(0, (scmp_datum_t)(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID |
		                                              SIGCHLD)));
	for (size_t i = 0; i < sizeof(parent_prctl) / sizeof(parent_prctl[0]) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		                     arg_eq(0, (scmp_datum_t)parent_prctl[i]));
#endif
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execveat), 2,
		                     arg_eq(0, (scmp_datum_t)exec_fd),
		                     arg_eq(4, (scmp_datum_t)AT_EMPTY_PATH));
	return r;
}

static int build_allowlist(scmp_filter_ctx ctx, unsigned flags, int exec_fd)
{
	bool server = (flags & DW_SANDBOX_SERVER) != 0;
	bool publisher = (flags & DW_SANDBOX_PUBLISHER) != 0;
	int r = add_names_except(ctx, SCMP_ACT_ALLOW, allow_plain,
	                         publisher ? publisher_drop : NULL);
	if (r == 0 && publisher)
		r = add_read_only_opens(ctx);
	if (r == 0 && exec_fd >= 0)
		r = add_parent(ctx, exec_fd);
	if (r == 0 && server)
		r = add_names(ctx, SCMP_ACT_ALLOW, allow_server);
#if !defined(DW_SANITIZER_BUILD)
	/* Thread names (libmicrohttpd names its threads); the sanitizer build
	 * allows every prctl below. */
	if (r == 0 && server)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		                     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)PR_SET_NAME));
	/* The gateway asks whether an instance's process still exists
	 * (gw_cluster): signal 0 only, which delivers nothing. */
	if (r == 0 && server)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		                     arg_eq(1, (scmp_datum_t)0));
#endif
#if defined(DW_SANITIZER_BUILD)
	if (r == 0)
		r = add_names(ctx, SCMP_ACT_ALLOW, allow_sanitizer);
#endif
	if (r != 0)
		return r;
	/* Sockets of the families the systemd unit allows; netlink only for
	 * routing (addresses and links). */
	static const int domains[] = { AF_UNIX, AF_INET, AF_INET6 };
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]) && r == 0; i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                     arg_eq(0, (scmp_datum_t)domains[i]));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
			                     arg_eq(0, (scmp_datum_t)domains[i]));
	}
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		                     arg_eq(0, (scmp_datum_t)AF_NETLINK),
		                     arg_eq(2, (scmp_datum_t)0 /* NETLINK_ROUTE */));
#if !defined(DW_SANITIZER_BUILD)
	/* Threads only: a new process would need an exec we do not allow. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		                     SCMP_A0(SCMP_CMP_MASKED_EQ, (scmp_datum_t)CLONE_THREAD,
		                             (scmp_datum_t)CLONE_THREAD));
#endif
	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
	 * the C library fall back to clone, whose flags are checked above. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Terminal probes of stdio, non-blocking switches, and interface
	 * name/index lookups (if_indextoname, if_nametoindex) only. */
	static const unsigned long ioctls[] = { TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, SIOCGIFNAME,
	                                        SIOCGIFINDEX };
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		                     arg_eq(1, (scmp_datum_t)ioctls[i]));
	return r;
}

static int install(unsigned flags, int exec_fd, struct dw_diag *diag)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return dw_diag_set(diag, DW_EIO, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	bool spawn = (flags & DW_SANDBOX_SPAWN) != 0;
	scmp_filter_ctx ctx = seccomp_init(spawn ? SCMP_ACT_ALLOW : SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		return dw_diag_set(diag, DW_EIO, "seccomp: cannot create a filter");
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = spawn ? add_names(ctx, SCMP_ACT_ERRNO(EPERM), deny_spawn)
		          : build_allowlist(ctx, flags, exec_fd);

	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0)
		return dw_diag_set(diag, DW_EIO, "seccomp: cannot install the filter: %s",
		                   strerror(-r));
	log_debug("seccomp %s installed", spawn ? "denylist (programs are run)" :
	          (flags & DW_SANDBOX_SERVER) != 0 ? "allowlist (server)" :
	          (flags & DW_SANDBOX_PUBLISHER) != 0 ? "allowlist (publisher)" :
	          exec_fd >= 0 ? "allowlist (starts publishers)" : "allowlist");
	return DW_OK;
}

int dw_sandbox_seccomp(unsigned flags, struct dw_diag *diag)
{
	return install(flags, -1, diag);
}

#else /* !DW_HAVE_SECCOMP */

static int install(unsigned flags, int exec_fd, struct dw_diag *diag)
{
	(void)flags;
	(void)exec_fd;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return dw_diag_set(diag, DW_EIO, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	log_debug("seccomp: not available in this build (no libseccomp)");
	return DW_OK;
}

int dw_sandbox_seccomp(unsigned flags, struct dw_diag *diag)
{
	return install(flags, -1, diag);
}

#endif

static int enter(const struct dw_config *cfg, unsigned flags, int exec_fd, struct dw_diag *diag)
{
	int ret = dw_sandbox_drop(cfg->user, cfg->group, diag);
	if (ret != DW_OK)
		return ret;
	if (!cfg->seccomp) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			return dw_diag_set(diag, DW_EIO, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return DW_OK;
	}
	if (dw_sandbox_config_spawns(cfg))
		flags |= DW_SANDBOX_SPAWN;
	return install(flags, exec_fd, diag);
}

int dw_sandbox_enter(const struct dw_config *cfg, unsigned flags, struct dw_diag *diag)
{
	return enter(cfg, flags, -1, diag);
}

int dw_sandbox_enter_parent(const struct dw_config *cfg, unsigned flags, int exec_fd,
                            struct dw_diag *diag)
{
	return enter(cfg, flags, exec_fd, diag);
}
