/* Text helpers for untrusted bytes. */
#include "lib/text.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

void dw_text_sample(const char *s, size_t n, size_t max, char *out, size_t cap)
{
	if (cap == 0)
		return;
	out[0] = '\0';
	/* Redacted before it is cut: a reply echoing a request can hold a
	 * secret (in any form it was sent in) across the cut, where the
	 * logger would no longer recognise it.  The window reaches past max
	 * by the longest registered form. */
	size_t extra = dw_log_secret_maxlen();
	size_t win = n < max + extra ? n : max + extra;
	size_t wcap = win * 2 + 16;   /* room for masks longer than what they hide */
	char *w = malloc(wcap);
	if (w == NULL) {
		if (cap > 20)
			memcpy(out, "(reply not shown)", 18);
		return;
	}
	for (size_t i = 0; i < win; i++)
		w[i] = s[i] == '\0' ? '?' : s[i];
	w[win] = '\0';
	dw_log_redact(w, wcap);
	size_t wl = strlen(w);
	size_t o = 0;
	int cut = win < n;
	for (size_t i = 0; i < wl; i++) {
		if (o >= max || o + 1 >= cap) {
			cut = 1;
			break;
		}
		unsigned char c = (unsigned char)w[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
	if (cut && o >= 3) {
		out[o - 3] = '.';
		out[o - 2] = '.';
		out[o - 1] = '.';
	}
	explicit_bzero(w, wcap);
	free(w);
}
