/* Escaping of untrusted or configured values for the text they are placed
 * in: a JSON string, an application/x-www-form-urlencoded body, a URL query
 * or path component.
 *
 * Every function writes a NUL-terminated result into out (capacity cap) and
 * returns 0, or DW_ETOOBIG with out set to "" when it does not fit (cap > 0).
 * They never interpret their input: any byte string round-trips. */
#pragma once

#include <stddef.h>

/* Contents of a JSON string (without the surrounding quotes): '"' and '\\'
 * get a backslash, control bytes (< 0x20, 0x7f) become \u00XX.  Bytes >= 0x80
 * are copied unchanged (the caller decides whether it accepts non-UTF-8). */
int dw_escape_json(const char *s, char *out, size_t cap);

/* A URL query or path component: ASCII letters, digits and "-._~" stay,
 * every other byte %XX (upper-case hex). */
int dw_escape_url(const char *s, char *out, size_t cap);

/* One name or value of an HTML form body: ASCII letters, digits and "*-._"
 * stay, space becomes '+', every other byte %XX (upper-case hex). */
int dw_escape_form(const char *s, char *out, size_t cap);

/* dw_escape_url under the name the HTTP code uses. */
int dw_http_escape(const char *s, char *out, size_t cap);
