/* Configuration: INI text -> sections -> validated dw_config.
 *
 * Parsing happens in two steps.  inih splits the text into sections of
 * key/value lines (we feed it line by line to know each line's number);
 * then each section is interpreted by the core ([dnsward], common provider
 * and record keys) and by its provider's callbacks.  Every key that nobody
 * read is reported, so a typo is an error rather than a silent no-op. */
#include "lib/config.h"
#include "lib/provider.h"
#include "lib/acme.h"
#include "lib/dnsauth.h"
#include "lib/sandbox.h"
#include "lib/source.h"
#include "lib/trust.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dw_build.h"

#define CONF_FILE_MAX (1024 * 1024)
#define CONF_SECTIONS_MAX 4096
#define CONF_KEYS_MAX 256

/* ---- Generic helpers --------------------------------------------------- */

static struct dw_kv *sec_find(struct dw_section *sec, const char *key)
{
	for (size_t i = 0; i < sec->nkv; i++) {
		if (strcmp(sec->kv[i].key, key) == 0)
			return &sec->kv[i];
	}
	return NULL;
}

static void sec_title(const struct dw_section *sec, char *buf, size_t cap)
{
	if (sec->name[0] != '\0')
		snprintf(buf, cap, "[%s %s]", sec->kind, sec->name);
	else
		snprintf(buf, cap, "[%s]", sec->kind);
}

const char *dw_conf_get(struct dw_conf_ctx *ctx, const char *key)
{
	struct dw_kv *kv = sec_find(ctx->sec, key);
	if (kv == NULL)
		return NULL;
	kv->used = true;
	return kv->value;
}

int dw_conf_line(const struct dw_conf_ctx *ctx, const char *key)
{
	if (key != NULL) {
		for (size_t i = 0; i < ctx->sec->nkv; i++) {
			if (strcmp(ctx->sec->kv[i].key, key) == 0)
				return ctx->sec->kv[i].line;
		}
	}
	return ctx->sec->line;
}

int dw_conf_error(struct dw_conf_ctx *ctx, const char *key, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);

	char title[300];
	sec_title(ctx->sec, title, sizeof(title));
	if (key != NULL)
		return dw_diag_set(ctx->diag, DW_ECONFIG, "%s:%d: %s %s: %s", ctx->file,
		                   dw_conf_line(ctx, key), title, key, what);
	return dw_diag_set(ctx->diag, DW_ECONFIG, "%s:%d: %s: %s", ctx->file,
	                   dw_conf_line(ctx, key), title, what);
}

int dw_conf_secret(struct dw_conf_ctx *ctx, const char *key, bool required,
                   enum dw_secret_flags flags, struct dw_secret *out)
{
	memset(out, 0, sizeof(*out));
	const char *path = dw_conf_get(ctx, key);
	if (path == NULL) {
		if (required)
			return dw_conf_error(ctx, key, "missing (a file holding the secret)");
		return DW_OK;
	}
	if (path[0] == '\0')
		return dw_conf_error(ctx, key, "empty path");
	struct dw_diag d;
	if (ctx->secrets & DW_CONF_SECRETS_SKIP) {
		if (ctx->unread != NULL)
			(*ctx->unread)++;
		return DW_OK;   /* a command that publishes nothing */
	}
	char real[4096];
	int rret = dw_secret_resolve(path, real, sizeof(real), &d);
	if (rret != DW_OK) {
		dw_conf_error(ctx, key, "%s", d.msg);
		return rret;
	}
	path = real;
	if ((ctx->secrets & DW_CONF_SECRETS_PEEK) && access(path, R_OK) != 0 && errno == EACCES) {
		/* Not ours to read (root-only secrets, "check" as a user): check
		 * what can be seen without reading. */
		bool seen = false;
		int ret = dw_secret_check(path, &seen, &d);
		if (ret != DW_OK) {
			dw_conf_error(ctx, key, "%s", d.msg);
			return ret;
		} else if (!seen) {
			log_notice("%s:%d: %s: %s; not checked", ctx->file, dw_conf_line(ctx, key), key,
			           d.msg);
		} else {
			log_notice("%s:%d: %s: %s is not readable by uid %u: its type and mode were "
			           "checked, its content was not", ctx->file, dw_conf_line(ctx, key), key,
			           path, (unsigned)getuid());
		}
		if (ctx->unread != NULL)
			(*ctx->unread)++;
		return DW_OK;
	}
	int ret = dw_secret_load(path, flags, out, &d);
	if (ret != DW_OK) {
		dw_conf_error(ctx, key, "%s", d.msg);
		return ret;
	}
	if ((ctx->secrets & DW_CONF_SECRETS_PEEK) && flags == DW_SECRET_LINE &&
	    out->len < DW_LOG_SECRET_SHORT)
		log_notice("%s:%d: %s: the secret holds only %zu bytes: easily guessed, and the "
		           "same text is masked wherever it appears in logs", ctx->file,
		           dw_conf_line(ctx, key), key, out->len);
	return DW_OK;
}

