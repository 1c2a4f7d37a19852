/* Fuzzes the configuration parser (INI splitting, section and key checks,
 * addresses, prefixes, names) in check-only mode: no network is touched. */
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		dw_log_set_level(DW_LOG_ERR);
		quiet = 1;
	}
	struct dw_config *cfg = NULL;
	struct dw_diag diag;
	if (dw_config_parse("fuzz.conf", (const char *)data, size, true, &cfg, &diag) == DW_OK)
		dw_config_free(cfg);
	return 0;
}
