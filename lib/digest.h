/* SPDX-License-Identifier: MIT */
/* SHA-256 digests: parsing what users type, encoding for headers, and
 * hashing files. Shared by hashgated and hashgatectl. */
#ifndef HASHGATE_DIGEST_H
#define HASHGATE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_LEN	32			/* bytes in a SHA-256 digest */
#define DIGEST_HEX_LEN	(2 * DIGEST_LEN)	/* hex digits, without NUL */
#define DIGEST_B64_LEN	44			/* base64 with padding, without NUL */

/* Parses a SHA-256 digest written as 64 hex digits in either case, with or
 * without a "sha256:" prefix (prefix matched without regard to case), into
 * lower-case hex in hex (DIGEST_HEX_LEN + 1 bytes). Returns 0, or -1 with
 * *err pointing at a static message that names the problem. */
int digest_parse(const char *text, char hex[DIGEST_HEX_LEN + 1],
    const char **err);

/* Writes the lower-case hex of a raw digest into hex, NUL-terminated. */
void digest_to_hex(const unsigned char raw[DIGEST_LEN],
    char hex[DIGEST_HEX_LEN + 1]);

/* Converts lower- or upper-case hex back to raw bytes. Returns 0, or -1 if
 * hex is not exactly DIGEST_HEX_LEN hex digits. */
int digest_from_hex(const char *hex, unsigned char raw[DIGEST_LEN]);

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
