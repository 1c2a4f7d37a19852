/* Shared by the importers' fuzz targets: whatever the input, the rendered
 * dnsward.conf is comment lines, section headers and "key = value" lines
 * with values dnsward.conf can hold; secrets appear only as file paths; the
 * notes are one line each. */
#pragma once

#include <stdlib.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "migrate/model.h"

/* How often needle occurs in the input (overlaps counted). */
static inline size_t fuzz_count(const char *in, size_t len, const char *needle)
{
	size_t n = strlen(needle), hits = 0;
	for (size_t i = 0; n > 0 && i + n <= len; i++)
		if (memcmp(in + i, needle, n) == 0)
			hits++;
	return hits;
}

/* A value with a character no note's own wording has (so a match is the
 * value itself, not words such as "password" the fuzzer chose as one). */
static inline bool fuzz_marked(const char *v)
{
	for (; *v != '\0'; v++)
		if (strchr("#!$&<>^`|~", *v) != NULL || (unsigned char)*v >= 0x80)
			return true;
	return false;
}

static inline void fuzz_check_import(struct mg_conf *c, const char *in, size_t len)
{
	for (size_t i = 0; i < c->nnotes; i++)
		if (strchr(c->notes[i], '\n') != NULL)
			abort();
	const char *bad = NULL;
	char *text = mg_render(c, "/etc/dnsward", &bad);
	if (text == NULL)
		return;   /* refused as a whole: cmd_import reports it */
	for (char *line = text; *line != '\0';) {
		char *nl = strchr(line, '\n');
		if (nl == NULL)
			abort();   /* every line ends with a newline */
		*nl = '\0';
		if (line[0] != '\0' && line[0] != ';' && line[0] != '[') {
			char *eq = strstr(line, " = ");
			if (eq == NULL || !mg_value_ok(eq + 3))
				abort();
		}
		line = nl + 1;
	}
	free(text);
	/* A secret written once in the input never reaches a note (text also
	 * elsewhere in the input, e.g. a password equal to a host name, may;
	 * derived secrets such as Basic credentials are not in the input; short
	 * or unmarked values could match a note's own words). */
	struct mg_section *secs[] = { c->providers, c->records };
	size_t counts[] = { c->nproviders, c->nrecords };
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < counts[s]; i++)
			for (size_t k = 0; k < secs[s][i].nkv; k++) {
				const struct mg_kv *kv = &secs[s][i].kv[k];
				if (!kv->secret || strcmp(kv->key, "secret-basic-file") == 0 ||
				    strlen(kv->value) < 8 || fuzz_count(in, len, kv->value) != 1 ||
				    !fuzz_marked(kv->value))
					continue;
				for (size_t n = 0; n < c->nnotes; n++)
					if (strstr(c->notes[n], kv->value) != NULL)
						abort();
			}
}
