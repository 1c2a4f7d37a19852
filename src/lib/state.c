/* The state file: what each provider last accepted, written atomically. */
#include "lib/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_VERSION 1

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

#define RESULT_MSG_MAX 512

static struct dw_state_result *result_find(const struct dw_state *st, const char *fqdn,
                                           enum dw_family fam, const char *provider)
{
	for (size_t i = 0; i < st->nres; i++) {
		struct dw_state_result *r = &st->res[i];
		if (r->family == fam && strcmp(r->fqdn, fqdn) == 0 && strcmp(r->provider, provider) == 0)
			return r;
	}
	return NULL;
}

const struct dw_state_result *dw_state_get_result(const struct dw_state *st, const char *fqdn,
                                                  enum dw_family fam, const char *provider)
{
	return result_find(st, fqdn, fam, provider);
}

/* A printable, bounded copy of untrusted text (a provider's reply may be
 * quoted in a message). */
static char *printable_dup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *c = malloc(n + 1);
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		c[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	c[n] = '\0';
	return c;
}

int dw_state_set_result(struct dw_state *st, const char *fqdn, enum dw_family fam,
                        const char *provider, const char *outcome, const char *address,
                        const char *message, int64_t now, bool *changed)
{
	if (changed != NULL)
		*changed = false;
	if (address == NULL)
		address = "";
	if (message == NULL)
		message = "";
	if (strlen(address) >= DW_IP_STRLEN || strlen(outcome) >= sizeof(((struct dw_state_result *)0)->outcome))
		return DW_EINVAL;
	char *msg = printable_dup(message, RESULT_MSG_MAX);
	if (msg == NULL)
		return DW_ENOMEM;
	struct dw_state_result *r = result_find(st, fqdn, fam, provider);
	if (r != NULL && strcmp(r->outcome, outcome) == 0 && strcmp(r->address, address) == 0 &&
	    strcmp(r->message, msg) == 0) {
		free(msg);
		return DW_OK;
	}
	if (r == NULL) {
		if (st->nres == st->capres) {
			size_t ncap = st->capres ? st->capres * 2 : 8;
			struct dw_state_result *nv = realloc(st->res, ncap * sizeof(*nv));
			if (nv == NULL) {
				free(msg);
				return DW_ENOMEM;
			}
			st->res = nv;
			st->capres = ncap;
		}
		r = &st->res[st->nres];
		memset(r, 0, sizeof(*r));
		r->fqdn = strdup(fqdn);
		r->provider = strdup(provider);
		if (r->fqdn == NULL || r->provider == NULL) {
			free(r->fqdn);
			free(r->provider);
			free(msg);
			return DW_ENOMEM;
		}
		r->family = fam;
		st->nres++;
	}
	free(r->message);
	r->message = msg;
	snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
	snprintf(r->address, sizeof(r->address), "%s", address);
	r->since = now;
	if (changed != NULL)
		*changed = true;
	return DW_OK;
}

static struct dw_state_memo *memo_find(const struct dw_state *st, const char *fqdn,
                                       const char *provider)
{
	for (size_t i = 0; i < st->nmemo; i++)
		if (strcmp(st->memo[i].fqdn, fqdn) == 0 && strcmp(st->memo[i].provider, provider) == 0)
			return &st->memo[i];
	return NULL;
}

const char *dw_state_get_memo(const struct dw_state *st, const char *fqdn, const char *provider)
{
	const struct dw_state_memo *m = memo_find(st, fqdn, provider);
	return m != NULL ? m->text : NULL;
}

static bool memo_valid(const char *text)
{
	size_t n = strnlen(text, DW_STATE_MEMO_MAX + 1);
	if (n > DW_STATE_MEMO_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f)
			return false;
	return true;
}

