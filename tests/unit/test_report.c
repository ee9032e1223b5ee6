/* SPDX-License-Identifier: MIT */
/* Unit tests for mismatch reports: real bodies in temporary files, gzip
 * data made with zlib and with gzip(1), HTML pages, error texts, corrupt
 * gzip data, gzip bombs against small limits, and redirect chains. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "digest.h"
#include "report.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* Opens an empty temporary file that is already unlinked. */
static int
temp_file(void)
{
	char path[] = "/tmp/test_report.XXXXXX";
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	return fd;
}

static void
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Writes len bytes at data into a new temporary file and leaves its offset
 * in the middle, since report_mismatch must not depend on it. */
static int
body_file(const void *data, size_t len)
{
	int fd = temp_file();

	write_all(fd, data, len);
	assert_int_equal(lseek(fd, (off_t)(len / 2), SEEK_SET), (off_t)(len / 2));
	return fd;
}

/* Computes the digest of len bytes at data with OpenSSL's one-shot
 * EVP_Digest, without digest.c. */
static void
digest_of(enum digest_alg alg, const void *data, size_t len, struct digest *d)
{
	unsigned int n = 0;

	memset(d, 0, sizeof(*d));
	d->alg = alg;
	assert_int_equal(EVP_Digest(data, len, d->raw, &n,
	    alg == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256(), NULL), 1);
	assert_int_equal(n, digest_alg_len(alg));
}

/* Compresses len bytes at data into one gzip member with zlib. Returns a
 * heap buffer and its size in *outlen. */
static unsigned char *
gzip_memory(const void *data, size_t len, size_t *outlen)
{
	unsigned char *out;
	z_stream zs;
	size_t cap;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&zs, len);
	out = malloc(cap);
	assert_non_null(out);
	zs.next_in = (unsigned char *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* Writes into a new temporary file a gzip member of count zero bytes: a
 * gzip bomb, about 1000 times smaller than what it gunzips to. */
static int
gzip_bomb_file(uint64_t count)
{
	static unsigned char zeros[1 << 20], out[1 << 16];
	z_stream zs;
	int fd = temp_file(), flush;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	do {
		size_t chunk = count < sizeof(zeros) ? count : sizeof(zeros);

		count -= chunk;
		flush = count == 0 ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = zeros;
		zs.avail_in = (uInt)chunk;
		do {
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			assert_int_not_equal(deflate(&zs, flush), Z_STREAM_ERROR);
			write_all(fd, out, sizeof(out) - zs.avail_out);
		} while (zs.avail_out == 0);
	} while (flush != Z_FINISH);
	deflateEnd(&zs);
	return fd;
}

/* A text of len bytes that compresses well but is no run of one byte. */
static char *
sample_text(size_t len)
{
	char *text = malloc(len + 1);
	size_t i;

	assert_non_null(text);
	for (i = 0; i < len; i++)
		text[i] = "hashgate pins artifacts by digest\n"[i % 34];
	text[len] = '\0';
	return text;
}

static void
assert_printable(const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

/* Runs report_mismatch and checks that it left the file offset where it
 * was and wrote only printable ASCII. */
static unsigned
run_report(int fd, const struct report_input *in,
    const struct report_limits *limits, char *out, size_t outlen)
{
	off_t before = lseek(fd, 0, SEEK_CUR);
	unsigned found;

	found = report_mismatch(fd, in, limits, out, outlen);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), before);
	assert_printable(out);
	return found;
}

static void
test_gzip_of_pinned_body(void **state)
{
	char *body = sample_text(100000), out[REPORT_TEXT_MAX];
	struct digest expected, observed;
	struct report_input in = { .expected = &expected, .observed = &observed };
	unsigned char *gz;
	size_t gzlen;
	unsigned found;
	int fd;

	digest_of(DIGEST_SHA256, body, strlen(body), &expected);
	gz = gzip_memory(body, strlen(body), &gzlen);
	digest_of(DIGEST_SHA256, gz, gzlen, &observed);
	fd = body_file(gz, gzlen);

	found = run_report(fd, &in, NULL, out, sizeof(out));
	assert_int_equal(found, REPORT_GZIP);
	assert_non_null(strstr(out, "gunzips to the pinned digest"));
	assert_non_null(strstr(out, "transparent compression layer"));
	assert_null(strstr(out, "No known cause"));

	in.content_encoding = "gzip";
	found = run_report(fd, &in, NULL, out, sizeof(out));
	assert_int_equal(found, REPORT_GZIP);
	assert_non_null(strstr(out, "with Content-Encoding: gzip,"));

	close(fd);
	free(gz);
	free(body);
}

