/* RFC 2136 dynamic update signed with TSIG, to any authoritative server
 * (Knot, BIND, PowerDNS...).
 *
 *   [provider own]            [record host.example.org]
 *   type = rfc2136            provider = own
 *   server = 192.0.2.53       zone = example.org     (optional)
 *   port = 53
 *   key-file = /etc/dnsward/host.key
 *   key-name = host-key       (optional: choose among several keys)
 *   zone = example.org        (optional: else found with a SOA query)
 *   confirm-timeout = 5       (optional: seconds to wait for the change)
 *
 * Before an UPDATE we ask the server for the RRset (a signed query): when it
 * already holds exactly the address with the configured TTL, the record is
 * reported unchanged and nothing is sent, so a lost state directory or
 * "--force" never bumps the zone serial for nothing.
 *
 * Each UPDATE carries a prerequisite (RFC 2136 2.4): the RRset exactly as
 * that look saw it, or "no such RRset" when there was none.  A copy of the
 * UPDATE that reaches the server late (held in the network past our
 * timeout while the transport's resend was applied, and a newer UPDATE
 * after it) then fails with NXRRSET/YXRRSET and changes nothing, instead
 * of putting the older value back.  When our own UPDATE fails so (another
 * writer came first, or a copy of it was applied and this is the resend),
 * we look again: the value already served is done; else the UPDATE goes
 * again with the new look as its prerequisite, PREREQ_TRIES times at most.
 *
 * After a NOERROR we ask again until the server serves the change or
 * confirm-timeout passes: a NOERROR alone proves nothing, because PowerDNS's
 * lua-dnsupdate-policy-script drops refused records and still answers a
 * signed NOERROR.  Knot applies an UPDATE a little later (about 0.3 s), so
 * the question is repeated with growing gaps rather than asked once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/dns.h"
#include "lib/log.h"
#include "lib/provider.h"

struct dw_provider_data {
	struct dw_dns_server srv;
	struct dw_tsig_key key;
	char *key_file;
	char *zone;                  /* provider-wide zone, or NULL */
	uint32_t confirm_s;          /* confirm-timeout */
};

#define TYPE_TXT 16
#define CONFIRM_DEFAULT_S 5
#define CONFIRM_MAX_S 300
#define CONFIRM_FIRST_GAP_MS 50    /* then doubled ... */
#define CONFIRM_GAP_MAX_MS 500     /* ... up to this */
#define PREREQ_TRIES 4             /* UPDATEs sent for one change at most */

struct dw_record_data {
	char *zone;                  /* record's zone key, or NULL */
	char found[DW_DNS_NAME_MAX]; /* zone found by SOA query, cached */
};

/* Reads an optional zone key into *out (normalised, owned). */
static int read_zone(struct dw_conf_ctx *ctx, char **out)
{
	int ret = dw_conf_strdup(ctx, "zone", NULL, out);
	if (ret != DW_OK || *out == NULL)
		return ret;
	if (dw_fqdn_normalize(*out) != DW_OK) {
		free(*out);
		*out = NULL;
		return dw_conf_error(ctx, "zone", "not a valid domain name");
	}
	return DW_OK;
}

static void rfc2136_free(struct dw_provider *p)
{
	if (p->data == NULL)
		return;
	dw_tsig_key_clear(&p->data->key);
	free(p->data->key_file);
	free(p->data->zone);
	free(p->data);
	p->data = NULL;
}

