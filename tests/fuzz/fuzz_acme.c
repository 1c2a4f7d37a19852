/* Fuzzes "dnsward acme" argument parsing for every client convention, the
 * acme-zones list parser and key authorizations; also the acme-dns reply
 * classifier and the Gandi TXT set edit with the same bytes as a body.
 *
 * Input: NUL-separated fields.  The first byte selects which of the first
 * fields become CERTBOT_DOMAIN / CERTBOT_VALIDATION; the remaining fields
 * are argv (at most 16). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_result.h"
#include "lib/acme.h"
#include "lib/config.h"
#include "providers/acmedns.h"
#include "providers/gandi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *g_domain, *g_value;

static const char *env(const char *name)
{
	if (strcmp(name, "CERTBOT_DOMAIN") == 0)
		return g_domain;
	if (strcmp(name, "CERTBOT_VALIDATION") == 0)
		return g_value;
	return NULL;
}

static void check_name(const char *name)
{
	char copy[DW_DNS_NAME_MAX];
	size_t n = strnlen(name, DW_DNS_NAME_MAX);
	if (n == 0 || n >= DW_DNS_NAME_MAX || strchr(name, '*') != NULL)
		abort();
	memcpy(copy, name, n + 1);
	if (dw_fqdn_normalize(copy) != 0 || strcmp(copy, name) != 0)
		abort();   /* stored names are already normal */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t sel = data[0];
	char *buf = malloc(size);   /* data[1..] plus a final NUL */
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';

	char *fields[20];
	int nf = 0;
	char *end = buf + size - 1;   /* the final NUL */
	for (char *p = buf; nf < 20;) {
		fields[nf++] = p;
		char *z = memchr(p, '\0', (size_t)(end - p) + 1);
		if (z == NULL || z == end)
			break;
		p = z + 1;
	}
	int skip = 0;
	g_domain = g_value = NULL;
	if ((sel & 1) && skip < nf)
		g_domain = fields[skip++];
	if ((sel & 2) && skip < nf)
		g_value = fields[skip++];
	char *argv[17];
	int argc = 0;
	argv[argc++] = (char *)(uintptr_t)"acme";
	for (int i = skip; i < nf && argc < 17; i++)
		argv[argc++] = fields[i];

	static struct dw_acme_req req;
	struct dw_diag diag;
	int ret = dw_acme_parse(argc, argv, env, &req, &diag);
	if (ret == DW_OK) {
		if (req.n > DW_ACME_ITEMS_MAX || (req.action == DW_ACME_NOTHING && req.n != 0) ||
		    (req.action != DW_ACME_NOTHING && req.n == 0))
			abort();
		for (size_t i = 0; i < req.n; i++) {
			check_name(req.items[i].name);
			if (!dw_acme_value_valid(req.items[i].value))
				abort();
		}
	} else if (req.n != 0 || diag.msg[0] == '\0') {
		abort();
	}

	/* the whole text as an acme-zones value and a key authorization */
	char **zones = NULL;
	size_t nz = 0;
	if (dw_acme_zones_parse(buf, &zones, &nz, &diag) == DW_OK) {
		if (nz == 0 || nz > DW_ACME_ZONES_MAX || zones[nz] != NULL)
			abort();
		for (size_t i = 0; i < nz; i++) {
			check_name(zones[i]);
			if (dw_acme_zone_match(zones[i], zones, nz) < (int)strlen(zones[i]))
				abort();
		}
		dw_acme_zones_free(zones);
	}
	char value[DW_ACME_VALUE_LEN + 1];
	if (dw_acme_keyauth_value(buf, value) == DW_OK && !dw_acme_value_valid(value))
		abort();

	/* the raw bytes as provider reply bodies */
	static const char v1[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE";
	static const long statuses[] = { 200, 200, 400, 401, 404, 429, 500 };
	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	dw_acmedns_classify(statuses[sel % 7], (const char *)data + 1, size - 1, -1, v1, &res);
	fuzz_check_result(&res);
	char *put = NULL;
	size_t nafter = 0;
	bool changed = false;
	if (dw_gandi_txt_edit((const char *)data + 1, size - 1, v1, (sel & 4) != 0, 300, &put,
	                      &nafter, &changed) == DW_OK && (put == NULL) != (nafter == 0))
		abort();
	free(put);
	free(buf);
	return 0;
}
