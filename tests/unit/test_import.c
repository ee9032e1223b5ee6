/* SPDX-License-Identifier: MIT */
/* Unit tests for the import parsers: checksum lists as coreutils 9.1
 * sha256sum, sha256sum --tag and sha512sum print them, the URL join, and
 * ADD --checksum in Dockerfiles. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "url.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* SHA-256 and SHA-512 of "abc", and SHA-256 of "bs", as sha256sum and
 * sha512sum print them. */
#define HEX_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HEX512_ABC \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define HEX_BS \
	"8185d5e4c340bf13a2f2933e13c90727a16ea6991a2314f36bfa5eadfe58fb87"
#define HEX_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* An entry that a checksum list must produce. */
struct want_checksum {
	size_t			 line;
	const char		*name;
	const char		*digest;
	enum import_algorithm	 algorithm;
};

/* A line that must be rejected, and a part of the reason. */
struct want_reject {
	const char	*text;
	const char	*reason;
};

/* An error or skipped message: its line and a part of its text. */
struct want_message {
	size_t		 line;
	const char	*part;
};

/* An ADD --checksum entry that a Dockerfile must produce. */
struct want_add {
	size_t		 line;
	const char	*url;
	const char	*dest;
	const char	*digest;
};

static void
print_messages(const char *label, const struct import_message *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		print_error("%s %zu: line %zu: %s\n", label, i, m[i].line,
		    m[i].text);
}

static void
check_messages(const char *label, const struct import_message *got,
    size_t ngot, const struct want_message *want, size_t nwant)
{
	size_t i;

	if (ngot != nwant)
		print_messages(label, got, ngot);
	assert_int_equal(ngot, nwant);
	for (i = 0; i < nwant; i++) {
		if (got[i].line != want[i].line ||
		    strstr(got[i].text, want[i].part) == NULL) {
			print_messages(label, got, ngot);
			print_error("expected %s %zu: line %zu: ...%s...\n", label,
			    i, want[i].line, want[i].part);
		}
		assert_int_equal(got[i].line, want[i].line);
		assert_non_null(strstr(got[i].text, want[i].part));
	}
}

static void
check_checksums(const char *text, size_t len, const struct want_checksum *want,
    size_t nwant, const struct want_message *errors, size_t nerrors)
{
	struct import_list list;
	size_t i;

	memset(&list, 0, sizeof(list));
	assert_int_equal(import_parse_checksums(text, len, &list), 0);
	check_messages("error", list.errors, list.nerrors, errors, nerrors);
	if (list.nentries != nwant)
		for (i = 0; i < list.nentries; i++)
			print_error("entry %zu: line %zu: \"%s\"\n", i,
			    list.entries[i].line, list.entries[i].name);
	assert_int_equal(list.nentries, nwant);
	for (i = 0; i < nwant; i++) {
		assert_int_equal(list.entries[i].line, want[i].line);
		assert_string_equal(list.entries[i].name, want[i].name);
		assert_string_equal(list.entries[i].digest, want[i].digest);
		assert_int_equal(list.entries[i].algorithm, want[i].algorithm);
	}
	import_list_free(&list);
	assert_null(list.entries);
	assert_int_equal(list.nentries, 0);
}

static void
check_dockerfile(const char *text, const struct want_add *want, size_t nwant,
    const struct want_message *skipped, size_t nskipped,
    const struct want_message *errors, size_t nerrors)
{
	struct import_dockerfile df;
	size_t i;

	memset(&df, 0, sizeof(df));
	assert_int_equal(import_parse_dockerfile(text, strlen(text), &df), 0);
	check_messages("error", df.errors, df.nerrors, errors, nerrors);
	check_messages("skipped", df.skipped, df.nskipped, skipped, nskipped);
	if (df.nadds != nwant)
		for (i = 0; i < df.nadds; i++)
			print_error("add %zu: line %zu: %s %s\n", i,
			    df.adds[i].line, df.adds[i].url, df.adds[i].dest);
	assert_int_equal(df.nadds, nwant);
	for (i = 0; i < nwant; i++) {
		assert_int_equal(df.adds[i].line, want[i].line);
		assert_string_equal(df.adds[i].url, want[i].url);
		assert_string_equal(df.adds[i].dest, want[i].dest);
		assert_string_equal(df.adds[i].digest, want[i].digest);
		assert_int_equal(df.adds[i].algorithm, IMPORT_SHA256);
	}
	import_dockerfile_free(&df);
	assert_null(df.adds);
}

/* Output of "sha256sum release-1.0.tar.gz 'with space.txt'", of
 * "sha256sum -b" and of "sha512sum" and "sha512sum -b". */
