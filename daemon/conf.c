/* SPDX-License-Identifier: MIT */
/* hashgated configuration: embedded defaults and an INI parser built on
 * inih, which reports every error as FILE:LINE: KEY: message. */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "netpolicy.h"

enum conf_type {
	T_ADDR, T_PATH, T_UINT, T_SIZE, T_PORTS, T_HOSTS, T_CHOICE, T_CIDRS,
	T_PROXY
};

struct conf_key {
	const char	*section;
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;
	unsigned long	 min, max;	/* T_UINT and T_SIZE bounds */
	const char *const *choices;	/* T_CHOICE words, NULL-terminated */
	int		 reloadable;	/* SIGHUP applies a new value */
};

static const char *const verify_choices[] = { "changed", "always", "never", NULL };
static const char *const log_target_choices[] = { "stderr", "syslog", NULL };
static const char *const policy_mode_choices[] = { "enforce", "learn", NULL };
static const char *const log_level_choices[] = { "error", "warning", "info", "debug", NULL };
static const char *const yes_no_choices[] = { "no", "yes", NULL };

#define F(field) offsetof(struct conf, field)

static const struct conf_key conf_keys[] = {
	{ "proxy", "listen", T_ADDR, F(proxy_listen), 0, 0, NULL, 0 },
	{ "proxy", "threads", T_UINT, F(proxy_threads), 1, 256, NULL, 0 },
	{ "proxy", "connection_limit", T_UINT, F(proxy_connection_limit), 1, 100000, NULL, 0 },
	{ "proxy", "per_ip_limit", T_UINT, F(proxy_per_ip_limit), 0, 100000, NULL, 0 },
	{ "proxy", "connection_timeout", T_UINT, F(proxy_connection_timeout), 1, 86400, NULL, 0 },
	{ "proxy", "connect_ports", T_PORTS, F(proxy_connect_ports), 0, 0, NULL, 1 },
	{ "proxy", "tunnel_hosts", T_HOSTS, F(proxy_tunnel_hosts), 0, 0, NULL, 1 },
	{ "admin", "listen", T_ADDR, F(admin_listen), 0, 0, NULL, 0 },
	{ "admin", "token_file", T_PATH, F(admin_token_file), 0, 0, NULL, 0 },
	{ "storage", "database", T_PATH, F(storage_database), 0, 0, NULL, 0 },
	{ "storage", "cache_dir", T_PATH, F(storage_cache_dir), 0, 0, NULL, 0 },
	{ "storage", "verify", T_CHOICE, F(storage_verify), 0, 0, verify_choices, 1 },
	{ "storage", "max_size", T_SIZE, F(storage_max_size), 0, 0, NULL, 1 },
	{ "tls", "ca_cert", T_PATH, F(tls_ca_cert), 0, 0, NULL, 0 },
	{ "tls", "ca_key", T_PATH, F(tls_ca_key), 0, 0, NULL, 0 },
	{ "tls", "max_certificates", T_UINT, F(tls_max_certificates), 16, 1000000, NULL, 0 },
	{ "policy", "mode", T_CHOICE, F(policy_mode), 0, 0, policy_mode_choices, 1 },
	{ "policy", "max_pending", T_UINT, F(policy_max_pending), 1, 1000000, NULL, 1 },
	{ "audit", "max_events", T_UINT, F(audit_max_events), 0, 1000000000, NULL, 0 },
	{ "audit", "max_days", T_UINT, F(audit_max_days), 0, 36500, NULL, 0 },
	{ "log", "target", T_CHOICE, F(log_target), 0, 0, log_target_choices, 1 },
	{ "log", "level", T_CHOICE, F(log_level), 0, 0, log_level_choices, 1 },
	{ "upstream", "ca_file", T_PATH, F(upstream_ca_file), 0, 0, NULL, 1 },
	{ "upstream", "connect_timeout", T_UINT, F(upstream_connect_timeout), 1, 3600, NULL, 1 },
	{ "upstream", "timeout", T_UINT, F(upstream_timeout), 1, 604800, NULL, 1 },
	{ "upstream", "low_speed_limit", T_UINT, F(upstream_low_speed_limit), 0, 1000000000, NULL, 1 },
	{ "upstream", "low_speed_time", T_UINT, F(upstream_low_speed_time), 1, 3600, NULL, 1 },
	{ "upstream", "max_redirects", T_UINT, F(upstream_max_redirects), 0, 20, NULL, 1 },
	{ "upstream", "max_fetches", T_UINT, F(upstream_max_fetches), 1, 4096, NULL, 1 },
	{ "upstream", "max_object_size", T_SIZE, F(max_object_size), 1, 0, NULL, 1 },
	{ "upstream", "allow_private", T_CHOICE, F(upstream_allow_private), 0, 0, yes_no_choices, 1 },
	{ "upstream", "allow_addresses", T_CIDRS, F(upstream_allow_addresses), 0, 0, NULL, 1 },
	{ "upstream", "proxy", T_PROXY, F(upstream_proxy), 0, 0, NULL, 1 },
};

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* Parser state shared by the line reader and the inih handler. */
struct conf_parse {
	struct conf	*conf;
	const char	*path;
	FILE		*fp;
	char		*buf;		/* getline's buffer */
	size_t		 bufsize;
	int		 line;		/* number of the line inih is parsing */
	int		 errors;
	unsigned char	 seen[NKEYS];
	conf_report_fn	 report;
	void		*arg;
};

