/* Fuzzes the dyndns2 reply classifier.  The first input byte picks the
 * status, the addresses sent (v4, v6, both, TXT) and the number of
 * hostnames (1..3); the rest is the body.  Every outcome must come with a
 * non-empty, printable message; a success needs status 200. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/dyndns2.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 200, 401, 404, 429, 500 };
	static const char *const hosts[] = { "h1.example.com", "h2.example.com", "h3.example.com" };
	uint8_t sel = size > 0 ? data[0] : 0;
	const char *body = size > 0 ? (const char *)data + 1 : "";
	size_t len = size > 0 ? size - 1 : 0;
	struct dw_ip v4, v6;
	if (dw_ip_parse("81.2.69.160", DW_FAM_V4, &v4) != 0 ||
	    dw_ip_parse("2a01:4f8:1:2::3", DW_FAM_V6, &v6) != 0)
		abort();
	unsigned kind = (sel >> 3) & 3;      /* 0 v4, 1 v6, 2 both, 3 TXT */
	size_t nhosts = 1 + ((sel >> 5) % 3);
	struct dw_dyndns2_expect ex = {
		.who = "Fuzz",
		.hosts = hosts,
		.nhosts = nhosts,
		.sent = { kind == 0 || kind == 2 ? &v4 : NULL, kind == 1 || kind == 2 ? &v6 : NULL },
		.txt = kind == 3,
		.retry_s = 600,
		.interval_s = 300,
		.cred_hint = "username and password-file",
	};
	/* Copy into an exact-size buffer so ASan sees any read past len. */
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, body, len);
	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	long status = statuses[sel & 7];
	dw_dyndns2_classify(status, copy, len, (sel & 0x80) ? 60 : -1, &ex, &res);
	fuzz_check_result(&res);
	if (status != 200 && dw_outcome_ok(res.outcome))
		abort();
	if (res.outcome == DW_OUT_RETRY && res.retry_after_s >= 0 &&
	    res.retry_after_s < DW_DYNDNS2_RETRY_MIN)
		abort();
	free(copy);
	return 0;
}
