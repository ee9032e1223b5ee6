/* SPDX-License-Identifier: MIT */
/* Unit tests for the hashgated configuration: defaults, conf_load on
 * temporary INI files, conf_parse_size and conf_parse_addr. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_REPORTS	32

/* A temporary directory and the configuration file path inside it, shared
 * by all tests. */
struct fixture {
	char	dir[64];
	char	path[128];
	char	missing[128];
};

/* The messages that conf_load passed to its report callback. */
struct reports {
	int	 n;
	char	*msg[MAX_REPORTS];
};

static void
collect_report(void *arg, const char *message)
{
	struct reports *r = arg;

	if (r->n < MAX_REPORTS) {
		r->msg[r->n] = strdup(message);
		assert_non_null(r->msg[r->n]);
	}
	r->n++;
}

static void
reports_free(struct reports *r)
{
	int i;

	for (i = 0; i < r->n && i < MAX_REPORTS; i++)
		free(r->msg[i]);
	memset(r, 0, sizeof(*r));
}

static void
reports_print(const struct reports *r)
{
	int i;

	print_error("%d message(s) reported:\n", r->n);
	for (i = 0; i < r->n && i < MAX_REPORTS; i++)
		print_error("  %s\n", r->msg[i]);
}

static int
group_setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_conf.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/hashgated.conf", f->dir);
	snprintf(f->missing, sizeof(f->missing), "%s/missing.conf", f->dir);
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Writes text to the fixture's file. */
static void
write_conf(const struct fixture *f, const char *text)
{
	FILE *fp;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Loads text over the defaults into conf, collecting the messages in r.
 * Returns what conf_load returns, after checking that it equals the number
 * of messages. */
static int
load_text(const struct fixture *f, const char *text, struct conf *conf,
    struct reports *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	write_conf(f, text);
	assert_int_equal(conf_defaults(conf), 0);
	rc = conf_load(conf, f->path, collect_report, r);
	if (rc != r->n) {
		print_error("file:\n%s", text);
		reports_print(r);
	}
	assert_int_equal(rc, r->n);
	return rc;
}

/* Checks that msg starts with "PATH:LINE: ", followed by "KEY: " when key is
 * not NULL, and that a message follows. */
static void
check_prefix(const char *msg, const char *path, int line, const char *key)
{
	char prefix[256];
	size_t n;

	if (key != NULL)
		snprintf(prefix, sizeof(prefix), "%s:%d: %s: ", path, line, key);
	else
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	n = strlen(prefix);
	if (strncmp(msg, prefix, n) != 0)
		print_error("expected prefix: \"%s\"\nmessage: \"%s\"\n",
		    prefix, msg);
	assert_int_equal(strncmp(msg, prefix, n), 0);
	assert_true(msg[n] != '\0');
}

/* Checks that word occurs in msg. */
static void
check_mentions(const char *msg, const char *word)
{
	if (strstr(msg, word) == NULL)
		print_error("expected \"%s\" in message: \"%s\"\n", word, msg);
	assert_non_null(strstr(msg, word));
}

/* Checks that a is an address of the given family, host and port. */
static void
check_addr(const struct conf_addr *a, int family, const char *host, int port)
{
	char text[INET6_ADDRSTRLEN];

	assert_int_equal(a->ss.ss_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

		assert_int_equal(a->len, sizeof(*sin));
		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, text,
		    sizeof(text)));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&a->ss;

		assert_int_equal(a->len, sizeof(*sin6));
		assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, text,
		    sizeof(text)));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	}
	assert_string_equal(text, host);
}

static void
conf_defaults_values(void **state)
{
	struct conf conf;

	(void)state;
	assert_int_equal(conf_defaults(&conf), 0);
	check_addr(&conf.proxy_listen, AF_INET, "127.0.0.1", 3128);
	assert_string_equal(conf.proxy_listen.text, "127.0.0.1:3128");
	check_addr(&conf.admin_listen, AF_INET, "127.0.0.1", 3129);
	assert_string_equal(conf.admin_listen.text, "127.0.0.1:3129");
	assert_string_equal(conf.storage_database, "state/hashgate.db");
	assert_string_equal(conf.storage_cache_dir, "state/cache");
	assert_string_equal(conf.admin_token_file, "state/admin.token");
	assert_null(conf.upstream_ca_file);
	assert_true(conf.max_object_size >= 1);
	assert_int_equal(conf.upstream_allow_private, 0);
	assert_null(conf.upstream_allow_addresses);
	assert_null(conf.upstream_proxy);
	conf_free(&conf);
}

