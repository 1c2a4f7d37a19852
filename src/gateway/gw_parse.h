/* Pure parsers for the gateway's untrusted inputs: query strings, HTTP Basic
 * credentials, X-Forwarded-For, CIDR lists, the FRITZ!Box prefix form and
 * ACME TXT values.  No I/O, no globals: each has a unit test and a fuzz
 * target.  Every output has a fixed maximum; anything larger is an error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define GW_QUERY_MAX_PARAMS 32
#define GW_QUERY_KEY_MAX 32
#define GW_QUERY_VALUE_MAX 1024
#define GW_QUERY_RAW_MAX 4096

struct gw_param {
	char key[GW_QUERY_KEY_MAX];
	char value[GW_QUERY_VALUE_MAX];
};

struct gw_query {
	struct gw_param p[GW_QUERY_MAX_PARAMS];
	size_t n;
};

/* Parses "a=1&b=x%20y" (the part after '?', without a fragment) of len
 * bytes: '+' is a space, %XX is decoded; empty pairs ("&&") are skipped; a
 * key without '=' has the value "".  Refuses (DW_EINVAL): bad %-escapes,
 * decoded bytes below 0x20 or 0x7f (so no NUL or control character survives),
 * a key given twice (which one would win is exactly the ambiguity an
 * attacker wants), over-long keys/values, too many pairs, len over
 * GW_QUERY_RAW_MAX. */
int gw_query_parse(const char *s, size_t len, struct gw_query *out);
/* Value of key (exact, case-sensitive match as clients send them) or NULL. */
const char *gw_query_get(const struct gw_query *q, const char *key);

#define GW_CRED_MAX 256

/* Parses an Authorization header value "Basic base64(user:pass)" (scheme
 * case-insensitive, standard base64 with or without padding).  user and pass
 * must be 1..GW_CRED_MAX-1 bytes of printable ASCII without ':' in user.
 * Returns 0 or DW_EINVAL (outputs zeroed on error). */
int gw_basic_parse(const char *header, char user[GW_CRED_MAX], char pass[GW_CRED_MAX]);

#define GW_CIDR_MAX 32

struct gw_cidrs {
	struct dw_prefix v[GW_CIDR_MAX];
	size_t n;
};

/* Parses a comma- or blank-separated list of CIDRs ("192.0.2.0/24, ::1/128";
 * a bare address means /32 or /128).  Host bits must be zero.  Empty text is
 * an empty list.  Returns 0 or DW_EINVAL. */
int gw_cidrs_parse(const char *s, struct gw_cidrs *out);
bool gw_cidrs_contain(const struct gw_cidrs *c, const struct dw_ip *ip);

/* Parses an address, accepting IPv4-mapped IPv6 (::ffff:a.b.c.d) as the
 * IPv4 address it carries (sockets on dual-stack listeners report those). */
int gw_ip_parse_unmapped(const char *s, struct dw_ip *out);

/* The client's address: peer itself unless peer is a trusted proxy; then
 * X-Forwarded-For (xff, may be NULL) is walked from the right, skipping
 * trusted proxies, and the first other address is the client.  Returns 0,
 * or DW_EINVAL when a trusted proxy sent no usable header (then out = peer,
 * and the caller should refuse: a proxy that forgets the header would
 * otherwise make every client look like the proxy). */
int gw_client_addr(const struct dw_ip *peer, const char *xff, const struct gw_cidrs *trusted,
                   struct dw_ip *out);

/* FRITZ!Box "<ip6lanprefix>" form: "2001:db8:1:2::/64".  Parses the prefix
 * (length 1..128; host bits are ignored, routers send them either way) and
 * combines it with the interface id iid: prefix bits from the prefix, the
 * rest from iid.  Returns 0 or DW_EINVAL. */
int gw_prefix_combine(const char *prefix, const struct dw_ip *iid, struct dw_ip *out);

/* Normalises a host name from a request in place: ASCII letters, digits,
 * '-', '_' and '.', one optional trailing dot, lower-cased, labels 1..63,
 * total <= 253.  No '*', no percent signs, no non-ASCII (IDN must arrive as
 * its xn-- form).  Returns 0 or DW_EINVAL. */
int gw_name_normalize(char *name);

/* An ACME dns-01 TXT value: exactly 43 characters of base64url. */
bool gw_acme_value_ok(const char *s);
/* value = base64url(SHA-256(keyauth)), 43 characters + NUL. */
void gw_acme_value_from_keyauth(const char *keyauth, char value[44]);
