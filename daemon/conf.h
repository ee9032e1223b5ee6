/* SPDX-License-Identifier: MIT */
/* hashgated configuration: embedded defaults and the INI file parser. */
#ifndef HASHGATE_CONF_H
#define HASHGATE_CONF_H

#include <stdint.h>
#include <sys/socket.h>

/* A listen address given as HOST:PORT, with HOST an IPv4 literal, a
 * bracketed IPv6 literal or "localhost". */
struct conf_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[64];	/* as written, for logs */
};

/* Maximum number of ports in proxy.connect_ports. */
#define CONF_MAX_PORTS 32

struct conf {
	struct conf_addr proxy_listen;
	unsigned	 proxy_threads;		/* libmicrohttpd thread pool */
	unsigned	 proxy_connection_limit;
	unsigned	 proxy_per_ip_limit;	/* 0: no limit */
	unsigned	 proxy_connection_timeout; /* seconds idle */
	int		 proxy_connect_ports[CONF_MAX_PORTS];	/* CONNECT allowed */
	unsigned	 proxy_nconnect_ports;
	char		*proxy_tunnel_hosts;	/* NULL, or host names split by spaces */

	struct conf_addr admin_listen;
	char		*admin_token_file;

	char		*storage_database;
	char		*storage_cache_dir;
	int		 storage_verify;	/* 0 changed, 1 always, 2 never */
	uint64_t	 storage_max_size;	/* bytes of objects; 0: no limit */

	char		*tls_ca_cert;		/* CA for intercepted tunnels */
	char		*tls_ca_key;
	unsigned	 tls_max_certificates;	/* minted leaves kept in memory */

	char		*upstream_ca_file;	/* NULL: system CAs only */
	unsigned	 upstream_connect_timeout;	/* seconds */
	unsigned	 upstream_timeout;		/* seconds, whole transfer */
	unsigned	 upstream_low_speed_limit;	/* bytes per second */
	unsigned	 upstream_low_speed_time;	/* seconds below the limit */
	unsigned	 upstream_max_redirects;
	unsigned	 upstream_max_fetches;	/* concurrent upstream fetches */
	uint64_t	 max_object_size;	/* bytes */
	int		 upstream_allow_private;	/* 0 no, 1 yes */
	char		*upstream_allow_addresses;	/* NULL, or CIDRs */
	char		*upstream_proxy;	/* NULL: connect directly */

	int		 policy_mode;		/* 0 enforce, 1 learn */
	unsigned	 policy_max_pending;	/* URLs in the review queue */

	unsigned	 audit_max_events;	/* events kept, 0: no limit */
	unsigned	 audit_max_days;	/* days kept, 0: no limit */

	int		 log_target;	/* 0 stderr, 1 syslog */
	int		 log_level;	/* 0 error, 1 warning, 2 info, 3 debug */
};

/* Receives one error message, "FILE:LINE: KEY: message" or
 * "FILE: message", with no trailing newline. */
typedef void (*conf_report_fn)(void *arg, const char *message);

/* Fills conf with the embedded defaults. Returns 0, or -1 on allocation
 * failure. Release with conf_free. */
int conf_defaults(struct conf *conf);

/* Reads the INI file at path over the values already in conf, reporting
 * every error through report rather than stopping at the first.
 * Returns the number of errors; conf is only safe to use when it is 0, and
 * must be released with conf_free in every case. */
int conf_load(struct conf *conf, const char *path, conf_report_fn report,
    void *arg);

/* Receives the name of a key, as "section.key", whose value differs,
 * and whether SIGHUP can apply the new value. */
typedef void (*conf_change_fn)(void *arg, const char *key, int reloadable);

/* Calls change for every key whose value differs between a and b, in the
 * order of the configuration reference. Returns the number of such keys. */
int conf_compare(const struct conf *a, const struct conf *b,
    conf_change_fn change, void *arg);

/* Releases the strings that conf owns. conf itself is not freed. */
void conf_free(struct conf *conf);

/* Parses a size such as "512", "64K", "10M" or "8G" (powers of 1024) into
 * *bytes. Returns 0, or -1 if text is not a size. */
int conf_parse_size(const char *text, uint64_t *bytes);

/* Checks that text is a proxy URL that upstream.proxy accepts: http://,
 * https:// or socks5h://, then a host and an optional port. Returns 0, or
 * -1 with *err pointing at a static reason. */
int conf_check_proxy_url(const char *text, const char **err);

/* Parses HOST:PORT into addr. Returns 0, or -1 with *err set. */
int conf_parse_addr(const char *text, struct conf_addr *addr, const char **err);

#endif