int dw_conf_uint(struct dw_conf_ctx *ctx, const char *key, uint32_t min,
                 uint32_t max, uint32_t def, uint32_t *out)
{
	const char *v = dw_conf_get(ctx, key);
	if (v == NULL) {
		*out = def;
		return DW_OK;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || n < min || n > max)
		return dw_conf_error(ctx, key, "'%s' is not a whole number from %u to %u",
		                     v, min, max);
	*out = (uint32_t)n;
	return DW_OK;
}

int dw_conf_bool(struct dw_conf_ctx *ctx, const char *key, bool def, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	const char *v = dw_conf_get(ctx, key);
	if (v == NULL) {
		*out = def;
		return DW_OK;
	}
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return DW_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return DW_OK;
		}
	}
	return dw_conf_error(ctx, key, "'%s' is not yes or no", v);
}

int dw_conf_strdup(struct dw_conf_ctx *ctx, const char *key, const char *def, char **out)
{
	const char *v = dw_conf_get(ctx, key);
	if (v == NULL)
		v = def;
	*out = NULL;
	if (v == NULL)
		return DW_OK;
	*out = strdup(v);
	return *out == NULL ? DW_ENOMEM : DW_OK;
}

int dw_fqdn_normalize(char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	if (len == 0 || len > 253)
		return DW_EINVAL;
	char *p = name;
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	size_t label = 0;
	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*p);
		*p = (char)c;
		if (c == '.') {
			if (label == 0)
				return DW_EINVAL;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_'))
			return DW_EINVAL;
		if (++label > 63)
			return DW_EINVAL;
	}
	return label == 0 ? DW_EINVAL : DW_OK;
}

/* ---- Step 1: text -> sections ------------------------------------------ */

struct parse_ctx {
	const char *file;
	const char *buf;
	size_t len, pos;
	int lineno;             /* line most recently handed to inih */
	int section_line;       /* line of the latest [header] */
	char *section;          /* its title, whole (inih's copy is cut at 49 bytes) */
	enum { LINE_OK, LINE_TOO_LONG, LINE_NO_ROOM } line_state;
	int line_room;          /* with LINE_NO_ROOM: the buffer inih offered */
	struct dw_section *secs;
	size_t nsecs, cap;
	struct dw_diag *diag;
	int err;                /* first error found by the handler */
};

/* inih reader: hands out one line at a time so we know line numbers, and
 * keeps each section header's title whole.
 *
 * Debian's inih makes its build options run-time variables: without
 * ini_use_stack it reads each line into a heap buffer of ini_initial_alloc
 * bytes (200 by default) and, without ini_allow_realloc, never grows it;
 * ini_max_line only sizes the stack buffer.  dw_config_parse_ext() asks
 * for a buffer of CONF_READ_BUF; the limit itself is checked here, so a
 * line over it is refused with its number, never cut or split. */
#define CONF_READ_BUF (DW_CONF_LINE_MAX + 2)   /* the line, its '\n', NUL */