static void
conf_error(struct conf_parse *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_parse *p, const char *key, const char *fmt, ...)
{
	char msg[512], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key != NULL)
		snprintf(full, sizeof(full), "%s:%d: %s: %s", p->path, p->line,
		    key, msg);
	else
		snprintf(full, sizeof(full), "%s:%d: %s", p->path, p->line, msg);
	p->report(p->arg, full);
	p->errors++;
}

int
conf_parse_size(const char *text, uint64_t *bytes)
{
	uint64_t value = 0, unit = 1;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t digit = (uint64_t)(*p - '0');

		if (value > (UINT64_MAX - digit) / 10)
			return -1;
		value = value * 10 + digit;
	}
	switch (*p) {
	case '\0':
		break;
	case 'K': case 'k':
		unit = 1ULL << 10;
		p++;
		break;
	case 'M': case 'm':
		unit = 1ULL << 20;
		p++;
		break;
	case 'G': case 'g':
		unit = 1ULL << 30;
		p++;
		break;
	case 'T': case 't':
		unit = 1ULL << 40;
		p++;
		break;
	default:
		return -1;
	}
	if (*p != '\0' || (value != 0 && value > UINT64_MAX / unit))
		return -1;
	*bytes = value * unit;
	return 0;
}

int
conf_parse_addr(const char *text, struct conf_addr *addr, const char **err)
{
	char host[64];
	const char *colon, *h = text;
	size_t hlen;
	char *end;
	unsigned long port;

	memset(addr, 0, sizeof(*addr));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':') {
			*err = "expected HOST:PORT, with an IPv6 host in brackets";
			return -1;
		}
		h = text + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || colon == text) {
			*err = "expected HOST:PORT";
			return -1;
		}
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*err = "expected HOST:PORT";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port == 0 || port > 65535) {
		*err = "port must be a number from 1 to 65535";
		return -1;
	}

	if (strcasecmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (h != text) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr->ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*err = "invalid IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		addr->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&addr->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*err = "host must be an IP address or localhost";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		addr->len = sizeof(*sin);
	}
	snprintf(addr->text, sizeof(addr->text), "%s", text);
	return 0;
}

/* Parses a list of ports split by spaces or commas into conf. */
static int
conf_set_ports(struct conf_parse *p, const char *name, const char *value)
{
	struct conf *conf = p->conf;
	const char *s = value;
	unsigned n = 0;

	for (;;) {
		char *end;
		unsigned long port;

		s += strspn(s, " ,");
		if (*s == '\0')
			break;
		errno = 0;
		port = strtoul(s, &end, 10);
		if (*s < '0' || *s > '9' || errno != 0 || port < 1 ||
		    port > 65535 || (*end != '\0' && *end != ' ' && *end != ',')) {
			conf_error(p, name, "invalid port in \"%s\", expected numbers from 1 to 65535",
			    value);
			return -1;
		}
		if (n == CONF_MAX_PORTS) {
			conf_error(p, name, "more than %d ports", CONF_MAX_PORTS);
			return -1;
		}
		conf->proxy_connect_ports[n++] = (int)port;
		s = end;
	}
	conf->proxy_nconnect_ports = n;
	return 0;
}

/* Checks a list of host names split by spaces or commas, and keeps it in
 * lower case. */
