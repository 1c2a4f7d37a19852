/* Text helpers for untrusted bytes. */
#include "lib/text.h"

void dw_text_sample(const char *s, size_t n, size_t max, char *out, size_t cap)
{
	size_t o = 0;
	int cut = 0;
	if (cap == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (o >= max || o + 1 >= cap) {
			cut = 1;
			break;
		}
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
	if (cut && o >= 3) {
		out[o - 3] = '.';
		out[o - 2] = '.';
		out[o - 1] = '.';
	}
}
