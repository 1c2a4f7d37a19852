/* inadyn.conf importer (see inadyn.h): a bounded libConfuse-style lexer, a
 * tree of options and sections, then translation through translate.c. */
#include "migrate/inadyn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrate/translate.h"

#define IN_MAX_OPTS 48     /* options per section */
#define IN_MAX_SECTIONS 64
#define IN_MAX_LIST 32     /* values of one list option */

struct in_opt {
	char *key;
	char *vals[IN_MAX_LIST];
	size_t nvals;
	bool list;
	int line;
};

struct in_section {
	char *kind;      /* "provider", "custom", ... */
	char *title;
	int line;
	struct in_opt opts[IN_MAX_OPTS];
	size_t nopts;
};

struct in_file {
	struct in_section top;                 /* global options */
	struct in_section *secs[IN_MAX_SECTIONS];   /* allocated as they appear */
	size_t nsecs;
};

/* ---- lexer ---------------------------------------------------------------- */

enum tok { T_END, T_WORD, T_STR, T_LBRACE, T_RBRACE, T_EQ, T_PLUSEQ, T_COMMA, T_LPAREN, T_RPAREN };

struct lex {
	const char *p, *end;
	int line;
	enum tok tok;
	char text[MG_MAX_VALUE + 1];
	int tok_line;
	struct dw_diag *diag;
	const char *file;
};

static bool word_char(char ch)
{
	return ch != '\0' && !isspace((unsigned char)ch) && strchr("{}=,+()\"'#", ch) == NULL;
}

/* Next token into lx->tok (and lx->text).  Returns 0 or DW_EPARSE/DW_ETOOBIG. */
static int next(struct lex *lx)
{
	for (;;) {
		while (lx->p < lx->end && isspace((unsigned char)*lx->p)) {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		}
		if (lx->p >= lx->end) {
			lx->tok = T_END;
			lx->tok_line = lx->line;
			return DW_OK;
		}
		if (*lx->p == '#' || (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			int start = lx->line;
			lx->p += 2;
			while (lx->p + 1 < lx->end && !(lx->p[0] == '*' && lx->p[1] == '/')) {
				if (*lx->p == '\n')
					lx->line++;
				lx->p++;
			}
			if (lx->p + 1 >= lx->end)
				return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: comment never closed",
				                   lx->file, start);
			lx->p += 2;
			continue;
		}
		break;
	}
	lx->tok_line = lx->line;
	char ch = *lx->p;
	size_t n = 0;
	switch (ch) {
	case '{': lx->tok = T_LBRACE; lx->p++; return DW_OK;
	case '}': lx->tok = T_RBRACE; lx->p++; return DW_OK;
	case '=': lx->tok = T_EQ; lx->p++; return DW_OK;
	case ',': lx->tok = T_COMMA; lx->p++; return DW_OK;
	case '(': lx->tok = T_LPAREN; lx->p++; return DW_OK;
	case ')': lx->tok = T_RPAREN; lx->p++; return DW_OK;
	case '+':
		if (lx->p + 1 < lx->end && lx->p[1] == '=') {
			lx->tok = T_PLUSEQ;
			lx->p += 2;
			return DW_OK;
		}
		break;
	case '"':
	case '\'':
		lx->p++;
		while (lx->p < lx->end && *lx->p != ch) {
			char c = *lx->p++;
			if (c == '\n')
				lx->line++;
			if (ch == '"' && c == '\\' && lx->p < lx->end) {
				c = *lx->p++;
				switch (c) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				default: break;   /* \" \\ and the rest: the character itself */
				}
			}
			if (n == MG_MAX_VALUE)
				return dw_diag_set(lx->diag, DW_ETOOBIG, "%s:%d: string longer than %d bytes",
				                   lx->file, lx->tok_line, MG_MAX_VALUE);
			lx->text[n++] = c;
		}
		if (lx->p >= lx->end)
			return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: string never closed (%c)",
			                   lx->file, lx->tok_line, ch);
		lx->p++;
		lx->text[n] = '\0';
		lx->tok = T_STR;
		return DW_OK;
	default:
		break;
	}
	if (!word_char(ch))
		return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: unexpected character 0x%02x",
		                   lx->file, lx->tok_line, (unsigned char)ch);
	while (lx->p < lx->end && word_char(*lx->p)) {
		if (n == MG_MAX_VALUE)
			return dw_diag_set(lx->diag, DW_ETOOBIG, "%s:%d: word longer than %d bytes",
			                   lx->file, lx->tok_line, MG_MAX_VALUE);
		lx->text[n++] = *lx->p++;
	}
	lx->text[n] = '\0';
	lx->tok = T_WORD;
	return DW_OK;
}