static int
conf_set_hosts(struct conf_parse *p, const char *name, const char *value,
    char **field)
{
	char *copy;
	size_t i;

	copy = strdup(value);
	if (copy == NULL) {
		conf_error(p, name, "out of memory");
		return -1;
	}
	for (i = 0; copy[i] != '\0'; i++) {
		unsigned char c = (unsigned char)copy[i];

		if (c >= 'A' && c <= 'Z')
			copy[i] = (char)(c + 32);
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == ':' || c == ' ' ||
		    c == ',')) {
			conf_error(p, name, "invalid character in host list \"%s\"",
			    value);
			free(copy);
			return -1;
		}
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Replaces the string in *field with a copy of value. */
static int
conf_set_string(struct conf_parse *p, const char *name, const char *value,
    char **field)
{
	char *copy = strdup(value);

	if (copy == NULL) {
		conf_error(p, name, "out of memory");
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Checks a list of CIDRs split by spaces or commas. The fetcher parses it
 * again from the text when it builds its settings. */
static int
conf_set_cidrs(struct conf_parse *p, const char *name, const char *value,
    char **field)
{
	struct netpolicy policy;
	const char *bad, *err;
	size_t badlen;

	if (netpolicy_init(&policy, 0, value, &bad, &badlen, &err) != 0) {
		conf_error(p, name, "invalid CIDR \"%.*s\" in \"%s\": %s",
		    (int)badlen, bad, value, err);
		return -1;
	}
	return conf_set_string(p, name, value, field);
}

/* Checks that text is SCHEME://[USER[:PASSWORD]@]HOST[:PORT][/] with a
 * scheme that libcurl accepts for a proxy here. Returns 0, or -1 with
 * *err set. */
int
conf_check_proxy_url(const char *text, const char **err)
{
	static const char *const schemes[] = { "http://", "https://",
	    "socks5h://", NULL };
	const char *s = NULL, *host, *end, *at;
	size_t i, hostlen;

	for (i = 0; schemes[i] != NULL; i++)
		if (strncasecmp(text, schemes[i], strlen(schemes[i])) == 0) {
			s = text + strlen(schemes[i]);
			break;
		}
	if (s == NULL) {
		*err = "expected a URL that starts with http://, https:// or socks5h://";
		return -1;
	}
	end = s + strcspn(s, "/");
	if (end[0] == '/' && end[1] != '\0') {
		*err = "a proxy URL has no path";
		return -1;
	}
	for (i = 0; s + i < end; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			*err = "a proxy URL has no spaces or control characters";
			return -1;
		}
	at = memrchr(s, '@', (size_t)(end - s));
	host = at != NULL ? at + 1 : s;
	if (host[0] == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (close == NULL || close == host + 1) {
			*err = "an IPv6 proxy host needs its closing \"]\"";
			return -1;
		}
		hostlen = (size_t)(close + 1 - host);
	} else
		hostlen = strcspn(host, ":/");
	if (hostlen == 0 || host + hostlen > end) {
		*err = "missing proxy host";
		return -1;
	}
	if (host + hostlen < end) {
		const char *port = host + hostlen;
		size_t digits;

		digits = strspn(port + 1, "0123456789");
		if (port[0] != ':' || digits == 0 || digits > 5 ||
		    port + 1 + digits != end || atoi(port + 1) < 1 ||
		    atoi(port + 1) > 65535) {
			*err = "port must be a number from 1 to 65535";
			return -1;
		}
	}
	return 0;
}

static int
conf_set(struct conf_parse *p, const struct conf_key *k, const char *value)
{
	void *field = (char *)p->conf + k->offset;
	const char *err;
	char *end;
	unsigned long n;
	uint64_t size;

	switch (k->type) {
	case T_ADDR:
		if (conf_parse_addr(value, field, &err) != 0) {
			conf_error(p, k->name, "invalid address \"%s\": %s", value, err);
			return -1;
		}
		break;
	case T_PATH:
		if (value[0] == '\0') {
			conf_error(p, k->name, "missing value, expected a path");
			return -1;
		} else {
			char *copy = strdup(value);

			if (copy == NULL) {
				conf_error(p, k->name, "out of memory");
				return -1;
			}
			free(*(char **)field);
			*(char **)field = copy;
		}
		break;
	case T_UINT:
		errno = 0;
		n = strtoul(value, &end, 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' ||
		    errno != 0 || n < k->min || n > k->max) {
			conf_error(p, k->name,
			    "invalid value \"%s\", expected a whole number from %lu to %lu",
			    value, k->min, k->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		break;
	case T_CHOICE:
		for (n = 0; k->choices[n] != NULL; n++)
			if (strcmp(value, k->choices[n]) == 0) {
				*(int *)field = (int)n;
				return 0;
			}
		{
			char expected[128] = "";

			for (n = 0; k->choices[n] != NULL; n++) {
				if (n > 0)
					strcat(expected, k->choices[n + 1] == NULL ?
					    " or " : ", ");
				strcat(expected, k->choices[n]);
			}
			conf_error(p, k->name, "invalid value \"%s\", expected %s",
			    value, expected);
		}
		return -1;
	case T_PORTS:
		return conf_set_ports(p, k->name, value);
	case T_HOSTS:
		return conf_set_hosts(p, k->name, value, field);
	case T_CIDRS:
		return conf_set_cidrs(p, k->name, value, field);
	case T_PROXY:
		if (value[0] == '\0') {
			/* An empty value is the default: no proxy. */
			free(*(char **)field);
			*(char **)field = NULL;
			return 0;
		}
		if (conf_check_proxy_url(value, &err) != 0) {
			conf_error(p, k->name, "invalid proxy \"%s\": %s", value, err);
			return -1;
		}
		return conf_set_string(p, k->name, value, field);
	case T_SIZE:
		if (conf_parse_size(value, &size) != 0 || size < k->min) {
			conf_error(p, k->name,
			    "invalid size \"%s\", expected a number of bytes with an optional K, M, G or T suffix",
			    value);
			return -1;
		}
		*(uint64_t *)field = size;
		break;
	}
	return 0;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse *p = user;
	size_t i;
	int known_section = 0;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(conf_keys[i].section, section) != 0)
			continue;
		known_section = 1;
		if (strcmp(conf_keys[i].name, name) != 0)
			continue;
		if (p->seen[i]) {
			conf_error(p, name, "duplicate key in section [%s]", section);
			return 1;
		}
		p->seen[i] = 1;
		conf_set(p, &conf_keys[i], value);
		return 1;
	}
	if (section[0] == '\0')
		conf_error(p, name, "key outside any section");
	else if (known_section)
		conf_error(p, name, "unknown key in section [%s]", section);
	/* Keys in an unknown section were reported with the section line. */
	return 1;
}

static int
conf_known_section(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strlen(conf_keys[i].section) == len &&
		    strncmp(conf_keys[i].section, name, len) == 0)
			return 1;
	return 0;
}

/* Copies at most 60 bytes of untrusted text of length len into out
 * (256 bytes) for an error message, writing other bytes than printable
 * ASCII as \xHH. */
static const char *
conf_snippet(const char *text, size_t len, char out[256])
{
	size_t i, n = 0;

	for (i = 0; i < len && i < 60; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
	}
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* Reads one line for inih, counting lines and catching the errors that
 * inih would only report for the first bad line: over-long lines, NUL
 * bytes, unknown sections and lines that are not KEY = VALUE. Leading
 * blanks are dropped so that inih never treats a line as the continuation
 * of a value, and a UTF-8 byte order mark on the first line is skipped. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	char snippet[256], *s;
	ssize_t got;
	size_t len;

	got = getline(&p->buf, &p->bufsize, p->fp);
	if (got < 0)
		return NULL;
	p->line++;
	s = p->buf;
	len = (size_t)got;
	if (p->line == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		len -= 3;
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	str[0] = '\0';

	if (memchr(s, '\0', len) != NULL) {
		conf_error(p, NULL, "line contains a NUL byte: \"%s\"",
		    conf_snippet(s, len, snippet));
		return str;
	}
	/* inih reads lines into a buffer of INI_MAX_LINE bytes, fixed when
	 * the library was built; a line must fit with its newline and NUL. */
	if (len > (size_t)num - 2) {
		conf_error(p, NULL, "%s: line is longer than %d characters",
		    conf_snippet(s, strcspn(s, " \t="), snippet), num - 2);
		return str;
	}

	if (len > 0 && s[0] == '[') {
		size_t n = strcspn(s + 1, "]");

		if (n + 1 >= len)
			conf_error(p, NULL, "section name is missing its closing \"]\"");
		else if (!conf_known_section(s + 1, n))
			conf_error(p, NULL, "unknown section [%s]",
			    conf_snippet(s + 1, n, snippet));
	} else if (len > 0 && s[0] != '#' && s[0] != ';' &&
	    memchr(s, '=', len) == NULL) {
		conf_error(p, NULL, "expected KEY = VALUE, found \"%s\"",
		    conf_snippet(s, len, snippet));
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

int
conf_defaults(struct conf *conf)
{
	const char *err;

	memset(conf, 0, sizeof(*conf));
	conf_parse_addr("127.0.0.1:3128", &conf->proxy_listen, &err);
	conf->proxy_threads = 4;
	conf->proxy_connection_limit = 1024;
	conf->proxy_per_ip_limit = 0;
	conf->proxy_connection_timeout = 60;
	conf_parse_addr("127.0.0.1:3129", &conf->admin_listen, &err);
	conf->admin_token_file = strdup("state/admin.token");
	conf->storage_database = strdup("state/hashgate.db");
	conf->storage_cache_dir = strdup("state/cache");
	conf->proxy_connect_ports[0] = 443;
	conf->proxy_nconnect_ports = 1;
	conf->proxy_tunnel_hosts = NULL;
	conf->tls_ca_cert = strdup("state/ca.crt");
	conf->tls_ca_key = strdup("state/ca.key");
	conf->tls_max_certificates = 1024;
	conf->policy_mode = 0;
	conf->policy_max_pending = 10000;
	conf->audit_max_events = 1000000;
	conf->audit_max_days = 365;
	conf->log_target = 0;
	conf->log_level = 2;
	conf->upstream_ca_file = NULL;
	conf->upstream_connect_timeout = 30;
	conf->upstream_timeout = 3600;
	conf->upstream_low_speed_limit = 1024;
	conf->upstream_low_speed_time = 60;
	conf->upstream_max_redirects = 5;
	conf->upstream_max_fetches = 64;
	conf->max_object_size = 8ULL << 30;
	if (conf->admin_token_file == NULL || conf->storage_database == NULL ||
	    conf->storage_cache_dir == NULL || conf->tls_ca_cert == NULL ||
	    conf->tls_ca_key == NULL)
		return -1;
	return 0;
}

int
conf_load(struct conf *conf, const char *path, conf_report_fn report,
    void *arg)
{
	struct conf_parse p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.path = path;
	p.report = report;
	p.arg = arg;

	p.fp = fopen(path, "r");
	if (p.fp == NULL) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s: cannot open: %s", path,
		    strerror(errno));
		report(arg, msg);
		return 1;
	}
	rc = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (ferror(p.fp)) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s: read error: %s", path,
		    strerror(errno));
		report(arg, msg);
		p.errors++;
	} else if (rc > 0 && p.errors == 0) {
		/* A syntax error that inih found and the reader did not. */
		p.line = rc;
		conf_error(&p, NULL, "syntax error");
	} else if (rc < 0) {
		report(arg, "out of memory while reading the configuration");
		p.errors++;
	}
	fclose(p.fp);
	free(p.buf);
	return p.errors;
}