static char *conf_reader(char *str, int num, void *stream)
{
	struct parse_ctx *pc = stream;
	if (pc->pos >= pc->len || pc->line_state != LINE_OK)
		return NULL;
	const char *start = pc->buf + pc->pos;
	const char *nl = memchr(start, '\n', pc->len - pc->pos);
	size_t text = nl != NULL ? (size_t)(nl - start) : pc->len - pc->pos;
	size_t n = nl != NULL ? text + 1 : text;
	pc->lineno++;
	if (text > DW_CONF_LINE_MAX) {
		pc->line_state = LINE_TOO_LONG;
		return NULL;
	}
	if (num < 0 || n + 1 > (size_t)num) {
		pc->line_state = LINE_NO_ROOM;
		pc->line_room = num;
		return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\0';
	pc->pos += n;

	/* The header as inih sees it: after a byte order mark on line 1 and
	 * leading white space, '[' then the title up to the first ']'.  A header
	 * inih refuses (no ']', or a comment before it) never reaches the
	 * handler, so the title kept here is only used for one it accepted. */
	const char *s = start, *end = start + text;
	if (pc->lineno == 1 && text >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s < end && *s == '[') {
		const char *close = memchr(s + 1, ']', (size_t)(end - s - 1));
		pc->section_line = pc->lineno;
		free(pc->section);
		pc->section = NULL;
		if (close != NULL) {
			/* Not strndup: the input holds no NUL after the title. */
			size_t tl = (size_t)(close - s - 1);
			pc->section = malloc(tl + 1);
			if (pc->section == NULL) {
				pc->err = DW_ENOMEM;
			} else {
				memcpy(pc->section, s + 1, tl);
				pc->section[tl] = '\0';
			}
		}
	}
	return str;
}

static int split_section(const char *title, char **kind, char **name)
{
	const char *sp = strpbrk(title, " \t");
	if (sp == NULL) {
		*kind = strdup(title);
		*name = strdup("");
	} else {
		*kind = strndup(title, (size_t)(sp - title));
		while (*sp == ' ' || *sp == '\t')
			sp++;
		*name = strdup(sp);
	}
	return (*kind == NULL || *name == NULL) ? DW_ENOMEM : DW_OK;
}

static int conf_handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *pc = user;
	if (pc->err != DW_OK)
		return 0;

	/* inih's section is a copy of the title cut to its fixed buffer: the
	 * reader's whole title must begin with it. */
	if (section[0] != '\0') {
		if (pc->section == NULL || strncmp(pc->section, section, strlen(section)) != 0) {
			pc->err = dw_diag_set(pc->diag, DW_ECONFIG,
			                      "%s:%d: cannot read the section header (line %d)",
			                      pc->file, pc->lineno, pc->section_line);
			return 0;
		}
		section = pc->section;
	}

	if (section[0] == '\0') {
		pc->err = dw_diag_set(pc->diag, DW_ECONFIG,
		                      "%s:%d: key '%s' before any [section]", pc->file,
		                      pc->lineno, key);
		return 0;
	}

	/* A new section starts when the header line changes (inih repeats the
	 * section name for each key; two headers with one name are distinct). */
	struct dw_section *sec = pc->nsecs > 0 ? &pc->secs[pc->nsecs - 1] : NULL;
	if (sec == NULL || sec->line != pc->section_line) {
		if (pc->nsecs == CONF_SECTIONS_MAX) {
			pc->err = dw_diag_set(pc->diag, DW_ECONFIG, "%s:%d: too many sections",
			                      pc->file, pc->lineno);
			return 0;
		}
		if (pc->nsecs == pc->cap) {
			size_t ncap = pc->cap ? pc->cap * 2 : 16;
			struct dw_section *ns = realloc(pc->secs, ncap * sizeof(*ns));
			if (ns == NULL) {
				pc->err = DW_ENOMEM;
				return 0;
			}
			pc->secs = ns;
			pc->cap = ncap;
		}
		sec = &pc->secs[pc->nsecs++];
		memset(sec, 0, sizeof(*sec));
		sec->line = pc->section_line;
		if (split_section(section, &sec->kind, &sec->name) != DW_OK) {
			pc->err = DW_ENOMEM;
			return 0;
		}
	}

	for (size_t i = 0; i < sec->nkv; i++) {
		if (strcmp(sec->kv[i].key, key) == 0) {
			pc->err = dw_diag_set(pc->diag, DW_ECONFIG,
			                      "%s:%d: [%s] %s: given twice (first on line %d)",
			                      pc->file, pc->lineno, section, key, sec->kv[i].line);
			return 0;
		}
	}
	if (sec->nkv == CONF_KEYS_MAX) {
		pc->err = dw_diag_set(pc->diag, DW_ECONFIG, "%s:%d: too many keys in [%s]",
		                      pc->file, pc->lineno, section);
		return 0;
	}
	struct dw_kv *nkv = realloc(sec->kv, (sec->nkv + 1) * sizeof(*nkv));
	if (nkv == NULL) {
		pc->err = DW_ENOMEM;
		return 0;
	}
	sec->kv = nkv;
	struct dw_kv *kv = &sec->kv[sec->nkv];
	kv->key = strdup(key);
	kv->value = strdup(value);
	kv->line = pc->lineno;
	kv->used = false;
	if (kv->key == NULL || kv->value == NULL) {
		free(kv->key);
		free(kv->value);
		pc->err = DW_ENOMEM;
		return 0;
	}
	sec->nkv++;
	return 1;
}

void dw_config_sections_free(struct dw_section *secs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < secs[i].nkv; k++) {
			free(secs[i].kv[k].key);
			free(secs[i].kv[k].value);
		}
		free(secs[i].kv);
		free(secs[i].kind);
		free(secs[i].name);
	}
	free(secs);
}

/* ---- Step 2: sections -> dw_config ------------------------------------- */

static int check_unused(struct dw_conf_ctx *ctx)
{
	for (size_t i = 0; i < ctx->sec->nkv; i++) {
		if (!ctx->sec->kv[i].used)
			return dw_conf_error(ctx, ctx->sec->kv[i].key, "unknown key");
	}
	return DW_OK;
}

/* Defaults of the daemon's [dnsward] keys (also without a [dnsward] section). */
static void daemon_defaults(struct dw_config *cfg)
{
	cfg->debounce_ms = 50;
	cfg->backoff_base_s = 5;
	cfg->backoff_max_s = 3600;
	cfg->max_interval_s = 86400;
	cfg->verify_interval_s = 14400;
	cfg->min_publish_gap_s = DW_MIN_PUBLISH_GAP_DEFAULT_S;
	cfg->control_socket[0] = '\0';
	cfg->publisher_idle_s = 10;
}

/* The daemon's [dnsward] keys: debounce-ms, backoff-base, backoff-max,
 * max-interval, verify-interval, min-publish-gap (each record's default),
 * control-socket, publisher-idle. */
