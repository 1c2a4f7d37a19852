/* dnsward import ddclient|inadyn FILE [--secrets-dir DIR] [--force]
 *
 * Prints a dnsward.conf equivalent to another client's configuration on
 * standard output, writes each password or token to a file of its own
 * (mode 0600) under DIR (default /etc/dnsward), and names on standard error
 * every setting it did not translate and why.  Secrets never reach standard
 * output, the notes or argv.  The parsing is src/migrate's; this file reads
 * the input, finds the default routes' interfaces and writes the files. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnsward/commands.h"
#include "dw_build.h"
#include "lib/log.h"
#include "migrate/ddclient.h"
#include "migrate/inadyn.h"
#include "migrate/model.h"

#define DEFAULT_SECRET_DIR DW_SYSCONFDIR "/dnsward"

static int read_input(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *b = malloc(max + 1);
	size_t n = 0;
	if (b == NULL) {
		close(fd);
		log_error("out of memory");
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error("cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			log_error("%s: larger than %zu bytes: not a configuration file", path, max);
			goto fail;
		}
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
fail:
	explicit_bzero(b, n);
	free(b);
	close(fd);
	return -1;
}

/* The interface of the first default route of a family, from /proc (no
 * netlink needed for one look-up).  Writes "" when there is none. */
static void default_iface(int fam, char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = fopen(fam == 4 ? "/proc/net/route" : "/proc/net/ipv6_route", "re");
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		char a[64], b[64], c[64], d[64], e[64], g[64], h[64], i[64], j[64], k[64];
		if (fam == 4) {
			/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
			if (sscanf(line, "%63s %63s %63s %63s %63s %63s %63s %63s", a, b, c, d, e, g, h, i) == 8 &&
			    strcmp(b, "00000000") == 0 && strcmp(i, "00000000") == 0) {
				snprintf(out, size, "%s", a);
				break;
			}
		} else {
			/* dest plen src slen nexthop metric refcnt use flags iface */
			if (sscanf(line, "%63s %63s %63s %63s %63s %63s %63s %63s %63s %63s", a, b, c, d, e,
			           g, h, i, j, k) == 10 &&
			    strspn(a, "0") == 32 && strcmp(b, "00") == 0 && strcmp(k, "lo") != 0) {
				snprintf(out, size, "%s", k);
				break;
			}
		}
	}
	fclose(f);
}

/* Writes one secret: a new file, mode 0600, never following a link.  An
 * existing file with the same content is fine (a repeated import); another
 * content is replaced only with --force. */