void
conf_free(struct conf *conf)
{
	free(conf->admin_token_file);
	free(conf->storage_database);
	free(conf->storage_cache_dir);
	free(conf->upstream_ca_file);
	free(conf->proxy_tunnel_hosts);
	free(conf->upstream_allow_addresses);
	free(conf->upstream_proxy);
	free(conf->tls_ca_cert);
	free(conf->tls_ca_key);
	memset(conf, 0, sizeof(*conf));
}

/* Tells whether key k has the same value in a and b. */
static int
conf_key_equal(const struct conf_key *k, const struct conf *a,
    const struct conf *b)
{
	const void *fa = (const char *)a + k->offset;
	const void *fb = (const char *)b + k->offset;
	const char *sa, *sb;

	switch (k->type) {
	case T_ADDR:
		return strcmp(((const struct conf_addr *)fa)->text,
		    ((const struct conf_addr *)fb)->text) == 0;
	case T_PATH:
	case T_HOSTS:
	case T_CIDRS:
	case T_PROXY:
		sa = *(char *const *)fa;
		sb = *(char *const *)fb;
		if (sa == NULL || sb == NULL)
			return sa == sb;
		return strcmp(sa, sb) == 0;
	case T_UINT:
		return *(const unsigned *)fa == *(const unsigned *)fb;
	case T_CHOICE:
		return *(const int *)fa == *(const int *)fb;
	case T_SIZE:
		return *(const uint64_t *)fa == *(const uint64_t *)fb;
	case T_PORTS:
		return a->proxy_nconnect_ports == b->proxy_nconnect_ports &&
		    memcmp(a->proxy_connect_ports, b->proxy_connect_ports,
		    a->proxy_nconnect_ports * sizeof(a->proxy_connect_ports[0])) == 0;
	}
	return 0;
}

int
conf_compare(const struct conf *a, const struct conf *b,
    conf_change_fn change, void *arg)
{
	size_t i;
	int n = 0;

	for (i = 0; i < NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		char name[64];

		if (conf_key_equal(k, a, b))
			continue;
		snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
		change(arg, name, k->reloadable);
		n++;
	}
	return n;
}
