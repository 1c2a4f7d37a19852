/* ddclient.conf importer (see ddclient.h).  Lexing follows ddclient 3.x's
 * own reader (read_config in ddclient), translation goes through
 * translate.c. */
#include "migrate/ddclient.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrate/translate.h"

#define DD_MAX_KEYS 64
#define DD_MAX_LINE 16384

struct dd_dict {
	size_t n;
	struct {
		char *k;
		char *v;
	} e[DD_MAX_KEYS];
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *const *list, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], k) == 0)
			return true;
	return false;
}

struct dd_host {
	int line;
	char *name;
	struct dd_dict d;
};

struct dd {
	struct mg_conf *c;
	struct dd_dict globals;
	struct dd_dict passwords;   /* this line's password values, by key */
	struct dd_host *hosts[MG_MAX_RECORDS];   /* allocated as they appear */
	size_t nhosts;
	int line;
};

static void dict_clear(struct dd_dict *d)
{
	for (size_t i = 0; i < d->n; i++) {
		/* Any value may be a password: wipe them all. */
		explicit_bzero(d->e[i].v, strlen(d->e[i].v));
		free(d->e[i].k);
		free(d->e[i].v);
	}
	d->n = 0;
}

static const char *dict_get(const struct dd_dict *d, const char *k)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->e[i].k, k) == 0)
			return d->e[i].v;
	return NULL;
}

static int dict_set(struct dd_dict *d, const char *k, size_t klen, const char *v, size_t vlen)
{
	if (vlen > MG_MAX_VALUE || klen > 64)
		return DW_ETOOBIG;
	char *nv = strndup(v, vlen);
	if (nv == NULL)
		return DW_ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		if (strlen(d->e[i].k) == klen && memcmp(d->e[i].k, k, klen) == 0) {
			explicit_bzero(d->e[i].v, strlen(d->e[i].v));
			free(d->e[i].v);
			d->e[i].v = nv;
			return DW_OK;
		}
	}
	char *nk = d->n < DD_MAX_KEYS ? strndup(k, klen) : NULL;
	if (nk == NULL) {
		explicit_bzero(nv, vlen);
		free(nv);
		return d->n < DD_MAX_KEYS ? DW_ENOMEM : DW_ETOOBIG;
	}
	d->e[d->n].k = nk;
	d->e[d->n].v = nv;
	d->n++;
	return DW_OK;
}

/* ddclient reads "...password...=VALUE" before removing comments, so a
 * password may hold '#': VALUE is '...' up to the line's last quote, or a
 * run of non-blank characters.  The value is kept in dd->passwords and the
 * line continues with "KEY=dummy".  (ddclient's regular expression, for the
 * keys real files use: a key of non-blank characters containing
 * "password", starting the line or after blank space, the rightmost such.) */
static int take_password(struct dd *dd, char *line)
{
	char *hash = strchr(line, '#');
	size_t limit = hash != NULL ? (size_t)(hash - line) : strlen(line);
	for (size_t p = limit; p-- > 0;) {
		if (p > 0 && !isspace((unsigned char)line[p - 1]))
			continue;
		/* key: [^#\s=]*password[^\s=]* then \s*=\s* */
		size_t k = p;
		while (line[k] != '\0' && line[k] != '#' && line[k] != '=' && !isspace((unsigned char)line[k]))
			k++;
		size_t klen = k - p;
		if (klen < 8 || memmem(line + p, klen, "password", 8) == NULL)
			continue;
		size_t e = k;
		while (isspace((unsigned char)line[e]))
			e++;
		if (line[e] != '=')
			continue;
		e++;
		while (isspace((unsigned char)line[e]))
			e++;
		size_t vs = e, ve, tail;
		if (line[e] == '\'') {
			char *last = strrchr(line + e + 1, '\'');
			if (last == NULL)
				continue;   /* ddclient's pattern needs the closing quote */
			vs = e + 1;
			ve = (size_t)(last - line);
			tail = ve + 1;
		} else {
			if (line[e] == '\0')
				continue;
			ve = e;
			while (line[ve] != '\0' && !isspace((unsigned char)line[ve]))
				ve++;
			tail = ve;
		}
		int ret = dict_set(&dd->passwords, line + p, klen, line + vs, ve - vs);
		if (ret != DW_OK)
			return ret;
		/* KEY=dummy, then the tail (the caller's buffer has room for the
		 * few bytes this may add). */
		size_t tl = strlen(line + tail);
		explicit_bzero(line + vs, ve - vs);
		memmove(line + k + 6, line + tail, tl + 1);
		memcpy(line + k, "=dummy", 6);
		return DW_OK;
	}
	return DW_OK;
}

