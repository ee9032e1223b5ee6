/* SPDX-License-Identifier: MIT */
/* The proxy listener's front door: one thread with an epoll loop that
 * accepts connections, reads the first request line, passes plain HTTP to
 * libmicrohttpd, and runs every CONNECT tunnel (TLS handshake and relay)
 * without a thread of its own. */
#include "front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "url.h"

#define HEAD_MAX	8192		/* bytes of CONNECT request headers */
#define RELAY_BUF	(16 * 1024)	/* bytes buffered per direction */
#define DRAIN_SECONDS	2		/* wait for a client to read an error */
#define HOST_MAX	253

enum peer_state {
	PEER_HEAD,		/* reading the request line and headers */
	PEER_CONNECTING,	/* connecting upstream for a plain tunnel */
	PEER_HANDSHAKE,		/* TLS handshake with the client */
	PEER_RELAY,		/* moving bytes both ways */
	PEER_DRAIN,		/* error sent; discarding input until EOF */
	PEER_CLOSED,		/* freed at the end of the event batch */
};

struct peer;

/* One socket in the epoll set; data.ptr points here. */
struct endpoint {
	struct peer	*peer;		/* NULL for the listener and the wake fd */
	int		 fd;
	uint32_t	 events;	/* interest registered with epoll */
};

struct buffer {
	size_t	 off, len;
	char	 data[RELAY_BUF];
};

/* A client connection until it is handed to libmicrohttpd, or a tunnel
 * for its whole life. */
struct peer {
	struct peer		*prev, *next;
	struct front		*front;
	uint64_t		 id;
	enum peer_state		 state;
	struct endpoint		 client;
	struct endpoint		 other;	/* socket pair end, or upstream */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 client_text[64];
	struct timespec		 started;
	time_t			 deadline;	/* 0: none */

	char			 host[HOST_MAX + 1];	/* CONNECT host */
	int			 port;
	SSL			*ssl;		/* NULL for a plain tunnel */
	int			 tls_checked;	/* first byte looked at */
	int			 alert;		/* alert sent by the client, or -1 */
	int			 refused;	/* a callback logged error */

	struct buffer		*to_other, *to_client;
	int			 client_eof, other_eof;
	int			 other_shut;	/* client's EOF passed on */
	int			 other_closed;	/* the other side stopped reading */
	int			 other_hup;	/* epoll reported a hang-up */
	int			 read_wants_write, write_wants_read;
	uint64_t		 bytes_up, bytes_down;
};

struct origin_entry {
	struct origin_entry	*next;
	int			 fd;
	struct front_origin	*origin;
};

/* The CONNECT settings that SIGHUP can change. Only the front door's
 * thread reads them; front_reload leaves a new copy in pending. */
struct front_policy {
	int			 ports[CONF_MAX_PORTS];	/* proxy.connect_ports */
	unsigned		 nports;
	char			*tunnel_hosts;	/* NULL, or names split by spaces */
	unsigned		 connect_timeout;	/* seconds, passthrough */
};

struct front {
	const struct conf	*conf;		/* settings fixed at start */
	struct front_policy	*policy;
	pthread_mutex_t		 pending_lock;
	struct front_policy	*pending;	/* from front_reload, or NULL */
	struct ca		*ca;
	struct MHD_Daemon	*mhd;
	SSL_CTX			*tls;
	int			 epfd;
	struct endpoint		 listener;
	struct endpoint		 wake;
	pthread_t		 thread;
	struct peer		*peers;
	unsigned		 npeers;	/* in peers, closed ones included */
	uint64_t		 next_id;
	volatile int		 quiesce, stop;
	int			 running;	/* the thread was started */
	time_t			 accept_paused;	/* when accept last failed, or 0 */

	pthread_mutex_t		 origins_lock;
	struct origin_entry	*origins;
};

static int peer_ssl_index = -1;

static time_t
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
set_interest(struct front *front, struct endpoint *ep, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ep };

	if (ep->fd < 0 || ep->events == events)
		return;
	if (epoll_ctl(front->epfd, ep->events == 0 && events != 0 ?
	    EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD,
	    ep->fd, &ev) != 0)
		log_errno("front: epoll_ctl on fd %d failed", ep->fd);
	ep->events = events;
}

static void
close_endpoint(struct front *front, struct endpoint *ep)
{
	if (ep->fd < 0)
		return;
	set_interest(front, ep, 0);
	close(ep->fd);
	ep->fd = -1;
}

static long
elapsed_ms(const struct peer *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((now.tv_sec - p->started.tv_sec) * 1000 +
	    (now.tv_nsec - p->started.tv_nsec) / 1000000);
}

/* Ends a tunnel or a connection that was not handed over, logging a
 * finished tunnel. The memory is freed after the event batch. */
