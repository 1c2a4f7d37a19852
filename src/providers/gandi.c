/* placeholder: being written */
#include "lib/provider.h"
const struct dw_provider_ops dw_provider_gandi = { .type = "gandi" };