static void
test_gzip_sha512_pin(void **state)
{
	char *body = sample_text(5000), out[REPORT_TEXT_MAX];
	struct digest expected, observed;
	struct report_input in = { .expected = &expected, .observed = &observed };
	unsigned char *gz;
	size_t gzlen;
	int fd;

	digest_of(DIGEST_SHA512, body, strlen(body), &expected);
	gz = gzip_memory(body, strlen(body), &gzlen);
	digest_of(DIGEST_SHA512, gz, gzlen, &observed);
	fd = body_file(gz, gzlen);

	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_GZIP);
	close(fd);
	free(gz);
	free(body);
}

/* Two members, as `cat a.gz b.gz` makes them, gunzip to both halves. */
static void
test_gzip_two_members(void **state)
{
	char *body = sample_text(30000), out[REPORT_TEXT_MAX];
	struct digest expected, observed;
	struct report_input in = { .expected = &expected, .observed = &observed };
	unsigned char *a, *b;
	size_t alen, blen;
	int fd;

	digest_of(DIGEST_SHA256, body, strlen(body), &expected);
	a = gzip_memory(body, 10001, &alen);
	b = gzip_memory(body + 10001, strlen(body) - 10001, &blen);
	fd = temp_file();
	write_all(fd, a, alen);
	write_all(fd, b, blen);
	memset(&observed, 0, sizeof(observed));

	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_GZIP);
	close(fd);
	free(a);
	free(b);
	free(body);
}

/* Data that gzip(1) wrote, not zlib's own deflate in this test. */
static void
test_gzip_tool_output(void **state)
{
	char *body = sample_text(70000), out[REPORT_TEXT_MAX];
	char path[] = "/tmp/test_report_tool.XXXXXX", cmd[128];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	int fd, gzfd;

	if (system("command -v gzip >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	digest_of(DIGEST_SHA256, body, strlen(body), &expected);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	write_all(fd, body, strlen(body));
	close(fd);
	snprintf(cmd, sizeof(cmd), "gzip -n -9 %s", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.gz", path);
	gzfd = open(cmd, O_RDONLY);
	assert_true(gzfd >= 0);
	assert_int_equal(unlink(cmd), 0);

	assert_int_equal(run_report(gzfd, &in, NULL, out, sizeof(out)),
	    REPORT_GZIP);
	close(gzfd);
	free(body);
}

static void
test_gzip_other_digest(void **state)
{
	char *body = sample_text(4000), out[REPORT_TEXT_MAX];
	char text[DIGEST_TEXT_MAX];
	struct digest expected, gunzipped;
	struct report_input in = { .expected = &expected };
	unsigned char *gz;
	size_t gzlen;
	unsigned found;
	int fd;

	digest_of(DIGEST_SHA256, "something else", 14, &expected);
	digest_of(DIGEST_SHA256, body, strlen(body), &gunzipped);
	assert_int_equal(digest_format(&gunzipped, text, sizeof(text)), 0);
	gz = gzip_memory(body, strlen(body), &gzlen);
	fd = body_file(gz, gzlen);

	found = run_report(fd, &in, NULL, out, sizeof(out));
	assert_int_equal(found, REPORT_GZIP_OTHER | REPORT_UNKNOWN);
	assert_non_null(strstr(out, "gunzips to 4000 bytes"));
	assert_non_null(strstr(out, text));
	assert_non_null(strstr(out, "No known cause"));
	close(fd);
	free(gz);
	free(body);
}

/* Corrupt, truncated and fake gzip data is no finding, not an error. */
static void
test_gzip_corrupt(void **state)
{
	char *body = sample_text(50000), out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	unsigned char *gz, fake[3000];
	size_t gzlen, i;
	int fd;

	digest_of(DIGEST_SHA256, body, strlen(body), &expected);
	gz = gzip_memory(body, strlen(body), &gzlen);

	/* Truncated before its trailer. */
	fd = body_file(gz, gzlen - 6);
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	close(fd);

	/* A flipped byte in the trailer's CRC-32. */
	gz[gzlen - 6] ^= 0x55;
	fd = body_file(gz, gzlen);
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	close(fd);

	/* Flipped bytes in the compressed data. */
	gz[gzlen - 6] ^= 0x55;
	for (i = 20; i < gzlen - 8; i += 97)
		gz[i] ^= 0xff;
	fd = body_file(gz, gzlen);
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	close(fd);

	/* The magic bytes and then noise. */
	for (i = 0; i < sizeof(fake); i++)
		fake[i] = (unsigned char)(i * 131 + 7);
	fake[0] = 0x1f;
	fake[1] = 0x8b;
	fd = body_file(fake, sizeof(fake));
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	close(fd);

	/* The magic bytes alone. */
	fd = body_file(fake, 2);
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)) &
	    (REPORT_GZIP | REPORT_GZIP_OTHER | REPORT_GZIP_LIMIT), 0);
	close(fd);
	free(gz);
	free(body);
}