/* One "name=value" at *s (after commas and blanks), ddclient's quoting: a
 * backslash escapes the next character, '...' and "..." quote, an unquoted
 * blank or comma ends the value.  Returns 1 with the assignment, 0 when the
 * text there is not an assignment, or an error. */
static int parse_assignment(struct dd *dd, const char **s, struct dd_dict *out)
{
	const char *p = *s;
	while (*p == ',' || isspace((unsigned char)*p))
		p++;
	if (!isalpha((unsigned char)*p))
		return 0;
	const char *k = p;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
		p++;
	if (*p != '=')
		return 0;
	size_t klen = (size_t)(p - k);
	p++;
	char val[MG_MAX_VALUE + 1];
	size_t n = 0;
	char quote = 0;
	bool escape = false;
	for (; *p != '\0'; p++) {
		char ch = *p;
		if (escape) {
			escape = false;
		} else if (ch == '\\') {
			escape = true;
			continue;
		} else if (quote != 0 && ch == quote) {
			quote = 0;
			continue;
		} else if (quote == 0 && (ch == '\'' || ch == '"')) {
			quote = ch;
			continue;
		} else if (quote == 0 && (isspace((unsigned char)ch) || ch == ',')) {
			break;
		}
		if (n == MG_MAX_VALUE) {
			explicit_bzero(val, n);
			return DW_ETOOBIG;
		}
		val[n++] = ch;
	}
	if (escape || quote != 0) {
		char kname[65];
		snprintf(kname, sizeof(kname), "%.*s", (int)(klen < 64 ? klen : 64), k);
		int r = mg_note(dd->c, dd->line, "the value of '%s' ends inside a quote or after a "
		                "backslash (ddclient warns and takes it as it is)", kname);
		if (r != DW_OK)
			return r;
	}
	int ret = dict_set(out, k, klen, val, n);
	explicit_bzero(val, n);
	*s = p;
	return ret == DW_OK ? 1 : ret;
}

static int add_host(struct dd *dd, const char *name, size_t len, const struct dd_dict *merged)
{
	if (len == 0)
		return DW_OK;
	struct dd_host *h = NULL;
	for (size_t i = 0; i < dd->nhosts; i++) {
		if (strlen(dd->hosts[i]->name) == len && memcmp(dd->hosts[i]->name, name, len) == 0) {
			/* ddclient: the later definition replaces the earlier one. */
			h = dd->hosts[i];
			dict_clear(&h->d);
			int r = mg_note(dd->c, dd->line, "%.*s is defined again (line %d): this "
			                "definition replaces it, as in ddclient", (int)len, name, h->line);
			if (r != DW_OK)
				return r;
			break;
		}
	}
	if (h == NULL) {
		if (dd->nhosts == MG_MAX_RECORDS)
			return DW_ETOOBIG;
		if ((h = calloc(1, sizeof(*h))) == NULL)
			return DW_ENOMEM;
		if ((h->name = strndup(name, len)) == NULL) {
			free(h);
			return DW_ENOMEM;
		}
		dd->hosts[dd->nhosts++] = h;
	}
	h->line = dd->line;
	for (size_t i = 0; i < merged->n; i++) {
		int r = dict_set(&h->d, merged->e[i].k, strlen(merged->e[i].k), merged->e[i].v,
		                 strlen(merged->e[i].v));
		if (r != DW_OK)
			return r;
	}
	return DW_OK;
}