static void
checksums_coreutils_output(void **state)
{
	static const char text[] =
	    HEX_ABC "  release-1.0.tar.gz\n"
	    "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
	    "  with space.txt\n"
	    HEX_ABC " *release-1.0.tar.gz\n"
	    HEX512_ABC "  plain.txt\n"
	    HEX512_ABC " *release-1.0.tar.gz\n"
	    HEX_EMPTY "   leading space\n"
	    HEX_EMPTY " **star\n"
	    HEX_EMPTY "  trailing space \n";
	static const struct want_checksum want[] = {
		{ 1, "release-1.0.tar.gz", HEX_ABC, IMPORT_SHA256 },
		{ 2, "with space.txt", "2d711642b726b04401627ca9fbac32f5c8530fb1"
		    "903cc4db02258717921a4881", IMPORT_SHA256 },
		{ 3, "release-1.0.tar.gz", HEX_ABC, IMPORT_SHA256 },
		{ 4, "plain.txt", HEX512_ABC, IMPORT_SHA512 },
		{ 5, "release-1.0.tar.gz", HEX512_ABC, IMPORT_SHA512 },
		{ 6, " leading space", HEX_EMPTY, IMPORT_SHA256 },
		{ 7, "*star", HEX_EMPTY, IMPORT_SHA256 },
		{ 8, "trailing space ", HEX_EMPTY, IMPORT_SHA256 },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, want, NROWS(want), NULL, 0);
}

/* Upper-case hex, as some release pages publish it, and a tab between
 * the digest and the mode, which coreutils also reads. */
static void
checksums_digest_as_written(void **state)
{
	static const char text[] =
	    "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
	    "  upper\n"
	    HEX_ABC "\t upper-tab\n"
	    "  " HEX_ABC "  indented\n";
	static const struct want_checksum want[] = {
		{ 1, "upper", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB"
		    "410FF61F20015AD", IMPORT_SHA256 },
		{ 2, "upper-tab", HEX_ABC, IMPORT_SHA256 },
		{ 3, "indented", HEX_ABC, IMPORT_SHA256 },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, want, NROWS(want), NULL, 0);
}

/* Output of "sha256sum $'new\nline' 'back\slash' $'car\rret'" and
 * "sha512sum 'back\slash'" from coreutils 9.1: the names are decoded, and
 * those that decode to a control character are rejected. */
static void
checksums_escaped_names(void **state)
{
	static const char text[] =
	    "\\1843653496800edfd0d30326c82f53b0338ed408468cca4a2f1b52f2f6395fc9"
	    "  new\\nline\n"
	    "\\" HEX_BS "  back\\\\slash\n"
	    "\\2b6bdfb2a0c30eaf5b7e128575ecc13354d74315c22edafa1141ea3445cefc5d"
	    "  car\\rret\n"
	    "\\bdf7c3aa356b635d6094e55f38a566fda84d39ff4a10f0883f70c3fd17e456ee"
	    "5fefb76787a7a54ec96f278c4624f09c5ce0d7e2ea454a0d5da1ef34c39597ef"
	    "  back\\\\slash\n"
	    HEX_ABC "  literal\\backslash\n";
	static const struct want_checksum want[] = {
		{ 2, "back\\slash", HEX_BS, IMPORT_SHA256 },
		{ 4, "back\\slash", "bdf7c3aa356b635d6094e55f38a566fda84d39ff4a1"
		    "0f0883f70c3fd17e456ee5fefb76787a7a54ec96f278c4624f09c5ce0d7"
		    "e2ea454a0d5da1ef34c39597ef", IMPORT_SHA512 },
		{ 5, "literal\\backslash", HEX_ABC, IMPORT_SHA256 },
	};
	static const struct want_message errors[] = {
		{ 1, "file name \"new\\nline\" contains a control character" },
		{ 3, "file name \"car\\rret\" contains a control character" },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, want, NROWS(want), errors,
	    NROWS(errors));
}

/* Output of "sha256sum --tag" and "sha512sum --tag" from coreutils 9.1,
 * of "openssl dgst -sha256" from OpenSSL 3.0, and of BSD sha256. */
static void
checksums_tagged(void **state)
{
	static const char text[] =
	    "SHA256 (release-1.0.tar.gz) = " HEX_ABC "\n"
	    "SHA256 (name (with) parens) = " HEX_ABC "\n"
	    "\\SHA256 (back\\\\slash) = " HEX_BS "\n"
	    "SHA512 (plain.txt) = " HEX512_ABC "\n"
	    "SHA2-256(plain.txt)= " HEX_ABC "\n"
	    "SHA2-512(plain.txt)= " HEX512_ABC "\n"
	    "SHA256(old-openssl.txt)= " HEX_ABC "\n"
	    "SHA256 (a=b) = " HEX_ABC "\n"
	    "\\SHA512 (new\\nline) = 1e63fc205cf1aeb6a12cfc9567bf841ce7390b0b7"
	    "8ca78c2627a1fcf9d44b18af0b265cc7d01fe74afbe4ddf5c395635ac7fad16df"
	    "98491bbd08e7877612d69b\n";
	static const struct want_checksum want[] = {
		{ 1, "release-1.0.tar.gz", HEX_ABC, IMPORT_SHA256 },
		{ 2, "name (with) parens", HEX_ABC, IMPORT_SHA256 },
		{ 3, "back\\slash", HEX_BS, IMPORT_SHA256 },
		{ 4, "plain.txt", HEX512_ABC, IMPORT_SHA512 },
		{ 5, "plain.txt", HEX_ABC, IMPORT_SHA256 },
		{ 6, "plain.txt", HEX512_ABC, IMPORT_SHA512 },
		{ 7, "old-openssl.txt", HEX_ABC, IMPORT_SHA256 },
		{ 8, "a=b", HEX_ABC, IMPORT_SHA256 },
	};
	static const struct want_message errors[] = {
		{ 9, "file name \"new\\nline\" contains a control character" },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, want, NROWS(want), errors,
	    NROWS(errors));
}

