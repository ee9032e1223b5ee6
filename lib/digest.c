/* SPDX-License-Identifier: MIT */
/* SHA-256 digest parsing, encoding and file hashing. */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define HASH_BLOCK (1024 * 1024)

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
digest_parse(const char *text, char hex[DIGEST_HEX_LEN + 1], const char **err)
{
	size_t len, i;

	if (strncasecmp(text, "sha256:", 7) == 0)
		text += 7;
	else if (strchr(text, ':') != NULL) {
		*err = "unsupported digest algorithm, expected sha256";
		return -1;
	}

	len = strlen(text);
	if (len != DIGEST_HEX_LEN) {
		*err = "a SHA-256 digest is 64 hex digits";
		return -1;
	}
	for (i = 0; i < len; i++) {
		int v = hex_value((unsigned char)text[i]);

		if (v < 0) {
			*err = "digest contains a character that is not a hex digit";
			return -1;
		}
		hex[i] = "0123456789abcdef"[v];
	}
	hex[len] = '\0';
	return 0;
}

void
digest_to_hex(const unsigned char raw[DIGEST_LEN], char hex[DIGEST_HEX_LEN + 1])
{
	size_t i;

	for (i = 0; i < DIGEST_LEN; i++) {
		hex[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[raw[i] & 0xf];
	}
	hex[DIGEST_HEX_LEN] = '\0';
}

int
digest_from_hex(const char *hex, unsigned char raw[DIGEST_LEN])
{
	size_t i;

	if (strlen(hex) != DIGEST_HEX_LEN)
		return -1;
	for (i = 0; i < DIGEST_LEN; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]);
		int lo = hex_value((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
digest_to_base64(const unsigned char raw[DIGEST_LEN], char b64[DIGEST_B64_LEN + 1])
{
	/* EVP_EncodeBlock writes exactly 4 * ceil(32 / 3) = 44 characters and a NUL. */
	EVP_EncodeBlock((unsigned char *)b64, raw, DIGEST_LEN);
}

/* Hashes a regular file through a read-only mapping, which saves copying
 * every byte out of the page cache. Returns 0, 1 when the file cannot be
 * mapped (the caller reads it instead), or -1 with errno set. */
static int
digest_mapped(int fd, EVP_MD_CTX *ctx, uint64_t *total)
{
	struct stat st;
	unsigned char *map;
	size_t len, off;
	off_t start;

	start = lseek(fd, 0, SEEK_CUR);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || start < 0 ||
	    st.st_size <= start || (uint64_t)(st.st_size - start) > SIZE_MAX)
		return 1;
	len = (size_t)(st.st_size - start);
	map = mmap(NULL, len + (size_t)start, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 1;
	madvise(map, len + (size_t)start, MADV_SEQUENTIAL | MADV_WILLNEED);
	for (off = 0; off < len; off += HASH_BLOCK) {
		size_t n = len - off < HASH_BLOCK ? len - off : HASH_BLOCK;

		if (EVP_DigestUpdate(ctx, map + start + off, n) != 1) {
			munmap(map, len + (size_t)start);
			errno = EIO;
			return -1;
		}
	}
	munmap(map, len + (size_t)start);
	*total = len;
	/* Leave the offset where a read to the end would have left it. */
	lseek(fd, 0, SEEK_END);
	return 0;
}

static int
digest_stream(int fd, unsigned char raw[DIGEST_LEN], uint64_t *size, int map)
{
	EVP_MD_CTX *ctx;
	unsigned char *buf = NULL;
	uint64_t total = 0;
	ssize_t n;
	int ret = -1, saved_errno = EIO, rc = 1;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		saved_errno = ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;

	if (map)
		rc = digest_mapped(fd, ctx, &total);
	if (rc < 0) {
		saved_errno = errno;
		goto out;
	}
	if (rc == 1) {
		buf = malloc(HASH_BLOCK);
		if (buf == NULL) {
			saved_errno = ENOMEM;
			goto out;
		}
		for (;;) {
			n = read(fd, buf, HASH_BLOCK);
			if (n == 0)
				break;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				saved_errno = errno;
				goto out;
			}
			if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
				goto out;
			total += (uint64_t)n;
		}
	}
	if (EVP_DigestFinal_ex(ctx, raw, NULL) != 1)
		goto out;
	if (size != NULL)
		*size = total;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	if (ret != 0)
		errno = saved_errno;
	return ret;
}

int
digest_fd(int fd, unsigned char raw[DIGEST_LEN], uint64_t *size)
{
	return digest_stream(fd, raw, size, 0);
}

int
digest_fd_mapped(int fd, unsigned char raw[DIGEST_LEN], uint64_t *size)
{
	return digest_stream(fd, raw, size, 1);
}