/* One logical line (comments and continuations done, blanks canonical). */
static int logical_line(struct dd *dd, const char *s)
{
	struct dd_dict locals = { 0 };
	char rest[DD_MAX_LINE];   /* may hold an old-style password: wiped */
	size_t n = 0;
	int ret;
	while ((ret = parse_assignment(dd, &s, &locals)) == 1)
		;
	if (ret < 0)
		goto out;
	ret = DW_OK;
	/* ddclient puts back the password values taken from the raw line. */
	for (size_t i = 0; i < locals.n; i++) {
		const char *pw = dict_get(&dd->passwords, locals.e[i].k);
		if (pw != NULL && (ret = dict_set(&locals, locals.e[i].k, strlen(locals.e[i].k), pw,
		                                  strlen(pw))) != DW_OK)
			goto out;
	}
	/* The rest: "host[,host...] [login [password]]", commas may have blanks. */
	for (const char *p = s; *p != '\0' && n + 1 < sizeof(rest); p++) {
		if (*p == ',') {
			/* ddclient: s/\s*,\s* /,/g */
			while (n > 0 && rest[n - 1] == ' ')
				n--;
			rest[n++] = ',';
			while (isspace((unsigned char)p[1]))
				p++;
			continue;
		}
		rest[n++] = isspace((unsigned char)*p) ? ' ' : *p;
	}
	rest[n] = '\0';
	char *args[3] = { NULL, NULL, NULL };
	size_t nargs = 0;
	for (char *tok = rest; *tok != '\0';) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			break;
		char *end = tok;
		while (*end != '\0' && *end != ' ')
			end++;
		if (*end != '\0')
			*end++ = '\0';
		if (nargs < 3)
			args[nargs] = tok;
		else if ((ret = mg_note(dd->c, dd->line, "words after the host, login and password "
		                        "are ignored (as by ddclient)")) != DW_OK)
			goto out;
		nargs++;
		tok = end;
	}
	char hosts[DD_MAX_LINE];
	const char *hostopt = dict_get(&locals, "host");
	snprintf(hosts, sizeof(hosts), "%s%s%s", args[0] != NULL ? args[0] : "",
	         args[0] != NULL && hostopt != NULL ? "," : "", hostopt != NULL ? hostopt : "");
	if (hosts[0] == '\0') {
		/* Globals, for the hosts below this line.  Said when hosts come
		 * before: ddclient reads top-down, so per-host settings here do not
		 * reach them (protocol does, and the whole-file settings). */
		static const char *const per_host[] = { "server", "login", "password", "use", "ip", "if",
		                                        "web", "cmd", "zone", "ttl", "script", "mx",
		                                        "wildcard", "backupmx", "static", "custom" };
		for (size_t i = 0; dd->nhosts > 0 && i < locals.n; i++)
			if (in_list(per_host, NELEM(per_host), locals.e[i].k) &&
			    (ret = mg_note(dd->c, dd->line, "'%s' set after host lines: as in ddclient, it "
			                   "applies to the hosts below this line only", locals.e[i].k)) != DW_OK)
				goto out;
		for (size_t i = 0; i < locals.n; i++)
			if ((ret = dict_set(&dd->globals, locals.e[i].k, strlen(locals.e[i].k), locals.e[i].v,
			                    strlen(locals.e[i].v))) != DW_OK)
				goto out;
		goto out;
	}
	/* locals win over the globals so far; old-style login/password win. */
	for (size_t i = 0; i < dd->globals.n; i++)
		if (dict_get(&locals, dd->globals.e[i].k) == NULL &&
		    (ret = dict_set(&locals, dd->globals.e[i].k, strlen(dd->globals.e[i].k),
		                    dd->globals.e[i].v, strlen(dd->globals.e[i].v))) != DW_OK)
			goto out;
	if (nargs >= 2 && (ret = dict_set(&locals, "login", 5, args[1], strlen(args[1]))) != DW_OK)
		goto out;
	if (nargs >= 3 && (ret = dict_set(&locals, "password", 8, args[2], strlen(args[2]))) != DW_OK)
		goto out;
	for (char *h = hosts; *h != '\0';) {
		char *end = strchr(h, ',');
		size_t len = end != NULL ? (size_t)(end - h) : strlen(h);
		if ((ret = add_host(dd, h, len, &locals)) != DW_OK)
			goto out;
		h += len;
		if (*h == ',')
			h++;
	}
out:
	explicit_bzero(rest, n);
	dict_clear(&locals);
	return ret;
}

/* ddclient's durations: a number with an optional unit s, m, h, d (or the
 * words).  Returns seconds, or -1. */
static long dd_interval(const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (end == v || n < 0 || n > 100000000)
		return -1;
	while (*end == ' ')
		end++;
	long mult = 1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return -1;
	}
	return n * mult;
}

static bool yes(const char *v)
{
	return v != NULL && (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	                     strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0);
}

