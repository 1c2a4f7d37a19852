/* placeholder: being written */
#include "lib/netlink.h"
typedef int dw_placeholder_t;
