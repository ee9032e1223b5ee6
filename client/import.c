/* SPDX-License-Identifier: MIT */
/* Parsers for bulk pin imports: checksum lists and the ADD --checksum
 * instructions of Dockerfiles. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ctl.h"
#include "import.h"
#include "url.h"

#define SHA256_HEX_LEN		64
#define SHA512_HEX_LEN		128
#define TAG_MAX			16	/* bytes of an algorithm tag */
#define HEREDOC_MAX		16	/* here-documents in one instruction */
#define HEREDOC_NAME_MAX	64

/* Growable text for a Dockerfile instruction that spans several lines. */
struct strbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

/* The terminator of one here-document. */
struct heredoc {
	char	name[HEREDOC_NAME_MAX + 1];
	int	strip_tabs;	/* "<<-": leading tabs of the body are removed */
};

/* A Dockerfile being read line by line. */
struct dockerfile_reader {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	size_t		 line;		/* number of the line last read */
	char		 escape;	/* '\\' or '`' */
};

/* Makes room for one more item of size bytes in *items, which contains n
 * of *cap. Returns 0, or -1 when out of memory or the size overflows. */
static int
grow(void **items, size_t *cap, size_t n, size_t size)
{
	size_t newcap;
	void *p;

	if (n < *cap)
		return 0;
	newcap = *cap > 0 ? *cap : 8;
	while (newcap <= n) {
		if (newcap > SIZE_MAX / 2)
			return -1;
		newcap *= 2;
	}
	if (newcap > SIZE_MAX / size)
		return -1;
	p = realloc(*items, newcap * size);
	if (p == NULL)
		return -1;
	*items = p;
	*cap = newcap;
	return 0;
}

