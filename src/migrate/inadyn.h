/* inadyn.conf (inadyn 2.x, libConfuse syntax) -> struct mg_conf.
 *
 * Read as libConfuse reads it: "#" and "//" comments to the end of the line,
 * C comments, "key = value" with values unquoted, "double-quoted" (with
 * backslash escapes) or 'single-quoted', lists in { a, b }, sections
 * "provider NAME[:N] { ... }" and "custom NAME[:N] { ... }".  Global
 * settings apply to every section wherever they appear.
 *
 * Providers known to dnsward map to their types (dyndns2 presets
 * included); custom sections whose ddns-path is a dyndns2 request become
 * dyndns2 providers, the others custom providers with the path as a URL
 * template (%h, %i, %u, %p; HTTP Basic authentication as inadyn sends it).
 *
 * buf need not be NUL-terminated; at most MG_INADYN_MAX bytes.  Returns 0,
 * DW_EPARSE (syntax error: diag names the line), DW_ETOOBIG or DW_ENOMEM.
 * Pure: no files, no network. */
#pragma once

#include <stddef.h>

#include "lib/error.h"
#include "migrate/model.h"

#define MG_INADYN_MAX (1024 * 1024)

int mg_inadyn_parse(const char *buf, size_t len, struct mg_conf *c, struct dw_diag *diag);
