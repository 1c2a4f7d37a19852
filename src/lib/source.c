/* Address sources: web and DNS echoes, programs, prefix plus host part.
 *
 * Everything that reads outside bytes goes through a pure parser below
 * (echo bodies, DNS replies, program output) so each has unit tests and a
 * fuzz target; the fetchers only move bytes and apply the agreement rule
 * described in source.h. */
#include "lib/source.h"
#include "lib/dns.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/text.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Small helpers ------------------------------------------------------ */

static void why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	if (why == NULL || whylen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	if (n < 0)
		why[0] = '\0';
}

static int parse_err(char *why, size_t whylen, const char *what, const char *s, size_t n)
{
	char sample[64];
	dw_text_sample(s, n, 40, sample, sizeof(sample));
	why_set(why, whylen, "%s: \"%s\"", what, sample);
	return DW_EPARSE;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses exactly s[0..n) as an address of fam. */
static int parse_addr(const char *s, size_t n, enum dw_family fam, struct dw_ip *out,
                      char *why, size_t whylen)
{
	char buf[DW_IP_STRLEN];
	if (n == 0)
		return parse_err(why, whylen, "no address", s, n);
	if (n >= sizeof(buf))
		return parse_err(why, whylen, "not an address (too long)", s, n);
	/* inet_pton stops at a NUL: "9.9.9.9\0junk" must not pass as 9.9.9.9. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\0')
			return parse_err(why, whylen, "not an address (holds a NUL byte)", s, n);
		if (ch <= 0x20 || ch >= 0x7f)
			return parse_err(why, whylen, "not an address", s, n);
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (dw_ip_parse(buf, fam, out) == DW_OK)
		return DW_OK;
	struct dw_ip other;
	if (dw_ip_parse_any(buf, &other) == DW_OK)
		return parse_err(why, whylen,
		                 fam == DW_FAM_V4 ? "an IPv6 address where IPv4 was asked for"
		                                  : "an IPv4 address where IPv6 was asked for", s, n);
	return parse_err(why, whylen, "not an address", s, n);
}

/* ---- Pure parsers -------------------------------------------------------- */

int dw_source_parse_echo(const char *body, size_t len, enum dw_family fam, struct dw_ip *out,
                         char *why, size_t whylen)
{
	if (len > DW_SOURCE_OUTPUT_MAX) {
		why_set(why, whylen, "answer longer than %d bytes", DW_SOURCE_OUTPUT_MAX);
		return DW_EPARSE;
	}
	if (len == 0) {
		why_set(why, whylen, "empty answer");
		return DW_EPARSE;
	}
	if (memchr(body, '\0', len) != NULL)
		return parse_err(why, whylen, "answer holds NUL bytes", body, len);

	const char *nl = memchr(body, '\n', len);
	size_t first = nl != NULL ? (size_t)(nl - body) : len;
	if (memchr(body, '=', first) == NULL) {
		/* One address, then only blank space and line ends (any number:
		 * services differ in what they append). */
		size_t n = len;
		while (n > 0 && is_blank(body[n - 1]))
			n--;
		if (n == 0) {
			why_set(why, whylen, "no address in the answer");
			return DW_EPARSE;
		}
		for (size_t i = 0; i < n; i++) {
			if (body[i] == '\n')
				return parse_err(why, whylen, "more than one line", body, len);
			if (is_blank(body[i]))
				return parse_err(why, whylen, "not exactly one address", body, len);
		}
		return parse_addr(body, n, fam, out, why, whylen);
	}

	/* key=value lines: every line is one, and exactly one key is "ip". */
	bool found = false;
	size_t pos = 0;
	while (pos < len) {
		const char *line = body + pos;
		const char *e = memchr(line, '\n', len - pos);
		size_t n = e != NULL ? (size_t)(e - line) : len - pos;
		pos += n + (e != NULL ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		const char *eq = memchr(line, '=', n);
		if (eq == NULL || eq == line)
			return parse_err(why, whylen, "not a key=value line", line, n);
		for (const char *k = line; k < eq; k++) {
			if (!(isalnum((unsigned char)*k) || *k == '_' || *k == '-'))
				return parse_err(why, whylen, "not a key=value line", line, n);
		}
		if (eq - line == 2 && memcmp(line, "ip", 2) == 0) {
			if (found)
				return parse_err(why, whylen, "more than one ip= line", line, n);
			int ret = parse_addr(eq + 1, n - 3, fam, out, why, whylen);
			if (ret != DW_OK)
				return ret;
			found = true;
		}
	}
	if (!found) {
		why_set(why, whylen, "key=value answer without an ip= line");
		return DW_EPARSE;
	}
	return DW_OK;
}

int dw_source_parse_cmd(const char *text, size_t len, enum dw_family fam, struct dw_ip *out,
                        char *why, size_t whylen)
{
	if (len > DW_SOURCE_OUTPUT_MAX) {
		why_set(why, whylen, "output longer than %d bytes", DW_SOURCE_OUTPUT_MAX);
		return DW_EPARSE;
	}
	size_t n = len;
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n == 0) {
		why_set(why, whylen, "no address in the output");
		return DW_EPARSE;
	}
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\n')
			return parse_err(why, whylen, "more than one line", text, len);
		if (is_blank(text[i]) || text[i] == '\0')
			return parse_err(why, whylen, "not exactly one address", text, len);
	}
	return parse_addr(text, n, fam, out, why, whylen);
}

static const char *const echo_names[] = { "opendns", "cloudflare", "google" };

static const char *echo_qname(enum dw_echo_kind kind)
{
	switch (kind) {
	case DW_ECHO_OPENDNS:    return "myip.opendns.com.";
	case DW_ECHO_CLOUDFLARE: return "whoami.cloudflare.";
	case DW_ECHO_GOOGLE:     return "o-o.myaddr.l.google.com.";
	}
	return "invalid.";
}

static ldns_rr_type echo_qtype(enum dw_echo_kind kind, enum dw_family fam)
{
	if (kind == DW_ECHO_OPENDNS)
		return fam == DW_FAM_V4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
	return LDNS_RR_TYPE_TXT;
}

static ldns_rr_class echo_qclass(enum dw_echo_kind kind)
{
	return kind == DW_ECHO_CLOUDFLARE ? LDNS_RR_CLASS_CH : LDNS_RR_CLASS_IN;
}

int dw_source_dns_query(enum dw_echo_kind kind, enum dw_family fam, uint16_t id,
                        uint8_t *wire, size_t cap, size_t *len)
{
	ldns_rdf *qname = ldns_dname_new_frm_str(echo_qname(kind));
	if (qname == NULL)
		return DW_ENOMEM;
	/* OpenDNS and 1.1.1.1 are resolvers (recursion wanted); Google's echo
	 * is asked of its authoritative server. */
	uint16_t flags = kind == DW_ECHO_GOOGLE ? 0 : LDNS_RD;
	ldns_pkt *p = ldns_pkt_query_new(qname, echo_qtype(kind, fam), echo_qclass(kind), flags);
	if (p == NULL) {
		ldns_rdf_deep_free(qname);
		return DW_ENOMEM;
	}
	ldns_pkt_set_id(p, id);
	uint8_t *buf = NULL;
	size_t n = 0;
	int ret = DW_OK;
	if (ldns_pkt2wire(&buf, p, &n) != LDNS_STATUS_OK || buf == NULL)
		ret = DW_ENOMEM;
	else if (n > cap)
		ret = DW_ETOOBIG;
	else {
		memcpy(wire, buf, n);
		*len = n;
	}
	free(buf);
	ldns_pkt_free(p);
	return ret;
}

/* The echo's name as dw_dns_reply_answers() presents owners. */
static const char *echo_owner(enum dw_echo_kind kind)
{
	switch (kind) {
	case DW_ECHO_OPENDNS:    return "myip.opendns.com";
	case DW_ECHO_CLOUDFLARE: return "whoami.cloudflare";
	case DW_ECHO_GOOGLE:     return "o-o.myaddr.l.google.com";
	}
	return "invalid";
}

#define ECHO_ANSWERS_MAX 16

/* One TXT answer's character-strings, each exactly inside rdata: every
 * address found must equal *out (set on the first).  Returns 0, 1 when no
 * string was an address, or DW_EPARSE with why. */
static int echo_txt(enum dw_echo_kind kind, enum dw_family fam, const uint8_t *d, size_t dn,
                    struct dw_ip *out, bool *have, char *why, size_t whylen)
{
	if (dn == 0) {
		why_set(why, whylen, "malformed TXT record (no string)");
		return DW_EPARSE;
	}
	for (size_t o = 0; o < dn;) {
		size_t sn = d[o];
		if (sn > dn - o - 1) {
			why_set(why, whylen, "malformed TXT record (a string longer than its record)");
			return DW_EPARSE;
		}
		const char *s = (const char *)d + o + 1;
		o += 1 + sn;
		/* Google adds this one when asked through a resolver that sends
		 * a client subnet: not the address. */
		static const char ecs[] = "edns0-client-subnet ";
		if (kind == DW_ECHO_GOOGLE && sn >= sizeof(ecs) - 1 &&
		    memcmp(s, ecs, sizeof(ecs) - 1) == 0)
			continue;
		struct dw_ip ip;
		int r = parse_addr(s, sn, fam, &ip, why, whylen);
		if (r != DW_OK)
			return r;
		if (*have && !dw_ip_equal(&ip, out)) {
			char a[DW_IP_STRLEN], b[DW_IP_STRLEN];
			why_set(why, whylen, "the reply gives two addresses, %s and %s",
			        dw_ip_format(out, a), dw_ip_format(&ip, b));
			return DW_EPARSE;
		}
		*out = ip;
		*have = true;
	}
	return DW_OK;
}

int dw_source_parse_dns(enum dw_echo_kind kind, enum dw_family fam, uint16_t id,
                        const uint8_t *wire, size_t len, struct dw_ip *out,
                        char *why, size_t whylen)
{
	if ((unsigned)kind > DW_ECHO_GOOGLE) {
		why_set(why, whylen, "unknown echo kind");
		return DW_EPARSE;
	}
	/* Strict wire parsing: every RDLENGTH must hold exactly its data and
	 * nothing may follow the last record. */
	struct dw_dns_reply rep;
	struct dw_dns_rr q, an[ECHO_ANSWERS_MAX];
	size_t nan = 0;
	struct dw_diag d = { "" };
	if (dw_dns_parse_reply(wire, len, &rep, &d) != DW_OK ||
	    dw_dns_reply_answers(wire, len, &q, an, ECHO_ANSWERS_MAX, &nan, &d) != DW_OK) {
		why_set(why, whylen, "malformed DNS reply (%s)", d.msg);
		return DW_EPARSE;
	}
	uint16_t qtype = (uint16_t)echo_qtype(kind, fam);
	uint16_t qclass = (uint16_t)echo_qclass(kind);
	const char *owner = echo_owner(kind);
	if (rep.id != id || !rep.qr || rep.opcode != 0) {
		why_set(why, whylen, "not a reply to our query");
		return DW_EPARSE;
	}
	if (rep.tc) {
		why_set(why, whylen, "truncated reply");
		return DW_EPARSE;
	}
	if (rep.rcode != 0) {
		why_set(why, whylen, "DNS error %d", rep.rcode);
		return DW_EPARSE;
	}
	if (rep.qdcount != 1 || strcmp(q.owner, owner) != 0 || q.type != qtype || q.klass != qclass) {
		why_set(why, whylen, "the reply does not repeat our question");
		return DW_EPARSE;
	}
	bool have = false;
	for (size_t i = 0; i < nan; i++) {
		const struct dw_dns_rr *rr = &an[i];
		if (strcmp(rr->owner, owner) != 0 || rr->type != qtype || rr->klass != qclass)
			continue;   /* other names or types cannot be our answer */
		if (qtype == LDNS_RR_TYPE_TXT) {
			int r = echo_txt(kind, fam, rr->rdata, rr->rdlen, out, &have, why, whylen);
			if (r != DW_OK)
				return r;
			continue;
		}
		size_t want = fam == DW_FAM_V4 ? 4 : 16;
		if (rr->rdlen != want) {
			why_set(why, whylen, "malformed %s record (RDLENGTH %u, not %zu)",
			        dw_family_rrtype(fam), (unsigned)rr->rdlen, want);
			return DW_EPARSE;
		}
		struct dw_ip ip = { .family = fam };
		memcpy(ip.bytes, rr->rdata, want);
		if (have && !dw_ip_equal(&ip, out)) {
			char a[DW_IP_STRLEN], b[DW_IP_STRLEN];
			why_set(why, whylen, "the reply gives two addresses, %s and %s",
			        dw_ip_format(out, a), dw_ip_format(&ip, b));
			return DW_EPARSE;
		}
		*out = ip;
		have = true;
	}
	if (!have) {
		why_set(why, whylen, "no matching answer in the reply");
		return DW_EPARSE;
	}
	return DW_OK;
}

int dw_source_agree(const struct dw_ip *votes, const bool *ok, size_t nanswered,
                    size_t nconfigured, bool *done)
{
	size_t quorum = nconfigured < 2 ? 1 : 2;
	size_t valid = 0, distinct = 0, best = 0;
	int best_i = -1;
	bool tie = false;
	for (size_t i = 0; i < nanswered; i++) {
		if (!ok[i])
			continue;
		valid++;
		bool seen = false;
		for (size_t k = 0; k < i; k++) {
			if (ok[k] && dw_ip_equal(&votes[k], &votes[i])) {
				seen = true;
				break;
			}
		}
		if (seen)
			continue;
		distinct++;
		size_t c = 0;
		for (size_t k = i; k < nanswered; k++)
			c += ok[k] && dw_ip_equal(&votes[k], &votes[i]);
		if (c > best) {
			best = c;
			best_i = (int)i;
			tie = false;
		} else if (c == best) {
			tie = true;
		}
	}
	bool all = nanswered >= nconfigured;
	if (done != NULL)
		*done = all;
	if (distinct == 1 && best >= quorum) {
		if (done != NULL)
			*done = true;
		return best_i;
	}
	/* Not enough answers left to reach the quorum: stop early. */
	if (done != NULL && best + (nconfigured - (nanswered < nconfigured ? nanswered : nconfigured))
	                    < quorum)
		*done = true;
	if (!all || best_i < 0 || tie)
		return -1;
	return best >= quorum && best * 2 > valid ? best_i : -1;
}

int dw_source_apply_suffix(const struct dw_ip *prefix, unsigned plen,
                           const struct dw_ip *suffix, struct dw_ip *out,
                           char *why, size_t whylen)
{
	if (plen < 1 || plen > 127)
		plen = 64;
	*out = *prefix;
	for (unsigned bit = 0; bit < 128; bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));
		bool sbit = (suffix->bytes[bit / 8] & mask) != 0;
		if (bit < plen) {
			if (sbit) {
				char s[DW_IP_STRLEN];
				why_set(why, whylen, "ipv6-suffix %s has bits inside the /%u prefix",
				        dw_ip_format(suffix, s), plen);
				return DW_EINVAL;
			}
			continue;
		}
		if (sbit)
			out->bytes[bit / 8] |= mask;
		else
			out->bytes[bit / 8] &= (uint8_t)~mask;
	}
	return DW_OK;
}

