/* The state file: what each provider last accepted, written atomically. */
#include "lib/state.h"

#include "lib/statedir.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_VERSION 1
#define STATE_FILE_MAX (16 * 1024 * 1024)

static const char *fam_key(enum dw_family f)
{
	return f == DW_FAM_V4 ? "ipv4" : "ipv6";
}

static struct dw_state_entry *state_find(const struct dw_state *st, const char *fqdn,
                                         enum dw_family fam, const char *provider)
{
	for (size_t i = 0; i < st->n; i++) {
		struct dw_state_entry *e = &st->v[i];
		if (e->family == fam && strcmp(e->fqdn, fqdn) == 0 &&
		    strcmp(e->provider, provider) == 0)
			return e;
	}
	return NULL;
}

const struct dw_state_entry *dw_state_get(const struct dw_state *st, const char *fqdn,
                                          enum dw_family fam, const char *provider)
{
	return state_find(st, fqdn, fam, provider);
}

int dw_state_set(struct dw_state *st, const char *fqdn, enum dw_family fam,
                 const char *provider, const char *address, int64_t updated)
{
	size_t alen = strlen(address);
	if (alen >= DW_IP_STRLEN)
		return DW_EINVAL;
	struct dw_state_entry *e = state_find(st, fqdn, fam, provider);
	if (e == NULL) {
		if (st->n == st->cap) {
			size_t ncap = st->cap ? st->cap * 2 : 8;
			struct dw_state_entry *nv = realloc(st->v, ncap * sizeof(*nv));
			if (nv == NULL)
				return DW_ENOMEM;
			st->v = nv;
			st->cap = ncap;
		}
		e = &st->v[st->n];
		memset(e, 0, sizeof(*e));
		e->fqdn = strdup(fqdn);
		e->provider = strdup(provider);
		if (e->fqdn == NULL || e->provider == NULL) {
			free(e->fqdn);
			free(e->provider);
			return DW_ENOMEM;
		}
		e->family = fam;
		st->n++;
	}
	memcpy(e->address, address, alen + 1);
	e->updated = updated;
	return DW_OK;
}

void dw_state_free(struct dw_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].fqdn);
		free(st->v[i].provider);
	}
	free(st->v);
	memset(st, 0, sizeof(*st));
}

int dw_state_load(const char *path, struct dw_state *out, struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	struct dw_statedir sd;
	char name[256];
	int ret = dw_statedir_open_parent(path, 0, &sd, name, sizeof(name), diag);
	if (ret == DW_ENOTFOUND)
		return DW_OK;   /* first run: not even the directory yet */
	if (ret != DW_OK)
		return ret;
	char *text = NULL;
	size_t len = 0;
	ret = dw_statedir_read(&sd, name, STATE_FILE_MAX, &text, &len, diag);
	dw_statedir_close(&sd);
	if (ret == DW_ENOTFOUND)
		return DW_OK;   /* first run */
	if (ret != DW_OK)
		return ret;
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (root == NULL)
		return dw_diag_set(diag, DW_EPARSE,
		                   "state file %s is corrupt (line %d: %s); move it aside to start afresh",
		                   path, jerr.line, jerr.text);

	json_t *ver = json_object_get(root, "version");
	json_t *recs = json_object_get(root, "records");
	if (!json_is_integer(ver) || json_integer_value(ver) != STATE_VERSION || !json_is_array(recs)) {
		ret = dw_diag_set(diag, DW_EPARSE, "state file %s has an unknown layout (version %lld)",
		                  path, json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL);
		goto out;
	}
	size_t i;
	json_t *it;
	json_array_foreach(recs, i, it) {
		const char *fqdn = json_string_value(json_object_get(it, "fqdn"));
		const char *fam = json_string_value(json_object_get(it, "family"));
		const char *prov = json_string_value(json_object_get(it, "provider"));
		const char *addr = json_string_value(json_object_get(it, "address"));
		json_t *upd = json_object_get(it, "updated");
		struct dw_ip ip;
		enum dw_family family = DW_FAM_V4;
		if (fam != NULL && strcmp(fam, "ipv6") == 0)
			family = DW_FAM_V6;
		/* A time dnsward could have written: whoever computes with it
		 * (ages, next re-assertion) never overflows. */
		bool when_ok = json_is_integer(upd) && json_integer_value(upd) >= 0 &&
		               json_integer_value(upd) <= DW_STATE_TIME_MAX;
		if (fqdn == NULL || fam == NULL || prov == NULL || addr == NULL || !when_ok ||
		    (strcmp(fam, "ipv4") != 0 && strcmp(fam, "ipv6") != 0) ||
		    dw_ip_parse(addr, family, &ip) != DW_OK) {
			ret = dw_diag_set(diag, DW_EPARSE, "state file %s: entry %zu is malformed%s",
			                  path, i + 1, json_is_integer(upd) && !when_ok
			                  ? " (\"updated\" is not a time from 1970 to 9999)" : "");
			goto out;
		}
		ret = dw_state_set(out, fqdn, family, prov, addr, json_integer_value(upd));
		if (ret != DW_OK) {
			dw_diag_set(diag, ret, "out of memory loading %s", path);
			goto out;
		}
	}
out:
	json_decref(root);
	if (ret != DW_OK)
		dw_state_free(out);
	return ret;
}

int dw_state_save(const struct dw_state *st, const char *path, struct dw_diag *diag)
{
	int ret = DW_OK;
	char *text = NULL;
	json_t *root = json_object();
	json_t *recs = json_array();
	if (root == NULL || recs == NULL || json_object_set_new(root, "version", json_integer(STATE_VERSION)) ||
	    json_object_set(root, "records", recs)) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < st->n; i++) {
		const struct dw_state_entry *e = &st->v[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "fqdn", e->fqdn,
		                      "family", fam_key(e->family), "provider", e->provider,
		                      "address", e->address, "updated", (json_int_t)e->updated);
		if (o == NULL || json_array_append_new(recs, o) != 0) {
			ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
			goto out;
		}
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	size_t tlen = text != NULL ? strlen(text) : 0;
	char *nl = text != NULL ? realloc(text, tlen + 2) : NULL;
	if (nl == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	text = nl;
	memcpy(text + tlen, "\n", 2);

	/* Written only by the directory's owner, relative to its descriptor:
	 * a new temporary file, fsync, rename over the old one, fsync of the
	 * directory (lib/statedir.h). */
	struct dw_statedir sd;
	char name[256];
	ret = dw_statedir_open_parent(path, DW_STATEDIR_OWNER, &sd, name, sizeof(name), diag);
	if (ret == DW_OK) {
		ret = dw_statedir_write(&sd, name, text, tlen + 1, diag);
		dw_statedir_close(&sd);
	}
out:
	free(text);
	json_decref(recs);
	json_decref(root);
	return ret;
}
