/* SPDX-License-Identifier: MIT */
/* SHA-256 and SHA-512 digests: parsing what users type, a canonical text
 * form, encoding for headers, and hashing streams and files. Shared by
 * hashgated and hashgatectl. */
#ifndef HASHGATE_DIGEST_H
#define HASHGATE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_LEN	32			/* bytes in a SHA-256 digest */
#define DIGEST_HEX_LEN	(2 * DIGEST_LEN)	/* hex digits, without NUL */
#define DIGEST_B64_LEN	44			/* base64 with padding, without NUL */

#define DIGEST256_LEN	32			/* bytes in a SHA-256 digest */
#define DIGEST512_LEN	64			/* bytes in a SHA-512 digest */
#define DIGEST512_HEX_LEN (2 * DIGEST512_LEN)	/* hex digits, without NUL */
#define DIGEST_MAX_LEN	DIGEST512_LEN		/* bytes in the longest digest */

/* Buffer size for the canonical text "sha512:" and 128 hex digits, with
 * the NUL; the SHA-256 form is shorter. */
#define DIGEST_TEXT_MAX	(sizeof("sha512:") - 1 + DIGEST512_HEX_LEN + 1)

/* Buffer size for a message from digest_parse_any_detail, with the NUL.
 * Longer messages are truncated. */
#define DIGEST_ERROR_MAX 256

enum digest_alg {
	DIGEST_SHA256,
	DIGEST_SHA512
};

/* A digest and its algorithm. Only the first digest_alg_len(alg) bytes of
 * raw are the digest; digest_parse_any and digest_hasher_final set the
 * rest to zero. */
struct digest {
	enum digest_alg	alg;
	unsigned char	raw[DIGEST_MAX_LEN];
};

/* Returns the digest size in bytes of alg: 32 or 64. */
size_t digest_alg_len(enum digest_alg alg);

/* Returns the lower-case name of alg, "sha256" or "sha512", as the
 * canonical text form spells it. */
const char *digest_alg_name(enum digest_alg alg);

/* Parses a SHA-256 or SHA-512 digest in one of these forms:
 *   - 64 or 128 hex digits in either case: SHA-256 or SHA-512 by length;
 *   - "sha256:" and 64 hex digits, or "sha512:" and 128 hex digits;
 *   - SRI, "sha256-" or "sha512-" and the standard base64 of the digest
 *     with its "=" padding, as W3C Subresource Integrity writes it.
 * Algorithm names are matched without regard to case. Base64 is decoded
 * strictly: no URL-safe alphabet, no whitespace, the exact padding, and
 * zero in the unused low bits of the last character, so that every digest
 * has exactly one SRI spelling. MD5 and SHA-1 digests (32 and 40 hex
 * digits, or an md5 or sha1 name) are rejected because collisions for
 * them can be produced. Returns 0 and fills out, or -1 with out unchanged
 * and *err pointing at a static message that names the problem. */
int digest_parse_any(const char *text, struct digest *out, const char **err);

/* Like digest_parse_any, but on failure writes into msg (msglen bytes,
 * DIGEST_ERROR_MAX is enough) a message that also names what was found:
 * the number of digits, the position and value of an invalid character,
 * or the algorithm name. Allocates nothing. */
int digest_parse_any_detail(const char *text, struct digest *out,
    char *msg, size_t msglen);

/* Writes the canonical text of d, "sha256:" or "sha512:" and lower-case
 * hex, into out, NUL-terminated. Every text that digest_parse_any accepts
 * for the same digest gives the same canonical text, so it is the form to
 * store and compare. Returns 0, or -1 with out set to the empty string
 * (when outlen > 0) if outlen is too small; DIGEST_TEXT_MAX is enough. */
int digest_format(const struct digest *d, char *out, size_t outlen);

/* Returns 1 when d is the digest of the empty input, else 0. A pin to it
 * matches only an empty download, which is rarely what was meant. */
int digest_is_empty_input(const struct digest *d);

/* A hasher that computes the SHA-256 of a stream and, when requested,
 * its SHA-512 in the same pass. */
struct digest_hasher;

/* Creates a hasher that always computes SHA-256, and also SHA-512 when
 * with_sha512 is non-zero. Returns NULL with errno set (ENOMEM, or EIO
 * when OpenSSL fails). Free it with digest_hasher_free. */
struct digest_hasher *digest_hasher_new(int with_sha512);

/* Adds len bytes at data to every digest. Returns 0, or -1 with errno set
 * to EIO when OpenSSL fails or the hasher is already finished. */
int digest_hasher_update(struct digest_hasher *h, const void *data,
    size_t len);

/* Finishes the hasher and writes the SHA-256 into sha256 and, if sha512 is
 * not NULL, the SHA-512 into sha512. Either pointer may be NULL to skip
 * that digest. Call it once; afterwards only digest_hasher_free is valid.
 * Returns 0, or -1 with errno set: EINVAL when sha512 is requested from a
 * hasher created without it, EIO when OpenSSL fails or the hasher is
 * already finished. */
int digest_hasher_final(struct digest_hasher *h, struct digest *sha256,
    struct digest *sha512);

/* Frees h. NULL is allowed. */
void digest_hasher_free(struct digest_hasher *h);

/* Parses a SHA-256 digest written as 64 hex digits in either case, with or
 * without a "sha256:" prefix (prefix matched without regard to case), into
 * lower-case hex in hex (DIGEST_HEX_LEN + 1 bytes). Rejects SHA-512 and
 * SRI base64 digests, which digest_parse_any accepts. Returns 0, or -1
 * with *err pointing at a static message that names the problem. */
int digest_parse(const char *text, char hex[DIGEST_HEX_LEN + 1],
    const char **err);

/* Writes the lower-case hex of a raw digest into hex, NUL-terminated. */
void digest_to_hex(const unsigned char raw[DIGEST_LEN],
    char hex[DIGEST_HEX_LEN + 1]);

/* Converts lower- or upper-case hex back to raw bytes. Returns 0, or -1 if
 * hex is not exactly DIGEST_HEX_LEN hex digits. */
int digest_from_hex(const char *hex, unsigned char raw[DIGEST_LEN]);

/* Like digest_from_hex, for the DIGEST512_HEX_LEN digits of a SHA-512. */
int digest_from_hex512(const char *hex, unsigned char raw[DIGEST512_LEN]);

/* Writes the standard base64 (with padding) of a raw digest into b64,
 * NUL-terminated, as RFC 9530 Repr-Digest carries it. */
void digest_to_base64(const unsigned char raw[DIGEST_LEN],
    char b64[DIGEST_B64_LEN + 1]);

/* Hashes everything readable from fd with SHA-256 into raw. If size is not
 * NULL it receives the number of bytes read. Returns 0, or -1 with errno set
 * (EIO when OpenSSL fails). */
int digest_fd(int fd, unsigned char raw[DIGEST_LEN], uint64_t *size);

/* Like digest_fd, but hashes a regular file through a read-only mapping,
 * which saves copying it out of the page cache; other files are read.
 * NOTE: a file truncated while it is hashed raises SIGBUS, so the daemon,
 * which hashes files that others may change, uses digest_fd. */
int digest_fd_mapped(int fd, unsigned char raw[DIGEST_LEN], uint64_t *size);

#endif
