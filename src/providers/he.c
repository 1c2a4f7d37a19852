/* Hurricane Electric dynamic DNS: GET {base}/nic/update?hostname=H&myip=IP
 * with Basic credentials user = the record's FQDN, password = that record's
 * key (generated in HE's web UI per dynamic record).  One address per
 * request: A and AAAA of one name are two requests.
 *
 * TXT (ACME dns-01): HE keeps ONE value per dynamic TXT record, updated with
 * hostname=NAME&txt=VALUE and NAME's own key.  The key of the TXT record
 * comes from the record section ("txt-key-file", for the name in "txt-name",
 * default _acme-challenge.FQDN) and is kept by the provider, since TXT calls
 * name only the provider and the FQDN. */
#include "providers/he.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "providers/dyn_common.h"
#include "providers/dyndns2.h"

#define HE_TITLE "Hurricane Electric"

struct he_txt {
	char *fqdn;
	struct dw_secret key;
};

struct dw_provider_data {
	struct he_txt *txt;
	size_t ntxt;
};

struct dw_record_data {
	struct dw_secret key;
};

/* ---- Reply classification (pure) ---- */

void dw_he_classify(long status, const char *body, size_t len, long retry_after_s,
                    const char *host, const struct dw_ip *sent, struct dw_result *res)
{
	const char *hosts[1] = { host };
	char hint[320];
	int n = snprintf(hint, sizeof(hint), "the key file of %s (%s)", host,
	                 sent != NULL ? "key-file" : "txt-key-file");
	if (n < 0 || (size_t)n >= sizeof(hint))
		snprintf(hint, sizeof(hint), "the record's key file");
	struct dw_dyndns2_expect ex = {
		.who = HE_TITLE,
		.hosts = hosts,
		.nhosts = 1,
		.txt = sent == NULL,
		.retry_s = DW_DYNDNS2_RETRY_MIN,
		.interval_s = DW_HE_INTERVAL_S,
		.cred_hint = hint,
	};
	if (sent != NULL)
		ex.sent[sent->family] = sent;
	dw_dyndns2_classify(status, body, len, retry_after_s, &ex, res);
}

/* ---- Configuration ---- */

static int he_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	p->data = calloc(1, sizeof(*p->data));
	if (p->data == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	if (!dw_dyn_is_https(p->base_url))
		return dw_conf_error(ctx, "base-url", "must be an https:// URL (keys are sent)");
	return 0;
}

static int he_key_ok(struct dw_conf_ctx *ctx, const char *key, const struct dw_secret *s)
{
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->data[i];
		if (c < 0x20 || c >= 0x7f)
			return dw_conf_error(ctx, key, "the file must hold the key alone on one line");
	}
	return 0;
}

static int he_configure_record(struct dw_provider *p, struct dw_record *r,
                               struct dw_conf_ctx *ctx)
{
	struct dw_provider_data *pd = p->data;
	struct dw_record_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	r->data = d;
	int rc = dw_conf_secret(ctx, "key-file", true, DW_SECRET_LINE, &d->key);
	if (rc != 0 || (rc = he_key_ok(ctx, "key-file", &d->key)) != 0)
		return rc;

	/* Optional dynamic TXT record for ACME. */
	const char *tname = dw_conf_get(ctx, "txt-name");
	struct dw_secret tkey = { 0 };
	if ((rc = dw_conf_secret(ctx, "txt-key-file", false, DW_SECRET_LINE, &tkey)) != 0)
		return rc;
	if (tkey.data == NULL) {
		if (tname != NULL)
			return dw_conf_error(ctx, "txt-name", "needs txt-key-file (the TXT record's key)");
		return 0;
	}
	char name[300];
	int n = tname != NULL ? snprintf(name, sizeof(name), "%s", tname)
	                      : snprintf(name, sizeof(name), "_acme-challenge.%s", r->fqdn);
	if (n < 0 || (size_t)n >= sizeof(name) || dw_fqdn_normalize(name) != DW_OK) {
		dw_secret_clear(&tkey);
		return dw_conf_error(ctx, tname != NULL ? "txt-name" : NULL,
		                     "'%s' is not a valid TXT record name", tname != NULL ? tname : name);
	}
	if ((rc = he_key_ok(ctx, "txt-key-file", &tkey)) != 0) {
		dw_secret_clear(&tkey);
		return rc;
	}
	for (size_t i = 0; i < pd->ntxt; i++) {
		if (strcmp(pd->txt[i].fqdn, name) == 0) {
			dw_secret_clear(&tkey);
			return dw_conf_error(ctx, "txt-key-file", "a key for %s is already configured",
			                     name);
		}
	}
	struct he_txt *nt = realloc(pd->txt, (pd->ntxt + 1) * sizeof(*nt));
	char *fq = strdup(name);
	if (nt == NULL || fq == NULL) {
		if (nt != NULL)
			pd->txt = nt;
		free(fq);
		dw_secret_clear(&tkey);
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	}
	pd->txt = nt;
	pd->txt[pd->ntxt].fqdn = fq;
	pd->txt[pd->ntxt].key = tkey;   /* the provider owns it from here on */
	pd->ntxt++;
	return 0;
}

