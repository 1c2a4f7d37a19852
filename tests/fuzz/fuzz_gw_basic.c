/* Fuzzes the Authorization: Basic parser and the token syntax check.
 * Invariant: accepted credentials are printable ASCII, user has no ':'. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_parse.h"
#include "gateway/gw_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char user[GW_CRED_MAX], pass[GW_CRED_MAX];
	if (gw_basic_parse(s, user, pass) == 0) {
		if (user[0] == '\0' || pass[0] == '\0' || strchr(user, ':') != NULL)
			abort();
		for (const char *p = pass; *p != '\0'; p++) {
			if (*p < 0x21 || *p > 0x7e)
				abort();
		}
		char id[GW_TOKEN_ID_LEN + 1];
		if (gw_token_parse(pass, strlen(pass), id) == 0 && strlen(id) != GW_TOKEN_ID_LEN)
			abort();
	}
	char id[GW_TOKEN_ID_LEN + 1];
	(void)gw_token_parse(s, size, id);
	free(s);
	return 0;
}