/* ---- Fetching ----------------------------------------------------------- */

bool dw_source_polls(const struct dw_source *src)
{
	return src->kind == DW_SRC_WEB || src->kind == DW_SRC_DNS || src->kind == DW_SRC_CMD;
}

/* Applies the record's policy to a fetched address. */
static int check_policy(const struct dw_source *src, enum dw_family fam, const struct dw_ip *ip,
                        const char *from, char *why, size_t whylen)
{
	struct dw_ifaddr a;
	memset(&a, 0, sizeof(a));
	a.ip = *ip;
	a.prefixlen = fam == DW_FAM_V4 ? 32 : 128;
	a.flags = DW_IFA_PERMANENT;
	a.preferred_lft = DW_LIFETIME_FOREVER;
	a.valid_lft = DW_LIFETIME_FOREVER;
	enum dw_reject r = dw_addr_check(&a, fam, NULL, &src->policy);
	if (r == DW_REJ_NONE)
		return DW_OK;
	char s[DW_IP_STRLEN], text[256];
	why_set(why, whylen, "%s gave %s, which is not publishable: %s", from, dw_ip_format(ip, s),
	        dw_reject_explain(ip, r, text, sizeof(text)));
	return DW_ENOTFOUND;
}

/* Appends "; item" to a bounded summary of what each service said. */
static void summary_add(char *sum, size_t cap, const char *label, const char *what)
{
	size_t used = strnlen(sum, cap);
	if (used + 1 >= cap)
		return;
	size_t need = (used > 0 ? 2 : 0) + strlen(label) + 2 + strlen(what);
	if (used + need >= cap)
		return;   /* keep whole items only */
	const char *parts[4] = { used > 0 ? "; " : "", label, ": ", what };
	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(parts[i]);
		memcpy(sum + used, parts[i], n);
		used += n;
	}
	sum[used] = '\0';
}