/* Each row is one line that must be rejected on line 1, with its reason. */
static void
checksums_rejected_lines(void **state)
{
	static const struct want_reject rows[] = {
		/* md5sum, sha1sum, sha224sum and sha384sum output */
		{ "900150983cd24fb0d6963f7d28e17f72  plain.txt",
		  "digest \"900150983cd24fb0d6963f7d28e17f72\" has 32 hex "
		  "digits, which is MD5 length" },
		{ "a9993e364706816aba3e25717850c26c9cd0d89d  plain.txt",
		  "has 40 hex digits, which is SHA-1 length" },
		{ "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
		  "  plain.txt", "has 56 hex digits, which is SHA-224 length" },
		{ "MD5 (plain.txt) = 900150983cd24fb0d6963f7d28e17f72",
		  "unsupported algorithm \"MD5\"" },
		{ "SHA384 (plain.txt) = cb00753f45a35e8bb5a03d699ac65007272c32ab0"
		  "eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
		  "unsupported algorithm \"SHA384\"" },
		{ "BLAKE2b (plain.txt) = " HEX512_ABC,
		  "unsupported algorithm \"BLAKE2b\"" },
		{ HEX_ABC "0  odd.txt", "has 65 hex digits: only SHA-256" },
		{ "g" HEX_ABC "  x", "contains a character that is not a hex "
		  "digit" },
		{ "SHA256 (x) = " HEX512_ABC, "SHA-256 digest \"ddaf35a1" },
		{ "SHA512 (x) = " HEX_ABC, "has 64 hex digits, expected 128" },
		{ "SHA256 (x) = " HEX_ABC " ", "is not a hex digit" },
		{ "SHA256 (x = " HEX_ABC, "missing \")\" after the file name" },
		{ "SHA256 (x) " HEX_ABC, "expected \" = \" after the file name" },
		{ "SHA256 (x) =", "missing digest" },
		/* formats that sha256sum never prints */
		{ HEX_ABC " single-space", "expected two spaces (text mode) or "
		  "\" *\" (binary mode)" },
		{ HEX_ABC, "missing file name after the digest" },
		{ HEX_ABC " ", "file name is empty" },
		{ HEX_ABC "  ", "file name is empty" },
		{ HEX_ABC " *", "file name is empty" },
		{ "SHA256 () = " HEX_ABC, "file name is empty" },
		{ "not a checksum line", "expected two spaces" },
		{ "  # indented comment", "invalid checksum line \"# indented comment\": expected two spaces" },
		/* names that are not one path segment */
		{ HEX_ABC "  dir/file", "file name \"dir/file\" contains \"/\"" },
		{ HEX_ABC "  ./file", "file name \"./file\" contains \"/\"" },
		{ HEX_ABC "  ../file", "contains \"/\"" },
		{ HEX_ABC "  /etc/passwd", "contains \"/\"" },
		{ HEX_ABC "  .", "file name \".\" is a \".\" or \"..\" path "
		  "segment" },
		{ HEX_ABC "  ..", "file name \"..\" is a" },
		{ "SHA256 (..) = " HEX_ABC, "file name \"..\" is a" },
		{ HEX_ABC "  tab\there", "file name \"tab\\there\" contains a "
		  "control character" },
		{ HEX_ABC "  del\x7f", "file name \"del\\x7F\" contains a "
		  "control character" },
		{ HEX_ABC "  esc\x1b[31m", "file name \"esc\\x1B[31m\" contains "
		  "a control character" },
		{ "\\" HEX_ABC "  a\\tb", "file name \"a\\\\tb\" has an invalid "
		  "escape" },
		{ "\\" HEX_ABC "  trailing\\", "has an invalid escape" },
		{ "\\SHA256 (a\\x) = " HEX_ABC, "has an invalid escape" },
		{ "\\" HEX_ABC "  \\n", "contains a control character" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		struct import_list list;

		memset(&list, 0, sizeof(list));
		assert_int_equal(import_parse_checksums(rows[i].text,
		    strlen(rows[i].text), &list), 0);
		if (list.nerrors != 1 || list.nentries != 0 ||
		    strstr(list.errors[0].text, rows[i].reason) == NULL) {
			print_error("row %zu: \"%s\"\n", i, rows[i].text);
			print_messages("error", list.errors, list.nerrors);
		}
		assert_int_equal(list.nentries, 0);
		assert_int_equal(list.nerrors, 1);
		assert_int_equal(list.errors[0].line, 1);
		assert_non_null(strstr(list.errors[0].text, rows[i].reason));
		import_list_free(&list);
	}
}

/* Every bad line is reported with its number, and the good lines between
 * them still become entries. */
static void
checksums_all_errors_reported(void **state)
{
	static const char text[] =
	    "# SHA256SUMS for release 1.0\n"
	    HEX_ABC "  good-1\n"
	    "900150983cd24fb0d6963f7d28e17f72  md5.txt\n"
	    "\n"
	    HEX_ABC "  sub/dir\n"
	    "SHA1 (x) = a9993e364706816aba3e25717850c26c9cd0d89d\n"
	    HEX_ABC "  good-7\n"
	    "garbage\n";
	static const struct want_checksum want[] = {
		{ 2, "good-1", HEX_ABC, IMPORT_SHA256 },
		{ 7, "good-7", HEX_ABC, IMPORT_SHA256 },
	};
	static const struct want_message errors[] = {
		{ 3, "MD5" },
		{ 5, "\"sub/dir\" contains \"/\"" },
		{ 6, "unsupported algorithm \"SHA1\"" },
		{ 8, "invalid checksum line \"garbage\"" },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, want, NROWS(want), errors,
	    NROWS(errors));
}

/* CRLF endings, a byte order mark, blank and comment lines, and no final
 * newline. */
static void
checksums_crlf_and_layout(void **state)
{
	static const char text[] =
	    "\xef\xbb\xbf" HEX_ABC "  first\r\n"
	    "\r\n"
	    "# comment\r\n"
	    "   \t\r\n"
	    "SHA256 (tagged) = " HEX_ABC "\r\n"
	    HEX_ABC " *last";
	static const struct want_checksum want[] = {
		{ 1, "first", HEX_ABC, IMPORT_SHA256 },
		{ 5, "tagged", HEX_ABC, IMPORT_SHA256 },
		{ 6, "last", HEX_ABC, IMPORT_SHA256 },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, want, NROWS(want), NULL, 0);
	check_checksums("", 0, NULL, 0, NULL, 0);
	check_checksums("\n\n", 2, NULL, 0, NULL, 0);
}

/* A carriage return inside a line is part of the name, not a line end. */
static void
checksums_inner_cr_rejected(void **state)
{
	static const char text[] = HEX_ABC "  a\rb\r\n";
	static const struct want_message errors[] = {
		{ 1, "file name \"a\\rb\" contains a control character" },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, NULL, 0, errors,
	    NROWS(errors));
}

/* A NUL byte rejects its own line only. */
static void
checksums_nul_byte_per_line(void **state)
{
	static const char text[] =
	    HEX_ABC "  one\n"
	    HEX_ABC "  t\0wo\n"
	    HEX_ABC "  three\n"
	    "\0";
	static const struct want_checksum want[] = {
		{ 1, "one", HEX_ABC, IMPORT_SHA256 },
		{ 3, "three", HEX_ABC, IMPORT_SHA256 },
	};
	static const struct want_message errors[] = {
		{ 2, "line contains a NUL byte" },
		{ 4, "line contains a NUL byte" },
	};

	(void)state;
	check_checksums(text, sizeof(text) - 1, want, NROWS(want), errors,
	    NROWS(errors));
}

/* A line of IMPORT_LINE_MAX bytes is read, one byte more is rejected,
 * with or without a CRLF ending. */
static void
checksums_line_limit(void **state)
{
	size_t namelen = IMPORT_LINE_MAX - 66, len;
	struct import_list list;
	char *text;

	(void)state;
	text = malloc(IMPORT_LINE_MAX + 8);
	assert_non_null(text);
	memcpy(text, HEX_ABC "  ", 66);
	memset(text + 66, 'n', namelen + 1);
	memcpy(text + 66 + namelen, "\r\n", 2);
	len = 66 + namelen + 2;

	memset(&list, 0, sizeof(list));
	assert_int_equal(import_parse_checksums(text, len, &list), 0);
	assert_int_equal(list.nerrors, 0);
	assert_int_equal(list.nentries, 1);
	assert_int_equal(strlen(list.entries[0].name), namelen);
	import_list_free(&list);

	memset(text + 66, 'n', namelen + 1);
	memcpy(text + 66 + namelen + 1, "\n", 1);
	len = 66 + namelen + 2;
	assert_int_equal(import_parse_checksums(text, len, &list), 0);
	assert_int_equal(list.nentries, 0);
	assert_int_equal(list.nerrors, 1);
	assert_int_equal(list.errors[0].line, 1);
	assert_non_null(strstr(list.errors[0].text,
	    "line is longer than 8192 bytes: \"" HEX_ABC "  nnn"));
	assert_non_null(strstr(list.errors[0].text, "..."));
	import_list_free(&list);
	free(text);
}

/* Many lines make the arrays grow several times. */
static void
checksums_many_lines(void **state)
{
	size_t i, n = 5000, len = 0;
	struct import_list list;
	char *text;

	(void)state;
	text = malloc(n * 80);
	assert_non_null(text);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, i % 2 == 0 ?
		    HEX_ABC "  f%zu\n" : "bad line %zu\n", i);

	memset(&list, 0, sizeof(list));
	assert_int_equal(import_parse_checksums(text, len, &list), 0);
	assert_int_equal(list.nentries, n / 2);
	assert_int_equal(list.nerrors, n / 2);
	assert_int_equal(list.entries[n / 2 - 1].line, n - 1);
	assert_string_equal(list.entries[n / 2 - 1].name, "f4998");
	assert_int_equal(list.errors[n / 2 - 1].line, n);
	import_list_free(&list);
	free(text);
}

