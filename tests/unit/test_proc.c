/* lib/proc: contained programs, run through /bin/sh with scripts given as
 * arguments.  Each case checks what the program saw or left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/proc.h"

static char *env_none[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };

static int run_sh(const char *script, uint32_t limit_ms, char *out, size_t cap,
                  struct dw_proc_result *res)
{
	char sh[] = "/bin/sh", c[] = "-c";
	char *s = strdup(script);
	char *const argv[] = { sh, c, s, NULL };
	struct dw_proc_spec spec = { .path = "/bin/sh", .argv = argv, .envp = env_none,
	                             .out_fd = -1, .err_fd = -1 };
	char err[256];
	struct dw_diag d = { "" };
	int ret = dw_proc_run(&spec, limit_ms, out, cap, err, sizeof(err), res, &d);
	free(s);
	out[res->out_len < cap ? res->out_len : cap - 1] = '\0';
	return ret;
}

static bool alive(long pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char buf[512];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	return rp != NULL && rp[2] != 'Z';
}

static void test_exit_status_and_output(void **state)
{
	(void)state;
	char out[128];
	struct dw_proc_result r;
	assert_int_equal(run_sh("echo hello; exit 3", 5000, out, sizeof(out), &r), DW_OK);
	assert_true(r.ended);
	assert_false(r.timed_out);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 3);
	assert_string_equal(out, "hello\n");
}

static void test_signal_is_mirrored(void **state)
{
	(void)state;
	char out[16];
	struct dw_proc_result r;
	assert_int_equal(run_sh("kill -TERM $$", 5000, out, sizeof(out), &r), DW_OK);
	assert_true(r.ended);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGTERM);
}

/* Only 0-2 are open, the working directory is /, nothing is blocked or
 * ignored, and the environment is exactly the one given. */
static void test_clean_start(void **state)
{
	(void)state;
	char out[512];
	struct dw_proc_result r;
	assert_int_equal(run_sh("ls /proc/self/fd | tr '\\n' ' '; pwd; env | sort",
	                        5000, out, sizeof(out), &r), DW_OK);
	assert_true(r.ended && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	/* ls itself opens one more (the directory it reads) */
	if (strstr(out, "0 1 2 3 /\n") == NULL ||
	    strstr(out, "LC_ALL=C\nPATH=/usr/bin:/bin\nPWD=/\n") == NULL)
		fail_msg("the program saw:\n%s", out);
	/* The signal state of the program itself, not of a shell (which may
	 * set dispositions of its own): grep started directly, while this
	 * process ignores what dnsward may inherit ignored: SIGPIPE, and
	 * signal 32, which the C library's sigaction refuses to change (a
	 * Debian package build passed it down ignored). */
	struct { void (*handler)(int); unsigned long flags; void (*restorer)(void); uint64_t mask; }
		ign = { SIG_IGN, 0, NULL, 0 }, old32;
	assert_int_equal(syscall(SYS_rt_sigaction, 32, &ign, &old32, sizeof(ign.mask)), 0);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	char grep[] = "/bin/grep", e[] = "-E", pat[] = "^Sig(Blk|Ign)", file[] = "/proc/self/status";
	char *const argv[] = { grep, e, pat, file, NULL };
	struct dw_proc_spec spec = { .path = "/bin/grep", .argv = argv, .envp = env_none,
	                             .out_fd = -1, .err_fd = -1 };
	char err[256];
	struct dw_diag d = { "" };
	int ret = dw_proc_run(&spec, 5000, out, sizeof(out), err, sizeof(err), &r, &d);
	(void)syscall(SYS_rt_sigaction, 32, &old32, NULL, sizeof(old32.mask));
	(void)signal(SIGPIPE, old_pipe);
	assert_int_equal(ret, DW_OK);
	out[r.out_len < sizeof(out) ? r.out_len : sizeof(out) - 1] = '\0';
	if (strstr(out, "SigBlk:\t0000000000000000\n") == NULL ||
	    strstr(out, "SigIgn:\t0000000000000000\n") == NULL)
		fail_msg("the program's signal state:\n%s", out);
}

/* The limit ends the program and what it started, whatever session or
 * process group they moved to. */
static void test_limit_ends_the_tree(void **state)
{
	(void)state;
	char out[128];
	struct dw_proc_result r;
	assert_int_equal(run_sh("setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!; "
	                        "sleep 60 & echo $!; exec sleep 60", 300, out, sizeof(out), &r),
	                 DW_OK);
	assert_true(r.timed_out);
	assert_true(r.ended);
	assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
	long a = 0, b = 0;
	assert_int_equal(sscanf(out, "%ld %ld", &a, &b), 2);
	assert_false(alive(a));
	assert_false(alive(b));
}

/* A program that exits leaves nothing behind either. */
static void test_exit_ends_the_rest(void **state)
{
	(void)state;
	char out[128];
	struct dw_proc_result r;
	assert_int_equal(run_sh("setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!", 5000, out,
	                        sizeof(out), &r), DW_OK);
	assert_true(r.ended && !r.timed_out);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	long a = atol(out);
	assert_true(a > 0);
	assert_false(alive(a));
}

static void test_output_cap_stops_it(void **state)
{
	(void)state;
	char out[64];
	struct dw_proc_result r;
	assert_int_equal(run_sh("yes", 5000, out, sizeof(out), &r), DW_OK);
	assert_true(r.too_long);
	assert_false(r.timed_out);
	assert_int_equal(r.out_len, sizeof(out));
}

/* An untrusted program never starts (lib/trust.h; here: not executable). */
static void test_untrusted_refused(void **state)
{
	(void)state;
	char prog[] = "/tmp/dw-test-proc-XXXXXX";
	int fd = mkstemp(prog);
	assert_true(fd >= 0);
	close(fd);
	char *const argv[] = { prog, NULL };
	struct dw_proc_spec spec = { .path = prog, .argv = argv, .envp = env_none,
	                             .out_fd = -1, .err_fd = -1 };
	struct dw_proc p;
	struct dw_diag d = { "" };
	assert_int_not_equal(dw_proc_start(&spec, &p, &d), DW_OK);
	assert_non_null(strstr(d.msg, "not an executable file"));
	unlink(prog);
}

/* The asynchronous interface: stop, then the pidfd reports the end. */
static void test_start_stop_reap(void **state)
{
	(void)state;
	char sh[] = "/bin/sh", c[] = "-c", s[] = "sleep 60";
	char *const argv[] = { sh, c, s, NULL };
	struct dw_proc_spec spec = { .path = "/bin/sh", .argv = argv, .envp = env_none,
	                             .out_fd = -1, .err_fd = -1 };
	struct dw_proc p;
	struct dw_diag d = { "" };
	assert_int_equal(dw_proc_start(&spec, &p, &d), DW_OK);
	int st = 0;
	assert_int_equal(dw_proc_reap(&p, &st), 0);
	dw_proc_stop(&p);
	dw_proc_release(&p, 5000);
	assert_int_equal(p.pid, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_and_output),
		cmocka_unit_test(test_signal_is_mirrored),
		cmocka_unit_test(test_clean_start),
		cmocka_unit_test(test_limit_ends_the_tree),
		cmocka_unit_test(test_exit_ends_the_rest),
		cmocka_unit_test(test_output_cap_stops_it),
		cmocka_unit_test(test_untrusted_refused),
		cmocka_unit_test(test_start_stop_reap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
