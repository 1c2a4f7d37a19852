/* Helpers shared by the simple HTTP update protocols; see dyn_common.h. */
#include "providers/dyn_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"

#define DYN_URL_BASE_ROOM 1024

static void dyn_put(char *buf, size_t cap, size_t *len, bool *failed, const char *s, size_t n)
{
	if (*failed)
		return;
	if (n >= cap - *len) {
		*failed = true;
		return;
	}
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

static void dyn_both(struct dw_dyn_url *u, const char *s, size_t n)
{
	dyn_put(u->url, u->cap, &u->ulen, &u->failed, s, n);
	dyn_put(u->log, u->cap, &u->llen, &u->failed, s, n);
}

bool dw_dyn_url_init(struct dw_dyn_url *u, const char *base, const char *path, size_t extra)
{
	memset(u, 0, sizeof(*u));
	size_t blen = strlen(base);
	if (path[0] == '/')
		while (blen > 0 && base[blen - 1] == '/')
			blen--;
	u->cap = blen + strlen(path) + extra + DYN_URL_BASE_ROOM;
	u->url = calloc(1, u->cap);
	u->log = calloc(1, u->cap);
	if (u->url == NULL || u->log == NULL) {
		u->failed = true;
		return false;
	}
	dyn_both(u, base, blen);
	dyn_both(u, path, strlen(path));
	u->has_query = strchr(u->url, '?') != NULL;
	return !u->failed;
}

static void dyn_sep(struct dw_dyn_url *u)
{
	dyn_both(u, u->has_query ? "&" : "?", 1);
	u->has_query = true;
}

void dw_dyn_url_param(struct dw_dyn_url *u, const char *name, const char *value, bool secret)
{
	if (u->failed)
		return;
	size_t ecap = strlen(value) * 3 + 1;
	char *enc = malloc(ecap);
	if (enc == NULL) {
		u->failed = true;
		return;
	}
	if (dw_http_escape(value, enc, ecap) != DW_OK) {
		u->failed = true;
	} else {
		dyn_sep(u);
		dyn_both(u, name, strlen(name));
		dyn_both(u, "=", 1);
		dyn_put(u->url, u->cap, &u->ulen, &u->failed, enc, strlen(enc));
		if (secret)
			dyn_put(u->log, u->cap, &u->llen, &u->failed, "[token]", 7);
		else
			dyn_put(u->log, u->cap, &u->llen, &u->failed, enc, strlen(enc));
	}
	explicit_bzero(enc, ecap);
	free(enc);
}

void dw_dyn_url_query(struct dw_dyn_url *u, const char *q)
{
	if (u->failed || q == NULL || q[0] == '\0')
		return;
	dyn_sep(u);
	dyn_both(u, q, strlen(q));
}

void dw_dyn_url_free(struct dw_dyn_url *u)
{
	if (u->url != NULL) {
		explicit_bzero(u->url, u->cap);
		free(u->url);
	}
	if (u->log != NULL) {
		explicit_bzero(u->log, u->cap);
		free(u->log);
	}
	memset(u, 0, sizeof(*u));
}

bool dw_dyn_next_line(const char *body, size_t len, size_t *off, const char **line, size_t *n)
{
	if (body == NULL || *off >= len)
		return false;
	size_t start = *off, end = start;
	while (end < len && body[end] != '\n')
		end++;
	*off = end < len ? end + 1 : end;
	if (end > start && body[end - 1] == '\r')
		end--;
	*line = body + start;
	*n = end - start;
	return true;
}

size_t dw_dyn_count_lines(const char *body, size_t len)
{
	size_t off = 0, count = 0, nonempty = 0, n;
	const char *line;
	while (dw_dyn_next_line(body, len, &off, &line, &n)) {
		count++;
		if (n > 0)
			nonempty = count;
	}
	return nonempty;
}

void dw_dyn_scrub(char *msg, size_t cap, const char *secret)
{
	size_t sl = secret != NULL ? strlen(secret) : 0;
	if (sl == 0 || strstr(msg, secret) == NULL)
		return;
	char out[sizeof(((struct dw_result *)0)->msg)];
	size_t o = 0;
	const char *p = msg;
	while (*p != '\0' && o + 1 < sizeof(out)) {
		if (strncmp(p, secret, sl) == 0) {
			static const char mark[] = "[token]";
			for (size_t i = 0; mark[i] != '\0' && o + 1 < sizeof(out); i++)
				out[o++] = mark[i];
			p += sl;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	snprintf(msg, cap, "%s", out);
	explicit_bzero(out, sizeof(out));
}

bool dw_dyn_is_https(const char *url)
{
	return url != NULL && strncasecmp(url, "https://", 8) == 0 && url[8] != '\0';
}

bool dw_dyn_request(const struct dw_provider *p, const struct dw_http_req *req,
                    struct dw_http_resp *resp, const char *who, struct dw_result *res)
{
	struct dw_diag diag = { { 0 } };
	int rc = dw_http_request(req, resp, &diag);
	if (rc == DW_OK)
		return true;
	dw_result_http_failure(res, p, who, rc, resp, &diag);
	return false;
}
