/* DNS helpers for RFC 2136 dynamic updates signed with RFC 8945 TSIG.
 *
 * Messages are built and parsed with ldns; the transport (UDP, then TCP when
 * the reply is truncated) and TSIG signing/verification are done here.  TSIG
 * is our own code because ldns 1.8.3 only computes hmac-sha1/256/512 (its
 * hmac-sha384 name is misspelt, hmac-sha224 is missing) and copies the key
 * into ordinary heap memory; the HMACs come from OpenSSL's libcrypto, the
 * decoded key lives in sodium memory and every copy is wiped after each use.
 *
 * Names passed in and out are presentation text, lower case, without the
 * trailing dot ("host.example.org"); the root zone is "".  Nothing here logs a
 * secret or places one in a diag. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/error.h"
#include "lib/secret.h"

#define DW_DNS_NAME_MAX 256        /* presentation form, with the NUL */
#define DW_TSIG_MAC_MAX 64         /* SHA-512 */
#define DW_TSIG_FUDGE 300          /* seconds, as BIND and Knot use */

/* RCODEs and TSIG errors we classify (RFC 1035, 2136, 8945). */
enum {
	DW_RCODE_NOERROR = 0,
	DW_RCODE_FORMERR = 1,
	DW_RCODE_SERVFAIL = 2,
	DW_RCODE_NXDOMAIN = 3,
	DW_RCODE_NOTIMP = 4,
	DW_RCODE_REFUSED = 5,
	DW_RCODE_YXDOMAIN = 6,
	DW_RCODE_YXRRSET = 7,
	DW_RCODE_NXRRSET = 8,
	DW_RCODE_NOTAUTH = 9,
	DW_RCODE_NOTZONE = 10,
	DW_TSIG_BADSIG = 16,
	DW_TSIG_BADKEY = 17,
	DW_TSIG_BADTIME = 18,
	DW_TSIG_BADTRUNC = 22,
};

/* Mnemonic of an RCODE or TSIG error ("NOTAUTH", "BADKEY"), or "RCODE<n>"
 * formatted into buf (16 bytes) for unknown values.  Returns buf or a static
 * string. */
const char *dw_rcode_str(int rcode, char buf[16]);

/* ------------------------------------------------------------------ TSIG keys */

enum dw_tsig_alg {
	DW_TSIG_HMAC_SHA256 = 0,   /* the default */
	DW_TSIG_HMAC_SHA384,
	DW_TSIG_HMAC_SHA512,
	DW_TSIG_HMAC_SHA224,
	DW_TSIG_HMAC_SHA1,         /* legacy: accepted with a warning */
	DW_TSIG_ALG_COUNT
};

struct dw_tsig_key {
	char name[DW_DNS_NAME_MAX];   /* lower case, no trailing dot */
	char algorithm[64];           /* canonical name, e.g. "hmac-sha256" */
	struct dw_secret secret;      /* base64 text (validated) in sodium memory */
};

/* Algorithm by name (case-insensitive, trailing dot ignored).  Returns 0,
 * DW_EUNSUPP for hmac-md5 (refused: broken) or DW_EINVAL for others. */
int dw_tsig_alg_parse(const char *name, enum dw_tsig_alg *out);
const char *dw_tsig_alg_name(enum dw_tsig_alg alg);

/* Parses the key named want (NULL: the file must hold exactly one key) from
 * text[0..len) (need not be NUL-terminated).  Two formats are recognised by
 * their first statement:
 *   BIND:  key "NAME" { algorithm hmac-sha256; secret "BASE64"; };
 *          (comments //, # and C-style; several key clauses allowed)
 *   Knot:  key:\n  - id: NAME\n    algorithm: hmac-sha256\n    secret: BASE64
 *          (the output of "keymgr -t NAME"; several items allowed)
 * A missing algorithm means hmac-sha256.  file names the source in errors
 * ("FILE:LINE: ..."), may be NULL.  Pure: no I/O, no logging, does not
 * register the secret for redaction (dw_tsig_key_load() does).  On success out
 * owns a copy of the secret (release with dw_tsig_key_clear()); on failure out
 * is zeroed and diag says why: DW_EPARSE (syntax, bad base64, missing field),
 * DW_EUNSUPP (hmac-md5 or unknown algorithm), DW_ENOTFOUND (no such key, or
 * several keys and want NULL), DW_ENOMEM. */
