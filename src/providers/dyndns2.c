/* The dyndns2 protocol with presets (protocols.md section 3).
 *
 * GET {base}{path}?hostname=H[,H2..]&myip=IP with HTTP Basic credentials
 * ("username" and "password-file") and the User-Agent http.c sets.  Each
 * provider speaking dyndns2 is one row of the preset table below: data, not
 * code.  Replies are judged line by line, by first word, never by
 * substring ("nogood" is not "good").
 *
 * Repeated "nochg" is avoided by the caller: the core publishes only when
 * the desired address differs from the state file, or on --force. */
#include "providers/dyndns2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"
#include "providers/dyn_common.h"

#define DD2_SAMPLE_MAX 80
#define DD2_DEFAULT_INTERVAL 600
#define DD2_GENERIC_TITLE "dyndns2 server"

/* ---- Presets ----
 *
 * One row per provider.  Only providers whose own documentation says they
 * speak dyndns2 (same path semantics and the good/nochg/... reply codes) are
 * listed; each row cites it.  Left out on purpose: Google Domains (closed),
 * zoneedit (own XML replies), DNSExit and Porkbun (own JSON APIs), dynv6
 * (own update API), ddnss.de and regfish (own reply formats), dy.fi
 * (ignores myip). */
const struct dw_dyndns2_preset dw_dyndns2_presets[] = {
	/* https://help.dyn.com/remote-access-api/perform-update/ (up to 20
	 * hostnames per request) */
	{ "dyn", "Dyn", "https://members.dyndns.org", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, true, 600, 600, "https://help.dyn.com/remote-access-api/" },
	/* https://www.noip.com/integrate/request and .../integrate/response:
	 * dual stack through myipv6; "911: wait 30 minutes". */
	{ "noip", "No-IP", "https://dynupdate.no-ip.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_PARAM, true, 600, 1800, "https://www.noip.com/integrate/request" },
	/* https://www.dynu.com/DynamicDNS/IP-Update-Protocol: myipv6 */
	{ "dynu", "Dynu", "https://api.dynu.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_PARAM, false, 600, 600,
	  "https://www.dynu.com/DynamicDNS/IP-Update-Protocol" },
	/* https://help.ovhcloud.com/csm/en-dns-dynhost: system=dyndns, the
	 * DynHost login, IPv4 records */
	{ "ovh", "OVH DynHost", "https://www.ovh.com", "/nic/update", "system=dyndns",
	  DW_DYNDNS2_V6_NONE, false, 600, 600, "https://help.ovhcloud.com/csm/en-dns-dynhost" },
	/* https://www.strato.de/faq/domains/so-einfach-richten-sie-dyndns-fuer-ihre-domains-ein/
	 * myip=IPv4,IPv6 */
	{ "strato", "Strato", "https://dyndns.strato.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_COMMA, true, 600, 600,
	  "https://www.strato.de/faq/domains/so-einfach-richten-sie-dyndns-fuer-ihre-domains-ein/" },
	/* https://www.dnsomatic.com/docs/api: IPv4 only */
	{ "dnsomatic", "DNS-O-Matic", "https://updates.dnsomatic.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_NONE, true, 600, 600, "https://www.dnsomatic.com/docs/api" },
	/* https://joker.com/faq/content/11/427/en/let_s-encrypt-support.html and
	 * https://joker.com/faq/content/6/496/en/how-do-i-use-dynamic-dns-with-joker_com.html */
	{ "joker", "Joker", "https://svc.joker.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600,
	  "https://joker.com/faq/content/6/496/en/how-do-i-use-dynamic-dns-with-joker_com.html" },
	/* https://nsupdate.readthedocs.io/en/latest/standards.html: dyndns2
	 * front end; myip takes either family on either endpoint */
	{ "nsupdate", "nsupdate.info", "https://ipv4.nsupdate.info", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600,
	  "https://nsupdate.readthedocs.io/en/latest/standards.html" },
	/* https://wiki.securepoint.de/SPDyn/Variablen: dyndns2 on update.spdyn.de */
	{ "spdyn", "spDYN", "https://update.spdyn.de", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600, "https://wiki.securepoint.de/SPDyn/Variablen" },
	/* https://selfhost.de/cgi-bin/selfhost?p=document&name=api */
	{ "selfhost", "selfHOST", "https://carol.selfhost.de", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600,
	  "https://selfhost.de/cgi-bin/selfhost?p=document&name=api" },
	/* https://dns.he.net/docs.html: user = record FQDN, password = that
	 * record's key, so one [provider] per record; type "he" handles
	 * per-record keys and TXT.  "interval" after ~10 updates in 2 min. */
	{ "he", "Hurricane Electric", "https://dyn.dns.he.net", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 300, 600, "https://dns.he.net/docs.html" },
	/* https://dyndns.variomedia.de/: myip=127.0.0.1,::1 updates both */
	{ "variomedia", "Variomedia", "https://dyndns.variomedia.de", "/nic/update", NULL,
	  DW_DYNDNS2_V6_COMMA, false, 600, 600, "https://dyndns.variomedia.de/" },
	/* https://support.loopia.com/wiki/about-dynamic-dns/ (dyndns2 on "/") */
	{ "loopia", "Loopia", "https://dyndns.loopia.se", "/", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600,
	  "https://support.loopia.com/wiki/about-dynamic-dns/" },
	/* https://www.changeip.com/accounts/knowledgebase.php?action=displayarticle&id=34 */
	{ "changeip", "ChangeIP", "https://nic.changeip.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600,
	  "https://www.changeip.com/accounts/knowledgebase.php?action=displayarticle&id=34" },
	/* https://www.pubyun.com/wiki/ (3322.org API help): dyndns2 codes on
	 * /dyndns/update; IPv4 */
	{ "3322", "3322 (pubyun)", "https://members.3322.org", "/dyndns/update", NULL,
	  DW_DYNDNS2_V6_NONE, true, 600, 600, "https://www.pubyun.com/wiki/" },
	/* https://all-inkl.com/wichtig/anleitungen/kas/tools/dyndns/ (dyndns2
	 * on "/", the DynDNS login names the host) */
	{ "allinkl", "ALL-INKL", "https://dyndns.kasserver.com", "/", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600,
	  "https://all-inkl.com/wichtig/anleitungen/kas/tools/dyndns/" },
	/* https://ipv64.net/dyndns_updater_api: dyndns2 compatible /nic/update */
	{ "ipv64", "ipv64.net", "https://ipv64.net", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600, "https://ipv64.net/dyndns_updater_api" },
	/* https://www.inwx.com/en/offer/dyndns: myip and myipv6 */
	{ "inwx", "INWX", "https://dyndns.inwx.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_PARAM, false, 600, 600, "https://www.inwx.com/en/offer/dyndns" },
	/* https://www.infomaniak.com/en/support/faq/2376 (dyndns2 /nic/update) */
	{ "infomaniak", "Infomaniak", "https://infomaniak.com", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600,
	  "https://www.infomaniak.com/en/support/faq/2376" },
	/* https://www.dyndns.it/documentazione/ (dyndns2 protocol) */
	{ "dyndnsit", "DynDNS.it", "https://update.dyndns.it", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600, "https://www.dyndns.it/documentazione/" },
	/* https://wiki.schokokeks.org/DynDNS (dyndns2 compatible /nic/update) */
	{ "schokokeks", "schokokeks.org", "https://dyndns.schokokeks.org", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600, "https://wiki.schokokeks.org/DynDNS" },
	/* https://www.hosting.de/api/#dynamic-dns (dyndns2 compatible) */
	{ "hostingde", "hosting.de", "https://ddns.hosting.de", "/nic/update", NULL,
	  DW_DYNDNS2_V6_SEPARATE, false, 600, 600, "https://www.hosting.de/api/#dynamic-dns" },
	{ NULL, NULL, NULL, NULL, NULL, DW_DYNDNS2_V6_NONE, false, 0, 0, NULL },
};

const struct dw_dyndns2_preset *dw_dyndns2_preset_find(const char *name)
{
	for (size_t i = 0; dw_dyndns2_presets[i].name != NULL; i++) {
		if (strcmp(dw_dyndns2_presets[i].name, name) == 0)
			return &dw_dyndns2_presets[i];
	}
	return NULL;
}

/* ---- Reply classification (pure) ---- */

/* The reply codes of section 3 and what the user must do about each. */
struct dd2_code {
	const char *word;
	enum dw_outcome outcome;
	const char *fix;
	bool cred;          /* the fix ends ": check <credentials>" */
};

static const struct dd2_code dd2_codes[] = {
	{ "badauth", DW_OUT_FATAL, "credentials refused", true },
	{ "!donator", DW_OUT_FATAL,
	  "the request used a feature the account does not include: upgrade the account or "
	  "drop the feature", false },
	{ "notfqdn", DW_OUT_FATAL,
	  "not a fully qualified hostname of this account: check the [record] name", false },
	{ "nohost", DW_OUT_FATAL,
	  "no such hostname in this account: create it there or fix the [record] name", false },
	{ "numhost", DW_OUT_FATAL, "too many hostnames in one request: list fewer extra-hostnames", false },
	{ "abuse", DW_OUT_FATAL,
	  "the hostname is blocked for abuse: unblock it on the provider's site", false },
	{ "badagent", DW_OUT_FATAL,
	  "the provider refuses this client (User-Agent or request form): report it to the "
	  "dnsward maintainers", false },
	{ "!yours", DW_OUT_FATAL,
	  "the hostname belongs to another account", true },
	{ "!active", DW_OUT_FATAL,
	  "the hostname is not active (disabled, expired or not dynamic): reactivate it on the "
	  "provider's site", false },
	{ "badsys", DW_OUT_FATAL, "the provider refuses the system parameter: check preset and path", false },
	{ "dnserr", DW_OUT_RETRY, "DNS error on the provider's side", false },
	{ "911", DW_OUT_RETRY, "provider-side problem or maintenance", false },
	{ "servererror", DW_OUT_RETRY, "provider-side error", false },
	{ "interval", DW_OUT_RATELIMIT, "updates too frequent", false },
};

static int dd2_rank(enum dw_outcome o)
{
	switch (o) {
	case DW_OUT_UNCHANGED: return 0;
	case DW_OUT_DONE: return 1;
	case DW_OUT_RETRY: return 2;
	case DW_OUT_RATELIMIT: return 3;
	case DW_OUT_ACTION: return 4;
	case DW_OUT_FATAL: return 5;
	case DW_OUT_COUNT: break;
	}
	return 5;
}

static long dd2_retry_s(const struct dw_dyndns2_expect *ex)
{
	return ex->retry_s > DW_DYNDNS2_RETRY_MIN ? ex->retry_s : DW_DYNDNS2_RETRY_MIN;
}

static long dd2_interval_s(const struct dw_dyndns2_expect *ex)
{
	return ex->interval_s > 0 ? ex->interval_s : DD2_DEFAULT_INTERVAL;
}

/* "HOST: " prefix when the request named several hosts. */
static void dd2_prefix(const struct dw_dyndns2_expect *ex, size_t i, char *out, size_t cap)
{
	out[0] = '\0';
	if (ex->nhosts > 1 && i < ex->nhosts) {
		int n = snprintf(out, cap, "%s: ", ex->hosts[i]);
		if (n < 0 || (size_t)n >= cap)
			out[0] = '\0';
	}
}

/* Checks the address word of a good/nochg line: one comma-separated list
 * holding exactly the addresses sent, one per family.  Returns 0 when it
 * matches, 1 when it names another address, -1 when unparsable. */
static int dd2_check_ips(const char *s, size_t n, const struct dw_dyndns2_expect *ex)
{
	bool seen[DW_FAM_COUNT] = { false, false };
	size_t start = 0;
	int items = 0;
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
		if (seen[f] || ex->sent[f] == NULL || !dw_ip_equal(&ip, ex->sent[f]))
			return 1;
		seen[f] = true;
		start = i + 1;
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (ex->sent[f] != NULL && !seen[f])
			return 1;
	}
	return 0;
}

/* Classifies one reply line about host i; *known tells whether its first
 * word was one of the protocol's. */
static void dd2_line(const char *line, size_t n, size_t i, const struct dw_dyndns2_expect *ex,
                     long retry_after_s, bool *known, struct dw_result *res)
{
	char sample[DD2_SAMPLE_MAX + 1];
	char pre[300];
	dd2_prefix(ex, i, pre, sizeof(pre));
	dw_text_sample(line, n, DD2_SAMPLE_MAX, sample, sizeof(sample));
	*known = false;
	if (n == 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "%sunparsable reply from %s (empty line)", pre,
		              ex->who);
		return;
	}
	if (n > DW_DYNDNS2_LINE_MAX || memchr(line, '\0', n) != NULL) {
		dw_result_set(res, DW_OUT_RETRY, -1, "%sunparsable reply from %s: \"%s\"", pre,
		              ex->who, sample);
		return;
	}
	size_t wl = 0;
	while (wl < n && line[wl] != ' ')
		wl++;

	bool good = wl == 4 && memcmp(line, "good", 4) == 0;
	bool nochg = wl == 5 && memcmp(line, "nochg", 5) == 0;
	if (good || nochg) {
		if (!ex->txt && wl < n) {
			const char *ips = line + wl + 1;
			size_t il = n - wl - 1;
			int c = il == 0 || memchr(ips, ' ', il) != NULL ? -1 : dd2_check_ips(ips, il, ex);
			if (c < 0) {
				dw_result_set(res, DW_OUT_RETRY, -1, "%sunparsable reply from %s: \"%s\"",
				              pre, ex->who, sample);
				return;
			}
			if (c > 0) {
				*known = true;
				dw_result_set(res, DW_OUT_FATAL, -1,
				              "%s%s holds another address than the one sent: \"%s\" "
				              "(myip ignored? check preset and base-url)",
				              pre, ex->who, sample);
				return;
			}
		}
		*known = true;
		if (good)
			dw_result_set(res, DW_OUT_DONE, -1, "%s%s updated", pre, ex->who);
		else
			dw_result_set(res, DW_OUT_UNCHANGED, -1, "%s%s already had it (nochg)", pre,
			              ex->who);
		return;
	}

	for (size_t k = 0; k < sizeof(dd2_codes) / sizeof(dd2_codes[0]); k++) {
		const struct dd2_code *c = &dd2_codes[k];
		if (strlen(c->word) != wl || memcmp(line, c->word, wl) != 0)
			continue;
		*known = true;
		char fix[400];
		int fl = snprintf(fix, sizeof(fix), "%s%s%s", c->fix, c->cred ? ": check " : "",
		                  !c->cred ? "" : ex->cred_hint != NULL ? ex->cred_hint : "the credentials");
		if (fl < 0 || (size_t)fl >= sizeof(fix))
			snprintf(fix, sizeof(fix), "%s", c->fix);
		switch (c->outcome) {
		case DW_OUT_FATAL:
			dw_result_set(res, DW_OUT_FATAL, -1, "%s%s: %s (\"%s\")", pre, ex->who, fix,
			              c->word);
			break;
		case DW_OUT_RATELIMIT: {
			long wait = retry_after_s >= 0 ? retry_after_s : dd2_interval_s(ex);
			dw_result_set(res, DW_OUT_RATELIMIT, wait, "%s%s: %s (\"%s\")", pre, ex->who,
			              fix, c->word);
			break;
		}
		default: {
			long wait = dd2_retry_s(ex);
			if (retry_after_s > wait)
				wait = retry_after_s;
			dw_result_set(res, DW_OUT_RETRY, wait, "%s%s: %s (\"%s\")", pre, ex->who, fix,
			              c->word);
			break;
		}
		}
		return;
	}
	dw_result_set(res, DW_OUT_RETRY, -1, "%sunparsable reply from %s: \"%s\"", pre, ex->who,
	              sample);
}

/* Judges a whole body; *all_known tells whether every line was a protocol
 * word (used to trust codes sent with a 4xx status). */
static void dd2_body(const char *body, size_t len, long retry_after_s,
                     const struct dw_dyndns2_expect *ex, bool *all_known, struct dw_result *res)
{
	size_t nlines = dw_dyn_count_lines(body, len);
	*all_known = false;
	if (nlines == 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from %s (empty)", ex->who);
		return;
	}
	if (nlines > ex->nhosts) {
		dw_result_set(res, DW_OUT_RETRY, -1,
		              "unparsable reply from %s: %zu lines for %zu hostname%s", ex->who, nlines,
		              ex->nhosts, ex->nhosts == 1 ? "" : "s");
		return;
	}

	size_t off = 0, i = 0, n;
	const char *line;
	bool first = true, known_all = true;
	while (i < nlines && dw_dyn_next_line(body, len, &off, &line, &n)) {
		struct dw_result one = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
		bool known;
		dd2_line(line, n, nlines == 1 && ex->nhosts > 1 ? (size_t)-1 : i, ex, retry_after_s, &known, &one);
		known_all = known_all && known;
		if (first || dd2_rank(one.outcome) > dd2_rank(res->outcome))
			*res = one;
		first = false;
		i++;
	}
	/* One line for several hosts: an account-level failure answers for
	 * all; a lone success leaves the other hosts unknown. */
	if (nlines < ex->nhosts && dw_outcome_ok(res->outcome)) {
		dw_result_set(res, DW_OUT_RETRY, -1,
		              "unparsable reply from %s: %zu line%s for %zu hostnames", ex->who, nlines,
		              nlines == 1 ? "" : "s", ex->nhosts);
		return;
	}
	*all_known = known_all;
}

void dw_dyndns2_classify(long status, const char *body, size_t len, long retry_after_s,
                         const struct dw_dyndns2_expect *ex, struct dw_result *res)
{
	if (status == 200) {
		bool known;
		dd2_body(body, len, retry_after_s, ex, &known, res);
		return;
	}
	if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, ex->who, status, retry_after_s,
		                    status == 429 ? dd2_interval_s(ex) : dd2_retry_s(ex), NULL);
		return;
	}
	if (status >= 400 && status <= 499) {
		/* Several servers send their failure code with a 4xx status
		 * (badauth with 401, nohost with 404): the code says more. */
		struct dw_result b = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
		bool known;
		dd2_body(body, len, retry_after_s, ex, &known, &b);
		if (known && !dw_outcome_ok(b.outcome)) {
			*res = b;
			return;
		}
		if (status == 401 || status == 403)
			dw_result_set(res, DW_OUT_FATAL, -1, "%s refused the credentials (HTTP %ld): check %s",
			              ex->who, status,
			              ex->cred_hint != NULL ? ex->cred_hint : "the credentials");
		else if (status == 404)
			dw_result_set(res, DW_OUT_FATAL, -1,
			              "%s has no update service at this URL (HTTP 404): check preset, "
			              "base-url and path", ex->who);
		else
			dw_result_set(res, DW_OUT_FATAL, -1, "%s rejected the request (HTTP %ld)", ex->who,
			              status);
		return;
	}
	dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from %s", status, ex->who);
}

