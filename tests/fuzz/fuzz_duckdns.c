/* Fuzzes the DuckDNS reply classifiers.  The first input byte picks the
 * status, the addresses sent (v4, v6, both) or a TXT update; the rest is
 * the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/duckdns.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 200, 200, 404, 429, 500 };
	uint8_t sel = size > 0 ? data[0] : 0;
	const char *body = size > 0 ? (const char *)data + 1 : "";
	size_t len = size > 0 ? size - 1 : 0;
	struct dw_ip v4, v6;
	if (dw_ip_parse("81.2.69.160", DW_FAM_V4, &v4) != 0 ||
	    dw_ip_parse("2a01:4f8:1:2::3", DW_FAM_V6, &v6) != 0)
		abort();
	unsigned kind = (sel >> 3) & 3;   /* 0 v4, 1 v6, 2 both, 3 TXT */
	const struct dw_ip *sent[DW_FAM_COUNT] = {
		kind == 0 || kind == 2 ? &v4 : NULL,
		kind == 1 || kind == 2 ? &v6 : NULL,
	};
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, body, len);
	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	long status = statuses[sel & 7];
	if (kind == 3)
		dw_duckdns_classify_txt(status, copy, len, (sel & 0x80) ? 60 : -1,
		                        (sel & 0x20) ? "" : "abc", &res);
	else
		dw_duckdns_classify(status, copy, len, (sel & 0x80) ? 60 : -1, sent, &res);
	fuzz_check_result(&res);
	if (status != 200 && dw_outcome_ok(res.outcome))
		abort();
	free(copy);
	return 0;
}