static int conf_daemon(struct dw_config *cfg, struct dw_conf_ctx *ctx)
{
	int ret;
	if ((ret = dw_conf_uint(ctx, "debounce-ms", 0, 60000, 50, &cfg->debounce_ms)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "backoff-base", 1, 86400, 5, &cfg->backoff_base_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "backoff-max", 1, 604800, 3600, &cfg->backoff_max_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "max-interval", 0, 31536000, 86400, &cfg->max_interval_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "verify-interval", 0, 31536000, 14400,
	                        &cfg->verify_interval_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "min-publish-gap", 0, DW_MIN_PUBLISH_GAP_MAX_S,
	                        DW_MIN_PUBLISH_GAP_DEFAULT_S, &cfg->min_publish_gap_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "publisher-idle", 0, 3600, 10, &cfg->publisher_idle_s)) != DW_OK)
		return ret;
	if (cfg->backoff_max_s < cfg->backoff_base_s)
		return dw_conf_error(ctx, "backoff-max", "%u is less than backoff-base (%u)",
		                     cfg->backoff_max_s, cfg->backoff_base_s);
	const char *v = dw_conf_get(ctx, "control-socket");
	if (v != NULL) {
		size_t n = strlen(v);
		if (v[0] != '/' || n >= sizeof(cfg->control_socket))
			return dw_conf_error(ctx, "control-socket",
			                     "'%s' must be an absolute path shorter than %zu bytes", v,
			                     sizeof(cfg->control_socket));
		memcpy(cfg->control_socket, v, n + 1);
	}
	return DW_OK;
}

/* The [dnsward] keys of "dnsward acme" (docs/acme.md). */
static int conf_acme_servers(struct dw_conf_ctx *ctx, const char *key, char **out)
{
	const char *v = dw_conf_get(ctx, key);
	if (v == NULL)
		return DW_OK;
	struct dw_dns_server tmp[DW_DNSAUTH_SERVERS_MAX];
	size_t n = 0;
	struct dw_diag d;
	if (dw_dnsauth_list_parse(v, 53, 1000, tmp, DW_DNSAUTH_SERVERS_MAX, &n, &d) != DW_OK)
		return dw_conf_error(ctx, key, "%s", d.msg);
	free(*out);
	*out = strdup(v);
	return *out == NULL ? DW_ENOMEM : DW_OK;
}

static int conf_acme(struct dw_config *cfg, struct dw_conf_ctx *ctx)
{
	int ret;
	if ((ret = dw_conf_uint(ctx, "acme-propagation-timeout", 0, 3600, 120,
	                        &cfg->acme_timeout_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "acme-poll-interval", 1, 60, 2, &cfg->acme_poll_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "acme-ttl", 1, 86400, 60, &cfg->acme_ttl)) != DW_OK ||
	    (ret = conf_acme_servers(ctx, "acme-nameservers", &cfg->acme_nameservers)) != DW_OK ||
	    (ret = conf_acme_servers(ctx, "acme-resolvers", &cfg->acme_resolvers)) != DW_OK ||
	    (ret = dw_conf_bool(ctx, "cold-start-check", false, &cfg->cold_start_check)) != DW_OK)
		return ret;
	return DW_OK;
}

/* "acme-zones" of a provider section (any type that writes TXT records). */
static int conf_acme_zones(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	const char *v = dw_conf_get(ctx, "acme-zones");
	if (v == NULL)
		return DW_OK;
	if (!(p->ops->caps & DW_CAP_TXT) || p->ops->txt_add == NULL)
		return dw_conf_error(ctx, "acme-zones", "provider type '%s' cannot write TXT records",
		                     p->ops->type);
	struct dw_diag d;
	int ret = dw_acme_zones_parse(v, &p->acme_zones, &p->nacme_zones, &d);
	if (ret == DW_ENOMEM)
		return ret;
	if (ret != DW_OK)
		return dw_conf_error(ctx, "acme-zones", "%s", d.msg);
	return DW_OK;
}

/* True when some provider serves ACME challenges: then a configuration
 * without records is useful. */
static bool config_has_acme(const struct dw_config *cfg)
{
	for (size_t i = 0; i < cfg->nproviders; i++) {
		if (cfg->providers[i]->nacme_zones > 0)
			return true;
	}
	return false;
}

static int conf_global(struct dw_config *cfg, struct dw_conf_ctx *ctx)
{
	int dret = conf_daemon(cfg, ctx);
	if (dret != DW_OK)
		return dret;
	const char *v = dw_conf_get(ctx, "state-dir");
	if (v != NULL) {
		if (v[0] != '/')
			return dw_conf_error(ctx, "state-dir", "'%s' must be an absolute path", v);
		free(cfg->state_dir);
		cfg->state_dir = strdup(v);
		if (cfg->state_dir == NULL)
			return DW_ENOMEM;
	}
	v = dw_conf_get(ctx, "log-level");
	if (v != NULL) {
		if (dw_log_level_parse(v, &cfg->log_level) != DW_OK)
			return dw_conf_error(ctx, "log-level",
			                     "'%s' is not one of error, warning, notice, info, debug", v);
		cfg->has_log_level = true;
	}
	int aret = conf_acme(cfg, ctx);
	if (aret != DW_OK)
		return aret;
	int ret = dw_source_conf_global(cfg, ctx);
	if (ret == DW_OK)
		ret = dw_sandbox_conf(cfg, ctx);
	if (ret != DW_OK)
		return ret;
	return check_unused(ctx);
}

static struct dw_provider *find_provider(const struct dw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nproviders; i++) {
		if (strcmp(cfg->providers[i]->name, name) == 0)
			return cfg->providers[i];
	}
	return NULL;
}

static int conf_provider_keys(struct dw_provider *p, struct dw_conf_ctx *ctx);

