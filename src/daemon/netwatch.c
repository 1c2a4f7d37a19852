/* Watching the kernel's addresses over rtnetlink (libmnl walks the batch). */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/netwatch.h"
#include "lib/log.h"
#include "lib/netlink.h"

#define NW_RCVBUF (1024 * 1024)
#define NW_BUF 32768

struct dmn_netwatch {
	struct dw_loop *loop;
	int fd;
	char *buf;
	dmn_netwatch_fn changed;
	struct daemon *d;
};

struct nl_scan {
	bool relevant;
};

static int nl_msg(const struct nlmsghdr *nlh, size_t len, void *arg)
{
	struct nl_scan *s = arg;
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWLINK:
	case RTM_DELLINK:
		s->relevant = true;
		break;
	default:
		break;
	}
	return 0;
}

static void on_netlink(struct dw_loop *loop, int fd, uint32_t ev, void *arg)
{
	struct dmn_netwatch *nw = arg;
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { .iov_base = nw->buf, .iov_len = NW_BUF };
		struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa),
		                      .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The kernel dropped events: the dump tells the truth. */
				log_info("netlink: events lost (ENOBUFS), taking a fresh dump");
				nw->changed(nw->d);
				continue;
			}
			if (errno != EAGAIN)
				log_error("netlink receive: %s", strerror(errno));
			return;
		}
		if (msg.msg_namelen != sizeof(sa) || sa.nl_pid != 0)
			continue;   /* not the kernel */
		struct nl_scan s = { false };
		if ((msg.msg_flags & MSG_TRUNC) ||
		    dw_netlink_walk(nw->buf, (size_t)n, nl_msg, &s) != 0) {
			log_warning("netlink: malformed event, taking a fresh dump");
			s.relevant = true;
		}
		if (s.relevant)
			nw->changed(nw->d);
	}
}

int dmn_netwatch_open(struct dw_loop *loop, dmn_netwatch_fn changed, struct daemon *d,
                      struct dmn_netwatch **out, struct dw_diag *diag)
{
	*out = NULL;
	struct dmn_netwatch *nw = calloc(1, sizeof(*nw));
	if (nw == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	nw->loop = loop;
	nw->changed = changed;
	nw->d = d;
	int ret = DW_OK;
	nw->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (nw->fd < 0) {
		ret = dw_diag_set(diag, DW_ENETLINK, "netlink socket: %s", strerror(errno));
		goto out;
	}
	int sz = NW_RCVBUF;
	(void)setsockopt(nw->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	sa.nl_groups = (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_IPV4_IFADDR - 1)) |
	               (1u << (RTNLGRP_IPV6_IFADDR - 1));
	if (bind(nw->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ret = dw_diag_set(diag, DW_ENETLINK, "netlink bind: %s", strerror(errno));
		goto out;
	}
	nw->buf = aligned_alloc(NLMSG_ALIGNTO, NW_BUF);
	if (nw->buf == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	if (dw_loop_add_fd(loop, nw->fd, EPOLLIN, on_netlink, nw) != 0) {
		ret = dw_diag_set(diag, DW_EIO, "epoll: %s", strerror(errno));
		goto out;
	}
out:
	if (ret != DW_OK) {
		if (nw->fd >= 0)
			close(nw->fd);
		free(nw->buf);
		free(nw);
		return ret;
	}
	*out = nw;
	return DW_OK;
}

void dmn_netwatch_free(struct dmn_netwatch *nw)
{
	if (nw == NULL)
		return;
	dw_loop_del_fd(nw->loop, nw->fd);
	close(nw->fd);
	free(nw->buf);
	free(nw);
}
