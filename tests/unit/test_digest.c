/* SPDX-License-Identifier: MIT */
/* Unit tests for SHA-256 and SHA-512 digest parsing and its messages, the
 * canonical text, hex and base64 encoding, the two-digest hasher and
 * digest_fd, checked against known vectors and OpenSSL's EVP_Digest. */
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
#include <unistd.h>

#include <openssl/evp.h>

#include "digest.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* SHA-256 of the empty string and of "abc", as `openssl dgst -sha256`
 * prints them. */
#define HEX_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HEX_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HEX_ABC_UPPER \
	"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
#define HEX_ABC_MIXED \
	"Ba7816bF8f01CfeA414140De5dAe2223B00361a396177A9cB410fF61f20015aD"

/* A text and the lower-case hex that digest_parse must produce from it. */
struct parse_good {
	const char	*in;
	const char	*hex;
};

/* Computes the raw SHA-256 of len bytes at data with OpenSSL's one-shot
 * EVP_Digest, without digest.c. */
static void
sha256_oneshot(const void *data, size_t len, unsigned char raw[DIGEST_LEN])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, raw, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, DIGEST_LEN);
}

/* Opens an empty temporary file that is already unlinked. */
static int
temp_file(void)
{
	char path[] = "/tmp/test_digest.XXXXXX";
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	return fd;
}