/* ---- Configuration ---- */

struct dw_provider_data {
	const char *title;            /* preset title or DD2_GENERIC_TITLE */
	char *path;
	const char *extra_query;      /* from the preset, or NULL */
	enum dw_dyndns2_v6 v6;
	bool host_list;
	uint32_t interval_s, retry_s;
	char *username;
	struct dw_secret password;
	char cred_hint[200];
};

struct dw_record_data {
	char **hosts;                 /* hosts[0] is the record's FQDN */
	size_t nhosts;
};

/* True when the section sets key (even if the core consumed it). */
static bool dd2_has_key(const struct dw_conf_ctx *ctx, const char *key)
{
	for (size_t i = 0; i < ctx->sec->nkv; i++) {
		if (strcmp(ctx->sec->kv[i].key, key) == 0)
			return true;
	}
	return false;
}

static int dd2_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	p->data = d;
	d->title = DD2_GENERIC_TITLE;
	d->v6 = DW_DYNDNS2_V6_SEPARATE;
	d->interval_s = DD2_DEFAULT_INTERVAL;
	d->retry_s = DW_DYNDNS2_RETRY_MIN;
	const char *def_path = "/nic/update";

	const char *name = dw_conf_get(ctx, "preset");
	const struct dw_dyndns2_preset *ps = NULL;
	if (name != NULL) {
		ps = dw_dyndns2_preset_find(name);
		if (ps == NULL)
			return dw_conf_error(ctx, "preset",
			                     "unknown preset '%s' (\"dnsward providers\" lists them; or "
			                     "leave preset out and set base-url)", name);
		d->title = ps->title;
		def_path = ps->path;
		d->extra_query = ps->extra_query;
		d->v6 = ps->v6;
		d->host_list = ps->host_list;
		d->interval_s = ps->interval_s;
		d->retry_s = ps->retry_s;
		/* base-url, when given, replaces the preset's origin (a proxy, a
		 * test server); otherwise the preset's. */
		if (!dd2_has_key(ctx, "base-url")) {
			char *b = strdup(ps->base_url);
			if (b == NULL)
				return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
			free(p->base_url);
			p->base_url = b;
		}
	} else if (!dd2_has_key(ctx, "base-url")) {
		return dw_conf_error(ctx, "preset",
		                     "set preset (a known provider) or base-url (any dyndns2 server)");
	}

	int rc = dw_conf_strdup(ctx, "path", def_path, &d->path);
	if (rc != 0)
		return rc;
	if (d->path[0] != '/' || strpbrk(d->path, " ?#") != NULL)
		return dw_conf_error(ctx, "path", "must start with '/' and hold no query");

	const char *style = dw_conf_get(ctx, "ipv6-style");
	if (style != NULL) {
		if (strcmp(style, "none") == 0)
			d->v6 = DW_DYNDNS2_V6_NONE;
		else if (strcmp(style, "separate") == 0)
			d->v6 = DW_DYNDNS2_V6_SEPARATE;
		else if (strcmp(style, "comma") == 0)
			d->v6 = DW_DYNDNS2_V6_COMMA;
		else if (strcmp(style, "myipv6") == 0)
			d->v6 = DW_DYNDNS2_V6_PARAM;
		else
			return dw_conf_error(ctx, "ipv6-style",
			                     "'%s': use none, separate, comma or myipv6", style);
	}
	if ((rc = dw_conf_bool(ctx, "hostname-list", d->host_list, &d->host_list)) != 0)
		return rc;
	if ((rc = dw_conf_uint(ctx, "retry-delay", DW_DYNDNS2_RETRY_MIN, 86400, d->retry_s,
	                       &d->retry_s)) != 0)
		return rc;

	if ((rc = dw_conf_strdup(ctx, "username", NULL, &d->username)) != 0)
		return rc;
	if (d->username == NULL || d->username[0] == '\0')
		return dw_conf_error(ctx, "username", "missing (the update login of the account)");
	for (const char *c = d->username; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return dw_conf_error(ctx, "username", "holds control characters");
	}
	if ((rc = dw_conf_secret(ctx, "password-file", true, DW_SECRET_LINE, &d->password)) != 0)
		return rc;

	/* The password travels in every request: plain http would expose it. */
	if (!dw_dyn_is_https(p->base_url))
		return dw_conf_error(ctx, "base-url", "must be an https:// URL (credentials are sent)");
	int n = snprintf(d->cred_hint, sizeof(d->cred_hint),
	                 "username and password-file of [provider %s]", p->name);
	if (n < 0 || (size_t)n >= sizeof(d->cred_hint))
		snprintf(d->cred_hint, sizeof(d->cred_hint), "username and password-file");
	return 0;
}