/* ---- parser --------------------------------------------------------------- */

static void opt_free(struct in_opt *o)
{
	for (size_t i = 0; i < o->nvals; i++) {
		explicit_bzero(o->vals[i], strlen(o->vals[i]));
		free(o->vals[i]);
	}
	free(o->key);
	memset(o, 0, sizeof(*o));
}

static void section_free(struct in_section *s)
{
	for (size_t i = 0; i < s->nopts; i++)
		opt_free(&s->opts[i]);
	free(s->kind);
	free(s->title);
	memset(s, 0, sizeof(*s));
}

static const struct in_opt *opt_get(const struct in_section *s, const char *key)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i].key, key) == 0)
			return &s->opts[i];
	return NULL;
}

static struct in_opt *opt_find(struct in_section *s, const char *key)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i].key, key) == 0)
			return &s->opts[i];
	return NULL;
}

static const char *opt_str(const struct in_section *s, const char *key)
{
	const struct in_opt *o = opt_get(s, key);
	return o != NULL && o->nvals > 0 ? o->vals[0] : NULL;
}

static int parse_value(struct lex *lx, struct in_opt *o, bool append)
{
	int ret;
	if (!append) {
		for (size_t i = 0; i < o->nvals; i++) {
			explicit_bzero(o->vals[i], strlen(o->vals[i]));
			free(o->vals[i]);
		}
		o->nvals = 0;
	}
	if ((ret = next(lx)) != DW_OK)
		return ret;
	bool braces = lx->tok == T_LBRACE;
	o->list = o->list || braces;
	if (braces && (ret = next(lx)) != DW_OK)
		return ret;
	for (;;) {
		if (braces && lx->tok == T_RBRACE)
			break;
		if (lx->tok != T_WORD && lx->tok != T_STR)
			return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: '%s' needs a value", lx->file,
			                   lx->tok_line, o->key);
		if (o->nvals == IN_MAX_LIST)
			return dw_diag_set(lx->diag, DW_ETOOBIG, "%s:%d: more than %d values for '%s'",
			                   lx->file, lx->tok_line, IN_MAX_LIST, o->key);
		if ((o->vals[o->nvals] = strdup(lx->text)) == NULL)
			return DW_ENOMEM;
		o->nvals++;
		explicit_bzero(lx->text, sizeof(lx->text));
		if (!braces)
			return next(lx);
		if ((ret = next(lx)) != DW_OK)
			return ret;
		if (lx->tok == T_COMMA) {
			if ((ret = next(lx)) != DW_OK)
				return ret;
			continue;
		}
		if (lx->tok != T_RBRACE)
			return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: expected ',' or '}' in the list of "
			                   "'%s'", lx->file, lx->tok_line, o->key);
	}
	return next(lx);
}