/* Writes len bytes to fd and rewinds it. */
static void
write_all(int fd, const unsigned char *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

static void
digest_parse_good(void **state)
{
	static const struct parse_good rows[] = {
		{ HEX_ABC, HEX_ABC },
		{ HEX_ABC_UPPER, HEX_ABC },
		{ HEX_ABC_MIXED, HEX_ABC },
		{ HEX_EMPTY, HEX_EMPTY },
		{ "sha256:" HEX_ABC, HEX_ABC },
		{ "SHA256:" HEX_ABC, HEX_ABC },
		{ "Sha256:" HEX_ABC_UPPER, HEX_ABC },
		{ "sHA256:" HEX_ABC_MIXED, HEX_ABC },
		{ "0000000000000000000000000000000000000000000000000000000000000000",
		  "0000000000000000000000000000000000000000000000000000000000000000" },
		{ "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
		  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		char hex[DIGEST_HEX_LEN + 1];
		const char *err = NULL;
		int rc;

		memset(hex, 'X', sizeof(hex));
		rc = digest_parse(rows[i].in, hex, &err);
		if (rc != 0)
			print_error("input: \"%s\"\nerror: %s\n", rows[i].in,
			    err != NULL ? err : "(null)");
		assert_int_equal(rc, 0);
		assert_true(memchr(hex, '\0', sizeof(hex)) != NULL);
		if (strcmp(hex, rows[i].hex) != 0)
			print_error("input: \"%s\"\n", rows[i].in);
		assert_string_equal(hex, rows[i].hex);
	}
}

static void
digest_parse_bad(void **state)
{
	static const char *const rows[] = {
		"",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
		"ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
		"ba7816bf8f01cfea414140de5dae2223 00361a396177a9cb410ff61f20015ad",
		"ba7816bf8f01cfea414140de5dae2223-00361a396177a9cb410ff61f20015ad",
		"0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",
		" " HEX_ABC,
		HEX_ABC " ",
		HEX_ABC "\n",
		"\t" HEX_ABC,
		"sha256:",
		"SHA256:",
		"sha256: " HEX_ABC,
		"sha256 :" HEX_ABC,
		"sha256:sha256:" HEX_ABC,
		"sha256:SHA256:" HEX_ABC,
		"sha256" HEX_ABC,
		"sha256:" HEX_ABC "0",
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
		"sha-256:" HEX_ABC,
		"sha512:" HEX_ABC,
		"sha1:a9993e364706816aba3e25717850c26c9cd0d89d",
		"sha1:" HEX_ABC,
		"md5:900150983cd24fb0d6963f7d28e17f72",
		"md5:" HEX_ABC,
		":" HEX_ABC,
		"sha256",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		char hex[DIGEST_HEX_LEN + 1];
		const char *err = NULL;
		int rc;

		rc = digest_parse(rows[i], hex, &err);
		if (rc != -1 || err == NULL || err[0] == '\0')
			print_error("input: \"%s\"\n", rows[i]);
		assert_int_equal(rc, -1);
		assert_non_null(err);
		assert_true(err[0] != '\0');
	}
}

static void
digest_hex_known(void **state)
{
	unsigned char raw[DIGEST_LEN];
	char hex[DIGEST_HEX_LEN + 1];

	(void)state;
	sha256_oneshot("", 0, raw);
	memset(hex, 'X', sizeof(hex));
	digest_to_hex(raw, hex);
	assert_string_equal(hex, HEX_EMPTY);

	sha256_oneshot("abc", 3, raw);
	memset(hex, 'X', sizeof(hex));
	digest_to_hex(raw, hex);
	assert_string_equal(hex, HEX_ABC);
}

static void
digest_hex_round_trip(void **state)
{
	unsigned char rows[4][DIGEST_LEN], back[DIGEST_LEN];
	char hex[DIGEST_HEX_LEN + 1];
	size_t i, j;

	(void)state;
	memset(rows[0], 0x00, DIGEST_LEN);
	memset(rows[1], 0xff, DIGEST_LEN);
	for (j = 0; j < DIGEST_LEN; j++)
		rows[2][j] = (unsigned char)j;
	sha256_oneshot("abc", 3, rows[3]);

	for (i = 0; i < NROWS(rows); i++) {
		digest_to_hex(rows[i], hex);
		assert_int_equal(strlen(hex), DIGEST_HEX_LEN);
		memset(back, 0x5a, sizeof(back));
		assert_int_equal(digest_from_hex(hex, back), 0);
		if (memcmp(back, rows[i], DIGEST_LEN) != 0)
			print_error("hex: %s\n", hex);
		assert_memory_equal(back, rows[i], DIGEST_LEN);
	}
}

static void
digest_from_hex_upper(void **state)
{
	unsigned char lower[DIGEST_LEN], upper[DIGEST_LEN], mixed[DIGEST_LEN];

	(void)state;
	assert_int_equal(digest_from_hex(HEX_ABC, lower), 0);
	assert_int_equal(digest_from_hex(HEX_ABC_UPPER, upper), 0);
	assert_int_equal(digest_from_hex(HEX_ABC_MIXED, mixed), 0);
	assert_memory_equal(upper, lower, DIGEST_LEN);
	assert_memory_equal(mixed, lower, DIGEST_LEN);
}

static void
digest_from_hex_bad(void **state)
{
	static const char *const rows[] = {
		"",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
		"ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015az",
		"ba7816bf8f01cfea414140de5dae2223 00361a396177a9cb410ff61f20015ad",
		" " HEX_ABC,
		HEX_ABC "\n",
		"sha256:" HEX_ABC,
		"0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		unsigned char raw[DIGEST_LEN];
		int rc;

		rc = digest_from_hex(rows[i], raw);
		if (rc != -1)
			print_error("input: \"%s\"\n", rows[i]);
		assert_int_equal(rc, -1);
	}
}

static void
digest_base64_known(void **state)
{
	static const struct {
		const char	*hex;
		const char	*b64;
	} rows[] = {
		{ HEX_EMPTY, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
		{ HEX_ABC, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" },
		{ "0000000000000000000000000000000000000000000000000000000000000000",
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
		{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		  "//////////////////////////////////////////8=" },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		unsigned char raw[DIGEST_LEN];
		char b64[DIGEST_B64_LEN + 1];

		assert_int_equal(digest_from_hex(rows[i].hex, raw), 0);
		memset(b64, 'X', sizeof(b64));
		digest_to_base64(raw, b64);
		assert_true(memchr(b64, '\0', sizeof(b64)) != NULL);
		assert_int_equal(strlen(b64), DIGEST_B64_LEN);
		if (strcmp(b64, rows[i].b64) != 0)
			print_error("hex: %s\n", rows[i].hex);
		assert_string_equal(b64, rows[i].b64);
	}

	/* The same vectors starting from OpenSSL's digest of the message. */
	{
		unsigned char raw[DIGEST_LEN];
		char b64[DIGEST_B64_LEN + 1];

		sha256_oneshot("", 0, raw);
		digest_to_base64(raw, b64);
		assert_string_equal(b64, rows[0].b64);
		sha256_oneshot("abc", 3, raw);
		digest_to_base64(raw, b64);
		assert_string_equal(b64, rows[1].b64);
	}
}

static void
digest_fd_empty(void **state)
{
	unsigned char raw[DIGEST_LEN];
	char hex[DIGEST_HEX_LEN + 1];
	uint64_t size = 12345;
	int fd;

	(void)state;
	fd = temp_file();
	assert_int_equal(digest_fd(fd, raw, &size), 0);
	digest_to_hex(raw, hex);
	assert_string_equal(hex, HEX_EMPTY);
	assert_int_equal(size, 0);
	close(fd);
}

static void
digest_fd_abc(void **state)
{
	unsigned char raw[DIGEST_LEN];
	char hex[DIGEST_HEX_LEN + 1];
	uint64_t size = 0;
	int fd;

	(void)state;
	fd = temp_file();
	write_all(fd, (const unsigned char *)"abc", 3);
	assert_int_equal(digest_fd(fd, raw, &size), 0);
	digest_to_hex(raw, hex);
	assert_string_equal(hex, HEX_ABC);
	assert_int_equal(size, 3);

	/* size may be NULL. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	memset(raw, 0, sizeof(raw));
	assert_int_equal(digest_fd(fd, raw, NULL), 0);
	digest_to_hex(raw, hex);
	assert_string_equal(hex, HEX_ABC);
	close(fd);
}

/* Files of several MiB are read in more than one block, also when the size
 * is not a multiple of the block. */
static void
digest_fd_large(void **state)
{
	static const size_t sizes[] = {
		3 * 1024 * 1024,
		3 * 1024 * 1024 + 17,
		1024 * 1024 - 1,
	};
	size_t i, j, max = 3 * 1024 * 1024 + 17;
	unsigned char *data;
	uint32_t x = 2463534242u;

	(void)state;
	data = malloc(max);
	assert_non_null(data);
	for (j = 0; j < max; j++) {
		/* xorshift32, so that every block has different content */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[j] = (unsigned char)x;
	}

	for (i = 0; i < NROWS(sizes); i++) {
		unsigned char raw[DIGEST_LEN], expected[DIGEST_LEN];
		uint64_t size = 0;
		int fd;

		sha256_oneshot(data, sizes[i], expected);
		fd = temp_file();
		write_all(fd, data, sizes[i]);
		if (digest_fd(fd, raw, &size) != 0)
			print_error("file of %zu bytes: %s\n", sizes[i],
			    strerror(errno));
		assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)sizes[i]);
		if (memcmp(raw, expected, DIGEST_LEN) != 0 || size != sizes[i])
			print_error("file of %zu bytes\n", sizes[i]);
		assert_memory_equal(raw, expected, DIGEST_LEN);
		assert_int_equal(size, sizes[i]);

		/* The mapped variant gives the same digest and offset. */
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		size = 0;
		assert_int_equal(digest_fd_mapped(fd, raw, &size), 0);
		assert_memory_equal(raw, expected, DIGEST_LEN);
		assert_int_equal(size, sizes[i]);
		assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)sizes[i]);
		close(fd);
	}
	free(data);
}

/* A pipe delivers the data in pieces smaller than the read size. */
static void
digest_fd_pipe(void **state)
{
	unsigned char raw[DIGEST_LEN];
	char hex[DIGEST_HEX_LEN + 1];
	uint64_t size = 0;
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "ab", 2), 2);
	assert_int_equal(write(fds[1], "c", 1), 1);
	close(fds[1]);
	assert_int_equal(digest_fd(fds[0], raw, &size), 0);
	digest_to_hex(raw, hex);
	assert_string_equal(hex, HEX_ABC);
	assert_int_equal(size, 3);
	close(fds[0]);
}