int dw_tsig_key_parse(const char *text, size_t len, const char *file,
                      const char *want, struct dw_tsig_key *out,
                      struct dw_diag *diag);

/* Reads path with dw_secret_load(DW_SECRET_FILE) (so the file's mode is
 * checked), parses it as above, registers the secret with the log redactor
 * and warns about legacy algorithms.  Errors as above plus DW_ESECRET. */
int dw_tsig_key_load(const char *path, const char *want, struct dw_tsig_key *out,
                     struct dw_diag *diag);

/* Wipes the secret; safe on a zeroed or cleared key. */
void dw_tsig_key_clear(struct dw_tsig_key *k);

/* HMAC of data with the key's algorithm and decoded secret.  mac receives
 * DW_TSIG_MAC_MAX bytes at most; *maclen its length.  Returns 0, DW_EINVAL
 * (bad algorithm), DW_ENOMEM or DW_ETSIG (the crypto library failed).
 * Exposed for tests (RFC 4231 vectors). */
int dw_hmac(enum dw_tsig_alg alg, const uint8_t *key, size_t keylen,
            const uint8_t *data, size_t len, uint8_t mac[DW_TSIG_MAC_MAX],
            size_t *maclen);

/* --------------------------------------------------------------- DNS replies */

/* A reply as read from the wire.  Pointers point into the parsed buffer. */
struct dw_dns_reply {
	uint16_t id;
	bool qr, tc, aa;
	uint8_t opcode;
	int rcode;                          /* header RCODE (+ EDNS extension) */
	uint16_t qdcount, ancount, nscount, arcount;
	char soa_owner[DW_DNS_NAME_MAX];    /* first SOA of answer, else authority; "" none */
	bool has_soa;
	/* The TSIG RR, when the last additional record is one. */
	bool has_tsig;
	size_t tsig_offset;                 /* where the TSIG RR starts in the wire */
	char tsig_name[DW_DNS_NAME_MAX];
	char tsig_alg[DW_DNS_NAME_MAX];
	uint64_t tsig_time;                 /* 48-bit time signed */
	uint16_t tsig_fudge;
	const uint8_t *tsig_mac;
	uint16_t tsig_mac_len;
	uint16_t tsig_orig_id;
	uint16_t tsig_error;
	const uint8_t *tsig_other;
	uint16_t tsig_other_len;
};

/* Parses wire[0..len) strictly (bounded cursor, compression loops and
 * out-of-range pointers rejected, trailing bytes rejected).  Pure; fuzzed.
 * Returns 0 or DW_EPARSE with diag. */
int dw_dns_parse_reply(const uint8_t *wire, size_t len, struct dw_dns_reply *out,
                       struct dw_diag *diag);

/* One resource record of a reply, pointing into the parsed buffer. */
struct dw_dns_rr {
	char owner[DW_DNS_NAME_MAX];   /* lower case, no trailing dot, "" = root */
	uint16_t type, klass;
	uint32_t ttl;                  /* 0 for a question */
	const uint8_t *rdata;          /* exactly rdlen bytes; NULL for a question */
	uint16_t rdlen;
};

/* The first question and the answer records of wire[0..len), a reply that
 * must also pass dw_dns_parse_reply() (checked here too).  q (may be NULL)
 * receives the question (DW_EPARSE when there is none); an[0..cap) the
 * answers in order, *nan their number.  A reply with more than cap answers
 * is DW_ETOOBIG.  Pure; fuzzed through its callers.  Returns 0, DW_EPARSE
 * or DW_ETOOBIG with diag. */