static void
peer_close(struct peer *p)
{
	struct front *front = p->front;

	if (p->state == PEER_CLOSED)
		return;
	/* Clients that check the certificate after the handshake, as GnuTLS
	 * does, close without an alert when they do not trust it. */
	if (p->state == PEER_RELAY && p->ssl != NULL && p->bytes_up == 0)
		log_warning("connect id=%llu client=%s target=%s:%d event=client-closed-without-request error=\"the client closed the tunnel after the TLS handshake without sending a request; it may not trust the certificate minted for %s (hashgatectl ca)\"",
		    (unsigned long long)p->id, p->client_text, p->host, p->port,
		    p->host);
	if (p->state == PEER_RELAY)
		log_info("tunnel id=%llu client=%s host=%s port=%d mode=%s bytes_up=%llu bytes_down=%llu duration_ms=%ld",
		    (unsigned long long)p->id, p->client_text, p->host, p->port,
		    p->ssl ? "intercept" : "passthrough",
		    (unsigned long long)p->bytes_up,
		    (unsigned long long)p->bytes_down, elapsed_ms(p));
	if (p->ssl != NULL && p->state == PEER_RELAY)
		SSL_shutdown(p->ssl);
	close_endpoint(front, &p->client);
	close_endpoint(front, &p->other);
	p->state = PEER_CLOSED;
}

static void
peer_free(struct peer *p)
{
	struct front *front = p->front;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		front->peers = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	front->npeers--;
	SSL_free(p->ssl);
	free(p->to_other);
	free(p->to_client);
	free(p);
}

/* Sends a short plain-text HTTP error to a client that has not started
 * TLS, then waits briefly for it to read the response and hang up. */
static void
peer_reject(struct peer *p, int status, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
peer_reject(struct peer *p, int status, const char *reason, const char *fmt, ...)
{
	char body[1024], head[256], logged[1100];
	va_list ap;
	int blen, hlen;

	va_start(ap, fmt);
	blen = vsnprintf(body, sizeof(body) - 1, fmt, ap);
	va_end(ap);
	if (blen < 0)
		blen = 0;
	if ((size_t)blen > sizeof(body) - 2)
		blen = (int)sizeof(body) - 2;
	log_warning("connect id=%llu client=%s target=%s:%d status=%d error=\"%s\"",
	    (unsigned long long)p->id, p->client_text,
	    p->host[0] ? p->host : "-", p->port, status,
	    log_escape_quoted(body, logged, sizeof(logged)));
	body[blen++] = '\n';
	hlen = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n",
	    status, reason, blen);
	(void)!send(p->client.fd, head, (size_t)hlen, MSG_NOSIGNAL);
	(void)!send(p->client.fd, body, (size_t)blen, MSG_NOSIGNAL);
	shutdown(p->client.fd, SHUT_WR);
	p->state = PEER_DRAIN;
	p->deadline = now_seconds() + DRAIN_SECONDS;
	set_interest(p->front, &p->client, EPOLLIN);
}

static void
policy_free(struct front_policy *policy)
{
	if (policy == NULL)
		return;
	free(policy->tunnel_hosts);
	free(policy);
}

/* Copies the CONNECT settings out of conf. Returns NULL after logging. */
static struct front_policy *
policy_create(const struct conf *conf)
{
	struct front_policy *policy;

	policy = calloc(1, sizeof(*policy));
	if (policy == NULL ||
	    (conf->proxy_tunnel_hosts != NULL &&
	    (policy->tunnel_hosts = strdup(conf->proxy_tunnel_hosts)) == NULL)) {
		log_error("front: out of memory");
		policy_free(policy);
		return NULL;
	}
	memcpy(policy->ports, conf->proxy_connect_ports, sizeof(policy->ports));
	policy->nports = conf->proxy_nconnect_ports;
	policy->connect_timeout = conf->upstream_connect_timeout;
	return policy;
}

/* Takes up the policy that front_reload left, if any. Called only by
 * the front door's thread, so nothing else uses the old policy. */
static void
policy_update(struct front *front)
{
	struct front_policy *next;

	pthread_mutex_lock(&front->pending_lock);
	next = front->pending;
	front->pending = NULL;
	pthread_mutex_unlock(&front->pending_lock);
	if (next != NULL) {
		policy_free(front->policy);
		front->policy = next;
	}
}

static int
port_allowed(const struct front_policy *policy, int port)
{
	unsigned i;

	for (i = 0; i < policy->nports; i++)
		if (policy->ports[i] == port)
			return 1;
	return 0;
}

/* Tells whether host is in the configured list of hosts tunnelled
 * without interception. */
