/* The control socket server: accept, read one line, reply, close. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/ctl_server.h"
#include "lib/control.h"
#include "lib/log.h"

struct client {
	int fd;
	char in[DW_CTL_REQ_MAX + 1];
	size_t nin;
	char *out;
	size_t nout, sent;
	struct dw_timer *timer;
	struct dmn_ctl *ctl;
};

struct dmn_ctl {
	struct dw_loop *loop;
	const struct dmn_ctl_ops *ops;
	struct daemon *d;
	int fd;
	bool bound;                 /* the socket file at path is ours */
	char path[108];
	struct client *clients[DMN_CTL_CLIENTS_MAX];
};

static void client_close(struct client *c)
{
	struct dmn_ctl *ctl = c->ctl;
	for (size_t i = 0; i < DMN_CTL_CLIENTS_MAX; i++) {
		if (ctl->clients[i] == c)
			ctl->clients[i] = NULL;
	}
	dw_loop_del_fd(ctl->loop, c->fd);
	close(c->fd);
	dw_timer_free(c->timer);
	free(c->out);
	free(c);
}

static void client_write(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct client *c = arg;
	while (c->sent < c->nout) {
		ssize_t n = send(c->fd, c->out + c->sent, c->nout - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;   /* EPOLLOUT calls again */
		if (n < 0) {
			client_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	client_close(c);
}

/* Sends text (malloc'd, taken; NULL closes the connection) and closes. */
static void client_reply(struct client *c, char *text)
{
	struct dw_loop *loop = c->ctl->loop;
	if (text == NULL) {
		client_close(c);
		return;
	}
	c->out = text;
	c->nout = strlen(text);
	dw_loop_del_fd(loop, c->fd);
	if (dw_loop_add_fd(loop, c->fd, EPOLLOUT, client_write, c) != 0) {
		client_close(c);
		return;
	}
	client_write(loop, c->fd, EPOLLOUT, c);
}

static void client_read(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct client *c = arg;
	struct dmn_ctl *ctl = c->ctl;
	ssize_t n = recv(fd, c->in + c->nin, sizeof(c->in) - 1 - c->nin, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->nin += (size_t)n;
	char *nl = memchr(c->in, '\n', c->nin);
	if (nl == NULL && c->nin < sizeof(c->in) - 1)
		return;   /* not a whole line yet */
	size_t len = nl != NULL ? (size_t)(nl - c->in) + 1 : c->nin;
	struct dw_ctl_req req;
	struct dw_diag diag = { "" };
	if (dw_ctl_parse(c->in, len, &req, &diag) != DW_OK) {
		log_info("control: refused a request: %s", diag.msg);
		char *e = NULL;
		if (asprintf(&e, "error: %s\n", diag.msg) < 0)
			e = NULL;
		client_reply(c, e);
		return;
	}
	if (req.cmd == DW_CTL_STATUS) {
		char *s = ctl->ops->status(ctl->d);
		char *t = NULL;
		if (s != NULL && asprintf(&t, "%s\n", s) < 0)
			t = NULL;
		free(s);
		client_reply(c, t);
		return;
	}
	/* DW_CTL_FORCE */
	if (ctl->ops->force(ctl->d, req.arg[0] != '\0' ? req.arg : NULL) != DW_OK) {
		client_reply(c, strdup("error: no such record\n"));
		return;
	}
	client_reply(c, strdup("ok\n"));
}

static void client_timeout(struct dw_loop *loop, struct dw_timer *t, void *arg)
{
	client_close(arg);
}

static void on_accept(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct dmn_ctl *ctl = arg;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			return;
		size_t slot = DMN_CTL_CLIENTS_MAX;
		for (size_t i = 0; i < DMN_CTL_CLIENTS_MAX; i++) {
			if (ctl->clients[i] == NULL) {
				slot = i;
				break;
			}
		}
		struct client *c = slot < DMN_CTL_CLIENTS_MAX ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->ctl = ctl;
		c->timer = dw_loop_timer_new(loop, client_timeout, c);
		if (c->timer == NULL || dw_loop_add_fd(loop, cfd, EPOLLIN, client_read, c) != 0) {
			if (c->timer != NULL)
				dw_timer_free(c->timer);
			close(cfd);
			free(c);
			continue;
		}
		dw_timer_arm(c->timer, DMN_CTL_CLIENT_TIMEOUT_MS);
		ctl->clients[slot] = c;
	}
}

static int ctl_listen(struct dmn_ctl *ctl, const struct dw_config *cfg, struct dw_diag *diag)
{
	if (dw_ctl_socket_path(cfg, ctl->path, sizeof(ctl->path)) != DW_OK)
		return dw_diag_set(diag, DW_ETOOBIG, "control socket path too long");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	/* A socket left by a daemon that died is replaced; a live one is not. */
	char *reply = NULL;
	struct dw_diag cd;
	int r = dw_ctl_request(ctl->path, "status", 2000, &reply, &cd);
	free(reply);
	if (r == DW_OK)
		return dw_diag_set(diag, DW_EIO, "another dnsward daemon answers on %s", ctl->path);
	struct stat sb;
	if (lstat(ctl->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return dw_diag_set(diag, DW_EIO, "%s exists and is not a socket", ctl->path);
		(void)unlink(ctl->path);
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0)
		return dw_diag_set(diag, DW_EIO, "socket: %s", strerror(errno));
	mode_t old = umask(0177);   /* 0600 from the start, not after a chmod */
	r = bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0)
		return dw_diag_set(diag, DW_EIO, "cannot create the control socket %s: %s",
		                   ctl->path, strerror(errno));
	ctl->bound = true;
	if (listen(ctl->fd, 8) != 0 ||
	    dw_loop_add_fd(ctl->loop, ctl->fd, EPOLLIN, on_accept, ctl) != 0)
		return dw_diag_set(diag, DW_EIO, "control socket: %s", strerror(errno));
	return DW_OK;
}

int dmn_ctl_open(struct dw_loop *loop, const struct dw_config *cfg,
                 const struct dmn_ctl_ops *ops, struct daemon *d, struct dmn_ctl **out,
                 struct dw_diag *diag)
{
	*out = NULL;
	struct dmn_ctl *ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	ctl->loop = loop;
	ctl->ops = ops;
	ctl->d = d;
	ctl->fd = -1;
	int ret = ctl_listen(ctl, cfg, diag);
	if (ret != DW_OK) {
		if (ctl->fd >= 0) {
			dw_loop_del_fd(loop, ctl->fd);
			close(ctl->fd);
		}
		if (ctl->bound)
			(void)unlink(ctl->path);
		free(ctl);
		return ret;
	}
	*out = ctl;
	return DW_OK;
}

const char *dmn_ctl_path(const struct dmn_ctl *ctl)
{
	return ctl->path;
}

void dmn_ctl_free(struct dmn_ctl *ctl)
{
	if (ctl == NULL)
		return;
	for (size_t i = 0; i < DMN_CTL_CLIENTS_MAX; i++) {
		if (ctl->clients[i] != NULL)
			client_close(ctl->clients[i]);
	}
	dw_loop_del_fd(ctl->loop, ctl->fd);
	close(ctl->fd);
	(void)unlink(ctl->path);
	free(ctl);
}
