/* Fuzzes the gateway provider's reply classifiers.  The first input byte
 * picks the endpoint (dyndns2 or httpreq), the status, the addresses sent
 * (v4, v6, both) and whether a Retry-After came; the rest is the body.
 * Every outcome must come with a non-empty, printable message; a success
 * needs status 200; a dyndns2 retry never comes sooner than 10 minutes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gateway.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 400, 401, 403, 429, 502 };
	uint8_t sel = size > 0 ? data[0] : 0;
	const char *body = size > 0 ? (const char *)data + 1 : "";
	size_t len = size > 0 ? size - 1 : 0;
	struct dw_ip v4, v6;
	if (dw_ip_parse("81.2.69.160", DW_FAM_V4, &v4) != 0 ||
	    dw_ip_parse("2a01:4f8:1:2::3", DW_FAM_V6, &v6) != 0)
		abort();
	unsigned kind = ((sel >> 3) & 3) % 3;   /* 0 v4, 1 v6, 2 both */
	const struct dw_ip *sent[DW_FAM_COUNT] = { kind != 1 ? &v4 : NULL, kind != 0 ? &v6 : NULL };
	long status = statuses[sel & 7];
	long retry_after = (sel & 0x80) ? 60 : -1;
	/* Copy into an exact-size buffer so ASan sees any read past len. */
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, body, len);
	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	if (sel & 0x40) {
		dw_gateway_classify_txt(status, copy, len, retry_after, (sel & 0x20) != 0,
		                        (sel & 0x20) ? "_acme-challenge.h.example.org" : NULL, &res);
	} else {
		dw_gateway_classify_nic(status, copy, len, retry_after,
		                        (sel & 0x20) ? "h.example.org" : NULL, sent, &res);
		if (res.outcome == DW_OUT_RETRY && res.retry_after_s >= 0 &&
		    res.retry_after_s < DW_GATEWAY_RETRY_MIN)
			abort();
	}
	fuzz_check_result(&res);
	if (status != 200 && dw_outcome_ok(res.outcome))
		abort();
	if (res.outcome == DW_OUT_RATELIMIT && res.retry_after_s < 0)
		abort();
	free(copy);
	/* The name rule on the same bytes. */
	char name[300], host[256];
	size_t nl = len < sizeof(name) - 1 ? len : sizeof(name) - 1;
	memcpy(name, body, nl);
	name[nl] = '\0';
	if (dw_gateway_txt_host(name, host, sizeof(host)) && host[0] == '\0')
		abort();
	return 0;
}