static int conf_provider(struct dw_config *cfg, struct dw_conf_ctx *ctx)
{
	struct dw_section *sec = ctx->sec;
	if (sec->name[0] == '\0' || strpbrk(sec->name, " \t") != NULL)
		return dw_conf_error(ctx, NULL, "a provider section needs one name: [provider NAME]");
	if (find_provider(cfg, sec->name) != NULL)
		return dw_conf_error(ctx, NULL, "provider '%s' defined twice", sec->name);

	const char *type = dw_conf_get(ctx, "type");
	if (type == NULL)
		return dw_conf_error(ctx, "type", "missing (one of the provider types, see 'dnsward providers')");
	const struct dw_provider_ops *ops = dw_provider_find(type);
	if (ops == NULL)
		return dw_conf_error(ctx, "type", "unknown provider type '%s' (see 'dnsward providers')", type);

	struct dw_provider *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return DW_ENOMEM;
	p->ops = ops;
	p->line = sec->line;
	p->name = strdup(sec->name);
	struct dw_provider **np = realloc(cfg->providers, (cfg->nproviders + 1) * sizeof(*np));
	if (p->name == NULL || np == NULL) {
		free(p->name);
		free(p);
		if (np != NULL)
			cfg->providers = np;
		return DW_ENOMEM;
	}
	cfg->providers = np;
	cfg->providers[cfg->nproviders++] = p;   /* owned by cfg from here on */
	p->sec = sec;
	dw_secret_record(&p->secrets);
	int ret = conf_provider_keys(p, ctx);
	dw_secret_record(NULL);
	return ret;
}

/* The keys of a provider section once p exists (type read). */
static int conf_provider_keys(struct dw_provider *p, struct dw_conf_ctx *ctx)
{
	const struct dw_provider_ops *ops = p->ops;
	/* HTTP providers (those with a default base URL) all take the same
	 * endpoint and trust-store overrides: this is how tests reach emulators. */
	int ret;
	if (ops->default_base_url != NULL) {
		ret = dw_conf_strdup(ctx, "base-url", ops->default_base_url, &p->base_url);
		if (ret != DW_OK)
			return ret;
		size_t bl = strlen(p->base_url);
		if (strncmp(p->base_url, "https://", 8) != 0 || bl <= 8)
			return dw_conf_error(ctx, "base-url", "'%s' must be an https:// URL", p->base_url);
		if (p->base_url[bl - 1] == '/')
			p->base_url[bl - 1] = '\0';   /* providers append "/path" */
		if ((ret = dw_conf_strdup(ctx, "ca-file", NULL, &p->ca_file)) != DW_OK)
			return ret;
		if (p->ca_file != NULL && access(p->ca_file, R_OK) != 0)
			return dw_conf_error(ctx, "ca-file", "cannot read %s: %s", p->ca_file,
			                     strerror(errno));
	}
	uint32_t timeout;
	if ((ret = dw_conf_uint(ctx, "timeout", 1, 600, 20, &timeout)) != DW_OK)
		return ret;
	p->timeout_ms = (long)timeout * 1000;

	if ((ret = conf_acme_zones(p, ctx)) != DW_OK)
		return ret;
	if (ops->configure != NULL && (ret = ops->configure(p, ctx)) != DW_OK)
		return ret;
	return check_unused(ctx);
}

static int conf_policy(struct dw_conf_ctx *ctx, enum dw_family fam, struct dw_addr_policy *pol)
{
	char key[32];
	const char *fname = dw_family_name(fam);

	snprintf(key, sizeof(key), "%s-accept", fname);
	const char *v = dw_conf_get(ctx, key);
	if (v != NULL && dw_accept_parse(v, &pol->accept) != DW_OK)
		return dw_conf_error(ctx, key, "'%s' is not a comma-separated list of private, ula, "
		                     "temporary, documentation, link-local, loopback", v);

	snprintf(key, sizeof(key), "%s-match", fname);
	v = dw_conf_get(ctx, key);
	if (v != NULL) {
		if (dw_prefix_parse(v, fam, &pol->match) != DW_OK)
			return dw_conf_error(ctx, key, "'%s' is not an %s prefix like %s", v, fname,
			                     fam == DW_FAM_V4 ? "198.51.100.0/24" : "2001:db8::/48");
		pol->has_match = true;
	}

	snprintf(key, sizeof(key), "%s-prefer", fname);
	v = dw_conf_get(ctx, key);
	if (v != NULL) {
		if (strcmp(v, "stable") == 0)
			pol->prefer = DW_PREFER_STABLE;
		else if (strcmp(v, "lowest") == 0)
			pol->prefer = DW_PREFER_LOWEST;
		else if (strcmp(v, "highest") == 0)
			pol->prefer = DW_PREFER_HIGHEST;
		else
			return dw_conf_error(ctx, key, "'%s' is not stable, lowest or highest", v);
	}
	return DW_OK;
}

static int conf_source(const struct dw_config *cfg, struct dw_conf_ctx *ctx,
                       enum dw_family fam, uint32_t ttl, struct dw_source *src)
{
	const char *key = dw_family_name(fam);   /* "ipv4" / "ipv6" */
	const char *v = dw_conf_get(ctx, key);
	memset(src, 0, sizeof(*src));

