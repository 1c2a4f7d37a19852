/* One host of another client -> dnsward provider and record sections (see
 * translate.h).  Each dnsward provider type is translated here, once. */
#include "migrate/translate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"

/* Update servers of dyndns2-speaking services, as ddclient's server= names
 * them, and what dnsward calls them. */
static const struct {
	const char *host;
	struct mg_service svc;
} server_table[] = {
	{ "members.dyndns.org", { "dyndns2", "dyn" } },
	{ "dynupdate.no-ip.com", { "dyndns2", "noip" } },
	{ "api.dynu.com", { "dyndns2", "dynu" } },
	{ "www.ovh.com", { "dyndns2", "ovh" } },
	{ "dyndns.strato.com", { "dyndns2", "strato" } },
	{ "updates.dnsomatic.com", { "dyndns2", "dnsomatic" } },
	{ "svc.joker.com", { "dyndns2", "joker" } },
	{ "ipv4.nsupdate.info", { "dyndns2", "nsupdate" } },
	{ "ipv6.nsupdate.info", { "dyndns2", "nsupdate" } },
	{ "update.spdyn.de", { "dyndns2", "spdyn" } },
	{ "carol.selfhost.de", { "dyndns2", "selfhost" } },
	{ "dyndns.variomedia.de", { "dyndns2", "variomedia" } },
	{ "dyndns.loopia.se", { "dyndns2", "loopia" } },
	{ "nic.changeip.com", { "dyndns2", "changeip" } },
	{ "members.3322.org", { "dyndns2", "3322" } },
	{ "dyndns.kasserver.com", { "dyndns2", "allinkl" } },
	{ "ipv64.net", { "dyndns2", "ipv64" } },
	{ "dyndns.inwx.com", { "dyndns2", "inwx" } },
	{ "infomaniak.com", { "dyndns2", "infomaniak" } },
	{ "update.dyndns.it", { "dyndns2", "dyndnsit" } },
	{ "dyndns.schokokeks.org", { "dyndns2", "schokokeks" } },
	{ "ddns.hosting.de", { "dyndns2", "hostingde" } },
	{ "dyn.dns.he.net", { "he", NULL } },
	{ "update.dedyn.io", { "desec", NULL } },
	{ "update6.dedyn.io", { "desec", NULL } },
	{ "www.duckdns.org", { "duckdns", NULL } },
	{ "freemyip.com", { "freemyip", NULL } },
};

struct mg_service mg_service_for_server(const char *host)
{
	for (size_t i = 0; i < sizeof(server_table) / sizeof(server_table[0]); i++)
		if (strcasecmp(server_table[i].host, host) == 0)
			return server_table[i].svc;
	return (struct mg_service){ "dyndns2", NULL };
}

bool mg_fqdn_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	size_t label = 0, dots = 0;
	for (const char *p = s; *p != '\0'; p++) {
		char ch = *p;
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			dots++;
			continue;
		}
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
		if (!ok || ++label > 63)
			return false;
	}
	/* One label ("www", "@") is a name relative to something unknown here. */
	if (label == 0)
		dots--;   /* a trailing dot */
	return dots >= 1;
}

bool mg_iface_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s == '/' || *s == ':' || *s == ',' || *s == ';' || *s == 0x7f)
			return false;
	return true;
}

int mg_addr_family(const char *s)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return 6;
	return 0;
}

bool mg_cmd_ok(const char *s)
{
	if (s[0] != '/' || strlen(s) > 255)
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s == ';' || *s == '|' || *s == '&' || *s == '$' || *s == '`' ||
		    *s == '\'' || *s == '"' || *s == '<' || *s == '>' || *s == 0x7f)
			return false;
	return true;
}

#define TRY(expr) do { if ((ret = (expr)) != DW_OK) goto out; } while (0)

