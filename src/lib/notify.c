/* The sd_notify datagram, sent by hand (see notify.h). */
#include "lib/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int dw_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0')
		return 0;
	if (path[0] != '/' && path[0] != '@') {
		errno = EAFNOSUPPORT;   /* vsock addresses: not for us */
		return -1;
	}
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';   /* abstract namespace: no terminating NUL */
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	                              (path[0] == '/' ? 1 : 0));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	int e = errno;
	close(fd);
	if (w < 0) {
		errno = e;
		return -1;
	}
	return 1;
}

int dw_notifyf(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	return dw_notify(buf);
}

/* A decimal number without sign, blanks or overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	uint64_t v = 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

bool dw_notify_watchdog_parse(const char *usec, const char *pid, pid_t self, uint64_t *out)
{
	uint64_t u = 0, p = 0;
	if (!parse_u64(usec, &u) || u == 0)
		return false;
	if (pid != NULL && (!parse_u64(pid, &p) || p != (uint64_t)self))
		return false;   /* meant for another process (e.g. our parent) */
	*out = u;
	return true;
}

bool dw_notify_watchdog(uint64_t *usec)
{
	return dw_notify_watchdog_parse(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid(),
	                                usec);
}