typedef int (*ask_fn)(const struct dw_source *src, enum dw_family fam, size_t i,
                      struct dw_ip *ip, char *label, size_t labcap, char *why, size_t whylen);

/* Asks services one by one and applies the agreement rule. */
static int fetch_agree(const struct dw_source *src, enum dw_family fam, size_t n, ask_fn ask,
                       const char *what, struct dw_ip *out, char *why, size_t whylen)
{
	struct dw_ip votes[DW_SRC_LIST_MAX];
	bool ok[DW_SRC_LIST_MAX] = { false };
	char sum[1024] = "";
	size_t asked = 0;
	int win = -1;
	int last_err = DW_ENOTFOUND;
	for (size_t i = 0; i < n && i < DW_SRC_LIST_MAX; i++) {
		char label[DW_SRC_URL_MAX + 16], w[512] = "";
		int r = ask(src, fam, i, &votes[i], label, sizeof(label), w, sizeof(w));
		asked++;
		if (r == DW_OK) {
			ok[i] = true;
			char a[DW_IP_STRLEN];
			dw_ip_format(&votes[i], a);
			log_debug("%s %s: %s says %s", what, dw_family_name(fam), label, a);
			summary_add(sum, sizeof(sum), label, a);
		} else {
			last_err = r;
			log_info("%s %s: %s: %s", what, dw_family_name(fam), label, w);
			summary_add(sum, sizeof(sum), label, w);
		}
		bool done = false;
		win = dw_source_agree(votes, ok, asked, n, &done);
		if (done)
			break;
	}
	if (win < 0) {
		size_t valid = 0;
		for (size_t i = 0; i < asked; i++)
			valid += ok[i];
		if (valid == 0)
			why_set(why, whylen, "no %s answered (%s)", what, sum);
		else
			why_set(why, whylen, "%s answers do not agree (%s)", what, sum);
		return valid == 0 && last_err != DW_EPARSE ? last_err : DW_ENOTFOUND;
	}
	*out = votes[win];
	return check_policy(src, fam, out, what, why, whylen);
}