	char ttlkey[16];
	snprintf(ttlkey, sizeof(ttlkey), "%s-ttl", key);
	int ret = dw_conf_uint(ctx, ttlkey, 1, 604800, ttl, &src->ttl);
	src->ttl_set = dw_conf_get(ctx, ttlkey) != NULL || dw_conf_get(ctx, "ttl") != NULL;
	if (ret != DW_OK)
		return ret;
	if ((ret = conf_policy(ctx, fam, &src->policy)) != DW_OK)
		return ret;

	if (v == NULL || strcmp(v, "off") == 0) {
		src->kind = DW_SRC_OFF;
	} else if (strncmp(v, "iface:", 6) == 0) {
		const char *name = v + 6;
		size_t n = strlen(name);
		if (n == 0 || n >= sizeof(src->ifname) || strpbrk(name, " /:\t") != NULL)
			return dw_conf_error(ctx, key, "'%s' is not a valid interface name", name);
		memcpy(src->ifname, name, n + 1);
		src->kind = DW_SRC_IFACE;
	} else if (strncmp(v, "static:", 7) == 0) {
		if (dw_ip_parse(v + 7, fam, &src->addr) != DW_OK)
			return dw_conf_error(ctx, key, "'%s' is not an %s address", v + 7, key);
		src->kind = DW_SRC_STATIC;
	} else if ((ret = dw_source_conf_record(cfg, ctx, fam, v, src)) != DW_ENOTFOUND) {
		if (ret != DW_OK)
			return ret;
	} else {
		return dw_conf_error(ctx, key, "'%s' is not iface:NAME, static:ADDRESS, web, dns, "
		                     "cmd:PATH or off", v);
	}
	return dw_source_conf_extra(cfg, ctx, fam, src);
}

static int conf_record_keys(struct dw_config *cfg, struct dw_record *r, struct dw_conf_ctx *ctx,
                            bool sources_only);

static int conf_record(struct dw_config *cfg, struct dw_conf_ctx *ctx, bool sources_only)
{
	struct dw_section *sec = ctx->sec;
	char *fqdn = strdup(sec->name);
	if (fqdn == NULL)
		return DW_ENOMEM;
	if (dw_fqdn_normalize(fqdn) != DW_OK) {
		free(fqdn);
		return dw_conf_error(ctx, NULL, "'%s' is not a valid domain name", sec->name);
	}
	if (dw_config_find_record(cfg, fqdn) != NULL) {
		free(fqdn);
		return dw_conf_error(ctx, NULL, "record defined twice");
	}

	struct dw_record *r = calloc(1, sizeof(*r));
	struct dw_record **nr = realloc(cfg->records, (cfg->nrecords + 1) * sizeof(*nr));
	if (r == NULL || nr == NULL) {
		free(fqdn);
		free(r);
		if (nr != NULL)
			cfg->records = nr;
		return DW_ENOMEM;
	}
	cfg->records = nr;
	r->fqdn = fqdn;
	r->line = sec->line;
	r->sec = sec;
	cfg->records[cfg->nrecords++] = r;   /* owned by cfg from here on */
	dw_secret_record(&r->secrets);
	int ret = conf_record_keys(cfg, r, ctx, sources_only);
	dw_secret_record(NULL);
	return ret;
}

/* The keys of a record section once r exists (name checked). */
static int conf_record_keys(struct dw_config *cfg, struct dw_record *r, struct dw_conf_ctx *ctx,
                            bool sources_only)
{
	if (sources_only) {
		(void)dw_conf_get(ctx, "provider");   /* not looked up: r->provider stays NULL */
		uint32_t ttl;
		int ret = dw_conf_uint(ctx, "ttl", 1, 604800, 300, &ttl);
		for (int f = 0; f < DW_FAM_COUNT && ret == DW_OK; f++)
			ret = conf_source(cfg, ctx, (enum dw_family)f, ttl, &r->src[f]);
		return ret;
	}
	const char *pname = dw_conf_get(ctx, "provider");
	if (pname == NULL)
		return dw_conf_error(ctx, "provider", "missing (name of a [provider NAME] section)");
	r->provider = find_provider(cfg, pname);
	if (r->provider == NULL)
		return dw_conf_error(ctx, "provider", "no [provider %s] section is defined above", pname);

	uint32_t ttl;
	int ret = dw_conf_uint(ctx, "ttl", 1, 604800, 300, &ttl);
	if (ret != DW_OK)
		return ret;
	static const unsigned fam_cap[DW_FAM_COUNT] = { DW_CAP_A, DW_CAP_AAAA };
	bool any = false;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		if ((ret = conf_source(cfg, ctx, (enum dw_family)f, ttl, &r->src[f])) != DW_OK)
			return ret;
		if (r->src[f].kind == DW_SRC_OFF)
			continue;
		any = true;
		if (!(r->provider->ops->caps & fam_cap[f]))
			return dw_conf_error(ctx, dw_family_name((enum dw_family)f),
			                     "provider type '%s' cannot publish %s records",
			                     r->provider->ops->type, dw_family_rrtype((enum dw_family)f));
	}
	if (!any)
		return dw_conf_error(ctx, NULL, "neither ipv4 nor ipv6 is set: nothing to publish");

	const char *hook = dw_conf_get(ctx, "on-change");
	if (hook != NULL) {
		size_t hn = strlen(hook);
		if (hook[0] != '/' || hn >= sizeof(r->on_change))
			return dw_conf_error(ctx, "on-change",
			                     "'%s' must be the absolute path of a program (run without a shell)",
			                     hook);
		/* Checked again before each run (lib/trust.h). */
		char real[sizeof(r->on_change)];
		struct dw_diag td;
		if (dw_trust_program(hook, dw_sandbox_run_uid(cfg), real, sizeof(real), &td) != DW_OK)
			return dw_conf_error(ctx, "on-change", "%s", td.msg);
		memcpy(r->on_change, hook, hn + 1);
	}

	if ((ret = dw_conf_uint(ctx, "min-publish-gap", 0, DW_MIN_PUBLISH_GAP_MAX_S,
	                        cfg->min_publish_gap_s, &r->min_publish_gap_s)) != DW_OK)
		return ret;

	const struct dw_provider_ops *ops = r->provider->ops;
	if (ops->configure_record != NULL && (ret = ops->configure_record(r->provider, r, ctx)) != DW_OK)
		return ret;
	return check_unused(ctx);
}