int dw_dns_reply_answers(const uint8_t *wire, size_t len, struct dw_dns_rr *q,
                         struct dw_dns_rr *an, size_t cap, size_t *nan, struct dw_diag *diag);

/* Verifies the TSIG of a parsed reply to a request whose MAC was req_mac,
 * with the key and the current time now.  Returns 0 when the MAC matches and
 * the time is within the fudge, DW_ETSIG otherwise (diag says why).  Pure. */
int dw_tsig_verify_reply(const uint8_t *wire, size_t len,
                         const struct dw_dns_reply *rep,
                         const struct dw_tsig_key *key,
                         const uint8_t *req_mac, size_t req_mac_len,
                         uint64_t now, struct dw_diag *diag);

/* ------------------------------------------------------------------ exchanges */

/* Where messages go. */
struct dw_dns_server {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64];        /* "127.0.0.1 port 53" for messages */
	long timeout_ms;      /* per exchange (UDP try, then TCP) */
};

/* Fills srv from a numeric IPv4/IPv6 address (no name resolution: the
 * server of a zone must not depend on DNS) and a port.  DW_EINVAL on error. */
int dw_dns_server_set(struct dw_dns_server *srv, const char *ip, uint16_t port,
                      long timeout_ms, struct dw_diag *diag);

/* The outcome of an exchange that got a reply. */
struct dw_dns_status {
	int rcode;           /* reply RCODE */
	int tsig_error;      /* error field of the reply's TSIG; 0 when none */
	bool signed_ok;      /* the reply carried a valid TSIG */
	bool tcp;            /* the reply came over TCP */
};

/* True when name (lower case, no trailing dot) is zone or lies below it, on
 * a label boundary; an empty zone (the root) holds every name. */
bool dw_dns_name_in_zone(const char *name, const char *zone);

/* All exchanges below return 0 when a reply came back (look at st), or
 * DW_ETIMEOUT, DW_EDNS (socket error, ID mismatch, unexpected reply),
 * DW_EPARSE (malformed reply), DW_ETSIG (a NOERROR reply without a valid TSIG
 * to a signed request: never trusted).  Error replies without a valid TSIG
 * are returned with signed_ok false: they can only make us fail, never make
 * us believe a change happened.  key may be NULL (unsigned messages). */

/* ------------------------------------------------ a zone's nameserver names */

#define DW_DNS_NS_MAX 16           /* NS targets kept per zone */

/* What a zone's own data says about where it is served: the targets of its
 * apex NS RRset and its SOA MNAME.  Their addresses (glue, or in-zone A and
 * AAAA records) send resolvers to the zone's servers, so whoever may change
 * them can take the whole zone.  And whether a name lies at or below a
 * delegation inside the zone (where the data is another zone's, or glue). */
struct dw_dns_zone_ns {
	char apex[DW_DNS_NAME_MAX];
	char mname[DW_DNS_NAME_MAX];                /* "" until an SOA was read */
	char ns[DW_DNS_NS_MAX][DW_DNS_NAME_MAX];
	size_t nns;
	char cut[DW_DNS_NAME_MAX];                  /* "" or the delegation point */
	char from[128];                             /* the servers asked, for messages */
};

/* From the reply wire[0..len): for each answer RR of type owned by owner,
 * the first name of its RDATA (NS: the target; SOA: the MNAME) added to
 * out[0..cap) unless already there, *n counting them (the caller sets *n;
 * several replies add up; out NULL: none are read); and in cut (when not NULL) the owner of the NS
 * RRs of the authority section when the reply is a referral (NOERROR, not
 * authoritative, no answer), else "".  Names as everywhere here: lower
 * case, no trailing dot (unusual bytes as \DDD, which no host name
 * matches).  Pure; fuzzed.  Returns 0, DW_EPARSE, or DW_ETOOBIG when more
 * than cap names would be kept. */
int dw_dns_reply_names(const uint8_t *wire, size_t len, const char *owner, uint16_t type,
                       char (*out)[DW_DNS_NAME_MAX], size_t cap, size_t *n,
                       char cut[DW_DNS_NAME_MAX], struct dw_diag *diag);

