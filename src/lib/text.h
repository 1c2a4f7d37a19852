/* Small text helpers for untrusted bytes that end up in messages. */
#pragma once

#include <stddef.h>

/* Copies at most max characters of s[0..n) into out (capacity cap, always
 * NUL-terminated when cap > 0), with every registered secret masked first
 * (lib/log.h, before the cut, so none is split where it cannot be
 * recognised), then every byte that is not printable ASCII replaced by '?';
 * when the input was cut, the last three characters become "...".  For
 * quoting a provider's reply in a message or a log line. */
void dw_text_sample(const char *s, size_t n, size_t max, char *out, size_t cap);
