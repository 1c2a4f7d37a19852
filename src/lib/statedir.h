/* The state directory (state-dir): state.json, acme-pending and its lock,
 * and by default the control socket.
 *
 * It belongs to the user dnsward runs as ("user =", or the unit's
 * DynamicUser), while some commands start as root (ACME clients run hooks
 * as root; timers may run "update" as root).  Whoever holds the daemon
 * user's rights controls the directory's entries, so:
 *
 *   - a command works in the directory only as its owner: root with
 *     "user =" drops to that user first, and root without one refuses a
 *     directory that belongs to someone else (dw_statedir_open with
 *     DW_STATEDIR_OWNER);
 *   - the directory must not be writable by its group or others;
 *   - every file in it is opened relative to the directory's descriptor
 *     with O_NOFOLLOW and O_NONBLOCK, and must be a regular file with a
 *     single link: a symlink, FIFO, device or hard link planted there is
 *     refused, never followed, and never blocks;
 *   - new files are created with O_CREAT|O_EXCL under a name with a random
 *     part (NAME.tmp.PID.RANDOM), mode 0600, then renamed over NAME.
 *
 * The configured path itself may pass through symlinks (systemd's
 * DynamicUser makes /var/lib/NAME one); those belong to whoever wrote the
 * configuration. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

enum dw_statedir_flags {
	DW_STATEDIR_CREATE = 0x1,  /* mkdir (0700) when missing */
	DW_STATEDIR_OWNER = 0x2,   /* refuse unless owned by the effective user */
};

struct dw_statedir {
	int fd;                    /* O_DIRECTORY descriptor; -1 when closed */
	uid_t owner;
	char path[4096];           /* for messages */
};

/* Opens the directory at path.  Refuses (DW_EIO, diag says why and how to
 * fix it) a path that is not a directory, a directory writable by its group
 * or others, and with DW_STATEDIR_OWNER one that belongs to another user
 * than the effective one.  Missing without DW_STATEDIR_CREATE: DW_ENOTFOUND.
 * Close with dw_statedir_close(). */
int dw_statedir_open(const char *path, unsigned flags, struct dw_statedir *sd,
                     struct dw_diag *diag);
/* Opens the directory holding file_path (its dirname) and stores the base
 * name in name (cap bytes).  Same checks as dw_statedir_open. */
int dw_statedir_open_parent(const char *file_path, unsigned flags, struct dw_statedir *sd,
                            char *name, size_t cap, struct dw_diag *diag);
void dw_statedir_close(struct dw_statedir *sd);

/* Opens NAME (one path component) for reading: returns 0 and a descriptor
 * in *fd, DW_ENOTFOUND when absent, or DW_EIO with diag for anything but a
 * regular file with one link (symlinks, FIFOs, devices, hard links). */
int dw_statedir_open_read(const struct dw_statedir *sd, const char *name, int *fd,
                          struct dw_diag *diag);

/* Reads NAME whole into a malloc'd, NUL-terminated buffer (*out, *len) of at
 * most max bytes (DW_ETOOBIG beyond).  DW_ENOTFOUND when absent. */
int dw_statedir_read(const struct dw_statedir *sd, const char *name, size_t max, char **out,
                     size_t *len, struct dw_diag *diag);

/* Replaces NAME atomically with data[0..len): a new temporary file
 * (O_CREAT|O_EXCL, 0600), write, fsync, rename over NAME, fsync of the
 * directory.  Afterwards removes temporary files of NAME whose writer is no
 * longer running (a writer killed mid-save). */
int dw_statedir_write(const struct dw_statedir *sd, const char *name, const void *data,
                      size_t len, struct dw_diag *diag);

/* Removes NAME; absent is success. */
int dw_statedir_unlink(const struct dw_statedir *sd, const char *name, struct dw_diag *diag);

/* Opens (creating, 0600) the lock file NAME and takes an exclusive flock on
 * it, waiting.  A lock file this user cannot open (left by an older version
 * that ran as root) is replaced.  Returns 0 and the descriptor (close it to
 * unlock). */
int dw_statedir_lock(const struct dw_statedir *sd, const char *name, int *fd,
                     struct dw_diag *diag);