static int ask_web(const struct dw_source *src, enum dw_family fam, size_t i,
                   struct dw_ip *ip, char *label, size_t labcap, char *why, size_t whylen)
{
	snprintf(label, labcap, "%s", src->urls[i]);
	struct dw_http_req req;
	memset(&req, 0, sizeof(req));
	req.url = src->urls[i];
	req.ca_file = src->ca_file[0] != '\0' ? src->ca_file : NULL;
	req.timeout_ms = (long)src->timeout_ms;
	req.ip_version = fam == DW_FAM_V4 ? 4 : 6;
	req.headers[0] = "Accept: text/plain";
	struct dw_http_resp resp;
	struct dw_diag d = { "" };
	int ret = dw_http_request(&req, &resp, &d);
	if (ret != DW_OK) {
		/* The diag starts with the URL, already in the label. */
		const char *m = d.msg;
		size_t ul = strlen(src->urls[i]);
		if (strncmp(m, src->urls[i], ul) == 0 && m[ul] == ':')
			m += ul + 1 + (m[ul + 1] == ' ');
		const char *fix = "";
		if (ret == DW_ETLS && resp.tls == DW_TLS_UNTRUSTED)
			fix = "; if you trust that CA, set web-ca-file to a PEM file holding its certificate";
		else if (ret == DW_ETLS && resp.tls == DW_TLS_NAME)
			fix = "; check the host in that URL";
		why_set(why, whylen, "%s%s", m, fix);
	} else if (resp.status != 200) {
		why_set(why, whylen, "HTTP status %ld", resp.status);
		ret = DW_EHTTP;
	} else {
		ret = dw_source_parse_echo(resp.body, resp.len, fam, ip, why, whylen);
	}
	dw_http_resp_free(&resp);
	return ret;
}

