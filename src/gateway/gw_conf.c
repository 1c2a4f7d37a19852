/* [gateway] section and provider sections of the gateway file. */
#include "gateway/gw_conf.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dw_build.h"
#include "lib/dnsauth.h"
#include "gateway/gw_store.h"
#include "lib/log.h"
#include "lib/sandbox.h"

int gw_listen_parse(const char *s, struct gw_listen *out)
{
	char host[DW_IP_STRLEN + 2];
	const char *port;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return DW_EINVAL;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port = close + 2;
		if (dw_ip_parse(host, DW_FAM_V6, &out->ip) != DW_OK)
			return DW_EINVAL;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return DW_EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
		if (dw_ip_parse(host, DW_FAM_V4, &out->ip) != DW_OK)
			return DW_EINVAL;
	}
	if (port[0] < '0' || port[0] > '9' || strlen(port) > 5)
		return DW_EINVAL;
	unsigned long p = 0;
	for (const char *c = port; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return DW_EINVAL;
		p = p * 10 + (unsigned long)(*c - '0');
	}
	if (p > 65535)
		return DW_EINVAL;
	out->port = (uint16_t)p;
	return DW_OK;
}

bool gw_listen_loopback(const struct gw_listen *l)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	if (l->ip.family == DW_FAM_V4)
		return l->ip.bytes[0] == 127;
	return memcmp(l->ip.bytes, v6_loopback, 16) == 0;
}

static int conf_listen(struct gw_conf *c, struct dw_conf_ctx *ctx)
{
	const char *v = dw_conf_get(ctx, "listen");
	if (v == NULL) {
		c->nlisten = 1;
		return gw_listen_parse("127.0.0.1:8053", &c->listen[0]);
	}
	c->nlisten = 0;
	const char *p = v;
	for (;;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " ,\t");
		char item[80];
		if (n >= sizeof(item) || c->nlisten == GW_LISTEN_MAX)
			return dw_conf_error(ctx, "listen", "at most %d addresses of the form "
			                     "127.0.0.1:8053 or [::1]:8053", GW_LISTEN_MAX);
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		if (gw_listen_parse(item, &c->listen[c->nlisten]) != DW_OK)
			return dw_conf_error(ctx, "listen", "'%s' is not ADDRESS:PORT or [IPV6]:PORT "
			                     "(numeric address)", item);
		c->nlisten++;
	}
	if (c->nlisten == 0)
		return dw_conf_error(ctx, "listen", "no address given");
	return DW_OK;
}

const char *gw_conf_zone_of(const struct gw_conf *c, const char *fqdn)
{
	const char *best = NULL;
	size_t n = strlen(fqdn);
	for (size_t i = 0; i < c->nzones; i++) {
		const char *z = c->zones[i];
		size_t m = strlen(z);
		bool in = strcmp(fqdn, z) == 0 ||
		          (n > m + 1 && fqdn[n - m - 1] == '.' && strcmp(fqdn + n - m, z) == 0);
		if (in && (best == NULL || m > strlen(best)))
			best = z;
	}
	return best;
}

static int conf_zones(struct gw_conf *c, struct dw_conf_ctx *ctx)
{
	const char *v = dw_conf_get(ctx, "zones");
	c->nzones = 0;
	for (const char *p = v; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " ,\t");
		if (c->nzones == GW_ZONES_MAX || n >= GW_ZONE_MAX)
			return dw_conf_error(ctx, "zones", "at most %d zone names", GW_ZONES_MAX);
		char *z = c->zones[c->nzones];
		memcpy(z, p, n);
		z[n] = '\0';
		p += n;
		if (strchr(z, '*') != NULL || dw_fqdn_normalize(z) != DW_OK)
			return dw_conf_error(ctx, "zones", "'%s' is not a zone name", z);
		c->nzones++;
	}
	return DW_OK;
}

/* A list of DNS servers (lib/dnsauth.h syntax), checked now, kept as text. */
static int conf_servers(struct dw_conf_ctx *ctx, const char *key, char **out)
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