static void
digest_fd_bad_fd(void **state)
{
	unsigned char raw[DIGEST_LEN];
	uint64_t size = 0;
	int fd;

	(void)state;
	errno = 0;
	assert_int_equal(digest_fd(-1, raw, &size), -1);
	assert_int_equal(errno, EBADF);

	/* A descriptor open only for writing cannot be read either. */
	fd = open("/dev/null", O_WRONLY);
	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(digest_fd(fd, raw, &size), -1);
	assert_int_equal(errno, EBADF);
	close(fd);

	fd = open("/", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(digest_fd(fd, raw, &size), -1);
	assert_int_equal(errno, EISDIR);
	close(fd);
}

/* SHA-512 of the empty string and of "abc", as `openssl dgst -sha512`
 * prints them, and the SRI base64 of both digests without the padding,
 * as `openssl dgst -binary | base64` prints them. */
#define HEX512_EMPTY \
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define HEX512_ABC \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define HEX512_ABC_UPPER \
	"DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A" \
	"2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F"
#define B64_EMPTY_DATA "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
#define B64_ABC_DATA "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0"
#define B64_512_EMPTY_DATA \
	"z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kx" \
	"vUdBeoGlODJ6+SfaPg"
#define B64_512_ABC_DATA \
	"3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1E" \
	"I2Q86A4qmslPpUyknw"

/* The same digest with the last data character changed so that its unused
 * low bits are not zero. */
#define B64_ABC_DATA_BITS "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1"
#define B64_512_ABC_DATA_BITS \
	"3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1E" \
	"I2Q86A4qmslPpUyknx"

#define HEX_ZERO \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define HEX_FF \
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

#define CANON_ABC	"sha256:" HEX_ABC
#define CANON_EMPTY	"sha256:" HEX_EMPTY
#define CANON512_ABC	"sha512:" HEX512_ABC
#define CANON512_EMPTY	"sha512:" HEX512_EMPTY

#define MSG_MD5 "MD5 digests are not accepted because MD5 collisions " \
	"can be produced cheaply; pin a SHA-256 or SHA-512 digest instead"
#define MSG_SHA1 "SHA-1 digests are not accepted because SHA-1 " \
	"chosen-prefix collisions are practical; pin a SHA-256 or SHA-512 " \
	"digest instead"
#define MSG_UNSUPPORTED "unsupported digest algorithm; use sha256 or sha512"
#define MSG_HEX_LEN "a digest is 64 hex digits (SHA-256) or 128 (SHA-512)"
#define MSG_NOT_HEX "digest contains a character that is not a hex digit"
#define MSG_SPACE "digest contains whitespace"
#define MSG_MISSING "digest is missing after the algorithm name"
#define MSG_NOT_B64 \
	"digest contains a character that is not in the base64 alphabet"
#define MSG_URL_SAFE "digest uses the URL-safe base64 alphabet; SRI " \
	"digests use '+' and '/' in place of '-' and '_'"
#define MSG_PAD_MISSING "base64 padding '=' is missing at the end"
#define MSG_PAD_EXTRA \
	"base64 digest has more '=' padding than its length allows"
#define MSG_PAD_INSIDE "base64 padding '=' is followed by more " \
	"characters; '=' may appear only at the end"
#define MSG_B64_LEN256 "base64 digest does not decode to 32 bytes, the " \
	"size of a SHA-256 digest"
#define MSG_B64_LEN512 "base64 digest does not decode to 64 bytes, the " \
	"size of a SHA-512 digest"
#define MSG_BITS "base64 digest is not canonical: the unused low bits " \
	"of its last character are not zero"

/* A text and the canonical text that digest_parse_any must produce. */
struct parse_any_good {
	const char	*in;
	const char	*canonical;
};

/* A text that digest_parse_any rejects, with the static message and the
 * message from digest_parse_any_detail. */
struct parse_any_bad {
	const char	*in;
	const char	*err;
	const char	*detail;
};

static const struct parse_any_good parse_any_good_rows[] = {
	/* SHA-256 of "abc" in every accepted form. */
	{ HEX_ABC, CANON_ABC },
	{ HEX_ABC_UPPER, CANON_ABC },
	{ HEX_ABC_MIXED, CANON_ABC },
	{ "sha256:" HEX_ABC, CANON_ABC },
	{ "SHA256:" HEX_ABC, CANON_ABC },
	{ "Sha256:" HEX_ABC_UPPER, CANON_ABC },
	{ "sHA256:" HEX_ABC_MIXED, CANON_ABC },
	{ "sha256-" B64_ABC_DATA "=", CANON_ABC },
	{ "SHA256-" B64_ABC_DATA "=", CANON_ABC },
	{ "Sha256-" B64_ABC_DATA "=", CANON_ABC },

	/* SHA-256 of the empty input. */
	{ HEX_EMPTY, CANON_EMPTY },
	{ "sha256:" HEX_EMPTY, CANON_EMPTY },
	{ "sha256-" B64_EMPTY_DATA "=", CANON_EMPTY },

	/* SHA-512 of "abc" in every accepted form. */
	{ HEX512_ABC, CANON512_ABC },
	{ HEX512_ABC_UPPER, CANON512_ABC },
	{ "sha512:" HEX512_ABC, CANON512_ABC },
	{ "SHA512:" HEX512_ABC, CANON512_ABC },
	{ "ShA512:" HEX512_ABC_UPPER, CANON512_ABC },
	{ "sha512-" B64_512_ABC_DATA "==", CANON512_ABC },
	{ "SHA512-" B64_512_ABC_DATA "==", CANON512_ABC },

	/* SHA-512 of the empty input. */
	{ HEX512_EMPTY, CANON512_EMPTY },
	{ "sha512:" HEX512_EMPTY, CANON512_EMPTY },
	{ "sha512-" B64_512_EMPTY_DATA "==", CANON512_EMPTY },

	/* Extreme byte values, where hex case and base64 bits matter most. */
	{ HEX_ZERO, "sha256:" HEX_ZERO },
	{ "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	  "sha256:" HEX_ZERO },
	{ "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	  "sha256:" HEX_FF },
	{ "sha256-//////////////////////////////////////////8=",
	  "sha256:" HEX_FF },
	{ HEX_ZERO HEX_ZERO, "sha512:" HEX_ZERO HEX_ZERO },
	{ "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAA==", "sha512:" HEX_ZERO HEX_ZERO },
	{ "sha512-//////////////////////////////////////////////////////////"
	  "///////////////////////////w==", "sha512:" HEX_FF HEX_FF },
};

static const struct parse_any_bad parse_any_bad_rows[] = {
	{ "", "digest is empty", "digest is empty" },

	/* Hex of the wrong length, odd and even. */
	{ "abc", MSG_HEX_LEN,
	  "found 3 hex digits, expected 64 (SHA-256) or 128 (SHA-512)" },
	{ "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
	  MSG_HEX_LEN,
	  "found 63 hex digits, expected 64 (SHA-256) or 128 (SHA-512)" },
	{ HEX_ABC "0", MSG_HEX_LEN,
	  "found 65 hex digits, expected 64 (SHA-256) or 128 (SHA-512)" },
	{ HEX_ABC "00", MSG_HEX_LEN,
	  "found 66 hex digits, expected 64 (SHA-256) or 128 (SHA-512)" },
	{ HEX512_ABC "0", MSG_HEX_LEN,
	  "found 129 hex digits, expected 64 (SHA-256) or 128 (SHA-512)" },
	{ HEX512_ABC HEX_ABC, MSG_HEX_LEN,
	  "found 192 hex digits, expected 64 (SHA-256) or 128 (SHA-512)" },
	{ "sha256:" HEX_ABC "0", "a SHA-256 digest is 64 hex digits",
	  "found 65 hex digits after \"sha256:\", expected 64" },
	{ "sha256:" HEX512_ABC, "a SHA-256 digest is 64 hex digits",
	  "found 128 hex digits after \"sha256:\", expected 64" },
	{ "sha512:" HEX_ABC, "a SHA-512 digest is 128 hex digits",
	  "found 64 hex digits after \"sha512:\", expected 128" },
	{ "SHA512:" HEX512_ABC "f", "a SHA-512 digest is 128 hex digits",
	  "found 129 hex digits after \"sha512:\", expected 128" },

	/* Characters that are not hex digits, with their position. */
	{ "ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	  MSG_NOT_HEX, "character 1 ('g') is not a hex digit" },
	{ "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
	  MSG_NOT_HEX, "character 64 ('g') is not a hex digit" },
	{ "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aG",
	  MSG_NOT_HEX, "character 71 ('G') is not a hex digit" },
	{ "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",
	  MSG_NOT_HEX, "character 2 ('x') is not a hex digit" },
	{ "ba7816bf8f01cfea414140de5dae2223-00361a396177a9cb410ff61f20015ad",
	  MSG_NOT_HEX, "character 33 ('-') is not a hex digit" },
	{ "ba7816bf8f01cfea414140de5dae2223:00361a396177a9cb410ff61f20015ad",
	  MSG_NOT_HEX, "character 33 (':') is not a hex digit" },
	{ ":" HEX_ABC, MSG_NOT_HEX, "character 1 (':') is not a hex digit" },
	{ "-" HEX_ABC, MSG_NOT_HEX, "character 1 ('-') is not a hex digit" },
	{ "ba7816bf\xc3\xa9" "8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001",
	  MSG_NOT_HEX, "character 9 (byte 0xc3) is not a hex digit" },
	{ "sha256", MSG_NOT_HEX, "character 1 ('s') is not a hex digit" },
	{ "sha256:sha256:" HEX_ABC, MSG_NOT_HEX,
	  "character 8 ('s') is not a hex digit" },
	{ "sha256:" B64_ABC_DATA "=", MSG_NOT_HEX,
	  "character 8 ('u') is not a hex digit" },
	{ B64_ABC_DATA "=", MSG_NOT_HEX,
	  "character 1 ('u') is not a hex digit" },

	/* Whitespace anywhere. */
	{ " " HEX_ABC, MSG_SPACE,
	  "character 1 is whitespace (a space); remove it" },
	{ "\t" HEX_ABC, MSG_SPACE,
	  "character 1 is whitespace (a tab); remove it" },
	{ HEX_ABC "\n", MSG_SPACE,
	  "character 65 is whitespace (a newline); remove it" },
	{ HEX_ABC "\r\n", MSG_SPACE,
	  "character 65 is whitespace (a carriage return); remove it" },
	{ "ba7816bf8f01cfea414140de5dae2223 00361a396177a9cb410ff61f20015ad",
	  MSG_SPACE, "character 33 is whitespace (a space); remove it" },
	{ "sha256: " HEX_ABC, MSG_SPACE,
	  "character 8 is whitespace (a space); remove it" },
	{ "sha256- " B64_ABC_DATA "=", MSG_SPACE,
	  "character 8 is whitespace (a space); remove it" },
	{ "sha256-" B64_ABC_DATA "=\n", MSG_SPACE,
	  "character 52 is whitespace (a newline); remove it" },
	{ "sha512-" B64_512_ABC_DATA "=\v=", MSG_SPACE,
	  "character 95 is whitespace (byte 0x0b); remove it" },

	/* MD5 and SHA-1, by length or by name. */
	{ "900150983cd24fb0d6963f7d28e17f72", MSG_MD5,
	  "found 32 hex digits, the length of an MD5 digest: " MSG_MD5 },
	{ "900150983CD24FB0D6963F7D28E17F72", MSG_MD5,
	  "found 32 hex digits, the length of an MD5 digest: " MSG_MD5 },
	{ "md5:900150983cd24fb0d6963f7d28e17f72", MSG_MD5, MSG_MD5 },
	{ "MD5:900150983cd24fb0d6963f7d28e17f72", MSG_MD5, MSG_MD5 },
	{ "md5-kAFQmDzST7DWlj99KOF/cg==", MSG_MD5, MSG_MD5 },
	{ "md5:" HEX_ABC, MSG_MD5, MSG_MD5 },
	{ "md5:", MSG_MD5, MSG_MD5 },
	{ "a9993e364706816aba3e25717850c26c9cd0d89d", MSG_SHA1,
	  "found 40 hex digits, the length of a SHA-1 digest: " MSG_SHA1 },
	{ "sha1:a9993e364706816aba3e25717850c26c9cd0d89d", MSG_SHA1, MSG_SHA1 },
	{ "SHA1:a9993e364706816aba3e25717850c26c9cd0d89d", MSG_SHA1, MSG_SHA1 },
	{ "sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=", MSG_SHA1, MSG_SHA1 },
	{ "sha1-", MSG_SHA1, MSG_SHA1 },

	/* Other algorithm names. */
	{ "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	  "8086072ba1e7cc2358baeca134c825a7", MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha384\"; use sha256 or sha512" },
	{ "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0"
	  "yCWn", MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha384\"; use sha256 or sha512" },
	{ "sha224:23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
	  MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha224\"; use sha256 or sha512" },
	{ "blake2b-" B64_512_ABC_DATA "==", MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"blake2b\"; use sha256 or sha512" },
	{ "sha-256:" HEX_ABC, MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha-256\"; use sha256 or sha512" },
	{ "SHA-512:" HEX512_ABC, MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"SHA-512\"; use sha256 or sha512" },
	{ "sha256 :" HEX_ABC, MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha256?\"; use sha256 or sha512" },
	{ "sha256" HEX_ABC ":", MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha256ba7816bf8f01cfea414140de5d"
	  "...\"; use sha256 or sha512" },
	{ "sha512-" B64_512_ABC_DATA ":=", MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha512-" "3a81oZNherrMQXNJriBBMRLm+"
	  "...\"; use sha256 or sha512" },
	{ "sha\x01:" HEX_ABC, MSG_UNSUPPORTED,
	  "unsupported digest algorithm \"sha?\"; use sha256 or sha512" },

	/* A name with nothing after it. */
	{ "sha256:", MSG_MISSING, "digest is missing after \"sha256:\"" },
	{ "SHA256:", MSG_MISSING, "digest is missing after \"SHA256:\"" },
	{ "sha512:", MSG_MISSING, "digest is missing after \"sha512:\"" },
	{ "sha256-", MSG_MISSING, "digest is missing after \"sha256-\"" },
	{ "Sha512-", MSG_MISSING, "digest is missing after \"Sha512-\"" },

	/* Characters outside the standard base64 alphabet. */
	{ "sha256-*ngWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", MSG_NOT_B64,
	  "character 8 ('*') is not a base64 character" },
	{ "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa.=", MSG_NOT_B64,
	  "character 50 ('.') is not a base64 character" },
	{ "sha512-" B64_512_ABC_DATA "!=", MSG_NOT_B64,
	  "character 94 ('!') is not a base64 character" },
	{ "sha256-ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=", MSG_URL_SAFE,
	  "character 17 ('-') is from the URL-safe base64 alphabet; SRI "
	  "digests use '+' and '/' in place of '-' and '_'" },
	{ "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=", MSG_URL_SAFE,
	  "character 43 ('_') is from the URL-safe base64 alphabet; SRI "
	  "digests use '+' and '/' in place of '-' and '_'" },
	{ "sha256-ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", MSG_URL_SAFE,
	  "character 17 ('-') is from the URL-safe base64 alphabet; SRI "
	  "digests use '+' and '/' in place of '-' and '_'" },

	/* Padding missing, too long or in the middle. */
	{ "sha256-" B64_ABC_DATA, MSG_PAD_MISSING,
	  "found 0 '=' at the end, expected 1 for a SHA-256 digest" },
	{ "sha512-" B64_512_ABC_DATA, MSG_PAD_MISSING,
	  "found 0 '=' at the end, expected 2 for a SHA-512 digest" },
	{ "sha512-" B64_512_ABC_DATA "=", MSG_PAD_MISSING,
	  "found 1 '=' at the end, expected 2 for a SHA-512 digest" },
	{ "sha256-" B64_ABC_DATA "==", MSG_PAD_EXTRA,
	  "found 2 '=' at the end, expected 1 for a SHA-256 digest" },
	{ "sha256-" B64_ABC_DATA "===", MSG_PAD_EXTRA,
	  "found 3 '=' at the end, expected 1 for a SHA-256 digest" },
	{ "sha512-" B64_512_ABC_DATA "===", MSG_PAD_EXTRA,
	  "found 3 '=' at the end, expected 2 for a SHA-512 digest" },
	{ "sha256-" B64_ABC_DATA "=A", MSG_PAD_INSIDE,
	  "character 51 is '=' padding but more characters follow; '=' may "
	  "appear only at the end" },
	{ "sha256-=" B64_ABC_DATA, MSG_PAD_INSIDE,
	  "character 8 is '=' padding but more characters follow; '=' may "
	  "appear only at the end" },
	{ "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOW=F3qctBD/YfIAFa0", MSG_PAD_INSIDE,
	  "character 36 is '=' padding but more characters follow; '=' may "
	  "appear only at the end" },

	/* Base64 that decodes to the wrong number of bytes. */
	{ "sha256-" B64_512_ABC_DATA "==", MSG_B64_LEN256,
	  "found 86 base64 characters before the padding, expected 43 for "
	  "the 32 bytes of a SHA-256 digest" },
	{ "sha512-" B64_ABC_DATA "=", MSG_B64_LEN512,
	  "found 43 base64 characters before the padding, expected 86 for "
	  "the 64 bytes of a SHA-512 digest" },
	{ "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa==", MSG_B64_LEN256,
	  "found 42 base64 characters before the padding, expected 43 for "
	  "the 32 bytes of a SHA-256 digest" },
	{ "sha256-" B64_ABC_DATA "A", MSG_B64_LEN256,
	  "found 44 base64 characters before the padding, expected 43 for "
	  "the 32 bytes of a SHA-256 digest" },
	{ "sha256-AAAA", MSG_B64_LEN256,
	  "found 4 base64 characters before the padding, expected 43 for "
	  "the 32 bytes of a SHA-256 digest" },
	{ "sha256-=", MSG_B64_LEN256,
	  "found 0 base64 characters before the padding, expected 43 for "
	  "the 32 bytes of a SHA-256 digest" },
	{ "sha256-" HEX_ABC, MSG_B64_LEN256,
	  "found 64 base64 characters before the padding, expected 43 for "
	  "the 32 bytes of a SHA-256 digest" },

	/* Unused low bits in the last base64 character that are not zero. */
	{ "sha256-" B64_ABC_DATA_BITS "=", MSG_BITS,
	  "base64 digest is not canonical: the unused low bits of character "
	  "50 ('1') are not zero; the canonical character is '0'" },
	{ "sha256-//////////////////////////////////////////9=", MSG_BITS,
	  "base64 digest is not canonical: the unused low bits of character "
	  "50 ('9') are not zero; the canonical character is '8'" },
	{ "sha512-" B64_512_ABC_DATA_BITS "==", MSG_BITS,
	  "base64 digest is not canonical: the unused low bits of character "
	  "93 ('x') are not zero; the canonical character is 'w'" },
	{ "sha512-//////////////////////////////////////////////////////////"
	  "////////////////////////////==", MSG_BITS,
	  "base64 digest is not canonical: the unused low bits of character "
	  "93 ('/') are not zero; the canonical character is 'w'" },
};

/* Every accepted form gives its canonical text, through both parsers, and
 * the canonical text parses back to the same digest. */
static void
digest_parse_any_forms(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(parse_any_good_rows); i++) {
		const struct parse_any_good *row = &parse_any_good_rows[i];
		struct digest d, again;
		char text[DIGEST_TEXT_MAX], msg[DIGEST_ERROR_MAX];
		const char *err = NULL;
		size_t j;
		int rc;

		memset(&d, 0x5a, sizeof(d));
		rc = digest_parse_any(row->in, &d, &err);
		if (rc != 0)
			print_error("input: \"%s\"\nerror: %s\n", row->in,
			    err != NULL ? err : "(null)");
		assert_int_equal(rc, 0);
		assert_int_equal(digest_format(&d, text, sizeof(text)), 0);
		if (strcmp(text, row->canonical) != 0)
			print_error("input: \"%s\"\n", row->in);
		assert_string_equal(text, row->canonical);

		/* Bytes past the digest are zero. */
		for (j = digest_alg_len(d.alg); j < DIGEST_MAX_LEN; j++)
			assert_int_equal(d.raw[j], 0);

		memset(&again, 0, sizeof(again));
		msg[0] = '\0';
		rc = digest_parse_any_detail(row->in, &again, msg, sizeof(msg));
		if (rc != 0)
			print_error("input: \"%s\"\nmessage: %s\n", row->in, msg);
		assert_int_equal(rc, 0);
		assert_int_equal(again.alg, d.alg);
		assert_memory_equal(again.raw, d.raw, DIGEST_MAX_LEN);

		memset(&again, 0, sizeof(again));
		assert_int_equal(digest_parse_any(text, &again, &err), 0);
		assert_int_equal(again.alg, d.alg);
		assert_memory_equal(again.raw, d.raw, DIGEST_MAX_LEN);
	}
}

static void
digest_parse_any_alg(void **state)
{
	struct digest d;
	const char *err = NULL;

	(void)state;
	assert_int_equal(digest_parse_any(HEX_ABC, &d, &err), 0);
	assert_int_equal(d.alg, DIGEST_SHA256);
	assert_int_equal(digest_alg_len(d.alg), 32);
	assert_string_equal(digest_alg_name(d.alg), "sha256");
	assert_int_equal(digest_parse_any(HEX512_ABC, &d, &err), 0);
	assert_int_equal(d.alg, DIGEST_SHA512);
	assert_int_equal(digest_alg_len(d.alg), 64);
	assert_string_equal(digest_alg_name(d.alg), "sha512");
}

/* Every rejection gives its static message, its detailed message, and
 * leaves the output unchanged. */
static void
digest_parse_any_rejects(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(parse_any_bad_rows); i++) {
		const struct parse_any_bad *row = &parse_any_bad_rows[i];
		struct digest d, untouched;
		char msg[DIGEST_ERROR_MAX];
		const char *err = NULL;
		int rc;

		memset(&untouched, 0x5a, sizeof(untouched));
		d = untouched;
		rc = digest_parse_any(row->in, &d, &err);
		if (rc != -1 || err == NULL || strcmp(err, row->err) != 0)
			print_error("input: \"%s\"\nerror: %s\n", row->in,
			    err != NULL ? err : "(null)");
		assert_int_equal(rc, -1);
		assert_non_null(err);
		assert_string_equal(err, row->err);
		assert_memory_equal(&d, &untouched, sizeof(d));

		memset(msg, 'X', sizeof(msg));
		rc = digest_parse_any_detail(row->in, &d, msg, sizeof(msg));
		assert_int_equal(rc, -1);
		assert_true(memchr(msg, '\0', sizeof(msg)) != NULL);
		if (strcmp(msg, row->detail) != 0)
			print_error("input: \"%s\"\n", row->in);
		assert_string_equal(msg, row->detail);
		assert_memory_equal(&d, &untouched, sizeof(d));
	}
}

/* A short message buffer receives a cut message that is still
 * NUL-terminated, and a zero-length one is not written. */
static void
digest_parse_any_detail_short(void **state)
{
	struct digest d;
	char msg[8];

	(void)state;
	memset(msg, 'X', sizeof(msg));
	assert_int_equal(digest_parse_any_detail("abc", &d, msg, sizeof(msg)),
	    -1);
	assert_string_equal(msg, "found 3");

	memset(msg, 'X', sizeof(msg));
	assert_int_equal(digest_parse_any_detail("abc", &d, msg, 0), -1);
	assert_int_equal(msg[0], 'X');
	assert_int_equal(digest_parse_any_detail("abc", &d, NULL, 0), -1);
}

/* digest_parse keeps its hex SHA-256 rules and explains the other forms
 * that digest_parse_any accepts. */
static void
digest_parse_sha256_only(void **state)
{
	static const struct {
		const char	*in;
		const char	*err;
	} rows[] = {
		{ "abc", "a SHA-256 digest is 64 hex digits" },
		{ HEX_ABC "0", "a SHA-256 digest is 64 hex digits" },
		{ "sha512:" HEX_ABC, "a SHA-512 digest is 128 hex digits" },
		{ HEX512_ABC, "SHA-512 digests are not accepted here; pin a "
		  "SHA-256 digest (64 hex digits)" },
		{ "sha512:" HEX512_ABC, "SHA-512 digests are not accepted here; "
		  "pin a SHA-256 digest (64 hex digits)" },
		{ "sha512-" B64_512_ABC_DATA "==", "SRI base64 digests are not "
		  "accepted here; write the SHA-256 digest as 64 hex digits" },
		{ "sha256-" B64_ABC_DATA "=", "SRI base64 digests are not "
		  "accepted here; write the SHA-256 digest as 64 hex digits" },
		{ "900150983cd24fb0d6963f7d28e17f72", MSG_MD5 },
		{ "sha1:a9993e364706816aba3e25717850c26c9cd0d89d", MSG_SHA1 },
		{ "sha384:" HEX_ABC, MSG_UNSUPPORTED },
		{ HEX_ABC " ", MSG_SPACE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		char hex[DIGEST_HEX_LEN + 1];
		const char *err = NULL;
		int rc;

		rc = digest_parse(rows[i].in, hex, &err);
		if (rc != -1 || err == NULL || strcmp(err, rows[i].err) != 0)
			print_error("input: \"%s\"\nerror: %s\n", rows[i].in,
			    err != NULL ? err : "(null)");
		assert_int_equal(rc, -1);
		assert_non_null(err);
		assert_string_equal(err, rows[i].err);
	}
}

static void
digest_format_sizes(void **state)
{
	struct digest d;
	char text[DIGEST_TEXT_MAX];
	const char *err = NULL;

	(void)state;
	assert_int_equal(DIGEST_TEXT_MAX, 7 + 128 + 1);

	assert_int_equal(digest_parse_any(HEX512_ABC, &d, &err), 0);
	assert_int_equal(digest_format(&d, text, sizeof(text)), 0);
	assert_int_equal(strlen(text), DIGEST_TEXT_MAX - 1);
	memset(text, 'X', sizeof(text));
	assert_int_equal(digest_format(&d, text, DIGEST_TEXT_MAX - 1), -1);
	assert_string_equal(text, "");

	assert_int_equal(digest_parse_any(HEX_ABC, &d, &err), 0);
	assert_int_equal(digest_format(&d, text, 7 + 64 + 1), 0);
	assert_string_equal(text, CANON_ABC);
	memset(text, 'X', sizeof(text));
	assert_int_equal(digest_format(&d, text, 7 + 64), -1);
	assert_string_equal(text, "");
	text[0] = 'X';
	assert_int_equal(digest_format(&d, text, 0), -1);
	assert_int_equal(text[0], 'X');
}

static void
digest_empty_input(void **state)
{
	static const struct {
		const char	*in;
		int		 empty;
	} rows[] = {
		{ HEX_EMPTY, 1 },
		{ "SHA256:" HEX_EMPTY, 1 },
		{ "sha256-" B64_EMPTY_DATA "=", 1 },
		{ HEX512_EMPTY, 1 },
		{ "sha512:" HEX512_EMPTY, 1 },
		{ "sha512-" B64_512_EMPTY_DATA "==", 1 },
		{ HEX_ABC, 0 },
		{ HEX512_ABC, 0 },
		{ HEX_ZERO, 0 },
		{ HEX_ZERO HEX_ZERO, 0 },
		/* The SHA-256 of the empty input in the first half of a
		 * SHA-512, and the first half of the SHA-512 as a SHA-256. */
		{ HEX_EMPTY HEX_ZERO, 0 },
		{ "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce",
		  0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		struct digest d;
		const char *err = NULL;

		assert_int_equal(digest_parse_any(rows[i].in, &d, &err), 0);
		if (digest_is_empty_input(&d) != rows[i].empty)
			print_error("input: \"%s\"\n", rows[i].in);
		assert_int_equal(digest_is_empty_input(&d), rows[i].empty);
	}
}

/* Computes the raw digest of len bytes at data with OpenSSL's one-shot
 * EVP_Digest, without digest.c. */
static void
evp_oneshot(const EVP_MD *md, const void *data, size_t len,
    unsigned char *raw, size_t raw_len)
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, raw, &n, md, NULL), 1);
	assert_int_equal(n, raw_len);
}

static void
digest_hasher_abc(void **state)
{
	struct digest_hasher *h;
	struct digest d256, d512;
	char text[DIGEST_TEXT_MAX];

	(void)state;
	h = digest_hasher_new(1);
	assert_non_null(h);
	assert_int_equal(digest_hasher_update(h, "a", 1), 0);
	assert_int_equal(digest_hasher_update(h, "", 0), 0);
	assert_int_equal(digest_hasher_update(h, "bc", 2), 0);
	memset(&d256, 0x5a, sizeof(d256));
	memset(&d512, 0x5a, sizeof(d512));
	assert_int_equal(digest_hasher_final(h, &d256, &d512), 0);
	assert_int_equal(d256.alg, DIGEST_SHA256);
	assert_int_equal(d512.alg, DIGEST_SHA512);
	assert_int_equal(digest_format(&d256, text, sizeof(text)), 0);
	assert_string_equal(text, CANON_ABC);
	assert_int_equal(digest_format(&d512, text, sizeof(text)), 0);
	assert_string_equal(text, CANON512_ABC);
	assert_int_equal(d256.raw[DIGEST256_LEN], 0);
	assert_int_equal(d256.raw[DIGEST_MAX_LEN - 1], 0);

	/* A finished hasher takes no more data and gives no second result. */
	errno = 0;
	assert_int_equal(digest_hasher_update(h, "d", 1), -1);
	assert_int_equal(errno, EIO);
	errno = 0;
	assert_int_equal(digest_hasher_final(h, &d256, NULL), -1);
	assert_int_equal(errno, EIO);
	digest_hasher_free(h);
}

static void
digest_hasher_sha256_only(void **state)
{
	struct digest_hasher *h;
	struct digest d256, d512;
	char text[DIGEST_TEXT_MAX];

	(void)state;
	h = digest_hasher_new(0);
	assert_non_null(h);
	assert_int_equal(digest_hasher_update(h, "abc", 3), 0);

	/* The SHA-512 was not requested at creation. */
	errno = 0;
	assert_int_equal(digest_hasher_final(h, &d256, &d512), -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(digest_hasher_final(h, &d256, NULL), 0);
	assert_int_equal(digest_format(&d256, text, sizeof(text)), 0);
	assert_string_equal(text, CANON_ABC);
	digest_hasher_free(h);

	/* Nothing hashed gives the digests of the empty input. */
	h = digest_hasher_new(1);
	assert_non_null(h);
	assert_int_equal(digest_hasher_final(h, &d256, &d512), 0);
	assert_true(digest_is_empty_input(&d256));
	assert_true(digest_is_empty_input(&d512));
	digest_hasher_free(h);

	/* A hasher with SHA-512 may skip either result. */
	h = digest_hasher_new(1);
	assert_non_null(h);
	assert_int_equal(digest_hasher_update(h, "abc", 3), 0);
	assert_int_equal(digest_hasher_final(h, NULL, &d512), 0);
	assert_int_equal(digest_format(&d512, text, sizeof(text)), 0);
	assert_string_equal(text, CANON512_ABC);
	digest_hasher_free(h);

	digest_hasher_free(NULL);
}

/* 1 MiB fed in uneven pieces matches OpenSSL's one-shot digests. */
static void
digest_hasher_large(void **state)
{
	static const size_t pieces[] = { 1, 63, 64, 65, 4096, 100000, 127 };
	const size_t total = 1024 * 1024;
	unsigned char *data, want256[DIGEST256_LEN], want512[DIGEST512_LEN];
	struct digest_hasher *h;
	struct digest d256, d512;
	size_t off = 0, i = 0, j;
	uint32_t x = 2463534242u;

	(void)state;
	data = malloc(total);
	assert_non_null(data);
	for (j = 0; j < total; j++) {
		/* xorshift32, so that no two blocks are alike */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[j] = (unsigned char)x;
	}
	evp_oneshot(EVP_sha256(), data, total, want256, sizeof(want256));
	evp_oneshot(EVP_sha512(), data, total, want512, sizeof(want512));

	h = digest_hasher_new(1);
	assert_non_null(h);
	while (off < total) {
		size_t n = pieces[i++ % NROWS(pieces)];

		if (n > total - off)
			n = total - off;
		assert_int_equal(digest_hasher_update(h, data + off, n), 0);
		off += n;
	}
	assert_int_equal(digest_hasher_final(h, &d256, &d512), 0);
	assert_memory_equal(d256.raw, want256, sizeof(want256));
	assert_memory_equal(d512.raw, want512, sizeof(want512));
	digest_hasher_free(h);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digest_parse_good),
		cmocka_unit_test(digest_parse_bad),
		cmocka_unit_test(digest_hex_known),
		cmocka_unit_test(digest_hex_round_trip),
		cmocka_unit_test(digest_from_hex_upper),
		cmocka_unit_test(digest_from_hex_bad),
		cmocka_unit_test(digest_base64_known),
		cmocka_unit_test(digest_fd_empty),
		cmocka_unit_test(digest_fd_abc),
		cmocka_unit_test(digest_fd_large),
		cmocka_unit_test(digest_fd_pipe),
		cmocka_unit_test(digest_fd_bad_fd),
		cmocka_unit_test(digest_parse_any_forms),
		cmocka_unit_test(digest_parse_any_alg),
		cmocka_unit_test(digest_parse_any_rejects),
		cmocka_unit_test(digest_parse_any_detail_short),
		cmocka_unit_test(digest_parse_sha256_only),
		cmocka_unit_test(digest_format_sizes),
		cmocka_unit_test(digest_empty_input),
		cmocka_unit_test(digest_hasher_abc),
		cmocka_unit_test(digest_hasher_sha256_only),
		cmocka_unit_test(digest_hasher_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