/* Settings of ddclient that have no counterpart, with the reason given. */
static const struct {
	const char *key;
	const char *why;
} untranslated[] = {
	{ "syslog", "dnsward logs to standard error (the journal under systemd)" },
	{ "facility", "dnsward logs to standard error (the journal under systemd)" },
	{ "priority", "dnsward logs to standard error (the journal under systemd)" },
	{ "mail", "dnsward sends no mail: use the unit's OnFailure= or a record's on-change program" },
	{ "mail-failure", "dnsward sends no mail: use the unit's OnFailure= or a record's on-change program" },
	{ "max-warn", "dnsward reports a problem once and again when it changes" },
	{ "pid", "dnsward run is a systemd service (Type=notify): no PID file" },
	{ "cache", "dnsward keeps what it published in state-dir (state.json)" },
	{ "proxy", "dnsward's HTTP library takes the proxy from https_proxy in the environment (set it in the unit)" },
	{ "retry", "a command-line behaviour: dnsward retries failed updates with backoff by itself" },
	{ "force", "a command-line behaviour: dnsward update --force" },
	{ "postscript", "use on-change = PATH in each record (it gets the record, family, old and new address and the result in its environment; see dnsward.conf(5))" },
	{ "ssl_ca_dir", "dnsward takes a CA file (ca-file), not a directory" },
	{ "web-skip", "dnsward needs an exact address answer and skips no text" },
	{ "webv4-skip", "dnsward needs an exact address answer and skips no text" },
	{ "webv6-skip", "dnsward needs an exact address answer and skips no text" },
	{ "cmd-skip", "dnsward needs a program to print exactly one address" },
	{ "fw", "dnsward does not read routers' status pages: use iface:, web or cmd:" },
	{ "fwv4", "dnsward does not read routers' status pages: use iface:, web or cmd:" },
	{ "fwv6", "dnsward does not read routers' status pages: use iface:, web or cmd:" },
	{ "fw-skip", "dnsward does not read routers' status pages" },
	{ "fwv4-skip", "dnsward does not read routers' status pages" },
	{ "fwv6-skip", "dnsward does not read routers' status pages" },
	{ "fw-login", "dnsward does not read routers' status pages (the value is not kept)" },
	{ "fw-password", "dnsward does not read routers' status pages (the value is not kept)" },
	{ "fw-ssl-validate", "dnsward does not read routers' status pages" },
	{ "web-ssl-validate", "dnsward always verifies certificates and host names" },
	{ "min-interval", "dnsward publishes once per change; failed updates back off (backoff-base, backoff-max)" },
	{ "min-error-interval", "failed updates back off with jitter between backoff-base and backoff-max" },
	{ "curl", "dnsward always uses its own HTTP library (libcurl)" },
	{ "exec", "not a setting of what is published" },
	{ "test", "not a setting of what is published" },
	{ "geturl", "not a setting of what is published" },
	{ "tcp", "dnsward sends RFC 2136 updates over UDP and falls back to TCP as needed" },
	{ "wildcard", "dnsward updates the name given; add a [record *.NAME] to update the wildcard too" },
	{ "mx", "dnsward publishes A and AAAA records only" },
	{ "backupmx", "dnsward publishes A and AAAA records only" },
	{ "static", "a Dyn account type without meaning for dnsward" },
	{ "custom", "a No-IP account type without meaning for dnsward" },
};

/* Settings that only run-time flags of ddclient set: no note. */
static const char *const quiet_keys[] = {
	"foreground", "file", "debug", "verbose", "quiet", "help", "host", "daemon",
};

/* Keys translated below (from a host or the globals). */
static const char *const handled_keys[] = {
	"protocol", "use", "usev4", "usev6", "ip", "ipv4", "ipv6", "if", "ifv4", "ifv6", "web",
	"webv4", "webv6", "cmd", "cmdv4", "cmdv6", "ssl", "ssl_ca_file", "server", "login",
	"password", "zone", "ttl", "script", "timeout", "max-interval",
};


/* Notes for each key of d that is neither translated nor quiet, once per
 * key and line. */
static int note_untranslated(struct dd *dd, const struct dd_dict *d, int line, const char *what)
{
	for (size_t i = 0; i < d->n; i++) {
		const char *k = d->e[i].k, *v = d->e[i].v;
		if (in_list(handled_keys, NELEM(handled_keys), k) || in_list(quiet_keys, NELEM(quiet_keys), k))
			continue;
		/* Boolean extras that are off change nothing. */
		if ((strcmp(k, "wildcard") == 0 || strcmp(k, "backupmx") == 0 || strcmp(k, "static") == 0 ||
		     strcmp(k, "custom") == 0 || strcmp(k, "tcp") == 0 || strcmp(k, "retry") == 0 ||
		     strcmp(k, "force") == 0 || strcmp(k, "curl") == 0 || strcmp(k, "syslog") == 0 ||
		     strcmp(k, "exec") == 0 || strcmp(k, "test") == 0) && !yes(v))
			continue;
		if ((strcmp(k, "web-ssl-validate") == 0 || strcmp(k, "fw-ssl-validate") == 0) && yes(v))
			continue;
		if (v[0] == '\0')
			continue;
		const char *why = NULL;
		for (size_t j = 0; j < NELEM(untranslated); j++)
			if (strcmp(untranslated[j].key, k) == 0)
				why = untranslated[j].why;
		int ret = why != NULL
			? mg_note(dd->c, line, "%s'%s' is not translated: %s", what, k, why)
			: mg_note(dd->c, line, "%s'%s' is not a ddclient setting dnsward knows "
			          "(ddclient ignores unknown ones too)", what, k);
		if (ret != DW_OK)
			return ret;
	}
	return DW_OK;
}

