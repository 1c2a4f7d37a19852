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

/* The same for a drift check's message. */
static inline void fuzz_check_verify(const struct dw_verify *v)
{
	size_t n = strnlen(v->msg, sizeof(v->msg));
	if (n == 0 || n >= sizeof(v->msg))
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v->msg[i];
		if (c < 0x20 || c >= 0x7f)
			abort();
	}
	if (v->status != DW_VERIFY_STANDS && v->status != DW_VERIFY_DRIFTED &&
	    v->status != DW_VERIFY_UNKNOWN)
		abort();
}
