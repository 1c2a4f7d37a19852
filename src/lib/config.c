/* placeholder */
#include "lib/config.h"
typedef int dw_placeholder_t;
