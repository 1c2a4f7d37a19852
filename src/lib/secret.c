/* Loading secrets from files safely. */
#include "lib/secret.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
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

int dw_secret_load(const char *path, enum dw_secret_flags flags,
                   struct dw_secret *out, struct dw_diag *diag)
{
	int ret = DW_OK;
	char *buf = NULL;
	memset(out, 0, sizeof(*out));

	if (sodium_init() < 0)
		return dw_diag_set(diag, DW_ENOMEM, "libsodium failed to initialise");

	/* O_NOFOLLOW is not used: a symlink to a systemd credential is fine, the
	 * checks below apply to the file it names. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
	out->data = buf;
	out->len = len;
	buf = NULL;
out:
	if (buf != NULL)
		sodium_free(buf);
	close(fd);
	return ret;
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
