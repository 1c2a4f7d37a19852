/* Reading interface addresses over rtnetlink with libmnl.
 *
 * Every message is treated as untrusted bytes: lengths are checked against
 * the message, each known attribute is validated by type and exact length
 * before it is read, and the attribute walk is bounded by nlmsg_len itself
 * (not its aligned end, which may lie past the caller's buffer). */
#include "lib/netlink.h"

#include <errno.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>

/* Receive buffer: large enough for any rtnetlink dump datagram the kernel
 * sends (it caps them at max(page size, 8 KiB) for unsized readers, 32 KiB
 * at most when the reader's buffer allows). */
#define DW_NL_RXBUF 32768
/* A dump that keeps being interrupted by concurrent changes is retried a
 * few times, then reported. */
#define DW_NL_DUMP_TRIES 5
/* The kernel answers a dump at once; never wait forever on a silent socket. */
#define DW_NL_TIMEOUT_S 5

static int validate_attr(const struct nlattr *attr, uint16_t type, uint8_t family)
{
	size_t alen = family == AF_INET6 ? 16 : 4;
	switch (type) {
	case IFA_ADDRESS:
	case IFA_LOCAL:
	case IFA_BROADCAST:
	case IFA_ANYCAST:
	case IFA_MULTICAST:
		return mnl_attr_validate2(attr, MNL_TYPE_BINARY, alen);
	case IFA_LABEL:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return -1;
		return mnl_attr_get_payload_len(attr) <= IFNAMSIZ ? 0 : -1;
	case IFA_CACHEINFO:
		return mnl_attr_validate2(attr, MNL_TYPE_BINARY, sizeof(struct ifa_cacheinfo));
	case IFA_FLAGS:
	case IFA_RT_PRIORITY:
	case IFA_TARGET_NETNSID:
		return mnl_attr_validate(attr, MNL_TYPE_U32);
	case IFA_PROTO:
		return mnl_attr_validate(attr, MNL_TYPE_U8);
	default:
		return 0;   /* newer attribute: ignored, never read */
	}
}

/* RTM_DELADDR is accepted too: it has the same layout, so an event listener
 * can parse removals with the same code. */
int dw_netlink_parse_addr(const struct nlmsghdr *nlh, size_t len, struct dw_ifaddr *out)
{
	if (nlh == NULL || out == NULL || len < sizeof(struct nlmsghdr))
		return DW_EPARSE;
	size_t msglen = nlh->nlmsg_len;
	if (msglen < sizeof(struct nlmsghdr) || msglen > len)
		return DW_EPARSE;
	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return DW_EPARSE;
	size_t off = MNL_NLMSG_HDRLEN;
	if (msglen - off < sizeof(struct ifaddrmsg))
		return DW_EPARSE;
	const struct ifaddrmsg *ifa = (const void *)((const char *)nlh + off);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return DW_EUNSUPP;
	unsigned maxplen = ifa->ifa_family == AF_INET6 ? 128 : 32;
	if (ifa->ifa_prefixlen > maxplen)
		return DW_EPARSE;
	off += MNL_ALIGN(sizeof(struct ifaddrmsg));

	const struct nlattr *tb[IFA_MAX + 1];
	memset(tb, 0, sizeof(tb));
	while (off < msglen) {
		if (msglen - off < sizeof(struct nlattr))
			return DW_EPARSE;   /* trailing bytes that are no attribute */
		const struct nlattr *attr = (const void *)((const char *)nlh + off);
		if (attr->nla_len < sizeof(struct nlattr) || attr->nla_len > msglen - off)
			return DW_EPARSE;   /* truncated or overlong attribute */
		uint16_t type = mnl_attr_get_type(attr);
		if (validate_attr(attr, type, ifa->ifa_family) < 0)
			return DW_EPARSE;
		if (type <= IFA_MAX) {
			if (tb[type] != NULL)
				return DW_EPARSE;   /* the kernel never repeats one */
			tb[type] = attr;
		}
		/* Padding of the last attribute may be missing; the loop ends. */
		off += MNL_ALIGN(attr->nla_len);
	}

	struct dw_ifaddr a;
	memset(&a, 0, sizeof(a));
	/* On point-to-point links IFA_ADDRESS is the peer, IFA_LOCAL ours. */
	const struct nlattr *addr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (addr == NULL)
		return DW_EPARSE;
	a.ip.family = ifa->ifa_family == AF_INET6 ? DW_FAM_V6 : DW_FAM_V4;
	memcpy(a.ip.bytes, mnl_attr_get_payload(addr), mnl_attr_get_payload_len(addr));
	a.prefixlen = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	a.ifindex = ifa->ifa_index;
	if (tb[IFA_CACHEINFO] != NULL) {
		struct ifa_cacheinfo ci;
		memcpy(&ci, mnl_attr_get_payload(tb[IFA_CACHEINFO]), sizeof(ci));
		a.preferred_lft = ci.ifa_prefered;
		a.valid_lft = ci.ifa_valid;
	} else {
		a.preferred_lft = DW_LIFETIME_FOREVER;
		a.valid_lft = DW_LIFETIME_FOREVER;
	}
	*out = a;
	return 0;
}

