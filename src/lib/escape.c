/* Escaping for JSON strings, form bodies and URL components. */
#include "lib/escape.h"

#include <stdbool.h>
#include <string.h>

#include "lib/error.h"

static const char hex[] = "0123456789ABCDEF";

/* Appends n bytes of p to out at *o; false (out = "") when they do not fit. */
static bool put(char *out, size_t cap, size_t *o, const char *p, size_t n)
{
	if (n >= cap - *o) {
		out[0] = '\0';
		return false;
	}
	memcpy(out + *o, p, n);
	*o += n;
	out[*o] = '\0';
	return true;
}

int dw_escape_json(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return DW_ETOOBIG;
	out[0] = '\0';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		char buf[6];
		size_t n;
		if (*p == '"' || *p == '\\') {
			buf[0] = '\\';
			buf[1] = (char)*p;
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			buf[0] = '\\';
			buf[1] = 'u';
			buf[2] = '0';
			buf[3] = '0';
			buf[4] = hex[*p >> 4];
			buf[5] = hex[*p & 0x0f];
			n = 6;
		} else {
			buf[0] = (char)*p;
			n = 1;
		}
		if (!put(out, cap, &o, buf, n))
			return DW_ETOOBIG;
	}
	return DW_OK;
}

int dw_escape_url(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return DW_ETOOBIG;
	out[0] = '\0';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;
		char buf[3];
		size_t n = 1;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			buf[0] = (char)c;
		} else {
			buf[0] = '%';
			buf[1] = hex[c >> 4];
			buf[2] = hex[c & 0x0f];
			n = 3;
		}
		if (!put(out, cap, &o, buf, n))
			return DW_ETOOBIG;
	}
	return DW_OK;
}

int dw_escape_form(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return DW_ETOOBIG;
	out[0] = '\0';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;
		char buf[3];
		size_t n = 1;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '*' || c == '-' || c == '.' || c == '_') {
			buf[0] = (char)c;
		} else if (c == ' ') {
			buf[0] = '+';
		} else {
			buf[0] = '%';
			buf[1] = hex[c >> 4];
			buf[2] = hex[c & 0x0f];
			n = 3;
		}
		if (!put(out, cap, &o, buf, n))
			return DW_ETOOBIG;
	}
	return DW_OK;
}

int dw_http_escape(const char *s, char *out, size_t cap)
{
	return dw_escape_url(s, out, cap);
}