/* ---- Requests ---- */

/* One GET for host with the given key; either sent (an address) or txt. */
static void he_send(struct dw_provider *p, const char *host, const struct dw_secret *key,
                    const struct dw_ip *sent, const char *txt, struct dw_result *res)
{
	struct dw_dyn_url u;
	struct dw_http_resp resp = { 0 };
	char ip[DW_IP_STRLEN] = "";

	if (!dw_dyn_url_init(&u, p->base_url, "/nic/update", strlen(host) * 3 +
	                     (txt != NULL ? strlen(txt) * 3 : 0) + 256)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	dw_dyn_url_param(&u, "hostname", host, false);
	if (sent != NULL) {
		dw_ip_format(sent, ip);
		dw_dyn_url_param(&u, "myip", ip, false);
	} else {
		dw_dyn_url_param(&u, "txt", txt, false);
	}
	if (u.failed) {
		dw_result_set(res, DW_OUT_FATAL, -1, HE_TITLE " update URL too long");
		goto out;
	}
	log_debug(HE_TITLE ": GET %s", u.log);
	struct dw_http_req req = {
		.method = "GET",
		.url = u.url,
		.log_url = u.log,
		.basic_user = host,
		.basic_pass = key->data,
		.ca_file = p->ca_file,
		.timeout_ms = p->timeout_ms,
	};
	if (dw_dyn_request(p, &req, &resp, HE_TITLE, res))
		dw_he_classify(resp.status, resp.body, resp.len, resp.retry_after_s, host, sent, res);
	dw_dyn_scrub(res->msg, sizeof(res->msg), key->data);
	log_debug(HE_TITLE " %s %s: %s", host, sent != NULL ? ip : "TXT", dw_outcome_str(res->outcome));
out:
	dw_http_resp_free(&resp);
	dw_dyn_url_free(&u);
}

static void he_update(struct dw_provider *p, const struct dw_record *r, const struct dw_ip *addr,
                      struct dw_result *res)
{
	if (r->data == NULL || r->data->key.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "no key-file configured for %s", r->fqdn);
		return;
	}
	he_send(p, r->fqdn, &r->data->key, addr, NULL, res);
}

static const struct he_txt *he_txt_find(const struct dw_provider *p, const char *fqdn)
{
	const struct dw_provider_data *pd = p->data;
	if (pd == NULL)
		return NULL;
	for (size_t i = 0; i < pd->ntxt; i++) {
		if (strcmp(pd->txt[i].fqdn, fqdn) == 0)
			return &pd->txt[i];
	}
	return NULL;
}

static void he_txt_set(struct dw_provider *p, const char *fqdn, const char *value,
                       struct dw_result *res)
{
	const struct he_txt *t = he_txt_find(p, fqdn);
	if (t == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "no TXT key for %s: create a dynamic TXT record there at HE and set "
		              "txt-key-file (and txt-name) in its [record] section", fqdn);
		return;
	}
	he_send(p, t->fqdn, &t->key, NULL, value, res);
}

static void he_txt_add(struct dw_provider *p, const char *fqdn, const char *value, uint32_t ttl,
                       struct dw_result *res)
{
	(void)ttl;   /* set with the record in HE's UI */
	he_txt_set(p, fqdn, value, res);
}

/* HE cannot delete a dynamic record nor hold several values: the value is
 * replaced by a placeholder.  The TXT record holds one value, so removing
 * "only that value" means replacing whatever is there. */
static void he_txt_del(struct dw_provider *p, const char *fqdn, const char *value,
                       struct dw_result *res)
{
	(void)value;
	he_txt_set(p, fqdn, DW_HE_TXT_CLEARED, res);
}

static void he_free_record(struct dw_record *r)
{
	struct dw_record_data *d = r->data;
	if (d == NULL)
		return;
	dw_secret_clear(&d->key);
	free(d);
	r->data = NULL;
}

static void he_free(struct dw_provider *p)
{
	struct dw_provider_data *d = p->data;
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->ntxt; i++) {
		free(d->txt[i].fqdn);
		dw_secret_clear(&d->txt[i].key);
	}
	free(d->txt);
	free(d);
	p->data = NULL;
}

const struct dw_provider_ops dw_provider_he = {
	.type = "he",
	.summary = "Hurricane Electric (dns.he.net) dynamic records, one key per record; TXT",
	.caps = DW_CAP_A | DW_CAP_AAAA | DW_CAP_TXT | DW_CAP_TXT_SINGLE,
	.default_base_url = "https://dyn.dns.he.net",
	.configure = he_configure,
	.configure_record = he_configure_record,
	.update = he_update,
	.txt_add = he_txt_add,
	.txt_del = he_txt_del,
	.free_record = he_free_record,
	.free = he_free,
};
