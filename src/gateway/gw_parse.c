/* Pure parsers for request inputs (see gw_parse.h). */
#include "gateway/gw_parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "lib/error.h"

/* ---- query strings ------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into out (cap bytes incl. NUL). */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return DW_EINVAL;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return DW_EINVAL;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return DW_EINVAL;
		if (o + 1 >= cap)
			return DW_EINVAL;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return DW_OK;
}

int gw_query_parse(const char *s, size_t len, struct gw_query *out)
{
	out->n = 0;
	if (len > GW_QUERY_RAW_MAX)
		return DW_EINVAL;
	size_t i = 0;
	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t end = amp != NULL ? (size_t)(amp - s) : len;
		if (end > i) {
			if (out->n == GW_QUERY_MAX_PARAMS)
				goto bad;
			const char *eq = memchr(s + i, '=', end - i);
			size_t kend = eq != NULL ? (size_t)(eq - s) : end;
			struct gw_param *p = &out->p[out->n];
			if (kend == i || decode(s + i, kend - i, p->key, sizeof(p->key)) != DW_OK)
				goto bad;
			if (eq != NULL) {
				if (decode(eq + 1, end - kend - 1, p->value, sizeof(p->value)) != DW_OK)
					goto bad;
			} else {
				p->value[0] = '\0';
			}
			if (gw_query_get(out, p->key) != NULL)
				goto bad;
			out->n++;
		}
		i = end + 1;
	}
	return DW_OK;
bad:
	out->n = 0;
	return DW_EINVAL;
}

const char *gw_query_get(const struct gw_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->p[i].key, key) == 0)
			return q->p[i].value;
	}
	return NULL;
}

/* ---- Basic credentials -------------------------------------------------- */

int gw_basic_parse(const char *header, char user[GW_CRED_MAX], char pass[GW_CRED_MAX])
{
	user[0] = pass[0] = '\0';
	if (header == NULL || strncasecmp(header, "Basic ", 6) != 0)
		return DW_EINVAL;
	const char *b = header + 6;
	while (*b == ' ')
		b++;
	size_t blen = strlen(b);
	while (blen > 0 && b[blen - 1] == ' ')
		blen--;
	if (blen == 0 || blen > 2 * GW_CRED_MAX * 4 / 3 + 8)
		return DW_EINVAL;
	unsigned char raw[2 * GW_CRED_MAX + 8];
	size_t rlen = 0;
	const char *end = NULL;
	int variant = (blen % 4 == 0) ? sodium_base64_VARIANT_ORIGINAL
	                              : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
	if (sodium_base642bin(raw, sizeof(raw), b, blen, NULL, &rlen, &end, variant) != 0 ||
	    end != b + blen)
		goto bad;
	const unsigned char *colon = memchr(raw, ':', rlen);
	if (colon == NULL)
		goto bad;
	size_t ulen = (size_t)(colon - raw), plen = rlen - ulen - 1;
	if (ulen == 0 || plen == 0 || ulen >= GW_CRED_MAX || plen >= GW_CRED_MAX)
		goto bad;
	for (size_t i = 0; i < rlen; i++) {
		if (raw[i] < 0x21 || raw[i] > 0x7e)
			goto bad;
	}
	memcpy(user, raw, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	sodium_memzero(raw, sizeof(raw));
	return DW_OK;
bad:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(user, GW_CRED_MAX);
	sodium_memzero(pass, GW_CRED_MAX);
	return DW_EINVAL;
}

/* ---- addresses ---------------------------------------------------------- */

int gw_ip_parse_unmapped(const char *s, struct dw_ip *out)
{
	if (dw_ip_parse_any(s, out) != DW_OK)
		return DW_EINVAL;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (out->family == DW_FAM_V6 && memcmp(out->bytes, mapped, 12) == 0) {
		uint8_t v4[4];
		memcpy(v4, out->bytes + 12, 4);
		memset(out->bytes, 0, sizeof(out->bytes));
		memcpy(out->bytes, v4, 4);
		out->family = DW_FAM_V4;
	}
	return DW_OK;
}

int gw_cidrs_parse(const char *s, struct gw_cidrs *out)
{
	out->n = 0;
	const char *p = s;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return DW_OK;
		size_t n = strcspn(p, " \t,");
		char item[64];
		if (n >= sizeof(item) || out->n == GW_CIDR_MAX)
			return DW_EINVAL;
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		enum dw_family fam = strchr(item, ':') != NULL ? DW_FAM_V6 : DW_FAM_V4;
		struct dw_prefix *px = &out->v[out->n];
		if (strchr(item, '/') != NULL) {
			if (dw_prefix_parse(item, fam, px) != DW_OK)
				return DW_EINVAL;
		} else {
			if (dw_ip_parse(item, fam, &px->ip) != DW_OK)
				return DW_EINVAL;
			px->len = fam == DW_FAM_V4 ? 32 : 128;
		}
		out->n++;
	}
}

