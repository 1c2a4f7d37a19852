/* The state directory: opened once, files inside only relative to it. */
#include "lib/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_INFIX ".tmp."
#define TMP_TRIES 8

static int not_owner(const char *path, uid_t owner, struct dw_diag *diag)
{
	if (geteuid() == 0)
		return dw_diag_set(diag, DW_EIO,
		                   "state-dir %s belongs to uid %u, not root: set [dnsward] "
		                   "user = to that user (root drops to it before touching the "
		                   "directory), or run this command as that user", path,
		                   (unsigned)owner);
	return dw_diag_set(diag, DW_EIO,
	                   "state-dir %s belongs to uid %u, not to this user (uid %u): run "
	                   "as its owner", path, (unsigned)owner, (unsigned)geteuid());
}

static int open_checked(const char *path, unsigned flags, struct dw_statedir *sd,
                        struct dw_diag *diag)
{
	sd->fd = -1;
	int n = snprintf(sd->path, sizeof(sd->path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(sd->path))
		return dw_diag_set(diag, DW_ETOOBIG, "state-dir path too long");
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && (flags & DW_STATEDIR_CREATE)) {
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return dw_diag_set(diag, DW_EIO, "cannot create state-dir %s: %s", path,
			                   strerror(errno));
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return dw_diag_set(diag, DW_ENOTFOUND, "state-dir %s does not exist", path);
		if (errno == ENOTDIR)
			return dw_diag_set(diag, DW_EIO, "state-dir %s is not a directory", path);
		struct stat pst;
		if (errno == EACCES && (flags & DW_STATEDIR_OWNER) && stat(path, &pst) == 0 &&
		    pst.st_uid != geteuid())
			return not_owner(path, pst.st_uid, diag);
		if (errno == EACCES)
			return dw_diag_set(diag, DW_EIO, "cannot open state-dir %s: %s (uid %u must be "
			                   "able to reach it)", path, strerror(errno), (unsigned)geteuid());
		return dw_diag_set(diag, DW_EIO, "cannot open state-dir %s: %s", path,
		                   strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return dw_diag_set(diag, DW_EIO, "cannot stat state-dir %s: %s", path, strerror(e));
	}
	/* Whoever may add or rename entries here decides what we open. */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		close(fd);
		return dw_diag_set(diag, DW_EIO,
		                   "state-dir %s is writable by others than its owner (mode %04o); "
		                   "fix with: chmod 700 %s", path, (unsigned)(st.st_mode & 07777), path);
	}
	if ((flags & DW_STATEDIR_OWNER) && st.st_uid != geteuid()) {
		close(fd);
		return not_owner(path, st.st_uid, diag);
	}
	sd->fd = fd;
	sd->owner = st.st_uid;
	return DW_OK;
}

int dw_statedir_open(const char *path, unsigned flags, struct dw_statedir *sd,
                     struct dw_diag *diag)
{
	return open_checked(path, flags, sd, diag);
}