static void
conf_good_file_applied(void **state)
{
	static const char text[] =
	    "# hashgated test configuration\n"
	    "; a comment in the other style\n"
	    "\n"
	    "[proxy]\n"
	    "listen = 0.0.0.0:8128\n"
	    "threads = 16\n"
	    "connection_limit = 2000\n"
	    "per_ip_limit = 32\n"
	    "connection_timeout=120\n"
	    "\n"
	    "[admin]\n"
	    "listen = [::1]:9129\n"
	    "token_file = /etc/hashgate/admin.token\n"
	    "\n"
	    "[storage]\n"
	    "database = /var/lib/hashgate/pins.db\n"
	    "cache_dir =   /var/cache/hashgate  \n"
	    "\n"
	    "[upstream]\n"
	    "ca_file = /etc/ssl/certs/ca-certificates.crt\n"
	    "connect_timeout = 10\n"
	    "timeout = 7200\n"
	    "low_speed_limit = 4096\n"
	    "low_speed_time = 30\n"
	    "max_redirects = 3\n"
	    "max_fetches = 128\n"
	    "max_object_size = 2G\n";
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	if (load_text(f, text, &conf, &r) != 0)
		reports_print(&r);
	assert_int_equal(r.n, 0);

	check_addr(&conf.proxy_listen, AF_INET, "0.0.0.0", 8128);
	assert_string_equal(conf.proxy_listen.text, "0.0.0.0:8128");
	assert_int_equal(conf.proxy_threads, 16);
	assert_int_equal(conf.proxy_connection_limit, 2000);
	assert_int_equal(conf.proxy_per_ip_limit, 32);
	assert_int_equal(conf.proxy_connection_timeout, 120);

	check_addr(&conf.admin_listen, AF_INET6, "::1", 9129);
	assert_string_equal(conf.admin_listen.text, "[::1]:9129");
	assert_string_equal(conf.admin_token_file, "/etc/hashgate/admin.token");

	assert_string_equal(conf.storage_database, "/var/lib/hashgate/pins.db");
	assert_string_equal(conf.storage_cache_dir, "/var/cache/hashgate");

	assert_string_equal(conf.upstream_ca_file,
	    "/etc/ssl/certs/ca-certificates.crt");
	assert_int_equal(conf.upstream_connect_timeout, 10);
	assert_int_equal(conf.upstream_timeout, 7200);
	assert_int_equal(conf.upstream_low_speed_limit, 4096);
	assert_int_equal(conf.upstream_low_speed_time, 30);
	assert_int_equal(conf.upstream_max_redirects, 3);
	assert_int_equal(conf.upstream_max_fetches, 128);
	assert_int_equal(conf.max_object_size, 2ULL << 30);

	reports_free(&r);
	conf_free(&conf);
}

/* A file without keys leaves the defaults as they are. */
static void
conf_empty_file_defaults(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf, defaults;

	assert_int_equal(load_text(f, "# nothing\n\n[proxy]\n", &conf, &r), 0);
	assert_int_equal(conf_defaults(&defaults), 0);
	assert_memory_equal(&conf.proxy_listen, &defaults.proxy_listen,
	    sizeof(defaults.proxy_listen));
	assert_int_equal(conf.proxy_threads, defaults.proxy_threads);
	assert_int_equal(conf.upstream_timeout, defaults.upstream_timeout);
	assert_int_equal(conf.max_object_size, defaults.max_object_size);
	assert_string_equal(conf.storage_database, defaults.storage_database);
	reports_free(&r);
	conf_free(&conf);
	conf_free(&defaults);
}

