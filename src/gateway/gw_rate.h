/* Rate limits in memory (a restart forgets them), and the lockouts the
 * store reported (gw_db_lockout_fail counts failures for every instance;
 * they are remembered here only to spare the store the requests of a
 * source already locked out).
 *
 * A fixed table of slots keyed by 16 bytes (a source address, IPv6 reduced
 * to its prefix, or a host id), found with a keyed hash (random key per
 * process, so nobody can aim collisions) and 8-slot linear probing; when all
 * probed slots are busy the least recently used one that is not locked out
 * is reused.  Token buckets refill continuously: `per_minute` requests per
 * minute with a burst of the same size (shared out among instances, see
 * gw_rate_set_share).  Thread-safe (one mutex). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

struct gw_rate;

struct gw_rate *gw_rate_new(size_t slots);
void gw_rate_free(struct gw_rate *r);

/* Key of a client source (an IPv4 address; an IPv6 address reduced to its
 * first v6_prefix bits, 32..128: one subscriber's prefix is one source) or
 * of a host id. */
void gw_rate_key_ip(const struct dw_ip *ip, unsigned v6_prefix, uint8_t key[16]);
void gw_rate_key_host(int64_t host_id, uint8_t key[16]);
/* Key of a host's audit budget for refusals (apart from its request rate). */
void gw_rate_key_audit(int64_t host_id, uint8_t key[16]);

/* Takes one request from key's bucket; false (and *retry_s) when empty. */
bool gw_rate_take(struct gw_rate *r, const uint8_t key[16], uint32_t per_minute,
                  int64_t now_ms, long *retry_s);
/* Like gw_rate_take, for budgets of log rows: a refused take is counted; a
 * granted one returns in *skipped how many were refused since the last
 * grant (then 0 again).  A slot reused for another key forgets its count. */
bool gw_rate_take_counted(struct gw_rate *r, const uint8_t key[16], uint32_t per_minute,
                          int64_t now_ms, uint64_t *skipped);
/* True (and *retry_s) while key is locked out. */
bool gw_rate_locked(struct gw_rate *r, const uint8_t key[16], int64_t now_ms, long *retry_s);
/* Several instances serve (gw_cluster.h): from now on each per-minute
 * budget is shared out, per_minute / n here (refilled at that rate, a
 * burst of at least one).  n = 1 at start. */
void gw_rate_set_share(struct gw_rate *r, unsigned n);
/* Marks key locked out until until_ms (what the store said). */
void gw_rate_lock(struct gw_rate *r, const uint8_t key[16], int64_t now_ms, int64_t until_ms);
