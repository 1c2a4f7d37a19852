/* dnsward-gateway as a provider (docs/providers/gateway.md).
 *
 *   [provider gw]
 *   type = gateway
 *   base-url = https://gw.example.org:8053     (required, https://)
 *   ca-file = /etc/dnsward/gw-ca.pem           (a private CA, optional)
 *   token-file = /etc/dnsward/gw.token         (the host's token, a secret)
 *   acme-zones = _acme-challenge.h.example.org (for "dnsward acme")
 *
 *   [record h.example.org]
 *   provider = gw
 *
 * A token belongs to one host: the HTTP Basic user is that host's FQDN (the
 * record name, or the name under "_acme-challenge." for TXT), the password
 * the token.  Addresses go through GET /nic/update (dyndns2, both families
 * in one request as myip=v4,v6); TXT values through POST /present and
 * /cleanup (lego httpreq), which add and remove one value each. */
#include "providers/gateway.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/config.h"
#include "lib/error.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"
#include "providers/dyn_common.h"

#define GW_SAMPLE_MAX 80
#define GW_ACME_PREFIX "_acme-challenge."
#define GW_TOKEN_MAX 512

/* ---- Reply classification (pure) ---- */

/* The first line of body[0..len) without its "\n" or "\r\n" into *n;
 * *more tells whether anything but that one ending follows. */
static const char *gw_first_line(const char *body, size_t len, size_t *n, bool *more)
{
	size_t i = 0;
	while (i < len && body[i] != '\n')
		i++;
	size_t rest = i < len ? i + 1 : len;
	*n = i;
	if (*n > 0 && body[*n - 1] == '\r')
		(*n)--;
	*more = rest < len;
	return body;
}

/* Checks "IP[,IP]": exactly the addresses sent, one per family.  0 when it
 * matches, 1 when it names other addresses, -1 when unparsable. */
static int gw_check_ips(const char *s, size_t n, const struct dw_ip *const sent[DW_FAM_COUNT])
{
	bool seen[DW_FAM_COUNT] = { false, false };
	size_t start = 0;
	int items = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		char buf[DW_IP_STRLEN];
		size_t len = i - start;
		if (len == 0 || len >= sizeof(buf) || ++items > DW_FAM_COUNT)
			return -1;
		memcpy(buf, s + start, len);
		buf[len] = '\0';
		struct dw_ip ip;
		if (dw_ip_parse_any(buf, &ip) != 0)
			return -1;
		int f = ip.family;
		if (seen[f] || sent[f] == NULL || !dw_ip_equal(&ip, sent[f]))
			return 1;
		seen[f] = true;
		start = i + 1;
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (sent[f] != NULL && !seen[f])
			return 1;
	}
	return 0;
}

struct gw_code {
	const char *word;
	enum dw_outcome outcome;
	const char *fix;
};

/* protocols.md section 3, with what each means coming from dnsward-gateway. */
static const struct gw_code gw_codes[] = {
	{ "badauth", DW_OUT_FATAL,
	  "the gateway refused the token: check token-file (the token of this very host; it may "
	  "have been rotated, revoked or expired, the host removed, or this source address not "
	  "allowed)" },
	{ "nohost", DW_OUT_FATAL,
	  "the gateway has no such host: add it (dnsward-gateway host add) or fix the record name" },
	{ "!yours", DW_OUT_FATAL,
	  "the name belongs to another host of the gateway: use that host's token" },
	{ "notfqdn", DW_OUT_FATAL, "the gateway refused the hostname as not a valid FQDN" },
	{ "numhost", DW_OUT_FATAL, "too many hostnames in one request" },
	{ "abuse", DW_OUT_FATAL, "the gateway blocked this client for abuse" },
	{ "!donator", DW_OUT_FATAL, "the server refused a feature of the request" },
	{ "badagent", DW_OUT_FATAL, "the server refuses this client: report it to the dnsward "
	  "maintainers" },
	{ "!active", DW_OUT_FATAL,
	  "the gateway's DNS provider refused this record for good: only the gateway's operator "
	  "can fix it (its log and 'dnsward-gateway host list' name the cause)" },
	{ "badsys", DW_OUT_FATAL, "the server refuses the system parameter" },
	{ "911", DW_OUT_RETRY,
	  "the gateway stored the address but its DNS provider has not taken it yet (the gateway "
	  "keeps retrying on its own)" },
	{ "dnserr", DW_OUT_RETRY, "DNS error on the server's side" },
	{ "servererror", DW_OUT_RETRY, "server-side error" },
	{ "interval", DW_OUT_RATELIMIT, "updates too frequent" },
};

