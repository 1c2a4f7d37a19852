/* The sd_notify datagram sent without libsystemd: what a service manager
 * listening on $NOTIFY_SOCKET receives, and the watchdog variables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/notify.h"

/* A datagram socket bound like systemd's (path or "@abstract"). */
static int listener(const char *name)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_send_path_and_abstract(void **state)
{
	(void)state;
	char path[108];
	snprintf(path, sizeof(path), "/tmp/dw-notify-test-%d", (int)getpid());
	unlink(path);
	int fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(dw_notify("READY=1"), 1);
	expect_datagram(fd, "READY=1");
	assert_int_equal(dw_notifyf("STATUS=%d records, %s", 3, "all in sync"), 1);
	expect_datagram(fd, "STATUS=3 records, all in sync");
	close(fd);
	unlink(path);

	char abstract[64];
	snprintf(abstract, sizeof(abstract), "@dw-notify-test-%d", (int)getpid());
	fd = listener(abstract);
	setenv("NOTIFY_SOCKET", abstract, 1);
	assert_int_equal(dw_notify("WATCHDOG=1"), 1);
	expect_datagram(fd, "WATCHDOG=1");
	close(fd);

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(dw_notify("READY=1"), 0);   /* not under systemd: nothing */
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(dw_notify("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_table(void **state)
{
	(void)state;
	static const struct {
		const char *usec, *pid;
		bool on;
		uint64_t want;
	} cases[] = {
		{ "30000000", NULL, true, 30000000 },
		{ "30000000", "4242", true, 30000000 },   /* our pid below */
		{ "30000000", "4243", false, 0 },         /* another process's */
		{ NULL, NULL, false, 0 },
		{ "0", NULL, false, 0 },
		{ "", NULL, false, 0 },
		{ "-5", NULL, false, 0 },
		{ " 5", NULL, false, 0 },
		{ "5s", NULL, false, 0 },
		{ "99999999999999999999999", NULL, false, 0 },
		{ "1000", "x", false, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t u = 0;
		bool on = dw_notify_watchdog_parse(cases[i].usec, cases[i].pid, 4242, &u);
		assert_int_equal(on, cases[i].on);
		if (on)
			assert_int_equal(u, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_path_and_abstract),
		cmocka_unit_test(test_watchdog_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
