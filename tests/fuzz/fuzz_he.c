/* Fuzzes the Hurricane Electric reply classifier.  The first input byte
 * picks the status and whether an address (v4, v6) or a TXT value was sent;
 * the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/he.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 200, 401, 404, 429, 500 };
	uint8_t sel = size > 0 ? data[0] : 0;
	const char *body = size > 0 ? (const char *)data + 1 : "";
	size_t len = size > 0 ? size - 1 : 0;
	struct dw_ip ip;
	const struct dw_ip *sent = NULL;
	if ((sel & 0x30) == 0x10) {
		if (dw_ip_parse("2a01:4f8:1:2::3", DW_FAM_V6, &ip) != 0)
			abort();
		sent = &ip;
	} else if ((sel & 0x30) != 0x30) {
		if (dw_ip_parse("81.2.69.160", DW_FAM_V4, &ip) != 0)
			abort();
		sent = &ip;
	}
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, body, len);
	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	long status = statuses[sel & 7];
	dw_he_classify(status, copy, len, (sel & 0x80) ? 60 : -1, "home.example.com", sent, &res);
	fuzz_check_result(&res);
	if (status != 200 && dw_outcome_ok(res.outcome))
		abort();
	free(copy);
	return 0;
}
