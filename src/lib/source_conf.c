/* What address sources are without the network: their configuration keys,
 * whether a source is polled, and the IPv6 prefix + suffix arithmetic.  The
 * fetching (web, dns, cmd) and the reply parsers are in source.c. */
#include "lib/source.h"
#include "lib/sandbox.h"
#include "lib/trust.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool dw_source_polls(const struct dw_source *src)
{
	return src->kind == DW_SRC_WEB || src->kind == DW_SRC_DNS || src->kind == DW_SRC_CMD;
}

int dw_source_apply_suffix(const struct dw_ip *prefix, unsigned plen,
                           const struct dw_ip *suffix, struct dw_ip *out,
                           char *why, size_t whylen)
{
	if (plen < 1 || plen > 127)
		plen = 64;
	*out = *prefix;
	for (unsigned bit = 0; bit < 128; bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));
		bool sbit = (suffix->bytes[bit / 8] & mask) != 0;
		if (bit < plen) {
			if (sbit) {
				char s[DW_IP_STRLEN];
				snprintf(why, whylen, "ipv6-suffix %s has bits inside the /%u prefix",
				         dw_ip_format(suffix, s), plen);
				return DW_EINVAL;
			}
			continue;
		}
		if (sbit)
			out->bytes[bit / 8] |= mask;
		else
			out->bytes[bit / 8] &= (uint8_t)~mask;
	}
	return DW_OK;
}

static const char *const echo_names[] = { "opendns", "cloudflare", "google" };

const char *dw_source_echo_name(enum dw_echo_kind kind)
{
	return (unsigned)kind < 3 ? echo_names[kind] : "unknown";
}

/* ---- Configuration -------------------------------------------------------- */

static const char *const default_web[DW_FAM_COUNT][5] = {
	{ "https://api.ipify.org", "https://ipv4.icanhazip.com", "https://checkipv4.dedyn.io",
	  "https://1.1.1.1/cdn-cgi/trace", NULL },
	{ "https://api6.ipify.org", "https://ipv6.icanhazip.com", "https://checkipv6.dedyn.io",
	  "https://[2606:4700:4700::1111]/cdn-cgi/trace", NULL },
};
static const char *const default_dns[DW_FAM_COUNT][4] = {
	{ "opendns@208.67.222.222", "cloudflare@1.1.1.1", "google@216.239.32.10", NULL },
	{ "opendns@[2620:119:35::35]", "cloudflare@[2606:4700:4700::1111]",
	  "google@[2001:4860:4802:32::a]", NULL },
};

/* Parses "KIND@ADDR", "KIND@ADDR:PORT" (IPv4) or "KIND@[ADDR]:PORT". */
static int parse_server(const char *item, enum dw_family fam, struct dw_echo_server *out)
{
	const char *at = strchr(item, '@');
	if (at == NULL)
		return DW_EINVAL;
	size_t kl = (size_t)(at - item);
	bool found = false;
	for (size_t k = 0; k < 3; k++) {
		if (strlen(echo_names[k]) == kl && strncmp(item, echo_names[k], kl) == 0) {
			out->kind = (enum dw_echo_kind)k;
			found = true;
		}
	}
	if (!found)
		return DW_EINVAL;
	const char *a = at + 1;
	char addr[DW_IP_STRLEN];
	const char *port = NULL;
	size_t al;
	if (a[0] == '[') {
		const char *close_br = strchr(a, ']');
		if (close_br == NULL)
			return DW_EINVAL;
		al = (size_t)(close_br - a - 1);
		a++;
		if (close_br[1] == ':')
			port = close_br + 2;
		else if (close_br[1] != '\0')
			return DW_EINVAL;
	} else {
		const char *colon = strchr(a, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			al = (size_t)(colon - a);
			port = colon + 1;
		} else {
			al = strlen(a);
		}
	}
	if (al == 0 || al >= sizeof(addr))
		return DW_EINVAL;
	memcpy(addr, a, al);
	addr[al] = '\0';
	if (dw_ip_parse(addr, fam, &out->addr) != DW_OK)
		return DW_EINVAL;
	out->port = 53;
	if (port != NULL) {
		char *end = NULL;
		errno = 0;
		unsigned long p = strtoul(port, &end, 10);
		if (!isdigit((unsigned char)port[0]) || *end != '\0' || errno != 0 || p == 0 ||
		    p > 65535)
			return DW_EINVAL;
		out->port = (uint16_t)p;
	}
	return DW_OK;
}