static void server_text(const struct dw_echo_server *s, char *buf, size_t cap)
{
	char a[DW_IP_STRLEN];
	dw_ip_format(&s->addr, a);
	if (s->addr.family == DW_FAM_V6)
		snprintf(buf, cap, "%s@[%s]:%u", echo_names[s->kind], a, (unsigned)s->port);
	else
		snprintf(buf, cap, "%s@%s:%u", echo_names[s->kind], a, (unsigned)s->port);
}

/* One UDP exchange with a connected socket: the reply must come from the
 * server (the kernel filters others) and carry our random ID. */
static int ask_dns(const struct dw_source *src, enum dw_family fam, size_t i,
                   struct dw_ip *ip, char *label, size_t labcap, char *why, size_t whylen)
{
	const struct dw_echo_server *s = &src->servers[i];
	server_text(s, label, labcap);
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		why_set(why, whylen, "no random bytes: %s", strerror(errno));
		return DW_EIO;
	}
	uint8_t q[512];
	size_t qlen = 0;
	int ret = dw_source_dns_query(s->kind, fam, id, q, sizeof(q), &qlen);
	if (ret != DW_OK) {
		why_set(why, whylen, "cannot build the query");
		return ret;
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (s->addr.family == DW_FAM_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(s->port);
		memcpy(&sin->sin_addr, s->addr.bytes, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(s->port);
		memcpy(&sin6->sin6_addr, s->addr.bytes, 16);
		sl = sizeof(*sin6);
	}
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		why_set(why, whylen, "socket: %s", strerror(errno));
		return DW_EDNS;
	}
	long long deadline = now_ms() + src->timeout_ms;
	ret = DW_EDNS;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 || send(fd, q, qlen, 0) != (ssize_t)qlen) {
		why_set(why, whylen, "cannot send: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			why_set(why, whylen, "no reply within %u s", (unsigned)(src->timeout_ms / 1000));
			ret = DW_ETIMEOUT;
			goto out;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;   /* the deadline check above ends it */
		uint8_t buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			why_set(why, whylen, "%s", strerror(errno));
			goto out;
		}
		/* A stray datagram with another ID is ignored, not believed. */
		if (n < 12 || ((uint16_t)(buf[0] << 8 | buf[1])) != id)
			continue;
		ret = dw_source_parse_dns(s->kind, fam, id, buf, (size_t)n, ip, why, whylen);
		goto out;
	}
out:
	close(fd);
	return ret;
}

extern char **environ;

/* Runs src->cmd with argv { cmd, "ipv4"|"ipv6" }, no shell, a fixed small
 * environment, stdin from /dev/null; reads stdout (capped) and the start of
 * stderr until both close or the timeout, then kills its process group. */