/* Items until '}' (in a section) or the end (top level). */
static int parse_items(struct lex *lx, struct in_file *f, struct in_section *s, bool top,
                       struct mg_conf *c)
{
	int ret;
	for (;;) {
		if (lx->tok == T_END) {
			if (!top)
				return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: section '%s' is never closed",
				                   lx->file, s->line, s->kind);
			return DW_OK;
		}
		if (lx->tok == T_RBRACE) {
			if (top)
				return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: '}' without a section", lx->file,
				                   lx->tok_line);
			return next(lx);
		}
		if (lx->tok != T_WORD)
			return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: expected a setting name", lx->file,
			                   lx->tok_line);
		char key[128];
		int line = lx->tok_line;
		if (strlen(lx->text) >= sizeof(key))
			return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: setting name longer than %zu bytes",
			                   lx->file, line, sizeof(key) - 1);
		memcpy(key, lx->text, strlen(lx->text) + 1);
		if ((ret = next(lx)) != DW_OK)
			return ret;
		if (lx->tok == T_EQ || lx->tok == T_PLUSEQ) {
			bool append = lx->tok == T_PLUSEQ;
			struct in_opt *o = opt_find(s, key);
			if (o == NULL) {
				if (s->nopts == IN_MAX_OPTS)
					return dw_diag_set(lx->diag, DW_ETOOBIG, "%s:%d: more than %d settings in "
					                   "one section", lx->file, line, IN_MAX_OPTS);
				o = &s->opts[s->nopts++];
				if ((o->key = strdup(key)) == NULL)
					return DW_ENOMEM;
			}
			o->line = line;
			if ((ret = parse_value(lx, o, append)) != DW_OK)
				return ret;
			continue;
		}
		if (lx->tok == T_LPAREN) {
			/* A function such as include("file"): not followed. */
			int depth = 1;
			while (depth > 0) {
				if ((ret = next(lx)) != DW_OK)
					return ret;
				if (lx->tok == T_END)
					return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: '(' never closed", lx->file, line);
				if (lx->tok == T_LPAREN)
					depth++;
				if (lx->tok == T_RPAREN)
					depth--;
			}
			if ((ret = mg_note(c, line, "%s(...) is not followed: import the included file "
			                   "separately", key)) != DW_OK)
				return ret;
			if ((ret = next(lx)) != DW_OK)
				return ret;
			continue;
		}
		/* A section: KIND [TITLE] { ... } at the top level. */
		char title[MG_MAX_VALUE + 1] = "";
		if (lx->tok == T_WORD || lx->tok == T_STR) {
			snprintf(title, sizeof(title), "%s", lx->text);
			if ((ret = next(lx)) != DW_OK)
				return ret;
		}
		if (lx->tok != T_LBRACE)
			return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: expected '=' or '{' after '%s'",
			                   lx->file, line, key);
		if (!top)
			return dw_diag_set(lx->diag, DW_EPARSE, "%s:%d: section '%s' inside another section",
			                   lx->file, line, key);
		if (f->nsecs == IN_MAX_SECTIONS)
			return dw_diag_set(lx->diag, DW_ETOOBIG, "%s:%d: more than %d sections", lx->file,
			                   line, IN_MAX_SECTIONS);
		struct in_section *sub = calloc(1, sizeof(*sub));
		if (sub == NULL)
			return DW_ENOMEM;
		f->secs[f->nsecs++] = sub;
		sub->line = line;
		if ((sub->kind = strdup(key)) == NULL || (sub->title = strdup(title)) == NULL)
			return DW_ENOMEM;
		if ((ret = next(lx)) != DW_OK || (ret = parse_items(lx, f, sub, false, c)) != DW_OK)
			return ret;
	}
}

/* ---- translation ---------------------------------------------------------- */