static int write_secret(const char *path, const char *value, bool force)
{
	size_t len = strlen(value);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		char old[MG_MAX_VALUE + 2];
		ssize_t n = read(fd, old, sizeof(old));
		close(fd);
		bool same = n >= 0 && ((size_t)n == len + 1 && old[len] == '\n') &&
		            memcmp(old, value, len) == 0;
		explicit_bzero(old, sizeof(old));
		if (same)
			return 0;
		if (!force) {
			log_error("%s exists with another content: not replaced (--force replaces it)", path);
			return -1;
		}
		if (unlink(path) != 0) {
			log_error("cannot replace %s: %s", path, strerror(errno));
			return -1;
		}
	} else if (errno != ENOENT) {
		log_error("cannot check %s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	if (fchmod(fd, 0600) != 0 || write(fd, value, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		log_error("cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (close(fd) != 0 && rc == 0) {
		log_error("cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(path);
	return rc;
}

static int write_secrets(const struct mg_section *s, const char *dir, bool force, bool *missing)
{
	for (size_t i = 0; i < s->nkv; i++) {
		const struct mg_kv *kv = &s->kv[i];
		if (!kv->secret)
			continue;
		char name[256], path[4096];
		if (mg_secret_filename(s, kv, name, sizeof(name)) != 0)
			return -1;
		int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			log_error("secret path too long under %s", dir);
			return -1;
		}
		if (kv->value[0] == '\0') {
			/* Nothing the other client knew: the user fills it in. */
			fprintf(stderr, "to do: create %s (%s of %s, mode 0600)\n", path, kv->key, s->name);
			*missing = true;
			continue;
		}
		if (write_secret(path, kv->value, force) != 0)
			return -1;
		fprintf(stderr, "wrote %s (%s of %s, mode 0600)\n", path, kv->key, s->name);
	}
	return 0;
}

static void usage_import(void)
{
	fprintf(stderr, "usage: dnsward import ddclient|inadyn FILE [--secrets-dir DIR] [--force]\n");
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secrets-dir", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = DEFAULT_SECRET_DIR;
	bool force = false;
	int opt;
	optind = 0;   /* re-initialise GNU getopt: options may follow FILE */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': dir = optarg; break;
		case 'f': force = true; break;
		default: usage_import(); return DW_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage_import();
		return DW_EXIT_USAGE;
	}
	const char *client = argv[optind], *file = argv[optind + 1];
	bool ddclient = strcmp(client, "ddclient") == 0;
	if (!ddclient && strcmp(client, "inadyn") != 0) {
		log_error("import: '%s' is neither ddclient nor inadyn", client);
		usage_import();
		return DW_EXIT_USAGE;
	}
	if (dir[0] != '/') {
		log_error("import: --secrets-dir must be an absolute path (the configuration names it)");
		return DW_EXIT_USAGE;
	}

	char *buf = NULL;
	size_t len = 0;
	if (read_input(file, ddclient ? MG_DDCLIENT_MAX : MG_INADYN_MAX, &buf, &len) != 0)
		return DW_EXIT_USAGE;
	struct mg_conf *c = malloc(sizeof(*c));
	int rc = DW_EXIT_USAGE;
	if (c == NULL) {
		log_error("out of memory");
		explicit_bzero(buf, len);
		free(buf);
		return DW_EXIT_USAGE;
	}
	mg_conf_init(c, file, client);
	char if4[64], if6[64];
	default_iface(4, if4, sizeof(if4));
	default_iface(6, if6, sizeof(if6));
	c->default_iface4 = if4[0] != '\0' ? if4 : NULL;
	c->default_iface6 = if6[0] != '\0' ? if6 : NULL;

	struct dw_diag diag = { "" };
	int ret = ddclient ? mg_ddclient_parse(buf, len, c, &diag) : mg_inadyn_parse(buf, len, c, &diag);
	explicit_bzero(buf, len);
	free(buf);
	char *text = NULL;
	if (ret != 0) {
		log_error("%s", diag.msg[0] != '\0' ? diag.msg : dw_strerror(ret));
		goto out;
	}
	for (size_t i = 0; i < c->nnotes; i++)
		fprintf(stderr, "not translated: %s\n", c->notes[i]);
	if (c->dropped_notes > 0)
		fprintf(stderr, "not translated: ... and %zu more\n", c->dropped_notes);
	if (c->nrecords == 0) {
		log_error("%s: nothing to import: no host could be translated", file);
		goto out;
	}
	const char *bad = NULL;
	if ((text = mg_render(c, dir, &bad)) == NULL) {
		log_error("%s: cannot write '%s' as a dnsward.conf value", file, bad != NULL ? bad : "?");
		goto out;
	}
	/* The secrets first: a configuration is printed only when the files it
	 * names are there. */
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, 0700) != 0) {
			log_error("cannot use %s: %s", dir, strerror(errno));
			goto out;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		log_error("%s is not a directory", dir);
		goto out;
	}
	bool missing = false;
	for (size_t i = 0; i < c->nproviders; i++)
		if (write_secrets(&c->providers[i], dir, force, &missing) != 0)
			goto out;
	for (size_t i = 0; i < c->nrecords; i++)
		if (write_secrets(&c->records[i], dir, force, &missing) != 0)
			goto out;
	fputs(text, stdout);
	if (fflush(stdout) != 0) {
		log_error("cannot write the configuration: %s", strerror(errno));
		goto out;
	}
	rc = DW_EXIT_OK;
out:
	free(text);
	mg_conf_free(c);
	free(c);
	return rc;
}