/* A value from the host, else from the globals at the end of the file
 * (ddclient reads these with opt(), which falls back to the final globals). */
static const char *late(const struct dd *dd, const struct dd_host *h, const char *k)
{
	const char *v = dict_get(&h->d, k);
	return v != NULL ? v : dict_get(&dd->globals, k);
}

/* ddclient keeps use, ip, if, web and cmd per host (taken with the globals
 * above the host's line); the usevN family of settings and their companions
 * come from the host or else from the globals of the whole file. */
static const char *src_get(const struct dd *dd, const struct dd_host *h, const char *k)
{
	static const char *const per_host[] = { "use", "ip", "if", "web", "cmd" };
	if (in_list(per_host, NELEM(per_host), k))
		return dict_get(&h->d, k);
	return late(dd, h, k);
}

/* One family's source from ddclient's use/usevN settings. */
static int family_source(struct dd *dd, const struct dd_host *h, int fam, const char *how,
                         char *src, size_t size, const char **web)
{
	struct mg_conf *c = dd->c;
	char key[16];
	*web = NULL;
	snprintf(src, size, "off");
	if (how == NULL || strcmp(how, "disabled") == 0 || how[0] == '\0')
		return DW_OK;
	/* "ipv4"/"ip": a fixed address */
	if (strcmp(how, fam == 4 ? "ipv4" : "ipv6") == 0 || strcmp(how, "ip") == 0) {
		snprintf(key, sizeof(key), "%s", strcmp(how, "ip") == 0 ? "ip" : how);
		const char *a = src_get(dd, h, key);
		if (a == NULL || mg_addr_family(a) != fam)
			return mg_note(c, h->line, "%s: %s=%s needs an IPv%d address in %s=: no IPv%d "
			               "source translated", h->name, strcmp(how, "ip") == 0 ? "use" : "usev",
			               how, fam, key, fam);
		snprintf(src, size, "static:%s", a);
		return DW_OK;
	}
	if (strcmp(how, "if") == 0 || strcmp(how, fam == 4 ? "ifv4" : "ifv6") == 0) {
		snprintf(key, sizeof(key), "%s", how);
		const char *i = src_get(dd, h, key);
		if (i == NULL)
			i = strcmp(how, "if") == 0 ? "ppp0" : "default";   /* ddclient's defaults */
		if (strcmp(i, "default") == 0) {
			const char *d = fam == 4 ? c->default_iface4 : c->default_iface6;
			if (d == NULL)
				return mg_note(c, h->line, "%s: %s=default (the default route's interface) "
				               "could not be found here: set ipv%d = iface:NAME", h->name, key,
				               fam == 4 ? 4 : 6);
			i = d;
		}
		if (!mg_iface_ok(i))
			return mg_note(c, h->line, "%s: '%.40s' is not an interface name", h->name, i);
		snprintf(src, size, "iface:%s", i);
		return DW_OK;
	}
	if (strcmp(how, "web") == 0 || strcmp(how, fam == 4 ? "webv4" : "webv6") == 0) {
		snprintf(key, sizeof(key), "%s", how);
		const char *w = src_get(dd, h, key);
		snprintf(src, size, "web");
		if (w != NULL && strncmp(w, "https://", 8) == 0 && mg_value_ok(w) && strchr(w, ',') == NULL) {
			*web = w;
			return DW_OK;
		}
		return mg_note(c, h->line, "%s: %s=%s: dnsward asks its own HTTPS echo services "
		               "(web-ipv%d; several, which must agree)%s", h->name, key,
		               w != NULL ? w : "(default)", fam,
		               w != NULL && strncmp(w, "http://", 7) == 0 ? ", never plain HTTP" : "");
	}
	if (strcmp(how, "cmd") == 0 || strcmp(how, fam == 4 ? "cmdv4" : "cmdv6") == 0) {
		snprintf(key, sizeof(key), "%s", how);
		const char *p = src_get(dd, h, key);
		if (p == NULL || !mg_cmd_ok(p))
			return mg_note(c, h->line, "%s: %s='%.60s': dnsward runs a program by absolute "
			               "path without a shell or arguments: write a small script and use "
			               "ipv%d = cmd:/PATH", h->name, key, p != NULL ? p : "", fam);
		snprintf(src, size, "cmd:%s", p);
		return mg_note(c, h->line, "%s: cmd:%s must print exactly one IPv%d address (ddclient "
		               "searched its output for one); it gets \"%s\" as its argument", h->name,
		               p, fam, fam == 4 ? "ipv4" : "ipv6");
	}
	return mg_note(c, h->line, "%s: IPv%d from '%s' (a router or firewall status page): not "
	               "translated, dnsward reads interfaces, HTTPS echo services, DNS or a program",
	               h->name, fam, how);
}