static int rfc2136_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return DW_ENOMEM;
	p->data = d;
	struct dw_diag diag = { "" };
	struct dw_secret file = { 0 };
	uint32_t port = 53;
	int ret;

	const char *server = dw_conf_get(ctx, "server");
	if (server == NULL)
		return dw_conf_error(ctx, "server",
		                     "missing: the IP address of the primary server for the zone");
	if ((ret = dw_conf_uint(ctx, "port", 1, 65535, 53, &port)) != DW_OK)
		return ret;
	if (dw_dns_server_set(&d->srv, server, (uint16_t)port, p->timeout_ms, &diag) != DW_OK)
		return dw_conf_error(ctx, "server", "%s (a numeric address is required)", diag.msg);
	if ((ret = read_zone(ctx, &d->zone)) != DW_OK)
		return ret;
	if ((ret = dw_conf_uint(ctx, "confirm-timeout", 0, CONFIRM_MAX_S, CONFIRM_DEFAULT_S,
	                        &d->confirm_s)) != DW_OK)
		return ret;
	char *key_name = NULL;
	if ((ret = dw_conf_strdup(ctx, "key-name", NULL, &key_name)) != DW_OK)
		return ret;
	if ((ret = dw_conf_strdup(ctx, "key-file", NULL, &d->key_file)) != DW_OK)
		goto out;
	if (d->key_file == NULL) {
		ret = dw_conf_error(ctx, "key-file",
		                    "missing: a TSIG key file (BIND key clause or keymgr output)");
		goto out;
	}
	/* The core reads the file (mode checks, sodium memory); the parts we
	 * extract are registered with the redactor below. */
	ret = dw_conf_secret(ctx, "key-file", true, DW_SECRET_FILE, &file);
	if (ret != DW_OK)
		goto out;
	if (file.data == NULL) {
		/* Not read (a command that publishes nothing): the key's name
		 * and algorithm stay unknown. */
		ret = DW_OK;
		goto out;
	}
	ret = dw_tsig_key_parse(file.data, file.len, d->key_file, key_name, &d->key, &diag);
	dw_secret_clear(&file);
	if (ret != DW_OK) {
		ret = dw_conf_error(ctx, key_name != NULL && ret == DW_ENOTFOUND ? "key-name" : "key-file",
		                    "%s", diag.msg);
		goto out;
	}
	ret = dw_log_add_secret(d->key.secret.data, d->key.secret.len);
	if (ret != DW_OK) {
		ret = dw_conf_error(ctx, "key-file", "too many secrets to track for redaction");
		goto out;
	}
	if (strcmp(d->key.algorithm, "hmac-sha1") == 0)
		log_warning("%s: key '%s' uses hmac-sha1, a legacy algorithm; prefer hmac-sha256",
		            d->key_file, d->key.name);
	log_debug("provider %s: server %s, key '%s' (%s)%s%s", p->name, d->srv.text,
	          d->key.name, d->key.algorithm, d->zone ? ", zone " : "", d->zone ? d->zone : "");
	ret = DW_OK;
out:
	free(key_name);
	return ret;
}

static void rfc2136_free_record(struct dw_record *r)
{
	if (r->data == NULL)
		return;
	free(r->data->zone);
	free(r->data);
	r->data = NULL;
}

static int rfc2136_configure_record(struct dw_provider *p, struct dw_record *r,
                                    struct dw_conf_ctx *ctx)
{
	struct dw_record_data *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return DW_ENOMEM;
	r->data = rd;
	int ret = read_zone(ctx, &rd->zone);
	if (ret != DW_OK)
		return ret;
	const char *zone = rd->zone != NULL ? rd->zone : p->data->zone;
	if (zone != NULL && !dw_dns_name_in_zone(r->fqdn, zone))
		return dw_conf_error(ctx, rd->zone != NULL ? "zone" : NULL,
		                     "%s is not inside zone %s", r->fqdn, zone);
	return DW_OK;
}

