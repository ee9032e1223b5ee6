/* SPDX-License-Identifier: MIT */
/* Mismatch reports: checks for the usual reasons why upstream sent bytes
 * other than the pinned artifact, each stated as one sentence. */
#include "config.h"
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#define GUNZIP_IN_SIZE	(64 * 1024)
#define GUNZIP_OUT_SIZE	(256 * 1024)
/* Bytes read from the start of the body for the magic-number, HTML and
 * text checks, so a body shorter than REPORT_SHORT_TEXT is read whole. */
#define HEAD_SIZE	REPORT_SHORT_TEXT

/* Findings that explain a mismatch. The others only add detail. */
#define REPORT_CAUSES	(REPORT_GZIP | REPORT_OTHER_HOST | REPORT_TO_HTTP | \
	REPORT_HTML | REPORT_EMPTY | REPORT_SHORT | REPORT_EMPTY_DIGEST)

enum gunzip_result {
	GUNZIP_DONE,
	GUNZIP_INVALID,		/* corrupt, truncated or not gzip at all */
	GUNZIP_SIZE_LIMIT,
	GUNZIP_TIME_LIMIT,
	GUNZIP_ERROR,		/* out of memory, read or hash error */
};

/* Output text that ends in "..." once something did not fit. */
struct text {
	char	*buf;
	size_t	 len, size;
	int	 truncated;
};

static void
text_init(struct text *t, char *buf, size_t size)
{
	t->buf = buf;
	t->len = 0;
	t->size = size;
	t->truncated = 0;
	if (size > 0)
		buf[0] = '\0';
}