struct dump_ctx {
	struct dw_addr_list *list;
	struct dw_diag *diag;
};

/* One RTM_NEWADDR of the dump: 0 or a dw_error (diag set). */
static int dump_cb(const struct nlmsghdr *nlh, struct dump_ctx *ctx)
{
	struct dw_ifaddr a;
	int r = dw_netlink_parse_addr(nlh, nlh->nlmsg_len, &a);
	if (r == DW_EUNSUPP)
		return 0;   /* requested AF_UNSPEC; other families are not ours */
	if (r != 0)
		return dw_diag_set(ctx->diag, DW_ENETLINK,
		                   "malformed RTM_NEWADDR message from the kernel");
	r = dw_addr_list_push(ctx->list, &a);
	if (r != 0)
		return dw_diag_set(ctx->diag, r, "cannot store addresses: %s", dw_strerror(r));
	return 0;
}

/* Walks one received datagram.  This replaces mnl_cb_run, whose length
 * check compares a signed int and so accepts an nlmsg_len above INT_MAX.
 * Returns 0 to keep reading, 1 at the end of the dump, 2 when the kernel
 * flagged the dump as interrupted, or a dw_error. */
static int walk_datagram(const char *buf, size_t len, uint32_t seq, uint32_t portid,
                         struct dump_ctx *ctx)
{
	size_t off = 0;
	while (off < len) {
		if (len - off < sizeof(struct nlmsghdr))
			return dw_diag_set(ctx->diag, DW_ENETLINK, "netlink: truncated message header");
		const struct nlmsghdr *nlh = (const void *)(buf + off);
		if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > len - off)
			return dw_diag_set(ctx->diag, DW_ENETLINK, "netlink: bad message length");
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
			return dw_diag_set(ctx->diag, DW_ENETLINK,
			                   "netlink: reply with unexpected sequence or port");
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			return 2;
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE:
			return 1;
		case NLMSG_ERROR: {
			const struct nlmsgerr *e = (const void *)(buf + off + MNL_NLMSG_HDRLEN);
			if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(e->error))
				return dw_diag_set(ctx->diag, DW_ENETLINK, "netlink: truncated error message");
			if (e->error == 0)
				return 1;   /* an acknowledgement */
			int code = e->error < 0 && e->error != INT_MIN ? -e->error : EPROTO;
			return dw_diag_set(ctx->diag, DW_ENETLINK, "netlink dump refused: %s",
			                   strerror(code));
		}
		case NLMSG_OVERRUN:
			return dw_diag_set(ctx->diag, DW_ENETLINK, "netlink: overrun");
		case RTM_NEWADDR: {
			int r = dump_cb(nlh, ctx);
			if (r != 0)
				return r;
			break;
		}
		default:
			break;   /* NLMSG_NOOP and anything else carry nothing for us */
		}
		size_t step = MNL_ALIGN(nlh->nlmsg_len);
		if (step > len - off)
			break;   /* last message without padding */
		off += step;
	}
	return 0;
}

/* Receives one datagram from the kernel.  Other senders (any local process
 * may write to our port) and truncated datagrams are refused.  Returns the
 * length, or -1 with errno set (EINTR retried here). */
