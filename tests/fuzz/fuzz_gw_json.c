/* Fuzzes the acme-dns and httpreq JSON body parsers.  Invariants: accepted
 * values are 43 base64url characters and names are normalised. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so ASan sees any read past the end. */
	char *s = malloc(size ? size : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	struct gw_acmedns_req a;
	if (gw_acmedns_parse(s, size, &a) == GW_JSON_OK) {
		char copy[GW_NAME_MAX];
		memcpy(copy, a.subdomain, sizeof(copy));
		if (!gw_acme_value_ok(a.txt) || gw_name_normalize(copy) != 0)
			abort();
	}
	struct gw_httpreq_req h;
	if (gw_httpreq_parse(s, size, &h) == GW_JSON_OK) {
		char copy[GW_NAME_MAX];
		memcpy(copy, h.fqdn, sizeof(copy));
		if (!gw_acme_value_ok(h.value) || gw_name_normalize(copy) != 0 ||
		    strcmp(copy, h.fqdn) != 0)
			abort();
	}
	free(s);
	return 0;
}