/* A second file is read over the values of the first. */
static void
conf_load_over_values(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f,
	    "[proxy]\nthreads = 8\n[storage]\ndatabase = /a.db\n", &conf, &r), 0);
	reports_free(&r);

	write_conf(f, "[storage]\ndatabase = /b.db\n");
	assert_int_equal(conf_load(&conf, f->path, collect_report, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(conf.proxy_threads, 8);
	assert_string_equal(conf.storage_database, "/b.db");
	reports_free(&r);
	conf_free(&conf);
}

/* A section, a key and a value for one-key files. */
struct key_value {
	const char	*section;
	const char	*key;
	const char	*value;
};

static void
format_one_key(char *buf, size_t size, const struct key_value *kv)
{
	snprintf(buf, size, "[%s]\n%s = %s\n", kv->section, kv->key, kv->value);
}

/* Values at the ends of each allowed range. */
static void
conf_bounds_accepted(void **state)
{
	static const struct key_value rows[] = {
		{ "proxy", "threads", "1" },
		{ "proxy", "threads", "256" },
		{ "proxy", "connection_limit", "1" },
		{ "proxy", "connection_limit", "100000" },
		{ "proxy", "per_ip_limit", "0" },
		{ "proxy", "per_ip_limit", "100000" },
		{ "proxy", "connection_timeout", "1" },
		{ "proxy", "connection_timeout", "86400" },
		{ "upstream", "connect_timeout", "1" },
		{ "upstream", "connect_timeout", "3600" },
		{ "upstream", "timeout", "1" },
		{ "upstream", "timeout", "604800" },
		{ "upstream", "low_speed_limit", "0" },
		{ "upstream", "low_speed_limit", "1000000000" },
		{ "upstream", "low_speed_time", "1" },
		{ "upstream", "low_speed_time", "3600" },
		{ "upstream", "max_redirects", "0" },
		{ "upstream", "max_redirects", "20" },
		{ "upstream", "max_fetches", "1" },
		{ "upstream", "max_fetches", "4096" },
		{ "upstream", "max_object_size", "1" },
		{ "upstream", "max_object_size", "1T" },
		{ "proxy", "listen", "localhost:1" },
		{ "admin", "listen", "[::]:65535" },
		{ "admin", "token_file", "t" },
		{ "storage", "database", "d" },
		{ "storage", "cache_dir", "c" },
		{ "upstream", "ca_file", "ca.pem" },
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NROWS(rows); i++) {
		char text[256];
		struct reports r;
		struct conf conf;

		format_one_key(text, sizeof(text), &rows[i]);
		if (load_text(f, text, &conf, &r) != 0) {
			print_error("file:\n%s", text);
			reports_print(&r);
		}
		assert_int_equal(r.n, 0);
		reports_free(&r);
		conf_free(&conf);
	}
}

/* Each row is a file with one bad value on line 2, which must be reported
 * once as "FILE:2: KEY: message". */
static void
conf_bad_value_reported(void **state)
{
	static const struct key_value rows[] = {
		/* addresses */
		{ "proxy", "listen", "127.0.0.1" },
		{ "proxy", "listen", "127.0.0.1:" },
		{ "proxy", "listen", "127.0.0.1:0" },
		{ "proxy", "listen", "127.0.0.1:65536" },
		{ "proxy", "listen", "127.0.0.1:http" },
		{ "proxy", "listen", "example.com:80" },
		{ "proxy", "listen", "1.2.3:80" },
		{ "proxy", "listen", ":3128" },
		{ "admin", "listen", "[::1]" },
		{ "admin", "listen", "[::g]:3129" },
		{ "admin", "listen", "999.0.0.1:3129" },
		/* whole numbers */
		{ "proxy", "threads", "0" },
		{ "proxy", "threads", "257" },
		{ "proxy", "threads", "4x" },
		{ "proxy", "threads", "-1" },
		{ "proxy", "threads", "4.0" },
		{ "proxy", "threads", "0x10" },
		{ "proxy", "threads", "+4" },
		{ "proxy", "threads", "99999999999999999999" },
		{ "proxy", "threads", "" },
		{ "proxy", "connection_limit", "0" },
		{ "proxy", "connection_limit", "100001" },
		{ "proxy", "per_ip_limit", "100001" },
		{ "proxy", "per_ip_limit", "-1" },
		{ "proxy", "connection_timeout", "0" },
		{ "proxy", "connection_timeout", "86401" },
		{ "proxy", "connection_timeout", "60s" },
		{ "upstream", "connect_timeout", "0" },
		{ "upstream", "connect_timeout", "3601" },
		{ "upstream", "timeout", "0" },
		{ "upstream", "timeout", "604801" },
		{ "upstream", "low_speed_limit", "1000000001" },
		{ "upstream", "low_speed_limit", "4294967296" },
		{ "upstream", "low_speed_time", "0" },
		{ "upstream", "low_speed_time", "3601" },
		{ "upstream", "max_redirects", "21" },
		{ "upstream", "max_fetches", "0" },
		{ "upstream", "max_fetches", "4097" },
		/* sizes */
		{ "upstream", "max_object_size", "0" },
		{ "upstream", "max_object_size", "10X" },
		{ "upstream", "max_object_size", "1.5G" },
		{ "upstream", "max_object_size", "10 M" },
		{ "upstream", "max_object_size", "-1" },
		{ "upstream", "max_object_size", "" },
		{ "upstream", "max_object_size", "99999999999999999999" },
		/* paths */
		{ "admin", "token_file", "" },
		{ "storage", "database", "" },
		{ "storage", "cache_dir", "" },
		{ "upstream", "ca_file", "" },
		/* address policy and proxy */
		{ "upstream", "allow_private", "true" },
		{ "upstream", "allow_private", "" },
		{ "upstream", "allow_addresses", "127.0.0.1/33" },
		{ "upstream", "allow_addresses", "localhost" },
		{ "upstream", "proxy", "ftp://127.0.0.1:21" },
		{ "upstream", "proxy", "socks5://127.0.0.1:1080" },
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NROWS(rows); i++) {
		char text[256];
		struct reports r;
		struct conf conf;
		int rc;

		format_one_key(text, sizeof(text), &rows[i]);
		rc = load_text(f, text, &conf, &r);
		if (rc != 1) {
			print_error("file:\n%s", text);
			reports_print(&r);
		}
		assert_int_equal(rc, 1);
		if (strstr(r.msg[0], rows[i].key) == NULL)
			print_error("file:\n%s", text);
		check_prefix(r.msg[0], f->path, 2, rows[i].key);
		reports_free(&r);
		conf_free(&conf);
	}
}

static void
conf_unknown_key(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f,
	    "[proxy]\nthreads = 4\nthread = 4\n", &conf, &r), 1);
	check_prefix(r.msg[0], f->path, 3, "thread");
	reports_free(&r);
	conf_free(&conf);

	/* A key that exists in another section is unknown here. */
	assert_int_equal(load_text(f,
	    "[admin]\nthreads = 4\n", &conf, &r), 1);
	check_prefix(r.msg[0], f->path, 2, "threads");
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_unknown_section(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;
	int rc;

	rc = load_text(f, "[proxy]\nthreads = 4\n[proxi]\nthreads = 8\n",
	    &conf, &r);
	assert_true(rc >= 1);
	check_prefix(r.msg[0], f->path, 3, NULL);
	check_mentions(r.msg[0], "proxi");
	assert_int_equal(conf.proxy_threads, 4);
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_key_outside_section(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f,
	    "# comment\nthreads = 4\n[proxy]\n", &conf, &r), 1);
	check_prefix(r.msg[0], f->path, 2, "threads");
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_duplicate_key(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f,
	    "[proxy]\nthreads = 4\nthreads = 8\n", &conf, &r), 1);
	check_prefix(r.msg[0], f->path, 3, "threads");
	reports_free(&r);
	conf_free(&conf);

	/* Also when the section is opened a second time. */
	assert_int_equal(load_text(f,
	    "[storage]\ndatabase = /a\n[proxy]\nthreads = 4\n"
	    "[storage]\ndatabase = /b\n", &conf, &r), 1);
	check_prefix(r.msg[0], f->path, 6, "database");
	reports_free(&r);
	conf_free(&conf);

	/* The same key name in two sections is not a duplicate. */
	assert_int_equal(load_text(f,
	    "[proxy]\nlisten = 127.0.0.1:1\n[admin]\nlisten = 127.0.0.1:2\n",
	    &conf, &r), 0);
	reports_free(&r);
	conf_free(&conf);
}

