/* ddclient.conf (ddclient 3.x) -> struct mg_conf.
 *
 * The file is read as ddclient reads it: "password" keys first (their values
 * may hold '#' and quotes), then comments, line continuations ('\' at the
 * end), "key=value" assignments separated by commas or blank space with
 * quoting and backslash escapes, then host names (comma-separated) with an
 * optional old-style login and password.  A line without hosts sets global
 * values for the hosts that follow it; a host takes the globals defined
 * before its line (and "protocol" from the whole file, as ddclient does).
 *
 * buf need not be NUL-terminated; at most MG_DDCLIENT_MAX bytes.  Returns 0
 * (c filled; notes name what was not translated), DW_EPARSE (not a text
 * file: diag says why), DW_ETOOBIG or DW_ENOMEM.  Pure: no files, no
 * network. */
#pragma once

#include <stddef.h>

#include "lib/error.h"
#include "migrate/model.h"

#define MG_DDCLIENT_MAX (1024 * 1024)

int mg_ddclient_parse(const char *buf, size_t len, struct mg_conf *c, struct dw_diag *diag);
