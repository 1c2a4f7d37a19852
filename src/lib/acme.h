/* ACME dns-01 hook arguments: the pure part of "dnsward acme".
 *
 * Every ACME client calls its DNS hook differently (protocols.md section 8).
 * This module turns each calling convention into one list of
 * (challenge record name, TXT value) items and an action, with strict
 * checks, and holds the other pure helpers the command needs: the dns-01
 * value of a key authorization, the zone-suffix match that picks a
 * provider, and the "acme-zones" list syntax.  No I/O, no logging: unit
 * tested and fuzzed (tests/fuzz/fuzz_acme.c).
 *
 * Calling conventions (argv[0] is "acme"):
 *
 *   acme present FQDN VALUE            lego exec: FQDN is the record name,
 *   acme cleanup FQDN VALUE            usually with a trailing dot; it must
 *                                      begin with "_acme-challenge."
 *   acme present -- DOMAIN TOKEN KEYAUTH   lego exec, EXEC_MODE=RAW: the
 *   acme cleanup -- DOMAIN TOKEN KEYAUTH   value is computed from KEYAUTH
 *   acme certbot-auth                  certbot --manual-auth-hook, from
 *   acme certbot-cleanup               CERTBOT_DOMAIN and CERTBOT_VALIDATION
 *   acme dehydrated HOOK ARGS...       dehydrated's hook: deploy_challenge
 *                                      and clean_challenge take one or more
 *                                      DOMAIN TOKEN_FILENAME VALUE triplets
 *                                      (HOOK_CHAIN); every other hook name
 *                                      is accepted and does nothing.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/dns.h"
#include "lib/error.h"

#define DW_ACME_VALUE_LEN 43      /* base64url(SHA-256) without padding */
#define DW_ACME_ITEMS_MAX 64      /* values in one call (dehydrated chains) */
#define DW_ACME_KEYAUTH_MAX 1024  /* token "." thumbprint; both are short */
#define DW_ACME_ZONES_MAX 64      /* entries of one acme-zones list */

enum dw_acme_action {
	DW_ACME_NOTHING = 0,   /* a hook we do not handle: succeed, change nothing */
	DW_ACME_PRESENT,
	DW_ACME_CLEANUP,
};

/* One challenge: the TXT record name and its value. */
struct dw_acme_item {
	char name[DW_DNS_NAME_MAX];            /* lower case, no trailing dot */
	char value[DW_ACME_VALUE_LEN + 1];
};

struct dw_acme_req {
	enum dw_acme_action action;
	const char *client;                    /* "lego", "lego RAW", "certbot", "dehydrated" */
	struct dw_acme_item items[DW_ACME_ITEMS_MAX];
	size_t n;
};

/* Looks up an environment variable; NULL when unset.  getenv in the
 * program, a table in tests. */
typedef const char *(*dw_acme_env_fn)(const char *name);

/* Parses argv[0..argc) (argv[0] is the sub-command word "acme") into out.
 * Values must be exactly 43 characters of base64url (the canonical encoding
 * of 32 bytes); names are checked with dw_fqdn_normalize and may not be
 * wildcards.  A domain (RAW, certbot, dehydrated) becomes
 * "_acme-challenge.DOMAIN" with a leading "*." removed.  Returns 0, or
 * DW_EINVAL with a message for the user in diag. */
int dw_acme_parse(int argc, char *const argv[], dw_acme_env_fn env,
                  struct dw_acme_req *out, struct dw_diag *diag);

/* True when s is a dns-01 TXT value: 43 characters of the base64url
 * alphabet whose last one encodes no stray bits. */
bool dw_acme_value_valid(const char *s);

/* The dns-01 value of a key authorization: base64url (no padding) of its
 * SHA-256.  out receives 43 characters and a NUL.  Returns 0 or DW_EINVAL
 * (keyauth is not TOKEN.THUMBPRINT in base64url, or too long). */
int dw_acme_keyauth_value(const char *keyauth, char out[DW_ACME_VALUE_LEN + 1]);

/* "_acme-challenge." + domain without a leading "*.", normalised.  Returns 0
 * or DW_EINVAL (not a valid name, or too long). */
int dw_acme_challenge_name(const char *domain, char out[DW_DNS_NAME_MAX]);

/* Parses an acme-zones value: domain names separated by commas and/or
 * blanks, at least one, at most DW_ACME_ZONES_MAX, no wildcards, no
 * duplicates.  On success *out is a NULL-terminated array of normalised
 * names (free with dw_acme_zones_free) and *n their number.  Returns 0,
 * DW_EINVAL (diag says which entry) or DW_ENOMEM. */
int dw_acme_zones_parse(const char *text, char ***out, size_t *n, struct dw_diag *diag);
void dw_acme_zones_free(char **zones);

/* Length of the longest entry of zones[0..n) that holds name on a label
 * boundary (the entry itself or below it), or -1 when none does. */
int dw_acme_zone_match(const char *name, char *const *zones, size_t n);