struct join_row {
	const char	*base;
	const char	*name;
	const char	*url;	/* NULL: rejected */
};

static void
join_url_cases(void **state)
{
	static const struct join_row rows[] = {
		{ "https://example.com/releases/1.0/", "tool.tar.gz",
		  "https://example.com/releases/1.0/tool.tar.gz" },
		{ "https://example.com/releases/1.0", "tool.tar.gz",
		  "https://example.com/releases/1.0/tool.tar.gz" },
		{ "https://example.com", "a", "https://example.com/a" },
		{ "HTTP://Example.COM:80/d/", "a", "http://example.com/d/a" },
		{ "https://example.com/d/", "with space.txt",
		  "https://example.com/d/with%20space.txt" },
		{ "https://example.com/d/", "back\\slash",
		  "https://example.com/d/back%5Cslash" },
		{ "https://example.com/d/", "a?b#c%d",
		  "https://example.com/d/a%3Fb%23c%25d" },
		{ "https://example.com/d/", "name (with) parens",
		  "https://example.com/d/name%20%28with%29%20parens" },
		{ "https://example.com/d/", "-._~AZaz09",
		  "https://example.com/d/-._~AZaz09" },
		{ "https://example.com/d/", "caf\xc3\xa9",
		  "https://example.com/d/caf%C3%A9" },
		{ "https://example.com/d/", "...", "https://example.com/d/..." },
		{ "https://example.com/d/", "a+b=c",
		  "https://example.com/d/a%2Bb%3Dc" },
		{ "ftp://example.com/", "a", NULL },
		{ "example.com/", "a", NULL },
		{ "https://example.com/d?x=1", "a", NULL },
		{ "https://example.com/d#frag", "a", NULL },
		{ "https://user@example.com/", "a", NULL },
		{ "https://example.com/../", "a", NULL },
		{ "https://example.com/", "", NULL },
		{ "https://example.com/", ".", NULL },
		{ "https://example.com/", "..", NULL },
	};
	char out[URL_MAX_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const char *err = NULL;
		int rc;

		rc = import_join_url(rows[i].base, rows[i].name, out,
		    sizeof(out), &err);
		if (rows[i].url == NULL) {
			if (rc != -1)
				print_error("row %zu accepted as %s\n", i, out);
			assert_int_equal(rc, -1);
			assert_non_null(err);
			continue;
		}
		if (rc != 0)
			print_error("row %zu: %s\n", i, err);
		assert_int_equal(rc, 0);
		assert_string_equal(out, rows[i].url);
	}
}

