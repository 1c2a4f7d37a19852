/* placeholder: being written */
#include "lib/dns.h"
typedef int dw_placeholder_t;