/* Turns an exchange result into an outcome.  what: "update of NAME TYPE". */
static void classify(const struct dw_provider_data *d, const char *what, const char *zone,
                     int ret, const struct dw_dns_status *st, const struct dw_diag *diag,
                     struct dw_result *res)
{
	char rb[16], tb[16];
	switch (ret) {
	case DW_OK:
		break;
	case DW_ETIMEOUT:
	case DW_EDNS:
	case DW_EPARSE:
		dw_result_set(res, DW_OUT_RETRY, -1, "%s: %s", what, diag->msg);
		return;
	case DW_ETSIG:
		dw_result_set(res, DW_OUT_RETRY, -1, "%s: %s (check the clocks and the key)",
		              what, diag->msg);
		return;
	case DW_ENOTFOUND:
		dw_result_set(res, DW_OUT_FATAL, -1, "%s: %s; set zone = in the provider or record",
		              what, diag->msg);
		return;
	case DW_EPROVIDER:
		break;   /* a reply with an error: classified below */
	default:
		dw_result_set(res, DW_OUT_FATAL, -1, "%s: %s", what, diag->msg);
		return;
	}
	const char *rc = dw_rcode_str(st->rcode, rb);
	if (st->tsig_error == DW_TSIG_BADTIME) {
		dw_result_set(res, DW_OUT_RETRY, -1,
		              "server rejected the time of the signature on %s: %s (TSIG BADTIME); "
		              "this host's clock differs from the server's by more than %d s, "
		              "fix NTP", what, rc, DW_TSIG_FUDGE);
		return;
	}
	if (st->tsig_error == DW_TSIG_BADSIG) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "server refused %s with key '%s': %s (TSIG BADSIG); the secret in %s "
		              "does not match the server's", what, d->key.name, rc, d->key_file);
		return;
	}
	/* NOTAUTH without a TSIG error is RFC 2136's "not authoritative for the
	 * zone"; with one (Knot's ACL denial: BADKEY) it is an authorisation
	 * failure (RFC 8945). */
	if (st->rcode == DW_RCODE_NOTAUTH && st->tsig_error == 0) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%s: %s is not authoritative for zone %s (NOTAUTH); check zone = "
		              "and server =", what, d->srv.text, zone != NULL ? zone : "?");
		return;
	}
	if (st->tsig_error != 0 || st->rcode == DW_RCODE_REFUSED) {
		char tsig[32] = "";
		if (st->tsig_error != 0)
			snprintf(tsig, sizeof(tsig), " (TSIG %s)", dw_rcode_str(st->tsig_error, tb));
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "server refused %s with key '%s': %s%s; check the key and the "
		              "server's ACL/update-policy", what, d->key.name, rc, tsig);
		return;
	}
	switch (st->rcode) {
	case DW_RCODE_NOERROR:
		dw_result_set(res, DW_OUT_DONE, -1, "%s accepted by %s", what, d->srv.text);
		return;
	case DW_RCODE_NOTZONE:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%s: %s: the name is not inside zone %s; check zone =", what, rc,
		              zone != NULL ? zone : "?");
		return;
	case DW_RCODE_SERVFAIL:
		dw_result_set(res, DW_OUT_RETRY, -1, "%s: server answered SERVFAIL", what);
		return;
	default:
		dw_result_set(res, DW_OUT_FATAL, -1, "%s: server answered %s", what, rc);
		return;
	}
}

/* Like classify(), for the reply to a signed query (zone discovery, the
 * look before an UPDATE).  A NOTAUTH there is never "not authoritative"
 * (that is REFUSED for a query): RFC 8945 servers add a TSIG error to it,
 * and PowerDNS answers a query signed with an unknown key or a wrong secret
 * with a bare, unsigned NOTAUTH. */
static void classify_query(const struct dw_provider_data *d, const char *what, const char *zone,
                           int ret, const struct dw_dns_status *st, const struct dw_diag *diag,
                           struct dw_result *res)
{
	if ((ret == DW_OK || ret == DW_EPROVIDER) && st->rcode == DW_RCODE_NOTAUTH &&
	    st->tsig_error == 0) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "server %s rejected a query signed with key '%s' (NOTAUTH, unsigned): "
		              "it does not know the key, or the secret in %s differs from its own",
		              d->srv.text, d->key.name, d->key_file);
		return;
	}
	classify(d, what, zone, ret == DW_OK ? DW_EPROVIDER : ret, st, diag, res);
}

/* True when the reply to a query cannot be used to decide anything. */
static bool query_failed(int ret, const struct dw_dns_status *st)
{
	return ret != DW_OK || st->tsig_error != 0 || st->rcode == DW_RCODE_NOTAUTH;
}

