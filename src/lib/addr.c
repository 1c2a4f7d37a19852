/* placeholder: being written */
#include "lib/addr.h"
typedef int dw_placeholder_t;
