/* SPDX-License-Identifier: MIT */
/* SHA-256 and SHA-512 digest parsing, canonical text, encoding, and
 * stream and file hashing. */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
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

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
base64_value(int c)
{
	const char *p;

	if (c == '\0' || (p = strchr(base64_alphabet, c)) == NULL)
		return -1;
	return (int)(p - base64_alphabet);
}

static int
is_whitespace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* An accepted algorithm: its names, size and digest of the empty input. */
struct digest_alg_info {
	const char	*name;		/* as in the canonical text */
	const char	*title;		/* as messages write it */
	size_t		 len;		/* bytes */
	const char	*hex_length_err;
	const char	*empty_hex;	/* digest of the empty input */
};

static const struct digest_alg_info digest_algs[] = {
	[DIGEST_SHA256] = {
		"sha256", "SHA-256", DIGEST256_LEN,
		"a SHA-256 digest is 64 hex digits",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	},
	[DIGEST_SHA512] = {
		"sha512", "SHA-512", DIGEST512_LEN,
		"a SHA-512 digest is 128 hex digits",
		"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	},
};

#define MSG_MD5 "MD5 digests are not accepted because MD5 collisions " \
	"can be produced cheaply; pin a SHA-256 or SHA-512 digest instead"
#define MSG_SHA1 "SHA-1 digests are not accepted because SHA-1 " \
	"chosen-prefix collisions are practical; pin a SHA-256 or SHA-512 " \
	"digest instead"

size_t
digest_alg_len(enum digest_alg alg)
{
	return digest_algs[alg].len;
}

const char *
digest_alg_name(enum digest_alg alg)
{
	return digest_algs[alg].name;
}

/* One parse: where its messages go and which forms the caller accepts. */
struct digest_parse_state {
	const char	*err;		/* static message on failure */
	char		*msg;		/* detailed message, or NULL */
	size_t		 msglen;
	int		 sha256_hex_only; /* set by digest_parse */
	int		 base64;	/* set when the text is SRI base64 */
};

static int parse_fail(struct digest_parse_state *, const char *,
    const char *, ...) __attribute__((format(printf, 3, 4)));

/* Records a failure: err is the static message, fmt and its arguments the
 * detailed one. Returns -1. */
static int
parse_fail(struct digest_parse_state *st, const char *err, const char *fmt,
    ...)
{
	va_list ap;

	st->err = err;
	if (st->msg != NULL && st->msglen > 0) {
		va_start(ap, fmt);
		vsnprintf(st->msg, st->msglen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Describes the byte c for a message: quoted when printable, else by name
 * or value. */
static const char *
describe_byte(unsigned char c, char buf[16])
{
	switch (c) {
	case ' ':
		return "a space";
	case '\t':
		return "a tab";
	case '\n':
		return "a newline";
	case '\r':
		return "a carriage return";
	}
	if (c > ' ' && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

/* Copies the algorithm name at name (len bytes) into buf for a message,
 * with non-printable bytes as '?' and names longer than 32 bytes cut. */
static const char *
describe_name(const char *name, size_t len, char buf[40])
{
	size_t i, n = len > 32 ? 32 : len;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		buf[i] = c > ' ' && c < 0x7f ? (char)c : '?';
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Checks that value (len bytes, starting at 1-based character pos of the
 * whole text) contains only hex digits. */
static int
parse_check_hex(struct digest_parse_state *st, const char *value, size_t len,
    size_t pos)
{
	char what[16];
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (hex_value(c) >= 0)
			continue;
		if (is_whitespace(c))
			return parse_fail(st, "digest contains whitespace",
			    "character %zu is whitespace (%s); remove it",
			    pos + i, describe_byte(c, what));
		return parse_fail(st,
		    "digest contains a character that is not a hex digit",
		    "character %zu (%s) is not a hex digit", pos + i,
		    describe_byte(c, what));
	}
	return 0;
}

static void
parse_hex_raw(const char *hex, size_t len, unsigned char *raw)
{
	size_t i;

	for (i = 0; i < len / 2; i++)
		raw[i] = (unsigned char)(hex_value((unsigned char)hex[2 * i]) << 4 |
		    hex_value((unsigned char)hex[2 * i + 1]));
}

/* Parses hex without an algorithm name. The number of digits selects the
 * algorithm, and the MD5 and SHA-1 lengths are rejected. */
static int
parse_bare_hex(struct digest_parse_state *st, const char *text,
    struct digest *d)
{
	size_t len = strlen(text);

	if (parse_check_hex(st, text, len, 1) != 0)
		return -1;
	if (len == 32)
		return parse_fail(st, MSG_MD5, "found 32 hex digits, the length "
		    "of an MD5 digest: %s", MSG_MD5);
	if (len == 40)
		return parse_fail(st, MSG_SHA1, "found 40 hex digits, the length "
		    "of a SHA-1 digest: %s", MSG_SHA1);
	if (len == 2 * DIGEST256_LEN)
		d->alg = DIGEST_SHA256;
	else if (len == 2 * DIGEST512_LEN)
		d->alg = DIGEST_SHA512;
	else if (st->sha256_hex_only)
		return parse_fail(st, digest_algs[DIGEST_SHA256].hex_length_err,
		    "found %zu hex digits, expected 64", len);
	else
		return parse_fail(st,
		    "a digest is 64 hex digits (SHA-256) or 128 (SHA-512)",
		    "found %zu hex digits, expected 64 (SHA-256) or 128 (SHA-512)",
		    len);
	parse_hex_raw(text, len, d->raw);
	return 0;
}

/* Parses the hex after "sha256:" or "sha512:", which starts at 1-based
 * character pos of the whole text. */
static int
parse_named_hex(struct digest_parse_state *st, const char *value, size_t pos,
    struct digest *d)
{
	const struct digest_alg_info *info = &digest_algs[d->alg];
	size_t len = strlen(value);

	if (parse_check_hex(st, value, len, pos) != 0)
		return -1;
	if (len != 2 * info->len)
		return parse_fail(st, info->hex_length_err,
		    "found %zu hex digits after \"%s:\", expected %zu", len,
		    info->name, 2 * info->len);
	parse_hex_raw(value, len, d->raw);
	return 0;
}

/* Checks that value, starting at 1-based character pos of the whole text,
 * uses only the standard base64 alphabet and '='. */
static int
parse_check_base64(struct digest_parse_state *st, const char *value,
    size_t pos)
{
	char what[16];
	size_t i;

	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '=' || base64_value(c) >= 0)
			continue;
		if (c == '-' || c == '_')
			return parse_fail(st, "digest uses the URL-safe base64 "
			    "alphabet; SRI digests use '+' and '/' in place of "
			    "'-' and '_'",
			    "character %zu (%s) is from the URL-safe base64 "
			    "alphabet; SRI digests use '+' and '/' in place of "
			    "'-' and '_'", pos + i, describe_byte(c, what));
		if (is_whitespace(c))
			return parse_fail(st, "digest contains whitespace",
			    "character %zu is whitespace (%s); remove it",
			    pos + i, describe_byte(c, what));
		return parse_fail(st, "digest contains a character that is not "
		    "in the base64 alphabet",
		    "character %zu (%s) is not a base64 character", pos + i,
		    describe_byte(c, what));
	}
	return 0;
}

/* Decodes the SRI base64 after "sha256-" or "sha512-", which starts at
 * 1-based character pos of the whole text. Only the one canonical
 * spelling of each digest passes. */
static int
parse_base64(struct digest_parse_state *st, const char *value, size_t pos,
    struct digest *d)
{
	const struct digest_alg_info *info = &digest_algs[d->alg];
	size_t len, data, pad, want_data, want_pad, i, n = 0;
	unsigned int bits = 0, nbits = 0, unused;
	char what[16];
	int v = 0;

	if (parse_check_base64(st, value, pos) != 0)
		return -1;

	len = strlen(value);
	data = strcspn(value, "=");
	for (pad = data; pad < len; pad++) {
		if (value[pad] != '=')
			return parse_fail(st, "base64 padding '=' is followed by "
			    "more characters; '=' may appear only at the end",
			    "character %zu is '=' padding but more characters "
			    "follow; '=' may appear only at the end",
			    pos + data);
	}
	pad = len - data;

	/* Each character carries 6 bits, so the count is rounded up, and the
	 * padding fills the last group of 4 characters. */
	want_data = (info->len * 8 + 5) / 6;
	want_pad = (4 - want_data % 4) % 4;
	if (data != want_data)
		return parse_fail(st, d->alg == DIGEST_SHA256 ?
		    "base64 digest does not decode to 32 bytes, the size of a "
		    "SHA-256 digest" :
		    "base64 digest does not decode to 64 bytes, the size of a "
		    "SHA-512 digest",
		    "found %zu base64 characters before the padding, expected "
		    "%zu for the %zu bytes of a %s digest", data, want_data,
		    info->len, info->title);
	if (pad < want_pad)
		return parse_fail(st, "base64 padding '=' is missing at the end",
		    "found %zu '=' at the end, expected %zu for a %s digest",
		    pad, want_pad, info->title);
	if (pad > want_pad)
		return parse_fail(st, "base64 digest has more '=' padding than "
		    "its length allows",
		    "found %zu '=' at the end, expected %zu for a %s digest",
		    pad, want_pad, info->title);

	for (i = 0; i < data; i++) {
		v = base64_value((unsigned char)value[i]);
		bits = (bits << 6 | (unsigned int)v) & 0xfff;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			d->raw[n++] = (unsigned char)(bits >> nbits);
		}
	}

	/* The last character carries nbits bits that no byte uses. An encoder
	 * writes them as zero; any other value is a second spelling. */
	unused = (unsigned int)v & ((1u << nbits) - 1);
	if (unused != 0)
		return parse_fail(st, "base64 digest is not canonical: the "
		    "unused low bits of its last character are not zero",
		    "base64 digest is not canonical: the unused low bits of "
		    "character %zu (%s) are not zero; the canonical character "
		    "is '%c'", pos + data - 1,
		    describe_byte((unsigned char)value[data - 1], what),
		    base64_alphabet[(unsigned int)v & ~((1u << nbits) - 1)]);
	return 0;
}

/* Returns 1 when the len bytes at text are all hex digits, which no
 * algorithm name is, so that a separator inside a mistyped digest is
 * reported as a bad character. */
static int
all_hex(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (hex_value((unsigned char)text[i]) < 0)
			return 0;
	return 1;
}

static int
name_equal(const char *name, size_t len, const char *known)
{
	return len == strlen(known) && strncasecmp(name, known, len) == 0;
}

static int
parse_text(struct digest_parse_state *st, const char *text, struct digest *d)
{
	const char *sep, *value;
	char shown[40];
	size_t name_len;

	memset(d, 0, sizeof(*d));
	if (text[0] == '\0')
		return parse_fail(st, "digest is empty", "digest is empty");

	/* Neither hex nor base64 contains ':'. Base64 contains no '-' either,
	 * except in the URL-safe alphabet that parse_base64 rejects. */
	sep = strchr(text, ':');
	if (sep == NULL)
		sep = strchr(text, '-');
	if (sep == NULL || all_hex(text, (size_t)(sep - text)))
		return parse_bare_hex(st, text, d);

	name_len = (size_t)(sep - text);
	if (name_equal(text, name_len, "md5"))
		return parse_fail(st, MSG_MD5, "%s", MSG_MD5);
	if (name_equal(text, name_len, "sha1"))
		return parse_fail(st, MSG_SHA1, "%s", MSG_SHA1);
	if (name_equal(text, name_len, "sha256"))
		d->alg = DIGEST_SHA256;
	else if (name_equal(text, name_len, "sha512"))
		d->alg = DIGEST_SHA512;
	else
		return parse_fail(st,
		    "unsupported digest algorithm; use sha256 or sha512",
		    "unsupported digest algorithm \"%s\"; use sha256 or sha512",
		    describe_name(text, name_len, shown));

	value = sep + 1;
	if (value[0] == '\0')
		return parse_fail(st, "digest is missing after the algorithm name",
		    "digest is missing after \"%s%c\"",
		    describe_name(text, name_len, shown), *sep);
	if (*sep == ':')
		return parse_named_hex(st, value, name_len + 2, d);
	st->base64 = 1;
	return parse_base64(st, value, name_len + 2, d);
}

int
digest_parse_any(const char *text, struct digest *out, const char **err)
{
	struct digest_parse_state st;
	struct digest d;

	memset(&st, 0, sizeof(st));
	if (parse_text(&st, text, &d) != 0) {
		*err = st.err;
		return -1;
	}
	*out = d;
	return 0;
}

int
digest_parse_any_detail(const char *text, struct digest *out, char *msg,
    size_t msglen)
{
	struct digest_parse_state st;
	struct digest d;

	memset(&st, 0, sizeof(st));
	st.msg = msg;
	st.msglen = msglen;
	if (parse_text(&st, text, &d) != 0)
		return -1;
	*out = d;
	return 0;
}

int
digest_parse(const char *text, char hex[DIGEST_HEX_LEN + 1], const char **err)
{
	struct digest_parse_state st;
	struct digest d;

	memset(&st, 0, sizeof(st));
	st.sha256_hex_only = 1;
	if (parse_text(&st, text, &d) != 0) {
		*err = st.err;
		return -1;
	}
	if (st.base64) {
		*err = "SRI base64 digests are not accepted here; write the "
		    "SHA-256 digest as 64 hex digits";
		return -1;
	}
	if (d.alg != DIGEST_SHA256) {
		*err = "SHA-512 digests are not accepted here; pin a SHA-256 "
		    "digest (64 hex digits)";
		return -1;
	}
	digest_to_hex(d.raw, hex);
	return 0;
}

int
digest_format(const struct digest *d, char *out, size_t outlen)
{
	const struct digest_alg_info *info = &digest_algs[d->alg];
	size_t name_len = strlen(info->name), i;
	char *p;

	if (outlen < name_len + 1 + 2 * info->len + 1) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	memcpy(out, info->name, name_len);
	out[name_len] = ':';
	p = out + name_len + 1;
	for (i = 0; i < info->len; i++) {
		*p++ = "0123456789abcdef"[d->raw[i] >> 4];
		*p++ = "0123456789abcdef"[d->raw[i] & 0xf];
	}
	*p = '\0';
	return 0;
}

int
digest_is_empty_input(const struct digest *d)
{
	char text[DIGEST_TEXT_MAX];
	size_t name_len = strlen(digest_algs[d->alg].name);

	if (digest_format(d, text, sizeof(text)) != 0)
		return 0;
	return strcmp(text + name_len + 1, digest_algs[d->alg].empty_hex) == 0;
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

/* Decodes exactly 2 * len hex digits into raw. */
static int
from_hex(const char *hex, unsigned char *raw, size_t len)
{
	size_t i;

	if (strlen(hex) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]);
		int lo = hex_value((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
digest_from_hex(const char *hex, unsigned char raw[DIGEST_LEN])
{
	return from_hex(hex, raw, DIGEST_LEN);
}

int
digest_from_hex512(const char *hex, unsigned char raw[DIGEST512_LEN])
{
	return from_hex(hex, raw, DIGEST512_LEN);
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
	/* Advice values are not flags: OR-ing them gives another advice. */
	madvise(map, len + (size_t)start, MADV_SEQUENTIAL);
	madvise(map, len + (size_t)start, MADV_WILLNEED);
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

struct digest_hasher {
	EVP_MD_CTX	*sha256;
	EVP_MD_CTX	*sha512;	/* NULL unless requested */
	int		 finished;
};

struct digest_hasher *
digest_hasher_new(int with_sha512)
{
	struct digest_hasher *h;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->sha256 = EVP_MD_CTX_new();
	if (h->sha256 == NULL)
		goto fail;
	if (EVP_DigestInit_ex(h->sha256, EVP_sha256(), NULL) != 1)
		goto fail;
	if (with_sha512) {
		h->sha512 = EVP_MD_CTX_new();
		if (h->sha512 == NULL)
			goto fail;
		if (EVP_DigestInit_ex(h->sha512, EVP_sha512(), NULL) != 1)
			goto fail;
	}
	return h;
fail:
	digest_hasher_free(h);
	errno = EIO;
	return NULL;
}

int
digest_hasher_update(struct digest_hasher *h, const void *data, size_t len)
{
	if (h->finished ||
	    EVP_DigestUpdate(h->sha256, data, len) != 1 ||
	    (h->sha512 != NULL && EVP_DigestUpdate(h->sha512, data, len) != 1)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
digest_hasher_final(struct digest_hasher *h, struct digest *sha256,
    struct digest *sha512)
{
	unsigned char raw256[DIGEST256_LEN], raw512[DIGEST512_LEN];

	if (sha512 != NULL && h->sha512 == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (h->finished) {
		errno = EIO;
		return -1;
	}
	h->finished = 1;
	if (EVP_DigestFinal_ex(h->sha256, raw256, NULL) != 1 ||
	    (h->sha512 != NULL &&
	    EVP_DigestFinal_ex(h->sha512, raw512, NULL) != 1)) {
		errno = EIO;
		return -1;
	}
	if (sha256 != NULL) {
		memset(sha256, 0, sizeof(*sha256));
		sha256->alg = DIGEST_SHA256;
		memcpy(sha256->raw, raw256, sizeof(raw256));
	}
	if (sha512 != NULL) {
		memset(sha512, 0, sizeof(*sha512));
		sha512->alg = DIGEST_SHA512;
		memcpy(sha512->raw, raw512, sizeof(raw512));
	}
	return 0;
}

void
digest_hasher_free(struct digest_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->sha256);
	EVP_MD_CTX_free(h->sha512);
	free(h);
}
