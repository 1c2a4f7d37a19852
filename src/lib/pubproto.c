/* The protocol between dnsward and its publisher (see pubproto.h). */
#include "lib/pubproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HDR 5                        /* u32 length, u8 type */
#define RETRY_AFTER_MAX 315360000L   /* ten years: more is a lie */
#define ERR_MIN (-1000)              /* DW_E* codes are small negatives */

/* ---- Encoding --------------------------------------------------------------- */

void dw_pp_buf_free(struct dw_pp_buf *b)
{
	if (b->p != NULL) {
		if (b->locked)
			sodium_free(b->p);   /* wipes */
		else
			free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static bool grow(struct dw_pp_buf *b, size_t need)
{
	if (b->err)
		return false;
	if (b->len + need > (size_t)DW_PP_FRAME_MAX + 4) {
		b->err = true;
		return false;
	}
	if (b->len + need <= b->cap)
		return true;
	size_t ncap = b->cap > 0 ? b->cap : 1024;
	while (ncap < b->len + need)
		ncap *= 2;
	uint8_t *np = b->locked ? (sodium_init() >= 0 ? sodium_malloc(ncap) : NULL) : malloc(ncap);
	if (np == NULL) {
		b->err = true;
		return false;
	}
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		if (b->locked)
			sodium_free(b->p);
		else
			free(b->p);
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

static void put(struct dw_pp_buf *b, const void *p, size_t n)
{
	if (n > 0 && grow(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

static void put_u8(struct dw_pp_buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_u16(struct dw_pp_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(b, x, 2);
}

static void put_u32(struct dw_pp_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	put(b, x, 4);
}

static void put_u64(struct dw_pp_buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void put_bool(struct dw_pp_buf *b, bool v)
{
	put_u8(b, v ? 1 : 0);
}

/* n bytes of s as a string of at most max bytes. */
static void put_strn(struct dw_pp_buf *b, const char *s, size_t n, size_t max)
{
	if (n > max || n > UINT16_MAX || memchr(s, '\0', n) != NULL) {
		b->err = true;
		return;
	}
	put_u16(b, (uint16_t)n);
	put(b, s, n);
}

static void put_str(struct dw_pp_buf *b, const char *s, size_t max)
{
	put_strn(b, s, strlen(s), max);
}

static void put_ip(struct dw_pp_buf *b, const struct dw_ip *ip)
{
	uint8_t bytes[16] = { 0 };
	memcpy(bytes, ip->bytes, ip->family == DW_FAM_V4 ? 4 : 16);
	put_u8(b, ip->family == DW_FAM_V6 ? 1 : 0);
	put(b, bytes, 16);
}

static void put_server(struct dw_pp_buf *b, const struct dw_dns_server *s)
{
	struct dw_ip ip;
	memset(&ip, 0, sizeof(ip));
	uint16_t port = 0;
	if (s->addr.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&s->addr;
		ip.family = DW_FAM_V4;
		memcpy(ip.bytes, &a->sin_addr, 4);
		port = ntohs(a->sin_port);
	} else if (s->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&s->addr;
		ip.family = DW_FAM_V6;
		memcpy(ip.bytes, &a->sin6_addr, 16);
		port = ntohs(a->sin6_port);
	} else {
		b->err = true;
		return;
	}
	put_ip(b, &ip);
	put_u16(b, port);
	put_u32(b, s->timeout_ms > 0 && s->timeout_ms <= DW_PP_TIMEOUT_MAX_MS ? (uint32_t)s->timeout_ms
	                                                                      : 0);
}

static void put_result(struct dw_pp_buf *b, const struct dw_result *r)
{
	put_u8(b, (uint8_t)r->outcome);
	put_u64(b, (uint64_t)(int64_t)r->retry_after_s);
	put_strn(b, r->msg, strnlen(r->msg, sizeof(r->msg)), sizeof(r->msg) - 1);
}

static void frame_begin(struct dw_pp_buf *b, enum dw_pp_type type, bool locked)
{
	memset(b, 0, sizeof(*b));
	b->locked = locked;
	uint8_t hdr[HDR] = { 0, 0, 0, 0, (uint8_t)type };
	put(b, hdr, HDR);
}

static int frame_end(struct dw_pp_buf *b)
{
	if (b->err || b->len - 4 > DW_PP_FRAME_MAX) {
		dw_pp_buf_free(b);
		return DW_ETOOBIG;
	}
	uint32_t n = (uint32_t)(b->len - 4);
	b->p[0] = (uint8_t)(n >> 24);
	b->p[1] = (uint8_t)(n >> 16);
	b->p[2] = (uint8_t)(n >> 8);
	b->p[3] = (uint8_t)n;
	return DW_OK;
}

int dw_pp_encode_hello(const struct dw_pp_hello *h, bool to_publisher, struct dw_pp_buf *out)
{
	frame_begin(out, DW_PP_HELLO, false);
	put_u32(out, h->version);
	if (to_publisher) {
		put_u8(out, h->log_level);
		put_u8(out, h->flags);
	} else {
		put_u32(out, h->pid);
	}
	return frame_end(out);
}

/* [dnsward] keys only the resident process uses: the publisher already
 * runs as that user, and looking names up would need NSS in a confined
 * process. */
static bool resident_only(const struct dw_section *sec, const struct dw_kv *kv)
{
	return strcmp(sec->kind, "dnsward") == 0 &&
	       (strcmp(kv->key, "user") == 0 || strcmp(kv->key, "group") == 0);
}

static void put_section(struct dw_pp_buf *b, const struct dw_section *sec)
{
	put_str(b, sec->kind, DW_PP_STR_MAX);
	put_str(b, sec->name, DW_PP_STR_MAX);
	put_u32(b, sec->line > 0 ? (uint32_t)sec->line : 0);
	size_t n = 0;
	for (size_t k = 0; k < sec->nkv; k++)
		n += resident_only(sec, &sec->kv[k]) ? 0 : 1;
	put_u16(b, (uint16_t)n);
	for (size_t k = 0; k < sec->nkv; k++) {
		if (resident_only(sec, &sec->kv[k]))
			continue;
		put_str(b, sec->kv[k].key, DW_PP_STR_MAX);
		put_str(b, sec->kv[k].value, DW_PP_STR_MAX);
		put_u32(b, sec->kv[k].line > 0 ? (uint32_t)sec->kv[k].line : 0);
	}
}

/* What a job takes from the configuration: sections and secret sets. */
struct job_conf {
	const struct dw_section *secs[DW_PP_SECTIONS_MAX];
	size_t nsecs;
	const struct dw_secret_set *sets[DW_PP_SECTIONS_MAX];
	size_t nsets;
	bool overflow;
};

static void take(struct job_conf *jc, const struct dw_section *sec, const struct dw_secret_set *set)
{
	if (sec == NULL)
		return;
	if (jc->nsecs == DW_PP_SECTIONS_MAX) {
		jc->overflow = true;
		return;
	}
	jc->secs[jc->nsecs++] = sec;
	if (set != NULL && set->n > 0)
		jc->sets[jc->nsets++] = set;
}

static void job_conf(const struct dw_config *cfg, const struct dw_job *j, struct job_conf *jc)
{
	for (size_t i = 0; i < cfg->nsecs; i++) {
		if (strcmp(cfg->secs[i].kind, "dnsward") == 0)
			take(jc, &cfg->secs[i], NULL);
	}
	switch (j->kind) {
	case DW_JOB_PUBLISH:
	case DW_JOB_VERIFY:
		take(jc, j->r->provider->sec, &j->r->provider->secrets);
		take(jc, j->r->sec, &j->r->secrets);
		break;
	case DW_JOB_FETCH:
		take(jc, j->r->sec, NULL);
		break;
	case DW_JOB_TXT_ADD:
	case DW_JOB_TXT_DEL:
		take(jc, j->p->sec, &j->p->secrets);
		for (size_t i = 0; i < cfg->nrecords; i++) {
			if (cfg->records[i]->provider == j->p)
				take(jc, cfg->records[i]->sec, &cfg->records[i]->secrets);
		}
		break;
	case DW_JOB_FOLLOW:
	case DW_JOB_TXT_SERVED:
		break;
	}
}

int dw_pp_encode_job(uint64_t id, const struct dw_config *cfg, const struct dw_job *j,
                     struct dw_pp_buf *out)
{
	struct job_conf *jc = calloc(1, sizeof(*jc));
	if (jc == NULL)
		return DW_ENOMEM;
	if ((j->kind == DW_JOB_PUBLISH || j->kind == DW_JOB_FETCH || j->kind == DW_JOB_VERIFY) &&
	    j->r == NULL) {
		free(jc);
		return DW_EINVAL;
	}
	if ((j->kind == DW_JOB_TXT_ADD || j->kind == DW_JOB_TXT_DEL) && j->p == NULL) {
		free(jc);
		return DW_EINVAL;
	}
	job_conf(cfg, j, jc);
	frame_begin(out, DW_PP_JOB, true);
	put_u64(out, id);
	put_u8(out, (uint8_t)j->kind);
	put_str(out, cfg->path != NULL ? cfg->path : "", DW_PP_STR_MAX);
	put_u16(out, (uint16_t)jc->nsecs);
	for (size_t i = 0; i < jc->nsecs; i++)
		put_section(out, jc->secs[i]);

	/* The secrets of those sections, each once. */
	size_t nsec = 0;
	for (size_t s = 0; s < jc->nsets; s++)
		nsec += jc->sets[s]->n;
	if (nsec > DW_PP_SECRETS_MAX || jc->overflow)
		out->err = true;
	size_t count_at = out->len;
	put_u16(out, 0);
	uint16_t count = 0;
	for (size_t s = 0; s < jc->nsets && !out->err; s++) {
		for (size_t k = 0; k < jc->sets[s]->n; k++) {
			const struct dw_secret_entry *e = &jc->sets[s]->v[k];
			bool dup = false;
			for (size_t t = 0; t < s && !dup; t++)
				dup = dw_secret_set_find(jc->sets[t], e->path, e->flags) != NULL;
			if (dup)
				continue;
			put_str(out, e->path, DW_PP_STR_MAX);
			put_u8(out, (uint8_t)e->flags);
			put_strn(out, e->s.data, e->s.len, DW_SECRET_MAX);
			count++;
		}
	}
	if (!out->err) {
		out->p[count_at] = (uint8_t)(count >> 8);
		out->p[count_at + 1] = (uint8_t)count;
	}
	free(jc);

	switch (j->kind) {
	case DW_JOB_PUBLISH:
		put_str(out, j->r->fqdn, DW_DNS_NAME_MAX - 1);
		put_bool(out, j->cold);
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			const struct dw_plan *pl = &j->plan[f];
			put_bool(out, pl->active);
			put_bool(out, pl->have_addr);
			put_ip(out, &pl->addr);
			put_bool(out, pl->publish);
			put_strn(out, pl->prev, strnlen(pl->prev, sizeof(pl->prev)), sizeof(pl->prev) - 1);
		}
		put_bool(out, j->have_memo);
		put_str(out, j->have_memo ? j->memo : "", DW_STATE_MEMO_MAX);
		break;
	case DW_JOB_VERIFY:
		put_str(out, j->r->fqdn, DW_DNS_NAME_MAX - 1);
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			put_bool(out, j->verify[f]);
			put_ip(out, &j->published[f]);
		}
		break;
	case DW_JOB_FETCH:
		put_str(out, j->r->fqdn, DW_DNS_NAME_MAX - 1);
		for (int f = 0; f < DW_FAM_COUNT; f++)
			put_bool(out, j->fetch[f]);
		break;
	case DW_JOB_TXT_ADD:
	case DW_JOB_TXT_DEL:
		put_str(out, j->p->name, DW_PP_STR_MAX);
		put_str(out, j->name, DW_DNS_NAME_MAX - 1);
		put_str(out, j->value, DW_JOB_VALUE_MAX - 1);
		put_u32(out, j->ttl);
		break;
	case DW_JOB_FOLLOW:
		put_str(out, j->name, DW_DNS_NAME_MAX - 1);
		put_u32(out, j->timeout_ms);
		break;
	case DW_JOB_TXT_SERVED:
		put_server(out, &j->srv);
		put_str(out, j->name, DW_DNS_NAME_MAX - 1);
		put_str(out, j->value, DW_JOB_VALUE_MAX - 1);
		break;
	default:
		out->err = true;
		break;
	}
	return frame_end(out);
}

int dw_pp_encode_result(uint64_t id, const struct dw_job *j, struct dw_pp_buf *out)
{
	frame_begin(out, DW_PP_RESULT, false);
	put_u64(out, id);
	put_u8(out, (uint8_t)j->kind);
	switch (j->kind) {
	case DW_JOB_PUBLISH:
		for (int f = 0; f < DW_FAM_COUNT; f++)
			put_result(out, &j->res[f]);
		put_bool(out, j->memo_out);
		put_bool(out, j->memo_out && j->have_memo);
		put_str(out, j->memo_out && j->have_memo ? j->memo : "", DW_STATE_MEMO_MAX);
		break;
	case DW_JOB_VERIFY:
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			put_u8(out, (uint8_t)j->ver[f].status);
			put_strn(out, j->ver[f].msg, strnlen(j->ver[f].msg, sizeof(j->ver[f].msg)),
			         sizeof(j->ver[f].msg) - 1);
		}
		break;
	case DW_JOB_TXT_ADD:
	case DW_JOB_TXT_DEL:
		put_result(out, &j->res[0]);
		break;
	case DW_JOB_FETCH:
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			put_bool(out, j->fetched[f]);
			put_ip(out, &j->addr[f]);
			put_strn(out, j->why[f], strnlen(j->why[f], sizeof(j->why[f])),
			         sizeof(j->why[f]) - 1);
		}
		break;
	case DW_JOB_FOLLOW:
		put_u32(out, (uint32_t)j->err);
		put_strn(out, j->msg, strnlen(j->msg, sizeof(j->msg)), sizeof(j->msg) - 1);
		put_str(out, j->target, DW_DNS_NAME_MAX - 1);
		put_bool(out, j->have_zone);
		put_str(out, j->have_zone ? j->zone.apex : "", DW_DNS_NAME_MAX - 1);
		put_u8(out, j->have_zone ? (uint8_t)j->zone.nns : 0);
		for (size_t i = 0; j->have_zone && i < j->zone.nns; i++)
			put_server(out, &j->zone.ns[i]);
		break;
	case DW_JOB_TXT_SERVED:
		put_u32(out, (uint32_t)j->err);
		put_strn(out, j->msg, strnlen(j->msg, sizeof(j->msg)), sizeof(j->msg) - 1);
		put_bool(out, j->has);
		break;
	default:
		out->err = true;
		break;
	}
	return frame_end(out);
}

/* ---- Decoding --------------------------------------------------------------- */

/* A bounded cursor with a sticky error: after the first problem every get
 * returns zero and the decoder reports where it failed. */
struct cur {
	const uint8_t *p;
	size_t len, pos;
	const char *err;   /* what was malformed, NULL while fine */
};

static bool avail(struct cur *c, size_t n, const char *what)
{
	if (c->err != NULL)
		return false;
	if (c->len - c->pos < n) {
		c->err = what;
		return false;
	}
	return true;
}

static uint8_t get_u8(struct cur *c, const char *what)
{
	return avail(c, 1, what) ? c->p[c->pos++] : 0;
}

static uint16_t get_u16(struct cur *c, const char *what)
{
	if (!avail(c, 2, what))
		return 0;
	uint16_t v = (uint16_t)((c->p[c->pos] << 8) | c->p[c->pos + 1]);
	c->pos += 2;
	return v;
}

static uint32_t get_u32(struct cur *c, const char *what)
{
	if (!avail(c, 4, what))
		return 0;
	uint32_t v = ((uint32_t)c->p[c->pos] << 24) | ((uint32_t)c->p[c->pos + 1] << 16) |
	             ((uint32_t)c->p[c->pos + 2] << 8) | (uint32_t)c->p[c->pos + 3];
	c->pos += 4;
	return v;
}

static uint64_t get_u64(struct cur *c, const char *what)
{
	uint64_t hi = get_u32(c, what);
	return (hi << 32) | get_u32(c, what);
}

static bool get_bool(struct cur *c, const char *what)
{
	uint8_t v = get_u8(c, what);
	if (v > 1 && c->err == NULL)
		c->err = what;
	return v == 1;
}

/* A string of at most max bytes, without NUL.  Returns a pointer into the
 * body and its length (NULL on error). */
static const char *get_raw(struct cur *c, size_t max, size_t *n, const char *what)
{
	size_t len = get_u16(c, what);
	if (c->err == NULL && len > max)
		c->err = what;
	if (!avail(c, len, what))
		return NULL;
	const char *s = (const char *)c->p + c->pos;
	if (memchr(s, '\0', len) != NULL) {
		c->err = what;
		return NULL;
	}
	c->pos += len;
	*n = len;
	return s;
}

/* Into out (cap bytes, NUL added); sanitize replaces control characters
 * (text the publisher sends, logged by dnsward). */
static void get_str(struct cur *c, char *out, size_t cap, bool sanitize, const char *what)
{
	size_t n = 0;
	const char *s = get_raw(c, cap - 1, &n, what);
	if (s == NULL) {
		out[0] = '\0';
		return;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	for (size_t i = 0; sanitize && i < n; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	}
}

static char *get_strdup(struct cur *c, size_t max, const char *what)
{
	size_t n = 0;
	const char *s = get_raw(c, max, &n, what);
	if (s == NULL)
		return NULL;
	char *d = strndup(s, n);
	if (d == NULL)
		c->err = "out of memory";
	return d;
}

static void get_ip(struct cur *c, struct dw_ip *ip, const char *what)
{
	memset(ip, 0, sizeof(*ip));
	uint8_t fam = get_u8(c, what);
	if (!avail(c, 16, what))
		return;
	if (fam > 1) {
		c->err = what;
		return;
	}
	ip->family = fam == 1 ? DW_FAM_V6 : DW_FAM_V4;
	memcpy(ip->bytes, c->p + c->pos, 16);
	c->pos += 16;
	for (size_t i = 4; ip->family == DW_FAM_V4 && i < 16; i++) {
		if (ip->bytes[i] != 0)
			c->err = what;
	}
}

static void get_server(struct cur *c, struct dw_dns_server *srv, const char *what)
{
	struct dw_ip ip;
	get_ip(c, &ip, what);
	uint16_t port = get_u16(c, what);
	uint32_t timeout = get_u32(c, what);
	if (c->err == NULL && timeout > DW_PP_TIMEOUT_MAX_MS)
		c->err = what;
	if (c->err != NULL)
		return;
	char a[DW_IP_STRLEN];
	if (dw_dns_server_set(srv, dw_ip_format(&ip, a), port, (long)timeout, NULL) != DW_OK)
		c->err = what;
}

static void get_result(struct cur *c, struct dw_result *r, const char *what)
{
	uint8_t o = get_u8(c, what);
	int64_t ra = (int64_t)get_u64(c, what);
	if (c->err == NULL && (o >= DW_OUT_COUNT || ra < -1 || ra > RETRY_AFTER_MAX))
		c->err = what;
	r->outcome = (enum dw_outcome)o;
	r->retry_after_s = (long)ra;
	get_str(c, r->msg, sizeof(r->msg), true, what);
}

/* A provider's note: printable ASCII (state.h), at most DW_STATE_MEMO_MAX. */
static void get_memo(struct cur *c, char out[DW_STATE_MEMO_MAX + 1], const char *what)
{
	get_str(c, out, DW_STATE_MEMO_MAX + 1, false, what);
	for (const char *m = out; c->err == NULL && *m != '\0'; m++) {
		if (*m < 0x20 || *m > 0x7e)
			c->err = what;
	}
}

static int32_t get_err(struct cur *c, const char *what)
{
	int32_t e = (int32_t)get_u32(c, what);
	if (c->err == NULL && (e > 0 || e < ERR_MIN))
		c->err = what;
	return e;
}

static int finish(struct cur *c, const char *frame, struct dw_diag *diag)
{
	if (c->err == NULL && c->pos != c->len)
		c->err = "trailing bytes";
	if (c->err != NULL)
		return dw_diag_set(diag, DW_EPARSE, "malformed %s frame: %s (at byte %zu of %zu)",
		                   frame, c->err, c->pos, c->len);
	return DW_OK;
}

int dw_pp_decode_hello(const uint8_t *body, size_t len, bool to_publisher,
                       struct dw_pp_hello *out, struct dw_diag *diag)
{
	struct cur c = { body, len, 0, NULL };
	memset(out, 0, sizeof(*out));
	out->version = get_u32(&c, "version");
	if (to_publisher) {
		out->log_level = get_u8(&c, "log level");
		out->flags = get_u8(&c, "flags");
		if (c.err == NULL && (out->log_level < 3 || out->log_level > 7))
			c.err = "log level";
		if (c.err == NULL && (out->flags & ~(DW_PP_SECCOMP | DW_PP_SPAWN)) != 0)
			c.err = "flags";
	} else {
		out->pid = get_u32(&c, "pid");
	}
	return finish(&c, "HELLO", diag);
}

void dw_pp_job_free(struct dw_pp_job *j)
{
	free(j->file);
	dw_config_sections_free(j->secs, j->nsecs);
	dw_secret_set_free(&j->secrets);
	memset(j, 0, sizeof(*j));
}

static void get_section(struct cur *c, struct dw_section *sec)
{
	sec->kind = get_strdup(c, 32, "section kind");
	sec->name = get_strdup(c, DW_PP_STR_MAX, "section name");
	uint32_t line = get_u32(c, "section line");
	size_t n = get_u16(c, "key count");
	if (c->err == NULL && (line > INT_MAX || n > DW_PP_KEYS_MAX))
		c->err = "section";
	if (c->err != NULL)
		return;
	sec->line = (int)line;
	sec->kv = calloc(n > 0 ? n : 1, sizeof(*sec->kv));
	if (sec->kv == NULL) {
		c->err = "out of memory";
		return;
	}
	for (size_t k = 0; k < n && c->err == NULL; k++) {
		struct dw_kv *kv = &sec->kv[k];
		kv->key = get_strdup(c, 128, "key");
		kv->value = get_strdup(c, DW_PP_STR_MAX, "value");
		uint32_t kl = get_u32(c, "key line");
		if (c->err == NULL && kl > INT_MAX)
			c->err = "key line";
		kv->line = (int)kl;
		if (kv->key != NULL || kv->value != NULL)
			sec->nkv = k + 1;   /* freed with the section even when incomplete */
	}
}

int dw_pp_decode_job(const uint8_t *body, size_t len, struct dw_pp_job *out,
                     struct dw_diag *diag)
{
	struct cur c = { body, len, 0, NULL };
	memset(out, 0, sizeof(*out));
	struct dw_job *j = &out->job;
	out->id = get_u64(&c, "id");
	uint8_t kind = get_u8(&c, "kind");
	if (c.err == NULL && (kind < DW_JOB_PUBLISH || kind > DW_JOB_KIND_LAST))
		c.err = "kind";
	j->kind = (enum dw_job_kind)kind;
	out->file = get_strdup(&c, DW_PP_STR_MAX, "file name");
	size_t nsecs = get_u16(&c, "section count");
	if (c.err == NULL && nsecs > DW_PP_SECTIONS_MAX)
		c.err = "section count";
	if (c.err == NULL) {
		out->secs = calloc(nsecs > 0 ? nsecs : 1, sizeof(*out->secs));
		if (out->secs == NULL)
			c.err = "out of memory";
	}
	for (size_t i = 0; i < nsecs && c.err == NULL; i++) {
		out->nsecs = i + 1;
		get_section(&c, &out->secs[i]);
	}
	/* Sections must be whole for the configuration code. */
	for (size_t i = 0; i < out->nsecs && c.err == NULL; i++) {
		if (out->secs[i].kind == NULL || out->secs[i].name == NULL)
			c.err = "section";
	}

	size_t nsecrets = get_u16(&c, "secret count");
	if (c.err == NULL && nsecrets > DW_PP_SECRETS_MAX)
		c.err = "secret count";
	for (size_t i = 0; i < nsecrets && c.err == NULL; i++) {
		char path[DW_PP_STR_MAX + 1];
		get_str(&c, path, sizeof(path), false, "secret path");
		uint8_t flags = get_u8(&c, "secret flags");
		size_t n = 0;
		const char *data = get_raw(&c, DW_SECRET_MAX, &n, "secret");
		if (c.err == NULL && (flags > DW_SECRET_FILE || n == 0))
			c.err = "secret";
		if (c.err == NULL &&
		    dw_secret_set_add(&out->secrets, path, (enum dw_secret_flags)flags, data, n) != DW_OK)
			c.err = "out of memory";
	}

	switch (c.err == NULL ? j->kind : 0) {
	case DW_JOB_PUBLISH:
		get_str(&c, out->fqdn, sizeof(out->fqdn), false, "fqdn");
		j->cold = get_bool(&c, "cold");
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			struct dw_plan *pl = &j->plan[f];
			pl->active = get_bool(&c, "plan");
			pl->have_addr = get_bool(&c, "plan");
			get_ip(&c, &pl->addr, "plan address");
			pl->publish = get_bool(&c, "plan");
			get_str(&c, pl->prev, sizeof(pl->prev), false, "plan previous address");
			if (c.err == NULL && pl->have_addr && pl->addr.family != (enum dw_family)f)
				c.err = "plan address family";
		}
		j->have_memo = get_bool(&c, "memo");
		get_memo(&c, j->memo, "memo");
		break;
	case DW_JOB_VERIFY:
		get_str(&c, out->fqdn, sizeof(out->fqdn), false, "fqdn");
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			j->verify[f] = get_bool(&c, "verify");
			get_ip(&c, &j->published[f], "published address");
			if (c.err == NULL && j->verify[f] && j->published[f].family != (enum dw_family)f)
				c.err = "published address family";
		}
		break;
	case DW_JOB_FETCH:
		get_str(&c, out->fqdn, sizeof(out->fqdn), false, "fqdn");
		for (int f = 0; f < DW_FAM_COUNT; f++)
			j->fetch[f] = get_bool(&c, "fetch");
		break;
	case DW_JOB_TXT_ADD:
	case DW_JOB_TXT_DEL:
		get_str(&c, out->provider, sizeof(out->provider), false, "provider");
		get_str(&c, j->name, sizeof(j->name), false, "name");
		get_str(&c, j->value, sizeof(j->value), false, "value");
		j->ttl = get_u32(&c, "ttl");
		break;
	case DW_JOB_FOLLOW:
		get_str(&c, j->name, sizeof(j->name), false, "name");
		j->timeout_ms = get_u32(&c, "timeout");
		if (c.err == NULL && (j->timeout_ms == 0 || j->timeout_ms > DW_PP_TIMEOUT_MAX_MS))
			c.err = "timeout";
		break;
	case DW_JOB_TXT_SERVED:
		get_server(&c, &j->srv, "server");
		get_str(&c, j->name, sizeof(j->name), false, "name");
		get_str(&c, j->value, sizeof(j->value), false, "value");
		break;
	default:
		break;
	}
	int ret = finish(&c, "JOB", diag);
	if (ret != DW_OK)
		dw_pp_job_free(out);
	return ret;
}

int dw_pp_result_id(const uint8_t *body, size_t len, uint64_t *id, enum dw_job_kind *kind,
                    struct dw_diag *diag)
{
	struct cur c = { body, len, 0, NULL };
	*id = get_u64(&c, "id");
	uint8_t k = get_u8(&c, "kind");
	if (c.err == NULL && (k < DW_JOB_PUBLISH || k > DW_JOB_KIND_LAST))
		c.err = "kind";
	*kind = (enum dw_job_kind)k;
	if (c.err != NULL)
		return dw_diag_set(diag, DW_EPARSE, "malformed RESULT frame: %s", c.err);
	return DW_OK;
}

int dw_pp_decode_result(const uint8_t *body, size_t len, struct dw_job *j,
                        struct dw_diag *diag)
{
	struct cur c = { body, len, 0, NULL };
	(void)get_u64(&c, "id");
	uint8_t kind = get_u8(&c, "kind");
	if (c.err == NULL && kind != (uint8_t)j->kind)
		c.err = "kind differs from the job's";
	switch (c.err == NULL ? j->kind : 0) {
	case DW_JOB_PUBLISH:
		for (int f = 0; f < DW_FAM_COUNT; f++)
			get_result(&c, &j->res[f], "result");
		j->memo_out = get_bool(&c, "memo");
		j->have_memo = get_bool(&c, "memo");
		get_memo(&c, j->memo, "memo");
		/* A memo only when one is said to be there, and never empty. */
		if (c.err == NULL && (j->have_memo ? !j->memo_out || j->memo[0] == '\0'
		                                   : j->memo[0] != '\0'))
			c.err = "memo";
		break;
	case DW_JOB_VERIFY:
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			uint8_t st = get_u8(&c, "verify status");
			if (c.err == NULL && st > DW_VERIFY_UNKNOWN)
				c.err = "verify status";
			j->ver[f].status = (enum dw_verify_status)st;
			get_str(&c, j->ver[f].msg, sizeof(j->ver[f].msg), true, "verify message");
		}
		break;
	case DW_JOB_TXT_ADD:
	case DW_JOB_TXT_DEL:
		get_result(&c, &j->res[0], "result");
		break;
	case DW_JOB_FETCH:
		for (int f = 0; f < DW_FAM_COUNT; f++) {
			j->fetched[f] = get_bool(&c, "fetched");
			get_ip(&c, &j->addr[f], "address");
			get_str(&c, j->why[f], sizeof(j->why[f]), true, "why");
			if (c.err == NULL && j->fetched[f] && j->addr[f].family != (enum dw_family)f)
				c.err = "address family";
		}
		break;
	case DW_JOB_FOLLOW: {
		j->err = get_err(&c, "err");
		get_str(&c, j->msg, sizeof(j->msg), true, "message");
		get_str(&c, j->target, sizeof(j->target), true, "target");
		j->have_zone = get_bool(&c, "have_zone");
		get_str(&c, j->zone.apex, sizeof(j->zone.apex), true, "apex");
		size_t n = get_u8(&c, "server count");
		if (c.err == NULL && (n > DW_DNSAUTH_SERVERS_MAX || (!j->have_zone && n > 0)))
			c.err = "server count";
		j->zone.nns = 0;
		for (size_t i = 0; i < n && c.err == NULL; i++) {
			get_server(&c, &j->zone.ns[i], "server");
			j->zone.nns = i + 1;
		}
		break;
	}
	case DW_JOB_TXT_SERVED:
		j->err = get_err(&c, "err");
		get_str(&c, j->msg, sizeof(j->msg), true, "message");
		j->has = get_bool(&c, "has");
		break;
	default:
		break;
	}
	return finish(&c, "RESULT", diag);
}

/* ---- Framing ----------------------------------------------------------------- */

typedef ssize_t (*read_fn)(void *ctx, uint8_t *buf, size_t n);

struct mem_src {
	const uint8_t *in;
	size_t len, used;
};

static ssize_t mem_read(void *ctx, uint8_t *buf, size_t n)
{
	struct mem_src *m = ctx;
	size_t left = m->len - m->used;
	if (left == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (n > left)
		n = left;
	memcpy(buf, m->in + m->used, n);
	m->used += n;
	return (ssize_t)n;
}

static ssize_t fd_read(void *ctx, uint8_t *buf, size_t n)
{
	ssize_t r;
	do {
		r = read(*(const int *)ctx, buf, n);
	} while (r < 0 && errno == EINTR);
	return r;
}

void dw_pp_reader_reset(struct dw_pp_reader *r)
{
	if (r->body != NULL) {
		if (r->type == DW_PP_JOB)
			sodium_free(r->body);
		else
			free(r->body);
	}
	memset(r, 0, sizeof(*r));
}

static int pp_read(struct dw_pp_reader *r, read_fn rd, void *ctx, struct dw_diag *diag)
{
	if (r->hdr_got == HDR && r->body_got == r->body_len && r->body != NULL)
		return 1;   /* a whole frame still waits to be taken */
	while (r->hdr_got < HDR) {
		ssize_t n = rd(ctx, r->hdr + r->hdr_got, HDR - r->hdr_got);
		if (n == 0) {
			if (r->hdr_got == 0)
				return DW_ENOTFOUND;
			return dw_diag_set(diag, DW_EPARSE, "the stream ended inside a frame header");
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return dw_diag_set(diag, DW_EIO, "read: %s", strerror(errno));
		}
		r->hdr_got += (size_t)n;
		if (r->hdr_got < HDR)
			continue;
		uint32_t flen = ((uint32_t)r->hdr[0] << 24) | ((uint32_t)r->hdr[1] << 16) |
		                ((uint32_t)r->hdr[2] << 8) | (uint32_t)r->hdr[3];
		if (flen < 1 || flen > DW_PP_FRAME_MAX)
			return dw_diag_set(diag, DW_EPARSE, "frame length %u out of range", (unsigned)flen);
		r->type = r->hdr[4];
		r->body_len = flen - 1;
		r->body_got = 0;
		/* JOB bodies may hold secrets: sodium memory (locked, guarded). */
		size_t cap = r->body_len > 0 ? r->body_len : 1;
		r->body = r->type != DW_PP_JOB ? malloc(cap) :
		          sodium_init() >= 0 ? sodium_malloc(cap) : NULL;
		if (r->body == NULL)
			return dw_diag_set(diag, DW_ENOMEM, "out of memory for a %zu-byte frame",
			                   r->body_len);
	}
	while (r->body_got < r->body_len) {
		ssize_t n = rd(ctx, r->body + r->body_got, r->body_len - r->body_got);
		if (n == 0)
			return dw_diag_set(diag, DW_EPARSE, "the stream ended inside a frame");
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return dw_diag_set(diag, DW_EIO, "read: %s", strerror(errno));
		}
		r->body_got += (size_t)n;
	}
	return 1;
}

int dw_pp_read(struct dw_pp_reader *r, int fd, struct dw_diag *diag)
{
	return pp_read(r, fd_read, &fd, diag);
}

int dw_pp_read_mem(struct dw_pp_reader *r, const uint8_t *in, size_t len, size_t *used,
                   struct dw_diag *diag)
{
	struct mem_src m = { in, len, 0 };
	int ret = pp_read(r, mem_read, &m, diag);
	*used = m.used;
	if (ret == 0 && m.used == len && len == 0 && r->hdr_got == 0)
		return DW_ENOTFOUND;   /* nothing left: the end of the stream */
	return ret;
}
