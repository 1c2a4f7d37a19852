/* Watching the kernel's addresses: an rtnetlink socket subscribed to
 * address and link events (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
 * RTNLGRP_LINK) in the daemon's loop.
 *
 * It does not keep a picture of the addresses: any relevant event, a
 * malformed or truncated one, or ENOBUFS (the kernel dropped events) only
 * tells the owner "something changed", who then takes a fresh dump
 * (dw_netlink_dump).  A dump is never wrong; incremental bookkeeping of
 * adds, removals, flag changes and lost events would be.  Messages not from
 * the kernel are ignored.  Called from the loop's thread. */
#pragma once

#include "lib/error.h"
#include "lib/loop.h"

struct daemon;
struct dmn_netwatch;

/* Called once per batch of received events that holds a relevant one. */
typedef void (*dmn_netwatch_fn)(struct daemon *d);

/* Opens, subscribes and registers the socket in loop.  Subscribe before the
 * first dump, so no change between the two is lost.  Returns 0 with *out
 * set, or DW_ENETLINK / DW_ENOMEM / DW_EIO with diag (nothing left open). */
int dmn_netwatch_open(struct dw_loop *loop, dmn_netwatch_fn changed, struct daemon *d,
                      struct dmn_netwatch **out, struct dw_diag *diag);

/* Unregisters and closes.  NULL is fine. */
void dmn_netwatch_free(struct dmn_netwatch *nw);