static int dd2_add_host(struct dw_record_data *d, const char *name)
{
	char **nh = realloc(d->hosts, (d->nhosts + 1) * sizeof(*nh));
	if (nh == NULL)
		return DW_ENOMEM;
	d->hosts = nh;
	d->hosts[d->nhosts] = strdup(name);
	if (d->hosts[d->nhosts] == NULL)
		return DW_ENOMEM;
	d->nhosts++;
	return 0;
}

static int dd2_configure_record(struct dw_provider *p, struct dw_record *r,
                                struct dw_conf_ctx *ctx)
{
	const struct dw_provider_data *pd = p->data;
	struct dw_record_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	r->data = d;
	if (dd2_add_host(d, r->fqdn) != 0)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");

	if (r->src[DW_FAM_V6].kind != DW_SRC_OFF && pd->v6 == DW_DYNDNS2_V6_NONE)
		return dw_conf_error(ctx, "ipv6", "%s takes IPv4 addresses only: set ipv6 = off",
		                     pd->title);

	const char *extra = dw_conf_get(ctx, "extra-hostnames");
	if (extra == NULL)
		return 0;
	if (!pd->host_list)
		return dw_conf_error(ctx, "extra-hostnames",
		                     "%s takes one hostname per request (hostname-list = no)", pd->title);
	const char *s = extra;
	while (*s != '\0') {
		while (*s == ' ' || *s == ',')
			s++;
		size_t n = 0;
		while (s[n] != '\0' && s[n] != ',' && s[n] != ' ')
			n++;
		if (n == 0)
			break;
		char name[256];
		if (n >= sizeof(name))
			return dw_conf_error(ctx, "extra-hostnames", "name too long");
		memcpy(name, s, n);
		name[n] = '\0';
		if (dw_fqdn_normalize(name) != DW_OK)
			return dw_conf_error(ctx, "extra-hostnames", "'%s' is not a valid domain name", name);
		for (size_t i = 0; i < d->nhosts; i++) {
			if (strcmp(d->hosts[i], name) == 0)
				return dw_conf_error(ctx, "extra-hostnames", "'%s' is listed twice", name);
		}
		if (d->nhosts >= DW_DYNDNS2_HOSTS_MAX)
			return dw_conf_error(ctx, "extra-hostnames", "at most %d hostnames per record",
			                     DW_DYNDNS2_HOSTS_MAX);
		if (dd2_add_host(d, name) != 0)
			return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
		s += n;
	}
	return 0;
}