static long gw_retry_wait(long retry_after_s)
{
	return retry_after_s > DW_GATEWAY_RETRY_MIN ? retry_after_s : DW_GATEWAY_RETRY_MIN;
}

static long gw_rate_wait(long retry_after_s)
{
	return retry_after_s >= 0 ? retry_after_s : DW_GATEWAY_RATE_WAIT;
}

/* "HOST: " or "". */
static void gw_prefix(const char *host, char *out, size_t cap)
{
	out[0] = '\0';
	if (host != NULL) {
		int n = snprintf(out, cap, "%s: ", host);
		if (n < 0 || (size_t)n >= cap)
			out[0] = '\0';
	}
}

static void gw_nic_line(const char *line, size_t n, long retry_after_s, const char *pre,
                        const struct dw_ip *const sent[DW_FAM_COUNT], struct dw_result *res)
{
	char sample[GW_SAMPLE_MAX + 1];
	dw_text_sample(line, n, GW_SAMPLE_MAX, sample, sizeof(sample));
	size_t wl = 0;
	while (wl < n && line[wl] != ' ')
		wl++;
	bool good = wl == 4 && memcmp(line, "good", 4) == 0;
	bool nochg = wl == 5 && memcmp(line, "nochg", 5) == 0;
	if (good || nochg) {
		const char *ips = line + wl + 1;
		size_t il = wl < n ? n - wl - 1 : 0;
		int c = wl >= n || memchr(ips, ' ', il) != NULL ? -1 : gw_check_ips(ips, il, sent);
		if (c < 0)
			dw_result_set(res, DW_OUT_RETRY, -1, "%sunparsable reply from the gateway: \"%s\"",
			              pre, sample);
		else if (c > 0)
			dw_result_set(res, DW_OUT_FATAL, -1,
			              "%sthe gateway holds another address than the one sent: \"%s\"", pre,
			              sample);
		else if (good)
			dw_result_set(res, DW_OUT_DONE, -1, "%sthe gateway published it", pre);
		else
			dw_result_set(res, DW_OUT_UNCHANGED, -1, "%sthe gateway already had it (nochg)",
			              pre);
		return;
	}
	for (size_t k = 0; k < sizeof(gw_codes) / sizeof(gw_codes[0]); k++) {
		const struct gw_code *c = &gw_codes[k];
		if (strlen(c->word) != wl || memcmp(line, c->word, wl) != 0)
			continue;
		if (wl != n) {
			/* Codes come alone on their line. */
			break;
		}
		if (c->outcome == DW_OUT_RETRY) {
			long wait = gw_retry_wait(retry_after_s);
			dw_result_set(res, DW_OUT_RETRY, wait, "%s%s (\"%s\")", pre, c->fix, c->word);
		} else if (c->outcome == DW_OUT_RATELIMIT) {
			long wait = gw_rate_wait(retry_after_s);
			dw_result_set(res, DW_OUT_RATELIMIT, wait, "%s%s (\"%s\")", pre, c->fix,
			              c->word);
		} else {
			dw_result_set(res, DW_OUT_FATAL, -1, "%s%s (\"%s\")", pre, c->fix, c->word);
		}
		return;
	}
	dw_result_set(res, DW_OUT_RETRY, -1, "%sunparsable reply from the gateway: \"%s\"", pre,
	              sample);
}