/* The joined URL may reach URL_MAX_LEN bytes but not go past it. */
static void
join_url_length_limit(void **state)
{
	static char name[URL_MAX_LEN + 2], out[URL_MAX_LEN + 1];
	const char *base = "https://example.com/", *err = NULL;
	size_t fill = URL_MAX_LEN - strlen(base);

	(void)state;
	memset(name, 'a', fill);
	name[fill] = '\0';
	assert_int_equal(import_join_url(base, name, out, sizeof(out), &err),
	    0);
	assert_int_equal(strlen(out), URL_MAX_LEN);

	name[fill] = 'a';
	name[fill + 1] = '\0';
	assert_int_equal(import_join_url(base, name, out, sizeof(out), &err),
	    -1);
	assert_string_equal(err, "URL is longer than 8192 bytes");

	/* Each escaped byte takes three. */
	memset(name, ' ', fill / 3 + 1);
	name[fill / 3 + 1] = '\0';
	assert_int_equal(import_join_url(base, name, out, sizeof(out), &err),
	    -1);
}

static void
dockerfile_basic_forms(void **state)
{
	static const char text[] =
	    "# syntax=docker/dockerfile:1\n"
	    "FROM alpine:3.20\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/a.tar.gz /opt/\n"
	    "add --checksum=sha256:" HEX_ABC " http://example.com/b /b\n"
	    "Add --chown=1000:1000 --checksum=sha256:" HEX_ABC " --link "
	    "https://example.com/c /c\n"
	    "ADD --chmod=0755 --keep-git-dir=false --checksum=sha256:" HEX_ABC
	    " --link=true https://example.com/d /d\n"
	    "  ADD\t--checksum=sha256:" HEX_ABC "\thttps://example.com/e\t/e  \n"
	    "ADD --checksum=\"sha256:" HEX_ABC "\" \"https://example.com/f\" "
	    "'/f'\n"
	    "ADD --checksum=sha256:" HEX_ABC " [\"https://example.com/g\", "
	    "\"/g dir/\"]\n"
	    "ADD --checksum=sha256:" HEX_ABC " [ \"https://example.com/h\",\"/h\" ]\n"
	    "ONBUILD ADD --checksum=sha256:" HEX_ABC " https://example.com/i /i\n"
	    "COPY --from=build /out /out\n";
	static const struct want_add want[] = {
		{ 3, "https://example.com/a.tar.gz", "/opt/", "sha256:" HEX_ABC },
		{ 4, "http://example.com/b", "/b", "sha256:" HEX_ABC },
		{ 5, "https://example.com/c", "/c", "sha256:" HEX_ABC },
		{ 6, "https://example.com/d", "/d", "sha256:" HEX_ABC },
		{ 7, "https://example.com/e", "/e", "sha256:" HEX_ABC },
		{ 8, "https://example.com/f", "/f", "sha256:" HEX_ABC },
		{ 9, "https://example.com/g", "/g dir/", "sha256:" HEX_ABC },
		{ 10, "https://example.com/h", "/h", "sha256:" HEX_ABC },
		{ 11, "https://example.com/i", "/i", "sha256:" HEX_ABC },
	};

	(void)state;
	check_dockerfile(text, want, NROWS(want), NULL, 0, NULL, 0);
}