static int conf_gateway(void *arg, struct dw_conf_ctx *ctx)
{
	struct gw_conf *c = arg;
	int ret;
	if (ctx->sec->name[0] != '\0')
		return dw_conf_error(ctx, NULL, "[gateway] takes no name");
	if ((ret = conf_listen(c, ctx)) != DW_OK)
		return ret;
	if ((ret = dw_conf_strdup(ctx, "tls-cert", NULL, &c->tls_cert)) != DW_OK ||
	    (ret = dw_conf_strdup(ctx, "tls-key", NULL, &c->tls_key)) != DW_OK)
		return ret;
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		return dw_conf_error(ctx, c->tls_cert == NULL ? "tls-cert" : "tls-key",
		                     "tls-cert and tls-key go together");
	if ((ret = dw_conf_strdup(ctx, "tls-priorities", GW_TLS_PRIORITIES, &c->tls_priorities))
	    != DW_OK)
		return ret;
	{
		/* Checked here, so that "check" finds a typo before the server
		 * refuses to start. */
		gnutls_priority_t prio;
		const char *err = NULL;
		if (gnutls_priority_init(&prio, c->tls_priorities, &err) != GNUTLS_E_SUCCESS)
			return dw_conf_error(ctx, "tls-priorities", "not a GnuTLS priority string "
			                     "(error near '%.20s')", err != NULL ? err : "");
		gnutls_priority_deinit(prio);
	}
	if ((ret = dw_conf_bool(ctx, "allow-plain-http", false, &c->allow_plain_http)) != DW_OK)
		return ret;
	if (c->tls_cert == NULL) {
		/* Tokens travel in clear without TLS: only on loopback (a local
		 * reverse proxy terminating TLS), unless the operator says the
		 * network in between is theirs. */
		for (size_t i = 0; i < c->nlisten; i++) {
			if (gw_listen_loopback(&c->listen[i]))
				continue;
			char ip[DW_IP_STRLEN];
			dw_ip_format(&c->listen[i].ip, ip);
			if (!c->allow_plain_http)
				return dw_conf_error(ctx, "listen", "%s is not a loopback address and "
				                     "there is no tls-cert: tokens would travel in clear; "
				                     "set tls-cert and tls-key, or allow-plain-http = yes "
				                     "when a TLS-terminating proxy is in front", ip);
			log_warning("%s:%d: [gateway] allow-plain-http = yes: plain HTTP on %s, "
			            "tokens travel in clear up to the TLS-terminating proxy",
			            ctx->file, dw_conf_line(ctx, "allow-plain-http"), ip);
		}
	}
	const char *v = dw_conf_get(ctx, "trusted-proxies");
	if (v != NULL && gw_cidrs_parse(v, &c->trusted) != DW_OK)
		return dw_conf_error(ctx, "trusted-proxies", "'%s' is not a list of up to %d CIDRs",
		                     v, GW_CIDR_MAX);
	free(c->database);
	c->database = NULL;
	if ((ret = dw_conf_strdup(ctx, "database", NULL, &c->database)) != DW_OK)
		return ret;
	if (c->database != NULL) {
		struct dw_diag d = { "" };
		if (gw_store_check_setting(c->database, &d) != DW_OK)
			return dw_conf_error(ctx, "database", "%s", d.msg);
	}
	/* PostgreSQL's password: a secret file (or credential:NAME), never in the URL, the file or argv. */
	v = dw_conf_get(ctx, "database-password-file");
	if (v != NULL) {
		struct dw_diag d = { "" };
		char real[4096];
		dw_secret_clear(&c->db_password);
		if (dw_secret_resolve(v, real, sizeof(real), &d) != DW_OK ||
		    dw_secret_load(real, DW_SECRET_LINE, &c->db_password, &d) != DW_OK)
			return dw_conf_error(ctx, "database-password-file", "%s", d.msg);
	}
	if (c->db_password.data != NULL && (c->database == NULL || gw_store_is_file(c->database)))
		return dw_conf_error(ctx, "database-password-file", "a password is for a "
		                     "postgresql:// database only");
	if ((ret = dw_conf_uint(ctx, "lease-time", 5, 3600, c->lease_s, &c->lease_s)) != DW_OK ||
	    (ret = conf_zones(c, ctx)) != DW_OK ||
	    (ret = conf_servers(ctx, "nameservers", &c->nameservers)) != DW_OK ||
	    (ret = conf_servers(ctx, "resolvers", &c->resolvers)) != DW_OK)
		return ret;
	if ((ret = dw_conf_uint(ctx, "rate", 1, 1000000, c->rate_token, &c->rate_token)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "rate-source", 1, 1000000, c->rate_source, &c->rate_source)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "lockout-failures", 1, 100000, c->lockout_failures,
	                        &c->lockout_failures)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "lockout-time", 1, 86400 * 7, c->lockout_s, &c->lockout_s)) != DW_OK ||
	    (ret = dw_conf_bool(ctx, "enable-register", false, &c->enable_register)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "ttl", 1, 604800, c->ttl, &c->ttl)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "txt-ttl", 1, 604800, c->txt_ttl, &c->txt_ttl)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "upstream-wait", 0, 60, c->upstream_wait_s, &c->upstream_wait_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "upstream-workers", 1, 64, c->workers, &c->workers)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "retry-max", 1, 86400, c->retry_max_s, &c->retry_max_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "max-connections", 1, 100000, c->max_connections,
	                        &c->max_connections)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "max-connections-per-source", 1, 100000, c->max_per_source,
	                        &c->max_per_source)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "connection-timeout", 1, 3600, c->conn_timeout_s,
	                        &c->conn_timeout_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "request-timeout", 1, 3600, c->request_timeout_s,
	                        &c->request_timeout_s)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "ipv6-source-prefix", 32, 128, c->v6_prefix,
	                        &c->v6_prefix)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "http-threads", 1, 64, c->http_threads,
	                        &c->http_threads)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "request-workers", 2, 1024, c->request_workers,
	                        &c->request_workers)) != DW_OK)
		return ret;
	/* The audit log's growth: refusal rows per host and minute, and
	 * retention by age (days) and by rows. */
	if ((ret = dw_conf_uint(ctx, "audit-refusals", 1, 1000, c->audit_refusals,
	                        &c->audit_refusals)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "audit-max-age", 1, 36500, c->audit_max_age_days,
	                        &c->audit_max_age_days)) != DW_OK ||
	    (ret = dw_conf_uint(ctx, "audit-max-rows", 100, 100000000, c->audit_max_rows,
	                        &c->audit_max_rows)) != DW_OK)
		return ret;
	if (c->conn_timeout_s <= c->upstream_wait_s)
		return dw_conf_error(ctx, "connection-timeout",
		                     "must be longer than upstream-wait (%u s)", c->upstream_wait_s);
	/* user, group and seccomp mean what they mean in [dnsward]: read by
	 * the same code, into a scratch configuration. */
	struct dw_config *sb = calloc(1, sizeof(*sb));
	if (sb == NULL)
		return dw_conf_error(ctx, NULL, "out of memory");
	ret = dw_sandbox_conf(sb, ctx);
	if (ret == DW_OK) {
		memcpy(c->user, sb->user, sizeof(c->user));
		memcpy(c->group, sb->group, sizeof(c->group));
		c->seccomp = sb->seccomp;
	}
	free(sb);
	if (ret != DW_OK)
		return ret;
	v = dw_conf_get(ctx, "log-level");
	if (v != NULL) {
		if (dw_log_level_parse(v, &c->log_level) != DW_OK)
			return dw_conf_error(ctx, "log-level",
			                     "'%s' is not one of error, warning, notice, info, debug", v);
		c->has_log_level = true;
	}
	return DW_OK;
}