/* inadyn's provider names (after "default@"/"ipv6@" and ":N"). */
static const struct {
	const char *name;
	struct mg_service svc;
} names[] = {
	{ "dyndns.org", { "dyndns2", "dyn" } },
	{ "dyn.com", { "dyndns2", "dyn" } },
	{ "dyn", { "dyndns2", "dyn" } },
	{ "no-ip.com", { "dyndns2", "noip" } },
	{ "noip.com", { "dyndns2", "noip" } },
	{ "dynu.com", { "dyndns2", "dynu" } },
	{ "ovh.com", { "dyndns2", "ovh" } },
	{ "strato.com", { "dyndns2", "strato" } },
	{ "strato.de", { "dyndns2", "strato" } },
	{ "dnsomatic.com", { "dyndns2", "dnsomatic" } },
	{ "spdyn.de", { "dyndns2", "spdyn" } },
	{ "selfhost.de", { "dyndns2", "selfhost" } },
	{ "changeip.com", { "dyndns2", "changeip" } },
	{ "3322.org", { "dyndns2", "3322" } },
	{ "loopia.com", { "dyndns2", "loopia" } },
	{ "loopia", { "dyndns2", "loopia" } },
	{ "nsupdate.info", { "dyndns2", "nsupdate" } },
	{ "ipv64.net", { "dyndns2", "ipv64" } },
	{ "infomaniak.com", { "dyndns2", "infomaniak" } },
	{ "dns.he.net", { "he", NULL } },
	{ "freedns.afraid.org", { "freedns", NULL } },
	{ "freedns", { "freedns", NULL } },
	{ "duckdns.org", { "duckdns", NULL } },
	{ "freemyip.com", { "freemyip", NULL } },
	{ "cloudflare.com", { "cloudflare", NULL } },
	{ "desec.io", { "desec", NULL } },
	{ "dedyn.io", { "desec", NULL } },
};

/* Global settings translated below or per section. */
static const char *const global_quiet[] = { "period", "allow-ipv6", "iface", "ca-trust-file" };
static const struct {
	const char *key;
	const char *why;
} global_why[] = {
	{ "forced-update", "dnsward re-publishes an unchanged record after max-interval (default 1 day)" },
	{ "user-agent", "dnsward sends its own User-Agent" },
	{ "verify-address", "dnsward's address policy always rejects private, link-local and reserved addresses unless a record accepts them" },
	{ "fake-address", "not needed: dnsward never sends an address it did not choose" },
	{ "cache-dir", "dnsward keeps what it published in state-dir (state.json)" },
	{ "broken-rtc", "dnsward does not depend on the clock for its state" },
	{ "secure-ssl", "dnsward always verifies certificates and host names" },
	{ "startup-delay", "dnsward waits for the network through its unit (After=network-online.target)" },
	{ "ca-trust-dir", "dnsward takes a CA file (ca-file), not a directory" },
};

static const char *const sec_handled[] = {
	"username", "password", "hostname", "ssl", "checkip-server", "checkip-path", "checkip-ssl",
	"checkip-command", "iface", "ttl", "proxied", "ddns-server", "ddns-path", "ddns-response",
	"append-myip",
};

static bool truthy(const char *v)
{
	return v != NULL && (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	                     strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0);
}

static bool falsy(const char *v)
{
	return v != NULL && (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	                     strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0);
}

/* inadyn's ddns-path -> a custom URL template.  Returns 0 (out filled,
 * *uses_pw set when %p occurs) or 1 when a specifier has no counterpart
 * (noted). */
static int path_template(struct mg_conf *c, int line, const char *path, const char *user,
                         char *out, size_t size, bool *uses_pw, bool append_ip)
{
	size_t n = strlen(out);
	*uses_pw = false;
	for (const char *p = path; *p != '\0'; p++) {
		const char *add = NULL;
		char lit[2] = { *p, '\0' };
		if (*p == '%') {
			switch (p[1]) {
			case 'h': add = "{fqdn}"; break;
			case 'i': add = "{ip}"; break;
			case 'p': add = "{secret:password}"; *uses_pw = true; break;
			case 'u': add = NULL; break;
			case '%': add = "%"; break;
			default:
				mg_note(c, line, "ddns-path: '%%%c' has no dnsward placeholder: provider "
				        "skipped", p[1] != '\0' ? p[1] : '?');
				return 1;
			}
			p++;
			if (p[0] == 'u') {
				/* the user name, literally (braces doubled) */
				for (const char *u = user != NULL ? user : ""; *u != '\0'; u++) {
					if (n + 3 >= size)
						return 1;
					out[n++] = *u;
					if (*u == '{')
						out[n++] = '{';
				}
				continue;
			}
		} else if (*p == '{') {
			add = "{{";
		} else {
			add = lit;
		}
		size_t al = strlen(add);
		if (n + al + 1 >= size)
			return 1;
		memcpy(out + n, add, al);
		n += al;
	}
	if (append_ip) {
		if (n + 5 >= size)
			return 1;
		memcpy(out + n, "{ip}", 4);
		n += 4;
	}
	out[n] = '\0';
	return 0;
}