int dw_state_set_memo(struct dw_state *st, const char *fqdn, const char *provider,
                      const char *text, bool *changed)
{
	if (changed != NULL)
		*changed = false;
	struct dw_state_memo *m = memo_find(st, fqdn, provider);
	if (text == NULL) {
		if (m == NULL)
			return DW_OK;
		free(m->fqdn);
		free(m->provider);
		free(m->text);
		*m = st->memo[--st->nmemo];
		if (changed != NULL)
			*changed = true;
		return DW_OK;
	}
	if (!memo_valid(text))
		return DW_EINVAL;
	if (m != NULL && strcmp(m->text, text) == 0)
		return DW_OK;
	char *t = strdup(text);
	if (t == NULL)
		return DW_ENOMEM;
	if (m == NULL) {
		if (st->nmemo == st->capmemo) {
			size_t ncap = st->capmemo ? st->capmemo * 2 : 4;
			struct dw_state_memo *nv = realloc(st->memo, ncap * sizeof(*nv));
			if (nv == NULL) {
				free(t);
				return DW_ENOMEM;
			}
			st->memo = nv;
			st->capmemo = ncap;
		}
		m = &st->memo[st->nmemo];
		m->fqdn = strdup(fqdn);
		m->provider = strdup(provider);
		m->text = NULL;
		if (m->fqdn == NULL || m->provider == NULL) {
			free(m->fqdn);
			free(m->provider);
			free(t);
			return DW_ENOMEM;
		}
		st->nmemo++;
	}
	free(m->text);
	m->text = t;
	if (changed != NULL)
		*changed = true;
	return DW_OK;
}

void dw_state_free(struct dw_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].fqdn);
		free(st->v[i].provider);
	}
	free(st->v);
	for (size_t i = 0; i < st->nres; i++) {
		free(st->res[i].fqdn);
		free(st->res[i].provider);
		free(st->res[i].message);
	}
	free(st->res);
	for (size_t i = 0; i < st->nmemo; i++) {
		free(st->memo[i].fqdn);
		free(st->memo[i].provider);
		free(st->memo[i].text);
	}
	free(st->memo);
	memset(st, 0, sizeof(*st));
}

/* The optional "results" and "memos" arrays.  Malformed items are errors,
 * like malformed records: a file is never half understood. */
static int load_extras(json_t *root, const char *path, struct dw_state *out,
                       struct dw_diag *diag)
{
	json_t *results = json_object_get(root, "results");
	json_t *memos = json_object_get(root, "memos");
	if ((results != NULL && !json_is_array(results)) || (memos != NULL && !json_is_array(memos)))
		return dw_diag_set(diag, DW_EPARSE, "state file %s has an unknown layout", path);
	size_t i;
	json_t *it;
	json_array_foreach(results, i, it) {
		const char *fqdn = json_string_value(json_object_get(it, "fqdn"));
		const char *fam = json_string_value(json_object_get(it, "family"));
		const char *prov = json_string_value(json_object_get(it, "provider"));
		const char *outcome = json_string_value(json_object_get(it, "outcome"));
		const char *addr = json_string_value(json_object_get(it, "address"));
		const char *msg = json_string_value(json_object_get(it, "message"));
		json_t *since = json_object_get(it, "since");
		enum dw_family family = fam != NULL && strcmp(fam, "ipv6") == 0 ? DW_FAM_V6 : DW_FAM_V4;
		struct dw_ip ip;
		if (fqdn == NULL || fam == NULL || prov == NULL || outcome == NULL || addr == NULL ||
		    msg == NULL || !json_is_integer(since) ||
		    (strcmp(fam, "ipv4") != 0 && strcmp(fam, "ipv6") != 0) ||
		    (addr[0] != '\0' && dw_ip_parse(addr, family, &ip) != DW_OK))
			return dw_diag_set(diag, DW_EPARSE, "state file %s: result %zu is malformed",
			                   path, i + 1);
		int ret = dw_state_set_result(out, fqdn, family, prov, outcome, addr, msg,
		                              json_integer_value(since), NULL);
		if (ret != DW_OK)
			return dw_diag_set(diag, ret, "state file %s: result %zu is malformed", path, i + 1);
	}
	json_array_foreach(memos, i, it) {
		const char *fqdn = json_string_value(json_object_get(it, "fqdn"));
		const char *prov = json_string_value(json_object_get(it, "provider"));
		const char *text = json_string_value(json_object_get(it, "memo"));
		if (fqdn == NULL || prov == NULL || text == NULL ||
		    dw_state_set_memo(out, fqdn, prov, text, NULL) != DW_OK)
			return dw_diag_set(diag, DW_EPARSE, "state file %s: memo %zu is malformed",
			                   path, i + 1);
	}
	return DW_OK;
}