/* ---- Update ---- */

/* One request for the addresses in addr[] (NULL = family not sent), one
 * result for all of them. */
static void dd2_send(struct dw_provider *p, const struct dw_record *r,
                     const struct dw_ip *const addr[DW_FAM_COUNT], struct dw_result *res)
{
	const struct dw_provider_data *pd = p->data;
	const struct dw_record_data *rd = r->data;
	struct dw_dyn_url u;
	struct dw_http_resp resp = { 0 };
	char hosts[DW_DYNDNS2_HOSTS_MAX * 256];
	char ip[DW_FAM_COUNT][DW_IP_STRLEN];
	char myip[2 * DW_IP_STRLEN + 1];
	size_t hl = 0;

	hosts[0] = '\0';
	for (size_t i = 0; i < rd->nhosts; i++) {
		int n = snprintf(hosts + hl, sizeof(hosts) - hl, "%s%s", i > 0 ? "," : "", rd->hosts[i]);
		if (n < 0 || (size_t)n >= sizeof(hosts) - hl) {
			dw_result_set(res, DW_OUT_FATAL, -1, "hostname list too long");
			return;
		}
		hl += (size_t)n;
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		ip[f][0] = '\0';
		if (addr[f] != NULL)
			dw_ip_format(addr[f], ip[f]);
	}

	if (!dw_dyn_url_init(&u, p->base_url, pd->path, sizeof(hosts) * 3 + 512)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	dw_dyn_url_query(&u, pd->extra_query);
	dw_dyn_url_param(&u, "hostname", hosts, false);
	if (addr[DW_FAM_V4] != NULL && addr[DW_FAM_V6] != NULL && pd->v6 == DW_DYNDNS2_V6_COMMA) {
		int n = snprintf(myip, sizeof(myip), "%s,%s", ip[DW_FAM_V4], ip[DW_FAM_V6]);
		if (n < 0 || (size_t)n >= sizeof(myip)) {
			dw_result_set(res, DW_OUT_FATAL, -1, "address list too long");
			goto out;
		}
		dw_dyn_url_param(&u, "myip", myip, false);
	} else if (pd->v6 == DW_DYNDNS2_V6_PARAM) {
		if (addr[DW_FAM_V4] != NULL)
			dw_dyn_url_param(&u, "myip", ip[DW_FAM_V4], false);
		if (addr[DW_FAM_V6] != NULL)
			dw_dyn_url_param(&u, "myipv6", ip[DW_FAM_V6], false);
	} else {
		int f = addr[DW_FAM_V4] != NULL ? DW_FAM_V4 : DW_FAM_V6;
		dw_dyn_url_param(&u, "myip", ip[f], false);
	}
	if (u.failed) {
		dw_result_set(res, DW_OUT_FATAL, -1, "%s update URL too long", pd->title);
		goto out;
	}

	log_debug("%s: GET %s", pd->title, u.log);
	struct dw_http_req req = {
		.method = "GET",
		.url = u.url,
		.log_url = u.log,
		.basic_user = pd->username,
		.basic_pass = pd->password.data,
		.ca_file = p->ca_file,
		.timeout_ms = p->timeout_ms,
	};
	if (dw_dyn_request(p, &req, &resp, pd->title, res)) {
		const char *const *hp = (const char *const *)rd->hosts;
		struct dw_dyndns2_expect ex = {
			.who = pd->title,
			.hosts = hp,
			.nhosts = rd->nhosts,
			.sent = { addr[DW_FAM_V4], addr[DW_FAM_V6] },
			.retry_s = (long)pd->retry_s,
			.interval_s = (long)pd->interval_s,
			.cred_hint = pd->cred_hint,
		};
		dw_dyndns2_classify(resp.status, resp.body, resp.len, resp.retry_after_s, &ex, res);
	}
	/* Should a server ever echo the password, it must not reach the
	 * terminal or the journal. */
	dw_dyn_scrub(res->msg, sizeof(res->msg), pd->password.data);
	log_debug("%s %s %s%s%s: %s", pd->title, r->fqdn, ip[DW_FAM_V4],
	          addr[DW_FAM_V4] != NULL && addr[DW_FAM_V6] != NULL ? " " : "", ip[DW_FAM_V6],
	          dw_outcome_str(res->outcome));
out:
	dw_http_resp_free(&resp);
	dw_dyn_url_free(&u);
}

static void dd2_update(struct dw_provider *p, const struct dw_record *r, const struct dw_ip *addr,
                       struct dw_result *res)
{
	if (p->data == NULL || r->data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "provider %s is not configured", p->name);
		return;
	}
	const struct dw_ip *a[DW_FAM_COUNT] = { NULL, NULL };
	a[addr->family] = addr;
	dd2_send(p, r, a, res);
}