/* Builds a malloc'ed string: head, then a line "KEY = xxx..." of len
 * characters and its newline, then tail. */
static char *
make_long_line(const char *head, const char *key, size_t len, const char *tail)
{
	size_t hlen = strlen(head), klen = strlen(key), tlen = strlen(tail);
	char *s;

	assert_true(len > klen + 3);
	s = malloc(hlen + len + 1 + tlen + 1);
	assert_non_null(s);
	memcpy(s, head, hlen);
	memcpy(s + hlen, key, klen);
	memcpy(s + hlen + klen, " = ", 3);
	memset(s + hlen + klen + 3, 'x', len - klen - 3);
	s[hlen + len] = '\n';
	memcpy(s + hlen + len + 1, tail, tlen + 1);
	return s;
}

static void
conf_line_too_long(void **state)
{
	static const size_t lengths[] = { 1001, 5000 };
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NROWS(lengths); i++) {
		struct reports r;
		struct conf conf;
		char *text;
		int rc;

		/* The lines after the long one are still read and counted. */
		text = make_long_line("[storage]\n", "database", lengths[i],
		    "cache_dir = /c\nthreads = 4\n");
		rc = load_text(f, text, &conf, &r);
		if (rc != 2)
			print_error("line of %zu characters\n", lengths[i]);
		assert_int_equal(rc, 2);
		check_prefix(r.msg[0], f->path, 2, NULL);
		check_mentions(r.msg[0], "database");
		check_prefix(r.msg[1], f->path, 4, "threads");
		assert_string_equal(conf.storage_cache_dir, "/c");
		assert_string_equal(conf.storage_database, "state/hashgate.db");
		reports_free(&r);
		conf_free(&conf);
		free(text);
	}
}

