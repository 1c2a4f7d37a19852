/* Fuzzes the gateway's query-string parser and the dyndns2 parameter parser
 * on top of it.  Invariants: parsed keys and values hold no control byte,
 * every valid name is normalised. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_api.h"
#include "gateway/gw_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct gw_query q;
	if (gw_query_parse(s, size, &q) == 0) {
		for (size_t i = 0; i < q.n; i++) {
			for (const char *p = q.p[i].value; *p != '\0'; p++) {
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
			}
		}
		struct gw_dd_req r;
		if (gw_dd_parse(&q, &r) == GW_DD_OK) {
			if (r.nnames == 0 || r.nnames > GW_DD_MAX_NAMES)
				abort();
			for (size_t i = 0; i < r.nnames; i++) {
				char copy[GW_NAME_MAX];
				memcpy(copy, r.names[i].name, sizeof(copy));
				if (r.names[i].valid && (gw_name_normalize(copy) != 0 ||
				                         strcmp(copy, r.names[i].name) != 0))
					abort();
			}
		}
	}
	free(s);
	return 0;
}
