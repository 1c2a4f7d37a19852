/* Fuzzes the control socket's request parser: any bytes a local client
 * sends.  A request it accepts must be one of the known commands, with a
 * normalised, NUL-terminated name; a refusal must come with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so ASan sees any read past the end. */
	char *buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	struct dw_ctl_req req;
	struct dw_diag diag = { "" };
	int r = dw_ctl_parse(buf, size, &req, &diag);
	if (r == DW_OK) {
		if (req.cmd != DW_CTL_STATUS && req.cmd != DW_CTL_FORCE)
			abort();
		size_t n = strnlen(req.arg, sizeof(req.arg));
		if (n == sizeof(req.arg))
			abort();
		if (req.cmd == DW_CTL_STATUS && n != 0)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (req.arg[i] >= 'A' && req.arg[i] <= 'Z')
				abort();
		}
	} else if (diag.msg[0] == '\0') {
		abort();
	}
	free(buf);
	return 0;
}