void dw_gateway_classify_nic(long status, const char *body, size_t len, long retry_after_s,
                             const char *host, const struct dw_ip *const sent[DW_FAM_COUNT],
                             struct dw_result *res)
{
	char pre[300];
	char sample[GW_SAMPLE_MAX + 1];
	size_t n = 0;
	bool more = false;
	const char *line = body != NULL ? gw_first_line(body, len, &n, &more) : "";
	gw_prefix(host, pre, sizeof(pre));
	dw_text_sample(line, n, GW_SAMPLE_MAX, sample, sizeof(sample));
	bool is_abuse = n == 5 && memcmp(line, "abuse", 5) == 0 && !more;

	if (status == 200) {
		if (n == 0 && !more)
			dw_result_set(res, DW_OUT_RETRY, -1, "%sunparsable reply from the gateway (empty)",
			              pre);
		else if (n == 0 || more || n > DW_GATEWAY_LINE_MAX || memchr(line, '\0', n) != NULL)
			dw_result_set(res, DW_OUT_RETRY, -1,
			              "%sunparsable reply from the gateway (one line expected): \"%s\"",
			              pre, sample);
		else
			gw_nic_line(line, n, retry_after_s, pre, sent, res);
		return;
	}
	if (status == 429) {
		long wait = gw_rate_wait(retry_after_s);
		if (is_abuse)
			dw_result_set(res, DW_OUT_RATELIMIT, wait,
			              "%sthe gateway locked this address out after repeated bad tokens "
			              "(HTTP 429)", pre);
		else
			dw_result_set(res, DW_OUT_RATELIMIT, wait,
			              "%sover the gateway's rate limit (HTTP 429)%s", pre,
			              retry_after_s >= 0 ? "" : " (no Retry-After given)");
		return;
	}
	if (status == 503) {
		long wait = gw_retry_wait(retry_after_s);
		dw_result_set(res, DW_OUT_RETRY, wait,
		              "%sthe gateway cannot take the change now (HTTP 503: its database, or a "
		              "proxy in front of it)", pre);
		return;
	}
	if (status >= 500 && status <= 599) {
		long wait = gw_retry_wait(retry_after_s);
		dw_result_set(res, DW_OUT_RETRY, wait,
		              "%sgateway error (HTTP %ld)", pre, status);
		return;
	}
	switch (status) {
	case 400:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sthe gateway refused the request as malformed (HTTP 400: \"%s\"); "
		              "report it to the dnsward maintainers", pre, sample);
		return;
	case 401:
	case 403:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sthe gateway refused the credentials (HTTP %ld): check token-file",
		              pre, status);
		return;
	case 404:
	case 405:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sno dyndns2 endpoint of a gateway at this URL (HTTP %ld): check "
		              "base-url", pre, status);
		return;
	default:
		break;
	}
	if (status >= 400 && status <= 499)
		dw_result_set(res, DW_OUT_FATAL, -1, "%sthe gateway rejected the request (HTTP %ld)",
		              pre, status);
	else
		dw_result_set(res, DW_OUT_RETRY, -1, "%sunexpected HTTP status %ld from the gateway",
		              pre, status);
}

