/* Fuzz target: DNS replies as they come off the wire, the record walk of
 * dw_dns_reply_answers(), then TSIG verification of whatever TSIG record
 * they carry (with a fixed key, so the MAC never matches: this exercises
 * the parser and the verifier's checks), then the comparison of the answer
 * with expected A and TXT RRsets (what confirms an UPDATE), the RRset an
 * UPDATE's prerequisite takes from it (what a look before it saw), the names
 * a zone's NS and SOA answers point at and a referral's delegation point
 * (what the gateway's "host add" refuses). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dw_tsig_key key;
	static int ready;
	struct dw_diag diag;
	if (!ready) {
		static const char text[] = "key \"host-key\" { algorithm hmac-sha256; "
		                           "secret \"4orY654sOAITD+TnpAQ2xwlU3WVFZrZ/1vwjCzMymIQ=\"; };";
		if (dw_tsig_key_parse(text, strlen(text), NULL, NULL, &key, &diag) != DW_OK)
			__builtin_trap();
		ready = 1;
	}
	struct dw_dns_reply rep;
	if (dw_dns_parse_reply(data, size, &rep, &diag) != DW_OK)
		return 0;
	/* Every accepted reply also yields its records, each inside the buffer. */
	struct dw_dns_rr q, an[8];
	size_t nan = 0;
	int r = dw_dns_reply_answers(data, size, &q, an, 8, &nan, &diag);
	if (r == DW_OK) {
		if (nan > 8 || nan != rep.ancount)
			__builtin_trap();
		for (size_t i = 0; i < nan; i++)
			if (an[i].rdata < data || an[i].rdata + an[i].rdlen > data + size)
				__builtin_trap();
	} else if (r != DW_ETOOBIG && !(r == DW_EPARSE && rep.qdcount == 0)) {
		__builtin_trap();   /* parse_reply accepted what the walk refused */
	}
	if (rep.has_tsig) {
		if (rep.tsig_offset >= size || rep.tsig_mac_len > size || rep.tsig_other_len > size)
			__builtin_trap();
		uint8_t req_mac[32] = { 0 };
		(void)dw_tsig_verify_reply(data, size, &rep, &key, req_mac, sizeof(req_mac),
		                           rep.tsig_time, &diag);
	}
	static const char *const want_a[] = { "192.0.2.1", "192.0.2.2" };
	static const char *const want_txt[] = { "\"one\"", "\"two\" \"parts\"" };
	struct dw_dns_seen seen;
	if (dw_dns_rrset_compare(data, size, "host.example.test", 1, 60, want_a, 2, &seen,
	                         &diag) == DW_OK &&
	    (seen.held > 2 || strnlen(seen.text, sizeof(seen.text)) >= sizeof(seen.text)))
		__builtin_trap();
	if (dw_dns_rrset_compare(data, size, "host.example.test", 16, 60, want_txt, 2, &seen,
	                         &diag) == DW_OK &&
	    strnlen(seen.text, sizeof(seen.text)) >= sizeof(seen.text))
		__builtin_trap();
	/* What an UPDATE's prerequisite would say: at most the answers. */
	struct dw_dns_before before = { 0 }, again = { 0 };
	r = dw_dns_before_from_reply(data, size, "host.example.test", 1, &before);
	if ((r == DW_OK) != before.known || before.n > rep.ancount)
		__builtin_trap();
	if (r == DW_OK && (dw_dns_before_from_reply(data, size, "host.example.test", 1, &again) !=
	                   DW_OK || !dw_dns_before_same(&before, &again)))
		__builtin_trap();
	dw_dns_before_clear(&before);
	dw_dns_before_clear(&again);
	char names[4][DW_DNS_NAME_MAX], cut[DW_DNS_NAME_MAX];
	static const uint16_t types[] = { 2, 6 };
	for (size_t t = 0; t < 2; t++) {
		size_t n = 0;
		r = dw_dns_reply_names(data, size, "example.test", types[t], names, 4, &n, cut, &diag);
		if (n > 4 || strnlen(cut, sizeof(cut)) >= sizeof(cut))
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (strnlen(names[i], sizeof(names[i])) >= sizeof(names[i]))
				__builtin_trap();
		if (r != DW_OK && r != DW_EPARSE && r != DW_ETOOBIG)
			__builtin_trap();
	}
	return 0;
}