/* The provider section for h: keys in cand, its base name in *base. */
static int provider_keys(struct mg_conf *c, const struct mg_host *h, struct mg_section *cand,
                         const char **base)
{
	int ret = DW_OK;
	const char *type = h->svc.type;
	const char *pw = h->password != NULL ? h->password : "";
	*base = h->svc.preset != NULL ? h->svc.preset : type;
	TRY(mg_set(cand, "type", type, false));
	if (strcmp(type, "dyndns2") == 0) {
		if (h->svc.preset != NULL)
			TRY(mg_set(cand, "preset", h->svc.preset, false));
		else if (h->base_url != NULL)
			TRY(mg_set(cand, "base-url", h->base_url, false));
		if (h->path != NULL && strcmp(h->path, "/nic/update") != 0)
			TRY(mg_set(cand, "path", h->path, false));
		TRY(mg_set(cand, "username", h->login != NULL ? h->login : "", false));
		TRY(mg_set(cand, "password-file", pw, true));
	} else if (strcmp(type, "desec") == 0) {
		TRY(mg_set(cand, "token-file", pw, true));
	} else if (strcmp(type, "cloudflare") == 0) {
		if (h->login == NULL || h->login[0] == '\0' || strcmp(h->login, "token") == 0 ||
		    strchr(h->login, '@') == NULL) {
			TRY(mg_set(cand, "token-file", pw, true));
		} else {
			/* An e-mail login means the account's global key. */
			TRY(mg_set(cand, "email", h->login, false));
			TRY(mg_set(cand, "global-key-file", pw, true));
			TRY(mg_set(cand, "allow-global-key", "yes", false));
			TRY(mg_note(c, h->line, "%s: Cloudflare's global API key (login is an e-mail "
			            "address) is kept with allow-global-key = yes; create an API token "
			            "limited to the zone (Zone:DNS:Edit) and use token-file instead",
			            h->fqdn));
		}
		if (h->zone != NULL)
			TRY(mg_set(cand, "zone", h->zone, false));
	} else if (strcmp(type, "gandi") == 0) {
		TRY(mg_set(cand, "token-file", pw, true));
		if (h->zone != NULL)
			TRY(mg_set(cand, "zone", h->zone, false));
	} else if (strcmp(type, "duckdns") == 0) {
		TRY(mg_set(cand, "token-file", pw, true));
	} else if (strcmp(type, "rfc2136") == 0) {
		TRY(mg_set(cand, "server", h->server != NULL ? h->server : "", false));
		TRY(mg_set(cand, "key-file", h->key_file != NULL ? h->key_file : "", false));
		if (h->zone != NULL)
			TRY(mg_set(cand, "zone", h->zone, false));
	} else if (strcmp(type, "custom") == 0) {
		TRY(mg_set(cand, "url", h->url, false));
		if (h->basic_auth) {
			/* The header carries base64(login:password): one secret file. */
			static const char b64[] =
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			char raw[2 * MG_MAX_VALUE + 2], enc[4 * (sizeof(raw) / 3 + 1) + 1];
			int n = snprintf(raw, sizeof(raw), "%s:%s", h->login != NULL ? h->login : "", pw);
			if (n < 0 || (size_t)n >= sizeof(raw)) {
				ret = DW_ETOOBIG;
				goto out;
			}
			size_t o = 0, len = (size_t)n;
			for (size_t i = 0; i < len; i += 3) {
				unsigned v = (unsigned)(unsigned char)raw[i] << 16;
				if (i + 1 < len)
					v |= (unsigned)(unsigned char)raw[i + 1] << 8;
				if (i + 2 < len)
					v |= (unsigned char)raw[i + 2];
				enc[o++] = b64[(v >> 18) & 63];
				enc[o++] = b64[(v >> 12) & 63];
				enc[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
				enc[o++] = i + 2 < len ? b64[v & 63] : '=';
			}
			enc[o] = '\0';
			explicit_bzero(raw, sizeof(raw));
			TRY(mg_set(cand, "header1", "Authorization: Basic {secret:basic}", false));
			ret = mg_set(cand, "secret-basic-file", enc, true);
			explicit_bzero(enc, sizeof(enc));
			if (ret != DW_OK)
				goto out;
		}
		if (h->url_password)
			TRY(mg_set(cand, "secret-password-file", pw, true));
		if (h->success_line != NULL)
			TRY(mg_set(cand, "success-line", h->success_line, false));
	}
	/* he, freedns and freemyip keep their secrets per record. */
	if (h->ca_file != NULL)
		TRY(mg_set(cand, "ca-file", h->ca_file, false));
	if (h->timeout != NULL)
		TRY(mg_set(cand, "timeout", h->timeout, false));
out:
	return ret;
}

/* Sets the record's source for one family unless another host already did
 * with a different one (then notes it). */
static int set_source(struct mg_conf *c, struct mg_section *r, const struct mg_host *h,
                      const char *key, const char *src, const char *web_key, const char *web)
{
	const char *old = mg_get(r, key);
	if (src == NULL || strcmp(src, "off") == 0) {
		if (old == NULL)
			return mg_set(r, key, "off", false);
		return DW_OK;
	}
	if (old != NULL && strcmp(old, "off") != 0) {
		if (strcmp(old, src) != 0)
			return mg_note(c, h->line, "%s: a second %s source (%s) for a name that already "
			               "has one (%s): kept the first", h->fqdn, key, src, old);
		return DW_OK;
	}
	int ret = mg_set(r, key, src, false);
	if (ret == DW_OK && web != NULL && strcmp(src, "web") == 0)
		ret = mg_set(r, web_key, web, false);
	return ret;
}

int mg_add_host(struct mg_conf *c, const struct mg_host *h)
{
	int ret = DW_OK;
	struct mg_section cand = { 0 };
	if (!mg_fqdn_ok(h->fqdn))
		return mg_note(c, h->line, "host '%.100s' is not a fully qualified DNS name: skipped "
		               "(dnsward sends the whole name)", h->fqdn);
	if (h->svc.type == NULL)
		return DW_OK;   /* the parser noted why */
	const char *base = NULL, *pname = NULL;
	TRY(provider_keys(c, h, &cand, &base));
	TRY(mg_provider_add(c, base, &cand, &pname));

	bool created = false;
	struct mg_section *r = mg_record(c, h->fqdn, h->line, &created);
	if (r == NULL) {
		ret = DW_ETOOBIG;
		goto out;
	}
	const char *had = mg_get(r, "provider");
	if (had != NULL && strcmp(had, pname) != 0) {
		ret = mg_note(c, h->line, "%s is already updated through provider %s: this second "
		              "definition (provider %s) is skipped", h->fqdn, had, pname);
		goto out;
	}
	TRY(mg_set(r, "provider", pname, false));
	TRY(set_source(c, r, h, "ipv4", h->ipv4, "ipv4-web", h->ipv4_web));
	TRY(set_source(c, r, h, "ipv6", h->ipv6, "ipv6-web", h->ipv6_web));
	if (h->ttl != NULL)
		TRY(mg_set(r, "ttl", h->ttl, false));
	if (h->proxied != NULL)
		TRY(mg_set(r, "proxied", h->proxied, false));

	const char *type = h->svc.type;
	const char *pw = h->password != NULL ? h->password : "";
	if (strcmp(type, "he") == 0) {
		TRY(mg_set(r, "key-file", pw, true));
		if (h->login != NULL && h->login[0] != '\0' && strcasecmp(h->login, h->fqdn) != 0)
			TRY(mg_note(c, h->line, "%s: Hurricane Electric's login is the host name; "
			            "login '%.100s' is not used", h->fqdn, h->login));
	} else if (strcmp(type, "freemyip") == 0) {
		TRY(mg_set(r, "token-file", pw, true));
	} else if (strcmp(type, "freedns") == 0) {
		/* The client logs in with the account; dnsward uses each record's
		 * own update token, which only FreeDNS can tell: files to fill in. */
		const char *v4 = mg_get(r, "ipv4"), *v6 = mg_get(r, "ipv6");
		if (v4 != NULL && strcmp(v4, "off") != 0)
			TRY(mg_set(r, "token-a-file", "", true));
		if (v6 != NULL && strcmp(v6, "off") != 0)
			TRY(mg_set(r, "token-aaaa-file", "", true));
		TRY(mg_note(c, h->line, "%s: FreeDNS: %s logs in with the account's password, "
		            "dnsward uses the record's own update token: put the token from "
		            "freedns.afraid.org/dynamic/v2/ (the part after /u/) in the token-a-file "
		            "(and token-aaaa-file) named below; the account password is not kept",
		            h->fqdn, c->client));
	}
	/* A record must publish something: a name with both families off is
	 * kept (dnsward check names it) and noted. */
	const char *v4 = mg_get(r, "ipv4"), *v6 = mg_get(r, "ipv6");
	if (v4 != NULL && v6 != NULL && strcmp(v4, "off") == 0 && strcmp(v6, "off") == 0 && created)
		TRY(mg_note(c, h->line, "%s: no address source could be translated: set ipv4 or ipv6",
		            h->fqdn));
out:
	for (size_t i = 0; i < cand.nkv; i++) {
		if (cand.kv[i].secret)
			explicit_bzero(cand.kv[i].value, strlen(cand.kv[i].value));
		free(cand.kv[i].key);
		free(cand.kv[i].value);
	}
	free(cand.name);
	return ret;
}
