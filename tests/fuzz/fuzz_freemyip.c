/* Fuzzes the freemyip reply classifier.  The first input byte picks the
 * status; the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/freemyip.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 200, 403, 404, 429, 500 };
	uint8_t sel = size > 0 ? data[0] : 0;
	const char *body = size > 0 ? (const char *)data + 1 : "";
	size_t len = size > 0 ? size - 1 : 0;
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, body, len);
	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	long status = statuses[sel & 7];
	dw_freemyip_classify(status, copy, len, (sel & 0x80) ? 60 : -1, &res);
	fuzz_check_result(&res);
	if (status != 200 && dw_outcome_ok(res.outcome))
		abort();
	if (dw_outcome_ok(res.outcome) && (len < 2 || memcmp(copy, "OK", 2) != 0))
		abort();
	free(copy);
	return 0;
}
