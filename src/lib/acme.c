/* ACME dns-01 hook arguments and helpers; see acme.h. */
#include "lib/acme.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_index(char c)
{
	const char *p = c != '\0' ? strchr(b64url, c) : NULL;
	return p != NULL ? (int)(p - b64url) : -1;
}

bool dw_acme_value_valid(const char *s)
{
	if (s == NULL || strlen(s) != DW_ACME_VALUE_LEN)
		return false;
	for (size_t i = 0; i < DW_ACME_VALUE_LEN; i++) {
		if (b64url_index(s[i]) < 0)
			return false;
	}
	/* 43 characters carry 258 bits for 256: the last one's low two bits
	 * are zero in the canonical encoding. */
	return (b64url_index(s[DW_ACME_VALUE_LEN - 1]) & 3) == 0;
}

/* True when s[0..n) is non-empty base64url without padding. */
static bool b64url_run(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (b64url_index(s[i]) < 0)
			return false;
	}
	return true;
}

int dw_acme_keyauth_value(const char *keyauth, char out[DW_ACME_VALUE_LEN + 1])
{
	out[0] = '\0';
	size_t len = strnlen(keyauth, DW_ACME_KEYAUTH_MAX + 1);
	if (len > DW_ACME_KEYAUTH_MAX)
		return DW_EINVAL;
	const char *dot = strchr(keyauth, '.');
	if (dot == NULL || !b64url_run(keyauth, (size_t)(dot - keyauth)) ||
	    !b64url_run(dot + 1, len - (size_t)(dot - keyauth) - 1))
		return DW_EINVAL;
	if (sodium_init() < 0)
		return DW_ENOMEM;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)keyauth, len);
	char enc[DW_ACME_VALUE_LEN + 2];
	sodium_bin2base64(enc, sizeof(enc), h, sizeof(h),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	memcpy(out, enc, DW_ACME_VALUE_LEN + 1);
	return DW_OK;
}

int dw_acme_challenge_name(const char *domain, char out[DW_DNS_NAME_MAX])
{
	out[0] = '\0';
	if (strncmp(domain, "*.", 2) == 0)
		domain += 2;
	if (domain[0] == '\0' || domain[0] == '.')
		return DW_EINVAL;
	char buf[DW_DNS_NAME_MAX];
	int n = snprintf(buf, sizeof(buf), "_acme-challenge.%s", domain);
	if (n < 0 || (size_t)n >= sizeof(buf) || strchr(domain, '*') != NULL ||
	    dw_fqdn_normalize(buf) != DW_OK)
		return DW_EINVAL;
	memcpy(out, buf, sizeof(buf));
	return DW_OK;
}

/* Copies a record name given as such (lego's FQDN) into out, checked. */
static int record_name(const char *fqdn, char out[DW_DNS_NAME_MAX])
{
	char buf[DW_DNS_NAME_MAX];
	int n = snprintf(buf, sizeof(buf), "%s", fqdn);
	if (n < 0 || (size_t)n >= sizeof(buf) || strchr(fqdn, '*') != NULL ||
	    dw_fqdn_normalize(buf) != DW_OK)
		return DW_EINVAL;
	memcpy(out, buf, sizeof(buf));
	return DW_OK;
}

