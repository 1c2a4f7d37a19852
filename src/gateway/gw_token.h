/* Host tokens: "dwg_" + 16 hex digits of id + "_" + 43 base64url characters
 * of a 256-bit random secret (64 characters in all, safe in URLs, headers
 * and FRITZ!Box templates that escape nothing).
 *
 * Only a hash of the whole token is stored (BLAKE2b-256, libsodium's
 * crypto_generichash: the secret has 256 bits of entropy, so a fast hash is
 * enough); the id finds the row, the hash comparison is constant-time.  The
 * token text exists only in the struct returned by gw_token_new(), printed
 * once and wiped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_TOKEN_PREFIX "dwg_"
#define GW_TOKEN_ID_LEN 16
#define GW_TOKEN_SECRET_LEN 43
#define GW_TOKEN_LEN (4 + GW_TOKEN_ID_LEN + 1 + GW_TOKEN_SECRET_LEN)
#define GW_TOKEN_HASH_LEN 32

struct gw_token {
	char text[GW_TOKEN_LEN + 1];        /* the secret: show once, then wipe */
	char id[GW_TOKEN_ID_LEN + 1];
	uint8_t hash[GW_TOKEN_HASH_LEN];
};

/* Makes a fresh random token.  Requires sodium_init().  Returns 0. */
int gw_token_new(struct gw_token *t);
/* Checks that s[0..len) has the token syntax and copies its id into id.
 * Pure; returns 0 or DW_EINVAL. */
int gw_token_parse(const char *s, size_t len, char id[GW_TOKEN_ID_LEN + 1]);
/* Hash of s[0..len). */
void gw_token_hash(const char *s, size_t len, uint8_t out[GW_TOKEN_HASH_LEN]);
/* Constant-time check of s[0..len) against a stored hash. */
bool gw_token_verify(const char *s, size_t len, const uint8_t hash[GW_TOKEN_HASH_LEN]);
/* Wipes the token text and hash. */
void gw_token_wipe(struct gw_token *t);
