/* Fuzzes the deSEC dynDNS classifier, the REST RRset parser, the TXT
 * read-modify-write planner and the REST error classifier.  The first byte
 * picks the status; the rest is the body. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/desec.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 201, 204, 400, 401, 403, 404, 429, 500, 302 };
	uint8_t sel = size > 0 ? data[0] : 0;
	size_t len = size > 0 ? size - 1 : 0;
	char *body = malloc(len > 0 ? len : 1);
	if (body == NULL)
		return 0;
	if (len > 0)
		memcpy(body, data + 1, len);
	long status = statuses[(sel & 0x0f) % (sizeof(statuses) / sizeof(statuses[0]))];

	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	dw_desec_classify_update(status, body, len, 30, "home.dedyn.io", "token-file", &res);
	fuzz_check_result(&res);
	if (res.outcome == DW_OUT_DONE && (status != 200 || len < 4 || memcmp(body, "good", 4) != 0))
		abort();
	if (res.outcome == DW_OUT_UNCHANGED)
		abort();

	res.msg[0] = '\0';
	dw_desec_classify_rest(status, body, len, -1, "dedyn.io", &res);
	fuzz_check_result(&res);
	if (res.outcome == DW_OUT_DONE || res.outcome == DW_OUT_UNCHANGED)
		abort();

	struct dw_ip sent;
	int v6 = (sel & 0x10) != 0;
	if (dw_ip_parse(v6 ? "2a01:4f8:1:2::3" : "81.2.69.160", v6 ? DW_FAM_V6 : DW_FAM_V4,
	                &sent) != 0)
		abort();
	struct dw_verify ver;
	dw_desec_verify_get(status, body, len, 30, "dedyn.io", "home", &sent, &ver);
	fuzz_check_verify(&ver);
	if (ver.status == DW_VERIFY_STANDS && status != 200)
		abort();

	struct dw_desec_rrset rr;
	if (dw_desec_parse_rrset(body, len, "_acme-challenge", &rr) == 0) {
		if (rr.n > DW_DESEC_RECORDS_MAX)
			abort();
		for (int add = 0; add < 2; add++) {
			enum dw_desec_write how;
			char *out = NULL;
			if (dw_desec_txt_plan(&rr, "_acme-challenge", "abc", add != 0, 60, &how, &out) == 0 &&
			    out != NULL) {
				json_error_t e;
				json_t *j = json_loads(out, 0, &e);   /* what is sent is JSON */
				if (j == NULL)
					abort();
				json_decref(j);
			}
			free(out);
		}
		dw_desec_rrset_free(&rr);
	}
	free(body);
	return 0;
}