static int run_cmd(const struct dw_source *src, enum dw_family fam, struct dw_ip *ip,
                   char *why, size_t whylen)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int ret = DW_EIO;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_ok = false, attr_ok = false;
	/* posix_spawn takes char *const []: writable copies, no casts. */
	char path[DW_SRC_PATH_MAX], fam_arg[8], env_path[] = "PATH=/usr/local/bin:/usr/bin:/bin",
	     env_lc[] = "LC_ALL=C", fam_env[32];
	snprintf(path, sizeof(path), "%s", src->cmd);
	snprintf(fam_arg, sizeof(fam_arg), "%s", dw_family_name(fam));
	snprintf(fam_env, sizeof(fam_env), "DNSWARD_FAMILY=%s", dw_family_name(fam));
	char *const argv[] = { path, fam_arg, NULL };
	char *const envp[] = { env_path, env_lc, fam_env, NULL };

	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		why_set(why, whylen, "pipe: %s", strerror(errno));
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	fa_ok = true;
	if (posix_spawnattr_init(&attr) != 0)
		goto out;
	attr_ok = true;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, outp[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, errp[1], 2) != 0 ||
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0 ||
#endif
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &all) != 0 ||
	    posix_spawnattr_setpgroup(&attr, 0) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	                                    POSIX_SPAWN_SETPGROUP) != 0) {
		why_set(why, whylen, "cannot prepare to run %s", src->cmd);
		goto out;
	}
	int se = posix_spawn(&pid, src->cmd, &fa, &attr, argv, envp);
	if (se != 0) {
		pid = -1;
		why_set(why, whylen, "cannot run %s: %s", src->cmd, strerror(se));
		goto out;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	char out_buf[DW_SOURCE_OUTPUT_MAX + 1];
	size_t out_len = 0;
	char err_buf[200];
	size_t err_len = 0;
	bool too_long = false, timed_out = false;
	long long deadline = now_ms() + src->timeout_ms;
	struct pollfd pfd[2] = { { .fd = outp[0], .events = POLLIN },
	                         { .fd = errp[0], .events = POLLIN } };
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int pr = poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno != EINTR)
			break;
		for (int k = 0; k < 2 && pr > 0; k++) {
			if (pfd[k].fd < 0 || pfd[k].revents == 0)
				continue;
			char tmp[1024];
			ssize_t n = read(pfd[k].fd, tmp, sizeof(tmp));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pfd[k].fd = -1;
				continue;
			}
			if (k == 0) {
				size_t take = (size_t)n;
				if (out_len + take > DW_SOURCE_OUTPUT_MAX) {
					too_long = true;
					take = DW_SOURCE_OUTPUT_MAX - out_len;
				}
				memcpy(out_buf + out_len, tmp, take);
				out_len += take;
			} else if (err_len < sizeof(err_buf)) {
				size_t take = (size_t)n < sizeof(err_buf) - err_len ? (size_t)n
				                                                      : sizeof(err_buf) - err_len;
				memcpy(err_buf + err_len, tmp, take);
				err_len += take;
			}
		}
		if (too_long)
			break;
	}

	/* Reap the program within what is left of the timeout. */
	int status = 0;
	bool reaped = false;
	while (!timed_out && !too_long) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			reaped = true;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		if (now_ms() >= deadline) {
			timed_out = true;
			break;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	/* The whole process group: a script's children go too. */
	(void)kill(-pid, SIGKILL);
	if (!reaped) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	pid = -1;

	char errs[120];
	dw_text_sample(err_buf, err_len, 100, errs, sizeof(errs));
	if (timed_out) {
		why_set(why, whylen, "%s did not finish within %u s (killed)", src->cmd,
		        (unsigned)(src->timeout_ms / 1000));
		ret = DW_ETIMEOUT;
	} else if (too_long) {
		why_set(why, whylen, "%s printed more than %d bytes (killed)", src->cmd,
		        DW_SOURCE_OUTPUT_MAX);
		ret = DW_EPARSE;
	} else if (WIFSIGNALED(status)) {
		why_set(why, whylen, "%s was killed by signal %d", src->cmd, WTERMSIG(status));
		ret = DW_EIO;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		why_set(why, whylen, "%s exited with status %d%s%s", src->cmd,
		        WIFEXITED(status) ? WEXITSTATUS(status) : -1, err_len > 0 ? ": " : "",
		        err_len > 0 ? errs : "");
		ret = DW_EIO;
	} else {
		char w[200] = "";
		ret = dw_source_parse_cmd(out_buf, out_len, fam, ip, w, sizeof(w));
		if (ret != DW_OK)
			why_set(why, whylen, "%s: %s", src->cmd, w);
	}
out:
	if (pid > 0) {
		(void)kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (int k = 0; k < 2; k++) {
		if (outp[k] >= 0)
			close(outp[k]);
		if (errp[k] >= 0)
			close(errp[k]);
	}
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	return ret;
}

int dw_source_fetch(const struct dw_source *src, enum dw_family fam, struct dw_ip *out,
                    char *why, size_t whylen)
{
	int ret;
	switch (src->kind) {
	case DW_SRC_WEB:
		return fetch_agree(src, fam, src->nurls, ask_web, "web echo", out, why, whylen);
	case DW_SRC_DNS:
		return fetch_agree(src, fam, src->nservers, ask_dns, "DNS echo", out, why, whylen);
	case DW_SRC_CMD:
		ret = run_cmd(src, fam, out, why, whylen);
		if (ret != DW_OK)
			return ret;
		return check_policy(src, fam, out, src->cmd, why, whylen);
	default:
		why_set(why, whylen, "not a fetched source");
		return DW_EINVAL;
	}
}

/* ---- Configuration -------------------------------------------------------- */

static const char *const default_web[DW_FAM_COUNT][5] = {
	{ "https://api.ipify.org", "https://ipv4.icanhazip.com", "https://checkipv4.dedyn.io",
	  "https://1.1.1.1/cdn-cgi/trace", NULL },
	{ "https://api6.ipify.org", "https://ipv6.icanhazip.com", "https://checkipv6.dedyn.io",
	  "https://[2606:4700:4700::1111]/cdn-cgi/trace", NULL },
};
static const char *const default_dns[DW_FAM_COUNT][4] = {
	{ "opendns@208.67.222.222", "cloudflare@1.1.1.1", "google@216.239.32.10", NULL },
	{ "opendns@[2620:119:35::35]", "cloudflare@[2606:4700:4700::1111]",
	  "google@[2001:4860:4802:32::a]", NULL },
};

/* Parses "KIND@ADDR", "KIND@ADDR:PORT" (IPv4) or "KIND@[ADDR]:PORT". */
static int parse_server(const char *item, enum dw_family fam, struct dw_echo_server *out)
{
	const char *at = strchr(item, '@');
	if (at == NULL)
		return DW_EINVAL;
	size_t kl = (size_t)(at - item);
	bool found = false;
	for (size_t k = 0; k < 3; k++) {
		if (strlen(echo_names[k]) == kl && strncmp(item, echo_names[k], kl) == 0) {
			out->kind = (enum dw_echo_kind)k;
			found = true;
		}
	}
	if (!found)
		return DW_EINVAL;
	const char *a = at + 1;
	char addr[DW_IP_STRLEN];
	const char *port = NULL;
	size_t al;
	if (a[0] == '[') {
		const char *close_br = strchr(a, ']');
		if (close_br == NULL)
			return DW_EINVAL;
		al = (size_t)(close_br - a - 1);
		a++;
		if (close_br[1] == ':')
			port = close_br + 2;
		else if (close_br[1] != '\0')
			return DW_EINVAL;
	} else {
		const char *colon = strchr(a, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			al = (size_t)(colon - a);
			port = colon + 1;
		} else {
			al = strlen(a);
		}
	}
	if (al == 0 || al >= sizeof(addr))
		return DW_EINVAL;
	memcpy(addr, a, al);
	addr[al] = '\0';
	if (dw_ip_parse(addr, fam, &out->addr) != DW_OK)
		return DW_EINVAL;
	out->port = 53;
	if (port != NULL) {
		char *end = NULL;
		errno = 0;
		unsigned long p = strtoul(port, &end, 10);
		if (!isdigit((unsigned char)port[0]) || *end != '\0' || errno != 0 || p == 0 ||
		    p > 65535)
			return DW_EINVAL;
		out->port = (uint16_t)p;
	}
	return DW_OK;
}

/* Splits a list at commas and blanks; calls fn for each item. */
static int each_item(const char *list, int (*fn)(void *arg, const char *item), void *arg)
{
	const char *p = list;
	size_t count = 0;
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		const char *e = p;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		char item[DW_SRC_URL_MAX];
		size_t n = (size_t)(e - p);
		if (n >= sizeof(item))
			return DW_ETOOBIG;
		memcpy(item, p, n);
		item[n] = '\0';
		int r = fn(arg, item);
		if (r != DW_OK)
			return r;
		count++;
		p = e;
	}
	return count == 0 ? DW_ENOTFOUND : DW_OK;
}