/* Asks srv (signed with key when not NULL; no recursion) about the zone at
 * out->apex (set by the caller) and about name inside it: the apex's SOA
 * MNAME and NS targets from authoritative NOERROR answers, added to what out
 * already holds (several servers add up), and out->cut when the server
 * answers a query for name with a referral.  out->from names srv.  Returns
 * 0; DW_EPROVIDER when a reply decides nothing (an error RCODE, a TSIG
 * error, not authoritative, no NS RRset at the apex: diag and st say); or an
 * exchange error as listed above. */
int dw_dns_zone_ns(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                   const char *name, struct dw_dns_zone_ns *out, struct dw_dns_status *st,
                   struct dw_diag *diag);

/* Finds the zone holding name: asks the server for name's SOA, takes the
 * owner of the SOA in the answer or authority section, and walks up one label
 * at a time when the reply has none (e.g. REFUSED for a name the server is
 * not authoritative for).  zone receives the apex ("example.org").  Returns
 * DW_ENOTFOUND when no level yields a SOA; st holds the last reply;
 * DW_EPROVIDER (look at st) for SERVFAIL, a TSIG error, or a NOTAUTH to a
 * signed query (the key is refused: walking up would not help). */
int dw_dns_find_zone(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                     const char *name, char zone[DW_DNS_NAME_MAX],
                     struct dw_dns_status *st, struct dw_diag *diag);

/* What a server serves at name/type, compared with the RRs a caller expects
 * (rdata[0..n): presentation form of the RDATA, e.g. "192.0.2.1" or
 * "\"text\"").  Filled by dw_dns_rrset_compare() / dw_dns_rrset_look(). */
struct dw_dns_seen {
	int rcode;            /* reply RCODE (NXDOMAIN: the name is gone) */
	bool aa;              /* the reply is authoritative */
	size_t held;          /* how many of rdata[0..n) the RRset holds */
	size_t others;        /* RRs of the type at name that are not in rdata */
	bool ttl_differs;     /* a held RR has a TTL other than the one expected */
	char text[192];       /* for messages: "A 192.0.2.7 TTL 300", "no A
	                       * record", "NXDOMAIN"; long sets end in "..." */
};

/* Seen as an exact match: the RRset is rdata[0..n) with the TTL, nothing else. */
static inline bool dw_dns_seen_exact(const struct dw_dns_seen *s, size_t n)
{
	return s->held == n && s->others == 0 && !s->ttl_differs;
}

/* Compares the answer section of the reply wire[0..len) (a reply to a query
 * for name/type) with rdata[0..n) and TTL ttl into *seen.  Only RRs of that
 * type owned by name count; RDATA are compared in wire form (ldns), owners
 * case-insensitively.  Pure; fuzzed.  Returns 0, DW_EINVAL (bad rdata or
 * name) or DW_EPARSE (the reply does not parse). */
int dw_dns_rrset_compare(const uint8_t *wire, size_t len, const char *name, uint16_t type,
                         uint32_t ttl, const char *const *rdata, size_t n,
                         struct dw_dns_seen *seen, struct dw_diag *diag);

/* Asks srv (signed with key) for name/type and compares the answer as
 * above.  Returns 0 when a reply came (st and seen filled; an error RCODE
 * other than NXDOMAIN leaves seen->held and others at 0: look at st), or an
 * exchange error as listed above. */
int dw_dns_rrset_look(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                      const char *name, uint16_t type, uint32_t ttl,
                      const char *const *rdata, size_t n, struct dw_dns_seen *seen,
                      struct dw_dns_status *st, struct dw_diag *diag);

/* The RRset name/type as a look saw it: what an UPDATE's prerequisite
 * says (RFC 2136 2.4).  An UPDATE carrying it is applied only while the
 * set is still exactly these RRs (2.4.2, "RRset exists, value dependent";
 * TTLs are not compared) or, when there were none, while there is still
 * no RRset of the type at the name (2.4.3, "RRset does not exist"): a
 * copy of the UPDATE that reaches the server late, after a newer one was
 * applied, fails with NXRRSET or YXRRSET and changes nothing.  Filled by
 * dw_dns_rrset_look_before(); release with dw_dns_before_clear(). */
