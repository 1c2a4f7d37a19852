/* TXT character-strings for HTTP DNS APIs. */
#include "providers/txt.h"

#include <string.h>

#include "lib/error.h"

int dw_txt_quote(const char *value, char *out, size_t cap)
{
	size_t n = strlen(value), o = 0;
	if (cap > 0)
		out[0] = '\0';
	if (n == 0 || n > DW_TXT_VALUE_MAX)
		return DW_EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < 0x20 || c > 0x7e)
			return DW_EINVAL;
	}
	if (cap < 3)
		return DW_ETOOBIG;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		bool esc = value[i] == '"' || value[i] == '\\';
		if (o + (esc ? 2 : 1) + 2 > cap) {
			out[0] = '\0';
			return DW_ETOOBIG;
		}
		if (esc)
			out[o++] = '\\';
		out[o++] = value[i];
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

bool dw_txt_matches(const char *content, size_t n, const char *value)
{
	if (memchr(content, '\0', n) != NULL)
		return false;
	if (n >= 2 && content[0] == '"' && content[n - 1] == '"') {
		/* One quoted character-string: undo the escapes while comparing. */
		const char *v = value;
		for (size_t i = 1; i < n - 1; i++) {
			char c = content[i];
			if (c == '"')
				return false;        /* several strings, or a stray quote */
			if (c == '\\') {
				if (++i >= n - 1)
					return false;
				c = content[i];
			}
			if (*v != c)
				return false;
			v++;
		}
		return *v == '\0';
	}
	return strlen(value) == n && memcmp(content, value, n) == 0;
}
