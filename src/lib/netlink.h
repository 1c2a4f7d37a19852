/* Reading interface addresses from the kernel over rtnetlink (libmnl).
 * Needs no privileges. */
#pragma once

#include <stddef.h>

#include "lib/addr.h"
#include "lib/error.h"

struct nlmsghdr;

/* Dumps every IPv4 and IPv6 address of every interface (RTM_GETADDR with
 * NLM_F_DUMP) into out, which must be zeroed or previously freed; interface
 * names are filled in.  Returns 0 or DW_ENETLINK with a diag. */
int dw_netlink_dump(struct dw_addr_list *out, struct dw_diag *diag);

/* Parses one RTM_NEWADDR message into out.  Attributes are validated by type
 * and length; IFA_LOCAL is preferred over IFA_ADDRESS (point-to-point links),
 * IFA_FLAGS (u32) over ifa_flags, IFA_CACHEINFO gives lifetimes (forever when
 * absent).  Does not fill ifname.  Returns 0, or DW_EPARSE for a malformed or
 * non-address message, or DW_EUNSUPP for a family other than INET/INET6.
 * The message must lie within len bytes (untrusted input: used by fuzzing). */
int dw_netlink_parse_addr(const struct nlmsghdr *nlh, size_t len, struct dw_ifaddr *out);

/* Walks the messages of one datagram buf[0..len) received from the kernel
 * (an event listener's reads).  Each message's nlmsg_len is checked against
 * the bytes left (as the dump does; never mnl_nlmsg_ok, whose signed
 * comparison accepts lengths above INT_MAX); fn gets each whole message and
 * its length.  Stops when fn returns non-zero and returns that value.
 * Returns 0 at the end, DW_EPARSE for a truncated or overlong message. */
int dw_netlink_walk(const void *buf, size_t len,
                    int (*fn)(const struct nlmsghdr *nlh, size_t len, void *arg), void *arg);