/* A continued instruction is reported on its first line. Comment and
 * empty lines inside it are skipped, and trailing blanks after the escape
 * character still continue it. */
static void
dockerfile_continuation(void **state)
{
	static const char text[] =
	    "FROM debian:12\n"
	    "ADD \\\n"
	    "    --checksum=sha256:" HEX_ABC " \\  \n"
	    "# a comment inside the instruction\n"
	    "\n"
	    "    https://example.com/tool.tar.gz \\\r\n"
	    "    /usr/local/src/\n"
	    "RUN echo one \\\n"
	    "    && echo ADD --checksum=sha256:" HEX_ABC " https://x/ /y\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/split\\\n"
	    "ted /z\n";
	static const struct want_add want[] = {
		{ 2, "https://example.com/tool.tar.gz", "/usr/local/src/",
		  "sha256:" HEX_ABC },
		{ 10, "https://example.com/splitted", "/z", "sha256:" HEX_ABC },
	};

	(void)state;
	check_dockerfile(text, want, NROWS(want), NULL, 0, NULL, 0);
}

/* With "# escape=`" the backtick continues lines and a backslash at the
 * end of a line, as in Windows paths, does not. */
static void
dockerfile_escape_directive(void **state)
{
	static const char text[] =
	    "# escape=`\n"
	    "\n"
	    "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
	    "ADD --checksum=sha256:" HEX_ABC " `\n"
	    "    https://example.com/setup.exe `\n"
	    "    C:\\setup\\\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/a C:\\a\\\n"
	    "RUN dir c:\\\n";
	static const struct want_add want[] = {
		{ 4, "https://example.com/setup.exe", "C:\\setup\\",
		  "sha256:" HEX_ABC },
		{ 7, "https://example.com/a", "C:\\a\\", "sha256:" HEX_ABC },
	};

	(void)state;
	check_dockerfile(text, want, NROWS(want), NULL, 0, NULL, 0);
}

/* A directive after the first instruction, comment or blank line is a
 * comment, so the escape stays a backslash. */
static void
dockerfile_late_directive_ignored(void **state)
{
	static const char text[] =
	    "# a comment first\n"
	    "# escape=`\n"
	    "ADD --checksum=sha256:" HEX_ABC " \\\n"
	    "    https://example.com/a /a\n";
	static const struct want_add want[] = {
		{ 3, "https://example.com/a", "/a", "sha256:" HEX_ABC },
	};
	static const char directives[] =
	    "#syntax=docker/dockerfile:1.7\n"
	    "#  ESCAPE  =  `\n"
	    "ADD --checksum=sha256:" HEX_ABC " `\n"
	    "    https://example.com/b /b\n";
	static const struct want_add want_b[] = {
		{ 3, "https://example.com/b", "/b", "sha256:" HEX_ABC },
	};

	(void)state;
	check_dockerfile(text, want, NROWS(want), NULL, 0, NULL, 0);
	check_dockerfile(directives, want_b, NROWS(want_b), NULL, 0, NULL, 0);
}

static void
dockerfile_bad_directive(void **state)
{
	static const char text[] =
	    "# escape=x\n"
	    "# escape=`\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/a /a\n";
	static const struct want_add want[] = {
		{ 3, "https://example.com/a", "/a", "sha256:" HEX_ABC },
	};
	static const struct want_message errors[] = {
		{ 1, "invalid escape character \"x\": it must be \\ or `" },
		{ 2, "only one escape parser directive can be used" },
	};

	(void)state;
	check_dockerfile(text, want, NROWS(want), NULL, 0, errors,
	    NROWS(errors));
}

/* Here-document bodies are not instructions, even when they look like
 * one, and the line numbers after them stay right. */
