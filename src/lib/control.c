/* Control socket protocol: request parsing and the client; see control.h. */
#include "lib/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int dw_ctl_parse(const char *buf, size_t len, struct dw_ctl_req *out, struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	if (len > DW_CTL_REQ_MAX)
		return dw_diag_set(diag, DW_ETOOBIG, "request longer than %d bytes", DW_CTL_REQ_MAX);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	char line[DW_CTL_REQ_MAX + 1];
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c > 0x7e)
			return dw_diag_set(diag, DW_EPARSE, "request holds a control or non-ASCII byte");
		line[i] = (char)c;
	}
	line[len] = '\0';

	const char *sp = memchr(line, ' ', len);
	size_t wlen = sp != NULL ? (size_t)(sp - line) : len;
	const char *arg = sp != NULL ? sp + 1 : NULL;
	if (wlen == 6 && memcmp(line, "status", 6) == 0) {
		if (arg != NULL)
			return dw_diag_set(diag, DW_EPARSE, "status takes no argument");
		out->cmd = DW_CTL_STATUS;
		return DW_OK;
	}
	if (wlen == 5 && memcmp(line, "force", 5) == 0) {
		out->cmd = DW_CTL_FORCE;
		if (arg == NULL)
			return DW_OK;
		size_t alen = strlen(arg);
		if (alen == 0 || alen >= sizeof(out->arg))
			return dw_diag_set(diag, DW_EPARSE, "force: bad record name length");
		memcpy(out->arg, arg, alen + 1);
		if (dw_fqdn_normalize(out->arg) != DW_OK) {
			out->arg[0] = '\0';
			return dw_diag_set(diag, DW_EPARSE, "force: not a domain name");
		}
		return DW_OK;
	}
	return dw_diag_set(diag, DW_EPARSE, "unknown request (expected status or force)");
}

int dw_ctl_socket_path(const struct dw_config *cfg, char *buf, size_t cap)
{
	int n;
	const char *rt = getenv("RUNTIME_DIRECTORY");   /* systemd RuntimeDirectory= */
	if (cfg->control_socket[0] != '\0') {
		n = snprintf(buf, cap, "%s", cfg->control_socket);
	} else if (rt != NULL && rt[0] == '/') {
		size_t first = strcspn(rt, ":");             /* several are ':'-separated */
		n = snprintf(buf, cap, "%.*s/dnsward.sock", (int)first, rt);
	} else {
		n = snprintf(buf, cap, "%s/dnsward.sock", cfg->state_dir);
	}
	if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return DW_ETOOBIG;
	return DW_OK;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for ev on fd until deadline: 1 ready, 0 timeout, -1 error. */
static int wait_until(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = ev };
		int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r > 0;
	}
}

int dw_ctl_request(const char *path, const char *line, long timeout_ms, char **reply,
                   struct dw_diag *diag)
{
	*reply = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen = strlen(path);
	if (plen >= sizeof(sa.sun_path))
		return dw_diag_set(diag, DW_ETOOBIG, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, plen + 1);
	size_t llen = strlen(line);
	if (llen + 1 > DW_CTL_REQ_MAX)
		return dw_diag_set(diag, DW_ETOOBIG, "request too long");

	/* The socket usually lives in the state directory, which the
	 * daemon's user controls: a link planted there could make root talk
	 * to another service's socket.  connect() has no O_NOFOLLOW; checking
	 * the entry first stops everything short of a race won against an
	 * unprivileged client of ours. */
	struct stat lst;
	if (lstat(path, &lst) == 0 && !S_ISSOCK(lst.st_mode))
		return dw_diag_set(diag, DW_EIO, "%s is not a socket%s: refusing to connect", path,
		                   S_ISLNK(lst.st_mode) ? " but a symbolic link" : "");

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dw_diag_set(diag, DW_EIO, "socket: %s", strerror(errno));
	int ret;
	char *buf = NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			ret = dw_diag_set(diag, DW_ENOTFOUND, "no daemon listens on %s", path);
		else
			ret = dw_diag_set(diag, DW_EIO, "cannot connect to %s: %s", path,
			                  strerror(errno));
		goto out;
	}
	long long deadline = mono_ms() + timeout_ms;
	char req[DW_CTL_REQ_MAX + 1];
	memcpy(req, line, llen);
	req[llen] = '\n';
	size_t off = 0;
	while (off < llen + 1) {
		if (wait_until(fd, POLLOUT, deadline) <= 0) {
			ret = dw_diag_set(diag, DW_ETIMEOUT, "the daemon did not take the request");
			goto out;
		}
		ssize_t n = send(fd, req + off, llen + 1 - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ret = dw_diag_set(diag, DW_EIO, "send to %s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	size_t cap = 4096, used = 0;
	buf = malloc(cap);
	if (buf == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (used + 1 == cap) {
			if (cap >= DW_CTL_REPLY_MAX) {
				ret = dw_diag_set(diag, DW_ETOOBIG, "reply larger than %u bytes",
				                  DW_CTL_REPLY_MAX);
				goto out;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		int w = wait_until(fd, POLLIN, deadline);
		if (w <= 0) {
			ret = dw_diag_set(diag, DW_ETIMEOUT, "no complete reply from the daemon");
			goto out;
		}
		ssize_t n = recv(fd, buf + used, cap - 1 - used, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ret = dw_diag_set(diag, DW_EIO, "receive from %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*reply = buf;
	buf = NULL;
	ret = DW_OK;
out:
	free(buf);
	close(fd);
	return ret;
}
