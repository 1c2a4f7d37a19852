/* Fuzzes the protocol between dnsward and its publisher, both directions:
 * the first byte picks which side reads (even: the publisher reading
 * dnsward's HELLO and JOB frames; odd: dnsward reading the publisher's
 * HELLO and RESULT frames), the rest is the byte stream.  Whatever is
 * accepted must be within bounds: strings from the publisher free of
 * control characters, addresses of the family they are for, outcomes and
 * counts in range; and a result encoded again decodes to the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pubproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void clean(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	}
}

static void check_result(const struct dw_job *j, const uint8_t *body, size_t len)
{
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (j->res[f].outcome >= DW_OUT_COUNT || j->res[f].retry_after_s < -1)
			abort();
		clean(j->res[f].msg, sizeof(j->res[f].msg));
		clean(j->why[f], sizeof(j->why[f]));
		clean(j->ver[f].msg, sizeof(j->ver[f].msg));
		if (j->ver[f].status > DW_VERIFY_UNKNOWN)
			abort();
		if (j->kind == DW_JOB_FETCH && j->fetched[f] && j->addr[f].family != (enum dw_family)f)
			abort();
	}
	clean(j->msg, sizeof(j->msg));
	clean(j->target, sizeof(j->target));
	if (j->zone.nns > DW_DNSAUTH_SERVERS_MAX || j->err > 0)
		abort();
	for (const char *m = j->memo; *m != '\0'; m++) {
		if (*m < 0x20 || *m > 0x7e)
			abort();
	}
	/* Encoded again and decoded, the outputs are the same. */
	struct dw_pp_buf b;
	uint64_t id;
	enum dw_job_kind kind;
	if (dw_pp_result_id(body, len, &id, &kind, NULL) != DW_OK)
		abort();
	if (dw_pp_encode_result(id, j, &b) != DW_OK)
		abort();
	struct dw_job *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		dw_pp_buf_free(&b);
		return;
	}
	k->kind = kind;
	if (dw_pp_decode_result(b.p + 5, b.len - 5, k, NULL) != DW_OK)
		abort();
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if (k->res[f].outcome != j->res[f].outcome ||
		    k->res[f].retry_after_s != j->res[f].retry_after_s ||
		    strcmp(k->res[f].msg, j->res[f].msg) != 0 || k->fetched[f] != j->fetched[f] ||
		    !dw_ip_equal(&k->addr[f], &j->addr[f]) || strcmp(k->why[f], j->why[f]) != 0 ||
		    k->ver[f].status != j->ver[f].status || strcmp(k->ver[f].msg, j->ver[f].msg) != 0)
			abort();
	}
	if (k->memo_out != j->memo_out || k->have_memo != j->have_memo ||
	    strcmp(k->memo, j->memo) != 0)
		abort();
	if (k->err != j->err || strcmp(k->msg, j->msg) != 0 || strcmp(k->target, j->target) != 0 ||
	    k->have_zone != j->have_zone || k->has != j->has || k->zone.nns != j->zone.nns ||
	    (j->have_zone && strcmp(k->zone.apex, j->zone.apex) != 0))
		abort();
	for (size_t i = 0; i < j->zone.nns; i++) {
		if (strcmp(k->zone.ns[i].text, j->zone.ns[i].text) != 0 ||
		    k->zone.ns[i].timeout_ms != j->zone.ns[i].timeout_ms)
			abort();
	}
	free(k);
	dw_pp_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool to_dnsward = (data[0] & 1) != 0;
	/* Exact-size copy so ASan sees any read past the end. */
	size_t len = size - 1;
	uint8_t *in = malloc(len > 0 ? len : 1);
	if (in == NULL)
		return 0;
	memcpy(in, data + 1, len);
	struct dw_pp_reader rd = { 0 };
	size_t pos = 0;
	while (pos < len) {
		size_t used = 0;
		struct dw_diag diag = { "" };
		int r = dw_pp_read_mem(&rd, in + pos, len - pos, &used, &diag);
		pos += used;
		if (r != 1)
			break;
		if (rd.type == DW_PP_HELLO) {
			struct dw_pp_hello h;
			(void)dw_pp_decode_hello(rd.body, rd.body_len, !to_dnsward, &h, &diag);
		} else if (!to_dnsward && rd.type == DW_PP_JOB) {
			struct dw_pp_job pj;
			if (dw_pp_decode_job(rd.body, rd.body_len, &pj, &diag) == DW_OK) {
				if (pj.job.kind < DW_JOB_PUBLISH || pj.job.kind > DW_JOB_KIND_LAST ||
				    pj.nsecs > DW_PP_SECTIONS_MAX || pj.secrets.n > DW_PP_SECRETS_MAX)
					abort();
				for (size_t i = 0; i < pj.nsecs; i++) {
					if (pj.secs[i].kind == NULL || pj.secs[i].name == NULL ||
					    pj.secs[i].nkv > DW_PP_KEYS_MAX)
						abort();
				}
				dw_pp_job_free(&pj);
			} else if (diag.msg[0] == '\0') {
				abort();
			}
		} else if (to_dnsward && rd.type == DW_PP_RESULT) {
			uint64_t id;
			enum dw_job_kind kind;
			if (dw_pp_result_id(rd.body, rd.body_len, &id, &kind, &diag) == DW_OK) {
				struct dw_job *j = calloc(1, sizeof(*j));
				if (j != NULL) {
					j->kind = kind;
					if (dw_pp_decode_result(rd.body, rd.body_len, j, &diag) == DW_OK)
						check_result(j, rd.body, rd.body_len);
					free(j);
				}
			}
		}
		dw_pp_reader_reset(&rd);
	}
	dw_pp_reader_reset(&rd);
	free(in);
	return 0;
}
