/* Fuzz target for rtnetlink address messages: the input is a datagram as
 * recvmsg() would return it, possibly several messages back to back.  It is
 * walked with mnl_nlmsg_ok/next as the dump does, every message goes through
 * dw_netlink_parse_addr, and parsed addresses through the policy code, so a
 * malformed message cannot make either read out of bounds. */
#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/error.h"
#include "lib/netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	/* An exact-size heap copy: aligned like a receive buffer, and any read
	 * past the end is caught by AddressSanitizer. */
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);

	/* The whole input as a single message (parse must honour len). */
	struct dw_ifaddr first;
	(void)dw_netlink_parse_addr((const struct nlmsghdr *)(void *)buf, size, &first);

	struct dw_addr_list list = { 0 };
	int rem = (int)size;
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(void *)buf;
	/* mnl_nlmsg_ok compares nlmsg_len as a signed int, so a length above
	 * INT_MAX passes it and mnl_nlmsg_next would jump out of the buffer:
	 * check the length as unsigned too (found by this fuzzer). */
	while (mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem) {
		struct dw_ifaddr a;
		if (dw_netlink_parse_addr(nlh, (size_t)rem, &a) == 0) {
			char text[DW_IP_STRLEN];
			dw_ip_format(&a.ip, text);
			if (a.ip.family != DW_FAM_V4 && a.ip.family != DW_FAM_V6)
				abort();
			if (a.prefixlen > (a.ip.family == DW_FAM_V6 ? 128 : 32))
				abort();
			if (dw_addr_list_push(&list, &a) != 0)
				break;
		}
		nlh = mnl_nlmsg_next(nlh, &rem);
	}

	/* Exercise selection on whatever came out, under a few policies. */
	static const unsigned accepts[] = { 0, DW_ACCEPT_ULA | DW_ACCEPT_TEMPORARY, 0x3Fu };
	enum dw_reject *reasons = calloc(list.n ? list.n : 1, sizeof(*reasons));
	if (reasons != NULL) {
		for (int fam = 0; fam < DW_FAM_COUNT; fam++) {
			for (size_t k = 0; k < sizeof(accepts) / sizeof(accepts[0]); k++) {
				struct dw_addr_policy p = { .accept = accepts[k],
				                            .prefer = (enum dw_prefer)(k % 3) };
				int idx = dw_addr_select(list.v, list.n, (enum dw_family)fam, NULL, &p, reasons);
				if (idx >= (int)list.n || (idx >= 0 && reasons[idx] != DW_REJ_NONE))
					abort();
			}
		}
		free(reasons);
	}
	dw_addr_list_free(&list);
	free(buf);
	return 0;
}
