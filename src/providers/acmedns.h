/* acme-dns (joohoi/acme-dns) client: the pure reply classifier, kept apart
 * from the network code for unit tests and fuzzing (protocols.md
 * section 7). */
#pragma once

#include <stddef.h>

#include "lib/provider.h"

/* Classifies the reply to POST /update that sent value: 200 with a JSON
 * object whose "txt" is value is DONE; 200 with anything else RETRY; 401
 * FATAL (credentials); 400 FATAL naming the server's error ("bad_subdomain",
 * "bad_txt"); 429 RATELIMIT; 5xx and the rest RETRY.  body is len bytes,
 * need not be NUL-terminated and may be anything. */
void dw_acmedns_classify(long status, const char *body, size_t len, long retry_after_s,
                         const char *value, struct dw_result *res);
