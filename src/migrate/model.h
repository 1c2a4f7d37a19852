/* What "dnsward import" builds from another client's configuration: the
 * dnsward.conf to print, the secrets to write to files of their own, and the
 * notes naming every setting that was not translated and why.
 *
 * The parsers (ddclient.h, inadyn.h) fill a struct mg_conf from untrusted
 * bytes; they never touch files or the network.  cmd_import writes the
 * secrets (mode 0600) and prints mg_render()'s text.
 *
 * A secret is a value marked secret: it never appears in the rendered text,
 * in a note or in a log line; the rendered key names the file it goes to
 * (DIR/FILENAME, see mg_secret_filename).  Every limit below is checked; when
 * one is reached the parser stops with DW_ETOOBIG. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define MG_MAX_KV 24          /* keys per section */
#define MG_MAX_PROVIDERS 64
#define MG_MAX_RECORDS 256
#define MG_MAX_NOTES 256
#define MG_MAX_VALUE 1024     /* bytes of one value (secrets included) */

struct mg_kv {
	char *key;
	char *value;
	bool secret;   /* value is secret: written to a file, key names it */
};

/* A [provider NAME] or [record FQDN] section of the output. */
struct mg_section {
	char *name;
	struct mg_kv kv[MG_MAX_KV];
	size_t nkv;
	int line;      /* where the source defined it (for notes) */
};

struct mg_conf {
	const char *file;               /* source file name for notes (not owned) */
	const char *client;             /* "ddclient" or "inadyn" (static) */
	struct mg_section globals;      /* [dnsward] keys */
	struct mg_section providers[MG_MAX_PROVIDERS];
	size_t nproviders;
	struct mg_section records[MG_MAX_RECORDS];
	size_t nrecords;
	/* The interfaces of this machine's default routes, for a client's
	 * "default" interface; NULL: unknown (then noted). */
	const char *default_iface4, *default_iface6;
	char *notes[MG_MAX_NOTES];      /* "FILE:LINE: text", never secret */
	size_t nnotes;
	size_t dropped_notes;           /* notes past MG_MAX_NOTES, counted */
};

/* Zeroes c and sets its file and client names (both must outlive c). */
void mg_conf_init(struct mg_conf *c, const char *file, const char *client);
/* Frees everything c owns, wiping secret values first. */
void mg_conf_free(struct mg_conf *c);

/* Adds "FILE:LINE: text" (line 0: no line).  Returns 0 or DW_ENOMEM. */
int mg_note(struct mg_conf *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets key in sec (replacing an earlier value).  value is copied; secret
 * marks it as a secret.  Returns 0, DW_ETOOBIG (too many keys or value too
 * long) or DW_ENOMEM. */
int mg_set(struct mg_section *sec, const char *key, const char *value, bool secret);
/* Value of key in sec, or NULL. */
const char *mg_get(const struct mg_section *sec, const char *key);

/* Finds a provider with exactly the keys and values of cand (secrets
 * included) or adds cand under a free name derived from base ("noip",
 * "noip-2", ...).  cand's contents move into the conf (cand is left empty).
 * *name_out points at the provider's name inside c.  Returns 0,
 * DW_ETOOBIG or DW_ENOMEM. */
int mg_provider_add(struct mg_conf *c, const char *base, struct mg_section *cand,
                    const char **name_out);

/* The record for fqdn, created (with line) when absent; NULL on DW_ETOOBIG or
 * allocation failure. */
struct mg_section *mg_record(struct mg_conf *c, const char *fqdn, int line, bool *created);

/* The file name a secret of sec goes to: "SECTION.KEY" with KEY's "-file"
 * suffix removed and every character outside [A-Za-z0-9._-] replaced by '_'
 * (a leading '.' too).  Returns 0, or DW_ETOOBIG when it does not fit. */
int mg_secret_filename(const struct mg_section *sec, const struct mg_kv *kv,
                       char *buf, size_t size);

/* The dnsward.conf text: a header naming the source, the notes as comments,
 * then [dnsward], providers and records; secret keys name
 * secret_dir/FILENAME.  Returns a malloc'ed string, or NULL when out of
 * memory or when a value cannot be written as an INI value (then *bad names
 * the key; the parsers never produce such values). */
char *mg_render(const struct mg_conf *c, const char *secret_dir, const char **bad);

/* True when v can be an INI value of dnsward.conf: no control characters,
 * no " ;" or "\t;" (a comment start), no leading or trailing blank space. */
bool mg_value_ok(const char *v);