/* Splits a list at commas and blanks; calls fn for each item. */
static int each_item(const char *list, int (*fn)(void *arg, const char *item), void *arg)
{
	const char *p = list;
	size_t count = 0;
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		const char *e = p;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		char item[DW_SRC_URL_MAX];
		size_t n = (size_t)(e - p);
		if (n >= sizeof(item))
			return DW_ETOOBIG;
		memcpy(item, p, n);
		item[n] = '\0';
		int r = fn(arg, item);
		if (r != DW_OK)
			return r;
		count++;
		p = e;
	}
	return count == 0 ? DW_ENOTFOUND : DW_OK;
}

struct list_arg {
	struct dw_source *src;
	enum dw_family fam;
	const char *bad;    /* first bad item (points into a static copy) */
	char badbuf[DW_SRC_URL_MAX];
};

static int add_url(void *argp, const char *item)
{
	struct list_arg *arg = argp;
	if (strncmp(item, "https://", 8) != 0 || item[8] == '\0') {
		snprintf(arg->badbuf, sizeof(arg->badbuf), "%s", item);
		arg->bad = arg->badbuf;
		return DW_EINVAL;
	}
	if (arg->src->nurls == DW_SRC_LIST_MAX)
		return DW_ETOOBIG;
	snprintf(arg->src->urls[arg->src->nurls++], DW_SRC_URL_MAX, "%s", item);
	return DW_OK;
}

static int add_server(void *argp, const char *item)
{
	struct list_arg *arg = argp;
	if (arg->src->nservers == DW_SRC_LIST_MAX)
		return DW_ETOOBIG;
	if (parse_server(item, arg->fam, &arg->src->servers[arg->src->nservers]) != DW_OK) {
		snprintf(arg->badbuf, sizeof(arg->badbuf), "%s", item);
		arg->bad = arg->badbuf;
		return DW_EINVAL;
	}
	arg->src->nservers++;
	return DW_OK;
}

static int conf_list(struct dw_conf_ctx *ctx, const char *key, enum dw_family fam, bool urls,
                     struct dw_source *src)
{
	const char *v = dw_conf_get(ctx, key);
	if (v == NULL)
		return DW_OK;
	struct list_arg arg = { .src = src, .fam = fam };
	if (urls)
		src->nurls = 0;
	else
		src->nservers = 0;
	int r = each_item(v, urls ? add_url : add_server, &arg);
	if (r == DW_OK)
		return DW_OK;
	if (r == DW_ENOTFOUND)
		return dw_conf_error(ctx, key, "empty list");
	if (r == DW_ETOOBIG)
		return dw_conf_error(ctx, key, "more than %d items, or an item longer than %d bytes",
		                     DW_SRC_LIST_MAX, DW_SRC_URL_MAX - 1);
	if (urls)
		return dw_conf_error(ctx, key, "'%s' is not an https:// URL", arg.bad);
	return dw_conf_error(ctx, key, "'%s' is not opendns@ADDRESS, cloudflare@ADDRESS or "
	                     "google@ADDRESS (an %s address, optionally with :PORT, IPv6 in [])",
	                     arg.bad, dw_family_name(fam));
}

void dw_source_defaults(struct dw_config *cfg)
{
	cfg->poll_interval_s = DW_SOURCE_POLL_DEFAULT_S;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_source *d = &cfg->src_defaults[f];
		memset(d, 0, sizeof(*d));
		d->timeout_ms = DW_SOURCE_TIMEOUT_DEFAULT_S * 1000u;
		for (size_t i = 0; default_web[f][i] != NULL; i++)
			snprintf(d->urls[d->nurls++], DW_SRC_URL_MAX, "%s", default_web[f][i]);
		for (size_t i = 0; default_dns[f][i] != NULL; i++) {
			if (parse_server(default_dns[f][i], (enum dw_family)f, &d->servers[d->nservers]) ==
			    DW_OK)
				d->nservers++;
		}
	}
}

