/* Which programs dnsward may run: one check for every program it starts
 * (cmd: sources, on-change hooks), done when the configuration is read and
 * again right before each start.
 *
 * Whoever may change a program, or rename anything on the way to it, chooses
 * the code that runs as the daemon's user (or root) and the addresses that
 * are published.  So, as OpenSSH checks its configuration and keys, the
 * program is trusted only when
 *   - it is a regular, executable file owned by root or the daemon's user and
 *     not writable by its group or others, and
 *   - every directory from "/" down to it is owned by root or the daemon's
 *     user and not writable by its group or others, unless the directory
 *     has the sticky bit (as /tmp: nobody else may rename or remove the
 *     entries below, which are checked in turn).
 * Symbolic links are resolved first and the check applies to where the
 * program really lives; that resolved path is what is executed, so a link
 * changed later only takes effect after the next check. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

/* Checks path for a program that will run as uid daemon_uid.  On success
 * returns 0 and the resolved absolute path in resolved (cap bytes).  Else
 * DW_EIO (or DW_ETOOBIG) with a diag naming the file or directory, the
 * reason and the fix, e.g. "/opt/x is writable by others (mode 0777): ...". */
int dw_trust_program(const char *path, uid_t daemon_uid, char *resolved, size_t cap,
                     struct dw_diag *diag);
