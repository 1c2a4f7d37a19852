/* Fuzzes the Cloudflare envelope parsers and decisions (zones, records,
 * error message, write check) and TXT matching with arbitrary bodies.  The
 * first byte picks the status; the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/cloudflare.h"
#include "providers/txt.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 201, 400, 401, 403, 404, 429, 500, 502, 302 };
	uint8_t sel = size > 0 ? data[0] : 0;
	size_t len = size > 0 ? size - 1 : 0;
	char *body = malloc(len > 0 ? len : 1);   /* exact size: ASan sees overreads */
	if (body == NULL)
		return 0;
	if (len > 0)
		memcpy(body, data + 1, len);
	long status = statuses[(sel & 0x0f) % (sizeof(statuses) / sizeof(statuses[0]))];

	char id[DW_CF_ID_MAX];
	int rc = dw_cf_parse_zones(body, len, "example.org", id);
	if ((rc == 0) != (id[0] != '\0') || strlen(id) >= DW_CF_ID_MAX)
		abort();

	struct dw_cf_records l = { 0 };
	long page = 0, total = 0;
	rc = dw_cf_parse_records(body, len, (sel & 0x10) ? "AAAA" : "A", "home.example.org", &l,
	                         &page, &total);
	if (rc == 0 && page < 1)
		abort();
	if (l.n > DW_CF_RECORDS_MAX)
		abort();
	struct dw_ip a;
	if (dw_ip_parse((sel & 0x10) ? "2a01:4f8:1:2::3" : "81.2.69.160",
	                (sel & 0x10) ? DW_FAM_V6 : DW_FAM_V4, &a) != 0)
		abort();
	struct dw_cf_plan plan;
	dw_cf_plan_address(&l, &a, 300, (sel & 0x20) ? 1 : -1, &plan);
	if (plan.action != DW_CF_CREATE && plan.keep >= l.n)
		abort();
	if (plan.action == DW_CF_CREATE && l.n != 0)
		abort();
	for (size_t i = 0; i < l.n; i++)
		(void)dw_txt_matches(l.v[i].content, strlen(l.v[i].content), "abc");
	struct dw_verify ver;
	dw_cf_verify_list(&l, (sel & 0x10) ? "AAAA" : "A", &a, &ver);
	fuzz_check_verify(&ver);
	if (ver.status == DW_VERIFY_STANDS && l.n != 1)
		abort();
	dw_cf_records_free(&l);

	char msg[200];
	(void)dw_cf_error_message(body, len, msg, sizeof(msg));
	if (strlen(msg) >= sizeof(msg))
		abort();

	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	if (!dw_cf_after_write(status, body, len, 30, "token-file", "example.org", NULL, NULL,
	                       &res)) {
		fuzz_check_result(&res);
		if (res.outcome == DW_OUT_DONE)
			abort();
	} else if (status != 200) {
		abort();
	}
	res.msg[0] = '\0';
	dw_cf_classify_error(status, body, len, -1, "token-file", "example.org", &res);
	fuzz_check_result(&res);
	if (res.outcome == DW_OUT_DONE || res.outcome == DW_OUT_UNCHANGED)
		abort();
	(void)dw_txt_matches(body, len, "abc");
	free(body);
	return 0;
}