static void
dockerfile_heredocs(void **state)
{
	static const char text[] =
	    "FROM alpine\n"
	    "RUN <<EOF\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/no /no\n"
	    "EOF\n"
	    "COPY <<-\"END\" /etc/motd\n"
	    "\tADD https://example.com/nope /nope\n"
	    "\tEND\n"
	    "RUN <<ONE cat > /a && 2<<'TWO' cat > /b\n"
	    "ADD --checksum=sha256:bad https://example.com/x /x\n"
	    "ONE\n"
	    "ADD nothing\n"
	    "TWO\n"
	    "ADD <<EOF /hello.txt\n"
	    "hello\n"
	    "EOF\n"
	    "RUN echo '<<' && cat a<<b\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/yes /yes\n";
	static const struct want_add want[] = {
		{ 17, "https://example.com/yes", "/yes", "sha256:" HEX_ABC },
	};
	static const struct want_message skipped[] = {
		{ 13, "ADD \"<<EOF /hello.txt\" has no --checksum" },
	};

	(void)state;
	check_dockerfile(text, want, NROWS(want), skipped, NROWS(skipped),
	    NULL, 0);
}

static void
dockerfile_heredoc_unterminated(void **state)
{
	static const char text[] =
	    "FROM alpine\n"
	    "RUN <<EOF\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/no /no\n"
	    "EOF \n";
	static const struct want_message errors[] = {
		{ 2, "here-document \"EOF\" is not terminated" },
	};

	(void)state;
	check_dockerfile(text, NULL, 0, NULL, 0, errors, NROWS(errors));
}

static void
dockerfile_skipped_adds(void **state)
{
	static const char text[] =
	    "FROM alpine\n"
	    "ADD https://example.com/unpinned.tar.gz /opt/\n"
	    "ADD --chown=app:app src/ /app/\n"
	    "ADD [\"a b.txt\", \"/dir/\"]\n"
	    "ADD --link \\\n"
	    "    https://github.com/moby/buildkit.git#v0.26.2 /buildkit\n"
	    "ADD\n";
	static const struct want_message skipped[] = {
		{ 2, "ADD \"https://example.com/unpinned.tar.gz /opt/\" has no "
		  "--checksum, so it is not pinned" },
		{ 3, "ADD \"src/ /app/\" has no --checksum" },
		{ 4, "ADD \"[\"a b.txt\", \"/dir/\"]\" has no --checksum" },
		{ 5, "https://github.com/moby/buildkit.git#v0.26.2" },
		{ 7, "ADD \"\" has no --checksum" },
	};

	(void)state;
	check_dockerfile(text, NULL, 0, skipped, NROWS(skipped), NULL, 0);
}

static void
dockerfile_rejected(void **state)
{
	static const char text[] =
	    "FROM alpine\n"
	    /* 2 */ "ADD --checksum=sha256:" HEX_ABC " ./local.tar.gz /opt/\n"
	    /* 3 */ "ADD --checksum=sha256:" HEX_ABC " https://example.com/a "
	    "https://example.com/b local /dest/\n"
	    /* 4 */ "ADD --checksum=sha512:" HEX512_ABC " https://example.com/c "
	    "/c\n"
	    /* 5 */ "ADD --checksum=be1f38e "
	    "https://github.com/moby/buildkit.git#v0.26.2 /\n"
	    /* 6 */ "ADD --checksum https://example.com/d /d\n"
	    /* 7 */ "ADD --checksum=sha256:" HEX_ABC " "
	    "https://example.com/v${VERSION}.tar.gz /e\n"
	    /* 8 */ "ADD --checksum=${SHA} https://example.com/f /f\n"
	    /* 9 */ "ADD --checksum=sha256:" HEX_ABC "0 https://example.com/g /g\n"
	    /* 10 */ "ADD --checksum=sha256:" HEX_ABC " https://example.com/h\n"
	    /* 11 */ "ADD --checksum=sha256:" HEX_ABC " --checksum=sha256:"
	    HEX_ABC " https://example.com/i /i\n"
	    /* 12 */ "ADD --checksum=sha256:" HEX_ABC " HTTPS://example.com/j /j\n"
	    /* 13 */ "ADD --checksum=sha256:" HEX_ABC " https://user@example.com/k "
	    "/k\n"
	    /* 14 */ "ADD --checksum=sha256:" HEX_ABC " [\"ftp://example.com/l\", "
	    "\"/l\"]\n"
	    /* 15 */ "ADD --checksum=sha256:" HEX_ABC " [\"https://x/\", 1]\n"
	    /* 16 */ "ADD --checksum=sha256:" HEX_ABC " \"https://example.com/m "
	    "/m\n"
	    /* 17 */ "ADD --checksum=sha256:" HEX_ABC " https://example.com/n "
	    "--link /n\n"
	    /* 18 */ "ADD --checksum=sha256:" HEX_ABC " git@github.com:a/b.git /b\n"
	    /* 19 */ "ADD --checksum=SHA256:" HEX_ABC " https://example.com/o /o\n"
	    /* 20 */ "ADD --checksum=sha256:" HEX_ABC " https://example.com/\x1b[2J "
	    "/p\n"
	    /* 21 */ "ADD --checksum=sha256:" HEX_ABC " "
	    "https://github.com/moby/buildkit.git#v0.26.2 /b\n";
	static const struct want_message errors[] = {
		{ 2, "source \"./local.tar.gz\" is not an http or https URL" },
		{ 3, "has 3 sources, but Docker allows --checksum with one "
		  "source only, so \"https://example.com/a\" cannot be pinned" },
		{ 3, "so \"https://example.com/b\" cannot be pinned" },
		{ 3, "so \"local\" cannot be pinned" },
		{ 4, "does not start with \"sha256:\": Docker accepts only SHA-256" },
		{ 5, "\"be1f38e\" is not sha256:HEX: a Git commit checksum" },
		{ 6, "ADD --checksum needs a value" },
		{ 7, "\"https://example.com/v${VERSION}.tar.gz\" contain a "
		  "variable" },
		{ 8, "--checksum value \"${SHA}\" contains a variable" },
		{ 9, "is not sha256: followed by 64 hex digits" },
		{ 10, "needs a source and a destination" },
		{ 11, "ADD has --checksum twice" },
		{ 12, "\"HTTPS://example.com/j\" is not an http or https URL" },
		{ 13, "is not a valid URL: URL contains userinfo" },
		{ 14, "source \"ftp://example.com/l\" is not an http or https" },
		{ 15, "are not a JSON array of strings" },
		{ 16, "ADD argument \"\"https://example.com/m\" has an unmatched "
		  "quote" },
		{ 17, "has 2 sources" },
		{ 17, "has 2 sources" },
		{ 18, "\"git@github.com:a/b.git\" is not an http or https URL" },
		{ 19, "\"SHA256:" HEX_ABC "\" does not start with \"sha256:\"" },
		{ 20, "\"https://example.com/\\x1B[2J\" is not a valid URL" },
		{ 21, "\"https://github.com/moby/buildkit.git#v0.26.2\" is a Git "
		  "repository" },
	};

	(void)state;
	check_dockerfile(text, NULL, 0, NULL, 0, errors, NROWS(errors));
}