int dw_source_conf_global(struct dw_config *cfg, struct dw_conf_ctx *ctx)
{
	int ret = dw_conf_uint(ctx, "poll-interval", 10, 604800, DW_SOURCE_POLL_DEFAULT_S,
	                       &cfg->poll_interval_s);
	if (ret != DW_OK)
		return ret;
	uint32_t timeout;
	if ((ret = dw_conf_uint(ctx, "source-timeout", 1, 300, DW_SOURCE_TIMEOUT_DEFAULT_S,
	                        &timeout)) != DW_OK)
		return ret;
	const char *ca = dw_conf_get(ctx, "web-ca-file");
	if (ca != NULL) {
		if (ca[0] != '/' || strlen(ca) >= DW_SRC_PATH_MAX)
			return dw_conf_error(ctx, "web-ca-file", "'%s' must be an absolute path", ca);
		if (access(ca, R_OK) != 0)
			return dw_conf_error(ctx, "web-ca-file", "cannot read %s: %s", ca,
			                     strerror(errno));
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_source *d = &cfg->src_defaults[f];
		d->timeout_ms = timeout * 1000u;
		if (ca != NULL)
			snprintf(d->ca_file, sizeof(d->ca_file), "%s", ca);
		char key[32];
		snprintf(key, sizeof(key), "web-%s", dw_family_name((enum dw_family)f));
		if ((ret = conf_list(ctx, key, (enum dw_family)f, true, d)) != DW_OK)
			return ret;
		snprintf(key, sizeof(key), "dns-%s", dw_family_name((enum dw_family)f));
		if ((ret = conf_list(ctx, key, (enum dw_family)f, false, d)) != DW_OK)
			return ret;
	}
	return DW_OK;
}

int dw_source_conf_record(const struct dw_config *cfg, struct dw_conf_ctx *ctx,
                          enum dw_family fam, const char *v, struct dw_source *src)
{
	const char *key = dw_family_name(fam);
	const struct dw_source *d = &cfg->src_defaults[fam];
	enum dw_src_kind kind;
	if (strcmp(v, "web") == 0)
		kind = DW_SRC_WEB;
	else if (strcmp(v, "dns") == 0)
		kind = DW_SRC_DNS;
	else if (strncmp(v, "cmd:", 4) == 0)
		kind = DW_SRC_CMD;
	else
		return DW_ENOTFOUND;

	src->kind = kind;
	src->timeout_ms = d->timeout_ms;
	if (kind == DW_SRC_WEB) {
		src->nurls = d->nurls;
		memcpy(src->urls, d->urls, sizeof(src->urls));
		memcpy(src->ca_file, d->ca_file, sizeof(src->ca_file));
	} else if (kind == DW_SRC_DNS) {
		src->nservers = d->nservers;
		memcpy(src->servers, d->servers, sizeof(src->servers));
	} else {
		const char *path = v + 4;
		if (path[0] != '/' || strlen(path) >= sizeof(src->cmd))
			return dw_conf_error(ctx, key, "'%s' must name a program by its absolute path", path);
		/* Whoever may change the program chooses what we publish and
		 * runs code as us: checked here and before each run. */
		char real[DW_SRC_PATH_MAX];
		struct dw_diag td;
		if (dw_trust_program(path, dw_sandbox_run_uid(cfg), real, sizeof(real), &td) != DW_OK)
			return dw_conf_error(ctx, key, "%s", td.msg);
		snprintf(src->cmd, sizeof(src->cmd), "%s", path);
	}
	return DW_OK;
}

int dw_source_conf_extra(const struct dw_config *cfg, struct dw_conf_ctx *ctx,
                         enum dw_family fam, struct dw_source *src)
{
	(void)cfg;
	const char *fname = dw_family_name(fam);
	char key[32];
	int ret;

	snprintf(key, sizeof(key), "%s-web", fname);
	if (dw_conf_get(ctx, key) != NULL && src->kind != DW_SRC_WEB)
		return dw_conf_error(ctx, key, "only with %s = web", fname);
	if ((ret = conf_list(ctx, key, fam, true, src)) != DW_OK)
		return ret;

	snprintf(key, sizeof(key), "%s-dns", fname);
	if (dw_conf_get(ctx, key) != NULL && src->kind != DW_SRC_DNS)
		return dw_conf_error(ctx, key, "only with %s = dns", fname);
	if ((ret = conf_list(ctx, key, fam, false, src)) != DW_OK)
		return ret;

	if (fam == DW_FAM_V6) {
		const char *v = dw_conf_get(ctx, "ipv6-suffix");
		if (v != NULL) {
			if (src->kind != DW_SRC_IFACE)
				return dw_conf_error(ctx, "ipv6-suffix", "only with ipv6 = iface:NAME");
			if (dw_ip_parse(v, DW_FAM_V6, &src->suffix) != DW_OK)
				return dw_conf_error(ctx, "ipv6-suffix",
				                     "'%s' is not an IPv6 host part like ::1234:5678:9abc:def0", v);
			static const uint8_t zero[16] = { 0 };
			if (memcmp(src->suffix.bytes, zero, 16) == 0)
				return dw_conf_error(ctx, "ipv6-suffix", "'%s' is all zeros", v);
			src->has_suffix = true;
		}
	}
	return DW_OK;
}
