/* placeholder */
typedef int dw_placeholder_t;