static void
test_gzip_bomb_size_limit(void **state)
{
	struct report_limits limits = { 1024 * 1024, 60000 };
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	struct timespec start, end;
	unsigned found;
	long ms;
	int fd;

	digest_of(DIGEST_SHA256, "", 0, &expected);
	fd = gzip_bomb_file((uint64_t)64 << 20);

	clock_gettime(CLOCK_MONOTONIC, &start);
	found = run_report(fd, &in, &limits, out, sizeof(out));
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (end.tv_sec - start.tv_sec) * 1000 +
	    (end.tv_nsec - start.tv_nsec) / 1000000;
	assert_int_equal(found, REPORT_GZIP_LIMIT | REPORT_UNKNOWN);
	assert_non_null(strstr(out, "at the limit of 1048576 bytes"));
	/* Stopping at 1 MiB takes milliseconds, not the 64 MiB's time. */
	assert_true(ms < 5000);

	/* The same bomb within a limit that fits it is hashed in full. */
	limits.max_inflated = (uint64_t)64 << 20;
	found = run_report(fd, &in, &limits, out, sizeof(out));
	assert_int_equal(found, REPORT_GZIP_OTHER | REPORT_UNKNOWN);
	assert_non_null(strstr(out, "gunzips to 67108864 bytes"));
	close(fd);
}

static void
test_gzip_bomb_time_limit(void **state)
{
	struct report_limits limits = { REPORT_MAX_INFLATED, 1 };
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	unsigned found;
	int fd;

	digest_of(DIGEST_SHA256, "", 0, &expected);
	/* 64 MiB take far longer than 1 ms to gunzip and hash. */
	fd = gzip_bomb_file((uint64_t)64 << 20);
	found = run_report(fd, &in, &limits, out, sizeof(out));
	assert_int_equal(found, REPORT_GZIP_LIMIT | REPORT_UNKNOWN);
	assert_non_null(strstr(out, "time limit of 1 ms"));
	close(fd);
}

static void
test_html_content_type(void **state)
{
	static const char *const types[] = {
		"text/html", "text/html; charset=utf-8", " TEXT/HTML ;q",
		"application/xhtml+xml",
	};
	unsigned char body[4096];
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	size_t i;
	int fd;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 131 + 7);
	digest_of(DIGEST_SHA256, "x", 1, &expected);
	fd = body_file(body, sizeof(body));
	for (i = 0; i < NROWS(types); i++) {
		in.content_type = types[i];
		assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
		    REPORT_HTML);
		assert_non_null(strstr(out, "error or login page"));
	}

	in.content_type = "text/htmlx";
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	in.content_type = "application/octet-stream";
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	close(fd);
}