static ssize_t recv_kernel(int fd, void *buf, size_t size)
{
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { .iov_base = buf, .iov_len = size };
		struct msghdr msg = {
			.msg_name = &sa, .msg_namelen = sizeof(sa),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (msg.msg_flags & MSG_TRUNC) {
			errno = ENOSPC;
			return -1;
		}
		if (msg.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
			continue;   /* not from the kernel: ignore */
		return n;
	}
}

/* One RTM_GETADDR dump on a fresh socket (so leftovers of an interrupted
 * dump never mix with the next).  buf holds DW_NL_RXBUF bytes.  Returns 0,
 * DW_ENETLINK, DW_ENOMEM or DW_ETOOBIG, or 2 when the kernel flagged the
 * dump as interrupted by a concurrent change (retry). */
static int dump_once(uint32_t seq, char *buf, struct dw_addr_list *out, struct dw_diag *diag)
{
	int ret;
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl == NULL)
		return dw_diag_set(diag, DW_ENETLINK, "netlink socket: %s", strerror(errno));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = dw_diag_set(diag, DW_ENETLINK, "netlink bind: %s", strerror(errno));
		goto out;
	}
	int fd = mnl_socket_get_fd(nl);
	struct timeval tv = { .tv_sec = DW_NL_TIMEOUT_S, .tv_usec = 0 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		ret = dw_diag_set(diag, DW_ENETLINK, "netlink timeout: %s", strerror(errno));
		goto out;
	}

	memset(buf, 0, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifaddrmsg)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;

	ssize_t n;
	do {
		n = mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = dw_diag_set(diag, DW_ENETLINK, "netlink send: %s", strerror(errno));
		goto out;
	}

	uint32_t portid = mnl_socket_get_portid(nl);
	struct dump_ctx ctx = { .list = out, .diag = diag };
	for (;;) {
		n = recv_kernel(fd, buf, DW_NL_RXBUF);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				ret = dw_diag_set(diag, DW_ENETLINK,
				                  "netlink dump: no answer within %d s", DW_NL_TIMEOUT_S);
			else
				ret = dw_diag_set(diag, DW_ENETLINK, "netlink receive: %s",
				                  strerror(errno));
			goto out;
		}
		int r = walk_datagram(buf, (size_t)n, seq, portid, &ctx);
		if (r == 0)
			continue;
		ret = r == 1 ? 0 : r;   /* 2 (interrupted) is passed on as is */
		goto out;
	}
out:
	mnl_socket_close(nl);
	return ret;
}

/* Fills ifname of every entry; an interface gone since the dump stays "". */
static void fill_names(struct dw_addr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct dw_ifaddr *a = &l->v[i];
		const struct dw_ifaddr *known = NULL;
		for (size_t j = 0; j < i; j++) {
			if (l->v[j].ifindex == a->ifindex) {
				known = &l->v[j];
				break;
			}
		}
		if (known != NULL) {
			memcpy(a->ifname, known->ifname, sizeof(a->ifname));
			continue;
		}
		char name[IF_NAMESIZE];
		if (if_indextoname(a->ifindex, name) != NULL) {
			name[sizeof(name) - 1] = '\0';
			memcpy(a->ifname, name, sizeof(a->ifname));
		} else {
			a->ifname[0] = '\0';
		}
	}
}

int dw_netlink_dump(struct dw_addr_list *out, struct dw_diag *diag)
{
	char *buf = aligned_alloc(NLMSG_ALIGNTO, DW_NL_RXBUF);
	if (buf == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "netlink: out of memory");
	int ret;
	uint32_t seq = (uint32_t)time(NULL);
	for (int attempt = 0; attempt < DW_NL_DUMP_TRIES; attempt++) {
		struct dw_addr_list l = { 0 };
		ret = dump_once(seq + (uint32_t)attempt, buf, &l, diag);
		if (ret == 2) {
			dw_addr_list_free(&l);
			continue;
		}
		if (ret != 0) {
			dw_addr_list_free(&l);
			goto out;
		}
		fill_names(&l);
		dw_addr_list_free(out);
		*out = l;
		goto out;
	}
	ret = dw_diag_set(diag, DW_ENETLINK,
	                  "netlink dump interrupted %d times by address changes", DW_NL_DUMP_TRIES);
out:
	free(buf);
	return ret;
}

int dw_netlink_walk(const void *buf, size_t len,
                    int (*fn)(const struct nlmsghdr *nlh, size_t len, void *arg), void *arg)
{
	const char *p = buf;
	size_t off = 0;
	while (off < len) {
		if (len - off < sizeof(struct nlmsghdr))
			return DW_EPARSE;
		const struct nlmsghdr *nlh = (const void *)(p + off);
		if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > len - off)
			return DW_EPARSE;
		int r = fn(nlh, nlh->nlmsg_len, arg);
		if (r != 0)
			return r;
		size_t step = MNL_ALIGN(nlh->nlmsg_len);
		if (step > len - off)
			break;   /* last message without padding */
		off += step;
	}
	return 0;
}
