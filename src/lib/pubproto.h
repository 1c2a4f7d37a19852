/* The protocol between the resident dnsward and its publisher.
 *
 * One stream socket (a socketpair; the publisher's descriptor 3) carries
 * frames in both directions:
 *
 *   u32 length | u8 type | body (length - 1 bytes)
 *
 * with 1 <= length <= DW_PP_FRAME_MAX.  Integers are big-endian; a string
 * is a u16 length and its bytes (no NUL, each field with its own bound); a
 * boolean is one byte, 0 or 1; an address is a family byte (0 IPv4, 1
 * IPv6) and 16 bytes (an IPv4 address in the first 4, the rest zero).  A
 * body must be used up exactly.  Whoever reads anything malformed ends the
 * exchange: the publisher exits, dnsward kills the publisher and fails its
 * jobs (they are retried like any failed publish).
 *
 * dnsward -> publisher
 *   HELLO   u32 version, u8 log level, u8 flags (DW_PP_SECCOMP, DW_PP_SPAWN)
 *   JOB     u64 id, u8 kind (lib/job.h), str configuration file name,
 *           u16 n sections { str kind, str name, u32 line,
 *                            u16 n keys { str key, str value, u32 line } },
 *           u16 n secrets { str path, u8 flags, str bytes },
 *           then the kind's inputs:
 *             PUBLISH     str fqdn, bool cold, 2 x { bool active,
 *                         bool have_addr, addr, bool publish, str prev },
 *                         bool have_memo, str memo
 *             VERIFY      str fqdn, 2 x { bool verify, addr published }
 *             FETCH       str fqdn, 2 x bool fetch
 *             TXT_ADD/DEL str provider, str name, str value, u32 ttl
 *             FOLLOW      str name, u32 timeout_ms
 *             TXT_SERVED  server, str name, str value
 *           (a server is an addr, u16 port and u32 timeout_ms, at most
 *           DW_PP_TIMEOUT_MAX_MS, 0 for the default)
 * publisher -> dnsward
 *   HELLO   u32 version, u32 pid
 *   RESULT  u64 id, u8 kind, then the kind's outputs:
 *             PUBLISH     2 x result, bool memo_out, bool have_memo,
 *                         str memo;  TXT_ADD/DEL  result
 *               (a memo: printable, at most DW_STATE_MEMO_MAX bytes)
 *             VERIFY      2 x { u8 status, str message }
 *               (a result: u8 outcome, i64 retry_after_s, str message)
 *             FETCH       2 x { bool fetched, addr, str why }
 *             FOLLOW      i32 err, str msg, str target, bool have_zone,
 *                         str apex, u8 n servers, n x server
 *             TXT_SERVED  i32 err, str msg, bool has
 *
 * A JOB carries the [dnsward] sections (without user and group, which only
 * the resident process applies) and the provider and record sections the
 * job needs, with exactly the secrets those sections read: a record and
 * its provider for PUBLISH and VERIFY; the record alone for FETCH (its sources need
 * no provider and no secret); for TXT_ADD/DEL the provider and every record
 * using it (records may add TXT keys to their provider); none for FOLLOW
 * and TXT_SERVED.  The publisher rebuilds a configuration from them
 * (dw_config_from_sections, secrets served from the frame), runs the job
 * and frees it all.
 *
 * JOB frames live in sodium memory on both sides (they may hold secrets);
 * strings the publisher sends have control characters replaced by '?'
 * before dnsward logs them.  Pure code: encoding, decoding, framing over a
 * caller's descriptor; fuzzed (tests/fuzz/fuzz_pubproto.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/error.h"
#include "lib/job.h"
#include "lib/secret.h"

#define DW_PP_VERSION 1
#define DW_PP_FRAME_MAX (1024u * 1024u)
#define DW_PP_SECTIONS_MAX 512
#define DW_PP_KEYS_MAX 256             /* per section, as the configuration allows */
#define DW_PP_SECRETS_MAX 64
#define DW_PP_STR_MAX 4096             /* a configuration value or path */
#define DW_PP_TIMEOUT_MAX_MS 600000u   /* a query's timeout (0 = the default) */

enum dw_pp_type {
	DW_PP_HELLO = 1,
	DW_PP_JOB = 2,
	DW_PP_RESULT = 3,
};