static void
test_html_body(void **state)
{
	static const struct {
		const char	*start;
		int		 html;
	} rows[] = {
		{ "<!DOCTYPE html>\n<html>", 1 },
		{ "\n\t  <!doctype HTML>", 1 },
		{ "\xef\xbb\xbf<html lang=\"en\">", 1 },
		{ "<HTML>", 1 },
		{ "<html\n>", 1 },
		{ "<htmlx>", 0 },
		{ "<?xml version=\"1.0\"?><html>", 0 },
		{ "text <html>", 0 },
	};
	char out[REPORT_TEXT_MAX], *body;
	struct digest expected;
	struct report_input in = { .expected = &expected };
	size_t i, len;
	unsigned found;
	int fd;

	digest_of(DIGEST_SHA256, "x", 1, &expected);
	for (i = 0; i < NROWS(rows); i++) {
		/* Past REPORT_SHORT_TEXT, so only the HTML check applies. */
		len = strlen(rows[i].start) + 2000;
		body = sample_text(len);
		memcpy(body, rows[i].start, strlen(rows[i].start));
		fd = body_file(body, len);
		found = run_report(fd, &in, NULL, out, sizeof(out));
		if (rows[i].html) {
			assert_int_equal(found, REPORT_HTML);
			assert_non_null(strstr(out, "starts like an HTML document"));
		} else
			assert_int_equal(found, REPORT_UNKNOWN);
		close(fd);
		free(body);
	}
}

static void
test_empty_body(void **state)
{
	char out[REPORT_TEXT_MAX];
	struct digest expected, observed;
	struct report_input in = { .expected = &expected, .observed = &observed };
	unsigned found;
	int fd = temp_file();

	digest_of(DIGEST_SHA256, "x", 1, &expected);
	digest_of(DIGEST_SHA256, "", 0, &observed);
	found = run_report(fd, &in, NULL, out, sizeof(out));
	assert_int_equal(found, REPORT_EMPTY | REPORT_EMPTY_DIGEST);
	assert_non_null(strstr(out, "The body is empty"));
	assert_non_null(strstr(out, "digest is that of empty input"));
	assert_int_not_equal(out[0], ' ');

	digest_of(DIGEST_SHA512, "x", 1, &expected);
	digest_of(DIGEST_SHA512, "", 0, &observed);
	found = run_report(fd, &in, NULL, out, sizeof(out));
	assert_int_equal(found, REPORT_EMPTY | REPORT_EMPTY_DIGEST);
	close(fd);
}

static void
test_short_error_text(void **state)
{
	char out[REPORT_TEXT_MAX], *long_text;
	struct digest expected;
	struct report_input in = { .expected = &expected };
	static const char escaped_body[] =
	    "Error \"quota\" \\ exceeded\x01 for this bucket; retry later\r\n";
	int fd;

	digest_of(DIGEST_SHA256, "x", 1, &expected);

	fd = body_file("Not Found\n", 10);
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_SHORT);
	assert_string_equal(out, "The body is 10 bytes of text, probably an "
	    "error message: \"Not Found\\n\".");
	close(fd);

	fd = body_file(escaped_body, strlen(escaped_body));
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_SHORT);
	assert_non_null(strstr(out, "\"Error \\\"quota\\\" \\\\ exceeded\\x01 "
	    "for this bucket; retry later\\r\\n\"."));
	close(fd);

	/* Quoted up to REPORT_QUOTE_LEN bytes. */
	long_text = sample_text(REPORT_SHORT_TEXT - 1);
	fd = body_file(long_text, REPORT_SHORT_TEXT - 1);
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_SHORT);
	assert_non_null(strstr(out, "1023 bytes of text"));
	assert_non_null(strstr(out, "pins artifacts by digest\\nhashgate pins "
	    "artifacts by digest\\nhashgate pin\"...."));
	close(fd);

	/* REPORT_SHORT_TEXT bytes are not short. */
	free(long_text);
	long_text = sample_text(REPORT_SHORT_TEXT);
	fd = body_file(long_text, REPORT_SHORT_TEXT);
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	close(fd);
	free(long_text);
}

/* A small binary body is not quoted. */
static void
test_short_binary(void **state)
{
	unsigned char body[512];
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	size_t i;
	int fd;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 131 + 7);
	digest_of(DIGEST_SHA256, "x", 1, &expected);
	fd = body_file(body, sizeof(body));
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	assert_string_equal(out, "No known cause was found, so either "
	    "upstream changed or replaced the content, or the pin was wrong "
	    "from the start.");
	close(fd);
}

