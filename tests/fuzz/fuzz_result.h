/* Shared by provider fuzz targets: a classified reply must always carry a
 * non-empty, bounded message of printable ASCII (it reaches logs). */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "lib/provider.h"

static inline void fuzz_check_result(const struct dw_result *res)
{
	size_t n = strnlen(res->msg, sizeof(res->msg));
	if (n == 0 || n >= sizeof(res->msg))
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)res->msg[i];
		if (c < 0x20 || c >= 0x7f)
			abort();
	}
}