struct dw_dns_before {
	bool known;           /* a look filled it */
	size_t n;             /* RRs of the type at the name; 0: none */
	void *rrs;            /* their copies (ldns), TTL 0, owned */
};

/* Frees b->rrs and zeroes b; safe on a zeroed one. */
void dw_dns_before_clear(struct dw_dns_before *b);

/* Sets b to "no RRset of the type at the name" (known, n 0). */
void dw_dns_before_absent(struct dw_dns_before *b);

/* True when a and b were both filled and hold the same RRs (TTL aside, in
 * any order). */
bool dw_dns_before_same(const struct dw_dns_before *a, const struct dw_dns_before *b);

/* The RRs of type owned by name in the answer section of the reply
 * wire[0..len), copied into *b (cleared first): class IN, TTL 0, the
 * owner as given, sorted; known set.  The caller checks the reply's RCODE
 * first (this reads only its answers).  Pure; fuzzed.  Returns 0,
 * DW_EPARSE (b stays cleared) or DW_ENOMEM. */
int dw_dns_before_from_reply(const uint8_t *wire, size_t len, const char *name, uint16_t type,
                             struct dw_dns_before *b);

/* dw_dns_rrset_look(), and when before is not NULL and the reply says what
 * the name holds (NOERROR or NXDOMAIN, no TSIG error), the RRs of the type
 * at the name kept in *before (cleared first; known stays false for any
 * other reply). */
int dw_dns_rrset_look_before(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                             const char *name, uint16_t type, uint32_t ttl,
                             const char *const *rdata, size_t n, struct dw_dns_seen *seen,
                             struct dw_dns_before *before, struct dw_dns_status *st,
                             struct dw_diag *diag);

/* Asks for name/type and sets *same when the answer holds exactly the RRs in
 * rdata[0..n) with TTL ttl, and nothing else of that type at that name
 * (dw_dns_rrset_look() and dw_dns_seen_exact()). */
int dw_dns_rrset_equal(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                       const char *name, uint16_t type, uint32_t ttl,
                       const char *const *rdata, size_t n, bool *same,
                       struct dw_dns_status *st, struct dw_diag *diag);

/* Replaces the RRset name/type atomically with one UPDATE message: zone
 * section (zone SOA IN), prerequisite section from pre when it is not NULL
 * (and known: see struct dw_dns_before; the RRs as seen, class IN, TTL 0,
 * or one "RRset does not exist", class NONE), update section "delete
 * RRset" (class ANY, type, TTL 0) followed by one "add" per rdata[i] with
 * TTL ttl.  A prerequisite that no longer holds is a reply with RCODE
 * NXRRSET or YXRRSET (st), the zone unchanged. */
int dw_dns_replace_rrset(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                         const char *zone, const char *name, uint16_t type,
                         uint32_t ttl, const char *const *rdata, size_t n,
                         const struct dw_dns_before *pre,
                         struct dw_dns_status *st, struct dw_diag *diag);

/* Adds (del false: class IN, TTL ttl) or deletes (del true: class NONE,
 * TTL 0, RFC 2136 2.5.4) the single RRs name/type/rdata[i] in one UPDATE,
 * leaving the other RRs of the set alone: how one TXT value is added to or
 * removed from a set several ACME challenges share.  Adding an RR already
 * there and deleting one that is absent are no-ops for the server.  pre:
 * a prerequisite as for dw_dns_replace_rrset(), or NULL. */
int dw_dns_update_rrs(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                      const char *zone, const char *name, uint16_t type, uint32_t ttl,
                      const char *const *rdata, size_t n, bool del,
                      const struct dw_dns_before *pre,
                      struct dw_dns_status *st, struct dw_diag *diag);
