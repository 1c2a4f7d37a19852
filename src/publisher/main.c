/* dnsward-publisher: the process doing dnsward's network work.
 *
 * dnsward (the resident daemon, and the one-shot update and acme) starts it
 * with a socket as descriptor 3 (lib/pubclient.h) and hands it jobs with
 * only the configuration sections and secrets they need
 * (lib/pubproto.h).  It holds no state, opens no secret file, writes no
 * file, needs no privilege: before reading a job it empties its
 * capability sets and installs its own system-call filter on top of the
 * one it inherited.  It exits when dnsward closes the socket (or dies:
 * PR_SET_PDEATHSIG) and every job is answered.  Not a command to run by
 * hand. */
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/cli.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/pubproto.h"
#include "lib/sandbox.h"
#include "publisher/serve.h"

#define FD 3

/* What the first HTTPS request would do first, done while the publisher
 * waits for its first job (started ahead, it waits out dnsward's
 * debounce): the TLS library loads its algorithms on the first context.
 * Only with the OpenSSL backend of libcurl (Debian's). */
static void prewarm_tls(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || v->ssl_version == NULL || strncmp(v->ssl_version, "OpenSSL/", 8) != 0)
		return;
	SSL_CTX_free(SSL_CTX_new(TLS_client_method()));
}

static bool send_frame(struct dw_pp_buf *b)
{
	const uint8_t *p = b->p;
	size_t len = b->len;
	while (len > 0) {
		ssize_t n = send(FD, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	dw_cli_harden();
	/* Dies with dnsward: a monitor killed mid-job leaves no publisher. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	(void)signal(SIGPIPE, SIG_IGN);
	dw_log_init("dnsward");

	struct stat st;
	if (fstat(FD, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "dnsward-publisher does the network work of dnsward, which starts "
		                "it; it is not a command of its own\n");
		return 2;
	}

	/* HELLO: protocol version, log level, filter. */
	struct dw_pp_reader rd = { 0 };
	struct dw_diag diag = { "" };
	struct dw_pp_hello h;
	int r = dw_pp_read(&rd, FD, &diag);   /* blocking: the first frame */
	if (r != 1 || rd.type != DW_PP_HELLO ||
	    dw_pp_decode_hello(rd.body, rd.body_len, true, &h, &diag) != DW_OK) {
		log_error("publisher: no HELLO from dnsward%s%s", diag.msg[0] ? ": " : "", diag.msg);
		return 1;
	}
	dw_pp_reader_reset(&rd);
	struct dw_pp_hello reply = { .version = DW_PP_VERSION, .pid = (uint32_t)getpid() };
	struct dw_pp_buf b;
	if (h.version != DW_PP_VERSION) {
		/* Say which version this is, so that dnsward can tell. */
		if (dw_pp_encode_hello(&reply, false, &b) == DW_OK) {
			(void)send_frame(&b);
			dw_pp_buf_free(&b);
		}
		log_error("publisher: dnsward speaks protocol version %u, this is %u",
		          (unsigned)h.version, (unsigned)DW_PP_VERSION);
		return 1;
	}
	dw_log_set_level((enum dw_log_level)h.log_level);

	/* Confinement before any job: no capability, then the filter (a
	 * denylist when jobs run programs, as they inherit it). */
	if (dw_sandbox_no_caps(&diag) != DW_OK) {
		log_error("publisher: %s", diag.msg);
		return 1;
	}
	if (dw_http_global_init() != DW_OK) {
		log_error("publisher: cannot initialise the HTTP library");
		return 1;
	}
	if (h.flags & DW_PP_SECCOMP) {
		unsigned flags = (h.flags & DW_PP_SPAWN) ? DW_SANDBOX_SPAWN : DW_SANDBOX_PUBLISHER;
		if (dw_sandbox_seccomp(flags, &diag) != DW_OK) {
			log_error("publisher: %s", diag.msg);
			return 1;
		}
	}
	if (dw_pp_encode_hello(&reply, false, &b) != DW_OK || !send_frame(&b)) {
		dw_pp_buf_free(&b);
		return 1;
	}
	dw_pp_buf_free(&b);
	/* After the HELLO, so dnsward need not wait for it; and only when no
	 * job waits yet (a publisher started ahead of a debounce), as a job's
	 * first request does the same work anyway. */
	struct pollfd pfd = { .fd = FD, .events = POLLIN };
	if (poll(&pfd, 1, 0) == 0)
		prewarm_tls();

	(void)fcntl(FD, F_SETFL, O_NONBLOCK);
	int rc = pub_serve(FD);
	dw_http_global_cleanup();
	dw_log_clear_secrets();
	return rc;
}