struct list_arg {
	struct dw_source *src;
	enum dw_family fam;
	const char *bad;    /* first bad item (points into a static copy) */
	char badbuf[DW_SRC_URL_MAX];
};

static int add_url(void *argp, const char *item)
{
	struct list_arg *arg = argp;
	if (strncmp(item, "https://", 8) != 0 || item[8] == '\0') {
		snprintf(arg->badbuf, sizeof(arg->badbuf), "%s", item);
		arg->bad = arg->badbuf;
		return DW_EINVAL;
	}
	if (arg->src->nurls == DW_SRC_LIST_MAX)
		return DW_ETOOBIG;
	snprintf(arg->src->urls[arg->src->nurls++], DW_SRC_URL_MAX, "%s", item);
	return DW_OK;
}

static int add_server(void *argp, const char *item)
{
	struct list_arg *arg = argp;
	if (arg->src->nservers == DW_SRC_LIST_MAX)
		return DW_ETOOBIG;
	if (parse_server(item, arg->fam, &arg->src->servers[arg->src->nservers]) != DW_OK) {
		snprintf(arg->badbuf, sizeof(arg->badbuf), "%s", item);
		arg->bad = arg->badbuf;
		return DW_EINVAL;
	}
	arg->src->nservers++;
	return DW_OK;
}

static int conf_list(struct dw_conf_ctx *ctx, const char *key, enum dw_family fam, bool urls,
                     struct dw_source *src)
{
	const char *v = dw_conf_get(ctx, key);
	if (v == NULL)
		return DW_OK;
	struct list_arg arg = { .src = src, .fam = fam };
	if (urls)
		src->nurls = 0;
	else
		src->nservers = 0;
	int r = each_item(v, urls ? add_url : add_server, &arg);
	if (r == DW_OK)
		return DW_OK;
	if (r == DW_ENOTFOUND)
		return dw_conf_error(ctx, key, "empty list");
	if (r == DW_ETOOBIG)
		return dw_conf_error(ctx, key, "more than %d items, or an item longer than %d bytes",
		                     DW_SRC_LIST_MAX, DW_SRC_URL_MAX - 1);
	if (urls)
		return dw_conf_error(ctx, key, "'%s' is not an https:// URL", arg.bad);
	return dw_conf_error(ctx, key, "'%s' is not opendns@ADDRESS, cloudflare@ADDRESS or "
	                     "google@ADDRESS (an %s address, optionally with :PORT, IPv6 in [])",
	                     arg.bad, dw_family_name(fam));
}

void dw_source_defaults(struct dw_config *cfg)
{
	cfg->poll_interval_s = DW_SOURCE_POLL_DEFAULT_S;
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_source *d = &cfg->src_defaults[f];
		memset(d, 0, sizeof(*d));
		d->timeout_ms = DW_SOURCE_TIMEOUT_DEFAULT_S * 1000u;
		for (size_t i = 0; default_web[f][i] != NULL; i++)
			snprintf(d->urls[d->nurls++], DW_SRC_URL_MAX, "%s", default_web[f][i]);
		for (size_t i = 0; default_dns[f][i] != NULL; i++) {
			if (parse_server(default_dns[f][i], (enum dw_family)f, &d->servers[d->nservers]) ==
			    DW_OK)
				d->nservers++;
		}
	}
}