/* The outcome when a look before an UPDATE, or after a failed
 * prerequisite, gives no usable answer (see look_usable()). */
static void look_failed(const struct dw_provider_data *d, const char *what, const char *zone,
                        int ret, const struct dw_dns_status *st, const struct dw_diag *diag,
                        struct dw_result *res)
{
	char rb[16];
	if (query_failed(ret, st) || st->rcode == DW_RCODE_SERVFAIL) {
		classify_query(d, what, zone, ret, st, diag, res);
		return;
	}
	/* Without a look no UPDATE can say what it replaces, nor be
	 * confirmed: nothing is sent. */
	dw_result_set(res, DW_OUT_FATAL, -1,
	              "%s: %s answers the signed query that comes before each UPDATE with %s: "
	              "let key '%s' query the zone", what, d->srv.text,
	              dw_rcode_str(st->rcode, rb), d->key.name);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* What the server must serve once an UPDATE is applied. */
enum expect {
	EXPECT_ONLY,   /* the RRset is exactly the one value (a replacement) */
	EXPECT_HELD,   /* the value is among the set's (a TXT value added) */
	EXPECT_GONE,   /* the value is not (a TXT value removed) */
};

/* True when a look answered the question at all: a reply we can read that
 * says what the name holds. */
static bool look_usable(int ret, const struct dw_dns_status *st)
{
	return ret == DW_OK && st->tsig_error == 0 &&
	       (st->rcode == DW_RCODE_NOERROR || st->rcode == DW_RCODE_NXDOMAIN);
}

static bool expect_met(enum expect e, const struct dw_dns_seen *s)
{
	switch (e) {
	case EXPECT_ONLY:
		return s->held == 1 && s->others == 0;   /* TTL: see confirm() */
	case EXPECT_HELD:
		return s->held == 1;
	case EXPECT_GONE:
		return s->held == 0;
	}
	return false;
}

/* Asks the server (signed) until it serves what a NOERROR'd UPDATE asked
 * for, with gaps growing from CONFIRM_FIRST_GAP_MS to CONFIRM_GAP_MAX_MS,
 * for confirm-timeout seconds at most (0: one look).  shown is the change
 * for messages ("A 192.0.2.1", "TXT \"v\"").  Sets res: done when served;
 * fatal when the server serves something else to the end (its update
 * policy dropped the change) or refuses the query; retry at once when a
 * query gets no reply (a server going down must not hold a worker for the
 * whole timeout; the next attempt asks before it sends). */
static void confirm(const struct dw_provider_data *d, const char *what, const char *name,
                    uint16_t type, uint32_t ttl, const char *rdata, const char *shown,
                    enum expect e, struct dw_result *res)
{
	const char *rd[1] = { rdata };
	long long start = now_ms();
	long long deadline = start + (long long)d->confirm_s * 1000;
	long long gap = CONFIRM_FIRST_GAP_MS;
	struct dw_dns_seen seen;
	struct dw_dns_status st;
	struct dw_diag diag = { "" };
	int ret, looks = 0;
	for (;;) {
		ret = dw_dns_rrset_look(&d->srv, &d->key, name, type, ttl, rd, 1, &seen, &st, &diag);
		looks++;
		if (!look_usable(ret, &st))
			break;   /* no answer, or a refusal: waiting would not change it */
		if (expect_met(e, &seen)) {
			long long took = now_ms() - start;
			log_debug("%s: served after %lld ms (%d signed quer%s)", what, took, looks,
			          looks == 1 ? "y" : "ies");
			if (e == EXPECT_ONLY && seen.ttl_differs)
				log_warning("%s: %s serves %s (the server changed the TTL from %u)",
				            what, d->srv.text, seen.text, ttl);
			dw_result_set(res, DW_OUT_DONE, -1, "%s accepted and served by %s", what,
			              d->srv.text);
			return;
		}
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
		sleep_ms(gap < left ? gap : left);
		gap = gap * 2 < CONFIRM_GAP_MAX_MS ? gap * 2 : CONFIRM_GAP_MAX_MS;
	}

