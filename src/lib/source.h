/* Address sources beyond the kernel's own: for hosts behind NAT (web and
 * DNS echoes, a program's output) and for LAN hosts whose router publishes
 * them (the interface's current IPv6 prefix plus a fixed host part).
 *
 *   ipv4 = web        HTTPS echo services, each request forced over the
 *                     record's family (IPv4 or IPv6 only, never the other)
 *   ipv6 = dns        DNS echo queries (OpenDNS, Cloudflare, Google)
 *   ipv4 = cmd:PATH   a program run without a shell; it must print exactly
 *                     one address of the family
 *   ipv6 = iface:br0 + ipv6-suffix = ::1234:5678:9abc:def0
 *
 * Agreement (web and dns): the services are asked in order until
 * min(2, N) of them (N configured) gave the same address while no answer
 * disagreed.  When answers disagree, every service is asked and an address
 * wins only with at least min(2, N) answers that are also a strict majority
 * of the answers received; otherwise nothing is published.  A failed or
 * malformed answer is no vote.
 *
 * Every fetched address is then checked against the record's policy
 * (ipv4-accept, ipv6-accept, ipv4-match, ipv6-match) exactly like an
 * interface address: a CGNAT or loopback answer is refused unless accepted.
 *
 * Fetching blocks, bounded by the source's timeout per service (so at most
 * N times it for web and dns); the daemon runs it off its event loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/config.h"

#define DW_SOURCE_TIMEOUT_DEFAULT_S 10
#define DW_SOURCE_POLL_DEFAULT_S 300
#define DW_SOURCE_OUTPUT_MAX 4096     /* bytes read from an echo or a program */

/* True for sources that must be polled (web, dns, cmd): nothing tells us
 * when their answer changes.  Interface and static sources never poll. */
bool dw_source_polls(const struct dw_source *src);

/* Fetches the address src gives for fam now (web, dns, cmd only), checked
 * against src->policy.  Returns 0 and fills out, or an error (DW_ENOTFOUND
 * when no acceptable address came back, DW_ETIMEOUT, DW_EHTTP, ...) with a
 * human reason in why.  Blocks at most about nservices * timeout. */
int dw_source_fetch(const struct dw_source *src, enum dw_family fam, struct dw_ip *out,
                    char *why, size_t whylen);

/* The address made of prefix's first plen bits and suffix's remaining bits
 * (IPv6).  plen is the chosen address's prefix length; values outside
 * 1..127 mean 64.  Returns 0, or DW_EINVAL when suffix has bits set inside
 * the prefix (why says so). */
int dw_source_apply_suffix(const struct dw_ip *prefix, unsigned plen,
                           const struct dw_ip *suffix, struct dw_ip *out,
                           char *why, size_t whylen);

/* ---- Pure parsers (unit tests and fuzz targets) ------------------------ */

/* Parses an HTTP echo answer body[0..len) (need not be NUL-terminated):
 * either one address followed only by blanks and line ends, or key=value
 * lines (Cloudflare's /cdn-cgi/trace) with exactly one "ip=ADDRESS" line.
 * The address must be of family fam.  Returns 0, or DW_EPARSE with a reason
 * (printable, bounded) in why. */
int dw_source_parse_echo(const char *body, size_t len, enum dw_family fam, struct dw_ip *out,
                         char *why, size_t whylen);

/* Parses a program's output: exactly one address of fam on one line (a final
 * line end is allowed, nothing else).  Returns 0 or DW_EPARSE with why. */
int dw_source_parse_cmd(const char *text, size_t len, enum dw_family fam, struct dw_ip *out,
                        char *why, size_t whylen);

/* Builds the DNS echo query of kind for fam with message ID id into
 * wire (cap bytes); *len receives its length.  0, DW_ETOOBIG or DW_ENOMEM. */
int dw_source_dns_query(enum dw_echo_kind kind, enum dw_family fam, uint16_t id,
                        uint8_t *wire, size_t cap, size_t *len);

/* Parses a reply to that query: the wire strictly (every RDLENGTH exactly
 * its data, no byte after the last record: dw_dns_reply_answers), ID, QR,
 * opcode, RCODE NOERROR, the question echoed, and answers at the queried
 * name: A/AAAA records of exactly 4/16 bytes (OpenDNS) or TXT strings
 * (Cloudflare, Google) each exactly one address of fam, printable with no
 * NUL or blank.  Every such answer must give the same address, and there
 * must be at least one.  Returns 0 or DW_EPARSE with why. */
int dw_source_parse_dns(enum dw_echo_kind kind, enum dw_family fam, uint16_t id,
                        const uint8_t *wire, size_t len, struct dw_ip *out,
                        char *why, size_t whylen);

/* Agreement among answers (see above).  votes[i] is answer i; ok[i] false
 * means service i gave none.  n is the number of configured services.
 * Returns the index of an answer holding the winning address, or -1.
 * done (may be NULL) tells whether more answers could still change nothing:
 * callers ask services one by one and stop as soon as it is true. */
int dw_source_agree(const struct dw_ip *votes, const bool *ok, size_t nanswered,
                    size_t nconfigured, bool *done);

/* ---- Configuration (called by config.c) -------------------------------- */

/* [dnsward] keys: poll-interval, source-timeout, web-ipv4, web-ipv6,
 * web-ca-file, dns-ipv4, dns-ipv6.  Fills cfg->poll_interval_s and
 * cfg->src_defaults (with the built-in defaults for absent keys). */
int dw_source_conf_global(struct dw_config *cfg, struct dw_conf_ctx *ctx);
/* Built-in defaults, also used when there is no [dnsward] section. */
void dw_source_defaults(struct dw_config *cfg);

/* A record's source value v for fam that is not iface/static/off ("web",
 * "dns", "cmd:PATH"): fills src (kind and lists, from the defaults and the
 * record's ipv4-web/ipv6-web/ipv4-dns/ipv6-dns keys).  Returns 0,
 * DW_ENOTFOUND when v is none of these (the caller reports it), or an error
 * set through ctx. */
int dw_source_conf_record(const struct dw_config *cfg, struct dw_conf_ctx *ctx,
                          enum dw_family fam, const char *v, struct dw_source *src);
/* After the source is known: record keys that only some sources take
 * (ipv6-suffix with iface:, ipv4-web with web, ...), each refused with a
 * clear message when given with another source. */
int dw_source_conf_extra(const struct dw_config *cfg, struct dw_conf_ctx *ctx,
                         enum dw_family fam, struct dw_source *src);
