/* Fuzzes the FreeDNS v2 reply classifier with arbitrary bodies under the
 * statuses that matter.  The first input byte picks the status, the family
 * of the address sent and whether the host is checked; the rest is the body.
 * Every outcome must come with a non-empty, printable message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/freedns.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 200, 201, 301, 401, 403, 404, 429, 500, 503 };
	uint8_t sel = size > 0 ? data[0] : 0;
	const char *body = size > 0 ? (const char *)data + 1 : "";
	size_t len = size > 0 ? size - 1 : 0;
	struct dw_ip sent;
	const char *host = (sel & 0x20) ? NULL : "home.mooo.com";

	if (sel & 0x10) {
		if (dw_ip_parse("2a01:4f8:1:2::3", DW_FAM_V6, &sent) != 0)
			abort();
	} else if (dw_ip_parse("81.2.69.160", DW_FAM_V4, &sent) != 0) {
		abort();
	}
	/* Copy into an exact-size buffer so ASan sees any read past len. */
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, body, len);

	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	long status = statuses[(sel & 0x0f) % (sizeof(statuses) / sizeof(statuses[0]))];
	dw_freedns_classify(status, copy, len, (sel & 0x40) ? 60 : -1, host, &sent, &res);
	fuzz_check_result(&res);
	if (status == 200 && res.outcome == DW_OUT_RATELIMIT)
		abort();
	if (status != 200 && dw_outcome_ok(res.outcome))
		abort();
	free(copy);
	return 0;
}