struct dw_record *dw_config_find_record(const struct dw_config *cfg, const char *fqdn)
{
	char name[256];
	int n = snprintf(name, sizeof(name), "%s", fqdn);
	if (n < 0 || (size_t)n >= sizeof(name) || dw_fqdn_normalize(name) != DW_OK)
		return NULL;
	for (size_t i = 0; i < cfg->nrecords; i++) {
		if (strcmp(cfg->records[i]->fqdn, name) == 0)
			return cfg->records[i];
	}
	return NULL;
}

int dw_config_parse(const char *file, const char *text, size_t len, unsigned flags,
                    struct dw_config **out, struct dw_diag *diag)
{
	return dw_config_parse_ext(file, text, len, flags, NULL, out, diag);
}

int dw_config_parse_ext(const char *file, const char *text, size_t len, unsigned flags,
                        const struct dw_config_ext *ext, struct dw_config **out,
                        struct dw_diag *diag)
{
	*out = NULL;
	struct parse_ctx pc = { .file = file, .buf = text, .len = len, .diag = diag };
	int ret = DW_OK;
	if (memchr(text, '\0', len) != NULL) {
		ret = dw_diag_set(diag, DW_ECONFIG, "%s: contains NUL bytes (not a text file)", file);
		goto out;
	}

	/* Continuation lines would blur line numbers and surprise users. */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CONF_READ_BUF;
	ini_max_line = CONF_READ_BUF;
	int r = ini_parse_stream(conf_reader, &pc, conf_handler, &pc);
	free(pc.section);
	if (pc.err != DW_OK) {
		ret = pc.err == DW_ENOMEM ? dw_diag_set(diag, DW_ENOMEM, "out of memory") : pc.err;
		goto out;
	}
	if (pc.line_state == LINE_TOO_LONG) {
		ret = dw_diag_set(diag, DW_ECONFIG, "%s:%d: line longer than %d bytes", file,
		                  pc.lineno, DW_CONF_LINE_MAX);
		goto out;
	}
	if (pc.line_state == LINE_NO_ROOM) {
		/* An inih built differently (not the settings asked for above). */
		ret = dw_diag_set(diag, DW_ECONFIG,
		                  "%s:%d: line does not fit the INI parser's buffer of %d bytes "
		                  "(libinih ignores ini_initial_alloc)", file, pc.lineno,
		                  pc.line_room);
		goto out;
	}
	if (r != 0) {
		ret = dw_diag_set(diag, DW_ECONFIG,
		                  "%s:%d: syntax error (expected [section], key = value or a comment)",
		                  file, r > 0 ? r : pc.lineno);
		goto out;
	}
	return dw_config_from_sections(file, pc.secs, pc.nsecs, flags, ext, out, diag);
out:
	dw_config_sections_free(pc.secs, pc.nsecs);
	return ret;
}