/* Is this custom ddns-path a dyndns2 request (hostname=%h and myip=%i, no
 * other parameter, no %u/%p)?  Then *path_out gets the path part. */
static bool dyndns2_path(const char *path, char *path_out, size_t size)
{
	const char *q = strchr(path, '?');
	if (q == NULL || (size_t)(q - path) >= size)
		return false;
	snprintf(path_out, size, "%.*s", (int)(q - path), path);
	bool host = false, ip = false;
	for (const char *p = q + 1; *p != '\0';) {
		size_t len = strcspn(p, "&");
		if (len == 11 && strncmp(p, "hostname=%h", 11) == 0)
			host = true;
		else if (len == 7 && strncmp(p, "myip=%i", 7) == 0)
			ip = true;
		else
			return false;
		p += len;
		if (*p == '&')
			p++;
	}
	return host && ip;
}

/* A check-ip host whose name says IPv6 (ipv6., ip6., v6., api6., dns64.). */
static bool v6_name(const char *host)
{
	static const char *const marks[] = { "ipv6", "ip6", "v6", "api6", "dns64" };
	for (const char *label = host; label != NULL && *label != '\0';) {
		size_t len = strcspn(label, ".");
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			if (len == strlen(marks[i]) && strncasecmp(label, marks[i], len) == 0)
				return true;
		label = label[len] == '.' ? label + len + 1 : NULL;
	}
	return false;
}

struct in_ctx {
	struct mg_conf *c;
	const struct in_file *f;
	bool allow_ipv6;
};

/* Address source of a section for family fam: checkip-command, iface,
 * checkip-server, else inadyn's default (an external check). */
static int source_for(struct in_ctx *x, const struct in_section *s, int fam, char *src,
                      size_t size, char *web, size_t wsize, bool *web_set)
{
	struct mg_conf *c = x->c;
	*web_set = false;
	const char *cmd = opt_str(s, "checkip-command");
	const char *iface = opt_str(s, "iface");
	if (iface == NULL)
		iface = opt_str(&x->f->top, "iface");
	const char *server = opt_str(s, "checkip-server");
	if (cmd != NULL) {
		if (!mg_cmd_ok(cmd)) {
			snprintf(src, size, "off");
			return mg_note(c, s->line, "checkip-command '%.60s': dnsward runs a program by "
			               "absolute path without a shell or arguments: write a small script "
			               "and use cmd:/PATH", cmd);
		}
		snprintf(src, size, "cmd:%s", cmd);
		return DW_OK;
	}
	if (iface != NULL) {
		if (!mg_iface_ok(iface)) {
			snprintf(src, size, "off");
			return mg_note(c, s->line, "iface '%.40s' is not an interface name", iface);
		}
		snprintf(src, size, "iface:%s", iface);
		return DW_OK;
	}
	snprintf(src, size, "web");
	if (server != NULL) {
		const char *path = opt_str(s, "checkip-path");
		const char *ssl = opt_str(s, "checkip-ssl");
		bool v6lit = mg_addr_family(server) == 6;
		int n = snprintf(web, wsize, "https://%s%s%s%s", v6lit ? "[" : "", server,
		                 v6lit ? "]" : "", path != NULL ? path : "/");
		if (n < 0 || (size_t)n >= wsize || !mg_value_ok(web) || strchr(web, ',') != NULL) {
			return mg_note(c, s->line, "checkip-server %.60s: not a usable URL: dnsward's own "
			               "echo services are used", server);
		}
		*web_set = true;
		if (falsy(ssl))
			return mg_note(c, s->line, "checkip-ssl = false: dnsward asks %s over HTTPS", web);
		(void)fam;
	}
	return DW_OK;
}

