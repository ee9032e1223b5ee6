/* SPDX-License-Identifier: MIT */
/* Parsers for bulk pin imports: checksum lists as sha256sum, sha512sum
 * and BSD-style tools print them, and ADD --checksum instructions in
 * Dockerfiles. Pure parsing, no network I/O. */
#ifndef HASHGATE_IMPORT_H
#define HASHGATE_IMPORT_H

#include <stddef.h>

/* Maximum length of one checksum list line in bytes, without its line
 * ending. An escaped name of 255 bytes (NAME_MAX on Linux) takes at most
 * 510 bytes, so this leaves room for names from other systems too. */
#define IMPORT_LINE_MAX		8192

enum import_algorithm {
	IMPORT_SHA256,
	IMPORT_SHA512
};

/* One line of a checksum list. The caller validates the digest with the
 * algorithm's own rules; hashgated pins only SHA-256 digests. */
struct import_checksum {
	size_t			 line;		/* 1-based */
	char			*name;		/* unescaped, NUL-terminated */
	char			*digest;	/* hex digits as written */
	enum import_algorithm	 algorithm;	/* from the tag or the length */
};

/* One ADD --checksum instruction of a Dockerfile with a single http or
 * https source. */
struct import_add {
	size_t			 line;		/* first line of the instruction */
	char			*url;		/* source URL as written */
	char			*dest;		/* destination as written */
	char			*digest;	/* flag value as written, "sha256:HEX" */
	enum import_algorithm	 algorithm;	/* always IMPORT_SHA256 */
};

/* A problem with one line or instruction: the reason names the problem
 * and quotes the bad value, escaped so that it prints as one line. */
struct import_message {
	size_t	 line;		/* 1-based */
	char	*text;
};

/* Result of import_parse_checksums. Zero it before the call. */
struct import_list {
	struct import_checksum	*entries;
	size_t			 nentries;
	size_t			 entries_cap;
	struct import_message	*errors;
	size_t			 nerrors;
	size_t			 errors_cap;
};

/* Result of import_parse_dockerfile. Zero it before the call. skipped
 * lists the ADD instructions without --checksum, which are not errors. */
struct import_dockerfile {
	struct import_add	*adds;
	size_t			 nadds;
	size_t			 adds_cap;
	struct import_message	*skipped;
	size_t			 nskipped;
	size_t			 skipped_cap;
	struct import_message	*errors;
	size_t			 nerrors;
	size_t			 errors_cap;
};

/* Parses the checksum list in buf (len bytes, which may contain NUL bytes)
 * into list. Accepts the lines that coreutils sha256sum and sha512sum
 * print ("HEX  NAME", "HEX *NAME", with a leading backslash when the name
 * has escapes), BSD-style "SHA256 (NAME) = HEX" lines as --tag prints
 * them, and the "SHA2-256(NAME)= HEX" lines of OpenSSL 3 dgst. Skips
 * blank lines and lines that start with '#'; accepts LF and CRLF line
 * endings, a missing final newline and a UTF-8 byte order mark. Each bad
 * line adds one error and parsing goes on.
 * Returns 0, or -1 when out of memory. The caller frees list with
 * import_list_free in either case. */
int	import_parse_checksums(const char *buf, size_t len,
	    struct import_list *list);

/* Frees everything in list and zeroes it. */
void	import_list_free(struct import_list *list);

/* Parses the Dockerfile in buf (len bytes) into df: every ADD (also after
 * ONBUILD) with --checksum becomes an entry or an error, and every ADD
 * without it a skipped message. Follows the BuildKit Dockerfile syntax:
 * instruction names in any case, the escape parser directive, line
 * continuations, comments, flags before the sources, the JSON form and
 * here-documents, whose bodies are not parsed as instructions.
 * Returns 0, or -1 when out of memory. The caller frees df with
 * import_dockerfile_free in either case. */
int	import_parse_dockerfile(const char *buf, size_t len,
	    struct import_dockerfile *df);

/* Frees everything in df and zeroes it. */
void	import_dockerfile_free(struct import_dockerfile *df);

/* Joins the http or https base URL and a file name into the normalised
 * URL to pin. The name is percent-encoded as one path segment, keeping
 * the RFC 3986 unreserved characters. It follows the base, with a '/'
 * added when the base does not end with one. A base with a query or
 * fragment is rejected. out has outsize bytes, URL_MAX_LEN + 1 for any
 * URL. Returns 0, or -1 with *err pointing at a static message. */
int	import_join_url(const char *base, const char *name, char *out,
	    size_t outsize, const char **err);

#endif