/* Adds "results" and "memos" (only when there are any). */
static int save_extras(const struct dw_state *st, json_t *root)
{
	if (st->nres > 0) {
		json_t *a = json_array();
		if (a == NULL || json_object_set_new(root, "results", a) != 0)
			return DW_ENOMEM;
		for (size_t i = 0; i < st->nres; i++) {
			const struct dw_state_result *r = &st->res[i];
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "fqdn", r->fqdn,
			                      "family", fam_key(r->family), "provider", r->provider,
			                      "outcome", r->outcome, "address", r->address,
			                      "message", r->message, "since", (json_int_t)r->since);
			if (o == NULL || json_array_append_new(a, o) != 0)
				return DW_ENOMEM;
		}
	}
	if (st->nmemo > 0) {
		json_t *a = json_array();
		if (a == NULL || json_object_set_new(root, "memos", a) != 0)
			return DW_ENOMEM;
		for (size_t i = 0; i < st->nmemo; i++) {
			const struct dw_state_memo *m = &st->memo[i];
			json_t *o = json_pack("{s:s, s:s, s:s}", "fqdn", m->fqdn, "provider", m->provider,
			                      "memo", m->text);
			if (o == NULL || json_array_append_new(a, o) != 0)
				return DW_ENOMEM;
		}
	}
	return DW_OK;
}

int dw_state_load(const char *path, struct dw_state *out, struct dw_diag *diag)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return DW_OK;   /* first run */
		return dw_diag_set(diag, DW_EIO, "cannot open state file %s: %s", path,
		                   strerror(errno));
	}
	json_error_t jerr;
	json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (root == NULL)
		return dw_diag_set(diag, DW_EPARSE,
		                   "state file %s is corrupt (line %d: %s); move it aside to start afresh",
		                   path, jerr.line, jerr.text);

	int ret = DW_OK;
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
		if (fqdn == NULL || fam == NULL || prov == NULL || addr == NULL ||
		    !json_is_integer(upd) || (strcmp(fam, "ipv4") != 0 && strcmp(fam, "ipv6") != 0) ||
		    dw_ip_parse(addr, family, &ip) != DW_OK) {
			ret = dw_diag_set(diag, DW_EPARSE, "state file %s: entry %zu is malformed",
			                  path, i + 1);
			goto out;
		}
		ret = dw_state_set(out, fqdn, family, prov, addr, json_integer_value(upd));
		if (ret != DW_OK) {
			dw_diag_set(diag, ret, "out of memory loading %s", path);
			goto out;
		}
	}
	ret = load_extras(root, path, out, diag);
out:
	json_decref(root);
	if (ret != DW_OK)
		dw_state_free(out);
	return ret;
}

/* Removes "BASE.tmp.PID" files beside path left by writers that died
 * between creating them and renaming them (a SIGKILL mid-save): their pid is
 * no longer running.  Best effort; a live pid's file is never touched. */
static void remove_stale_temps(const char *path)
{
	char dir[4096], base[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	const char *bname = basename(base);
	char prefix[512];
	int pl = snprintf(prefix, sizeof(prefix), "%s.tmp.", bname);
	if (pl < 0 || (size_t)pl >= sizeof(prefix))
		return;
	DIR *d = opendir(dirname(dir));
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, (size_t)pl) != 0)
			continue;
		char *end = NULL;
		errno = 0;
		long pid = strtol(e->d_name + pl, &end, 10);
		if (errno != 0 || end == e->d_name + pl || *end != '\0' || pid <= 0 ||
		    pid == (long)getpid())
			continue;
		/* /proc rather than kill(pid, 0): the seccomp allowlist has no
		 * kill, and a missing /proc entry is as clear an answer. */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/%ld", pid);
		if (access(proc, F_OK) == 0 || errno != ENOENT)
			continue;   /* alive, or not ours to judge */
		(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int dw_state_save(const struct dw_state *st, const char *path, struct dw_diag *diag)
{
	int ret = DW_OK;
	char *text = NULL;
	int fd = -1;
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return dw_diag_set(diag, DW_EINVAL, "state file path too long");

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
	if (save_extras(st, root) != DW_OK) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory");
		goto out;
	}

	/* Temporary file beside the target, fsync, rename over it, fsync the
	 * directory: after a crash the file is either the old or the new one. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = dw_diag_set(diag, DW_EIO, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	size_t tlen = strlen(text);
	if (write_all(fd, text, tlen) != 0 || write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		ret = dw_diag_set(diag, DW_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		ret = dw_diag_set(diag, DW_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		ret = dw_diag_set(diag, DW_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);   /* best effort: some filesystems refuse */
		close(dfd);
	}
	remove_stale_temps(path);
out:
	if (fd >= 0)
		close(fd);
	if (ret != DW_OK)
		(void)unlink(tmp);
	free(text);
	json_decref(recs);
	json_decref(root);
	return ret;
}