void dw_gateway_classify_txt(long status, const char *body, size_t len, long retry_after_s,
                             bool present, const char *name, struct dw_result *res)
{
	char pre[300];
	char sample[GW_SAMPLE_MAX + 1];
	size_t n = 0;
	bool more = false;
	const char *line = body != NULL ? gw_first_line(body, len, &n, &more) : "";
	const char *what = present ? "/present" : "/cleanup";
	gw_prefix(name, pre, sizeof(pre));
	dw_text_sample(line, n, GW_SAMPLE_MAX, sample, sizeof(sample));

	switch (status) {
	case 200:
		if (n == 2 && memcmp(line, "ok", 2) == 0 && !more)
			dw_result_set(res, DW_OUT_DONE, -1, "%sthe gateway %s the value", pre,
			              present ? "published" : "removed");
		else
			dw_result_set(res, DW_OUT_RETRY, -1,
			              "%sunexpected reply to %s (200 without \"ok\": \"%s\"): is base-url "
			              "a dnsward-gateway?", pre, what, sample);
		return;
	case 400:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sthe gateway refused the name or value (HTTP 400 on %s)", pre, what);
		return;
	case 401:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sthe gateway refused the token (HTTP 401 on %s): check token-file (the "
		              "token of this host; rotated, revoked, expired, or this source address "
		              "not allowed?)", pre, what);
		return;
	case 403:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sthe gateway does not let this token write there (HTTP 403 on %s): the "
		              "host must be added with --acme and the name must be its own "
		              "_acme-challenge name", pre, what);
		return;
	case 404:
	case 405:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sno httpreq endpoint of a gateway at this URL (HTTP %ld on %s): check "
		              "base-url", pre, status, what);
		return;
	case 429: {
		long wait = gw_rate_wait(retry_after_s);
		dw_result_set(res, DW_OUT_RATELIMIT, wait,
		              "%sthe gateway asks to wait (HTTP 429 on %s: \"%s\")", pre, what, sample);
		return;
	}
	case 424:
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "%sthe gateway's DNS provider refused this value for good (HTTP 424 on "
		              "%s): only the gateway's operator can fix it (its log and "
		              "'dnsward-gateway host list' name the cause)", pre, what);
		return;
	case 502:
		dw_result_set(res, DW_OUT_RETRY, -1,
		              "%sthe gateway stored the change but its DNS provider has not taken it "
		              "yet (HTTP 502 on %s; the gateway keeps retrying)", pre, what);
		return;
	case 503:
		dw_result_set(res, DW_OUT_RETRY, retry_after_s,
		              "%sthe gateway cannot take the change now (HTTP 503 on %s: its database, "
		              "or a proxy in front of it)", pre, what);
		return;
	default:
		break;
	}
	if (status >= 400 && status <= 499)
		dw_result_set(res, DW_OUT_FATAL, -1, "%sthe gateway rejected the request (HTTP %ld on %s)",
		              pre, status, what);
	else if (status >= 500 && status <= 599)
		dw_result_set(res, DW_OUT_RETRY, -1, "%sgateway error (HTTP %ld on %s)", pre, status,
		              what);
	else
		dw_result_set(res, DW_OUT_RETRY, -1, "%sunexpected HTTP status %ld on %s", pre, status,
		              what);
}

bool dw_gateway_txt_host(const char *name, char *out, size_t cap)
{
	size_t pl = sizeof(GW_ACME_PREFIX) - 1;
	if (cap == 0)
		return false;
	out[0] = '\0';
	if (strncasecmp(name, GW_ACME_PREFIX, pl) != 0)
		return false;
	size_t n = strlen(name + pl);
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, name + pl, n + 1);
	if (dw_fqdn_normalize(out) != DW_OK) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* ---- Configuration ---- */

struct dw_provider_data {
	struct dw_secret token;
	char host[256];          /* the host of this provider's records; "" none yet */
	int host_line;
};

static int gw_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;
	bool has_base = false;
	for (size_t i = 0; i < ctx->sec->nkv; i++)
		has_base |= strcmp(ctx->sec->kv[i].key, "base-url") == 0;
	if (!has_base)
		return dw_conf_error(ctx, "base-url", "missing (the gateway's https:// URL)");
	/* The token travels in every request. */
	if (!dw_dyn_is_https(p->base_url))
		return dw_conf_error(ctx, "base-url", "must be an https:// URL (the token is sent)");
	if (strpbrk(p->base_url, "?#") != NULL)
		return dw_conf_error(ctx, "base-url", "must hold no query or fragment");
	int rc = dw_conf_secret(ctx, "token-file", true, DW_SECRET_LINE, &d->token);
	if (rc != 0)
		return rc;
	if (d->token.data == NULL)
		return 0;   /* not read: a command that publishes nothing */
	if (d->token.len == 0 || d->token.len > GW_TOKEN_MAX)
		return dw_conf_error(ctx, "token-file", "the file must hold the host's token");
	for (size_t i = 0; i < d->token.len; i++) {
		unsigned char c = (unsigned char)d->token.data[i];
		if (c <= 0x20 || c >= 0x7f)
			return dw_conf_error(ctx, "token-file",
			                     "the file must hold the token alone on one line "
			                     "(no spaces or control characters)");
	}
	return 0;
}

