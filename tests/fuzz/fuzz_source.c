/* Fuzzes the address-source parsers: HTTP echo bodies, program output and
 * DNS echo replies.  The first input byte picks the parser, the family and
 * (for DNS) the echo kind; the rest is the input.  An accepted answer must
 * be an address of the family asked for; a refusal must say why in
 * printable text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_why(int r, const char *why)
{
	if (r == 0)
		return;
	if (why[0] == '\0')
		abort();
	for (const char *p = why; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel = size > 0 ? data[0] : 0;
	size_t len = size > 0 ? size - 1 : 0;
	enum dw_family fam = (sel & 0x01) ? DW_FAM_V6 : DW_FAM_V4;
	/* Copy into an exact-size buffer so ASan sees any read past len. */
	uint8_t *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	if (len > 0)
		memcpy(copy, data + 1, len);

	struct dw_ip ip;
	memset(&ip, 0, sizeof(ip));
	char why[256] = "";
	int r;
	switch ((sel >> 1) % 3) {
	case 0:
		r = dw_source_parse_echo((const char *)copy, len, fam, &ip, why, sizeof(why));
		break;
	case 1:
		r = dw_source_parse_cmd((const char *)copy, len, fam, &ip, why, sizeof(why));
		break;
	default: {
		enum dw_echo_kind kind = (enum dw_echo_kind)((sel >> 3) % 3);
		/* The ID is the reply's own when it has one, so deeper code runs. */
		uint16_t id = len >= 2 ? (uint16_t)(copy[0] << 8 | copy[1]) : 0;
		r = dw_source_parse_dns(kind, fam, id, copy, len, &ip, why, sizeof(why));
		break;
	}
	}
	check_why(r, why);
	if (r == 0 && ip.family != fam)
		abort();
	/* An accepted echo or program answer holds no NUL: "9.9.9.9\0" is
	 * not 9.9.9.9. */
	if (r == 0 && (sel >> 1) % 3 != 2 && len > 0 && memchr(copy, '\0', len) != NULL)
		abort();
	free(copy);
	return 0;
}
