/* placeholder: being written */
#include "lib/http.h"
typedef int dw_placeholder_t;