static int translate_section(struct in_ctx *x, const struct in_section *s)
{
	struct mg_conf *c = x->c;
	int ret = DW_OK;
	bool custom = strcmp(s->kind, "custom") == 0;
	if (!custom && strcmp(s->kind, "provider") != 0)
		return mg_note(c, s->line, "section '%s %s' is not an inadyn provider: skipped", s->kind,
		               s->title);
	/* NAME[:N], with default@ or ipv6@ */
	char name[256];
	snprintf(name, sizeof(name), "%s", s->title);
	char *colon = strrchr(name, ':');
	if (colon != NULL)
		*colon = '\0';
	bool v6 = false;
	const char *n = name;
	if (strncasecmp(n, "default@", 8) == 0) {
		n += 8;
	} else if (strncasecmp(n, "ipv6@", 5) == 0) {
		n += 5;
		v6 = true;
	} else if (strncasecmp(n, "ipv4@", 5) == 0) {
		n += 5;
	}
	struct mg_host m = { .line = s->line };
	m.login = opt_str(s, "username");
	m.password = opt_str(s, "password");
	m.ca_file = opt_str(&x->f->top, "ca-trust-file");
	char base[320], path[256], url[MG_MAX_VALUE + 1], ttl[24];
	if (custom) {
		const char *server = opt_str(s, "ddns-server");
		const char *dpath = opt_str(s, "ddns-path");
		if (server == NULL || dpath == NULL)
			return mg_note(c, s->line, "custom %s: ddns-server and ddns-path are both needed: "
			               "skipped", s->title);
		if (falsy(opt_str(s, "ssl")) &&
		    (ret = mg_note(c, s->line, "custom %s: ssl = false: dnsward always uses HTTPS",
		                   s->title)) != DW_OK)
			return ret;
		int bn = snprintf(base, sizeof(base), "https://%s", server);
		if (bn < 0 || (size_t)bn >= sizeof(base) || !mg_value_ok(base))
			return mg_note(c, s->line, "custom %s: ddns-server is not a host name", s->title);
		const struct in_opt *resp = opt_get(s, "ddns-response");
		bool append = truthy(opt_str(s, "append-myip"));
		if (!append && resp == NULL && dyndns2_path(dpath, path, sizeof(path))) {
			m.svc = (struct mg_service){ "dyndns2", NULL };
			m.base_url = base;
			m.path = path;
		} else {
			bool uses_pw = false;
			snprintf(url, sizeof(url), "%s", base);
			if (path_template(c, s->line, dpath, m.login, url, sizeof(url), &uses_pw, append) != 0)
				return DW_OK;
			m.svc = (struct mg_service){ "custom", NULL };
			m.url = url;
			m.basic_auth = true;
			m.url_password = uses_pw;
			if (uses_pw && (ret = mg_note(c, s->line, "custom %s: the password in the URL goes "
			                              "to a secret file as well as into the Basic "
			                              "authentication header, as inadyn sends both",
			                              s->title)) != DW_OK)
				return ret;
			if (resp != NULL && resp->nvals == 1) {
				m.success_line = resp->vals[0];
				if ((ret = mg_note(c, s->line, "custom %s: ddns-response '%.60s': dnsward "
				                   "needs the whole first line of the reply to be exactly that "
				                   "(inadyn looked for it anywhere in the reply)", s->title,
				                   resp->vals[0])) != DW_OK)
					return ret;
			} else if ((ret = mg_note(c, s->line, "custom %s: inadyn took any reply containing "
			                          "good, nochg or a ddns-response word as success; "
			                          "dnsward takes HTTP 200 alone: add success-line or "
			                          "success-json to the provider for an exact rule",
			                          s->title)) != DW_OK) {
				return ret;
			}
		}
	} else {
		m.svc.type = NULL;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcasecmp(names[i].name, n) == 0)
				m.svc = names[i].svc;
		if (m.svc.type == NULL)
			return mg_note(c, s->line, "provider %s: dnsward has no provider for it; a "
			               "[provider] of type custom can describe most HTTP APIs (see "
			               "docs/providers/custom.md)", s->title);
		if (strcmp(m.svc.type, "duckdns") == 0) {
			m.password = m.login;   /* inadyn: the token is the user name */
			m.login = NULL;
		} else if (strcmp(m.svc.type, "cloudflare") == 0) {
			m.zone = m.login;       /* inadyn: the user name is the zone */
			m.login = NULL;
			const char *p = opt_str(s, "proxied");
			if (p != NULL)
				m.proxied = truthy(p) ? "yes" : "no";
		}
		const char *t = opt_str(s, "ttl");
		if (t != NULL) {
			char *end;
			long v = strtol(t, &end, 10);
			if (*end == '\0' && v >= 2 && v <= 604800) {
				snprintf(ttl, sizeof(ttl), "%ld", v);
				m.ttl = ttl;
			} else if (!(*end == '\0' && v == 1 && strcmp(m.svc.type, "cloudflare") == 0) &&
			           (ret = mg_note(c, s->line, "ttl = %.20s is not translated (1 to 604800 "
			                          "seconds; 1 is Cloudflare's automatic)", t)) != DW_OK) {
				return ret;
			}
		}
		if (falsy(opt_str(s, "ssl")) &&
		    (ret = mg_note(c, s->line, "provider %s: ssl = false: dnsward always uses HTTPS",
		                   s->title)) != DW_OK)
			return ret;
	}
	/* Notes for settings nobody translates. */
	for (size_t i = 0; i < s->nopts; i++) {
		const char *k = s->opts[i].key;
		bool handled = false;
		for (size_t j = 0; j < sizeof(sec_handled) / sizeof(sec_handled[0]); j++)
			handled = handled || strcmp(sec_handled[j], k) == 0;
		if (strcmp(k, "wildcard") == 0 && !truthy(opt_str(s, k)))
			handled = true;
		if (!handled &&
		    (ret = mg_note(c, s->opts[i].line, "%s %s: '%s' is not translated: %s", s->kind,
		                   s->title, k, strcmp(k, "wildcard") == 0
		                   ? "dnsward updates the names given; add a [record *.NAME] for the wildcard"
		                   : strcmp(k, "user-agent") == 0 ? "dnsward sends its own User-Agent"
		                   : "no dnsward equivalent")) != DW_OK)
			return ret;
	}

	/* Addresses: inadyn publishes one family per section. */
	char src[300], web[MG_MAX_VALUE + 1];
	bool web_set = false;
	const char *server = opt_str(s, "checkip-server");
	int fam = v6 ? 6 : 4;
	if (!v6 && server != NULL && (mg_addr_family(server) == 6 ||
	                              (x->allow_ipv6 && v6_name(server))))
		fam = 6;
	if ((ret = source_for(x, s, fam, src, sizeof(src), web, sizeof(web), &web_set)) != DW_OK)
		return ret;
	const struct in_opt *hn = opt_get(s, "hostname");
	if (hn == NULL || hn->nvals == 0)
		return mg_note(c, s->line, "%s %s: no hostname: nothing to publish", s->kind, s->title);
	for (size_t i = 0; i < hn->nvals; i++) {
		m.fqdn = hn->vals[i];
		m.line = hn->line;
		int f = fam;
		/* A checkip-server given by name with allow-ipv6 may answer in
		 * either family: it fills the one this name does not have yet. */
		if (!v6 && x->allow_ipv6 && server != NULL && mg_addr_family(server) == 0 &&
		    !v6_name(server)) {
			for (size_t r = 0; r < c->nrecords; r++) {
				const char *a = mg_get(&c->records[r], "ipv4");
				if (strcmp(c->records[r].name, m.fqdn) == 0 && a != NULL && strcmp(a, "off") != 0)
					f = 6;
			}
			if ((ret = mg_note(c, m.line, "%s: checkip-server %s may answer over either family "
			                   "(allow-ipv6 = true): imported as the IPv%d source", m.fqdn, server,
			                   f)) != DW_OK)
				return ret;
		}
		m.ipv4 = f == 4 ? src : "off";
		m.ipv6 = f == 6 ? src : "off";
		m.ipv4_web = f == 4 && web_set ? web : NULL;
		m.ipv6_web = f == 6 && web_set ? web : NULL;
		if ((ret = mg_add_host(c, &m)) != DW_OK)
			return ret;
	}
	return DW_OK;
}