	if (look_usable(ret, &st)) {
		/* The UPDATE's NOERROR was not the truth.  What it serves instead
		 * comes last: a long list is what gets cut. */
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "server %s refused the %s: it answered NOERROR but %s %s after %u s; "
		              "its update policy dropped it (PowerDNS lua-dnsupdate-policy-script, "
		              "BIND update-policy): allow key '%s' this change, or raise "
		              "confirm-timeout; it serves %s", d->srv.text, what,
		              e == EXPECT_GONE ? "still serves" : "does not serve", shown,
		              d->confirm_s, d->key.name, seen.text);
		return;
	}
	if (ret == DW_OK) {
		char rb[16], tb[16], tsig[32] = "";
		if (st.tsig_error != 0)
			snprintf(tsig, sizeof(tsig), " (TSIG %s)", dw_rcode_str(st.tsig_error, tb));
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%s: the server answered NOERROR, but refuses the signed query that "
		              "confirms it (%s%s): let key '%s' query the zone at %s",
		              what, dw_rcode_str(st.rcode, rb), tsig, d->key.name, d->srv.text);
		return;
	}
	dw_result_set(res, DW_OUT_RETRY, -1,
	              "%s: the server answered NOERROR, but the query that confirms it failed: %s",
	              what, diag.msg);
}

/* Sends the UPDATE for one change (e: EXPECT_ONLY replaces the RRset with
 * rdata, EXPECT_HELD adds the one RR, EXPECT_GONE removes it) with before,
 * the look that preceded it, as its prerequisite; then confirms it.  On a
 * failed prerequisite (NXRRSET, YXRRSET) asks again: done when the server
 * already serves the change, else the UPDATE goes again with what it
 * serves now (before is updated), PREREQ_TRIES UPDATEs at most.  A look
 * that shows the very RRset whose prerequisite just failed is a wildcard's
 * answer (RFC 4592: the name has no RRset of its own, and prerequisites
 * see only the zone's own data): the next UPDATE says "no such RRset". */
static void update_checked(const struct dw_provider_data *d, const char *what, const char *zone,
                           const char *name, uint16_t type, uint32_t ttl, const char *rdata,
                           const char *shown, enum expect e, struct dw_dns_before *before,
                           struct dw_result *res)
{
	const char *rd[1] = { rdata };
	struct dw_dns_before again = { 0 };
	struct dw_dns_seen seen;
	struct dw_dns_status st;
	struct dw_diag diag = { "" };
	bool wildcard = false;
	char rb[16];
	int ret;
	for (int sent = 1;; sent++) {
		if (e == EXPECT_ONLY)
			ret = dw_dns_replace_rrset(&d->srv, &d->key, zone, name, type, ttl, rd, 1,
			                           before, &st, &diag);
		else
			ret = dw_dns_update_rrs(&d->srv, &d->key, zone, name, type, ttl, rd, 1,
			                        e == EXPECT_GONE, before, &st, &diag);
		if (ret != DW_OK || st.tsig_error != 0 ||
		    (st.rcode != DW_RCODE_NXRRSET && st.rcode != DW_RCODE_YXRRSET)) {
			classify(d, what, zone, ret, &st, &diag, res);
			if (res->outcome == DW_OUT_DONE)
				confirm(d, what, name, type, ttl, rdata, shown, e, res);
			break;
		}
		/* The prerequisite failed (a signed reply or not: only the signed
		 * look below decides anything). */
		const char *rc = dw_rcode_str(st.rcode, rb);
		ret = dw_dns_rrset_look_before(&d->srv, &d->key, name, type, ttl, rd, 1, &seen,
		                               &again, &st, &diag);
		if (!look_usable(ret, &st)) {
			look_failed(d, what, zone, ret, &st, &diag, res);
			break;
		}
		if (expect_met(e, &seen) && !(e == EXPECT_ONLY && seen.ttl_differs)) {
			log_info("%s: the UPDATE's prerequisite failed (%s), and %s already serves "
			         "%s: an earlier copy of it was applied (or another writer made the same "
			         "change)", what, rc, d->srv.text, shown);
			dw_result_set(res, DW_OUT_DONE, -1, "%s accepted and served by %s", what,
			              d->srv.text);
			break;
		}
		if (sent >= PREREQ_TRIES) {
			dw_result_set(res, DW_OUT_RETRY, -1,
			              "%s: the server's records changed under each of %d UPDATEs "
			              "(prerequisite failed: %s); another writer is changing %s; "
			              "it serves %s", what, sent, rc, name, seen.text);
			break;
		}
		if (!wildcard && before->n > 0 && dw_dns_before_same(before, &again)) {
			wildcard = true;
			log_info("%s: the UPDATE's prerequisite failed (%s) although %s serves what it "
			         "names: a wildcard's answer; sending again with \"no such RRset\"",
			         what, rc, d->srv.text);
			dw_dns_before_absent(before);
		} else {
			log_info("%s: the UPDATE's prerequisite failed (%s): %s changed meanwhile; "
			         "sending again for what it serves now: %s", what, rc, d->srv.text,
			         seen.text);
			dw_dns_before_clear(before);
			*before = again;
			memset(&again, 0, sizeof(again));
		}
	}
	dw_dns_before_clear(&again);
}

