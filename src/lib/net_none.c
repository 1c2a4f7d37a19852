/* "No network in this process": the network library's stand-in for the
 * resident dnsward.
 *
 * Provider code is linked into every program (its configuration code is
 * needed everywhere), and its publishing code calls the HTTP and DNS
 * functions of lib/http.h and lib/dns.h.  The network library (http.c
 * with libcurl, dns.c with ldns and libcrypto) implements them for the
 * publisher, the gateway and the tests; the resident dnsward links this
 * file instead, as curl picks one TLS backend at link time.  So the
 * process that holds the state, the secrets and the control socket has no
 * network code at all, and maps none of those libraries: should it ever
 * call a provider by mistake, every call fails here, opening nothing.
 *
 * A function added to the network API and called from provider code must
 * be added here too; the link of dnsward fails until it is. */
#include <stdlib.h>
#include <string.h>

#include "lib/dns.h"
#include "lib/http.h"

#define NO_NETWORK "no network in this process (dnsward's network work is the publisher's)"

int dw_http_global_init(void)
{
	return DW_OK;
}

void dw_http_global_cleanup(void)
{
}

int dw_http_request(const struct dw_http_req *req, struct dw_http_resp *resp,
                    struct dw_diag *diag)
{
	(void)req;
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	return dw_diag_set(diag, DW_EUNSUPP, NO_NETWORK);
}

void dw_http_resp_free(struct dw_http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

static int no_dns(struct dw_dns_status *st, struct dw_diag *diag)
{
	if (st != NULL)
		memset(st, 0, sizeof(*st));
	return dw_diag_set(diag, DW_EUNSUPP, NO_NETWORK);
}

int dw_dns_find_zone(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                     const char *name, char zone[DW_DNS_NAME_MAX],
                     struct dw_dns_status *st, struct dw_diag *diag)
{
	(void)srv;
	(void)key;
	(void)name;
	zone[0] = '\0';
	return no_dns(st, diag);
}

int dw_dns_zone_ns(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                   const char *name, struct dw_dns_zone_ns *out, struct dw_dns_status *st,
                   struct dw_diag *diag)
{
	(void)srv;
	(void)key;
	(void)name;
	memset(out, 0, sizeof(*out));
	return no_dns(st, diag);
}

int dw_dns_rrset_look(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                      const char *name, uint16_t type, uint32_t ttl,
                      const char *const *rdata, size_t n, struct dw_dns_seen *seen,
                      struct dw_dns_status *st, struct dw_diag *diag)
{
	(void)srv;
	(void)key;
	(void)name;
	(void)type;
	(void)ttl;
	(void)rdata;
	(void)n;
	memset(seen, 0, sizeof(*seen));
	return no_dns(st, diag);
}

void dw_dns_before_clear(struct dw_dns_before *b)
{
	memset(b, 0, sizeof(*b));   /* nothing here ever fills one */
}

void dw_dns_before_absent(struct dw_dns_before *b)
{
	memset(b, 0, sizeof(*b));
	b->known = true;
}

bool dw_dns_before_same(const struct dw_dns_before *a, const struct dw_dns_before *b)
{
	(void)a;
	(void)b;
	return false;
}

int dw_dns_rrset_look_before(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                             const char *name, uint16_t type, uint32_t ttl,
                             const char *const *rdata, size_t n, struct dw_dns_seen *seen,
                             struct dw_dns_before *before, struct dw_dns_status *st,
                             struct dw_diag *diag)
{
	if (before != NULL)
		memset(before, 0, sizeof(*before));
	return dw_dns_rrset_look(srv, key, name, type, ttl, rdata, n, seen, st, diag);
}

int dw_dns_rrset_equal(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                       const char *name, uint16_t type, uint32_t ttl,
                       const char *const *rdata, size_t n, bool *same,
                       struct dw_dns_status *st, struct dw_diag *diag)
{
	(void)srv;
	(void)key;
	(void)name;
	(void)type;
	(void)ttl;
	(void)rdata;
	(void)n;
	*same = false;
	return no_dns(st, diag);
}

int dw_dns_replace_rrset(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                         const char *zone, const char *name, uint16_t type,
                         uint32_t ttl, const char *const *rdata, size_t n,
                         const struct dw_dns_before *pre,
                         struct dw_dns_status *st, struct dw_diag *diag)
{
	(void)pre;
	(void)srv;
	(void)key;
	(void)zone;
	(void)name;
	(void)type;
	(void)ttl;
	(void)rdata;
	(void)n;
	return no_dns(st, diag);
}

int dw_dns_update_rrs(const struct dw_dns_server *srv, const struct dw_tsig_key *key,
                      const char *zone, const char *name, uint16_t type, uint32_t ttl,
                      const char *const *rdata, size_t n, bool del,
                      const struct dw_dns_before *pre,
                      struct dw_dns_status *st, struct dw_diag *diag)
{
	(void)pre;
	(void)srv;
	(void)key;
	(void)zone;
	(void)name;
	(void)type;
	(void)ttl;
	(void)rdata;
	(void)n;
	(void)del;
	return no_dns(st, diag);
}