static int translate_host(struct dd *dd, struct dd_host *h)
{
	struct mg_conf *c = dd->c;
	int ret;
	const char *proto = late(dd, h, "protocol");
	if (proto == NULL)
		proto = "dyndns2";
	struct mg_host m = { .line = h->line, .fqdn = h->name };
	m.login = dict_get(&h->d, "login");
	m.password = dict_get(&h->d, "password");
	m.zone = dict_get(&h->d, "zone");
	m.ttl = dict_get(&h->d, "ttl");
	m.ca_file = late(dd, h, "ssl_ca_file");
	const char *server = dict_get(&h->d, "server");
	char base[300], host[256], timeout[24], ttl[24];
	const char *to = late(dd, h, "timeout");
	if (to != NULL) {
		long t = dd_interval(to);
		if (t >= 1 && t <= 600) {
			snprintf(timeout, sizeof(timeout), "%ld", t);
			m.timeout = timeout;
		}
	}
	if (m.ttl != NULL) {
		long t = dd_interval(m.ttl);
		if (t >= 1 && t <= 604800) {
			snprintf(ttl, sizeof(ttl), "%ld", t);
			m.ttl = ttl;
		} else {
			if ((ret = mg_note(c, h->line, "%s: ttl=%.20s is outside 1 to 604800 seconds: "
			                   "dnsward's default (300) applies", h->name, m.ttl)) != DW_OK)
				return ret;
			m.ttl = NULL;
		}
	}
	if (strcmp(proto, "dyndns2") == 0 || strcmp(proto, "noip") == 0 ||
	    strcmp(proto, "ovh") == 0 || strcmp(proto, "changeip") == 0) {
		if (server == NULL)
			server = strcmp(proto, "noip") == 0 ? "dynupdate.no-ip.com"
			       : strcmp(proto, "ovh") == 0 ? "www.ovh.com"
			       : strcmp(proto, "changeip") == 0 ? "nic.changeip.com" : "members.dyndns.org";
		/* host[:port][/path] */
		size_t hl = strcspn(server, ":/");
		snprintf(host, sizeof(host), "%.*s", (int)(hl < 255 ? hl : 255), server);
		m.svc = mg_service_for_server(host);
		if (m.svc.type != NULL && strcmp(m.svc.type, "dyndns2") == 0 && m.svc.preset == NULL) {
			size_t sl = strcspn(server, "/");
			snprintf(base, sizeof(base), "https://%.*s", (int)(sl < 280 ? sl : 280), server);
			m.base_url = base;
			if (!yes(late(dd, h, "ssl")) &&
			    (ret = mg_note(c, h->line, "%s: ddclient talked to %s over plain HTTP (ssl=no); "
			                   "dnsward always uses HTTPS", h->name, host)) != DW_OK)
				return ret;
		}
		m.path = dict_get(&h->d, "script");
		if (strcmp(m.svc.type, "duckdns") == 0 || strcmp(m.svc.type, "freemyip") == 0 ||
		    strcmp(m.svc.type, "desec") == 0 || strcmp(m.svc.type, "he") == 0)
			m.path = NULL;
	} else if (strcmp(proto, "cloudflare") == 0) {
		m.svc = (struct mg_service){ "cloudflare", NULL };
		if (m.ttl != NULL && strcmp(m.ttl, "1") == 0)
			m.ttl = NULL;   /* Cloudflare's "automatic" */
	} else if (strcmp(proto, "duckdns") == 0) {
		m.svc = (struct mg_service){ "duckdns", NULL };
	} else if (strcmp(proto, "freedns") == 0) {
		m.svc = (struct mg_service){ "freedns", NULL };
	} else if (strcmp(proto, "freemyip") == 0) {
		m.svc = (struct mg_service){ "freemyip", NULL };
	} else if (strcmp(proto, "gandi") == 0) {
		m.svc = (struct mg_service){ "gandi", NULL };
		if ((ret = mg_note(c, h->line, "%s: Gandi: dnsward authenticates with a personal access "
		                   "token; if this password is an old API key, create a token", h->name)) != DW_OK)
			return ret;
	} else if (strcmp(proto, "nsupdate") == 0) {
		m.svc = (struct mg_service){ "rfc2136", NULL };
		m.server = server;
		m.key_file = m.password;   /* ddclient: password = the key file's path */
		m.password = NULL;
		if (server == NULL || mg_addr_family(server) == 0) {
			if ((ret = mg_note(c, h->line, "%s: nsupdate server '%.80s': dnsward needs the "
			                   "primary server's address (server = ADDRESS, port = N)", h->name,
			                   server != NULL ? server : "")) != DW_OK)
				return ret;
		}
	} else {
		return mg_note(c, h->line, "%s: protocol %.40s: dnsward has no provider for it; a "
		               "[provider] of type custom can describe most HTTP APIs (see "
		               "docs/providers/custom.md)", h->name, proto);
	}

	/* Addresses: usev4/usev6 when set, else the older use=. */
	char v4[300], v6[300];
	const char *w4 = NULL, *w6 = NULL;
	const char *u4 = late(dd, h, "usev4"), *u6 = late(dd, h, "usev6");
	bool newstyle = (u4 != NULL && strcmp(u4, "disabled") != 0) ||
	                (u6 != NULL && strcmp(u6, "disabled") != 0);
	snprintf(v4, sizeof(v4), "off");
	snprintf(v6, sizeof(v6), "off");
	if (newstyle) {
		if ((ret = family_source(dd, h, 4, u4, v4, sizeof(v4), &w4)) != DW_OK ||
		    (ret = family_source(dd, h, 6, u6, v6, sizeof(v6), &w6)) != DW_OK)
			return ret;
	} else {
		const char *use = src_get(dd, h, "use");
		if (use == NULL)
			use = "ip";
		int fam = 4;
		if (strcmp(use, "ip") == 0) {
			const char *a = src_get(dd, h, "ip");
			fam = a != NULL && mg_addr_family(a) == 6 ? 6 : 4;
		}
		if ((ret = family_source(dd, h, fam, use, fam == 4 ? v4 : v6, sizeof(v4),
		                         fam == 4 ? &w4 : &w6)) != DW_OK)
			return ret;
	}
	m.ipv4 = v4;
	m.ipv6 = v6;
	m.ipv4_web = w4;
	m.ipv6_web = w6;
	return mg_add_host(c, &m);
}

