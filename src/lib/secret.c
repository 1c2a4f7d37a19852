/* Loading secrets from files safely. */
#include "lib/secret.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a secret file must be, as far as its metadata tells. */
static int check_stat(const char *path, const struct stat *st, struct dw_diag *diag)
{
	if (!S_ISREG(st->st_mode))
		return dw_diag_set(diag, DW_ESECRET, "secret file %s is not a regular file", path);
	if ((st->st_mode & (S_IRWXO | S_IWGRP)) != 0)
		return dw_diag_set(diag, DW_ESECRET,
		                   "secret file %s is accessible by others (mode %04o); "
		                   "fix with: chmod 600 %s",
		                   path, (unsigned)(st->st_mode & 07777), path);
	if (st->st_size <= 0)
		return dw_diag_set(diag, DW_ESECRET, "secret file %s is empty", path);
	if (st->st_size > DW_SECRET_MAX)
		return dw_diag_set(diag, DW_ESECRET, "secret file %s is larger than %d bytes",
		                   path, DW_SECRET_MAX);
	return DW_OK;
}

int dw_secret_check(const char *path, bool *seen, struct dw_diag *diag)
{
	struct stat st;
	*seen = false;
	if (stat(path, &st) != 0) {
		if (errno == EACCES) {
			dw_diag_set(diag, DW_OK, "cannot look at secret file %s: %s", path, strerror(errno));
			return DW_OK;
		}
		return dw_diag_set(diag, DW_ESECRET, "cannot open secret file %s: %s", path,
		                   strerror(errno));
	}
	int ret = check_stat(path, &st, diag);
	*seen = ret == DW_OK;
	return ret;
}


static struct dw_secret_set *recording;     /* dw_secret_record() */
static const struct dw_secret_set *serving; /* dw_secret_serve() */

/* A sodium copy of data[0..len) plus a NUL; NULL when out of memory. */
static char *copy_locked(const char *data, size_t len)
{
	char *c = sodium_malloc(len + 1);
	if (c != NULL) {
		memcpy(c, data, len);
		c[len] = '\0';
	}
	return c;
}

/* dw_secret_load() while serving: the copy handed over for path. */
static int load_served(const char *path, enum dw_secret_flags flags, struct dw_secret *out,
                       struct dw_diag *diag)
{
	const struct dw_secret_entry *e = dw_secret_set_find(serving, path, flags);
	if (e == NULL)
		return dw_diag_set(diag, DW_ESECRET, "secret file %s was not handed to this process",
		                   path);
	char *c = copy_locked(e->s.data, e->s.len);
	if (c == NULL)
		return dw_diag_set(diag, DW_ENOMEM, "out of memory reading %s", path);
	if (flags == DW_SECRET_LINE && dw_log_add_secret(c, e->s.len) != DW_OK) {
		sodium_free(c);
		return dw_diag_set(diag, DW_ENOMEM, "too many secrets to track for redaction (%s)",
		                   path);
	}
	if (recording != NULL && dw_secret_set_add(recording, path, flags, c, e->s.len) != DW_OK) {
		sodium_free(c);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory reading %s", path);
	}
	out->data = c;
	out->len = e->s.len;
	return DW_OK;
}

int dw_secret_load(const char *path, enum dw_secret_flags flags,
                   struct dw_secret *out, struct dw_diag *diag)
{
	int ret = DW_OK;
	char *buf = NULL;
	memset(out, 0, sizeof(*out));

	if (sodium_init() < 0)
		return dw_diag_set(diag, DW_ENOMEM, "libsodium failed to initialise");
	if (serving != NULL)
		return load_served(path, flags, out, diag);

	/* O_NOFOLLOW is not used: a symlink to a systemd credential is fine, the
	 * checks below apply to the file it names. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == EACCES && geteuid() != 0)
		/* Typically a reload after the privilege drop. */
		return dw_diag_set(diag, DW_ESECRET,
		                   "cannot open secret file %s: %s (dnsward runs as uid %u: give it "
		                   "read access, e.g. mode 0640 with its group, or pass the file as "
		                   "a systemd credential, credential:NAME)", path, strerror(errno),
		                   (unsigned)geteuid());
	if (fd < 0)
		return dw_diag_set(diag, DW_ESECRET, "cannot open secret file %s: %s",
		                   path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		ret = dw_diag_set(diag, DW_ESECRET, "cannot stat secret file %s: %s",
		                  path, strerror(errno));
		goto out;
	}
	if ((ret = check_stat(path, &st, diag)) != DW_OK)
		goto out;

