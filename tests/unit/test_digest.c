/* SPDX-License-Identifier: MIT */
/* Unit tests for SHA-256 digest parsing, hex and base64 encoding, and
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
