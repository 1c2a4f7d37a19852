/* From one host as another client describes it to dnsward's provider and
 * record sections: shared by the ddclient and inadyn importers, so each
 * dnsward provider type is translated in one place.
 *
 * The parsers resolve their client's protocol or provider name to a
 * struct mg_service (tables in translate.c), collect the host's settings in a
 * struct mg_host (all strings borrowed from the parser, may be NULL) and call
 * mg_add_host(), which notes what it cannot express. */
#pragma once

#include <stdbool.h>

#include "migrate/model.h"

/* A dnsward provider type, with a dyndns2 preset where one matches. */
struct mg_service {
	const char *type;     /* "dyndns2", "cloudflare", ..., NULL: none */
	const char *preset;   /* dyndns2 preset, or NULL */
};

/* The dnsward service for an update server's host name (ddclient's
 * "server=", without port or path).  Unknown hosts give type "dyndns2"
 * without a preset (then base-url names the server). */
struct mg_service mg_service_for_server(const char *host);

struct mg_host {
	int line;
	const char *fqdn;
	struct mg_service svc;
	const char *base_url;   /* dyndns2 without preset, custom: scheme://server[:port] */
	const char *path;       /* dyndns2 path when not /nic/update */
	const char *login;
	const char *password;   /* secret */
	const char *zone;
	const char *server;     /* rfc2136: the primary's address */
	const char *key_file;   /* rfc2136: path of the TSIG key file (not a secret) */
	const char *ttl;
	const char *ca_file;
	const char *timeout;    /* seconds */
	const char *proxied;    /* cloudflare: "yes"/"no" */
	/* custom */
	const char *url;        /* dnsward template, already converted */
	bool basic_auth;        /* send login:password as HTTP Basic */
	bool url_password;      /* url has {secret:password}: the password's file */
	const char *success_line;
	/* sources: "iface:NAME", "static:ADDR", "web", "cmd:PATH", "off" */
	const char *ipv4, *ipv6;
	const char *ipv4_web, *ipv6_web;
};

/* Adds h's provider (shared with earlier hosts of the same settings) and
 * its record (merged with an earlier record of the same name when the two
 * set different families).  Untranslatable parts become notes.  Returns 0,
 * DW_ETOOBIG or DW_ENOMEM. */
int mg_add_host(struct mg_conf *c, const struct mg_host *h);

/* Checks used by both parsers. */
bool mg_fqdn_ok(const char *s);          /* a DNS name of two labels or more, optionally "*." first */
bool mg_iface_ok(const char *s);         /* an interface name */
int mg_addr_family(const char *s);       /* 4, 6, or 0 when not an address */
bool mg_cmd_ok(const char *s);           /* an absolute program path without arguments */