int mg_inadyn_parse(const char *buf, size_t len, struct mg_conf *c, struct dw_diag *diag)
{
	if (len > MG_INADYN_MAX)
		return dw_diag_set(diag, DW_ETOOBIG, "%s: larger than %d bytes", c->file, MG_INADYN_MAX);
	if (memchr(buf, '\0', len) != NULL)
		return dw_diag_set(diag, DW_EPARSE, "%s: holds NUL bytes: not an inadyn configuration",
		                   c->file);
	struct in_file *f = calloc(1, sizeof(*f));
	struct lex *lx = calloc(1, sizeof(*lx));
	int ret;
	if (f == NULL || lx == NULL) {
		ret = DW_ENOMEM;
		goto out;
	}
	lx->p = buf;
	lx->end = buf + len;
	lx->line = 1;
	lx->diag = diag;
	lx->file = c->file;
	if ((ret = next(lx)) != DW_OK || (ret = parse_items(lx, f, &f->top, true, c)) != DW_OK)
		goto out;

	struct in_ctx x = { c, f, truthy(opt_str(&f->top, "allow-ipv6")) };
	for (size_t i = 0; i < f->top.nopts; i++) {
		const char *k = f->top.opts[i].key;
		bool quiet = false;
		for (size_t j = 0; j < sizeof(global_quiet) / sizeof(global_quiet[0]); j++)
			quiet = quiet || strcmp(global_quiet[j], k) == 0;
		const char *why = NULL;
		for (size_t j = 0; j < sizeof(global_why) / sizeof(global_why[0]); j++)
			if (strcmp(global_why[j].key, k) == 0)
				why = global_why[j].why;
		if (quiet)
			continue;
		if ((ret = mg_note(c, f->top.opts[i].line, "'%s' is not translated: %s", k,
		                   why != NULL ? why : "no dnsward equivalent")) != DW_OK)
			goto out;
	}
	for (size_t i = 0; i < f->nsecs; i++)
		if ((ret = translate_section(&x, f->secs[i])) != DW_OK)
			goto out;
	/* period: how often inadyn asked; dnsward's poll-interval where polled. */
	const char *period = opt_str(&f->top, "period");
	bool polled = false;
	for (size_t i = 0; i < c->nrecords; i++) {
		const char *a = mg_get(&c->records[i], "ipv4"), *b = mg_get(&c->records[i], "ipv6");
		if ((a != NULL && (strcmp(a, "web") == 0 || strncmp(a, "cmd:", 4) == 0)) ||
		    (b != NULL && (strcmp(b, "web") == 0 || strncmp(b, "cmd:", 4) == 0)))
			polled = true;
	}
	const struct in_opt *po = opt_get(&f->top, "period");
	if (period != NULL && po != NULL) {
		char *end;
		long v = strtol(period, &end, 10);
		if (*end == '\0' && polled && v >= 10 && v <= 604800) {
			char pv[24];
			snprintf(pv, sizeof(pv), "%ld", v);
			ret = mg_set(&c->globals, "poll-interval", pv, false);
		} else if (!polled) {
			ret = mg_note(c, po->line, "period: \"dnsward run\" follows "
			              "the kernel's address events and polls nothing here");
		} else {
			ret = mg_note(c, po->line, "period = %.20s is outside 10 to "
			              "604800 seconds: poll-interval keeps its default (300)", period);
		}
		if (ret != DW_OK)
			goto out;
	}
	if (f->nsecs == 0)
		ret = mg_note(c, 0, "no provider or custom section: nothing to publish");
out:
	if (f != NULL) {
		section_free(&f->top);
		for (size_t i = 0; i < f->nsecs; i++) {
			section_free(f->secs[i]);
			free(f->secs[i]);
		}
		free(f);
	}
	if (lx != NULL)
		explicit_bzero(lx, sizeof(*lx));
	free(lx);
	return ret;
}
