/* The configuration file: INI (inih), default DW_DEFAULT_CONFIG.
 *
 *   [dnsward]              state-dir, log-level
 *   [provider NAME]        type = freedns|gandi|rfc2136|..., base-url, ca-file,
 *                          timeout, then keys the provider defines
 *   [record FQDN]          provider = NAME, ipv4 = SOURCE, ipv6 = SOURCE,
 *                          ttl, ipv4-ttl, ipv6-ttl, ipv4-accept, ipv6-accept,
 *                          ipv4-match, ipv6-match, ipv4-prefer, ipv6-prefer,
 *                          then keys the record's provider defines
 *   SOURCE := iface:NAME | static:ADDR | web | dns | cmd:PATH | off
 *   (web/dns/cmd and ipv6-suffix: lib/source.h; user, group, seccomp:
 *   lib/sandbox.h)
 *
 * Secrets never appear inline: keys ending in "-file" name files read with
 * dw_secret_load().  Every error names file:line and the key.  Keys nobody
 * consumed are errors, so a typo never silently does nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/secret.h"

struct dw_provider;
struct dw_provider_ops;
struct dw_record;

/* One key = value line of a section. */
struct dw_kv {
	char *key;
	char *value;
	int line;
	bool used;     /* set by the accessors below */
};

/* One [section], with its lines in file order. */
struct dw_section {
	char *kind;    /* "dnsward", "provider", "record" */
	char *name;    /* text after the kind, "" for [dnsward] */
	int line;
	struct dw_kv *kv;
	size_t nkv;
};

/* How dw_config_load() treats the network and secret files (flags). */
enum {
	/* Touch no network while configuring (the old bool check_only: true
	 * is this flag). */
	DW_CONF_OFFLINE = 0x1,
	/* "dnsward check": read a secret file when the user running it may,
	 * and otherwise check what stat() shows (regular file, mode, size)
	 * without its content. */
	DW_CONF_SECRETS_PEEK = 0x2,
	/* Commands that publish nothing (addr, status): every key naming a
	 * secret file must be there, but no such file is opened or even
	 * looked at.  Secrets are then empty: nothing may be sent. */
	DW_CONF_SECRETS_SKIP = 0x4,
};

/* Handed to provider callbacks so they read their keys with uniform errors. */
struct dw_conf_ctx {
	const char *file;
	struct dw_section *sec;
	struct dw_diag *diag;
	bool check_only;   /* "dnsward check": validate, but touch no network */
	unsigned secrets;  /* 0 (read), DW_CONF_SECRETS_PEEK or _SKIP */
	unsigned *unread;  /* counts secret files left unread (may be NULL) */
};

/* Value of key in the section (marks it used), or NULL when absent. */
const char *dw_conf_get(struct dw_conf_ctx *ctx, const char *key);
/* Line of key, or of the section header when the key is absent. */
int dw_conf_line(const struct dw_conf_ctx *ctx, const char *key);
/* Formats "FILE:LINE: [KIND NAME] KEY: message" into ctx->diag; returns
 * DW_ECONFIG.  key may be NULL for section-level errors. */