int dw_source_conf_global(struct dw_config *cfg, struct dw_conf_ctx *ctx)
{
	int ret = dw_conf_uint(ctx, "poll-interval", 10, 604800, DW_SOURCE_POLL_DEFAULT_S,
	                       &cfg->poll_interval_s);
	if (ret != DW_OK)
		return ret;
	uint32_t timeout;
	if ((ret = dw_conf_uint(ctx, "source-timeout", 1, 300, DW_SOURCE_TIMEOUT_DEFAULT_S,
	                        &timeout)) != DW_OK)
		return ret;
	const char *ca = dw_conf_get(ctx, "web-ca-file");
	if (ca != NULL) {
		if (ca[0] != '/' || strlen(ca) >= DW_SRC_PATH_MAX)
			return dw_conf_error(ctx, "web-ca-file", "'%s' must be an absolute path", ca);
		if (access(ca, R_OK) != 0)
			return dw_conf_error(ctx, "web-ca-file", "cannot read %s: %s", ca,
			                     strerror(errno));
	}
	for (int f = 0; f < DW_FAM_COUNT; f++) {
		struct dw_source *d = &cfg->src_defaults[f];
		d->timeout_ms = timeout * 1000u;
		if (ca != NULL)
			snprintf(d->ca_file, sizeof(d->ca_file), "%s", ca);
		char key[32];
		snprintf(key, sizeof(key), "web-%s", dw_family_name((enum dw_family)f));
		if ((ret = conf_list(ctx, key, (enum dw_family)f, true, d)) != DW_OK)
			return ret;
		snprintf(key, sizeof(key), "dns-%s", dw_family_name((enum dw_family)f));
		if ((ret = conf_list(ctx, key, (enum dw_family)f, false, d)) != DW_OK)
			return ret;
	}
	return DW_OK;
}

int dw_source_conf_record(const struct dw_config *cfg, struct dw_conf_ctx *ctx,
                          enum dw_family fam, const char *v, struct dw_source *src)
{
	const char *key = dw_family_name(fam);
	const struct dw_source *d = &cfg->src_defaults[fam];
	enum dw_src_kind kind;
	if (strcmp(v, "web") == 0)
		kind = DW_SRC_WEB;
	else if (strcmp(v, "dns") == 0)
		kind = DW_SRC_DNS;
	else if (strncmp(v, "cmd:", 4) == 0)
		kind = DW_SRC_CMD;
	else
		return DW_ENOTFOUND;

	src->kind = kind;
	src->timeout_ms = d->timeout_ms;
	if (kind == DW_SRC_WEB) {
		src->nurls = d->nurls;
		memcpy(src->urls, d->urls, sizeof(src->urls));
		memcpy(src->ca_file, d->ca_file, sizeof(src->ca_file));
	} else if (kind == DW_SRC_DNS) {
		src->nservers = d->nservers;
		memcpy(src->servers, d->servers, sizeof(src->servers));
	} else {
		const char *path = v + 4;
		if (path[0] != '/' || strlen(path) >= sizeof(src->cmd))
			return dw_conf_error(ctx, key, "'%s' must name a program by its absolute path", path);
		struct stat st;
		if (stat(path, &st) != 0)
			return dw_conf_error(ctx, key, "cannot use %s: %s", path, strerror(errno));
		if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0)
			return dw_conf_error(ctx, key, "%s is not an executable file", path);
		/* Whoever may change the program chooses what we publish. */
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			return dw_conf_error(ctx, key, "%s is writable by %s (mode %04o); fix with: "
			                     "chmod go-w %s", path, (st.st_mode & S_IWOTH) ? "others"
			                     : "its group", (unsigned)(st.st_mode & 07777), path);
		snprintf(src->cmd, sizeof(src->cmd), "%s", path);
	}
	return DW_OK;
}

int dw_source_conf_extra(const struct dw_config *cfg, struct dw_conf_ctx *ctx,
                         enum dw_family fam, struct dw_source *src)
{
	(void)cfg;
	const char *fname = dw_family_name(fam);
	char key[32];
	int ret;

	snprintf(key, sizeof(key), "%s-web", fname);
	if (dw_conf_get(ctx, key) != NULL && src->kind != DW_SRC_WEB)
		return dw_conf_error(ctx, key, "only with %s = web", fname);
	if ((ret = conf_list(ctx, key, fam, true, src)) != DW_OK)
		return ret;

	snprintf(key, sizeof(key), "%s-dns", fname);
	if (dw_conf_get(ctx, key) != NULL && src->kind != DW_SRC_DNS)
		return dw_conf_error(ctx, key, "only with %s = dns", fname);
	if ((ret = conf_list(ctx, key, fam, false, src)) != DW_OK)
		return ret;

	if (fam == DW_FAM_V6) {
		const char *v = dw_conf_get(ctx, "ipv6-suffix");
		if (v != NULL) {
			if (src->kind != DW_SRC_IFACE)
				return dw_conf_error(ctx, "ipv6-suffix", "only with ipv6 = iface:NAME");
			if (dw_ip_parse(v, DW_FAM_V6, &src->suffix) != DW_OK)
				return dw_conf_error(ctx, "ipv6-suffix",
				                     "'%s' is not an IPv6 host part like ::1234:5678:9abc:def0", v);
			static const uint8_t zero[16] = { 0 };
			if (memcmp(src->suffix.bytes, zero, 16) == 0)
				return dw_conf_error(ctx, "ipv6-suffix", "'%s' is all zeros", v);
			src->has_suffix = true;
		}
	}
	return DW_OK;
}
