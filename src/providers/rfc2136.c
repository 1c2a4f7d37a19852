/* placeholder: being written */
#include "lib/provider.h"
const struct dw_provider_ops dw_provider_rfc2136 = { .type = "rfc2136" };
