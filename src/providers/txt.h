/* TXT values as HTTP DNS APIs take them: zone-file character-strings.
 * Shared by the providers that add and remove ACME challenge values. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define DW_TXT_VALUE_MAX 255          /* one character-string */
#define DW_TXT_QUOTED_MAX (2 * DW_TXT_VALUE_MAX + 3)

/* Writes value between double quotes, with '"' and '\\' escaped, into out.
 * value must be 1..255 bytes of printable ASCII.  Returns 0, DW_EINVAL or
 * DW_ETOOBIG (out then ""). */
int dw_txt_quote(const char *value, char *out, size_t cap);

/* Whether a record's content (n bytes) holds exactly value: the quoted form
 * (one character-string, escapes undone) or the bare text. */
bool dw_txt_matches(const char *content, size_t n, const char *value);
