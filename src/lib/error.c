/* Error code table and diagnostic formatting. */
#include "lib/error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
	int code;
	const char *text;
} dw_error_table[] = {
	{ DW_OK,        "success" },
	{ DW_ENOMEM,    "out of memory" },
	{ DW_EINVAL,    "invalid argument" },
	{ DW_ECONFIG,   "configuration error" },
	{ DW_ESECRET,   "unusable secret file" },
	{ DW_EIO,       "input/output error" },
	{ DW_ENETLINK,  "netlink failure" },
	{ DW_EHTTP,     "HTTP transport failure" },
	{ DW_ETLS,      "TLS verification failure" },
	{ DW_EDNS,      "DNS failure" },
	{ DW_ETSIG,     "TSIG failure" },
	{ DW_EPARSE,    "unparsable reply" },
	{ DW_ETOOBIG,   "input too large" },
	{ DW_ETIMEOUT,  "timed out" },
	{ DW_ENOTFOUND, "not found" },
	{ DW_EUNSUPP,   "not supported" },
	{ DW_EPROVIDER, "provider refused the operation" },
	{ DW_EREDIRECT, "redirect to another origin refused" },
};

const char *dw_strerror(int err)
{
	for (size_t i = 0; i < sizeof(dw_error_table) / sizeof(dw_error_table[0]); i++) {
		if (dw_error_table[i].code == err)
			return dw_error_table[i].text;
	}
	return "unknown error";
}

int dw_diag_set(struct dw_diag *diag, int err, const char *fmt, ...)
{
	if (diag == NULL)
		return err;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		diag->msg[0] = '\0';
	/* Truncation is acceptable here: the message stays NUL-terminated. */
	return err;
}