int dw_config_from_sections(const char *file, struct dw_section *secs, size_t nsecs,
                            unsigned flags, const struct dw_config_ext *ext,
                            struct dw_config **out, struct dw_diag *diag)
{
	bool check_only = (flags & DW_CONF_OFFLINE) != 0;
	unsigned secrets = flags & (DW_CONF_SECRETS_PEEK | DW_CONF_SECRETS_SKIP);
	*out = NULL;
	struct dw_config *cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		dw_config_sections_free(secs, nsecs);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	/* Owned by cfg from here on: providers and records point into them. */
	cfg->secs = secs;
	cfg->nsecs = nsecs;
	cfg->path = strdup(file);
	cfg->log_level = DW_LOG_NOTICE;
	cfg->acme_timeout_s = 120;
	cfg->acme_poll_s = 2;
	cfg->acme_ttl = 60;
	daemon_defaults(cfg);
	dw_source_defaults(cfg);
	cfg->seccomp = true;
	const char *sd = getenv("STATE_DIRECTORY");   /* systemd StateDirectory= */
	cfg->state_dir = strdup(sd != NULL && sd[0] == '/' ? sd : DW_DEFAULT_STATEDIR);
	int ret = DW_OK;
	if (cfg->path == NULL || cfg->state_dir == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	/* [dnsward] first, then providers (records refer to them), then records,
	 * each group in file order. */
	static const char *const order[] = { "dnsward", "provider", "record" };
	for (size_t i = 0; i < nsecs; i++) {
		bool known = false;
		for (size_t o = 0; o < 3; o++)
			known |= strcmp(secs[i].kind, order[o]) == 0;
		if (ext != NULL && ext->kind != NULL && strcmp(secs[i].kind, ext->kind) == 0)
			known = true;
		if (!known) {
			ret = dw_diag_set(diag, DW_ECONFIG,
			                  "%s:%d: unknown section [%s%s%s] (expected [dnsward], "
			                  "[provider NAME] or [record FQDN])", file, secs[i].line,
			                  secs[i].kind, secs[i].name[0] ? " " : "", secs[i].name);
			goto out;
		}
	}
	/* A program's own section kind (ext) comes right after [dnsward]. */
	for (size_t i = 0; ext != NULL && ext->kind != NULL && i < nsecs; i++) {
		if (strcmp(secs[i].kind, ext->kind) != 0)
			continue;
		struct dw_conf_ctx ctx = { .file = file, .sec = &secs[i], .diag = diag,
		                           .check_only = check_only, .secrets = secrets,
		                           .unread = &cfg->secrets_unread };
		ret = ext->section(ext->arg, &ctx);
		if (ret == DW_OK)
			ret = check_unused(&ctx);
		if (ret == DW_ENOMEM)
			dw_diag_set(diag, ret, "out of memory");
		if (ret != DW_OK)
			goto out;
	}
	for (size_t o = 0; o < 3; o++) {
		for (size_t i = 0; i < nsecs; i++) {
			if (strcmp(secs[i].kind, order[o]) != 0)
				continue;
			struct dw_conf_ctx ctx = { .file = file, .sec = &secs[i], .diag = diag,
			                           .check_only = check_only, .secrets = secrets,
			                           .unread = &cfg->secrets_unread };
			if (o == 0) {
				if (secs[i].name[0] != '\0') {
					ret = dw_conf_error(&ctx, NULL, "[dnsward] takes no name");
					goto out;
				}
				ret = conf_global(cfg, &ctx);
			} else if (o == 1) {
				ret = conf_provider(cfg, &ctx);
			} else {
				ret = conf_record(cfg, &ctx, ext != NULL && ext->sources_only);
			}
			if (ret == DW_ENOMEM)
				dw_diag_set(diag, ret, "out of memory");
			if (ret != DW_OK)
				goto out;
		}
	}
	if (cfg->nrecords == 0 && !config_has_acme(cfg) && !(ext != NULL && ext->allow_no_records)) {
		ret = dw_diag_set(diag, DW_ECONFIG, "%s: no [record FQDN] section: nothing to do", file);
		goto out;
	}
out:
	if (ret != DW_OK) {
		dw_config_free(cfg);
		return ret;
	}
	*out = cfg;
	return DW_OK;
}

int dw_config_load(const char *path, unsigned flags, struct dw_config **out,
                   struct dw_diag *diag)
{
	return dw_config_load_ext(path, flags, NULL, out, diag);
}

int dw_config_load_ext(const char *path, unsigned flags, const struct dw_config_ext *ext,
                       struct dw_config **out, struct dw_diag *diag)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return dw_diag_set(diag, DW_ECONFIG, "cannot open configuration %s: %s", path,
		                   strerror(errno));
	char *buf = malloc(CONF_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	size_t len = fread(buf, 1, CONF_FILE_MAX + 1, f);
	int rerr = ferror(f);
	fclose(f);
	int ret;
	if (rerr)
		ret = dw_diag_set(diag, DW_EIO, "cannot read configuration %s", path);
	else if (len > CONF_FILE_MAX)
		ret = dw_diag_set(diag, DW_ECONFIG, "configuration %s is larger than %d bytes",
		                  path, CONF_FILE_MAX);
	else
		ret = dw_config_parse_ext(path, buf, len, flags, ext, out, diag);
	free(buf);
	return ret;
}

void dw_config_free(struct dw_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nrecords; i++) {
		struct dw_record *r = cfg->records[i];
		if (r->provider != NULL && r->provider->ops->free_record != NULL)
			r->provider->ops->free_record(r);
		dw_secret_set_free(&r->secrets);
		free(r->fqdn);
		free(r);
	}
	free(cfg->records);
	for (size_t i = 0; i < cfg->nproviders; i++) {
		struct dw_provider *p = cfg->providers[i];
		if (p->ops->free != NULL)
			p->ops->free(p);
		free(p->name);
		free(p->base_url);
		free(p->ca_file);
		dw_acme_zones_free(p->acme_zones);
		dw_secret_set_free(&p->secrets);
		free(p);
	}
	free(cfg->providers);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->acme_nameservers);
	free(cfg->acme_resolvers);
	dw_config_sections_free(cfg->secs, cfg->nsecs);
	free(cfg);
}