static void
dockerfile_crlf_bom(void **state)
{
	static const char text[] =
	    "\xef\xbb\xbf# escape=`\r\n"
	    "FROM alpine\r\n"
	    "ADD --checksum=sha256:" HEX_ABC " `\r\n"
	    "  https://example.com/a /a\r\n"
	    "ADD https://example.com/b /b";
	static const struct want_add want[] = {
		{ 3, "https://example.com/a", "/a", "sha256:" HEX_ABC },
	};
	static const struct want_message skipped[] = {
		{ 5, "ADD \"https://example.com/b /b\" has no --checksum" },
	};

	(void)state;
	check_dockerfile(text, want, NROWS(want), skipped, NROWS(skipped),
	    NULL, 0);
}

static void
dockerfile_nul_byte(void **state)
{
	static const char text[] =
	    "FROM alpine\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/\0a /a\n"
	    "ADD --checksum=sha256:" HEX_ABC " https://example.com/b /b\n";
	struct import_dockerfile df;

	(void)state;
	memset(&df, 0, sizeof(df));
	assert_int_equal(import_parse_dockerfile(text, sizeof(text) - 1, &df),
	    0);
	assert_int_equal(df.nerrors, 1);
	assert_int_equal(df.errors[0].line, 2);
	assert_string_equal(df.errors[0].text,
	    "instruction contains a NUL byte");
	assert_int_equal(df.nadds, 1);
	assert_int_equal(df.adds[0].line, 3);
	import_dockerfile_free(&df);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checksums_coreutils_output),
		cmocka_unit_test(checksums_digest_as_written),
		cmocka_unit_test(checksums_escaped_names),
		cmocka_unit_test(checksums_tagged),
		cmocka_unit_test(checksums_rejected_lines),
		cmocka_unit_test(checksums_all_errors_reported),
		cmocka_unit_test(checksums_crlf_and_layout),
		cmocka_unit_test(checksums_inner_cr_rejected),
		cmocka_unit_test(checksums_nul_byte_per_line),
		cmocka_unit_test(checksums_line_limit),
		cmocka_unit_test(checksums_many_lines),
		cmocka_unit_test(join_url_cases),
		cmocka_unit_test(join_url_length_limit),
		cmocka_unit_test(dockerfile_basic_forms),
		cmocka_unit_test(dockerfile_continuation),
		cmocka_unit_test(dockerfile_escape_directive),
		cmocka_unit_test(dockerfile_late_directive_ignored),
		cmocka_unit_test(dockerfile_bad_directive),
		cmocka_unit_test(dockerfile_heredocs),
		cmocka_unit_test(dockerfile_heredoc_unterminated),
		cmocka_unit_test(dockerfile_skipped_adds),
		cmocka_unit_test(dockerfile_rejected),
		cmocka_unit_test(dockerfile_crlf_bom),
		cmocka_unit_test(dockerfile_nul_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