int dw_conf_error(struct dw_conf_ctx *ctx, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reads a required (or optional, when required is false) secret from the file
 * named by key.  An absent optional key leaves out zeroed and returns 0.
 * With ctx->secrets SKIP, or PEEK and a file this user may not read, out is
 * left zeroed (data NULL) and 0 returned: providers must then not look
 * inside (they are never asked to publish in those modes). */
int dw_conf_secret(struct dw_conf_ctx *ctx, const char *key, bool required,
                   enum dw_secret_flags flags, struct dw_secret *out);
/* Unsigned integer in [min, max]; absent -> def. */
int dw_conf_uint(struct dw_conf_ctx *ctx, const char *key, uint32_t min,
                 uint32_t max, uint32_t def, uint32_t *out);
/* yes/no/true/false/on/off/1/0; absent -> def. */
int dw_conf_bool(struct dw_conf_ctx *ctx, const char *key, bool def, bool *out);
/* Owned copy of a string value, or of def (may be NULL) when absent. */
int dw_conf_strdup(struct dw_conf_ctx *ctx, const char *key, const char *def, char **out);

enum dw_src_kind {
	DW_SRC_OFF = 0,
	DW_SRC_IFACE,
	DW_SRC_STATIC,
	DW_SRC_WEB,                      /* HTTPS echo services (lib/source.h) */
	DW_SRC_DNS,                      /* DNS echo queries */
	DW_SRC_CMD,                      /* a program's output */
};

#define DW_SRC_LIST_MAX 8            /* echo URLs or DNS servers per family */
#define DW_SRC_URL_MAX 256
#define DW_SRC_PATH_MAX 512

/* Which DNS echo a server answers: OpenDNS (A/AAAA myip.opendns.com),
 * Cloudflare (TXT CH whoami.cloudflare), Google (TXT o-o.myaddr.l.google.com). */
enum dw_echo_kind {
	DW_ECHO_OPENDNS = 0,
	DW_ECHO_CLOUDFLARE,
	DW_ECHO_GOOGLE,
};

struct dw_echo_server {
	enum dw_echo_kind kind;
	struct dw_ip addr;               /* numeric: the server must not need DNS */
	uint16_t port;
};

struct dw_source {
	enum dw_src_kind kind;
	char ifname[IF_NAMESIZE];        /* DW_SRC_IFACE */
	struct dw_ip addr;               /* DW_SRC_STATIC */
	struct dw_addr_policy policy;    /* DW_SRC_IFACE; also checks fetched addresses */
	uint32_t ttl;
	bool ttl_set;                    /* ttl or ipv4-ttl/ipv6-ttl was given */
	/* DW_SRC_IFACE, IPv6 only: publish the chosen address's prefix with this
	 * host part ("ipv6-suffix"). */
	bool has_suffix;
	struct dw_ip suffix;
	/* DW_SRC_WEB: echo URLs, asked over this family only. */
	size_t nurls;
	char urls[DW_SRC_LIST_MAX][DW_SRC_URL_MAX];
	char ca_file[DW_SRC_PATH_MAX];   /* "" = system trust store */
	/* DW_SRC_DNS */
	size_t nservers;
	struct dw_echo_server servers[DW_SRC_LIST_MAX];
	/* DW_SRC_CMD: absolute path, run without a shell */
	char cmd[DW_SRC_PATH_MAX];
	uint32_t timeout_ms;             /* per request or program run (web, dns, cmd) */
};

/* A configured provider instance.  Owned by dw_config. */
struct dw_provider {
	char *name;
	int line;
	const struct dw_provider_ops *ops;
	char *base_url;                  /* "base-url" or the type's default */
	char *ca_file;                   /* "ca-file" or NULL (system store) */
	long timeout_ms;                 /* "timeout" seconds, default 20 */
	struct dw_provider_data *data;   /* defined by each provider's .c file */
	/* "acme-zones": the names whose ACME dns-01 challenges this provider
	 * writes (longest suffix wins; lib/acme.h); NULL-terminated, or NULL. */
	char **acme_zones;
	size_t nacme_zones;
};

/* A configured record.  Owned by dw_config. */
struct dw_record {
	char *fqdn;                      /* lower case, no trailing dot */
	int line;
	struct dw_provider *provider;
	struct dw_source src[DW_FAM_COUNT];
	struct dw_record_data *data;     /* defined by the provider's .c file */
	/* "on-change": absolute path of a program the daemon runs after each
	 * publish attempt (daemon/hooks.c); "" none. */
	char on_change[256];
};

struct dw_config {
	char *path;
	char *state_dir;
	bool has_log_level;
	enum dw_log_level log_level;
	struct dw_provider **providers;
	size_t nproviders;
	struct dw_record **records;
	size_t nrecords;
	/* "dnsward acme" ([dnsward] keys, docs/acme.md). */
	uint32_t acme_timeout_s;         /* "acme-propagation-timeout"; 0 = do not wait */
	uint32_t acme_poll_s;            /* "acme-poll-interval" */
	uint32_t acme_ttl;               /* "acme-ttl" of the TXT records written */
	char *acme_nameservers;          /* "acme-nameservers": fixed authoritative servers */
	char *acme_resolvers;            /* "acme-resolvers"; NULL = /etc/resolv.conf */
	bool cold_start_check;           /* "cold-start-check": with no state, ask the
	                                  * authoritative servers before publishing */
	/* Address sources ([dnsward] keys, lib/source.h). */
	uint32_t poll_interval_s;        /* "poll-interval" for web/dns/cmd sources */
	struct dw_source src_defaults[DW_FAM_COUNT];  /* web-*, dns-*, source-timeout */
	/* Confinement (lib/sandbox.h). */
	char user[64];                   /* "user": drop to it when started as root; "" none */
	char group[64];                  /* "group": default the user's primary group */
	bool seccomp;                    /* "seccomp", default yes */
	/* The daemon ("dnsward run", lib/sched.h). */
	uint32_t debounce_ms;            /* "debounce-ms": quiet time after an address event */
	uint32_t backoff_base_s;         /* "backoff-base": first retry after about this long */
	uint32_t backoff_max_s;          /* "backoff-max": retries never further apart */
	uint32_t max_interval_s;         /* "max-interval": re-assert published records; 0 never */
	uint32_t verify_interval_s;      /* "verify-interval": drift checks; 0 never */
	char control_socket[108];        /* "control-socket"; "" = the default place */
	/* Secret files not read while loading (DW_CONF_SECRETS_PEEK: not
	 * readable by this user; _SKIP: all of them). */
	unsigned secrets_unread;
};

/* Loads and validates path, reading every secret file unless flags say
 * otherwise (DW_CONF_*; DW_CONF_OFFLINE is passed to providers as
 * check_only: no network).  On error returns DW_ECONFIG (or DW_ESECRET,
 * DW_EIO) with the first problem in diag and *out NULL. */
int dw_config_load(const char *path, unsigned flags, struct dw_config **out,
                   struct dw_diag *diag);
/* Same, from text already in memory (file is only used in messages). */
int dw_config_parse(const char *file, const char *text, size_t len, unsigned flags,
                    struct dw_config **out, struct dw_diag *diag);
void dw_config_free(struct dw_config *cfg);

/* For programs other than dnsward that share the [provider NAME] sections
 * (the gateway): one extra section kind, handed to a callback after
 * [dnsward] and before the providers (its keys are checked for typos like
 * any other section's after the callback returns), and whether a file
 * without [record] sections is acceptable. */
struct dw_config_ext {
	const char *kind;                                      /* e.g. "gateway"; NULL = none */
	int (*section)(void *arg, struct dw_conf_ctx *ctx);    /* 0 or a dw_error */
	void *arg;
	bool allow_no_records;
};
/* dw_config_load / dw_config_parse with an extension (ext may be NULL). */
int dw_config_load_ext(const char *path, unsigned flags, const struct dw_config_ext *ext,
                       struct dw_config **out, struct dw_diag *diag);
int dw_config_parse_ext(const char *file, const char *text, size_t len, unsigned flags,
                        const struct dw_config_ext *ext, struct dw_config **out,
                        struct dw_diag *diag);

/* The record with this FQDN (case-insensitive, trailing dot ignored) or NULL. */
struct dw_record *dw_config_find_record(const struct dw_config *cfg, const char *fqdn);

/* Normalises a domain name in place (lower case, no trailing dot) and checks
 * its syntax (labels 1..63 of [a-z0-9_-], total <= 253, "*." prefix allowed).
 * Returns 0 or DW_EINVAL. */
int dw_fqdn_normalize(char *name);