enum dw_pp_flags {
	DW_PP_SECCOMP = 0x1,   /* install the publisher's system-call filter */
	DW_PP_SPAWN = 0x2,     /* the configuration runs programs (cmd: sources) */
};

/* ---- Frames ---------------------------------------------------------------- */

/* An encoded frame, header included.  locked: the bytes are in sodium
 * memory (JOB frames).  Release with dw_pp_buf_free(), which wipes. */
struct dw_pp_buf {
	uint8_t *p;
	size_t len, cap;
	bool locked;
	bool err;        /* an encoder ran out of memory or over DW_PP_FRAME_MAX */
};

void dw_pp_buf_free(struct dw_pp_buf *b);

/* A frame being read from a descriptor.  Zero it before the first use. */
struct dw_pp_reader {
	uint8_t hdr[5];
	size_t hdr_got;
	uint8_t type;
	uint8_t *body;       /* sodium memory for JOB frames */
	size_t body_len, body_got;
};

/* Reads what fd has (non-blocking or not) towards the next frame.
 * Returns 1 when a whole frame is in r (type, body, body_len: take it
 * with dw_pp_reader_take or drop it with dw_pp_reader_reset), 0 when more
 * bytes are needed (EAGAIN), DW_ENOTFOUND at a clean end of stream (EOF
 * between frames), DW_EPARSE for a bad header (length 0 or too big, or
 * EOF inside a frame) and DW_EIO for a read error, with diag. */
int dw_pp_read(struct dw_pp_reader *r, int fd, struct dw_diag *diag);

/* Splits frames out of a memory buffer instead (fuzzing, tests): as
 * above, with *used bytes consumed from in[0..len). */
int dw_pp_read_mem(struct dw_pp_reader *r, const uint8_t *in, size_t len, size_t *used,
                   struct dw_diag *diag);

/* Frees the body (wiping it) and gets ready for the next frame. */
void dw_pp_reader_reset(struct dw_pp_reader *r);

/* ---- Messages -------------------------------------------------------------- */

struct dw_pp_hello {
	uint32_t version;
	uint8_t log_level;   /* to the publisher */
	uint8_t flags;       /* to the publisher: enum dw_pp_flags */
	uint32_t pid;        /* from the publisher */
};

/* HELLO frames.  to_publisher selects which fields are sent. */
int dw_pp_encode_hello(const struct dw_pp_hello *h, bool to_publisher, struct dw_pp_buf *out);
int dw_pp_decode_hello(const uint8_t *body, size_t len, bool to_publisher,
                       struct dw_pp_hello *out, struct dw_diag *diag);

/* A JOB frame for j with what it needs from cfg (see above). */
int dw_pp_encode_job(uint64_t id, const struct dw_config *cfg, const struct dw_job *j,
                     struct dw_pp_buf *out);

/* A JOB as the publisher receives it. */
struct dw_pp_job {
	uint64_t id;
	struct dw_job job;                 /* inputs; r and p NULL until configured */
	char *file;                        /* configuration file name, for messages */
	struct dw_section *secs;           /* owned until handed to the configuration */
	size_t nsecs;
	struct dw_secret_set secrets;
	char fqdn[DW_DNS_NAME_MAX];        /* PUBLISH, FETCH: the record */
	char provider[DW_PP_STR_MAX];      /* TXT_ADD, TXT_DEL: the provider */
};

/* Decodes a JOB body.  On failure out is freed and diag says why. */
int dw_pp_decode_job(const uint8_t *body, size_t len, struct dw_pp_job *out,
                     struct dw_diag *diag);
/* Frees what out owns (sections still held, secrets, file). */
void dw_pp_job_free(struct dw_pp_job *j);

/* A RESULT frame with j's outputs. */
int dw_pp_encode_result(uint64_t id, const struct dw_job *j, struct dw_pp_buf *out);

/* The id and kind of a RESULT body, to find the job it answers. */
int dw_pp_result_id(const uint8_t *body, size_t len, uint64_t *id, enum dw_job_kind *kind,
                    struct dw_diag *diag);
/* Decodes a RESULT body into j's outputs (j->kind must be the result's
 * kind).  Inputs are untouched; on failure outputs may be partly written. */
int dw_pp_decode_result(const uint8_t *body, size_t len, struct dw_job *j,
                        struct dw_diag *diag);