static void rfc2136_update(struct dw_provider *p, const struct dw_record *r,
                           const struct dw_ip *addr, struct dw_result *res)
{
	struct dw_provider_data *d = p->data;
	struct dw_record_data *rd = r->data;
	struct dw_dns_status st;
	struct dw_diag diag = { "" };
	const char *rrtype = dw_family_rrtype(addr->family);
	uint16_t type = addr->family == DW_FAM_V6 ? 28 : 1;
	uint32_t ttl = r->src[addr->family].ttl;
	char ip[DW_IP_STRLEN];
	const char *rdata[1] = { dw_ip_format(addr, ip) };
	char what[DW_DNS_NAME_MAX + 32];
	int ret;

	snprintf(what, sizeof(what), "update of %s %s", r->fqdn, rrtype);

	const char *zone = rd != NULL && rd->zone != NULL ? rd->zone : d->zone;
	if (zone == NULL && rd != NULL && rd->found[0] != '\0')
		zone = rd->found;
	if (zone == NULL) {
		char found[DW_DNS_NAME_MAX];
		ret = dw_dns_find_zone(&d->srv, &d->key, r->fqdn, found, &st, &diag);
		if (ret != DW_OK) {
			classify_query(d, what, NULL, ret, &st, &diag, res);
			return;
		}
		log_info("%s: zone %s found at %s", r->fqdn, found, d->srv.text);
		if (rd != NULL) {
			memcpy(rd->found, found, sizeof(rd->found));
			zone = rd->found;
		} else {
			dw_result_set(res, DW_OUT_FATAL, -1, "%s: record not configured", what);
			return;
		}
	}

	struct dw_dns_seen seen;
	struct dw_dns_before before = { 0 };
	ret = dw_dns_rrset_look_before(&d->srv, &d->key, r->fqdn, type, ttl, rdata, 1, &seen,
	                               &before, &st, &diag);
	if (!look_usable(ret, &st)) {
		look_failed(d, what, zone, ret, &st, &diag, res);
		goto out;
	}
	if (dw_dns_seen_exact(&seen, 1)) {
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "%s %s already holds %s (TTL %u)",
		              r->fqdn, rrtype, ip, ttl);
		goto out;
	}
	log_debug("sending UPDATE for %s %s %s TTL %u in zone %s to %s with key '%s', "
	          "if it still serves %s", r->fqdn, rrtype, ip, ttl, zone, d->srv.text,
	          d->key.name, seen.text);
	char shown[DW_IP_STRLEN + 8];
	snprintf(shown, sizeof(shown), "%s %s", rrtype, ip);
	update_checked(d, what, zone, r->fqdn, type, ttl, rdata[0], shown, EXPECT_ONLY, &before,
	               res);