int mg_ddclient_parse(const char *buf, size_t len, struct mg_conf *c, struct dw_diag *diag)
{
	if (len > MG_DDCLIENT_MAX)
		return dw_diag_set(diag, DW_ETOOBIG, "%s: larger than %d bytes", c->file, MG_DDCLIENT_MAX);
	if (memchr(buf, '\0', len) != NULL)
		return dw_diag_set(diag, DW_EPARSE, "%s: holds NUL bytes: not a ddclient configuration",
		                   c->file);
	struct dd *dd = calloc(1, sizeof(*dd));
	char *line = malloc(DD_MAX_LINE), *logical = malloc(DD_MAX_LINE);
	int ret = DW_OK;
	if (dd == NULL || line == NULL || logical == NULL) {
		ret = DW_ENOMEM;
		goto out;
	}
	dd->c = c;
	logical[0] = '\0';
	size_t pos = 0;
	int lineno = 0, first = 0;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
		lineno++;
		if (n >= DD_MAX_LINE - 8) {
			ret = dw_diag_set(diag, DW_ETOOBIG, "%s:%d: line longer than %d bytes", c->file,
			                  lineno, DD_MAX_LINE - 9);
			goto out;
		}
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (buf[pos + i] != '\r')
				line[m++] = buf[pos + i];
		line[m] = '\0';
		pos += n + (nl != NULL);
		if (logical[0] == '\0')
			first = lineno;
		dd->line = first;
		if ((ret = take_password(dd, line)) != DW_OK)
			goto out;
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		size_t ll = strlen(logical), al = strlen(line);
		if (ll + al + 1 >= DD_MAX_LINE) {
			ret = dw_diag_set(diag, DW_ETOOBIG, "%s:%d: continued line longer than %d bytes",
			                  c->file, lineno, DD_MAX_LINE - 1);
			goto out;
		}
		memcpy(logical + ll, line, al + 1);
		ll += al;
		if (ll > 0 && logical[ll - 1] == '\\') {
			logical[ll - 1] = '\0';
			if (logical[0] == '\0')
				logical[0] = ' ';   /* keep collecting */
			continue;
		}
		/* trim and canonify blank space */
		char *s = logical;
		while (isspace((unsigned char)*s))
			s++;
		size_t sl = strlen(s);
		while (sl > 0 && isspace((unsigned char)s[sl - 1]))
			s[--sl] = '\0';
		if (*s != '\0') {
			char canon[DD_MAX_LINE];
			size_t cn = 0;
			for (const char *p = s; *p != '\0'; p++) {
				if (isspace((unsigned char)*p)) {
					if (cn > 0 && canon[cn - 1] == ' ')
						continue;
					canon[cn++] = ' ';
				} else {
					canon[cn++] = *p;
				}
			}
			canon[cn] = '\0';
			ret = logical_line(dd, canon);
			explicit_bzero(canon, cn);
			if (ret != DW_OK)
				goto out;
		}
		/* ddclient forgets the passwords after each line it completes
		 * (continued lines keep collecting them). */
		dict_clear(&dd->passwords);
		explicit_bzero(logical, strlen(logical));
	}
	if (logical[0] != '\0') {
		/* ddclient: "file ends while expecting a continuation line"; the
		 * text so far is dropped. */
		if ((ret = mg_note(c, first, "the file ends inside a continued line (a '\\' at the "
		                   "end of the last line): ddclient drops that line, and so does "
		                   "this import")) != DW_OK)
			goto out;
	}

	/* Globals: what dnsward has a place for, then notes for the rest. */
	if ((ret = note_untranslated(dd, &dd->globals, 0, "global ")) != DW_OK)
		goto out;
	const char *mi = dict_get(&dd->globals, "max-interval");
	if (mi != NULL) {
		long s = dd_interval(mi);
		char v[24];
		snprintf(v, sizeof(v), "%ld", s);
		if (s >= 0 && s <= 31536000)
			ret = mg_set(&c->globals, "max-interval", v, false);
		else
			ret = mg_note(c, 0, "max-interval=%.20s is not a duration dnsward accepts", mi);
		if (ret != DW_OK)
			goto out;
	}
	for (size_t i = 0; i < dd->nhosts; i++) {
		struct dd_host *h = dd->hosts[i];
		/* Host-level settings are noted once per host (the globals above). */
		struct dd_dict own = { 0 };
		for (size_t j = 0; j < h->d.n; j++) {
			const char *g = dict_get(&dd->globals, h->d.e[j].k);
			if ((g == NULL || strcmp(g, h->d.e[j].v) != 0) &&
			    (ret = dict_set(&own, h->d.e[j].k, strlen(h->d.e[j].k), h->d.e[j].v,
			                    strlen(h->d.e[j].v))) != DW_OK) {
				dict_clear(&own);
				goto out;
			}
		}
		char what[300];
		snprintf(what, sizeof(what), "%s: ", h->name);
		ret = note_untranslated(dd, &own, h->line, what);
		dict_clear(&own);
		if (ret != DW_OK || (ret = translate_host(dd, h)) != DW_OK)
			goto out;
	}
	/* A global "daemon" interval is how often ddclient looked: dnsward's
	 * poll-interval where something is polled (web, cmd). */
	const char *daemon = dict_get(&dd->globals, "daemon");
	bool polled = false;
	for (size_t i = 0; i < c->nrecords; i++) {
		const char *a = mg_get(&c->records[i], "ipv4"), *b = mg_get(&c->records[i], "ipv6");
		if ((a != NULL && (strcmp(a, "web") == 0 || strncmp(a, "cmd:", 4) == 0)) ||
		    (b != NULL && (strcmp(b, "web") == 0 || strncmp(b, "cmd:", 4) == 0)))
			polled = true;
	}
	if (daemon != NULL && dd_interval(daemon) > 0) {
		long s = dd_interval(daemon);
		if (polled && s >= 10 && s <= 604800) {
			char v[24];
			snprintf(v, sizeof(v), "%ld", s);
			ret = mg_set(&c->globals, "poll-interval", v, false);
		} else if (!polled) {
			ret = mg_note(c, 0, "daemon=%.20s: \"dnsward run\" follows the kernel's address "
			              "events and polls nothing here", daemon);
		}
		if (ret != DW_OK)
			goto out;
	}
	if (dd->nhosts == 0)
		ret = mg_note(c, 0, "no host is defined (a line naming the host after its settings): "
		              "nothing to publish");
out:
	if (dd != NULL) {
		dict_clear(&dd->globals);
		dict_clear(&dd->passwords);
		for (size_t i = 0; i < dd->nhosts; i++) {
			dict_clear(&dd->hosts[i]->d);
			free(dd->hosts[i]->name);
			free(dd->hosts[i]);
		}
		free(dd);
	}
	if (logical != NULL)
		explicit_bzero(logical, DD_MAX_LINE);
	if (line != NULL)
		explicit_bzero(line, DD_MAX_LINE);
	free(line);
	free(logical);
	return ret;
}