int gw_conf_load(const char *path, bool check_only, struct gw_conf *c, struct dw_diag *diag)
{
	memset(c, 0, sizeof(*c));
	c->rate_token = 30;
	c->rate_source = 120;
	c->lockout_failures = 10;
	c->lockout_s = 900;
	c->ttl = 300;
	c->txt_ttl = 60;
	c->upstream_wait_s = 5;
	c->workers = 4;
	c->retry_max_s = 3600;
	c->max_connections = 1024;
	c->request_timeout_s = 10;
	c->v6_prefix = 64;
	c->http_threads = 2;
	c->request_workers = 16;
	c->max_per_source = 32;
	c->conn_timeout_s = 15;
	c->seccomp = true;
	c->audit_refusals = 2;
	c->audit_max_age_days = 90;
	c->audit_max_rows = 100000;
	c->lease_s = 60;
	c->nlisten = 1;
	(void)gw_listen_parse("127.0.0.1:8053", &c->listen[0]);
	struct dw_config_ext ext = { .kind = "gateway", .section = conf_gateway, .arg = c,
	                             .allow_no_records = true };
	int ret = dw_config_load_ext(path, check_only, &ext, &c->cfg, diag);
	if (ret == DW_OK && c->cfg->nrecords > 0)
		ret = dw_diag_set(diag, DW_ECONFIG, "%s:%d: [record] sections belong in dnsward.conf; "
		                  "the gateway's hosts live in its database (dnsward-gateway host add)",
		                  path, c->cfg->records[0]->line);
	if (ret == DW_OK && c->database == NULL) {
		char db[512];
		int n = snprintf(db, sizeof(db), "%s/gateway.db", DW_DEFAULT_STATEDIR);
		if (n < 0 || (size_t)n >= sizeof(db) || (c->database = strdup(db)) == NULL)
			ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	if (ret != DW_OK)
		gw_conf_free(c);
	return ret;
}

void gw_conf_free(struct gw_conf *c)
{
	dw_config_free(c->cfg);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_priorities);
	free(c->database);
	free(c->nameservers);
	free(c->resolvers);
	dw_secret_clear(&c->db_password);
	memset(c, 0, sizeof(*c));
}

struct dw_provider *gw_conf_provider(const struct gw_conf *c, const char *name)
{
	for (size_t i = 0; c->cfg != NULL && i < c->cfg->nproviders; i++) {
		if (strcmp(c->cfg->providers[i]->name, name) == 0)
			return c->cfg->providers[i];
	}
	return NULL;
}