out:
	dw_dns_before_clear(&before);
}

/* One TXT value added to or removed from the set at fqdn (ACME dns-01: the
 * other values, e.g. a wildcard's, stay). */
static void rfc2136_txt(struct dw_provider *p, const char *fqdn, const char *value,
                        uint32_t ttl, bool del, struct dw_result *res)
{
	struct dw_provider_data *d = p->data;
	struct dw_dns_status st;
	struct dw_diag diag = { "" };
	char what[DW_DNS_NAME_MAX + 32];
	char rdata[2 * 255 + 3];
	size_t o = 0;
	int ret;

	snprintf(what, sizeof(what), "%s of a TXT value at %s", del ? "removal" : "addition", fqdn);
	if (strlen(value) > 255) {
		dw_result_set(res, DW_OUT_FATAL, -1, "%s: value longer than 255 bytes", what);
		return;
	}
	rdata[o++] = '"';
	for (const char *c = value; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
			dw_result_set(res, DW_OUT_FATAL, -1, "%s: value is not printable ASCII", what);
			return;
		}
		if (*c == '"' || *c == '\\')
			rdata[o++] = '\\';
		rdata[o++] = *c;
	}
	rdata[o++] = '"';
	rdata[o] = '\0';

	const char *zone = d->zone;
	char found[DW_DNS_NAME_MAX];
	if (zone != NULL && !dw_dns_name_in_zone(fqdn, zone)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "%s: %s is not inside zone %s", what, fqdn, zone);
		return;
	}
	if (zone == NULL) {
		ret = dw_dns_find_zone(&d->srv, &d->key, fqdn, found, &st, &diag);
		if (ret != DW_OK) {
			classify_query(d, what, NULL, ret, &st, &diag, res);
			return;
		}
		zone = found;
	}
	const char *rd[1] = { rdata };
	char shown[sizeof(rdata) + 8];
	snprintf(shown, sizeof(shown), "TXT %s", rdata);
	enum expect e = del ? EXPECT_GONE : EXPECT_HELD;

	/* As for addresses: nothing is sent when the server already has it,
	 * and the UPDATE is sent only for the TXT set as seen. */
	struct dw_dns_seen seen;
	struct dw_dns_before before = { 0 };
	ret = dw_dns_rrset_look_before(&d->srv, &d->key, fqdn, TYPE_TXT, ttl, rd, 1, &seen,
	                               &before, &st, &diag);
	if (!look_usable(ret, &st)) {
		look_failed(d, what, zone, ret, &st, &diag, res);
		goto out;
	}
	if (expect_met(e, &seen)) {
		dw_result_set(res, DW_OUT_UNCHANGED, -1, "%s %s %s", fqdn,
		              del ? "does not hold the value" : "already holds the value",
		              d->srv.text);
		goto out;
	}
	log_debug("sending UPDATE %s TXT %s in zone %s to %s with key '%s'",
	          del ? "deleting" : "adding", fqdn, zone, d->srv.text, d->key.name);
	update_checked(d, what, zone, fqdn, TYPE_TXT, ttl, rdata, shown, e, &before, res);
out:
	dw_dns_before_clear(&before);
}

static void rfc2136_txt_add(struct dw_provider *p, const char *fqdn, const char *value,
                            uint32_t ttl, struct dw_result *res)
{
	rfc2136_txt(p, fqdn, value, ttl, false, res);
}

static void rfc2136_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                            struct dw_result *res)
{
	rfc2136_txt(p, fqdn, value, 0, true, res);
}

/* Drift check: the configured server, asked with a signed query (the same
 * look as before an UPDATE, the TTL aside: a server that clamps TTLs must
 * not look drifted at every check). */