/* libinih, as Debian builds it, reads lines of up to 198 characters. */
static void
conf_line_limit_boundary(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;
	char *text;
	int rc;

	text = make_long_line("[storage]\n", "database", 198, "");
	rc = load_text(f, text, &conf, &r);
	if (rc != 0)
		reports_print(&r);
	assert_int_equal(rc, 0);
	assert_int_equal(strlen(conf.storage_database), 198 - strlen("database = "));
	reports_free(&r);
	conf_free(&conf);
	free(text);

	text = make_long_line("[storage]\n", "database", 199, "");
	rc = load_text(f, text, &conf, &r);
	assert_int_equal(rc, 1);
	check_prefix(r.msg[0], f->path, 2, NULL);
	check_mentions(r.msg[0], "database");
	check_mentions(r.msg[0], "198");
	reports_free(&r);
	conf_free(&conf);
	free(text);
}

/* Loads the first len bytes of data, which may hold NUL bytes, like
 * load_text. */
static int
load_bytes(const struct fixture *f, const char *data, size_t len,
    struct conf *conf, struct reports *r)
{
	FILE *fp;
	int rc;

	memset(r, 0, sizeof(*r));
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(conf_defaults(conf), 0);
	rc = conf_load(conf, f->path, collect_report, r);
	assert_int_equal(rc, r->n);
	return rc;
}

/* A NUL byte is an error on its line, and the lines after it still count. */
static void
conf_nul_byte_rejected(void **state)
{
	static const char data[] = "[proxy]\nthr\0eads = 9\n[upstream]\nmax_fetches = 0\n";
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_bytes(f, data, sizeof(data) - 1, &conf, &r), 2);
	check_prefix(r.msg[0], f->path, 2, NULL);
	check_mentions(r.msg[0], "NUL");
	check_mentions(r.msg[0], "\\x00");
	check_prefix(r.msg[1], f->path, 4, "max_fetches");
	assert_int_equal(conf.proxy_threads, 4);
	reports_free(&r);
	conf_free(&conf);
}

/* A byte order mark and CRLF line ends, as some editors write them. */
static void
conf_bom_and_crlf_accepted(void **state)
{
	static const char data[] = "\xef\xbb\xbf[proxy]\r\nthreads = 3\r\n";
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;
	char *text;
	size_t len;

	assert_int_equal(load_bytes(f, data, sizeof(data) - 1, &conf, &r), 0);
	assert_int_equal(conf.proxy_threads, 3);
	reports_free(&r);
	conf_free(&conf);

	/* The limit is the same with CRLF and without a final newline. */
	text = make_long_line("[storage]\r\n", "database", 198, "");
	len = strlen(text);
	text[len - 1] = '\r';
	assert_int_equal(load_bytes(f, text, len, &conf, &r), 0);
	conf_free(&conf);
	assert_int_equal(load_bytes(f, text, len - 1, &conf, &r), 0);
	conf_free(&conf);
	free(text);
	text = make_long_line("[storage]\n", "database", 199, "");
	assert_int_equal(load_bytes(f, text, strlen(text) - 1, &conf, &r), 1);
	reports_free(&r);
	conf_free(&conf);
	free(text);
}