static int gw_configure_record(struct dw_provider *p, struct dw_record *r,
                               struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return dw_conf_error(ctx, NULL, "provider %s is not configured", p->name);
	/* One token, one host: the gateway refuses the token for any other
	 * name, so say so before the first request. */
	if (d->host[0] != '\0' && strcmp(d->host, r->fqdn) != 0)
		return dw_conf_error(ctx, "provider",
		                     "[provider %s] already serves %s (line %d): a gateway token "
		                     "belongs to one host, give %s its own [provider] section with "
		                     "its own token-file", p->name, d->host, d->host_line, r->fqdn);
	size_t fl = strlen(r->fqdn);
	if (fl >= sizeof(d->host))
		return dw_conf_error(ctx, NULL, "name too long");
	memcpy(d->host, r->fqdn, fl + 1);
	d->host_line = r->line;
	return 0;
}

/* ---- Requests ---- */

/* {base}{path} into a fixed buffer; false when it does not fit. */
static bool gw_url(const struct dw_provider *p, const char *path, char *out, size_t cap)
{
	size_t bl = strlen(p->base_url);
	size_t pl = strlen(path);
	while (bl > 0 && p->base_url[bl - 1] == '/')
		bl--;
	if (bl + pl >= cap)
		return false;
	memcpy(out, p->base_url, bl);
	memcpy(out + bl, path, pl + 1);
	return true;
}

static void gw_send_nic(struct dw_provider *p, const struct dw_record *r,
                        const struct dw_ip *const addr[DW_FAM_COUNT], struct dw_result *res)
{
	const struct dw_provider_data *d = p->data;
	struct dw_dyn_url u;
	struct dw_http_resp resp = { 0 };
	char ip[DW_FAM_COUNT][DW_IP_STRLEN];
	char myip[2 * DW_IP_STRLEN + 2];

	if (d == NULL || d->token.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "provider %s is not configured", p->name);
		return;
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		ip[f][0] = '\0';
		if (addr[f] != NULL)
			dw_ip_format(addr[f], ip[f]);
	}
	int n = snprintf(myip, sizeof(myip), "%s%s%s", ip[DW_FAM_V4],
	                 addr[DW_FAM_V4] != NULL && addr[DW_FAM_V6] != NULL ? "," : "",
	                 ip[DW_FAM_V6]);
	if (n <= 0 || (size_t)n >= sizeof(myip)) {
		dw_result_set(res, DW_OUT_FATAL, -1, "no address to send");
		return;
	}
	if (!dw_dyn_url_init(&u, p->base_url, "/nic/update", strlen(r->fqdn) * 3 + 256)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		return;
	}
	dw_dyn_url_param(&u, "hostname", r->fqdn, false);
	dw_dyn_url_param(&u, "myip", myip, false);
	if (u.failed) {
		dw_result_set(res, DW_OUT_FATAL, -1, "gateway update URL too long");
		goto out;
	}
	log_debug("gateway %s: GET %s", p->name, u.log);
	struct dw_http_req req = {
		.method = "GET",
		.url = u.url,
		.log_url = u.log,
		.basic_user = r->fqdn,
		.basic_pass = d->token.data,
		.ca_file = p->ca_file,
		.timeout_ms = p->timeout_ms,
	};
	if (dw_dyn_request(p, &req, &resp, "the gateway", res)) {
		const struct dw_ip *const sent[DW_FAM_COUNT] = { addr[DW_FAM_V4], addr[DW_FAM_V6] };
		dw_gateway_classify_nic(resp.status, resp.body, resp.len, resp.retry_after_s, NULL,
		                        sent, res);
	}
	dw_dyn_scrub(res->msg, sizeof(res->msg), d->token.data);
	log_debug("gateway %s %s %s: %s", p->name, r->fqdn, myip, dw_outcome_str(res->outcome));
