/* The static table of provider types.  To add a provider: write
 * providers/NAME.c defining `const struct dw_provider_ops dw_provider_NAME`,
 * declare it below, list it in the table and in src/meson.build. */
#include <string.h>

#include "lib/provider.h"

extern const struct dw_provider_ops dw_provider_freedns;
extern const struct dw_provider_ops dw_provider_gandi;
extern const struct dw_provider_ops dw_provider_rfc2136;
extern const struct dw_provider_ops dw_provider_cloudflare;
extern const struct dw_provider_ops dw_provider_dyndns2;
extern const struct dw_provider_ops dw_provider_he;
extern const struct dw_provider_ops dw_provider_duckdns;
extern const struct dw_provider_ops dw_provider_freemyip;
extern const struct dw_provider_ops dw_provider_desec;
extern const struct dw_provider_ops dw_provider_acmedns;
extern const struct dw_provider_ops dw_provider_custom;
extern const struct dw_provider_ops dw_provider_gateway;

const struct dw_provider_ops *const dw_provider_table[] = {
	&dw_provider_freedns,
	&dw_provider_gandi,
	&dw_provider_rfc2136,
	&dw_provider_cloudflare,
	&dw_provider_dyndns2,
	&dw_provider_he,
	&dw_provider_duckdns,
	&dw_provider_freemyip,
	&dw_provider_desec,
	&dw_provider_acmedns,
	&dw_provider_custom,
	&dw_provider_gateway,
	NULL,
};

const struct dw_provider_ops *dw_provider_find(const char *type)
{
	for (size_t i = 0; dw_provider_table[i] != NULL; i++) {
		if (strcmp(dw_provider_table[i]->type, type) == 0)
			return dw_provider_table[i];
	}
	return NULL;
}
