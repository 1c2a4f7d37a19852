/* Request parsing for the three client APIs, as pure functions over
 * already-split inputs (query parameters, JSON bodies): dyndns2
 * (protocols.md section 3), acme-dns (section 7) and lego httpreq
 * (section 8).  Authorisation is not decided here; the server checks every
 * name these return against the token's host. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gateway/gw_parse.h"
#include "lib/addr.h"

#define GW_DD_MAX_NAMES 20
#define GW_NAME_MAX 254
#define GW_JSON_MAX 4096

/* dyndns2 GET /nic/update */
struct gw_dd_name {
	char name[GW_NAME_MAX];   /* normalised when valid */
	bool valid;               /* false: reply "notfqdn" */
};

struct gw_dd_req {
	struct gw_dd_name names[GW_DD_MAX_NAMES];
	size_t nnames;
	bool has_ip[DW_FAM_COUNT];
	struct dw_ip ip[DW_FAM_COUNT];
	/* FRITZ!Box "prefix/len" in myipv6 or ip6lanprefix: combine with the
	 * host's interface id (gw_prefix_combine). */
	bool has_prefix;
	char prefix[64];
	bool offline;             /* offline=yes: refused (we never delete addresses) */
};

enum gw_dd_err {
	GW_DD_OK = 0,
	GW_DD_NOHOST,             /* no hostname parameter */
	GW_DD_TOOMANY,            /* more than GW_DD_MAX_NAMES: "numhost" */
	GW_DD_BADIP,              /* an address parameter (or offline=) is malformed */
};

/* Reads hostname (comma list), myip (v4, v6 or "v4,v6"), myipv4, myipv6
 * (an address or the prefix form), ip6lanprefix, offline (yes/1/no/0, any
 * other value is GW_DD_BADIP).  Other dyndns2
 * options (wildcard, mx, backmx, system, ...) are ignored. */
enum gw_dd_err gw_dd_parse(const struct gw_query *q, struct gw_dd_req *out);

/* acme-dns POST /update body: {"subdomain": "...", "txt": "..."}, keys
 * matched case-insensitively (lego 4.9.1 sends "SubDomain", "Txt"). */
struct gw_acmedns_req {
	char subdomain[GW_NAME_MAX];
	char txt[64];
};

enum gw_json_err {
	GW_JSON_OK = 0,
	GW_JSON_BAD,              /* not a JSON object, a key twice, wrong types */
	GW_JSON_BAD_NAME,         /* acme-dns "bad_subdomain" */
	GW_JSON_BAD_TXT,          /* acme-dns "bad_txt" */
};

enum gw_json_err gw_acmedns_parse(const char *body, size_t len, struct gw_acmedns_req *out);

/* lego httpreq /present and /cleanup body: {"fqdn": "_acme-challenge.h.",
 * "value": "..."} or, in RAW mode, {"domain", "token", "keyAuth"}: then
 * fqdn is "_acme-challenge." + domain (a "*." prefix dropped, as a wildcard
 * validates at its base name) and value is computed from keyAuth. */
struct gw_httpreq_req {
	char fqdn[GW_NAME_MAX];   /* normalised, no trailing dot */
	char value[64];
	bool raw;
};

enum gw_json_err gw_httpreq_parse(const char *body, size_t len, struct gw_httpreq_req *out);

/* "_acme-challenge." + fqdn into out; false when it does not fit. */
bool gw_acme_name(const char *fqdn, char *out, size_t cap);
