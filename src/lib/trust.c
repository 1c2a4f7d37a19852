/* Trusted programs: owner and mode of the file and of every directory above
 * it (see trust.h). */
#include "lib/trust.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *owner_hint(uid_t daemon_uid, char *buf, size_t cap)
{
	if (daemon_uid == 0)
		snprintf(buf, cap, "root");
	else
		snprintf(buf, cap, "root or the daemon's user (uid %u)", (unsigned)daemon_uid);
	return buf;
}

/* One directory (or the program when is_file) against the rules. */
static int check_one(const char *what, const struct stat *st, bool is_file, uid_t daemon_uid,
                     const char *program, struct dw_diag *diag)
{
	char hint[64];
	if (st->st_uid != 0 && st->st_uid != daemon_uid)
		return dw_diag_set(diag, DW_EIO,
		                   "%s%s%s is owned by uid %u, not by %s: that user could change "
		                   "what runs; fix with: chown root %s", is_file ? "" : "directory ",
		                   what, is_file ? "" : (program != NULL ? " (on the way to the program)"
		                                                         : ""),
		                   (unsigned)st->st_uid, owner_hint(daemon_uid, hint, sizeof(hint)), what);
	bool sticky_dir = !is_file && (st->st_mode & S_ISVTX);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir)
		return dw_diag_set(diag, DW_EIO,
		                   "%s%s is writable by others (mode %04o): they could change what "
		                   "runs; fix with: chmod go-w %s", is_file ? "" : "directory ", what,
		                   (unsigned)(st->st_mode & 07777), what);
	return DW_OK;
}

int dw_trust_program(const char *path, uid_t daemon_uid, char *resolved, size_t cap,
                     struct dw_diag *diag)
{
	if (path[0] != '/')
		return dw_diag_set(diag, DW_EIO, "'%s' must be an absolute path", path);
	char real[PATH_MAX];
	if (realpath(path, real) == NULL)
		return dw_diag_set(diag, DW_EIO, "cannot use %s: %s", path, strerror(errno));
	size_t n = strlen(real);
	if (n >= cap)
		return dw_diag_set(diag, DW_ETOOBIG, "%s: path too long", path);

	/* Every directory from "/" down, then the program itself. */
	char cur[PATH_MAX];
	struct stat st;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && real[i] != '/')
			continue;
		size_t len = i == 0 ? 1 : i;   /* "/" for the root */
		memcpy(cur, real, len);
		cur[len] = '\0';
		if (lstat(cur, &st) != 0)
			return dw_diag_set(diag, DW_EIO, "cannot use %s: %s: %s", path, cur,
			                   strerror(errno));
		bool is_file = i == n;
		if (!is_file && !S_ISDIR(st.st_mode))
			return dw_diag_set(diag, DW_EIO, "cannot use %s: %s is not a directory", path, cur);
		if (is_file && (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0))
			return dw_diag_set(diag, DW_EIO, "%s is not an executable file", real);
		int ret = check_one(cur, &st, is_file, daemon_uid, is_file ? NULL : real, diag);
		if (ret != DW_OK)
			return ret;
	}
	memcpy(resolved, real, n + 1);
	return DW_OK;
}
