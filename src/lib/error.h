/* Error codes shared by every module.
 *
 * Functions return 0 (DW_OK) on success or a negative dw_error.  Codes are
 * never renumbered.  A human-readable detail, when there is one, travels in a
 * struct dw_diag filled by the failing function, never in a global. */
#pragma once

#include <stddef.h>

enum dw_error {
	DW_OK          =   0,
	DW_ENOMEM      =  -1,  /* allocation failed */
	DW_EINVAL      =  -2,  /* bad argument or malformed input */
	DW_ECONFIG     =  -3,  /* configuration error (diag names file:line) */
	DW_ESECRET     =  -4,  /* secret file missing, unsafe or empty */
	DW_EIO         =  -5,  /* local I/O failed (errno in diag) */
	DW_ENETLINK    =  -6,  /* rtnetlink socket or message failure */
	DW_EHTTP       =  -7,  /* HTTP transport failure (not a status code) */
	DW_ETLS        =  -8,  /* TLS handshake or verification failure */
	DW_EDNS        =  -9,  /* DNS transport or protocol failure */
	DW_ETSIG       = -10,  /* TSIG key unusable or signature rejected */
	DW_EPARSE      = -11,  /* reply or file could not be parsed */
	DW_ETOOBIG     = -12,  /* input over its size limit */
	DW_ETIMEOUT    = -13,  /* operation timed out */
	DW_ENOTFOUND   = -14,  /* requested item does not exist */
	DW_EUNSUPP     = -15,  /* operation not supported here */
	DW_EPROVIDER   = -16,  /* provider refused the operation */
	DW_EREDIRECT   = -17,  /* redirect to another origin refused */
};

/* Returns a static, never-NULL description of a dw_error (or "unknown error"). */
const char *dw_strerror(int err);

/* Detail for an error, formatted by the function that failed.  Always safe to
 * print: producers must never place a secret in it. */
struct dw_diag {
	char msg[512];
};

/* Formats into diag (may be NULL), truncating safely; returns err so callers
 * can write `return dw_diag_set(diag, DW_EINVAL, "...")`. */
int dw_diag_set(struct dw_diag *diag, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
