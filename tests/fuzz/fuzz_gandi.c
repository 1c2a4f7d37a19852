/* Fuzzes the Gandi LiveDNS reply parsers and classifiers (record set, error
 * message, GET/PUT/probe decisions) with arbitrary bodies.  The first input
 * byte picks the status and the family of the address; the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/gandi.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 201, 204, 400, 401, 403, 404, 429, 500, 502 };
	uint8_t sel = size > 0 ? data[0] : 0;
	size_t len = size > 0 ? size - 1 : 0;
	char *body = malloc(len > 0 ? len : 1);   /* exact size: ASan sees overreads */
	if (body == NULL)
		return 0;
	if (len > 0)
		memcpy(body, data + 1, len);

	struct dw_ip sent;
	int v6 = (sel & 0x10) != 0;
	if (dw_ip_parse(v6 ? "2a01:4f8:1:2::3" : "81.2.69.160", v6 ? DW_FAM_V6 : DW_FAM_V4,
	                &sent) != 0)
		abort();
	const char *rrtype = dw_family_rrtype(sent.family);
	long status = statuses[(sel & 0x0f) % (sizeof(statuses) / sizeof(statuses[0]))];

	struct dw_gandi_rrset_check c;
	if (dw_gandi_parse_rrset(body, len, rrtype, &sent, &c) == 0 && c.values_match &&
	    c.nvalues != 1)
		abort();
	char msg[200];
	(void)dw_gandi_error_message(body, len, msg, sizeof(msg));
	if (strlen(msg) > 160)
		abort();

	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	if (dw_gandi_after_get(status, body, len, 30, "example.org", rrtype, &sent, 300, &res) ==
	    DW_GANDI_FINAL) {
		fuzz_check_result(&res);
		if (res.outcome == DW_OUT_DONE)
			abort();   /* a GET never writes */
	}
	struct dw_verify ver;
	dw_gandi_verify_get(status, body, len, 30, "example.org", rrtype, &sent, &ver);
	fuzz_check_verify(&ver);
	if (ver.status == DW_VERIFY_STANDS && status != 200)
		abort();
	res.msg[0] = '\0';
	dw_gandi_after_put(status, body, len, -1, "example.org", &sent, &res);
	fuzz_check_result(&res);
	if ((res.outcome == DW_OUT_DONE) != (status == 201))
		abort();
	res.msg[0] = '\0';
	if (dw_gandi_after_probe(status, body, len, -1, "example.org", &res) == DW_GANDI_PROBE_FINAL)
		fuzz_check_result(&res);
	free(body);
	return 0;
}
