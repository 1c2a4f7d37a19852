/* Fuzzes the ddclient importer: lexing, translation and rendering of an
 * untrusted ddclient configuration (src/migrate/ddclient.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_import.h"
#include "migrate/ddclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mg_conf *c = malloc(sizeof(*c));
	if (c == NULL)
		return 0;
	mg_conf_init(c, "fuzz.conf", "ddclient");
	c->default_iface4 = "eth0";
	struct dw_diag diag = { "" };
	if (mg_ddclient_parse((const char *)data, size, c, &diag) == DW_OK)
		fuzz_check_import(c, (const char *)data, size);
	mg_conf_free(c);
	free(c);
	return 0;
}
