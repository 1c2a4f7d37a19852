/* Provider results: outcome names, messages, and the classifications every
 * HTTP provider shares (transport failures, rate limits and server errors,
 * zone discovery), so each provider says them the same way. */
#include "lib/provider.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/http.h"

const char *dw_outcome_str(enum dw_outcome o)
{
	switch (o) {
	case DW_OUT_DONE:      return "done";
	case DW_OUT_UNCHANGED: return "unchanged";
	case DW_OUT_RETRY:     return "retry";
	case DW_OUT_RATELIMIT: return "rate-limited";
	case DW_OUT_FATAL:     return "fatal";
	case DW_OUT_ACTION:    return "needs-action";
	case DW_OUT_COUNT:     break;
	}
	return "unknown";
}

void dw_result_set(struct dw_result *res, enum dw_outcome o, long retry_after_s,
                   const char *fmt, ...)
{
	res->outcome = o;
	res->retry_after_s = retry_after_s;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		res->msg[0] = '\0';
}

void dw_result_http_failure(struct dw_result *res, const struct dw_provider *p, const char *who,
                            int rc, const struct dw_http_resp *resp, const struct dw_diag *diag)
{
	char where[160] = "";
	if (p != NULL)
		snprintf(where, sizeof(where), " in [provider %.120s]", p->name);
	const char *detail = diag != NULL ? diag->msg : "unknown error";
	if (rc == DW_EREDIRECT) {
		dw_result_set(res, DW_OUT_FATAL, -1, "%s request failed: %s", who, detail);
		return;
	}
	enum dw_tls_problem t = rc == DW_ETLS && resp != NULL ? resp->tls : DW_TLS_NONE;
	switch (t) {
	case DW_TLS_UNTRUSTED:
		dw_result_set(res, DW_OUT_ACTION, -1,
		              "%s request failed: %s; if you trust that CA, set ca-file%s to a PEM file "
		              "holding its certificate", who, detail, where);
		return;
	case DW_TLS_NAME:
		dw_result_set(res, DW_OUT_ACTION, -1,
		              "%s request failed: %s; check the host in base-url%s", who, detail, where);
		return;
	case DW_TLS_EXPIRED:
		dw_result_set(res, DW_OUT_ACTION, -1,
		              "%s request failed: %s; the server's operator must renew it (or this "
		              "host's clock is wrong)", who, detail);
		return;
	case DW_TLS_NOT_YET_VALID:
		dw_result_set(res, DW_OUT_ACTION, -1,
		              "%s request failed: %s; check this host's clock", who, detail);
		return;
	case DW_TLS_CERT_OTHER:
		dw_result_set(res, DW_OUT_ACTION, -1, "%s request failed: %s", who, detail);
		return;
	case DW_TLS_NONE:
	case DW_TLS_HANDSHAKE:
		break;
	}
	dw_result_set(res, DW_OUT_RETRY, -1, "%s request failed: %s", who, detail);
}

void dw_result_http_wait(struct dw_result *res, const char *who, long status, long retry_after_s,
                         long fallback_s, const char *detail)
{
	bool limit = status == 429;
	long wait = retry_after_s;
	if (limit && wait < 0)
		wait = fallback_s;
	else if (!limit && fallback_s > wait)
		wait = fallback_s;
	const char *sep = detail != NULL && detail[0] != '\0' ? ": " : "";
	dw_result_set(res, limit ? DW_OUT_RATELIMIT : DW_OUT_RETRY, wait < 0 ? -1 : wait,
	              "%s %s (HTTP %ld)%s%s%s", who, limit ? "rate limit" : "server error", status,
	              limit && retry_after_s < 0 ? " (no Retry-After given)" : "", sep,
	              sep[0] != '\0' ? detail : "");
}

int dw_zone_find(const char *fqdn,
                 enum dw_zone_probe (*probe)(void *arg, const char *zone, struct dw_result *res),
                 void *arg, const char **zone, const char **forbidden, struct dw_result *res)
{
	*zone = NULL;
	if (forbidden != NULL)
		*forbidden = NULL;
	/* Suffixes of at least two labels, longest first, then the name. */
	for (const char *s = strchr(fqdn, '.');; s = strchr(s + 1, '.')) {
		const char *cand = s == NULL ? fqdn : s + 1;
		if (s == NULL || strchr(cand, '.') != NULL) {
			switch (probe(arg, cand, res)) {
			case DW_ZONE_FOUND:
				*zone = cand;
				return 1;
			case DW_ZONE_FAILED:
				return -1;
			case DW_ZONE_FORBIDDEN:
				if (forbidden != NULL && *forbidden == NULL)
					*forbidden = cand;
				break;
			case DW_ZONE_ABSENT:
				break;
			}
		}
		if (s == NULL)
			return 0;
	}
}
