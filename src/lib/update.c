/* placeholder */
#include "lib/provider.h"
typedef int dw_placeholder_t;