static char *
copy_bytes(const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = malloc(n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Appends a message formatted from fmt to the array *items of *n items.
 * Returns 0, or -1 when out of memory. */
static int
add_message(struct import_message **items, size_t *n, size_t *cap,
    size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
add_message(struct import_message **items, size_t *n, size_t *cap,
    size_t line, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || (text = malloc((size_t)len + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(text, (size_t)len + 1, fmt, ap);
	va_end(ap);

	if (grow((void **)items, cap, *n, sizeof(**items)) != 0) {
		free(text);
		return -1;
	}
	(*items)[*n].line = line;
	(*items)[*n].text = text;
	(*n)++;
	return 0;
}

/* Escapes n bytes at s into out for a message, shortened with "..." when
 * they do not fit. Returns out. */
static const char *
show(const char *s, size_t n, char out[CTL_SHOW_MAX])
{
	if (ctl_escape(s, n, out, CTL_SHOW_MAX - 3) >= CTL_SHOW_MAX - 3)
		strcat(out, "...");
	return out;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
is_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* RFC 3986 section 2.3 */
static int
is_unreserved(int c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int
all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_hex((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Finds the next line of buf at *pos. Sets *line and *n to it without
 * its LF or CRLF ending, and moves *pos past it. Returns 0 at the end. */
static int
next_line(const char *buf, size_t len, size_t *pos, const char **line,
    size_t *n)
{
	const char *end;
	size_t linelen;

	if (*pos >= len)
		return 0;
	*line = buf + *pos;
	end = memchr(*line, '\n', len - *pos);
	linelen = end != NULL ? (size_t)(end - *line) : len - *pos;
	*pos += linelen + (end != NULL);
	if (linelen > 0 && (*line)[linelen - 1] == '\r')
		linelen--;
	*n = linelen;
	return 1;
}

/* Skips a UTF-8 byte order mark at the start of buf. */
static size_t
bom_length(const char *buf, size_t len)
{
	return len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

/* Checksum lists */

static int
list_error(struct import_list *list, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
list_error(struct import_list *list, size_t line, const char *fmt, ...)
{
	char text[3 * CTL_SHOW_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return add_message(&list->errors, &list->nerrors, &list->errors_cap,
	    line, "%s", text);
}

/* Returns the algorithm of an algorithm tag, or -1 for other tags. The
 * SHA2- names are those of OpenSSL 3.0 "openssl dgst". */
static int
tag_algorithm(const char *tag, size_t n)
{
	if ((n == 6 && memcmp(tag, "SHA256", 6) == 0) ||
	    (n == 8 && memcmp(tag, "SHA2-256", 8) == 0))
		return IMPORT_SHA256;
	if ((n == 6 && memcmp(tag, "SHA512", 6) == 0) ||
	    (n == 8 && memcmp(tag, "SHA2-512", 8) == 0))
		return IMPORT_SHA512;
	return -1;
}

/* Returns the usual name of a digest of n hex digits that is neither
 * SHA-256 nor SHA-512, or NULL. */
static const char *
other_algorithm(size_t n)
{
	switch (n) {
	case 32:
		return "MD5";
	case 40:
		return "SHA-1";
	case 56:
		return "SHA-224";
	case 96:
		return "SHA-384";
	default:
		return NULL;
	}
}

/* Checks the digest of n bytes at s. tag is the algorithm from a BSD tag,
 * or -1 when the line had none. Sets *algorithm, or writes the reason
 * into reason and returns -1. */
static int
check_digest(const char *s, size_t n, int tag, int *algorithm,
    char *reason, size_t size)
{
	char shown[CTL_SHOW_MAX];
	const char *other;
	size_t expected;

	if (n == 0) {
		snprintf(reason, size, "missing digest");
		return -1;
	}
	if (!all_hex(s, n)) {
		snprintf(reason, size, "digest \"%s\" contains a character "
		    "that is not a hex digit", show(s, n, shown));
		return -1;
	}
	if (tag >= 0) {
		expected = tag == IMPORT_SHA256 ? SHA256_HEX_LEN :
		    SHA512_HEX_LEN;
		if (n != expected) {
			snprintf(reason, size, "%s digest \"%s\" has %zu hex "
			    "digits, expected %zu", tag == IMPORT_SHA256 ?
			    "SHA-256" : "SHA-512", show(s, n, shown), n,
			    expected);
			return -1;
		}
		*algorithm = tag;
		return 0;
	}
	if (n == SHA256_HEX_LEN || n == SHA512_HEX_LEN) {
		*algorithm = n == SHA256_HEX_LEN ? IMPORT_SHA256 :
		    IMPORT_SHA512;
		return 0;
	}
	other = other_algorithm(n);
	snprintf(reason, size, "digest \"%s\" has %zu hex digits%s%s%s: only "
	    "SHA-256 (64 digits) and SHA-512 (128 digits) can be pinned",
	    show(s, n, shown), n, other != NULL ? ", which is " : "",
	    other != NULL ? other : "", other != NULL ? " length" : "");
	return -1;
}

/* Decodes the escapes of a name from a line that starts with a backslash.
 * coreutils 9.1 sha256sum prints them, and filename_unescape in the 2025
 * coreutils src/digest.c reads them: "\\\\" is a backslash, "\\n" a newline
 * and "\\r" a carriage return. Other escapes are invalid. Writes the result
 * over s and returns its length, or SIZE_MAX for an invalid escape. */
static size_t
unescape_name(char *s, size_t n)
{
	size_t i, out = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\\') {
			s[out++] = s[i];
			continue;
		}
		if (++i == n)
			return SIZE_MAX;
		if (s[i] == '\\')
			s[out++] = '\\';
		else if (s[i] == 'n')
			s[out++] = '\n';
		else if (s[i] == 'r')
			s[out++] = '\r';
		else
			return SIZE_MAX;
	}
	s[out] = '\0';
	return out;
}

/* Checks a decoded file name. Writes the reason and returns -1 when it
 * cannot become one path segment of a URL. */
static int
check_name(const char *name, size_t n, char *reason, size_t size)
{
	char shown[CTL_SHOW_MAX];
	size_t i;

	if (n == 0) {
		snprintf(reason, size, "file name is empty");
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f) {
			snprintf(reason, size, "file name \"%s\" contains a "
			    "control character", show(name, n, shown));
			return -1;
		}
	}
	if (memchr(name, '/', n) != NULL) {
		snprintf(reason, size, "file name \"%s\" contains \"/\": only "
		    "names without a directory can be joined to the base URL",
		    show(name, n, shown));
		return -1;
	}
	if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' &&
	    name[1] == '.')) {
		snprintf(reason, size, "file name \"%s\" is a \".\" or \"..\" "
		    "path segment", show(name, n, shown));
		return -1;
	}
	return 0;
}

/* Adds the entry for a line whose digest and raw name were found. The
 * name is unescaped when escaped is set. */
static int
add_checksum(struct import_list *list, size_t line, const char *digest,
    size_t digest_len, int tag, const char *raw_name, size_t name_len,
    int escaped)
{
	char reason[2 * CTL_SHOW_MAX + 256], shown[CTL_SHOW_MAX];
	struct import_checksum *e;
	char *name = NULL, *hex = NULL;
	size_t raw_len = name_len;
	int algorithm;

	if (check_digest(digest, digest_len, tag, &algorithm, reason,
	    sizeof(reason)) != 0)
		return list_error(list, line, "%s", reason);

	if ((name = copy_bytes(raw_name, name_len)) == NULL)
		return -1;
	if (escaped && (name_len = unescape_name(name, name_len)) == SIZE_MAX) {
		free(name);
		return list_error(list, line, "file name \"%s\" has an invalid "
		    "escape: the line starts with a backslash, so only \\\\, "
		    "\\n and \\r may follow a backslash",
		    show(raw_name, raw_len, shown));
	}
	if (check_name(name, name_len, reason, sizeof(reason)) != 0) {
		free(name);
		return list_error(list, line, "%s", reason);
	}

	if ((hex = copy_bytes(digest, digest_len)) == NULL ||
	    grow((void **)&list->entries, &list->entries_cap, list->nentries,
	    sizeof(*list->entries)) != 0) {
		free(hex);
		free(name);
		return -1;
	}
	e = &list->entries[list->nentries++];
	e->line = line;
	e->name = name;
	e->digest = hex;
	e->algorithm = algorithm;
	return 0;
}

/* Parses "TAG (NAME) = HEX" from s (n bytes), which starts at the tag.
 * Like coreutils, takes the name up to the last ')' of the line, so a
 * name may contain ")". */
static int
parse_tagged(struct import_list *list, size_t line, const char *s,
    size_t n, size_t tag_len, int escaped)
{
	char shown[CTL_SHOW_MAX];
	const char *name, *close = NULL, *p, *end = s + n;
	int tag;

	tag = tag_algorithm(s, tag_len);
	if (tag < 0)
		return list_error(list, line, "unsupported algorithm \"%s\": "
		    "only SHA256 and SHA512 checksums can be pinned",
		    show(s, tag_len, shown));

	name = s + tag_len + (s[tag_len] == ' ') + 1;
	for (p = name; p < end; p++)
		if (*p == ')')
			close = p;
	if (close == NULL)
		return list_error(list, line, "invalid checksum line \"%s\": "
		    "missing \")\" after the file name", show(s, n, shown));

	p = close + 1;
	while (p < end && is_blank(*p))
		p++;
	if (p >= end || *p != '=')
		return list_error(list, line, "invalid checksum line \"%s\": "
		    "expected \" = \" after the file name", show(s, n, shown));
	p++;
	while (p < end && is_blank(*p))
		p++;

	return add_checksum(list, line, p, (size_t)(end - p), tag, name,
	    (size_t)(close - name), escaped);
}

/* Parses "HEX  NAME" or "HEX *NAME" from s (n bytes), which starts at the
 * digest. As in coreutils, one space or tab ends the digest, the next byte
 * is the mode (' ' text, '*' binary) and every byte after it belongs to the
 * name. */
static int
parse_untagged(struct import_list *list, size_t line, const char *s,
    size_t n, int escaped)
{
	char shown[CTL_SHOW_MAX];
	size_t i = 0;

	while (i < n && !is_blank(s[i]))
		i++;
	if (i == n)
		return list_error(list, line, "invalid checksum line \"%s\": "
		    "missing file name after the digest", show(s, n, shown));
	if (i + 1 < n && s[i + 1] != ' ' && s[i + 1] != '*')
		return list_error(list, line, "invalid checksum line \"%s\": "
		    "expected two spaces (text mode) or \" *\" (binary mode) "
		    "between the digest and the file name, as sha256sum "
		    "prints them", show(s, n, shown));
	if (i + 1 >= n)
		return add_checksum(list, line, s, i, -1, s + n, 0, escaped);
	return add_checksum(list, line, s, i, -1, s + i + 2, n - i - 2,
	    escaped);
}

/* Parses one line, without its line ending. Returns 0, or -1 when out of
 * memory. */
static int
parse_checksum_line(struct import_list *list, size_t line, const char *s,
    size_t n)
{
	char shown[CTL_SHOW_MAX];
	size_t i = 0, tag_len;
	int escaped;

	if (memchr(s, '\0', n) != NULL)
		return list_error(list, line, "line contains a NUL byte");
	if (n > IMPORT_LINE_MAX)
		return list_error(list, line, "line is longer than %d bytes: "
		    "\"%s\"", IMPORT_LINE_MAX, show(s, n, shown));
	if (n > 0 && s[0] == '#')
		return 0;
	while (i < n && is_blank(s[i]))
		i++;
	if (i == n)
		return 0;

	escaped = s[i] == '\\';
	i += escaped;

	/* A tag has a character that is not a hex digit, so a digest that
	 * is followed by " (" is not taken for one. */
	tag_len = 0;
	while (i + tag_len < n && tag_len <= TAG_MAX &&
	    (is_alnum((unsigned char)s[i + tag_len]) || s[i + tag_len] == '-'))
		tag_len++;
	if (tag_len > 0 && tag_len <= TAG_MAX && !all_hex(s + i, tag_len) &&
	    ((i + tag_len < n && s[i + tag_len] == '(') ||
	    (i + tag_len + 1 < n && s[i + tag_len] == ' ' &&
	    s[i + tag_len + 1] == '(')))
		return parse_tagged(list, line, s + i, n - i, tag_len, escaped);
	return parse_untagged(list, line, s + i, n - i, escaped);
}

int
import_parse_checksums(const char *buf, size_t len, struct import_list *list)
{
	const char *s;
	size_t pos, n, line = 0;

	pos = bom_length(buf, len);
	while (next_line(buf, len, &pos, &s, &n)) {
		line++;
		if (parse_checksum_line(list, line, s, n) != 0)
			return -1;
	}
	return 0;
}

void
import_list_free(struct import_list *list)
{
	size_t i;

	for (i = 0; i < list->nentries; i++) {
		free(list->entries[i].name);
		free(list->entries[i].digest);
	}
	for (i = 0; i < list->nerrors; i++)
		free(list->errors[i].text);
	free(list->entries);
	free(list->errors);
	memset(list, 0, sizeof(*list));
}

int
import_join_url(const char *base, const char *name, char *out,
    size_t outsize, const char **err)
{
	static const char hexdigits[] = "0123456789ABCDEF";
	char url[URL_MAX_LEN + 1];
	size_t baselen = strlen(base), namelen = strlen(name), len, i;

	if (strncasecmp(base, "http://", 7) != 0 &&
	    strncasecmp(base, "https://", 8) != 0) {
		*err = "base URL scheme is not http or https";
		return -1;
	}
	if (strpbrk(base, "?#") != NULL) {
		*err = "base URL must not contain a query or fragment";
		return -1;
	}
	if (namelen == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		*err = "file name is empty, \".\" or \"..\"";
		return -1;
	}

	/* Both lengths are at most URL_MAX_LEN, so the sum cannot overflow. */
	if (baselen > URL_MAX_LEN || namelen > URL_MAX_LEN) {
		*err = "URL is longer than 8192 bytes";
		return -1;
	}
	len = baselen + (base[baselen - 1] != '/');
	for (i = 0; i < namelen; i++)
		len += is_unreserved((unsigned char)name[i]) ? 1 : 3;
	if (len > URL_MAX_LEN) {
		*err = "URL is longer than 8192 bytes";
		return -1;
	}

	memcpy(url, base, baselen);
	len = baselen;
	if (url[len - 1] != '/')
		url[len++] = '/';
	for (i = 0; i < namelen; i++) {
		unsigned char c = (unsigned char)name[i];

		if (is_unreserved(c)) {
			url[len++] = (char)c;
			continue;
		}
		url[len++] = '%';
		url[len++] = hexdigits[c >> 4];
		url[len++] = hexdigits[c & 0xf];
	}
	url[len] = '\0';
	return url_normalise(url, len, out, outsize, err);
}

/* Dockerfiles */

static int
strbuf_append(struct strbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap > 0 ? b->cap : 256;
		while (cap < b->len + n + 1) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		if ((p = realloc(b->s, cap)) == NULL)
			return -1;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int
df_error(struct import_dockerfile *df, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
df_error(struct import_dockerfile *df, size_t line, const char *fmt, ...)
{
	char text[3 * CTL_SHOW_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return add_message(&df->errors, &df->nerrors, &df->errors_cap, line,
	    "%s", text);
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

static int
is_comment(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_space((unsigned char)s[i]))
		i++;
	return i < n && s[i] == '#';
}

/* Removes a line continuation from the end of s: the escape character
 * followed by nothing but spaces and tabs. Returns 1 if there was one. */
static int
trim_continuation(const char *s, size_t *n, char escape)
{
	size_t i = *n;

	while (i > 0 && is_blank(s[i - 1]))
		i--;
	if (i == 0 || s[i - 1] != escape)
		return 0;
	*n = i - 1;
	return 1;
}

/* Handles a parser directive line ("# escape=`") at the top of the file.
 * Returns 1 if s is a directive, 0 if it is not, which ends the
 * directives, or -1 when out of memory. */
static int
parse_directive(struct import_dockerfile *df, struct dockerfile_reader *r,
    const char *s, size_t n, int *escape_seen)
{
	char shown[CTL_SHOW_MAX];
	size_t i = 0, key, key_len, value, value_len;

	while (i < n && is_space((unsigned char)s[i]))
		i++;
	if (i == n || s[i] != '#')
		return 0;
	i++;
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	key = i;
	while (i < n && is_alnum((unsigned char)s[i]))
		i++;
	key_len = i - key;
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	if (key_len == 0 || i == n || s[i] != '=')
		return 0;
	i++;
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	value = i;
	value_len = n - i;
	while (value_len > 0 && is_space((unsigned char)s[value + value_len - 1]))
		value_len--;
	if (value_len == 0)
		return 0;

	if (key_len == 6 && strncasecmp(s + key, "escape", 6) == 0) {
		if (*escape_seen)
			return df_error(df, r->line, "only one escape parser "
			    "directive can be used") == 0 ? 1 : -1;
		*escape_seen = 1;
		if (value_len == 1 && (s[value] == '\\' || s[value] == '`')) {
			r->escape = s[value];
			return 1;
		}
		return df_error(df, r->line, "invalid escape character \"%s\": "
		    "it must be \\ or `", show(s + value, value_len, shown)) ==
		    0 ? 1 : -1;
	}
	if ((key_len == 6 && strncasecmp(s + key, "syntax", 6) == 0) ||
	    (key_len == 5 && strncasecmp(s + key, "check", 5) == 0))
		return 1;
	return 0;
}

/* Reads the rest of an instruction whose first line, without its
 * continuation, is already in b: later lines are appended until one does
 * not end with the escape character. Comment lines and empty lines inside
 * the instruction are skipped. */
static int
read_continuation(struct dockerfile_reader *r, struct strbuf *b)
{
	const char *s;
	size_t n;
	int more = 1;

	while (more && next_line(r->buf, r->len, &r->pos, &s, &n)) {
		size_t i = 0;

		r->line++;
		if (is_comment(s, n))
			continue;
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		if (i == n)
			continue;
		more = trim_continuation(s, &n, r->escape);
		if (strbuf_append(b, s, n) != 0)
			return -1;
	}
	return 0;
}

/* Finds the here-documents ("<<EOF", "<<-EOF", "<<'EOF'") among the
 * whitespace-separated words of s. Returns their number, at most max.
 * NOTE: the words are not split by the shell lexer, so a quoted "<<EOF"
 * also starts a here-document here. */
static size_t
find_heredocs(const char *s, size_t n, struct heredoc *docs, size_t max)
{
	size_t i = 0, count = 0;

	while (i < n && count < max) {
		size_t start, end, p;
		int strip_tabs = 0;

		while (i < n && is_space((unsigned char)s[i]))
			i++;
		start = i;
		while (i < n && !is_space((unsigned char)s[i]))
			i++;
		end = i;

		p = start;
		while (p < end && s[p] >= '0' && s[p] <= '9')
			p++;
		if (end - p < 3 || s[p] != '<' || s[p + 1] != '<')
			continue;
		p += 2;
		if (s[p] == '-') {
			strip_tabs = 1;
			p++;
		}
		if (end - p >= 2 && (s[p] == '"' || s[p] == '\'') &&
		    s[end - 1] == s[p]) {
			p++;
			end--;
		}
		if (end <= p || end - p > HEREDOC_NAME_MAX ||
		    memchr(s + p, '<', end - p) != NULL)
			continue;
		memcpy(docs[count].name, s + p, end - p);
		docs[count].name[end - p] = '\0';
		docs[count].strip_tabs = strip_tabs;
		count++;
	}
	return count;
}

/* Skips the bodies of the here-documents of an instruction that starts
 * on line first. */
static int
skip_heredocs(struct import_dockerfile *df, struct dockerfile_reader *r,
    size_t first, const struct heredoc *docs, size_t count)
{
	char shown[CTL_SHOW_MAX];
	const char *s;
	size_t i, n;

	for (i = 0; i < count; i++) {
		size_t namelen = strlen(docs[i].name);
		int found = 0;

		while (!found && next_line(r->buf, r->len, &r->pos, &s, &n)) {
			r->line++;
			while (docs[i].strip_tabs && n > 0 && s[0] == '\t') {
				s++;
				n--;
			}
			found = n == namelen && memcmp(s, docs[i].name, n) == 0;
		}
		if (!found)
			return df_error(df, first, "here-document \"%s\" is not "
			    "terminated before the end of the file",
			    show(docs[i].name, namelen, shown));
	}
	return 0;
}

/* The arguments of an ADD instruction after its flags: sources and
 * destination, with shell quotes removed. */
struct add_args {
	char	**words;
	size_t	  nwords;
	size_t	  cap;
	int	  json;		/* written in the JSON form */
};

static void
add_args_free(struct add_args *a)
{
	size_t i;

	for (i = 0; i < a->nwords; i++)
		free(a->words[i]);
	free(a->words);
	memset(a, 0, sizeof(*a));
}

static int
add_args_push(struct add_args *a, char *word)
{
	if (word == NULL ||
	    grow((void **)&a->words, &a->cap, a->nwords, sizeof(*a->words)) != 0) {
		free(word);
		return -1;
	}
	a->words[a->nwords++] = word;
	return 0;
}

/* Reads the next flag word ("--name=value") of s at *pos into b, with
 * quotes removed and backslash escapes decoded as BuildKit does for flags.
 * Returns 1 for a flag word, 0 at the first word that is not a flag (then
 * *pos is at its start) or after "--", and -1 when out of memory. */
static int
next_flag(const char *s, size_t n, size_t *pos, struct strbuf *b)
{
	size_t i = *pos;
	char quote = 0, c;

	while (i < n && is_space((unsigned char)s[i]))
		i++;
	*pos = i;
	if (i + 1 >= n || s[i] != '-' || s[i + 1] != '-')
		return 0;

	b->len = 0;
	if (strbuf_append(b, "", 0) != 0)
		return -1;
	for (; i < n && (quote != 0 || !is_space((unsigned char)s[i])); i++) {
		c = s[i];
		if (quote == 0 && (c == '"' || c == '\'')) {
			quote = c;
			continue;
		}
		if (quote != 0 && c == quote) {
			quote = 0;
			continue;
		}
		if (c == '\\' && i + 1 < n)
			c = s[++i];
		if (strbuf_append(b, &c, 1) != 0)
			return -1;
	}
	*pos = i;
	return strcmp(b->s, "--") == 0 ? 0 : 1;
}

/* Removes shell quotes and escapes from one word of the shell form, as
 * the Dockerfile shell lexer does before it uses the word. Sets
 * *has_variable when a '$' outside single quotes would be expanded.
 * Returns the new word, or NULL with *unmatched set for an unmatched
 * quote, or NULL when out of memory. */
static char *
unquote_word(const char *s, size_t n, char escape, int *has_variable,
    int *unmatched)
{
	struct strbuf b = { NULL, 0, 0 };
	char quote = 0, c;
	size_t i;

	if (strbuf_append(&b, "", 0) != 0)
		return NULL;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (quote == 0 && (c == '"' || c == '\'')) {
			quote = c;
			continue;
		}
		if (quote != 0 && c == quote) {
			quote = 0;
			continue;
		}
		if (quote != '\'' && c == escape && i + 1 < n) {
			char next = s[i + 1];

			if (quote == 0 || next == '"' || next == '$' ||
			    next == escape) {
				c = next;
				i++;
				if (strbuf_append(&b, &c, 1) != 0)
					goto fail;
				continue;
			}
		}
		if (quote != '\'' && c == '$')
			*has_variable = 1;
		if (strbuf_append(&b, &c, 1) != 0)
			goto fail;
	}
	if (quote != 0) {
		*unmatched = 1;
		goto fail;
	}
	return b.s;
fail:
	free(b.s);
	return NULL;
}

/* Splits the arguments of ADD into words: the JSON form when s is a JSON
 * array of strings, else words separated by whitespace. Returns 0, 1
 * after adding an error for the instruction, or -1 when out of memory. */
static int
split_add_args(struct import_dockerfile *df, size_t line, const char *s,
    size_t n, char escape, struct add_args *a, int *has_variable)
{
	char shown[CTL_SHOW_MAX];
	json_t *root;
	size_t i = 0;

	if (n > 0 && s[0] == '[' &&
	    (root = json_loadb(s, n, 0, NULL)) != NULL) {
		json_t *item;
		size_t idx;

		a->json = 1;
		if (!json_is_array(root)) {
			json_decref(root);
			return df_error(df, line, "ADD arguments \"%s\" are not "
			    "a JSON array of strings", show(s, n, shown)) == 0 ?
			    1 : -1;
		}
		json_array_foreach(root, idx, item) {
			const char *text = json_string_value(item);

			if (text == NULL) {
				json_decref(root);
				return df_error(df, line, "ADD arguments \"%s\" "
				    "are not a JSON array of strings",
				    show(s, n, shown)) == 0 ? 1 : -1;
			}
			if (strchr(text, '$') != NULL)
				*has_variable = 1;
			if (add_args_push(a, strdup(text)) != 0) {
				json_decref(root);
				return -1;
			}
		}
		json_decref(root);
		return 0;
	}

	while (i < n) {
		size_t start;
		int unmatched = 0;
		char *word;

		while (i < n && is_space((unsigned char)s[i]))
			i++;
		if (i == n)
			break;
		start = i;
		while (i < n && !is_space((unsigned char)s[i]))
			i++;
		word = unquote_word(s + start, i - start, escape, has_variable,
		    &unmatched);
		if (word == NULL && unmatched)
			return df_error(df, line, "ADD argument \"%s\" has an "
			    "unmatched quote", show(s + start, i - start,
			    shown)) == 0 ? 1 : -1;
		if (add_args_push(a, word) != 0)
			return -1;
	}
	return 0;
}

/* Checks the value of --checksum. Writes the reason and returns -1 when
 * hashgate cannot pin it. */
static int
check_add_checksum(const char *value, char *reason, size_t size)
{
	char shown[CTL_SHOW_MAX];
	const char *colon = strchr(value, ':');

	if (strchr(value, '$') != NULL) {
		snprintf(reason, size, "--checksum value \"%s\" contains a "
		    "variable, which is expanded only when the image is built; write "
		    "the value out in full",
		    show(value, strlen(value), shown));
		return -1;
	}
	if (colon == NULL) {
		snprintf(reason, size, "--checksum value \"%s\" is not "
		    "sha256:HEX: a Git commit checksum cannot be pinned",
		    show(value, strlen(value), shown));
		return -1;
	}
	/* The Dockerfile reference names SHA-256 as the only algorithm for
	 * HTTP sources. */
	if (colon - value != 6 || strncmp(value, "sha256", 6) != 0) {
		snprintf(reason, size, "--checksum value \"%s\" does not "
		    "start with \"sha256:\": Docker accepts only SHA-256 "
		    "digests for HTTP sources", show(value, strlen(value),
		    shown));
		return -1;
	}
	if (strlen(colon + 1) != SHA256_HEX_LEN || !all_hex(colon + 1,
	    SHA256_HEX_LEN)) {
		snprintf(reason, size, "--checksum value \"%s\" is not "
		    "sha256: followed by 64 hex digits",
		    show(value, strlen(value), shown));
		return -1;
	}
	return 0;
}

/* Checks the single source of an ADD --checksum. */
static int
check_add_source(const char *src, char *reason, size_t size)
{
	char shown[CTL_SHOW_MAX], url[URL_MAX_LEN + 1];
	const char *err;
	size_t path_end;

	/* BuildKit matches the scheme prefixes in lower case only. */
	if (strncmp(src, "http://", 7) != 0 && strncmp(src, "https://", 8) != 0) {
		snprintf(reason, size, "ADD --checksum source \"%s\" is not an "
		    "http or https URL, so it cannot be pinned",
		    show(src, strlen(src), shown));
		return -1;
	}

	/* BuildKit clones a URL that names a Git repository instead of
	 * downloading it.
	 * NOTE: only a path ending in ".git" is recognised here, and BuildKit
	 * recognises more forms of Git URLs. */
	path_end = strcspn(src, "?#");
	if (path_end >= 4 && strncmp(src + path_end - 4, ".git", 4) == 0) {
		snprintf(reason, size, "ADD --checksum source \"%s\" is a Git "
		    "repository, which BuildKit clones, so it cannot be pinned",
		    show(src, strlen(src), shown));
		return -1;
	}
	if (url_normalise(src, strlen(src), url, sizeof(url), &err) != 0) {
		snprintf(reason, size, "ADD --checksum source \"%s\" is not a "
		    "valid URL: %s", show(src, strlen(src), shown), err);
		return -1;
	}
	return 0;
}

/* Checks an ADD --checksum with its split arguments and adds the entry,
 * or one error per source. */
static int
add_pinned(struct import_dockerfile *df, size_t line, const char *checksum,
    const struct add_args *a, int has_variable)
{
	char reason[2 * CTL_SHOW_MAX + 256], shown[CTL_SHOW_MAX];
	struct import_add *e;
	char *url, *dest, *digest;
	size_t i;

	if (check_add_checksum(checksum, reason, sizeof(reason)) != 0)
		return df_error(df, line, "%s", reason);
	if (a->nwords < 2)
		return df_error(df, line, "ADD --checksum needs a source and a "
		    "destination");
	if (a->nwords > 2) {
		for (i = 0; i + 1 < a->nwords; i++)
			if (df_error(df, line, "ADD --checksum has %zu sources, "
			    "but Docker allows --checksum with one source only, "
			    "so \"%s\" cannot be pinned", a->nwords - 1,
			    show(a->words[i], strlen(a->words[i]), shown)) != 0)
				return -1;
		return 0;
	}
	if (has_variable)
		return df_error(df, line, "ADD --checksum arguments \"%s\" "
		    "contain a variable, which is expanded only when the image "
		    "is built", show(a->words[0], strlen(a->words[0]), shown));
	if (check_add_source(a->words[0], reason, sizeof(reason)) != 0)
		return df_error(df, line, "%s", reason);

	url = strdup(a->words[0]);
	dest = strdup(a->words[1]);
	digest = strdup(checksum);
	if (url == NULL || dest == NULL || digest == NULL ||
	    grow((void **)&df->adds, &df->adds_cap, df->nadds,
	    sizeof(*df->adds)) != 0) {
		free(url);
		free(dest);
		free(digest);
		return -1;
	}
	e = &df->adds[df->nadds++];
	e->line = line;
	e->url = url;
	e->dest = dest;
	e->digest = digest;
	e->algorithm = IMPORT_SHA256;
	return 0;
}

/* Handles the arguments s (n bytes) of an ADD instruction that starts on
 * line. */
static int
parse_add(struct import_dockerfile *df, size_t line, const char *s,
    size_t n, char escape)
{
	struct strbuf flag = { NULL, 0, 0 };
	struct add_args a = { NULL, 0, 0, 0 };
	char shown[CTL_SHOW_MAX];
	char *checksum = NULL;
	size_t pos = 0;
	int rc = 0, has_variable = 0;

	while ((rc = next_flag(s, n, &pos, &flag)) == 1) {
		if (strncmp(flag.s, "--checksum", 10) != 0 ||
		    (flag.s[10] != '=' && flag.s[10] != '\0'))
			continue;
		if (checksum != NULL) {
			rc = df_error(df, line, "ADD has --checksum twice");
			goto out;
		}
		if (flag.s[10] != '=') {
			rc = df_error(df, line, "ADD --checksum needs a value: "
			    "write --checksum=sha256:HEX");
			goto out;
		}
		if ((checksum = strdup(flag.s + 11)) == NULL) {
			rc = -1;
			goto out;
		}
	}
	if (rc < 0)
		goto out;

	while (n > pos && is_space((unsigned char)s[n - 1]))
		n--;
	if (checksum == NULL) {
		rc = add_message(&df->skipped, &df->nskipped, &df->skipped_cap,
		    line, "ADD \"%s\" has no --checksum, so it is not pinned",
		    show(s + pos, n - pos, shown));
		goto out;
	}

	rc = split_add_args(df, line, s + pos, n - pos, escape, &a,
	    &has_variable);
	if (rc == 0)
		rc = add_pinned(df, line, checksum, &a, has_variable);
out:
	add_args_free(&a);
	free(checksum);
	free(flag.s);
	return rc < 0 ? -1 : 0;
}

/* Handles one instruction, joined from its lines, that starts on line.
 * Skips the bodies of its here-documents. */
static int
parse_instruction(struct import_dockerfile *df, struct dockerfile_reader *r,
    size_t line, const char *s, size_t n)
{
	struct heredoc docs[HEREDOC_MAX];
	size_t i = 0, name, name_len, ndocs = 0;
	int is_add, onbuild = 0;

	if (memchr(s, '\0', n) != NULL)
		return df_error(df, line, "instruction contains a NUL byte");

	for (;;) {
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		name = i;
		while (i < n && !is_space((unsigned char)s[i]))
			i++;
		name_len = i - name;
		if (onbuild || name_len != 7 ||
		    strncasecmp(s + name, "onbuild", 7) != 0)
			break;
		onbuild = 1;
	}

	is_add = name_len == 3 && strncasecmp(s + name, "add", 3) == 0;
	if (is_add || (name_len == 3 && strncasecmp(s + name, "run", 3) == 0) ||
	    (name_len == 4 && strncasecmp(s + name, "copy", 4) == 0))
		ndocs = find_heredocs(s + i, n - i, docs, HEREDOC_MAX);

	if (is_add && parse_add(df, line, s + i, n - i, r->escape) != 0)
		return -1;
	return skip_heredocs(df, r, line, docs, ndocs);
}

int
import_parse_dockerfile(const char *buf, size_t len,
    struct import_dockerfile *df)
{
	struct dockerfile_reader r = { buf, len, 0, 0, '\\' };
	struct strbuf b = { NULL, 0, 0 };
	int directives = 1, escape_seen = 0, rc = 0, is_directive;
	const char *s;
	size_t n, start;

	r.pos = bom_length(buf, len);
	while (rc == 0 && next_line(buf, len, &r.pos, &s, &n)) {
		r.line++;
		if (directives) {
			is_directive = parse_directive(df, &r, s, n,
			    &escape_seen);
			if (is_directive < 0) {
				rc = -1;
				break;
			}
			if (is_directive)
				continue;
			directives = 0;
		}

		while (n > 0 && is_space((unsigned char)s[0])) {
			s++;
			n--;
		}
		if (n == 0 || s[0] == '#')
			continue;

		start = r.line;
		b.len = 0;
		if (trim_continuation(s, &n, r.escape)) {
			if (strbuf_append(&b, s, n) != 0 ||
			    read_continuation(&r, &b) != 0) {
				rc = -1;
				break;
			}
			s = b.s;
			n = b.len;
		}
		rc = parse_instruction(df, &r, start, s, n);
	}
	free(b.s);
	return rc < 0 ? -1 : 0;
}

void
import_dockerfile_free(struct import_dockerfile *df)
{
	size_t i;

	for (i = 0; i < df->nadds; i++) {
		free(df->adds[i].url);
		free(df->adds[i].dest);
		free(df->adds[i].digest);
	}
	for (i = 0; i < df->nskipped; i++)
		free(df->skipped[i].text);
	for (i = 0; i < df->nerrors; i++)
		free(df->errors[i].text);
	free(df->adds);
	free(df->skipped);
	free(df->errors);
	memset(df, 0, sizeof(*df));
}
