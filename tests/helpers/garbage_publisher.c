/* A publisher that speaks garbage, for tests/integration/test_publisher.py:
 * it answers dnsward's HELLO properly, then, on the first job, sends what
 * GARBAGE_MODE says and waits to be killed:
 *   bytes      bytes that are no frame (a length past the maximum)
 *   unknown    a well-formed RESULT for a job it was never given
 *   kind       a RESULT for the right job with another kind
 * Test code only: not installed. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one frame; returns its type, its body's first 9 bytes in head. */
static int read_frame(uint8_t head[9])
{
	uint8_t hdr[5];
	if (read_all(3, hdr, 5) != 0)
		return -1;
	uint32_t len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
	               ((uint32_t)hdr[2] << 8) | hdr[3];
	if (len < 1 || len > 1024 * 1024)
		return -1;
	uint8_t *body = malloc(len);
	if (body == NULL || read_all(3, body, len - 1) != 0)
		return -1;
	memcpy(head, body, len - 1 < 9 ? len - 1 : 9);
	free(body);
	return hdr[4];
}

int main(void)
{
	const char *mode = getenv("GARBAGE_MODE");
	if (mode == NULL)
		mode = "bytes";
	uint8_t head[9] = { 0 };
	if (read_frame(head) != 1)   /* HELLO */
		return 1;
	static const uint8_t hello[] = { 0, 0, 0, 9, 1, 0, 0, 0, 1, 0, 0, 0x10, 0x92 };
	if (write(3, hello, sizeof(hello)) != (ssize_t)sizeof(hello))
		return 1;
	while (read_frame(head) != 2)   /* the first JOB */
		;
	uint8_t out[64];
	size_t n = 0;
	if (strcmp(mode, "bytes") == 0) {
		static const uint8_t junk[] = { 0x7f, 0xff, 0xff, 0xff, 3, 'g', 'a', 'r', 'b' };
		memcpy(out, junk, sizeof(junk));
		n = sizeof(junk);
	} else {
		/* RESULT of a TXT_SERVED job: u64 id, u8 kind, i32 err, str msg, bool has */
		uint8_t body[] = { 3, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 1 };
		memcpy(body + 1, head, 8);   /* the job's id */
		if (strcmp(mode, "unknown") == 0)
			body[8] ^= 0x55;         /* ... another one */
		uint32_t len = sizeof(body);
		out[0] = (uint8_t)(len >> 24);
		out[1] = (uint8_t)(len >> 16);
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		memcpy(out + 4, body, sizeof(body));
		n = 4 + sizeof(body);
	}
	if (write(3, out, n) != (ssize_t)n)
		return 1;
	for (;;)
		pause();
}
