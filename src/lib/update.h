/* One update pass: for each record and family, the desired address, compared
 * with the state file, published through the record's provider when they
 * differ (or when forced), and the state saved after every success.
 *
 * The pass is the unit the daemon will schedule; "dnsward update" runs it
 * once.  Results go to `out` as one line per record and family:
 *   updated FQDN TYPE ADDRESS        provider now holds it
 *   unchanged FQDN TYPE ADDRESS      already published (state or provider)
 *   would-update FQDN TYPE ADDRESS   dry run
 *   no-address FQDN TYPE (REASON)    nothing acceptable to publish
 *   failed FQDN TYPE ADDRESS OUTCOME provider said retry/ratelimit/fatal
 * and failures are also logged with the provider's message. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "lib/addr.h"
#include "lib/config.h"
#include "lib/provider.h"
#include "lib/state.h"

struct dw_update_opts {
	bool dry_run;           /* decide and print, call no provider, save nothing */
	bool force;             /* call the provider even when state says published */
	char **only;            /* record names to handle; NULL/0 = all */
	size_t nonly;
};

struct dw_update_summary {
	unsigned updated, unchanged, planned, no_address, retry, fatal;
	/* Families without an address for a steady, expected reason (an
	 * interface with only a DS-Lite or carrier-grade NAT IPv4 address)
	 * while the record's other family was published: not a failure. */
	unsigned steady;
};

/* The address a record should publish for fam, from a dump (addrs, may be
 * NULL when the source is static).  Returns 0 and fills ip, or DW_ENOTFOUND
 * with a human reason in why (e.g. "no usable address on eth0: ...").  An
 * interface whose only IPv4 addresses are DS-Lite B4 (192.0.0.0/29) or
 * carrier-grade NAT (100.64/10) ones, not accepted, gets a reason that says
 * so and what to set (ipv4 = off, or web). */
int dw_update_desired(const struct dw_record *r, enum dw_family fam,
                      const struct dw_addr_list *addrs, struct dw_ip *ip,
                      char *why, size_t whylen);
/* The same, also telling (steady, may be NULL) whether that reason is the
 * steady carrier-side one. */
int dw_update_desired_ex(const struct dw_record *r, enum dw_family fam,
                         const struct dw_addr_list *addrs, struct dw_ip *ip,
                         char *why, size_t whylen, bool *steady);

/* What one record needs for one family, decided before publishing. */
struct dw_plan {
	bool active;               /* the family's source is not "off" */
	bool have_addr;            /* a desired address was found ... */
	struct dw_ip addr;         /* ... this one */
	char why[512];             /* else: why not (human text) */
	bool steady;               /* ... for a steady, expected reason: the
	                            * interface has only carrier-side IPv4
	                            * addresses (DS-Lite B4, CGN shared space) */
	bool publish;              /* differs from the state, or forced */
	char prev[DW_IP_STRLEN];   /* last published address, "" if none */
};

struct dw_dnsauth_cfg;

/* Decides, for both families of r, what to publish.  st may be NULL (no
 * state: everything found is published). */
void dw_update_plan(const struct dw_record *r, const struct dw_addr_list *addrs,
                    const struct dw_state *st, bool force, struct dw_plan plan[DW_FAM_COUNT]);

/* Publishes the families whose plan says publish through r's provider: in
 * one request (ops->update_multi) when both need it and the provider can,
 * else one ops->update per family.  With cold non-NULL ("cold-start-check"),
 * a family with nothing in the state is first looked up at the zone's
 * authoritative servers (found through cold): when every one of them already
 * serves exactly the address, the result is "unchanged" and the provider is
 * not called, so a first start never sends a needless update.
 * Fills res[f] for those families (others
 * are left as "retry", untouched by any provider).  Blocks on the network;
 * touches neither the state nor r's configuration, so it may run outside the
 * thread that owns them. */
void dw_update_publish(struct dw_record *r, const struct dw_plan plan[DW_FAM_COUNT],
                       const struct dw_dnsauth_cfg *cold, struct dw_result res[DW_FAM_COUNT]);

/* Whether r still holds addr, the address last published for addr->family
 * (drift repair): the provider's own read-back (ops->verify: rfc2136 asks
 * its server with a signed query; HTTP APIs that can read a record GET it)
 * when it has one, else every authoritative server of the zone, found
 * through auth (NULL: unknown).  Those servers decide only together: the
 * value stands when every server that answers authoritatively serves
 * exactly addr, drifted when none does, unknown when they disagree (a change
 * still spreading to secondaries) or none answers.  TTLs are not compared.
 * Blocks on the network; touches neither the state nor r's configuration,
 * so it may run outside the thread that owns them. */
void dw_update_verify(const struct dw_record *r, const struct dw_ip *addr,
                      const struct dw_dnsauth_cfg *auth, struct dw_verify *out);

/* Runs one pass over cfg.  Returns 0 when it ran (even if some records
 * failed; see sum), or an error with diag (state unreadable, netlink down). */
int dw_update_pass(struct dw_config *cfg, const struct dw_update_opts *opts,
                   struct dw_update_summary *sum, FILE *out, struct dw_diag *diag);

/* Path of the state file for cfg (STATE_DIR/state.json) into buf. */
int dw_update_state_path(const struct dw_config *cfg, char *buf, size_t cap);