/* A short, printable rendering of an argument for messages. */
static const char *shown(const char *s, char buf[48])
{
	size_t i = 0;
	for (; s[i] != '\0' && i < 40; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	if (s[i] != '\0' && i >= 40)
		memcpy(buf + 37, "...", 4);
	return buf;
}

static int add_item(struct dw_acme_req *r, const char *name, const char *value,
                    struct dw_diag *diag)
{
	char sb[48];
	if (r->n == DW_ACME_ITEMS_MAX)
		return dw_diag_set(diag, DW_EINVAL, "more than %d challenges in one call",
		                   DW_ACME_ITEMS_MAX);
	if (!dw_acme_value_valid(value))
		return dw_diag_set(diag, DW_EINVAL,
		                   "'%s' is not a dns-01 value (43 characters of base64url)",
		                   shown(value, sb));
	struct dw_acme_item *it = &r->items[r->n++];
	memcpy(it->name, name, sizeof(it->name));
	memcpy(it->value, value, DW_ACME_VALUE_LEN + 1);
	return DW_OK;
}

/* A domain as the ACME identifier (RAW, certbot, dehydrated). */
static int add_domain(struct dw_acme_req *r, const char *domain, const char *value,
                      struct dw_diag *diag)
{
	char name[DW_DNS_NAME_MAX], sb[48];
	if (dw_acme_challenge_name(domain, name) != DW_OK)
		return dw_diag_set(diag, DW_EINVAL, "'%s' is not a valid domain name",
		                   shown(domain, sb));
	return add_item(r, name, value, diag);
}

static int parse_lego(int argc, char *const argv[], struct dw_acme_req *out,
                      struct dw_diag *diag)
{
	char sb[48];
	out->action = strcmp(argv[1], "present") == 0 ? DW_ACME_PRESENT : DW_ACME_CLEANUP;
	if (argc >= 3 && strcmp(argv[2], "--") == 0) {
		out->client = "lego RAW";
		if (argc != 6)
			return dw_diag_set(diag, DW_EINVAL,
			                   "usage: acme %s -- DOMAIN TOKEN KEYAUTH", argv[1]);
		const char *token = argv[4], *keyauth = argv[5];
		size_t tl = strlen(token);
		if (!b64url_run(token, tl) || strncmp(keyauth, token, tl) != 0 || keyauth[tl] != '.')
			return dw_diag_set(diag, DW_EINVAL,
			                   "key authorization '%s' is not TOKEN.THUMBPRINT for token '%s'",
			                   shown(keyauth, sb), token);
		char value[DW_ACME_VALUE_LEN + 1];
		if (dw_acme_keyauth_value(keyauth, value) != DW_OK)
			return dw_diag_set(diag, DW_EINVAL,
			                   "key authorization '%s' is not TOKEN.THUMBPRINT in base64url",
			                   shown(keyauth, sb));
		return add_domain(out, argv[3], value, diag);
	}
	out->client = "lego";
	if (argc != 4)
		return dw_diag_set(diag, DW_EINVAL, "usage: acme %s FQDN VALUE", argv[1]);
	char name[DW_DNS_NAME_MAX];
	if (record_name(argv[2], name) != DW_OK)
		return dw_diag_set(diag, DW_EINVAL, "'%s' is not a valid record name",
		                   shown(argv[2], sb));
	/* Whoever runs the hook names the record: only challenge records,
	 * never the apex or a host's own name (a CNAME from the challenge
	 * name is followed by dnsward itself). */
	if (strncmp(name, "_acme-challenge.", 16) != 0)
		return dw_diag_set(diag, DW_EINVAL,
		                   "'%s' is not an _acme-challenge name: dnsward writes challenges "
		                   "only there (lego follows a CNAME and passes its target: set "
		                   "LEGO_DISABLE_CNAME_SUPPORT=true, dnsward follows it itself)",
		                   shown(argv[2], sb));
	return add_item(out, name, argv[3], diag);
}

static int parse_certbot(int argc, char *const argv[], dw_acme_env_fn env,
                         struct dw_acme_req *out, struct dw_diag *diag)
{
	out->client = "certbot";
	out->action = strcmp(argv[1], "certbot-auth") == 0 ? DW_ACME_PRESENT : DW_ACME_CLEANUP;
	if (argc != 2)
		return dw_diag_set(diag, DW_EINVAL,
		                   "usage: acme %s (arguments come from CERTBOT_DOMAIN and "
		                   "CERTBOT_VALIDATION)", argv[1]);
	const char *domain = env("CERTBOT_DOMAIN");
	const char *value = env("CERTBOT_VALIDATION");
	if (domain == NULL || domain[0] == '\0' || value == NULL)
		return dw_diag_set(diag, DW_EINVAL,
		                   "CERTBOT_DOMAIN and CERTBOT_VALIDATION must be set (run as "
		                   "certbot's --manual-auth-hook / --manual-cleanup-hook with "
		                   "--preferred-challenges dns)");
	return add_domain(out, domain, value, diag);
}

static int parse_dehydrated(int argc, char *const argv[], struct dw_acme_req *out,
                            struct dw_diag *diag)
{
	out->client = "dehydrated";
	if (argc < 3)
		return dw_diag_set(diag, DW_EINVAL, "usage: acme dehydrated HOOK [ARGS...]");
	const char *hook = argv[2];
	if (strcmp(hook, "deploy_challenge") == 0)
		out->action = DW_ACME_PRESENT;
	else if (strcmp(hook, "clean_challenge") == 0)
		out->action = DW_ACME_CLEANUP;
	else
		return DW_OK;   /* deploy_cert, exit_hook, ...: not ours */
	int rest = argc - 3;
	if (rest < 3 || rest % 3 != 0)
		return dw_diag_set(diag, DW_EINVAL,
		                   "usage: acme dehydrated %s DOMAIN TOKEN_FILENAME VALUE "
		                   "[DOMAIN TOKEN_FILENAME VALUE ...]", hook);
	for (int i = 3; i < argc; i += 3) {
		int ret = add_domain(out, argv[i], argv[i + 2], diag);
		if (ret != DW_OK)
			return ret;
	}
	return DW_OK;
}

int dw_acme_parse(int argc, char *const argv[], dw_acme_env_fn env,
                  struct dw_acme_req *out, struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	out->client = "";
	if (argc < 2)
		return dw_diag_set(diag, DW_EINVAL,
		                   "usage: acme present|cleanup FQDN VALUE, "
		                   "acme present|cleanup -- DOMAIN TOKEN KEYAUTH, "
		                   "acme certbot-auth|certbot-cleanup, acme dehydrated HOOK ARGS...");
	const char *w = argv[1];
	int ret;
	if (strcmp(w, "present") == 0 || strcmp(w, "cleanup") == 0)
		ret = parse_lego(argc, argv, out, diag);
	else if (strcmp(w, "certbot-auth") == 0 || strcmp(w, "certbot-cleanup") == 0)
		ret = parse_certbot(argc, argv, env, out, diag);
	else if (strcmp(w, "dehydrated") == 0)
		ret = parse_dehydrated(argc, argv, out, diag);
	else {
		char sb[48];
		ret = dw_diag_set(diag, DW_EINVAL,
		                  "unknown acme action '%s' (present, cleanup, certbot-auth, "
		                  "certbot-cleanup, dehydrated)", shown(w, sb));
	}
	if (ret != DW_OK) {
		out->n = 0;
		out->action = DW_ACME_NOTHING;
	}
	return ret;
}

void dw_acme_zones_free(char **zones)
{
	if (zones == NULL)
		return;
	for (size_t i = 0; zones[i] != NULL; i++)
		free(zones[i]);
	free(zones);
}

int dw_acme_zones_parse(const char *text, char ***out, size_t *n, struct dw_diag *diag)
{
	*out = NULL;
	*n = 0;
	char **z = calloc(DW_ACME_ZONES_MAX + 1, sizeof(*z));
	if (z == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	size_t cnt = 0;
	const char *p = text;
	int ret = DW_OK;
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t len = strcspn(p, ", \t");
		char sb[48];
		char buf[DW_DNS_NAME_MAX];
		if (len >= sizeof(buf)) {
			ret = dw_diag_set(diag, DW_EINVAL, "'%.40s...' is too long for a domain name", p);
			goto out;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len;
		if (strchr(buf, '*') != NULL || dw_fqdn_normalize(buf) != DW_OK) {
			ret = dw_diag_set(diag, DW_EINVAL, "'%s' is not a domain name", shown(buf, sb));
			goto out;
		}
		for (size_t i = 0; i < cnt; i++) {
			if (strcmp(z[i], buf) == 0) {
				ret = dw_diag_set(diag, DW_EINVAL, "'%s' is listed twice", buf);
				goto out;
			}
		}
		if (cnt == DW_ACME_ZONES_MAX) {
			ret = dw_diag_set(diag, DW_EINVAL, "more than %d names", DW_ACME_ZONES_MAX);
			goto out;
		}
		z[cnt] = strdup(buf);
		if (z[cnt] == NULL) {
			ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
			goto out;
		}
		cnt++;
	}
	if (cnt == 0)
		ret = dw_diag_set(diag, DW_EINVAL, "empty: list one or more zones");
out:
	if (ret != DW_OK) {
		dw_acme_zones_free(z);
		return ret;
	}
	*out = z;
	*n = cnt;
	return DW_OK;
}

int dw_acme_zone_match(const char *name, char *const *zones, size_t n)
{
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		if (dw_dns_name_in_zone(name, zones[i]) && (int)strlen(zones[i]) > best)
			best = (int)strlen(zones[i]);
	}
	return best;
}
