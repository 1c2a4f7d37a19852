/* What the daemon tells about its records: the status document served on
 * the control socket ("dnsward status --json", documented in dnsward(8))
 * and the one-line summary sent to systemd as STATUS=.  Pure formatting of
 * the records' state at a given time. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "daemon/record.h"
#include "lib/sched.h"

/* The status document for recs[0..n) at now_ms (the loop's clock): JSON
 * text, malloc'd (caller frees), NULL when out of memory. */
char *dmn_status_json(const struct dmn_rec *recs, size_t n, const struct dw_sched_params *sp,
                      uint64_t now_ms);

/* "N records: S in sync, W waiting, P parked" into buf (always terminated,
 * truncated to cap). */
void dmn_status_summary(const struct dmn_rec *recs, size_t n, const struct dw_sched_params *sp,
                        uint64_t now_ms, char *buf, size_t cap);