static void rfc2136_verify(struct dw_provider *p, const struct dw_record *r,
                           const struct dw_ip *addr, struct dw_verify *out)
{
	struct dw_provider_data *d = p->data;
	const char *rrtype = dw_family_rrtype(addr->family);
	char ip[DW_IP_STRLEN];
	const char *rd[1] = { dw_ip_format(addr, ip) };
	struct dw_dns_seen seen;
	struct dw_dns_status st;
	struct dw_diag diag = { "" };
	int ret = dw_dns_rrset_look(&d->srv, &d->key, r->fqdn, addr->family == DW_FAM_V6 ? 28 : 1,
	                            r->src[addr->family].ttl, rd, 1, &seen, &st, &diag);
	if (!look_usable(ret, &st)) {
		char rb[16];
		dw_verify_set(out, DW_VERIFY_UNKNOWN, "signed query to %s: %s", d->srv.text,
		              ret != DW_OK ? diag.msg : dw_rcode_str(st.tsig_error != 0 ?
		                                                     st.tsig_error : st.rcode, rb));
		return;
	}
	if (seen.held == 1 && seen.others == 0)
		dw_verify_set(out, DW_VERIFY_STANDS, "%s serves %s %s", d->srv.text, rrtype, ip);
	else
		dw_verify_set(out, DW_VERIFY_DRIFTED, "%s serves %s, not %s %s", d->srv.text,
		              seen.text, rrtype, ip);
}

/* The zone's nameserver names as the configured server serves them, asked
 * with the provider's key: the zone its updates go to (zone =, else the
 * SOA walk, as an update finds it). */
static int rfc2136_zone_ns(struct dw_provider *p, const char *fqdn, struct dw_dns_zone_ns *out,
                           struct dw_diag *diag)
{
	struct dw_provider_data *d = p->data;
	struct dw_dns_status st;
	memset(&st, 0, sizeof(st));
	memset(out, 0, sizeof(*out));
	if (d->key.name[0] == '\0')
		return dw_diag_set(diag, DW_ESECRET, "the key in %s was not read", d->key_file);
	int ret = DW_OK;
	if (d->zone != NULL) {
		if (!dw_dns_name_in_zone(fqdn, d->zone))
			return dw_diag_set(diag, DW_ENOTFOUND, "%s is not inside zone %s (zone = of "
			                   "[provider %s])", fqdn, d->zone, p->name);
		snprintf(out->apex, sizeof(out->apex), "%s", d->zone);
	} else {
		ret = dw_dns_find_zone(&d->srv, &d->key, fqdn, out->apex, &st, diag);
	}
	if (ret == DW_OK)
		ret = dw_dns_zone_ns(&d->srv, &d->key, fqdn, out, &st, diag);
	char rb[16];
	if (ret == DW_OK)
		return ret;
	if (st.rcode == DW_RCODE_NOTAUTH && st.tsig_error == 0)
		dw_diag_set(diag, ret, "%s rejected a query signed with key '%s' (NOTAUTH, unsigned): "
		            "it does not know the key, or the secret in %s differs from its own",
		            d->srv.text, d->key.name, d->key_file);
	else if (st.tsig_error != 0)
		dw_diag_set(diag, ret, "%s refused a query signed with key '%s' (TSIG %s): check the "
		            "key in %s", d->srv.text, d->key.name, dw_rcode_str(st.tsig_error, rb),
		            d->key_file);
	return ret;
}

const struct dw_provider_ops dw_provider_rfc2136 = {
	.type = "rfc2136",
	.summary = "RFC 2136 dynamic update with TSIG to your own server (Knot, BIND, ...)",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TXT | DW_CAP_TTL,
	.default_base_url = NULL,
	.configure = rfc2136_configure,
	.configure_record = rfc2136_configure_record,
	.update = rfc2136_update,
	.txt_add = rfc2136_txt_add,
	.txt_del = rfc2136_txt_del,
	.verify = rfc2136_verify,
	.zone_ns = rfc2136_zone_ns,
	.free_record = rfc2136_free_record,
	.free = rfc2136_free,
};
