/* dnsward check: the configuration was loaded and validated by main()
 * (syntax and references checked; secret files read when this user may,
 * else their type and mode checked); summarise what it does. */
#include <stdio.h>

#include "dnsward/commands.h"
#include "lib/provider.h"

/* ", ttl N", or what happens to the ttl with a provider that sets its own. */
static const char *ttl_text(const struct dw_record *r, const struct dw_source *s, char *buf,
                            size_t cap)
{
	if (r->provider->ops->caps & DW_CAP_TTL)
		snprintf(buf, cap, ", ttl %u", s->ttl);
	else if (s->ttl_set)
		snprintf(buf, cap, " (ttl %u has no effect: type %s sets its own)", s->ttl,
		         r->provider->ops->type);
	else
		buf[0] = '\0';
	return buf;
}

static void print_source(const struct dw_record *r, const struct dw_source *s,
                         enum dw_family fam)
{
	char a[DW_IP_STRLEN], t[96];
	const char *ttl = ttl_text(r, s, t, sizeof(t));
	switch (s->kind) {
	case DW_SRC_OFF:
		return;
	case DW_SRC_IFACE:
		if (s->has_suffix) {
			printf("  %s prefix of interface %s with host part %s%s\n",
			       dw_family_rrtype(fam), s->ifname, dw_ip_format(&s->suffix, a), ttl);
			return;
		}
		printf("  %s from interface %s%s\n", dw_family_rrtype(fam), s->ifname, ttl);
		return;
	case DW_SRC_STATIC:
		printf("  %s static %s%s\n", dw_family_rrtype(fam), dw_ip_format(&s->addr, a), ttl);
		return;
	case DW_SRC_WEB:
		printf("  %s from %zu web echo service%s%s\n", dw_family_rrtype(fam), s->nurls,
		       s->nurls == 1 ? "" : "s", ttl);
		return;
	case DW_SRC_DNS:
		printf("  %s from %zu DNS echo server%s%s\n", dw_family_rrtype(fam), s->nservers,
		       s->nservers == 1 ? "" : "s", ttl);
		return;
	case DW_SRC_CMD:
		printf("  %s from program %s%s\n", dw_family_rrtype(fam), s->cmd, ttl);
		return;
	}
}

int cmd_check(struct dw_config *cfg, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "usage: dnsward check\n");
		return DW_EXIT_USAGE;
	}
	printf("%s: OK, %zu provider%s, %zu record%s, state in %s\n", cfg->path,
	       cfg->nproviders, cfg->nproviders == 1 ? "" : "s", cfg->nrecords,
	       cfg->nrecords == 1 ? "" : "s", cfg->state_dir);
	if (cfg->secrets_unread > 0)
		printf("%u secret file%s not readable by this user: type and mode checked, content "
		       "not (run check as their owner for that)\n", cfg->secrets_unread,
		       cfg->secrets_unread == 1 ? "" : "s");
	for (size_t i = 0; i < cfg->nrecords; i++) {
		const struct dw_record *r = cfg->records[i];
		printf("%s via %s (%s)\n", r->fqdn, r->provider->name, r->provider->ops->type);
		for (int f = 0; f < DW_FAM_COUNT; f++)
			print_source(r, &r->src[f], (enum dw_family)f);
	}
	return DW_EXIT_OK;
}
