/* placeholder */
#include "lib/state.h"
typedef int dw_placeholder_t;
