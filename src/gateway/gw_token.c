/* Token generation, syntax and constant-time verification. */
#include "gateway/gw_token.h"

#include <sodium.h>
#include <string.h>

#include "lib/error.h"

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int gw_token_new(struct gw_token *t)
{
	uint8_t idb[GW_TOKEN_ID_LEN / 2], secret[32];
	randombytes_buf(idb, sizeof(idb));
	randombytes_buf(secret, sizeof(secret));
	memset(t, 0, sizeof(*t));
	sodium_bin2hex(t->id, sizeof(t->id), idb, sizeof(idb));
	memcpy(t->text, GW_TOKEN_PREFIX, 4);
	memcpy(t->text + 4, t->id, GW_TOKEN_ID_LEN);
	t->text[4 + GW_TOKEN_ID_LEN] = '_';
	char b64[GW_TOKEN_SECRET_LEN + 1];
	sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	memcpy(t->text + 5 + GW_TOKEN_ID_LEN, b64, GW_TOKEN_SECRET_LEN);
	t->text[GW_TOKEN_LEN] = '\0';
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b64, sizeof(b64));
	gw_token_hash(t->text, GW_TOKEN_LEN, t->hash);
	return DW_OK;
}

int gw_token_parse(const char *s, size_t len, char id[GW_TOKEN_ID_LEN + 1])
{
	if (len != GW_TOKEN_LEN || memcmp(s, GW_TOKEN_PREFIX, 4) != 0 ||
	    s[4 + GW_TOKEN_ID_LEN] != '_')
		return DW_EINVAL;
	for (size_t i = 0; i < GW_TOKEN_ID_LEN; i++) {
		if (!is_hex(s[4 + i]))
			return DW_EINVAL;
	}
	for (size_t i = 5 + GW_TOKEN_ID_LEN; i < GW_TOKEN_LEN; i++) {
		if (!is_b64url(s[i]))
			return DW_EINVAL;
	}
	memcpy(id, s + 4, GW_TOKEN_ID_LEN);
	id[GW_TOKEN_ID_LEN] = '\0';
	return DW_OK;
}

void gw_token_hash(const char *s, size_t len, uint8_t out[GW_TOKEN_HASH_LEN])
{
	crypto_generichash(out, GW_TOKEN_HASH_LEN, (const unsigned char *)s, len, NULL, 0);
}

bool gw_token_verify(const char *s, size_t len, const uint8_t hash[GW_TOKEN_HASH_LEN])
{
	uint8_t h[GW_TOKEN_HASH_LEN];
	gw_token_hash(s, len, h);
	bool ok = sodium_memcmp(h, hash, sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	return ok;
}

void gw_token_wipe(struct gw_token *t)
{
	sodium_memzero(t, sizeof(*t));
}
