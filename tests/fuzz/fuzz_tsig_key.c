/* Fuzz target: TSIG key files (BIND key clauses and keymgr YAML).
 * The first byte picks the key-name to look for, the rest is the file. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const wants[] = { NULL, "host-key", "k", "b" };
	if (size < 1)
		return 0;
	const char *want = wants[data[0] % 4];
	struct dw_tsig_key key;
	struct dw_diag diag;
	if (dw_tsig_key_parse((const char *)data + 1, size - 1, "fuzz.key", want, &key,
	                      &diag) == DW_OK) {
		/* a parsed key is always usable */
		enum dw_tsig_alg alg;
		if (dw_tsig_alg_parse(key.algorithm, &alg) != DW_OK || key.secret.len == 0 ||
		    strlen(key.secret.data) != key.secret.len || key.name[0] == '\0')
			__builtin_trap();
		dw_tsig_key_clear(&key);
	}
	return 0;
}
