/* freemyip: GET {base}/update?token=T&domain=D&myip=IP, one token per
 * domain from the record's "token-file".  One address per request.
 *
 * The token sits in the URL: URLs are wiped after use and logged with
 * "[token]" in its place. */
#include "providers/freemyip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"
#include "lib/log.h"
#include "lib/secret.h"
#include "lib/text.h"
#include "providers/dyn_common.h"

#define FMI_SAMPLE_MAX 80
#define FMI_RETRY_S 600
#define FMI_RATELIMIT_S 600

struct dw_record_data {
	struct dw_secret token;
};

/* ---- Reply classification (pure) ---- */

void dw_freemyip_classify(long status, const char *body, size_t len, long retry_after_s,
                          struct dw_result *res)
{
	if (status == 429 || (status >= 500 && status <= 599)) {
		dw_result_http_wait(res, "freemyip", status, retry_after_s,
		                    status == 429 ? FMI_RATELIMIT_S : FMI_RETRY_S, NULL);
		return;
	}
	if (status >= 400 && status <= 499) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "freemyip rejected the request (HTTP %ld): check token-file and base-url",
		              status);
		return;
	}
	if (status != 200) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unexpected HTTP status %ld from freemyip", status);
		return;
	}
	const char *line = "";
	size_t n = 0, off = 0;
	char sample[FMI_SAMPLE_MAX + 1];
	if (!dw_dyn_next_line(body, len, &off, &line, &n) || n == 0) {
		dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from freemyip (empty)");
		return;
	}
	dw_text_sample(line, n, FMI_SAMPLE_MAX, sample, sizeof(sample));
	if (n == 2 && memcmp(line, "OK", 2) == 0) {
		dw_result_set(res, DW_OUT_DONE, -1, "freemyip updated");
		return;
	}
	if (n == 5 && memcmp(line, "ERROR", 5) == 0) {
		dw_result_set(res, DW_OUT_FATAL, -1,
		              "freemyip refused the update (ERROR): check token-file and that the "
		              "token belongs to this domain");
		return;
	}
	dw_result_set(res, DW_OUT_RETRY, -1, "unparsable reply from freemyip: \"%s\"", sample);
}

/* ---- Configuration ---- */

static int fmi_configure(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	if (!dw_dyn_is_https(p->base_url))
		return dw_conf_error(ctx, "base-url", "must be an https:// URL (the token is part of it)");
	return 0;
}

static int fmi_configure_record(struct dw_provider *p, struct dw_record *r,
                                struct dw_conf_ctx *ctx)
{
	(void)p;
	struct dw_record_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dw_diag_set(ctx->diag, DW_ENOMEM, "out of memory");
	r->data = d;
	int rc = dw_conf_secret(ctx, "token-file", true, DW_SECRET_LINE, &d->token);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < d->token.len; i++) {
		unsigned char c = (unsigned char)d->token.data[i];
		if (c <= 0x20 || c >= 0x7f)
			return dw_conf_error(ctx, "token-file",
			                     "the file must hold the token alone on one line");
	}
	return 0;
}

/* ---- Update ---- */

static void fmi_update(struct dw_provider *p, const struct dw_record *r, const struct dw_ip *addr,
                       struct dw_result *res)
{
	const struct dw_record_data *rd = r->data;
	struct dw_dyn_url u;
	struct dw_http_resp resp = { 0 };
	char ip[DW_IP_STRLEN];

	if (rd == NULL || rd->token.data == NULL) {
		dw_result_set(res, DW_OUT_FATAL, -1, "no token-file configured for %s", r->fqdn);
		return;
	}
	dw_ip_format(addr, ip);
	if (!dw_dyn_url_init(&u, p->base_url, "/update", rd->token.len * 3 + strlen(r->fqdn) * 3 + 256)) {
		dw_result_set(res, DW_OUT_RETRY, -1, "out of memory");
		goto out;
	}
	dw_dyn_url_param(&u, "token", rd->token.data, true);
	dw_dyn_url_param(&u, "domain", r->fqdn, false);
	dw_dyn_url_param(&u, "myip", ip, false);
	if (u.failed) {
		dw_result_set(res, DW_OUT_FATAL, -1, "freemyip update URL too long");
		goto out;
	}
	log_debug("freemyip: GET %s", u.log);
	struct dw_http_req req = {
		.method = "GET",
		.url = u.url,
		.log_url = u.log,
		.ca_file = p->ca_file,
		.timeout_ms = p->timeout_ms,
	};
	if (dw_dyn_request(p, &req, &resp, "freemyip", res))
		dw_freemyip_classify(resp.status, resp.body, resp.len, resp.retry_after_s, res);
	dw_dyn_scrub(res->msg, sizeof(res->msg), rd->token.data);
	log_debug("freemyip %s %s %s: %s", r->fqdn, dw_family_rrtype(addr->family), ip,
	          dw_outcome_str(res->outcome));
out:
	dw_http_resp_free(&resp);
	dw_dyn_url_free(&u);
}

static void fmi_free_record(struct dw_record *r)
{
	struct dw_record_data *d = r->data;
	if (d == NULL)
		return;
	dw_secret_clear(&d->token);
	free(d);
	r->data = NULL;
}

const struct dw_provider_ops dw_provider_freemyip = {
	.type = "freemyip",
	.summary = "freemyip (freemyip.com), one token per domain",
	.caps = DW_CAP_A | DW_CAP_AAAA,
	.default_base_url = "https://freemyip.com",
	.configure = fmi_configure,
	.configure_record = fmi_configure_record,
	.update = fmi_update,
	.free_record = fmi_free_record,
};