int dw_statedir_open_parent(const char *file_path, unsigned flags, struct dw_statedir *sd,
                            char *name, size_t cap, struct dw_diag *diag)
{
	sd->fd = -1;
	const char *slash = strrchr(file_path, '/');
	const char *base = slash != NULL ? slash + 1 : file_path;
	size_t blen = strlen(base);
	if (blen == 0 || blen >= cap || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return dw_diag_set(diag, DW_EINVAL, "%s does not name a file", file_path);
	char dir[4096];
	size_t dlen = slash == NULL ? 0 : (size_t)(slash - file_path);
	if (slash == NULL) {
		memcpy(dir, ".", 2);
	} else if (dlen == 0) {
		memcpy(dir, "/", 2);
	} else {
		if (dlen >= sizeof(dir))
			return dw_diag_set(diag, DW_ETOOBIG, "state-dir path too long");
		memcpy(dir, file_path, dlen);
		dir[dlen] = '\0';
	}
	memcpy(name, base, blen + 1);
	return open_checked(dir, flags, sd, diag);
}

void dw_statedir_close(struct dw_statedir *sd)
{
	if (sd->fd >= 0)
		close(sd->fd);
	sd->fd = -1;
}

static bool name_ok(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

/* Explains why NAME is not a file we use. */
static int not_ours(const struct dw_statedir *sd, const char *name, const struct stat *st,
                    struct dw_diag *diag)
{
	const char *what = S_ISLNK(st->st_mode) ? "a symbolic link"
	                   : S_ISFIFO(st->st_mode) ? "a FIFO"
	                   : S_ISDIR(st->st_mode) ? "a directory"
	                   : S_ISREG(st->st_mode) ? "a file with more than one link"
	                                          : "not a regular file";
	return dw_diag_set(diag, DW_EIO,
	                   "refusing %s/%s: it is %s (dnsward never makes one; someone with the "
	                   "state directory owner's rights put it there: remove it)",
	                   sd->path, name, what);
}

int dw_statedir_open_read(const struct dw_statedir *sd, const char *name, int *fd,
                          struct dw_diag *diag)
{
	*fd = -1;
	if (!name_ok(name))
		return dw_diag_set(diag, DW_EINVAL, "bad file name in the state directory");
	/* O_NONBLOCK: a FIFO opens at once (and is refused below) instead of
	 * waiting for a writer. */
	int f = openat(sd->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (f < 0) {
		if (errno == ENOENT)
			return DW_ENOTFOUND;
		struct stat lst;
		if (errno == ELOOP && fstatat(sd->fd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0)
			return not_ours(sd, name, &lst, diag);
		return dw_diag_set(diag, DW_EIO, "cannot open %s/%s: %s", sd->path, name,
		                   strerror(errno));
	}
	struct stat st;
	if (fstat(f, &st) != 0) {
		int e = errno;
		close(f);
		return dw_diag_set(diag, DW_EIO, "cannot stat %s/%s: %s", sd->path, name, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(f);
		return not_ours(sd, name, &st, diag);
	}
	/* Regular files never block; reads below expect blocking semantics. */
	int fl = fcntl(f, F_GETFL);
	if (fl >= 0)
		(void)fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
	*fd = f;
	return DW_OK;
}

int dw_statedir_read(const struct dw_statedir *sd, const char *name, size_t max, char **out,
                     size_t *len, struct dw_diag *diag)
{
	*out = NULL;
	*len = 0;
	int fd;
	int ret = dw_statedir_open_read(sd, name, &fd, diag);
	if (ret != DW_OK)
		return ret;
	char *buf = malloc(max + 1);
	if (buf == NULL) {
		close(fd);
		return dw_diag_set(diag, DW_ENOMEM, "out of memory");
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = dw_diag_set(diag, DW_EIO, "cannot read %s/%s: %s", sd->path, name,
			                  strerror(errno));
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			ret = dw_diag_set(diag, DW_ETOOBIG, "%s/%s is larger than %zu bytes", sd->path,
			                  name, max);
			break;
		}
	}
	close(fd);
	if (ret != DW_OK) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return DW_OK;
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

/* Removes "NAME.tmp.PID[.RANDOM]" files left by writers that died between
 * creating and renaming them (a SIGKILL mid-save): their pid no longer
 * runs.  Best effort; a live pid's file is never touched. */
static void remove_stale_temps(const struct dw_statedir *sd, const char *name)
{
	char prefix[300];
	int pl = snprintf(prefix, sizeof(prefix), "%s" TMP_INFIX, name);
	if (pl < 0 || (size_t)pl >= sizeof(prefix))
		return;
	int dfd = openat(sd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, (size_t)pl) != 0)
			continue;
		char *end = NULL;
		errno = 0;
		long pid = strtol(e->d_name + pl, &end, 10);
		if (errno != 0 || end == e->d_name + pl || (*end != '\0' && *end != '.') || pid <= 0 ||
		    pid == (long)getpid())
			continue;
		/* /proc rather than kill(pid, 0): the seccomp allowlist has no
		 * kill, and a missing /proc entry is as clear an answer. */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/%ld", pid);
		if (access(proc, F_OK) == 0 || errno != ENOENT)
			continue;   /* alive, or not ours to judge */
		(void)unlinkat(sd->fd, e->d_name, 0);
	}
	closedir(d);
}

int dw_statedir_write(const struct dw_statedir *sd, const char *name, const void *data,
                      size_t len, struct dw_diag *diag)
{
	if (!name_ok(name))
		return dw_diag_set(diag, DW_EINVAL, "bad file name in the state directory");
	char tmp[400];
	int fd = -1;
	/* A fresh name each try: whatever sits at a guessed name (a FIFO, a
	 * link) makes O_EXCL fail instead of being opened. */
	for (int i = 0; i < TMP_TRIES && fd < 0; i++) {
		uint64_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
			rnd = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&rnd ^ (uint64_t)i;
		int n = snprintf(tmp, sizeof(tmp), "%s" TMP_INFIX "%ld.%016llx", name, (long)getpid(),
		                 (unsigned long long)rnd);
		if (n < 0 || (size_t)n >= sizeof(tmp))
			return dw_diag_set(diag, DW_ETOOBIG, "state file name too long");
		fd = openat(sd->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return dw_diag_set(diag, DW_EIO, "cannot create %s/%s: %s", sd->path, tmp,
			                   strerror(errno));
	}
	if (fd < 0)
		return dw_diag_set(diag, DW_EIO, "cannot create a temporary file for %s in %s",
		                   name, sd->path);
	int ret = DW_OK;
	if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		ret = dw_diag_set(diag, DW_EIO, "cannot write %s/%s: %s", sd->path, tmp,
		                  strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		ret = dw_diag_set(diag, DW_EIO, "cannot write %s/%s: %s", sd->path, tmp,
		                  strerror(errno));
		goto fail;
	}
	/* rename replaces whatever NAME is (a planted link included) without
	 * following it. */
	if (renameat(sd->fd, tmp, sd->fd, name) != 0) {
		ret = dw_diag_set(diag, DW_EIO, "cannot rename %s to %s in %s: %s", tmp, name,
		                  sd->path, strerror(errno));
		goto fail;
	}
	(void)fsync(sd->fd);   /* best effort: some filesystems refuse */
	remove_stale_temps(sd, name);
	return DW_OK;
fail:
	(void)unlinkat(sd->fd, tmp, 0);
	return ret;
}

int dw_statedir_unlink(const struct dw_statedir *sd, const char *name, struct dw_diag *diag)
{
	if (!name_ok(name))
		return dw_diag_set(diag, DW_EINVAL, "bad file name in the state directory");
	if (unlinkat(sd->fd, name, 0) != 0 && errno != ENOENT)
		return dw_diag_set(diag, DW_EIO, "cannot remove %s/%s: %s", sd->path, name,
		                   strerror(errno));
	return DW_OK;
}

int dw_statedir_lock(const struct dw_statedir *sd, const char *name, int *fd,
                     struct dw_diag *diag)
{
	*fd = -1;
	if (!name_ok(name))
		return dw_diag_set(diag, DW_EINVAL, "bad file name in the state directory");
	int f = -1;
	for (int attempt = 0; attempt < 2 && f < 0; attempt++) {
		f = openat(sd->fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		           O_CLOEXEC, 0600);
		if (f < 0 && errno == EACCES && attempt == 0) {
			/* An older version ran as root and left a root-owned
			 * lock here; the directory is ours, so replace it. */
			struct stat lst;
			if (fstatat(sd->fd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(lst.st_mode) &&
			    lst.st_uid != geteuid() && unlinkat(sd->fd, name, 0) == 0)
				continue;
		}
		if (f < 0) {
			struct stat lst;
			if (errno == ELOOP && fstatat(sd->fd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0)
				return not_ours(sd, name, &lst, diag);
			return dw_diag_set(diag, DW_EIO, "cannot open %s/%s: %s", sd->path, name,
			                   strerror(errno));
		}
	}
	struct stat st;
	if (fstat(f, &st) != 0) {
		int e = errno;
		close(f);
		return dw_diag_set(diag, DW_EIO, "cannot stat %s/%s: %s", sd->path, name, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		int ret = not_ours(sd, name, &st, diag);
		close(f);
		return ret;
	}
	while (flock(f, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(f);
		return dw_diag_set(diag, DW_EIO, "cannot lock %s/%s: %s", sd->path, name, strerror(e));
	}
	*fd = f;
	return DW_OK;
}
