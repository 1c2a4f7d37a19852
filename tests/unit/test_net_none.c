/* The resident dnsward's network stand-in (lib/net_none.c): linked like
 * the dnsward program (core library, no network library), a provider
 * asked to publish fails with a clear reason and no byte leaves the
 * process, over HTTP or DNS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/provider.h"

/* A socket on loopback that would see any attempt: TCP listening (type
 * SOCK_STREAM) or UDP bound.  Returns it; *port gets its port. */
static int trap(int type, uint16_t *port)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 4), 0);
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static bool touched(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 200) > 0;
}

static void write_secret(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static void test_providers_cannot_reach_the_network(void **state)
{
	(void)state;
	char dir[] = "/tmp/dw-test-nonet-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char pw[200], key[200];
	snprintf(pw, sizeof(pw), "%s/pw", dir);
	snprintf(key, sizeof(key), "%s/key", dir);
	write_secret(pw, "s3cretpassword\n");
	write_secret(key, "key:\n  - id: k\n    algorithm: hmac-sha256\n"
	                  "    secret: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\n");
	uint16_t tport, uport;
	int tfd = trap(SOCK_STREAM, &tport), ufd = trap(SOCK_DGRAM, &uport);
	char text[1024];
	snprintf(text, sizeof(text),
	         "[dnsward]\nstate-dir = /tmp\n"
	         "[provider web]\ntype = dyndns2\nbase-url = https://127.0.0.1:%u\n"
	         "username = u\npassword-file = %s\n"
	         "[provider dns]\ntype = rfc2136\nserver = 127.0.0.1\nport = %u\nkey-file = %s\n"
	         "zone = example.org\n"
	         "[record a.example.org]\nprovider = web\nipv4 = static:192.0.2.1\n"
	         "[record b.example.org]\nprovider = dns\nipv4 = static:192.0.2.2\n",
	         (unsigned)tport, pw, (unsigned)uport, key);
	struct dw_config *cfg = NULL;
	struct dw_diag diag = { "" };
	assert_int_equal(dw_config_parse("n.conf", text, strlen(text), false, &cfg, &diag), 0);
	for (size_t i = 0; i < cfg->nrecords; i++) {
		const struct dw_record *r = cfg->records[i];
		struct dw_result res = { .outcome = DW_OUT_DONE };
		r->provider->ops->update(r->provider, r, &r->src[DW_FAM_V4].addr, &res);
		assert_false(dw_outcome_ok(res.outcome));
		if (strstr(res.msg, "no network in this process") == NULL)
			fail_msg("%s: %s", r->fqdn, res.msg);
	}
	assert_false(touched(tfd));   /* no connection */
	assert_false(touched(ufd));   /* no datagram */
	close(tfd);
	close(ufd);
	dw_config_free(cfg);
	unlink(pw);
	unlink(key);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_providers_cannot_reach_the_network),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
