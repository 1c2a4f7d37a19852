/* Fuzzes the address inputs: the first line is a CIDR list of trusted
 * proxies, the second an X-Forwarded-For header, the third a FRITZ!Box
 * "prefix/len".  Invariant: an accepted client address is never a trusted
 * proxy when the peer was one. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char *lines[3] = { s, NULL, NULL };
	for (int i = 1; i < 3; i++) {
		char *nl = lines[i - 1] != NULL ? strchr(lines[i - 1], '\n') : NULL;
		if (nl != NULL) {
			*nl = '\0';
			lines[i] = nl + 1;
		}
	}
	struct gw_cidrs trusted;
	if (gw_cidrs_parse(lines[0], &trusted) == 0 && trusted.n > 0) {
		struct dw_ip peer = trusted.v[0].ip, out;
		if (gw_client_addr(&peer, lines[1], &trusted, &out) == 0 &&
		    gw_cidrs_contain(&trusted, &out))
			abort();
	}
	if (lines[2] != NULL) {
		struct dw_ip iid, out;
		if (dw_ip_parse("::1:2:3:4", DW_FAM_V6, &iid) != 0)
			abort();
		if (gw_prefix_combine(lines[2], &iid, &out) == 0 && out.family != DW_FAM_V6)
			abort();
	}
	free(s);
	return 0;
}