out:
	dw_http_resp_free(&resp);
	dw_dyn_url_free(&u);
}

static void gw_update(struct dw_provider *p, const struct dw_record *r, const struct dw_ip *addr,
                      struct dw_result *res)
{
	const struct dw_ip *a[DW_FAM_COUNT] = { NULL, NULL };
	a[addr->family] = addr;
	gw_send_nic(p, r, a, res);
}

/* Both families in one request: "myip=v4,v6". */
static void gw_update_multi(struct dw_provider *p, const struct dw_record *r,
                            const struct dw_ip *const addr[DW_FAM_COUNT],
                            struct dw_result res[DW_FAM_COUNT])
{
	struct dw_result one = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
	gw_send_nic(p, r, addr, &one);
	for (int f = 0; f < DW_FAM_COUNT; f++)
		res[f] = one;
}

static void gw_txt(struct dw_provider *p, const char *fqdn, const char *value, bool present,
                   struct dw_result *res)
{
	const struct dw_provider_data *d = p->data;
	const char *path = present ? "/present" : "/cleanup";
	char host[256], name[300], url[1024];
	char *body = NULL;
	json_t *doc = NULL;
	struct dw_http_resp resp = { 0 };

	if (d == NULL || d->token.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "provider %s is not configured", p->name);
		return;
	}
	if (!dw_gateway_txt_host(fqdn, host, sizeof(host))) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "a gateway token writes TXT only at _acme-challenge.<its host>, not at "
		              "%s: check acme-zones of [provider %s]", fqdn, p->name);
		return;
	}
	if (d->host[0] != '\0' && strcmp(host, d->host) != 0) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "[provider %s] holds the token of %s, not of %s: check acme-zones",
		              p->name, d->host, host);
		return;
	}
	int n = snprintf(name, sizeof(name), "%s%s.", GW_ACME_PREFIX, host);
	if (n <= 0 || (size_t)n >= sizeof(name) || !gw_url(p, path, url, sizeof(url))) {
		dw_result_set(res, DW_OUT_FATAL, -1, "gateway name or base-url too long");
		return;
	}
	doc = json_pack("{s:s, s:s}", "fqdn", name, "value", value);
	body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (body == NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	struct dw_http_req req = {
		.method = "POST",
		.url = url,
		.headers = { "Content-Type: application/json", "Accept: text/plain", NULL },
		.basic_user = host,
		.basic_pass = d->token.data,
		.body = body,
		.body_len = strlen(body),
		.ca_file = p->ca_file,
		.timeout_ms = p->timeout_ms,
	};
	log_debug("gateway %s: POST %s for %s", p->name, url, name);
	if (dw_dyn_request(p, &req, &resp, "the gateway", res))
		dw_gateway_classify_txt(resp.status, resp.body, resp.len, resp.retry_after_s, present,
		                        NULL, res);
	dw_dyn_scrub(res->msg, sizeof(res->msg), d->token.data);
out:
	dw_http_resp_free(&resp);
	free(body);
	json_decref(doc);
}

static void gw_txt_add(struct dw_provider *p, const char *fqdn, const char *value, uint32_t ttl,
                       struct dw_result *res)
{
	(void)ttl;   /* the gateway sets its own (txt-ttl) */
	gw_txt(p, fqdn, value, true, res);
}

static void gw_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                       struct dw_result *res)
{
	gw_txt(p, fqdn, value, false, res);
}

static void gw_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	dw_secret_clear(&d->token);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_gateway = {
	.type = "gateway",
	.summary = "dnsward-gateway: one host's token (A/AAAA by dyndns2, ACME TXT by httpreq)",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TXT,
	/* Placeholder: configure() insists on base-url. */
	.default_base_url = "https://localhost:8053",
	.configure = gw_configure,
	.configure_record = gw_configure_record,
	.update = gw_update,
	.update_multi = gw_update_multi,
	.txt_add = gw_txt_add,
	.txt_del = gw_txt_del,
	.free = gw_free,
};
