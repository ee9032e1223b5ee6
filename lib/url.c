/* SPDX-License-Identifier: MIT */
/* URL normalisation after RFC 3986 sections 6.2.2 and 6.2.3. */
#include "url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX_LEN 253

/* Output buffer with a fixed capacity. Writes past it set a flag that the
 * caller checks once at the end. */
struct outbuf {
	char	*buf;
	size_t	 size;
	size_t	 len;
	int	 overflow;
};

static void
out_char(struct outbuf *o, char c)
{
	if (o->len + 1 >= o->size) {
		o->overflow = 1;
		return;
	}
	o->buf[o->len++] = c;
	o->buf[o->len] = '\0';
}

static void
out_mem(struct outbuf *o, const char *s, size_t n)
{
	while (n-- > 0)
		out_char(o, *s++);
}

static void
out_escape(struct outbuf *o, unsigned char c)
{
	out_char(o, '%');
	out_char(o, "0123456789ABCDEF"[c >> 4]);
	out_char(o, "0123456789ABCDEF"[c & 0xf]);
}

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

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
is_unreserved(int c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Bytes that RFC 3986 does not allow anywhere in a URI, apart from controls. */
static int
needs_escape(int c)
{
	return c >= 0x80 || strchr(" \"<>\\^`{|}", c) != NULL;
}

/* Copies a path or query, of length n, normalising its percent-encoding. */
static int
copy_component(struct outbuf *o, const char *s, size_t n, const char **err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			*err = "URL contains a control character";
			return -1;
		}
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n) {
				*err = "URL contains an incomplete percent-escape";
				return -1;
			}
			hi = hex_value((unsigned char)s[i + 1]);
			lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				*err = "URL contains an invalid percent-escape";
				return -1;
			}
			c = (unsigned char)(hi << 4 | lo);
			if (is_unreserved(c))
				out_char(o, (char)c);
			else
				out_escape(o, c);
			i += 2;
			continue;
		}
		if (needs_escape(c))
			out_escape(o, c);
		else
			out_char(o, (char)c);
	}
	return 0;
}

/* Rejects "." and ".." segments in a normalised path, which end at '?' or NUL. */
static int
check_segments(const char *path, const char **err)
{
	const char *seg = path + 1;

	for (;;) {
		size_t n = strcspn(seg, "/?");

		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			*err = "URL path contains a \".\" or \"..\" segment";
			return -1;
		}
		if (seg[n] != '/')
			return 0;
		seg += n + 1;
	}
}

static int
copy_host(struct outbuf *o, const char *h, size_t n, const char **err)
{
	size_t i;

	if (n == 0) {
		*err = "URL has an empty host";
		return -1;
	}
	if (h[0] == '[') {
		char lit[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN];
		struct in6_addr a6;

		if (n < 3 || h[n - 1] != ']' || n - 2 > INET6_ADDRSTRLEN) {
			*err = "URL has an invalid IPv6 literal";
			return -1;
		}
		memcpy(lit, h + 1, n - 2);
		lit[n - 2] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) != 1 ||
		    inet_ntop(AF_INET6, &a6, canon, sizeof(canon)) == NULL) {
			*err = "URL has an invalid IPv6 literal";
			return -1;
		}
		out_char(o, '[');
		out_mem(o, canon, strlen(canon));
		out_char(o, ']');
		return 0;
	}
	if (n > HOST_MAX_LEN) {
		*err = "URL host is longer than 253 characters";
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!is_alnum(c) && c != '-' && c != '.' && c != '_') {
			*err = "URL host contains a character not allowed in a host name";
			return -1;
		}
		out_char(o, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c));
	}
	return 0;
}

/* Parses an optional decimal port of n digits. Returns the port, 0 when
 * n is 0, or -1. */
static int
parse_port(const char *p, size_t n)
{
	int port = 0;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		port = port * 10 + (p[i] - '0');
		if (port > 65535)
			return -1;
	}
	return port == 0 ? -1 : port;
}

int
url_normalise(const char *src, size_t len, char *out, size_t outsize,
    const char **err)
{
	struct outbuf o = { out, outsize, 0, 0 };
	const char *p = src, *end = src + len, *auth, *host_end, *rest;
	size_t host_len;
	int https, port, default_port;

	if (outsize > 0)
		out[0] = '\0';
	if (len > URL_MAX_LEN) {
		*err = "URL is longer than 8192 bytes";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c == 0x7f) {
			*err = c == 0 ? "URL contains a NUL byte" :
			    "URL contains a control character";
			return -1;
		}
	}

	if (len >= 7 && strncasecmp(p, "http://", 7) == 0) {
		https = 0;
		p += 7;
	} else if (len >= 8 && strncasecmp(p, "https://", 8) == 0) {
		https = 1;
		p += 8;
	} else {
		*err = "URL scheme is not http or https";
		return -1;
	}
	default_port = https ? 443 : 80;

	/* The authority ends at the first '/', '?' or '#'. */
	auth = p;
	while (p < end && *p != '/' && *p != '?' && *p != '#')
		p++;
	rest = p;
	if (memchr(auth, '@', (size_t)(rest - auth)) != NULL) {
		*err = "URL contains userinfo (user:password@), which is not allowed";
		return -1;
	}

	/* The port follows the last ':' after any IPv6 literal's closing ']'. */
	host_end = rest;
	if (auth < rest && auth[0] == '[') {
		const char *close = memchr(auth, ']', (size_t)(rest - auth));

		if (close == NULL) {
			*err = "URL has an invalid IPv6 literal";
			return -1;
		}
		host_end = close + 1;
		if (host_end < rest && *host_end != ':') {
			*err = "URL has an invalid IPv6 literal";
			return -1;
		}
	} else {
		const char *colon = memchr(auth, ':', (size_t)(rest - auth));

		if (colon != NULL)
			host_end = colon;
	}
	host_len = (size_t)(host_end - auth);
	port = 0;
	if (host_end < rest) {
		port = parse_port(host_end + 1, (size_t)(rest - host_end - 1));
		if (port < 0) {
			*err = "URL has an invalid port";
			return -1;
		}
	}

	out_mem(&o, https ? "https://" : "http://", https ? 8 : 7);
	if (copy_host(&o, auth, host_len, err) != 0)
		return -1;
	if (port != 0 && port != default_port) {
		char num[8];
		int n = snprintf(num, sizeof(num), ":%d", port);

		out_mem(&o, num, (size_t)n);
	}

	/* Path, then query; the fragment is dropped. */
	{
		const char *hash = memchr(rest, '#', (size_t)(end - rest));
		const char *stop = hash != NULL ? hash : end;
		const char *query = memchr(rest, '?', (size_t)(stop - rest));
		const char *path_end = query != NULL ? query : stop;
		size_t path_start = o.len;

		if (path_end == rest)
			out_char(&o, '/');
		else if (copy_component(&o, rest, (size_t)(path_end - rest), err) != 0)
			return -1;
		if (query != NULL &&
		    copy_component(&o, query, (size_t)(stop - query), err) != 0)
			return -1;
		if (o.overflow) {
			*err = outsize > URL_MAX_LEN ?
			    "URL is longer than 8192 bytes after normalisation" :
			    "normalised URL does not fit the output buffer";
			return -1;
		}
		if (check_segments(out + path_start, err) != 0)
			return -1;
	}
	if (o.len > URL_MAX_LEN) {
		*err = "URL is longer than 8192 bytes after normalisation";
		return -1;
	}
	return 0;
}