bool gw_cidrs_contain(const struct gw_cidrs *c, const struct dw_ip *ip)
{
	for (size_t i = 0; i < c->n; i++) {
		if (dw_prefix_contains(&c->v[i], ip))
			return true;
	}
	return false;
}

int gw_client_addr(const struct dw_ip *peer, const char *xff, const struct gw_cidrs *trusted,
                   struct dw_ip *out)
{
	*out = *peer;
	if (!gw_cidrs_contain(trusted, peer))
		return DW_OK;
	if (xff == NULL)
		return DW_EINVAL;
	size_t len = strlen(xff);
	if (len > 2048)
		return DW_EINVAL;
	/* From the right: each proxy appends the address it received from. */
	size_t end = len;
	for (int hops = 0; hops < 32; hops++) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		size_t a = start, b = end;
		while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
			a++;
		while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
			b--;
		char item[64];
		struct dw_ip ip;
		if (b - a == 0 || b - a >= sizeof(item))
			return DW_EINVAL;
		memcpy(item, xff + a, b - a);
		item[b - a] = '\0';
		if (gw_ip_parse_unmapped(item, &ip) != DW_OK)
			return DW_EINVAL;
		if (!gw_cidrs_contain(trusted, &ip) || start == 0) {
			if (gw_cidrs_contain(trusted, &ip))
				return DW_EINVAL;   /* only proxies in the chain */
			*out = ip;
			return DW_OK;
		}
		end = start - 1;
	}
	return DW_EINVAL;
}

int gw_prefix_combine(const char *prefix, const struct dw_ip *iid, struct dw_ip *out)
{
	const char *slash = strchr(prefix, '/');
	char addr[DW_IP_STRLEN];
	if (slash == NULL || (size_t)(slash - prefix) >= sizeof(addr) || iid->family != DW_FAM_V6)
		return DW_EINVAL;
	memcpy(addr, prefix, (size_t)(slash - prefix));
	addr[slash - prefix] = '\0';
	const char *l = slash + 1;
	if (!isdigit((unsigned char)l[0]) || strlen(l) > 3)
		return DW_EINVAL;
	unsigned len = 0;
	for (; *l != '\0'; l++) {
		if (!isdigit((unsigned char)*l))
			return DW_EINVAL;
		len = len * 10 + (unsigned)(*l - '0');
	}
	struct dw_ip px;
	if (len < 1 || len > 128 || dw_ip_parse(addr, DW_FAM_V6, &px) != DW_OK)
		return DW_EINVAL;
	out->family = DW_FAM_V6;
	for (unsigned bit = 0; bit < 128; bit++) {
		unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);
		const struct dw_ip *src = bit < len ? &px : iid;
		if (src->bytes[byte] & mask)
			out->bytes[byte] = (uint8_t)(out->bytes[byte] | mask);
		else
			out->bytes[byte] = (uint8_t)(out->bytes[byte] & ~mask);
	}
	return DW_OK;
}

/* ---- names and values --------------------------------------------------- */

int gw_name_normalize(char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	if (len == 0 || len > 253)
		return DW_EINVAL;
	size_t label = 0;
	for (char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 'A' && c <= 'Z')
			*p = (char)(c - 'A' + 'a');
		else if (c == '.') {
			if (label == 0)
				return DW_EINVAL;
			label = 0;
			continue;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return DW_EINVAL;
		if (++label > 63)
			return DW_EINVAL;
	}
	return label == 0 ? DW_EINVAL : DW_OK;
}

bool gw_acme_value_ok(const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0'; i++) {
		char c = s[i];
		if (i >= 43 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		                 (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return i == 43;
}

void gw_acme_value_from_keyauth(const char *keyauth, char value[44])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)keyauth, strlen(keyauth));
	sodium_bin2base64(value, 44, h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