	size_t cap = (size_t)st.st_size + 1;
	buf = sodium_malloc(cap);
	if (buf == NULL) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = dw_diag_set(diag, DW_ESECRET, "cannot read secret file %s: %s",
			                  path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		ret = dw_diag_set(diag, DW_ESECRET, "secret file %s is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		ret = dw_diag_set(diag, DW_ESECRET, "secret file %s contains NUL bytes", path);
		goto out;
	}
	if (flags == DW_SECRET_LINE) {
		if (len < DW_LOG_SECRET_MIN) {
			ret = dw_diag_set(diag, DW_ESECRET,
			                  "secret file %s holds only %zu byte%s: too short to be a "
			                  "secret (it could be guessed, and could not be masked in logs "
			                  "without masking ordinary text); use at least %d, better %d",
			                  path, len, len == 1 ? "" : "s", DW_LOG_SECRET_MIN,
			                  DW_LOG_SECRET_SHORT);
			goto out;
		}
		if (memchr(buf, '\n', len) != NULL) {
			ret = dw_diag_set(diag, DW_ESECRET,
			                  "secret file %s must hold exactly one line", path);
			goto out;
		}
		ret = dw_log_add_secret(buf, len);
		if (ret != DW_OK) {
			dw_diag_set(diag, ret, "too many secrets to track for redaction (%s)", path);
			goto out;
		}
	}
	if (recording != NULL && dw_secret_set_add(recording, path, flags, buf, len) != DW_OK) {
		ret = dw_diag_set(diag, DW_ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	out->data = buf;
	out->len = len;
	buf = NULL;
out:
	if (buf != NULL)
		sodium_free(buf);
	close(fd);
	return ret;
}

int dw_secret_resolve(const char *spec, char *out, size_t cap, struct dw_diag *diag)
{
	static const char prefix[] = "credential:";
	const size_t plen = sizeof(prefix) - 1;
	int n;
	if (strncmp(spec, prefix, plen) != 0) {
		n = snprintf(out, cap, "%s", spec);
		if (n < 0 || (size_t)n >= cap)
			return dw_diag_set(diag, DW_ETOOBIG, "secret file path too long");
		return DW_OK;
	}
	const char *name = spec + plen;
	if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return dw_diag_set(diag, DW_ESECRET,
		                   "'%s': a credential's name is a file name (no '/')", spec);
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (dir != NULL && dir[0] == '/') {
		n = snprintf(out, cap, "%s/%s", dir, name);
		if (n < 0 || (size_t)n >= cap)
			return dw_diag_set(diag, DW_ETOOBIG, "credential path too long");
		/* A publisher (serving) is handed the bytes, and after the
		 * privilege drop may not see into the directory. */
		if (serving == NULL && access(out, F_OK) != 0)
			return dw_diag_set(diag, DW_ESECRET,
			                   "credential %s was not given to this service: add "
			                   "LoadCredential=%s (reads /etc/credstore/%s) or "
			                   "LoadCredential=%s:/PATH to its unit", name, name, name, name);
		return DW_OK;
	}
	/* Not under a unit with credentials: where systemd would read it. */
	static const char *const stores[] = { "/etc/credstore", "/run/credstore",
	                                      "/usr/lib/credstore" };
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		n = snprintf(out, cap, "%s/%s", stores[i], name);
		if (n < 0 || (size_t)n >= cap)
			return dw_diag_set(diag, DW_ETOOBIG, "credential path too long");
		if (access(out, F_OK) == 0 || errno != ENOENT)
			return DW_OK;   /* there (or unreadable: dw_secret_load says why) */
	}
	return dw_diag_set(diag, DW_ESECRET,
	                   "credential %s: no $CREDENTIALS_DIRECTORY (not run by a unit with "
	                   "LoadCredential=) and no /etc/credstore/%s, /run/credstore/%s or "
	                   "/usr/lib/credstore/%s", name, name, name, name);
}

void dw_secret_clear(struct dw_secret *s)
{
	if (s->data != NULL)
		sodium_free(s->data);   /* zeroes before unmapping */
	s->data = NULL;
	s->len = 0;
}

int dw_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return sodium_memcmp(a, b, alen) == 0;
}

int dw_secret_set_add(struct dw_secret_set *set, const char *path, enum dw_secret_flags flags,
                      const char *data, size_t len)
{
	if (dw_secret_set_find(set, path, flags) != NULL)
		return DW_OK;
	if (sodium_init() < 0)
		return DW_ENOMEM;
	struct dw_secret_entry *nv = realloc(set->v, (set->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return DW_ENOMEM;
	set->v = nv;
	struct dw_secret_entry *e = &set->v[set->n];
	e->path = strdup(path);
	e->flags = flags;
	e->s.data = copy_locked(data, len);
	e->s.len = len;
	if (e->path == NULL || e->s.data == NULL) {
		free(e->path);
		dw_secret_clear(&e->s);
		return DW_ENOMEM;
	}
	set->n++;
	return DW_OK;
}

const struct dw_secret_entry *dw_secret_set_find(const struct dw_secret_set *set,
                                                 const char *path, enum dw_secret_flags flags)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].flags == flags && strcmp(set->v[i].path, path) == 0)
			return &set->v[i];
	}
	return NULL;
}

void dw_secret_set_free(struct dw_secret_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].path);
		dw_secret_clear(&set->v[i].s);
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

void dw_secret_record(struct dw_secret_set *set)
{
	recording = set;
}

void dw_secret_serve(const struct dw_secret_set *set)
{
	serving = set;
}