static void
test_redirect_other_host(void **state)
{
	static const char *const chain[] = {
		"https://user:secret@a.example/x.tar.gz?token=abc",
		"https://a.example/dl/x.tar.gz#part",
		"https://CDN.example:8443/x.tar.gz?sig=s3cret&exp=1",
	};
	unsigned char body[4096];
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected, .chain = chain, .nchain = 3 };
	size_t i;
	int fd;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 131 + 7);
	digest_of(DIGEST_SHA256, "x", 1, &expected);
	fd = body_file(body, sizeof(body));
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_OTHER_HOST);
	assert_string_equal(out, "Upstream redirected the request from host "
	    "a.example to host CDN.example after 2 redirects, so the body "
	    "came from CDN.example.");

	/* Another path, port or letter case on the same host is no finding. */
	in.chain = (const char *const[]){
		"http://A.example/x.tar.gz", "http://a.example:8080/y?z",
	};
	in.nchain = 2;
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	in.chain = (const char *const[]){
		"https://[2001:db8::1]:443/x", "https://[2001:db8::1]/y",
	};
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	in.chain = (const char *const[]){
		"https://[2001:db8::1]/x", "https://[2001:db8::2]/x",
	};
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_OTHER_HOST);
	assert_non_null(strstr(out, "to host [2001:db8::2] after 1 redirect,"));
	close(fd);
}

static void
test_redirect_to_http(void **state)
{
	static const char *const chain[] = {
		"https://a.example/x.tar.gz?token=abc",
		"http://a.example/x.tar.gz?token=abc",
		"https://a.example/x.tar.gz",
	};
	unsigned char body[4096];
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected, .chain = chain, .nchain = 3 };
	size_t i;
	int fd;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 131 + 7);
	digest_of(DIGEST_SHA256, "x", 1, &expected);
	fd = body_file(body, sizeof(body));
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_TO_HTTP);
	assert_string_equal(out, "A redirect went from https to plain http "
	    "(https://a.example/x.tar.gz -> http://a.example/x.tar.gz), so "
	    "anyone on the network path could have replaced the body.");

	/* From http to https is no finding. */
	in.chain = chain + 1;
	in.nchain = 2;
	assert_int_equal(run_report(fd, &in, NULL, out, sizeof(out)),
	    REPORT_UNKNOWN);
	close(fd);
}

/* Findings from the chain, the headers and the body add up. */
static void
test_findings_combined(void **state)
{
	static const char *const chain[] = {
		"https://a.example/x.tar.gz", "http://login.example/?next=x",
	};
	static const char page[] = "<html><body>Sign in</body></html>\n";
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = {
	    .expected = &expected, .content_type = "text/html", .chain = chain, .nchain = 2,
	};
	unsigned found;
	int fd;

	digest_of(DIGEST_SHA256, "x", 1, &expected);
	fd = body_file(page, strlen(page));
	found = run_report(fd, &in, NULL, out, sizeof(out));
	assert_int_equal(found, REPORT_OTHER_HOST | REPORT_TO_HTTP |
	    REPORT_HTML | REPORT_SHORT);
	assert_non_null(strstr(out, "host login.example"));
	assert_non_null(strstr(out, "-> http://login.example/)"));
	assert_non_null(strstr(out, "Content-Type text/html"));
	assert_non_null(strstr(out, "\"<html><body>Sign in</body></html>\\n\""));
	assert_null(strstr(out, "next="));
	close(fd);
}

static void
test_output_truncated(void **state)
{
	char out[40];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	unsigned found;
	int fd;

	digest_of(DIGEST_SHA256, "x", 1, &expected);
	fd = body_file("Not Found\n", 10);
	found = run_report(fd, &in, NULL, out, sizeof(out));
	assert_int_equal(found, REPORT_SHORT);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_string_equal(out + sizeof(out) - 4, "...");
	close(fd);
}