static void
text_vadd(struct text *t, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void
text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
text_sentence(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_vadd(struct text *t, const char *fmt, va_list ap)
{
	size_t room;
	int n;

	if (t->truncated || t->size == 0)
		return;
	room = t->size - t->len;
	n = vsnprintf(t->buf + t->len, room, fmt, ap);
	if (n >= 0 && (size_t)n < room) {
		t->len += (size_t)n;
		return;
	}
	t->truncated = 1;
	t->len = t->size - 1;
	if (t->size >= 4)
		memcpy(t->buf + t->size - 4, "...", 4);
	else
		t->buf[t->len] = '\0';
}

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vadd(t, fmt, ap);
	va_end(ap);
}

/* Adds a sentence, separated from the one before by a space. */
static void
text_sentence(struct text *t, const char *fmt, ...)
{
	va_list ap;

	if (t->len > 0)
		text_add(t, " ");
	va_start(ap, fmt);
	text_vadd(t, fmt, ap);
	va_end(ap);
}

/* Writes len bytes at data into out (outlen > 0 bytes), NUL-terminated, as
 * printable ASCII: backslash, double quote and bytes outside 0x20-0x7e are
 * escaped as C escapes them. Stops before an escape that does not fit.
 * Returns the number of bytes of data written. */
static size_t
escape_bytes(const void *data, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = data;
	size_t i, o = 0;
	char esc[5];

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			snprintf(esc, sizeof(esc), "\\%c", s[i]);
		else if (s[i] == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (s[i] == '\r')
			snprintf(esc, sizeof(esc), "\\r");
		else if (s[i] == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (s[i] < 0x20 || s[i] > 0x7e)
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		else
			snprintf(esc, sizeof(esc), "%c", s[i]);
		if (o + strlen(esc) >= outlen)
			break;
		memcpy(out + o, esc, strlen(esc));
		o += strlen(esc);
	}
	out[o] = '\0';
	return i;
}

/* Finds the host of the absolute URL url, without userinfo and port but
 * with the brackets of an IPv6 literal. Returns 0 and sets *host and
 * *len, or -1 when url has no "://" or an unclosed bracket. */
static int
url_host_span(const char *url, const char **host, size_t *len)
{
	const char *p, *end, *at, *close, *colon;

	p = strstr(url, "://");
	if (p == NULL)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (at = end; at > p; at--)
		if (at[-1] == '@') {
			p = at;
			break;
		}
	if (*p == '[') {
		close = memchr(p, ']', (size_t)(end - p));
		if (close == NULL)
			return -1;
		*len = (size_t)(close - p) + 1;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		*len = (size_t)((colon != NULL ? colon : end) - p);
	}
	*host = p;
	return 0;
}

/* Writes the host of url into out, escaped, or "?" when it has none. */
static void
url_host_text(const char *url, char *out, size_t outlen)
{
	const char *host;
	size_t len;

	if (url_host_span(url, &host, &len) != 0 || len == 0)
		snprintf(out, outlen, "?");
	else
		escape_bytes(host, len, out, outlen);
}

/* Writes url into out, escaped and without query, fragment and userinfo.
 * Returns 0, or -1 when it was truncated to fit. */
static int
url_clean(const char *url, char *out, size_t outlen)
{
	const char *auth, *end, *at;
	size_t cut = strcspn(url, "?#"), n, o;

	auth = strstr(url, "://");
	if (auth == NULL || (size_t)(auth - url) > cut) {
		/* Not an absolute URL: only the query and fragment go. */
		return escape_bytes(url, cut, out, outlen) == cut ? 0 : -1;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (at = end; at > auth; at--)
		if (at[-1] == '@')
			break;

	n = (size_t)(auth - url);
	if (escape_bytes(url, n, out, outlen) != n)
		return -1;
	o = strlen(out);
	if (at > auth)
		auth = at;
	n = cut - (size_t)(auth - url);
	return escape_bytes(auth, n, out + o, outlen - o) == n ? 0 : -1;
}

int
report_format_chain(const char *const *chain, size_t nchain, char *out,
    size_t outlen)
{
	struct text t;
	char url[1024];
	size_t i;
	int cut, any_cut = 0;

	text_init(&t, out, outlen);
	/* A URL too long for url is cut and marked, and the chain goes on. */
	for (i = 0; i < nchain; i++) {
		cut = url_clean(chain[i], url, sizeof(url)) != 0;
		text_add(&t, "%s%s%s", i > 0 ? " -> " : "", url, cut ? "..." : "");
		any_cut |= cut;
	}
	return t.truncated || any_cut ? -1 : 0;
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000);
}

/* Reads up to len bytes at offset, retrying after EINTR and short reads.
 * Returns the number read, less than len only at the end of the file, or
 * -1 with errno set. */
static ssize_t
read_at(int fd, void *buf, size_t len, off_t offset)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done,
		    offset + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Tells whether the gzip member that ended before the unread input of zs
 * is followed by another one, as in the output of `cat a.gz b.gz`. Other
 * trailing bytes are ignored, as gzip(1) ignores them. */
static int
gunzip_next_member(int fd, const z_stream *zs, off_t offset)
{
	unsigned char magic[2];

	if (zs->avail_in >= 2)
		return zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b;
	if (read_at(fd, magic, 2, offset - (off_t)zs->avail_in) != 2)
		return 0;
	return magic[0] == 0x1f && magic[1] == 0x8b;
}

/* Gunzips the whole file fd and hashes the output with alg into *out, at
 * most limits->max_inflated bytes (counted in *inflated) and for at most
 * limits->max_ms milliseconds. */
static enum gunzip_result
gunzip_digest(int fd, enum digest_alg alg, const struct report_limits *limits,
    struct digest *out, uint64_t *inflated)
{
	enum gunzip_result result = GUNZIP_ERROR;
	struct digest_hasher *hasher;
	unsigned char *in, *buf;
	struct timespec start;
	z_stream zs;
	off_t offset = 0;
	size_t produced;
	ssize_t n;
	int zrc, zinit = 0;

	*inflated = 0;
	memset(&zs, 0, sizeof(zs));
	clock_gettime(CLOCK_MONOTONIC, &start);
	in = malloc(GUNZIP_IN_SIZE);
	buf = malloc(GUNZIP_OUT_SIZE);
	hasher = digest_hasher_new(alg == DIGEST_SHA512);
	if (in == NULL || buf == NULL || hasher == NULL)
		goto out;
	/* 16 + MAX_WBITS: a gzip header and trailer, with the CRC-32 and
	 * length checked, and no raw deflate or zlib streams. */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		goto out;
	zinit = 1;

	for (;;) {
		if (zs.avail_in == 0) {
			n = read_at(fd, in, GUNZIP_IN_SIZE, offset);
			if (n < 0)
				goto out;
			if (n == 0) {
				/* The data ended inside a member. */
				result = GUNZIP_INVALID;
				goto out;
			}
			offset += n;
			zs.next_in = in;
			zs.avail_in = (uInt)n;
		}
		zs.next_out = buf;
		zs.avail_out = GUNZIP_OUT_SIZE;
		zrc = inflate(&zs, Z_NO_FLUSH);
		/* With room for output, Z_BUF_ERROR only means that inflate
		 * needs more input; anything else is invalid data. */
		if (zrc != Z_OK && zrc != Z_STREAM_END &&
		    !(zrc == Z_BUF_ERROR && zs.avail_in == 0)) {
			result = GUNZIP_INVALID;
			goto out;
		}

		produced = GUNZIP_OUT_SIZE - zs.avail_out;
		if (produced > limits->max_inflated - *inflated) {
			*inflated = limits->max_inflated;
			result = GUNZIP_SIZE_LIMIT;
			goto out;
		}
		if (digest_hasher_update(hasher, buf, produced) != 0)
			goto out;
		*inflated += produced;

		if (zrc == Z_STREAM_END) {
			if (!gunzip_next_member(fd, &zs, offset))
				break;
			if (inflateReset(&zs) != Z_OK)
				goto out;
		}
		if (elapsed_ms(&start) >= (long)limits->max_ms) {
			result = GUNZIP_TIME_LIMIT;
			goto out;
		}
	}

	memset(out, 0, sizeof(*out));
	if (digest_hasher_final(hasher, alg == DIGEST_SHA256 ? out : NULL,
	    alg == DIGEST_SHA512 ? out : NULL) == 0)
		result = GUNZIP_DONE;
	out->alg = alg;
out:
	if (zinit)
		inflateEnd(&zs);
	digest_hasher_free(hasher);
	free(buf);
	free(in);
	return result;
}

static int
digest_equal(const struct digest *a, const struct digest *b)
{
	return a->alg == b->alg &&
	    memcmp(a->raw, b->raw, digest_alg_len(a->alg)) == 0;
}

/* Checks a body that starts with the gzip magic bytes. */
static unsigned
check_gzip(struct text *t, int fd, const struct report_input *in,
    const struct report_limits *limits)
{
	char encoding[128], text[DIGEST_TEXT_MAX];
	struct digest gunzipped;
	uint64_t inflated;

	switch (gunzip_digest(fd, in->expected->alg, limits, &gunzipped,
	    &inflated)) {
	case GUNZIP_DONE:
		break;
	case GUNZIP_SIZE_LIMIT:
		text_sentence(t, "The body is gzip data, but gunzipping it stopped "
		    "at the limit of %llu bytes, so its uncompressed digest "
		    "is unknown.", (unsigned long long)limits->max_inflated);
		return REPORT_GZIP_LIMIT;
	case GUNZIP_TIME_LIMIT:
		text_sentence(t, "The body is gzip data, but gunzipping it stopped "
		    "at the time limit of %u ms after %llu bytes, so its "
		    "uncompressed digest is unknown.", limits->max_ms,
		    (unsigned long long)inflated);
		return REPORT_GZIP_LIMIT;
	default:
		return 0;
	}

	if (!digest_equal(&gunzipped, in->expected)) {
		if (digest_format(&gunzipped, text, sizeof(text)) != 0)
			return 0;
		text_sentence(t, "The body gunzips to %llu bytes with digest %s, "
		    "which does not match the pin either.",
		    (unsigned long long)inflated, text);
		return REPORT_GZIP_OTHER;
	}

	if (in->content_encoding != NULL && in->content_encoding[0] != '\0') {
		escape_bytes(in->content_encoding,
		    strlen(in->content_encoding), encoding, sizeof(encoding));
		text_sentence(t, "The body gunzips to the pinned digest, so "
		    "upstream sent the artifact gzip-compressed with "
		    "Content-Encoding: %s, and the pin is the digest of the "
		    "uncompressed file.", encoding);
	} else
		text_sentence(t, "The body gunzips to the pinned digest, so "
		    "upstream sent the artifact gzip-compressed, probably "
		    "through Content-Encoding or a transparent compression "
		    "layer, and the pin is the digest of the uncompressed "
		    "file.");
	return REPORT_GZIP;
}

/* Checks the redirect chain for a change of host and a step from https to
 * plain http. */
static unsigned
check_chain(struct text *t, const struct report_input *in)
{
	const char *first, *last, *a, *b;
	char from[256], to[256], url_from[512], url_to[512];
	size_t alen, blen, i, redirects;
	unsigned found = 0;

	if (in->nchain < 2)
		return 0;
	first = in->chain[0];
	last = in->chain[in->nchain - 1];
	redirects = in->nchain - 1;
	if (url_host_span(first, &a, &alen) == 0 &&
	    url_host_span(last, &b, &blen) == 0 &&
	    (alen != blen || strncasecmp(a, b, alen) != 0)) {
		url_host_text(first, from, sizeof(from));
		url_host_text(last, to, sizeof(to));
		text_sentence(t, "Upstream redirected the request from host %s to "
		    "host %s after %zu redirect%s, so the body came from %s.",
		    from, to, redirects, redirects == 1 ? "" : "s", to);
		found |= REPORT_OTHER_HOST;
	}

	for (i = 0; i + 1 < in->nchain; i++) {
		if (strncasecmp(in->chain[i], "https:", 6) != 0 ||
		    strncasecmp(in->chain[i + 1], "http:", 5) != 0)
			continue;
		url_clean(in->chain[i], url_from, sizeof(url_from));
		url_clean(in->chain[i + 1], url_to, sizeof(url_to));
		text_sentence(t, "A redirect went from https to plain http (%s -> "
		    "%s), so anyone on the network path could have replaced "
		    "the body.", url_from, url_to);
		found |= REPORT_TO_HTTP;
		break;
	}
	return found;
}

/* Tells whether the media type of a Content-Type value is HTML. */
static int
content_type_is_html(const char *type)
{
	size_t len;

	type += strspn(type, " \t");
	len = strcspn(type, "; \t");
	return (len == 9 && strncasecmp(type, "text/html", 9) == 0) ||
	    (len == 21 && strncasecmp(type, "application/xhtml+xml", 21) == 0);
}

/* Tells whether the len bytes at head start like an HTML document, after
 * whitespace and a UTF-8 byte order mark. */
static int
body_is_html(const unsigned char *head, size_t len)
{
	static const char doctype[] = "<!doctype html", tag[] = "<html";
	size_t i = 0;

	if (len >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && head[i] != '\0' && strchr(" \t\r\n\f", head[i]) != NULL)
		i++;
	head += i;
	len -= i;
	if (len >= sizeof(doctype) - 1 &&
	    strncasecmp((const char *)head, doctype, sizeof(doctype) - 1) == 0)
		return 1;
	/* "<html" alone or followed by ">", a space or "/", not "<htmlx". */
	return len >= sizeof(tag) - 1 &&
	    strncasecmp((const char *)head, tag, sizeof(tag) - 1) == 0 &&
	    (len == sizeof(tag) - 1 || (head[sizeof(tag) - 1] != '\0' &&
	    strchr("> \t\r\n\f/", head[sizeof(tag) - 1]) != NULL));
}

static int
mostly_printable(const unsigned char *data, size_t len)
{
	size_t i, printable = 0;

	for (i = 0; i < len; i++)
		if ((data[i] >= 0x20 && data[i] < 0x7f) || data[i] == '\t' ||
		    data[i] == '\n' || data[i] == '\r')
			printable++;
	/* At least nine bytes in ten: text with a few stray bytes, never
	 * random data, of which about 37 bytes in 100 are printable. */
	return printable * 10 >= len * 9;
}

/* Checks the Content-Type and the first bytes of the body for an HTML
 * page, an empty body and a short text. */
static unsigned
check_head(struct text *t, const unsigned char *head, size_t headlen,
    uint64_t size, const struct report_input *in)
{
	char type[128], quote[4 * REPORT_QUOTE_LEN + 1];
	unsigned found = 0;

	if (in->content_type != NULL && content_type_is_html(in->content_type)) {
		escape_bytes(in->content_type, strlen(in->content_type), type,
		    sizeof(type));
		text_sentence(t, "Upstream sent Content-Type %s, so the body is "
		    "probably an error or login page, not the artifact.", type);
		found |= REPORT_HTML;
	} else if (body_is_html(head, headlen)) {
		text_sentence(t, "The body starts like an HTML document, so it is "
		    "probably an error or login page, not the artifact.");
		found |= REPORT_HTML;
	}

	if (size == 0) {
		text_sentence(t, "The body is empty, so upstream probably answered "
		    "with an error that it sent with status 200.");
		found |= REPORT_EMPTY;
	} else if (size < REPORT_SHORT_TEXT && mostly_printable(head, headlen)) {
		escape_bytes(head, headlen < REPORT_QUOTE_LEN ? headlen :
		    REPORT_QUOTE_LEN, quote, sizeof(quote));
		text_sentence(t, "The body is %llu bytes of text, probably an "
		    "error message: \"%s\"%s.", (unsigned long long)size, quote,
		    headlen > REPORT_QUOTE_LEN ? "..." : "");
		found |= REPORT_SHORT;
	}
	return found;
}

unsigned
report_mismatch(int fd, const struct report_input *in,
    const struct report_limits *limits, char *out, size_t outlen)
{
	static const struct report_limits defaults = {
		REPORT_MAX_INFLATED, REPORT_MAX_MS
	};
	unsigned char head[HEAD_SIZE];
	struct text t;
	struct stat st;
	ssize_t headlen = -1;
	unsigned found = 0;

	if (limits == NULL)
		limits = &defaults;
	text_init(&t, out, outlen);

	if (fstat(fd, &st) != 0)
		headlen = -1;
	else if (!S_ISREG(st.st_mode))
		errno = EINVAL;
	else
		headlen = read_at(fd, head, sizeof(head), 0);
	if (headlen < 0) {
		text_sentence(&t, "The body could not be read for these checks: "
		    "%s.", strerror(errno));
		found |= REPORT_READ_ERROR;
	} else {
		if (headlen >= 2 && head[0] == 0x1f && head[1] == 0x8b)
			found |= check_gzip(&t, fd, in, limits);
	}

	found |= check_chain(&t, in);
	if (headlen >= 0)
		found |= check_head(&t, head, (size_t)headlen,
		    (uint64_t)st.st_size, in);

	if (in->observed != NULL && digest_is_empty_input(in->observed)) {
		text_sentence(&t, "The observed digest is that of empty input, so "
		    "upstream sent no content at all.");
		found |= REPORT_EMPTY_DIGEST;
	}

	if ((found & REPORT_CAUSES) == 0) {
		text_sentence(&t, "No known cause was found, so either upstream "
		    "changed or replaced the content, or the pin was wrong "
		    "from the start.");
		found |= REPORT_UNKNOWN;
	}

	return found;
}