static int
host_passthrough(const struct front_policy *policy, const char *host)
{
	const char *list = policy->tunnel_hosts, *p;
	size_t len = strlen(host);

	if (list == NULL)
		return 0;
	for (p = list; *p != '\0'; ) {
		size_t n;

		p += strspn(p, " ,");
		n = strcspn(p, " ,");
		if (n == len && strncasecmp(p, host, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* Parses "CONNECT authority HTTP/1.x" into p->host and p->port. Returns 0,
 * or the status to reject with and *error. */
static int
parse_connect(struct peer *p, char *line, const char **error)
{
	char *target, *version, *colon, *end;
	size_t hlen, i;
	long port;

	target = line + strlen("CONNECT ");
	version = strchr(target, ' ');
	if (version == NULL || (strcmp(version + 1, "HTTP/1.1") != 0 &&
	    strcmp(version + 1, "HTTP/1.0") != 0)) {
		*error = "malformed CONNECT request line, expected CONNECT HOST:PORT HTTP/1.1";
		return 400;
	}
	*version = '\0';

	if (target[0] == '[') {
		struct in6_addr a6;
		char *close = strchr(target, ']');

		if (close == NULL || close[1] != ':') {
			*error = "CONNECT target has no port, expected [IPV6]:PORT";
			return 400;
		}
		*close = '\0';
		if (inet_pton(AF_INET6, target + 1, &a6) != 1 ||
		    inet_ntop(AF_INET6, &a6, p->host, sizeof(p->host)) == NULL) {
			*error = "CONNECT target is not a valid IPv6 address";
			return 400;
		}
		colon = close + 1;
	} else {
		colon = strrchr(target, ':');
		if (colon == NULL) {
			*error = "CONNECT target has no port, expected HOST:PORT";
			return 400;
		}
		hlen = (size_t)(colon - target);
		if (hlen == 0 || hlen > HOST_MAX) {
			*error = hlen == 0 ? "CONNECT target has an empty host" :
			    "CONNECT host is longer than 253 characters";
			return 400;
		}
		for (i = 0; i < hlen; i++) {
			unsigned char c = (unsigned char)target[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) {
				*error = "CONNECT host contains a character not allowed in a host name";
				return 400;
			}
			p->host[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		p->host[hlen] = '\0';
	}

	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535) {
		*error = "CONNECT target has an invalid port";
		return 400;
	}
	p->port = (int)port;
	if (!port_allowed(p->front->policy, p->port)) {
		*error = "CONNECT to this port is not allowed: add it to [proxy] connect_ports";
		return 403;
	}
	return 0;
}

/* Returns the length of the request head in buf, up to and including the
 * empty line that ends it (CRLF or a bare LF, as RFC 9112 section 2.2
 * allows), or 0 when the head is not complete. */
static size_t
head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Gives a plain HTTP connection to libmicrohttpd. */
static void
peer_hand_over(struct peer *p)
{
	struct front *front = p->front;
	int fd = p->client.fd;

	set_interest(front, &p->client, 0);
	p->client.fd = -1;
	p->state = PEER_CLOSED;
	if (MHD_add_connection(front->mhd, fd, (struct sockaddr *)&p->addr,
	    p->addrlen) != MHD_YES)
		log_errno("front: libmicrohttpd did not take the connection from %s",
		    p->client_text);
}

static void start_tls(struct peer *p);
static void start_passthrough(struct peer *p);

/* Peeks at the first bytes of a new connection. A CONNECT request is read
 * and handled here; anything else goes to libmicrohttpd unread. */
static void
peer_read_head(struct peer *p)
{
	static const char connect[] = "CONNECT ";
	char buf[HEAD_MAX + 1];
	const char *error;
	ssize_t n;
	size_t head_len;
	int status;

	n = recv(p->client.fd, buf, HEAD_MAX, MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		peer_close(p);
		return;
	}
	if (n < 0)
		return;
	if ((size_t)n < sizeof(connect) - 1) {
		if (memcmp(buf, connect, (size_t)n) == 0)
			return;		/* maybe CONNECT: wait for more */
		peer_hand_over(p);
		return;
	}
	if (memcmp(buf, connect, sizeof(connect) - 1) != 0) {
		peer_hand_over(p);
		return;
	}

	head_len = head_end(buf, (size_t)n);
	if (head_len == 0) {
		if (n == HEAD_MAX)
			peer_reject(p, 431, "Request Header Fields Too Large",
			    "CONNECT request headers are longer than %d bytes", HEAD_MAX);
		return;
	}
	if (memchr(buf, '\0', head_len) != NULL) {
		peer_reject(p, 400, "Bad Request", "CONNECT request contains a NUL byte");
		return;
	}
	/* Consume exactly the headers: what follows is the TLS handshake. */
	if (recv(p->client.fd, buf, head_len, 0) != (ssize_t)head_len) {
		peer_close(p);
		return;
	}
	buf[head_len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';

	status = parse_connect(p, buf, &error);
	if (status != 0) {
		if (status == 403)
			peer_reject(p, 403, "Forbidden", "%s (port %d)", error, p->port);
		else
			peer_reject(p, status, "Bad Request", "%s", error);
		return;
	}
	if (host_passthrough(p->front->policy, p->host))
		start_passthrough(p);
	else
		start_tls(p);
}

/* Records alerts from the client, such as unknown_ca when it does not
 * trust the minted certificate. */
static void
tls_info(const SSL *ssl, int where, int ret)
{
	struct peer *p = SSL_get_ex_data(ssl, peer_ssl_index);

	if (p != NULL && (where & SSL_CB_READ_ALERT))
		p->alert = ret & 0xff;
}

/* Rejects a ClientHello whose SNI names another host than CONNECT did. */
static int
tls_servername(SSL *ssl, int *alert, void *arg)
{
	struct peer *p = SSL_get_ex_data(ssl, peer_ssl_index);
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char shown[300];

	if (p == NULL || sni == NULL || strcasecmp(sni, p->host) == 0)
		return SSL_TLSEXT_ERR_OK;
	log_warning("connect id=%llu client=%s target=%s:%d status=- error=\"TLS server name %s is not the CONNECT host\"",
	    (unsigned long long)p->id, p->client_text, p->host, p->port,
	    log_escape_quoted(sni, shown, sizeof(shown)));
	p->refused = 1;
	*alert = SSL_AD_UNRECOGNIZED_NAME;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Selects http/1.1, the only protocol served inside a tunnel. */
static int
tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	struct peer *p = SSL_get_ex_data(ssl, peer_ssl_index);
	char offered[256];
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < inlen; i += 1u + in[i]) {
		if (in[i] == 8 && i + 9 <= inlen && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	for (i = 0; i < inlen && n + 2 < sizeof(offered); i += 1u + in[i]) {
		unsigned int j;

		if (n > 0)
			offered[n++] = ',';
		for (j = 0; j < in[i] && i + 1 + j < inlen && n + 1 < sizeof(offered); j++) {
			unsigned char c = in[i + 1 + j];

			offered[n++] = c > 0x20 && c < 0x7f ? (char)c : '?';
		}
	}
	offered[n] = '\0';
	if (p != NULL) {
		log_warning("connect id=%llu client=%s target=%s:%d status=- error=\"client offers only %s over ALPN; hashgate serves http/1.1\"",
		    (unsigned long long)p->id, p->client_text, p->host, p->port,
		    offered);
		p->refused = 1;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void
start_tls(struct peer *p)
{
	static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct front *front = p->front;

	p->ssl = SSL_new(front->tls);
	if (p->ssl == NULL || SSL_set_fd(p->ssl, p->client.fd) != 1 ||
	    SSL_set_ex_data(p->ssl, peer_ssl_index, p) != 1 ||
	    ca_use_leaf(front->ca, p->ssl, p->host) != 0) {
		ERR_clear_error();
		peer_reject(p, 503, "Service Unavailable",
		    "cannot set up TLS for %s; see the hashgated log", p->host);
		return;
	}
	SSL_set_accept_state(p->ssl);
	if (send(p->client.fd, established, sizeof(established) - 1,
	    MSG_NOSIGNAL) != (ssize_t)sizeof(established) - 1) {
		peer_close(p);
		return;
	}
	p->state = PEER_HANDSHAKE;
	p->deadline = now_seconds() + front->conf->proxy_connection_timeout;
	set_interest(front, &p->client, EPOLLIN);
}

/* Names the alerts with which a client says it does not trust a
 * certificate. */
static int
alert_rejects_certificate(int alert)
{
	switch (alert) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_DECRYPT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static int start_relay(struct peer *p);
static void peer_pump(struct peer *p);

static void
peer_handshake(struct peer *p)
{
	struct front *front = p->front;
	unsigned char first;
	char reason[256];
	ssize_t n;
	int rc, err;

	if (!p->tls_checked) {
		n = recv(p->client.fd, &first, 1, MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			log_warning("connect id=%llu client=%s target=%s:%d status=- error=\"client closed the tunnel before starting TLS\"",
			    (unsigned long long)p->id, p->client_text, p->host, p->port);
			peer_close(p);
			return;
		}
		p->tls_checked = 1;
		if (first != 0x16) {
			/* Not a TLS handshake record: respond in plain HTTP. */
			SSL_free(p->ssl);
			p->ssl = NULL;
			peer_reject(p, 400, "Bad Request",
			    "expected a TLS ClientHello after CONNECT, got byte 0x%02x; "
			    "hashgate intercepts tunnels to verify HTTPS downloads", first);
			return;
		}
	}

	rc = SSL_do_handshake(p->ssl);
	if (rc == 1) {
		if (start_relay(p) == 0)
			peer_pump(p);
		return;
	}
	err = SSL_get_error(p->ssl, rc);
	if (err == SSL_ERROR_WANT_READ) {
		set_interest(front, &p->client, EPOLLIN);
		return;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		set_interest(front, &p->client, EPOLLOUT);
		return;
	}

	if (p->refused)
		;	/* a callback has logged the reason */
	else if (alert_rejects_certificate(p->alert))
		log_warning("connect id=%llu client=%s target=%s:%d event=client-rejected-certificate alert=\"%s\" error=\"the client does not trust the certificate minted for %s: install the hashgate CA in the client's image (hashgatectl ca)\"",
		    (unsigned long long)p->id, p->client_text, p->host, p->port,
		    SSL_alert_desc_string_long(p->alert), p->host);
	else {
		ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
		log_warning("connect id=%llu client=%s target=%s:%d status=- error=\"TLS handshake failed: %s\"",
		    (unsigned long long)p->id, p->client_text, p->host, p->port,
		    ERR_peek_last_error() ? reason :
		    p->alert >= 0 ? SSL_alert_desc_string_long(p->alert) :
		    "connection closed");
	}
	ERR_clear_error();
	peer_close(p);
}

/* Registers the origin of a tunnel under the libmicrohttpd side of its
 * socket pair, for front_claim_origin. */
static int
register_origin(struct front *front, struct peer *p, int fd)
{
	struct origin_entry *e;
	char raw[HOST_MAX + 16];
	const char *err;
	int v6 = strchr(p->host, ':') != NULL;

	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->origin = calloc(1, sizeof(*e->origin))) == NULL) {
		free(e);
		return -1;
	}
	snprintf(e->origin->host, sizeof(e->origin->host), "%s", p->host);
	e->origin->port = p->port;
	snprintf(raw, sizeof(raw), "https://%s%s%s:%d", v6 ? "[" : "", p->host,
	    v6 ? "]" : "", p->port);
	if (url_normalise(raw, strlen(raw), e->origin->url,
	    sizeof(e->origin->url), &err) != 0) {
		free(e->origin);
		free(e);
		return -1;
	}
	/* url_normalise adds a "/" for the empty path: the origin has none. */
	e->origin->url[strlen(e->origin->url) - 1] = '\0';
	e->fd = fd;
	pthread_mutex_lock(&front->origins_lock);
	e->next = front->origins;
	front->origins = e;
	pthread_mutex_unlock(&front->origins_lock);
	return 0;
}

struct front_origin *
front_claim_origin(struct front *front, int fd)
{
	struct origin_entry *e, **pp;
	struct front_origin *origin = NULL;

	pthread_mutex_lock(&front->origins_lock);
	for (pp = &front->origins; (e = *pp) != NULL; pp = &e->next)
		if (e->fd == fd) {
			*pp = e->next;
			origin = e->origin;
			free(e);
			break;
		}
	pthread_mutex_unlock(&front->origins_lock);
	return origin;
}

/* Connects the decrypted stream to libmicrohttpd through a socket pair. */
static int
start_relay(struct peer *p)
{
	struct front *front = p->front;
	struct front_origin *stale;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
		log_errno("connect id=%llu: cannot create a socket pair",
		    (unsigned long long)p->id);
		peer_close(p);
		return -1;
	}
	p->to_other = calloc(1, sizeof(*p->to_other));
	p->to_client = calloc(1, sizeof(*p->to_client));
	if (p->to_other == NULL || p->to_client == NULL ||
	    register_origin(front, p, sv[1]) != 0) {
		log_error("connect id=%llu: out of memory", (unsigned long long)p->id);
		close(sv[0]);
		close(sv[1]);
		peer_close(p);
		return -1;
	}
	p->other.fd = sv[0];
	p->state = PEER_RELAY;
	p->deadline = 0;
	log_debug("connect id=%llu client=%s target=%s:%d status=200 mode=intercept",
	    (unsigned long long)p->id, p->client_text, p->host, p->port);
	if (MHD_add_connection(front->mhd, sv[1], (struct sockaddr *)&p->addr,
	    p->addrlen) != MHD_YES) {
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Length: 56\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
		    "too many connections (connection_limit or per_ip_limit)\n";

		log_warning("connect id=%llu client=%s target=%s:%d status=503 error=\"libmicrohttpd refused the tunnel's connection: connection_limit or per_ip_limit reached\"",
		    (unsigned long long)p->id, p->client_text, p->host, p->port);
		stale = front_claim_origin(front, sv[1]);
		free(stale);
		/* Best effort: the client is inside TLS and expects HTTP. */
		(void)!SSL_write(p->ssl, busy, (int)sizeof(busy) - 1);
		peer_close(p);
		return -1;
	}
	return 0;
}

static void
start_passthrough(struct peer *p)
{
	struct front *front = p->front;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[8];
	int fd, rc;

	/* NOTE: the lookup blocks the front door; tunnel_hosts is meant for a
	 * few hosts, each resolved in well under a second. */
	snprintf(port, sizeof(port), "%d", p->port);
	rc = getaddrinfo(p->host, port, &hints, &res);
	if (rc != 0) {
		peer_reject(p, 502, "Bad Gateway", "cannot resolve %s: %s",
		    p->host, gai_strerror(rc));
		return;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) != 0 &&
	    errno != EINPROGRESS)) {
		peer_reject(p, 502, "Bad Gateway", "cannot connect to %s:%d: %s",
		    p->host, p->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return;
	}
	freeaddrinfo(res);
	p->other.fd = fd;
	p->state = PEER_CONNECTING;
	p->deadline = now_seconds() + front->policy->connect_timeout;
	set_interest(front, &p->client, 0);
	set_interest(front, &p->other, EPOLLOUT);
}

static void
peer_connected(struct peer *p)
{
	static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->other.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		close_endpoint(p->front, &p->other);
		peer_reject(p, 502, "Bad Gateway", "cannot connect to %s:%d: %s",
		    p->host, p->port, strerror(err));
		return;
	}
	p->to_other = calloc(1, sizeof(*p->to_other));
	p->to_client = calloc(1, sizeof(*p->to_client));
	if (p->to_other == NULL || p->to_client == NULL ||
	    send(p->client.fd, established, sizeof(established) - 1,
	    MSG_NOSIGNAL) != (ssize_t)sizeof(established) - 1) {
		peer_close(p);
		return;
	}
	log_warning("connect id=%llu client=%s target=%s:%d status=200 mode=passthrough warning=\"tunnel without interception: its bytes are not verified\"",
	    (unsigned long long)p->id, p->client_text, p->host, p->port);
	p->state = PEER_RELAY;
	p->deadline = now_seconds() + p->front->conf->proxy_connection_timeout;
	peer_pump(p);
}

/* Reads from the client, through TLS when the tunnel is intercepted.
 * Returns bytes read, 0 at EOF, or -1 with errno EAGAIN or another error. */
static ssize_t
client_read(struct peer *p, char *buf, size_t len)
{
	int n, err;

	if (p->ssl == NULL)
		return read(p->client.fd, buf, len);
	p->read_wants_write = 0;
	n = SSL_read(p->ssl, buf, (int)len);
	if (n > 0)
		return n;
	err = SSL_get_error(p->ssl, n);
	if (err == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		p->read_wants_write = err == SSL_ERROR_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	errno = EIO;
	return -1;
}

static ssize_t
client_write(struct peer *p, const char *buf, size_t len)
{
	int n, err;

	if (p->ssl == NULL)
		return send(p->client.fd, buf, len, MSG_NOSIGNAL);
	p->write_wants_read = 0;
	n = SSL_write(p->ssl, buf, (int)len);
	if (n > 0)
		return n;
	err = SSL_get_error(p->ssl, n);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		p->write_wants_read = err == SSL_ERROR_WANT_READ;
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	errno = EIO;
	return -1;
}

/* Moves bytes both ways until neither side can go on, then sets the epoll
 * interest for what each side waits for. */
static void
peer_pump(struct peer *p)
{
	struct buffer *up = p->to_other, *down = p->to_client;
	int progress = 1, moved = 0, client_blocked = 0, other_blocked = 0;
	ssize_t n;

	while (progress) {
		progress = 0;

		/* Client to the other side. */
		if (!p->client_eof && up->len == 0) {
			up->off = 0;
			n = client_read(p, up->data, sizeof(up->data));
			if (n > 0) {
				up->len = (size_t)n;
				p->bytes_up += (uint64_t)n;
				progress = 1;
			} else if (n == 0)
				p->client_eof = 1;
			else if (errno != EAGAIN && errno != EINTR)
				goto close;
		}
		if (up->len > 0 && p->other_closed)
			up->len = 0;	/* nobody reads them any more */
		if (up->len > 0) {
			n = send(p->other.fd, up->data + up->off, up->len, MSG_NOSIGNAL);
			if (n > 0) {
				up->off += (size_t)n;
				up->len -= (size_t)n;
				progress = 1;
			} else if (errno == EAGAIN || errno == EINTR)
				other_blocked = 1;
			else if (errno == EPIPE || errno == ECONNRESET) {
				/* The other side stopped reading, perhaps after
				 * sending an error: deliver what it sent. */
				p->other_closed = 1;
				up->len = 0;
				progress = 1;
			} else
				goto close;
		}
		/* Pass the client's end of data on as a half-close. */
		if (p->client_eof && up->len == 0 && !p->other_shut &&
		    !p->other_closed) {
			shutdown(p->other.fd, SHUT_WR);
			p->other_shut = 1;
		}

		/* Other side to the client. */
		if (!p->other_eof && down->len == 0) {
			down->off = 0;
			n = read(p->other.fd, down->data, sizeof(down->data));
			if (n > 0) {
				down->len = (size_t)n;
				p->bytes_down += (uint64_t)n;
				progress = 1;
			} else if (n == 0 || errno == ECONNRESET)
				p->other_eof = 1;
			else if (errno != EAGAIN && errno != EINTR)
				goto close;
		}
		if (down->len > 0) {
			n = client_write(p, down->data + down->off, down->len);
			if (n > 0) {
				down->off += (size_t)n;
				down->len -= (size_t)n;
				progress = 1;
			} else if (errno == EAGAIN || errno == EINTR)
				client_blocked = 1;
			else
				goto close;
		}
		if (p->other_eof && down->len == 0)
			goto close;
		moved |= progress;
	}

	/* Bytes that a side does not take for connection_timeout end the
	 * tunnel. An intercepted tunnel with nothing in flight has no deadline
	 * of its own: libmicrohttpd times out its idle connection, but not one
	 * that waits for a fetch. */
	if (up->len > 0 || down->len > 0 || p->ssl == NULL) {
		if (moved || p->deadline == 0)
			p->deadline = now_seconds() +
			    p->front->conf->proxy_connection_timeout;
	} else
		p->deadline = 0;

	set_interest(p->front, &p->client,
	    ((!p->client_eof && up->len == 0) || p->write_wants_read ? EPOLLIN : 0) |
	    ((client_blocked && !p->write_wants_read) || p->read_wants_write ?
	    EPOLLOUT : 0));
	/* After a hang-up epoll would report the other side on every wait:
	 * its EOF is read once the client has taken what is buffered. */
	set_interest(p->front, &p->other, p->other_hup ? 0 :
	    (!p->other_eof && down->len == 0 ? EPOLLIN : 0) |
	    (other_blocked ? EPOLLOUT : 0));
	return;
close:
	peer_close(p);
}

static void
peer_event(struct peer *p, struct endpoint *ep, uint32_t events)
{
	char discard[4096];
	ssize_t n;

	/* A peek keeps returning the unread bytes after the client's FIN,
	 * so a hang-up before a complete head is seen only here. */
	if (p->state == PEER_HEAD) {
		peer_read_head(p);
		if (p->state == PEER_HEAD &&
		    (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			peer_close(p);
		return;
	}
	if (p->state == PEER_RELAY && (events & (EPOLLHUP | EPOLLERR))) {
		/* A client that hung up can receive nothing more. */
		if (ep == &p->client) {
			peer_close(p);
			return;
		}
		p->other_hup = 1;
	}

	switch (p->state) {
	case PEER_HEAD:
		peer_read_head(p);
		break;
	case PEER_CONNECTING:
		peer_connected(p);
		break;
	case PEER_HANDSHAKE:
		peer_handshake(p);
		break;
	case PEER_RELAY:
		peer_pump(p);
		break;
	case PEER_DRAIN:
		n = read(p->client.fd, discard, sizeof(discard));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			peer_close(p);
		break;
	case PEER_CLOSED:
		break;
	}
}

static void
front_accept(struct front *front)
{
	static time_t last_warning;
	struct peer *p;
	int fd;

	for (;;) {
		struct sockaddr_storage addr;
		socklen_t len = sizeof(addr);

		fd = accept4(front->listener.fd, (struct sockaddr *)&addr, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			if (now_seconds() != last_warning) {
				last_warning = now_seconds();
				log_errno("front: accept failed; pausing accepts for a second");
			}
			/* The pending connection stays queued, so a level-triggered
			 * listener would wake the loop at once: pause it instead. */
			set_interest(front, &front->listener, 0);
			front->accept_paused = now_seconds();
			return;
		}
		if (front->npeers >= front->conf->proxy_connection_limit) {
			if (now_seconds() != last_warning) {
				last_warning = now_seconds();
				log_warning("front: %u connections are open "
				    "(connection_limit); closing new ones",
				    front->npeers);
			}
			close(fd);
			continue;
		}
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			close(fd);
			continue;
		}
		p->front = front;
		p->id = ++front->next_id;
		p->client.peer = p->other.peer = p;
		p->client.fd = fd;
		p->other.fd = -1;
		p->alert = -1;
		memcpy(&p->addr, &addr, len);
		p->addrlen = len;
		if (getnameinfo((struct sockaddr *)&addr, len, p->client_text,
		    sizeof(p->client_text), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(p->client_text, sizeof(p->client_text), "-");
		clock_gettime(CLOCK_MONOTONIC, &p->started);
		p->deadline = now_seconds() + front->conf->proxy_connection_timeout;
		p->next = front->peers;
		if (p->next != NULL)
			p->next->prev = p;
		front->peers = p;
		front->npeers++;
		/* Edge-triggered while the request line is only peeked at, so
		 * that unread bytes do not wake the loop again and again. */
		set_interest(front, &p->client, EPOLLIN | EPOLLRDHUP | EPOLLET);
	}
}

/* Closes connections past their deadline and frees closed ones. */
static void
front_sweep(struct front *front, time_t now)
{
	struct peer *p, *next;

	for (p = front->peers; p != NULL; p = next) {
		next = p->next;
		if (p->state != PEER_CLOSED && p->deadline != 0 && now >= p->deadline) {
			if (p->state == PEER_CONNECTING) {
				close_endpoint(front, &p->other);
				peer_reject(p, 504, "Gateway Timeout",
				    "timed out connecting to %s:%d", p->host, p->port);
				continue;
			}
			if (p->state == PEER_HANDSHAKE)
				log_warning("connect id=%llu client=%s target=%s:%d status=- error=\"timed out waiting for the TLS handshake\"",
				    (unsigned long long)p->id, p->client_text,
				    p->host, p->port);
			peer_close(p);
		}
		if (p->state == PEER_CLOSED)
			peer_free(p);
	}
}

static void *
front_main(void *arg)
{
	struct front *front = arg;
	struct epoll_event events[64];
	time_t last_sweep = 0;
	int n, i;

	while (!front->stop) {
		policy_update(front);
		n = epoll_wait(front->epfd, events, 64, 1000);
		if (n < 0 && errno != EINTR) {
			log_errno("front: epoll_wait failed");
			break;
		}
		for (i = 0; i < n; i++) {
			struct endpoint *ep = events[i].data.ptr;

			if (ep == &front->listener)
				front_accept(front);
			else if (ep == &front->wake) {
				uint64_t v;

				(void)!read(front->wake.fd, &v, sizeof(v));
				if (front->quiesce && front->listener.fd >= 0)
					close_endpoint(front, &front->listener);
			} else if (ep->peer->state != PEER_CLOSED)
				peer_event(ep->peer, ep, events[i].events);
		}
		if (now_seconds() != last_sweep || n > 0) {
			last_sweep = now_seconds();
			front_sweep(front, last_sweep);
		}
		if (front->accept_paused != 0 && last_sweep > front->accept_paused &&
		    front->listener.fd >= 0) {
			front->accept_paused = 0;
			set_interest(front, &front->listener, EPOLLIN);
		}
	}

	while (front->peers != NULL) {
		peer_close(front->peers);
		peer_free(front->peers);
	}
	return NULL;
}

static SSL_CTX *
front_tls_context(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	SSL_CTX_set_info_callback(ctx, tls_info);
	return ctx;
}

struct front *
front_create(const struct conf *conf, struct ca *ca, int listen_fd)
{
	struct front *front;

	front = calloc(1, sizeof(*front));
	if (front == NULL) {
		log_error("front: out of memory");
		close(listen_fd);
		return NULL;
	}
	front->conf = conf;
	front->ca = ca;
	front->listener.fd = listen_fd;
	front->wake.fd = -1;
	front->epfd = -1;
	pthread_mutex_init(&front->origins_lock, NULL);
	pthread_mutex_init(&front->pending_lock, NULL);
	if ((front->policy = policy_create(conf)) == NULL)
		goto fail;

	if (peer_ssl_index < 0)
		peer_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	front->tls = front_tls_context();
	front->epfd = epoll_create1(EPOLL_CLOEXEC);
	front->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (front->tls == NULL || front->epfd < 0 || front->wake.fd < 0 ||
	    peer_ssl_index < 0) {
		log_error("front: cannot set up the event loop or TLS");
		goto fail;
	}
	if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) != 0) {
		log_errno("front: cannot make the listening socket non-blocking");
		goto fail;
	}
	set_interest(front, &front->listener, EPOLLIN);
	set_interest(front, &front->wake, EPOLLIN);
	return front;
fail:
	front_free(front);
	return NULL;
}

int
front_run(struct front *front, struct MHD_Daemon *mhd)
{
	int rc;

	front->mhd = mhd;
	rc = pthread_create(&front->thread, NULL, front_main, front);
	if (rc != 0) {
		log_error("front: cannot start its thread: %s", strerror(rc));
		return -1;
	}
	front->running = 1;
	return 0;
}

static void
front_wake(struct front *front)
{
	uint64_t one = 1;

	(void)!write(front->wake.fd, &one, sizeof(one));
}

int
front_reload(struct front *front, const struct conf *conf)
{
	struct front_policy *policy = policy_create(conf), *old;

	if (policy == NULL)
		return -1;
	pthread_mutex_lock(&front->pending_lock);
	old = front->pending;
	front->pending = policy;
	pthread_mutex_unlock(&front->pending_lock);
	policy_free(old);
	front_wake(front);
	return 0;
}

void
front_quiesce(struct front *front)
{
	front->quiesce = 1;
	front_wake(front);
}

void
front_stop(struct front *front)
{
	if (front == NULL || !front->running)
		return;
	front->stop = 1;
	front_wake(front);
	pthread_join(front->thread, NULL);
	front->running = 0;
}

void
front_free(struct front *front)
{
	struct origin_entry *e;

	if (front == NULL)
		return;
	front_stop(front);
	if (front->listener.fd >= 0)
		close(front->listener.fd);
	if (front->wake.fd >= 0)
		close(front->wake.fd);
	if (front->epfd >= 0)
		close(front->epfd);
	while ((e = front->origins) != NULL) {
		front->origins = e->next;
		free(e->origin);
		free(e);
	}
	SSL_CTX_free(front->tls);
	policy_free(front->policy);
	policy_free(front->pending);
	pthread_mutex_destroy(&front->pending_lock);
	pthread_mutex_destroy(&front->origins_lock);
	free(front);
}