static void
test_body_not_regular_file(void **state)
{
	char out[REPORT_TEXT_MAX];
	struct digest expected;
	struct report_input in = { .expected = &expected };
	int fds[2];

	digest_of(DIGEST_SHA256, "x", 1, &expected);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(report_mismatch(fds[0], &in, NULL, out, sizeof(out)),
	    REPORT_READ_ERROR | REPORT_UNKNOWN);
	assert_non_null(strstr(out, "could not be read"));
	close(fds[0]);
	close(fds[1]);
}

static void
test_format_chain_table(void **state)
{
	static const struct {
		const char	*urls[3];
		size_t		 n;
		const char	*text;
	} rows[] = {
		{ { NULL }, 0, "" },
		{ { "https://a.example/x.tar.gz" }, 1,
		    "https://a.example/x.tar.gz" },
		{ { "https://a.example/x.tar.gz?token=1",
		    "https://cdn.example/x.tar.gz?X-Amz-Signature=abc#f" }, 2,
		    "https://a.example/x.tar.gz -> https://cdn.example/x.tar.gz" },
		{ { "https://u:p@a.example:8443/x#frag?q", "http://b.example",
		    "https://[2001:db8::1]/y?" }, 3,
		    "https://a.example:8443/x -> http://b.example -> "
		    "https://[2001:db8::1]/y" },
		/* The authority ends at "?", so an "@" in the query stays
		 * with the query. */
		{ { "https://a.example?mail=a@b.example" }, 1,
		    "https://a.example" },
		{ { "/relative/path?q=1" }, 1, "/relative/path" },
		{ { "https://a.example/\x01\"x\"" }, 1,
		    "https://a.example/\\x01\\\"x\\\"" },
	};
	char out[REPORT_CHAIN_MAX];
	size_t i;

	for (i = 0; i < NROWS(rows); i++) {
		assert_int_equal(report_format_chain(rows[i].urls, rows[i].n,
		    out, sizeof(out)), 0);
		assert_string_equal(out, rows[i].text);
	}
}

static void
test_format_chain_truncated(void **state)
{
	static const char *const chain[] = {
		"https://a.example/x.tar.gz?t=1", "https://b.example/x.tar.gz",
	};
	char out[32];

	assert_int_equal(report_format_chain(chain, 2, out, sizeof(out)), -1);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_string_equal(out, "https://a.example/x.tar.gz -...");
}

/* A URL too long for one entry is cut, and the chain goes on. */
static void
test_format_chain_long_url(void **state)
{
	char long_url[3000], out[REPORT_CHAIN_MAX];
	const char *chain[] = { long_url, "https://b.example/x" };
	const char *arrow;

	snprintf(long_url, sizeof(long_url), "https://a.example/");
	memset(long_url + 18, 'p', sizeof(long_url) - 19);
	long_url[sizeof(long_url) - 1] = '\0';

	assert_int_equal(report_format_chain(chain, 2, out, sizeof(out)), -1);
	arrow = strstr(out, "p... -> https://b.example/x");
	assert_non_null(arrow);
	assert_true(arrow - out < 1024);
	assert_int_equal(strncmp(out, "https://a.example/ppp", 21), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_of_pinned_body),
		cmocka_unit_test(test_gzip_sha512_pin),
		cmocka_unit_test(test_gzip_two_members),
		cmocka_unit_test(test_gzip_tool_output),
		cmocka_unit_test(test_gzip_other_digest),
		cmocka_unit_test(test_gzip_corrupt),
		cmocka_unit_test(test_gzip_bomb_size_limit),
		cmocka_unit_test(test_gzip_bomb_time_limit),
		cmocka_unit_test(test_html_content_type),
		cmocka_unit_test(test_html_body),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_short_error_text),
		cmocka_unit_test(test_short_binary),
		cmocka_unit_test(test_redirect_other_host),
		cmocka_unit_test(test_redirect_to_http),
		cmocka_unit_test(test_findings_combined),
		cmocka_unit_test(test_output_truncated),
		cmocka_unit_test(test_body_not_regular_file),
		cmocka_unit_test(test_format_chain_table),
		cmocka_unit_test(test_format_chain_truncated),
		cmocka_unit_test(test_format_chain_long_url),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
