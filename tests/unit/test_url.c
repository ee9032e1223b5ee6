/* SPDX-License-Identifier: MIT */
/* Unit tests for url_normalise: tables of URLs with their normal form, and of
 * URLs that must be rejected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

/* An input and its expected normal form. */
struct url_good {
	const char	*in;
	const char	*out;
};

/* An input that url_normalise must reject. len 0 means strlen(in), so that
 * rows can carry an embedded NUL. */
struct url_bad {
	const char	*in;
	size_t		 len;
};

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* Prints len bytes of s with control and non-ASCII bytes as \xNN, so that the
 * failing row can be identified in the test output. */
static void
print_input(const char *label, const char *s, size_t len)
{
	char buf[4 * 300 + 1];
	size_t i, n = 0;

	for (i = 0; i < len && n + 5 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	print_error("%s: \"%s\"%s (%zu bytes)\n", label, buf,
	    i < len ? "..." : "", len);
}

/* Checks that every row normalises to its expected form, and that the normal
 * form is a fixed point of url_normalise. */
static void
check_good(const struct url_good *rows, size_t nrows)
{
	static char out[URL_MAX_LEN + 1], again[URL_MAX_LEN + 1];
	size_t i;

	for (i = 0; i < nrows; i++) {
		const char *err = NULL;
		int rc;

		rc = url_normalise(rows[i].in, strlen(rows[i].in), out,
		    sizeof(out), &err);
		if (rc != 0) {
			print_input("input", rows[i].in, strlen(rows[i].in));
			print_error("error: %s\n", err != NULL ? err : "(null)");
		}
		assert_int_equal(rc, 0);
		if (strcmp(out, rows[i].out) != 0)
			print_input("input", rows[i].in, strlen(rows[i].in));
		assert_string_equal(out, rows[i].out);

		rc = url_normalise(out, strlen(out), again, sizeof(again), &err);
		if (rc != 0 || strcmp(again, out) != 0)
			print_input("normal form not stable", out, strlen(out));
		assert_int_equal(rc, 0);
		assert_string_equal(again, out);
	}
}

/* Checks that every row is rejected with a non-empty message. */
static void
check_bad(const struct url_bad *rows, size_t nrows)
{
	static char out[URL_MAX_LEN + 1];
	size_t i;

	for (i = 0; i < nrows; i++) {
		size_t len = rows[i].len != 0 ? rows[i].len : strlen(rows[i].in);
		const char *err = NULL;
		int rc;

		rc = url_normalise(rows[i].in, len, out, sizeof(out), &err);
		if (rc != -1) {
			print_input("input", rows[i].in, len);
			print_error("accepted as: \"%s\"\n", out);
		}
		assert_int_equal(rc, -1);
		if (err == NULL || err[0] == '\0')
			print_input("input", rows[i].in, len);
		assert_non_null(err);
		assert_true(err[0] != '\0');
	}
}

/* Builds a malloc'ed URL of len bytes, "http://a/" followed by fill. */
static char *
make_url(size_t len, char fill)
{
	char *s;

	s = malloc(len + 1);
	assert_non_null(s);
	assert_true(len >= 9);
	memcpy(s, "http://a/", 9);
	memset(s + 9, fill, len - 9);
	s[len] = '\0';
	return s;
}

static void
url_scheme_host_case(void **state)
{
	static const struct url_good rows[] = {
		{ "HTTP://EXAMPLE.COM/", "http://example.com/" },
		{ "HtTpS://Example.Com/Path/File", "https://example.com/Path/File" },
		{ "http://Example.COM/A?B=C", "http://example.com/A?B=C" },
		{ "http://a-b_c.example.org/", "http://a-b_c.example.org/" },
		{ "http://127.0.0.1/", "http://127.0.0.1/" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_default_port_removed(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a:80/", "http://a/" },
		{ "https://a:443/", "https://a/" },
		{ "http://a:80", "http://a/" },
		{ "HTTP://A:80/x", "http://a/x" },
		{ "http://a:80?q", "http://a/?q" },
		{ "http://[::1]:80/", "http://[::1]/" },
		{ "https://[::1]:443/", "https://[::1]/" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_other_port_kept(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a:443/", "http://a:443/" },
		{ "https://a:80/", "https://a:80/" },
		{ "http://a:8080/", "http://a:8080/" },
		{ "http://a:1/", "http://a:1/" },
		{ "http://a:65535/", "http://a:65535/" },
		{ "http://a:8080", "http://a:8080/" },
		{ "http://[::1]:8080/", "http://[::1]:8080/" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_port_empty_or_zeros(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a:/", "http://a/" },
		{ "http://a:", "http://a/" },
		{ "https://a:/x", "https://a/x" },
		{ "http://[::1]:/", "http://[::1]/" },
		{ "http://a:080/", "http://a/" },
		{ "http://a:0080/", "http://a/" },
		{ "https://a:0443/", "https://a/" },
		{ "http://a:08080/", "http://a:8080/" },
		{ "http://a:00065535/", "http://a:65535/" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_unreserved_decoded(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a/%41", "http://a/A" },
		{ "http://a/%7E", "http://a/~" },
		{ "http://a/%7e", "http://a/~" },
		{ "http://a/%2d", "http://a/-" },
		{ "http://a/%5F", "http://a/_" },
		{ "http://a/%30%39", "http://a/09" },
		{ "http://a/%61%7A", "http://a/az" },
		{ "http://a/x%2Ey", "http://a/x.y" },
		{ "http://a/%7Euser/", "http://a/~user/" },
		{ "http://a/p?%41=%7e", "http://a/p?A=~" },
		{ "http://a/%41%42%43", "http://a/ABC" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_escape_uppercased(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a/%2f", "http://a/%2F" },
		{ "http://a/%2F", "http://a/%2F" },
		{ "http://a/%3a", "http://a/%3A" },
		{ "http://a/%c3%a9", "http://a/%C3%A9" },
		{ "http://a/%20", "http://a/%20" },
		{ "http://a/%25", "http://a/%25" },
		{ "http://a/%2541", "http://a/%2541" },
		{ "http://a/%00", "http://a/%00" },
		{ "http://a/%3f", "http://a/%3F" },
		{ "http://a/p?a=%2f&b=%3d", "http://a/p?a=%2F&b=%3D" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_outside_bytes_escaped(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a/x y", "http://a/x%20y" },
		{ "http://a/\"", "http://a/%22" },
		{ "http://a/<>", "http://a/%3C%3E" },
		{ "http://a/\\", "http://a/%5C" },
		{ "http://a/^", "http://a/%5E" },
		{ "http://a/`", "http://a/%60" },
		{ "http://a/{|}", "http://a/%7B%7C%7D" },
		{ "http://a/\xc3\xa9", "http://a/%C3%A9" },
		{ "http://a/\x80\xff", "http://a/%80%FF" },
		{ "http://a/p?q=a b", "http://a/p?q=a%20b" },
		{ "http://a/p?q={\"x\"}", "http://a/p?q=%7B%22x%22%7D" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_reserved_kept(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a/:@!$&'()*+,;=", "http://a/:@!$&'()*+,;=" },
		{ "http://a/p?a=1&b=2;c=/d?e", "http://a/p?a=1&b=2;c=/d?e" },
		{ "http://a/x//y/", "http://a/x//y/" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_empty_path_slash(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a", "http://a/" },
		{ "https://a", "https://a/" },
		{ "http://a?q", "http://a/?q" },
		{ "http://a#f", "http://a/" },
		{ "http://a:8080", "http://a:8080/" },
		{ "http://[::1]", "http://[::1]/" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_fragment_dropped(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a/b#frag", "http://a/b" },
		{ "http://a/b#", "http://a/b" },
		{ "http://a/b?q#f", "http://a/b?q" },
		{ "http://a/b#f?g", "http://a/b" },
		{ "http://a/b#f/../g", "http://a/b" },
		{ "http://a/#", "http://a/" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_query_kept(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a/b?", "http://a/b?" },
		{ "http://a?", "http://a/?" },
		{ "http://a/?Q=AbC", "http://a/?Q=AbC" },
		{ "http://a/b?x=1&y=2", "http://a/b?x=1&y=2" },
		{ "http://a/b?x?y", "http://a/b?x?y" },
		{ "http://a/b?../x/./y", "http://a/b?../x/./y" },
		{ "http://a/b?%2e%2e", "http://a/b?.." },
		{ "http://a/b??", "http://a/b??" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_ipv6_canonical(void **state)
{
	static const struct url_good rows[] = {
		{ "http://[0:0:0:0:0:0:0:1]/", "http://[::1]/" },
		{ "http://[2001:DB8::1]/", "http://[2001:db8::1]/" },
		{ "http://[2001:0db8:0000:0000:0000:0000:0000:0001]/",
		  "http://[2001:db8::1]/" },
		{ "http://[::FFFF:192.0.2.1]/", "http://[::ffff:192.0.2.1]/" },
		{ "http://[2001:db8:0:0:1:0:0:1]/", "http://[2001:db8::1:0:0:1]/" },
		{ "http://[2001:db8:0:1:1:1:1:1]/", "http://[2001:db8:0:1:1:1:1:1]/" },
		{ "http://[::]/", "http://[::]/" },
		{ "https://[FE80::A]:8443/x", "https://[fe80::a]:8443/x" },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

static void
url_dot_in_name_kept(void **state)
{
	static const struct url_good rows[] = {
		{ "http://a/.a", "http://a/.a" },
		{ "http://a/a.", "http://a/a." },
		{ "http://a/...", "http://a/..." },
		{ "http://a/%2e%2e%2e", "http://a/..." },
		{ "http://a/x/.b/", "http://a/x/.b/" },
		{ "http://a/..a/b..", "http://a/..a/b.." },
	};

	(void)state;
	check_good(rows, NROWS(rows));
}

/* url_normalise reads only the first len bytes, so a longer string is cut. */
static void
url_len_respected(void **state)
{
	char out[64];
	const char *err = NULL;
	int rc;

	(void)state;
	rc = url_normalise("http://a/bc", 10, out, sizeof(out), &err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "http://a/b");

	rc = url_normalise("http://a:8080", 8, out, sizeof(out), &err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "http://a/");
}

static void
url_scheme_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "ftp://a/", 0 },
		{ "file:///etc/passwd", 0 },
		{ "gopher://a/", 0 },
		{ "httpx://a/", 0 },
		{ "//a/", 0 },
		{ "a/b", 0 },
		{ "a", 0 },
		{ "", 0 },
		{ "http:/a", 0 },
		{ "http:a", 0 },
		{ "https:/a", 0 },
		{ "http:", 0 },
		{ " http://a/", 0 },
		{ "mailto:user@a", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_userinfo_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://u@a/", 0 },
		{ "http://u:p@a/", 0 },
		{ "http://@a/", 0 },
		{ "https://u:p@a:443/", 0 },
		{ "http://u@[::1]/", 0 },
		{ "http://a@", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_host_empty_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://", 0 },
		{ "https://", 0 },
		{ "http:///", 0 },
		{ "http:///a", 0 },
		{ "http://:80/", 0 },
		{ "http://:/", 0 },
		{ "http://?q", 0 },
		{ "http://#f", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_host_invalid_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://exa mple.com/", 0 },
		{ "http://ex%41mple.com/", 0 },
		{ "http://a!b/", 0 },
		{ "http://a*b/", 0 },
		{ "http://a,b/", 0 },
		{ "http://a\"b/", 0 },
		{ "http://\xc3\xa9.example/", 0 },
		{ "http://a\tb/", 0 },
		{ "http://a]/", 0 },
		{ "http://a[::1]/", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_host_length_limit(void **state)
{
	char url[300], out[300];
	const char *err = NULL;
	int rc;

	(void)state;

	/* 253 characters is the longest host name that DNS can carry. */
	memcpy(url, "http://", 7);
	memset(url + 7, 'h', 253);
	strcpy(url + 7 + 253, "/");
	rc = url_normalise(url, strlen(url), out, sizeof(out), &err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, url);

	memset(url + 7, 'h', 254);
	strcpy(url + 7 + 254, "/");
	err = NULL;
	rc = url_normalise(url, strlen(url), out, sizeof(out), &err);
	assert_int_equal(rc, -1);
	assert_non_null(err);
	assert_true(err[0] != '\0');
}

static void
url_ipv6_invalid_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://[::1/", 0 },
		{ "http://[::1", 0 },
		{ "http://[]/", 0 },
		{ "http://[/", 0 },
		{ "http://[::g]/", 0 },
		{ "http://[::1]x/", 0 },
		{ "http://[::1]]/", 0 },
		{ "http://[::1]80/", 0 },
		{ "http://[1:2:3:4:5:6:7:8:9]/", 0 },
		{ "http://[1:2:3]/", 0 },
		{ "http://[1::2::3]/", 0 },
		{ "http://[fe80::1%25eth0]/", 0 },
		{ "http://[127.0.0.1]/", 0 },
		{ "http://[ ::1]/", 0 },
		{ "http://::1/", 0 },
		{ "http://[0000:0000:0000:0000:0000:0000:0000:0000:0]/", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_port_invalid_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://a:0/", 0 },
		{ "http://a:00/", 0 },
		{ "http://a:65536/", 0 },
		{ "http://a:99999/", 0 },
		{ "http://a:4294967377/", 0 },
		{ "http://a:8o/", 0 },
		{ "http://a:-1/", 0 },
		{ "http://a:+80/", 0 },
		{ "http://a: 80/", 0 },
		{ "http://a:80 /", 0 },
		{ "http://a:80:80/", 0 },
		{ "http://a:0x50/", 0 },
		{ "http://a:http/", 0 },
		{ "http://[::1]:0/", 0 },
		{ "http://[::1]:65536/", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_dot_segment_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://a/.", 0 },
		{ "http://a/..", 0 },
		{ "http://a/./b", 0 },
		{ "http://a/b/../c", 0 },
		{ "http://a/b/..", 0 },
		{ "http://a/b/.?q", 0 },
		{ "http://a/..#f", 0 },
		{ "http://a/%2e", 0 },
		{ "http://a/%2E", 0 },
		{ "http://a/%2e%2E", 0 },
		{ "http://a/.%2e/b", 0 },
		{ "http://a/b/%2E%2e/c", 0 },
		{ "http://a/%2e%2e?x", 0 },
		{ "http://a//../b", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_control_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://a/x\x01y", 0 },
		{ "http://a/x\ty", 0 },
		{ "http://a/x\ny", 0 },
		{ "http://a/x\ry", 0 },
		{ "http://a/\x1f", 0 },
		{ "http://a/\x7f", 0 },
		{ "http://a/p?q=\x01", 0 },
		{ "http://a/p?q=\r\nX-Injected: 1", 0 },
		{ "http://a\n/", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_nul_rejected(void **state)
{
	static const char in_path[] = "http://a/b\0c";
	static const char in_query[] = "http://a/b?q=\0";
	static const char in_host[] = "http://a\0b/";
	static const char at_end[] = "http://a/\0";
	const struct url_bad rows[] = {
		{ in_path, sizeof(in_path) - 1 },
		{ in_query, sizeof(in_query) - 1 },
		{ in_host, sizeof(in_host) - 1 },
		{ at_end, sizeof(at_end) - 1 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_escape_invalid_rejected(void **state)
{
	static const struct url_bad rows[] = {
		{ "http://a/%", 0 },
		{ "http://a/%4", 0 },
		{ "http://a/%zz", 0 },
		{ "http://a/%4g", 0 },
		{ "http://a/%g4", 0 },
		{ "http://a/x%", 0 },
		{ "http://a/x%4", 0 },
		{ "http://a/%%41", 0 },
		{ "http://a/% 41", 0 },
		{ "http://a/x%?q", 0 },
		{ "http://a/x%4?q", 0 },
		{ "http://a/x%#f", 0 },
		{ "http://a/p?%", 0 },
		{ "http://a/p?%4", 0 },
		{ "http://a/p?q=%zz", 0 },
		{ "http://a/p?q=%", 0 },
		{ "http://a/p?q=%4#f", 0 },
	};

	(void)state;
	check_bad(rows, NROWS(rows));
}

static void
url_max_len_accepted(void **state)
{
	static char out[URL_MAX_LEN + 1];
	const char *err = NULL;
	char *url;
	int rc;

	(void)state;
	url = make_url(URL_MAX_LEN, 'x');
	rc = url_normalise(url, URL_MAX_LEN, out, sizeof(out), &err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, url);
	free(url);
}

static void
url_too_long_rejected(void **state)
{
	static char out[2 * URL_MAX_LEN];
	const char *err = NULL;
	char *url;
	int rc;

	(void)state;
	url = make_url(URL_MAX_LEN + 1, 'x');
	rc = url_normalise(url, URL_MAX_LEN + 1, out, sizeof(out), &err);
	assert_int_equal(rc, -1);
	assert_non_null(err);
	assert_true(err[0] != '\0');
	free(url);

	url = make_url(4 * URL_MAX_LEN, 'x');
	err = NULL;
	rc = url_normalise(url, 4 * URL_MAX_LEN, out, sizeof(out), &err);
	assert_int_equal(rc, -1);
	assert_non_null(err);
	assert_true(err[0] != '\0');
	free(url);
}

/* An input within the limit whose escaped form is not. */
static void
url_too_long_escaped_rejected(void **state)
{
	static char out[4 * URL_MAX_LEN];
	const char *err = NULL;
	char *url;
	int rc;

	(void)state;
	url = make_url(URL_MAX_LEN, ' ');
	rc = url_normalise(url, URL_MAX_LEN, out, sizeof(out), &err);
	assert_int_equal(rc, -1);
	assert_non_null(err);
	assert_true(err[0] != '\0');
	free(url);
}

static void
url_outbuf_too_small(void **state)
{
	static const char *const urls[] = {
		"http://example.com/path?q",
		"HTTP://EXAMPLE.COM:80/%7Efile",
		"http://a/x y",
		"http://[0:0:0:0:0:0:0:1]/",
		"http://a",
	};
	char out[64];
	size_t i, need, size;

	(void)state;
	for (i = 0; i < NROWS(urls); i++) {
		const char *err = NULL;
		int rc;

		rc = url_normalise(urls[i], strlen(urls[i]), out, sizeof(out),
		    &err);
		assert_int_equal(rc, 0);
		need = strlen(out) + 1;

		/* Every size short of the NUL must fail, down to zero. */
		for (size = need - 1; size + 1 > 0; size--) {
			err = NULL;
			rc = url_normalise(urls[i], strlen(urls[i]), out, size,
			    &err);
			if (rc != -1 || err == NULL || err[0] == '\0')
				print_error("input: %s, outsize %zu\n",
				    urls[i], size);
			assert_int_equal(rc, -1);
			assert_non_null(err);
			assert_true(err[0] != '\0');
		}

		rc = url_normalise(urls[i], strlen(urls[i]), out, need, &err);
		if (rc != 0)
			print_error("input: %s, outsize %zu\n", urls[i], need);
		assert_int_equal(rc, 0);
		assert_int_equal(strlen(out) + 1, need);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_scheme_host_case),
		cmocka_unit_test(url_default_port_removed),
		cmocka_unit_test(url_other_port_kept),
		cmocka_unit_test(url_port_empty_or_zeros),
		cmocka_unit_test(url_unreserved_decoded),
		cmocka_unit_test(url_escape_uppercased),
		cmocka_unit_test(url_outside_bytes_escaped),
		cmocka_unit_test(url_reserved_kept),
		cmocka_unit_test(url_empty_path_slash),
		cmocka_unit_test(url_fragment_dropped),
		cmocka_unit_test(url_query_kept),
		cmocka_unit_test(url_ipv6_canonical),
		cmocka_unit_test(url_dot_in_name_kept),
		cmocka_unit_test(url_len_respected),
		cmocka_unit_test(url_scheme_rejected),
		cmocka_unit_test(url_userinfo_rejected),
		cmocka_unit_test(url_host_empty_rejected),
		cmocka_unit_test(url_host_invalid_rejected),
		cmocka_unit_test(url_host_length_limit),
		cmocka_unit_test(url_ipv6_invalid_rejected),
		cmocka_unit_test(url_port_invalid_rejected),
		cmocka_unit_test(url_dot_segment_rejected),
		cmocka_unit_test(url_control_rejected),
		cmocka_unit_test(url_nul_rejected),
		cmocka_unit_test(url_escape_invalid_rejected),
		cmocka_unit_test(url_max_len_accepted),
		cmocka_unit_test(url_too_long_rejected),
		cmocka_unit_test(url_too_long_escaped_rejected),
		cmocka_unit_test(url_outbuf_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