/* Both families: one request where the server takes both (myip=v4,v6 or
 * myipv6=), else one request per family. */
static void dd2_update_multi(struct dw_provider *p, const struct dw_record *r,
                             const struct dw_ip *const addr[DW_FAM_COUNT],
                             struct dw_result res[DW_FAM_COUNT])
{
	const struct dw_provider_data *pd = p->data;
	if (pd == NULL || r->data == NULL ||
	    (pd->v6 != DW_DYNDNS2_V6_COMMA && pd->v6 != DW_DYNDNS2_V6_PARAM)) {
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			if (addr[f] != NULL)
				dd2_update(p, r, addr[f], &res[f]);
		}
		return;
	}
	struct dw_result one = { .outcome = DW_OUT_RETRY, .retry_after_s = -1 };
	dd2_send(p, r, addr, &one);
	for (int f = 0; f < DW_FAM_COUNT; f++)
		res[f] = one;
}

static void dd2_free_record(struct dw_record *r)
{
	struct dw_record_data *d = r->data;
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nhosts; i++)
		free(d->hosts[i]);
	free(d->hosts);
	free(d);
	r->data = NULL;
}

static void dd2_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	free(d->path);
	free(d->username);
	dw_secret_clear(&d->password);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_dyndns2 = {
	.type = "dyndns2",
	.summary = "dyndns2 protocol (No-IP, Dyn, OVH, Strato, Dynu, ...: preset = NAME) or any "
	           "dyndns2 server (base-url)",
	.caps = DW_CAP_A | DW_CAP_AAAA,
	/* Placeholder: configure() takes the preset's origin, or insists on
	 * base-url when there is no preset. */
	.default_base_url = "https://members.dyndns.org",
	.configure = dd2_configure,
	.configure_record = dd2_configure_record,
	.update = dd2_update,
	.update_multi = dd2_update_multi,
	.free_record = dd2_free_record,
	.free = dd2_free,
};