/* Control characters in a bad line are escaped in the message. */
static void
conf_message_escapes_bytes(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f, "[proxy]\nthr\x1b[2Jeads\n", &conf, &r), 1);
	check_mentions(r.msg[0], "thr\\x1b[2Jeads");
	assert_null(strchr(r.msg[0], '\x1b'));
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_line_without_equals(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f,
	    "[proxy]\nthreads 4\n", &conf, &r), 1);
	check_prefix(r.msg[0], f->path, 2, NULL);
	check_mentions(r.msg[0], "threads");
	reports_free(&r);
	conf_free(&conf);
}

/* Every error in a file is reported, each once and on its own line. */
static void
conf_all_errors_reported(void **state)
{
	static const char text[] =
	    "threads = 4\n"			/* 1: outside any section */
	    "[proxy]\n"				/* 2 */
	    "threads\n"				/* 3: no '=' */
	    "threads = 0\n"			/* 4: out of range */
	    "listen = 127.0.0.1\n"		/* 5: no port */
	    "connection_limit = 10\n"		/* 6: good */
	    "connection_limit = 20\n"		/* 7: duplicate */
	    "bogus = 1\n"			/* 8: unknown key */
	    "[nosuch]\n"			/* 9: unknown section */
	    "[upstream]\n"			/* 10 */
	    "max_object_size = 10X\n"		/* 11: bad suffix */
	    "timeout = 5 minutes\n"		/* 12: junk after number */
	    "max_fetches = 8\n";		/* 13: good */
	static const struct {
		int		 line;
		const char	*key;		/* NULL: no KEY field */
		const char	*word;		/* must occur in the message */
	} expected[] = {
		{ 1, "threads", "threads" },
		{ 3, NULL, "threads" },
		{ 4, "threads", "threads" },
		{ 5, "listen", "listen" },
		{ 7, "connection_limit", "connection_limit" },
		{ 8, "bogus", "bogus" },
		{ 9, NULL, "nosuch" },
		{ 11, "max_object_size", "max_object_size" },
		{ 12, "timeout", "timeout" },
	};
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;
	size_t i;
	int rc;

	rc = load_text(f, text, &conf, &r);
	if (rc != (int)NROWS(expected))
		reports_print(&r);
	assert_int_equal(rc, NROWS(expected));
	for (i = 0; i < NROWS(expected); i++) {
		check_prefix(r.msg[i], f->path, expected[i].line,
		    expected[i].key);
		check_mentions(r.msg[i], expected[i].word);
	}
	assert_int_equal(conf.proxy_connection_limit, 10);
	assert_int_equal(conf.upstream_max_fetches, 8);
	reports_free(&r);
	conf_free(&conf);
}

/* A section header without its closing bracket and a later bad value are
 * both reported, each once. */
static void
conf_section_unclosed(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;
	int rc;

	rc = load_text(f, "[proxy\n[proxy]\nthreads = 0\n", &conf, &r);
	if (rc != 2)
		reports_print(&r);
	assert_int_equal(rc, 2);
	check_prefix(r.msg[0], f->path, 1, NULL);
	check_prefix(r.msg[1], f->path, 3, "threads");
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_missing_file(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;
	char prefix[256];
	int rc;

	memset(&r, 0, sizeof(r));
	assert_int_equal(conf_defaults(&conf), 0);
	rc = conf_load(&conf, f->missing, collect_report, &r);
	assert_int_equal(rc, 1);
	assert_int_equal(r.n, 1);
	snprintf(prefix, sizeof(prefix), "%s: ", f->missing);
	if (strncmp(r.msg[0], prefix, strlen(prefix)) != 0)
		print_error("message: \"%s\"\n", r.msg[0]);
	assert_int_equal(strncmp(r.msg[0], prefix, strlen(prefix)), 0);
	check_mentions(r.msg[0], strerror(ENOENT));
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_directory_file(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;
	char prefix[256];
	int rc;

	memset(&r, 0, sizeof(r));
	assert_int_equal(conf_defaults(&conf), 0);
	rc = conf_load(&conf, f->dir, collect_report, &r);
	if (rc != 1)
		reports_print(&r);
	assert_int_equal(rc, 1);
	assert_int_equal(r.n, 1);
	snprintf(prefix, sizeof(prefix), "%s: ", f->dir);
	if (strncmp(r.msg[0], prefix, strlen(prefix)) != 0)
		print_error("message: \"%s\"\n", r.msg[0]);
	assert_int_equal(strncmp(r.msg[0], prefix, strlen(prefix)), 0);
	check_mentions(r.msg[0], strerror(EISDIR));
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_size_good(void **state)
{
	static const struct {
		const char	*text;
		uint64_t	 bytes;
	} rows[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "512", 512 },
		{ "64K", 64ULL << 10 },
		{ "10M", 10ULL << 20 },
		{ "8G", 8ULL << 30 },
		{ "1T", 1ULL << 40 },
		{ "0K", 0 },
		{ "007", 7 },
		{ "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		uint64_t bytes = 12345;
		int rc;

		rc = conf_parse_size(rows[i].text, &bytes);
		if (rc != 0 || bytes != rows[i].bytes)
			print_error("input: \"%s\"\n", rows[i].text);
		assert_int_equal(rc, 0);
		assert_int_equal(bytes, rows[i].bytes);
	}
}

static void
conf_size_bad(void **state)
{
	static const char *const rows[] = {
		"",
		"K",
		"10X",
		"-1",
		"+1",
		"1.5G",
		"99999999999999999999",
		"18446744073709551616",
		"16777216T",
		"17179869184G",
		"10 M",
		" 10",
		"10 ",
		"10KB",
		"10K5",
		"0x10",
		"1e3",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		uint64_t bytes = 0;
		int rc;

		rc = conf_parse_size(rows[i], &bytes);
		if (rc != -1)
			print_error("input: \"%s\" parsed as %llu\n", rows[i],
			    (unsigned long long)bytes);
		assert_int_equal(rc, -1);
	}
}

static void
conf_addr_good(void **state)
{
	static const struct {
		const char	*text;
		int		 family;
		const char	*host;
		int		 port;
	} rows[] = {
		{ "127.0.0.1:3128", AF_INET, "127.0.0.1", 3128 },
		{ "0.0.0.0:1", AF_INET, "0.0.0.0", 1 },
		{ "255.255.255.255:65535", AF_INET, "255.255.255.255", 65535 },
		{ "[::1]:80", AF_INET6, "::1", 80 },
		{ "[::]:3128", AF_INET6, "::", 3128 },
		{ "[2001:DB8::1]:443", AF_INET6, "2001:db8::1", 443 },
		{ "[::ffff:127.0.0.1]:8080", AF_INET6, "::ffff:127.0.0.1", 8080 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		struct conf_addr addr;
		const char *err = NULL;
		int rc;

		rc = conf_parse_addr(rows[i].text, &addr, &err);
		if (rc != 0)
			print_error("input: \"%s\"\nerror: %s\n", rows[i].text,
			    err != NULL ? err : "(null)");
		assert_int_equal(rc, 0);
		check_addr(&addr, rows[i].family, rows[i].host, rows[i].port);
		assert_string_equal(addr.text, rows[i].text);
	}
}

/* "localhost" is a loopback address of either family. */
static void
conf_addr_localhost(void **state)
{
	struct conf_addr addr;
	const char *err = NULL;
	char text[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(conf_parse_addr("localhost:8080", &addr, &err), 0);
	assert_string_equal(addr.text, "localhost:8080");
	if (addr.ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr.ss;

		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, text,
		    sizeof(text)));
		assert_string_equal(text, "127.0.0.1");
		assert_int_equal(ntohs(sin->sin_port), 8080);
		assert_int_equal(addr.len, sizeof(*sin));
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&addr.ss;

		assert_int_equal(addr.ss.ss_family, AF_INET6);
		assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
		assert_int_equal(ntohs(sin6->sin6_port), 8080);
		assert_int_equal(addr.len, sizeof(*sin6));
	}
}

static void
conf_addr_bad(void **state)
{
	static const char *const rows[] = {
		"",
		"127.0.0.1",
		":80",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:99999999999999999999",
		"127.0.0.1:-1",
		"127.0.0.1:+80",
		"127.0.0.1: 80",
		"127.0.0.1:80x",
		"127.0.0.1:http",
		"[::1]80",
		"[::1]",
		"[::1]:",
		"[::1:80",
		"[]:80",
		"[127.0.0.1]:80",
		"[::g]:80",
		"::1:80",
		"example.com:80",
		"localhost",
		"1.2.3:80",
		"256.0.0.1:80",
		"1.2.3.4.5:80",
		" 127.0.0.1:80",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		struct conf_addr addr;
		const char *err = NULL;
		int rc;

		rc = conf_parse_addr(rows[i], &addr, &err);
		if (rc != -1 || err == NULL || err[0] == '\0')
			print_error("input: \"%s\"\n", rows[i]);
		assert_int_equal(rc, -1);
		assert_non_null(err);
		assert_true(err[0] != '\0');
	}
}

static void
conf_upstream_safety_keys(void **state)
{
	static const char text[] =
	    "[upstream]\n"
	    "allow_private = yes\n"
	    "allow_addresses = 127.0.0.1/32, ::1/128 10.0.0.0/8\n"
	    "proxy = http://127.0.0.1:3128\n";
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f, text, &conf, &r), 0);
	assert_int_equal(conf.upstream_allow_private, 1);
	assert_string_equal(conf.upstream_allow_addresses,
	    "127.0.0.1/32, ::1/128 10.0.0.0/8");
	assert_string_equal(conf.upstream_proxy, "http://127.0.0.1:3128");
	conf_free(&conf);

	assert_int_equal(load_text(f, "[upstream]\nproxy =\n", &conf, &r), 0);
	assert_null(conf.upstream_proxy);
	conf_free(&conf);
}

static void
conf_allow_addresses_names_value(void **state)
{
	struct fixture *f = *state;
	struct reports r;
	struct conf conf;

	assert_int_equal(load_text(f,
	    "[upstream]\nallow_addresses = 127.0.0.1/32 10.0.0.1/8\n",
	    &conf, &r), 1);
	check_prefix(r.msg[0], f->path, 2, "allow_addresses");
	assert_non_null(strstr(r.msg[0], "\"10.0.0.1/8\""));
	reports_free(&r);
	conf_free(&conf);
}

static void
conf_proxy_url_good(void **state)
{
	static const char *const rows[] = {
		"http://127.0.0.1:3128",
		"http://127.0.0.1:3128/",
		"HTTP://proxy.example:8080",
		"https://proxy.example",
		"socks5h://[::1]:1080",
		"http://user:secret@proxy.example:3128",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const char *err = NULL;

		if (conf_check_proxy_url(rows[i], &err) != 0)
			fail_msg("\"%s\": expected valid, got \"%s\"", rows[i], err);
	}
}

static void
conf_proxy_url_bad(void **state)
{
	static const char *const rows[] = {
		"127.0.0.1:3128",
		"ftp://127.0.0.1",
		"socks5://127.0.0.1:1080",
		"socks4://127.0.0.1:1080",
		"http://",
		"http://:3128",
		"http://127.0.0.1:",
		"http://127.0.0.1:0",
		"http://127.0.0.1:65536",
		"http://127.0.0.1:31x",
		"http://127.0.0.1/path",
		"http://[::1:3128",
		"http://[]:3128",
		"http://user@",
		"http://proxy example",
		"http://proxy\texample",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		const char *err = NULL;

		if (conf_check_proxy_url(rows[i], &err) == 0)
			fail_msg("\"%s\": expected invalid", rows[i]);
		assert_non_null(err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_defaults_values),
		cmocka_unit_test(conf_upstream_safety_keys),
		cmocka_unit_test(conf_allow_addresses_names_value),
		cmocka_unit_test(conf_proxy_url_good),
		cmocka_unit_test(conf_proxy_url_bad),
		cmocka_unit_test(conf_good_file_applied),
		cmocka_unit_test(conf_empty_file_defaults),
		cmocka_unit_test(conf_load_over_values),
		cmocka_unit_test(conf_bounds_accepted),
		cmocka_unit_test(conf_bad_value_reported),
		cmocka_unit_test(conf_unknown_key),
		cmocka_unit_test(conf_unknown_section),
		cmocka_unit_test(conf_key_outside_section),
		cmocka_unit_test(conf_duplicate_key),
		cmocka_unit_test(conf_line_too_long),
		cmocka_unit_test(conf_line_limit_boundary),
		cmocka_unit_test(conf_line_without_equals),
		cmocka_unit_test(conf_nul_byte_rejected),
		cmocka_unit_test(conf_bom_and_crlf_accepted),
		cmocka_unit_test(conf_message_escapes_bytes),
		cmocka_unit_test(conf_all_errors_reported),
		cmocka_unit_test(conf_section_unclosed),
		cmocka_unit_test(conf_missing_file),
		cmocka_unit_test(conf_directory_file),
		cmocka_unit_test(conf_size_good),
		cmocka_unit_test(conf_size_bad),
		cmocka_unit_test(conf_addr_good),
		cmocka_unit_test(conf_addr_localhost),
		cmocka_unit_test(conf_addr_bad),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
