/* SPDX-License-Identifier: MIT */
/* The proxy listener. A request names an upstream URL in absolute form
 * (forward proxy), in mirror form (/https/host/path), or as a path inside a
 * CONNECT tunnel. The URL is normalised and looked up in the allowlist, and
 * the response comes from the cache, after a verified upstream fetch if
 * needed. A client receives a verified object or an error message, never
 * upstream bytes that were not verified. */
#include "proxy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "audit.h"
#include "digest.h"
#include "front.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "url.h"

struct proxy {
	const struct conf	*conf;
	struct store		*store;
	struct audit		*audit;
	struct cache		*cache;
	struct fetcher		*fetcher;
	struct front		*front;
	_Atomic int		 learn;		/* [policy] mode = learn */
	_Atomic unsigned	 max_pending;
	_Atomic long long	 queue_full_logged;	/* when, in seconds */
	_Atomic unsigned long	 queue_full_refused;	/* since then */
	struct MHD_Daemon	*daemon;
	atomic_ullong		 next_id;
};

/* One request, from its request line to its completion. */
struct request {
	uint64_t	 id;
	char		*target;	/* raw request-target, as sent */
	const char	*target_in_buffer;	/* libmicrohttpd's copy */
	char		 client[64];
	struct timespec	 start;
	char		 url[URL_MAX_LEN + 1];	/* normalised; empty until parsed */
	char		 sha256[DIGEST_HEX_LEN + 1];	/* object name; "" until known */
	char		 sha512[DIGEST512_HEX_LEN + 1];	/* "" unless pinned by SHA-512 */
	unsigned	 status;
	uint64_t	 bytes;		/* body size of the response */
	const char	*verdict;
	struct fetch	*fetch;		/* set while waiting for a fetch */
	char		**mirrors;	/* /sha256/ requests: pinned URLs */
	size_t		 nmirrors, next_mirror;
	char		 failures[1024];	/* why the mirrors tried failed */
	int		 called;	/* the handler has seen the headers */
	int		 head;		/* method HEAD: no body goes out */
	uint64_t	 served;	/* body bytes of an object sent from the cache */
	enum metrics_source served_source;
	const struct front_origin *origin;	/* NULL outside a tunnel */
};

/* URLs a /sha256/ request tries at most, oldest pin first. */
#define PROXY_MAX_MIRRORS 16

static const char *const allow_get_head[] = { "Allow", "GET, HEAD", NULL };
static const char *const retry_later[] = { "Retry-After", "5", NULL };

/* Creates the request record as soon as libmicrohttpd has the request
 * line, because only here does it pass the target with its query string. */
static void *
proxy_request_begin(void *arg, const char *uri, struct MHD_Connection *conn)
{
	struct proxy *proxy = arg;
	const union MHD_ConnectionInfo *info;
	struct request *req;

	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return NULL;
	req->target = strdup(uri);
	if (req->target == NULL) {
		free(req);
		return NULL;
	}
	req->target_in_buffer = uri;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	req->origin = info != NULL ? info->socket_context : NULL;
	req->id = atomic_fetch_add(&proxy->next_id, 1) + 1;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	http_client_address(conn, req->client, sizeof(req->client));
	req->verdict = "-";
	return req;
}

/* Tags each connection that comes out of an intercepted tunnel with the
 * tunnel's origin, and frees the tag when the connection closes. */
static void
proxy_connection_notify(void *arg, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct proxy *proxy = arg;
	const union MHD_ConnectionInfo *info;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = info != NULL ?
		    front_claim_origin(proxy->front, info->connect_fd) : NULL;
	} else {
		free(*socket_context);
		*socket_context = NULL;
	}
}

static const char *
termination_name(enum MHD_RequestTerminationCode code)
{
	switch (code) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return "completed";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "client-closed";
	default:
		return "error";
	}
}

/* Records the decision on a request in the audit trail. target is the
 * escaped request target, for requests whose URL did not parse. */
static void
proxy_audit(struct proxy *proxy, const struct request *req, const char *target)
{
	const struct fetch_result *res = NULL;
	char digest[DIGEST_TEXT_MAX];
	struct store_event ev = {
		.kind = req->verdict, .client = req->client,
		.url = req->url[0] != '\0' ? req->url : target,
		.size = req->bytes, .has_size = 1, .status = req->status,
	};

	if (req->sha256[0] != '\0' || req->sha512[0] != '\0') {
		store_pin_digest(req->sha256, req->sha512, digest);
		ev.expected = digest;
	}
	if (req->fetch != NULL)
		res = fetch_result(req->fetch);
	if (res != NULL && res->status != 200) {
		ev.observed = res->sha256[0] != '\0' ? res->sha256 : NULL;
		ev.size = res->size;
		ev.content_type = res->content_type[0] ? res->content_type : NULL;
		ev.redirects = res->redirects[0] ? res->redirects : NULL;
		/* The admin API repairs text that is not UTF-8 when it
		 * lists events, so the message is kept as it is. */
		ev.detail = res->report[0] ? res->report : res->message;
	}
	audit_record(proxy->audit, &ev);
}

/* Logs the request once, counts it for /metrics and frees it. */
static void
proxy_request_end(void *arg, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode code)
{
	struct proxy *proxy = arg;
	struct request *req = *req_cls;
	struct timespec now;
	char target[512], status[16];
	long ms;

	if (req == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)((now.tv_sec - req->start.tv_sec) * 1000 +
	    (now.tv_nsec - req->start.tv_nsec) / 1000000);
	log_escape(req->url[0] ? req->url : req->target, target, sizeof(target));
	/* No status: libmicrohttpd responded or closed the connection before
	 * the handler did, as it does for a request without Host. */
	snprintf(status, sizeof(status), "%u", req->status);
	log_info("request req=%llu client=%s url=%s status=%s bytes=%llu verdict=%s end=%s duration_ms=%ld",
	    (unsigned long long)req->id, req->client, target,
	    req->status ? status : "-",
	    (unsigned long long)req->bytes, req->verdict,
	    termination_name(code), ms);
	if (req->status != 0) {
		metrics_count_request(req->verdict);
		proxy_audit(proxy, req, target);
	}
	/* Only a body that went out in full counts as served. */
	if (req->served > 0 && code == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		metrics_count_served(req->served_source, req->served);
	if (req->fetch != NULL)
		fetch_release(proxy->fetcher, req->fetch);
	while (req->nmirrors > 0)
		free(req->mirrors[--req->nmirrors]);
	free(req->mirrors);
	free(req->target);
	free(req);
	*req_cls = NULL;
}

static enum MHD_Result
proxy_error(struct MHD_Connection *conn, struct request *req, unsigned status,
    const char *verdict, const char *const *headers, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Sends an error with a text body and records it for the request log. */
static enum MHD_Result
proxy_error(struct MHD_Connection *conn, struct request *req, unsigned status,
    const char *verdict, const char *const *headers, const char *fmt, ...)
{
	char body[2 * URL_MAX_LEN + 1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	req->status = status;
	req->verdict = verdict;
	req->bytes = strlen(body) + 1;
	return http_respond_text(conn, status, headers, "%s", body);
}

/* Tells whether an If-None-Match list names etag, or is "*". Weak
 * validators compare equal too, as RFC 9110 section 13.1.2 requires. */
static int
etag_listed(const char *list, const char *etag)
{
	size_t len = strlen(etag);
	const char *p = list;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, len) == 0 &&
		    (p[len] == '\0' || p[len] == ',' || p[len] == ' ' || p[len] == '\t'))
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

/* Parses a Range header that requests one byte range of an object of
 * size bytes. Returns 1 with *first and *last set for a satisfiable range,
 * 0 to send the whole object (no range, several ranges or a syntax the
 * server may ignore), or -1 when the range is not satisfiable. */
static int
parse_range(const char *header, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p;
	char *end;
	unsigned long long a, b;

	if (strncmp(header, "bytes=", 6) != 0 || strchr(header, ',') != NULL)
		return 0;
	p = header + 6;
	if (*p == '-') {
		/* The last N bytes. */
		if (p[1] < '0' || p[1] > '9')
			return 0;
		errno = 0;
		b = strtoull(p + 1, &end, 10);
		if (*end != '\0' || errno != 0)
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	a = strtoull(p, &end, 10);
	if (errno != 0 || *end != '-')
		return 0;
	p = end + 1;
	if (*p == '\0')
		b = size > 0 ? size - 1 : 0;
	else {
		if (*p < '0' || *p > '9')
			return 0;
		b = strtoull(p, &end, 10);
		if (*end != '\0' || errno != 0 || b < a)
			return 0;
		if (b >= size)
			b = size - 1;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b;
	return 1;
}

/* Serves the verified object req->sha256 from the cache, honouring
 * If-None-Match, Range and If-Range. fd, when not -1, is the object
 * already open, with its size. Returns MHD_NO only when the response
 * cannot be queued. */
static enum MHD_Result
proxy_serve(struct proxy *proxy, struct MHD_Connection *conn,
    struct request *req, const char *verdict, int fd, uint64_t size)
{
	unsigned char raw[DIGEST_LEN];
	char etag[DIGEST_HEX_LEN + 3], repr[DIGEST_B64_LEN + 16];
	char b64[DIGEST_B64_LEN + 1], content_range[64];
	const char *inm, *range, *if_range;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	uint64_t first = 0, last = 0, length;
	unsigned status = MHD_HTTP_OK;
	int ranged = 0;

	if (fd < 0)
		fd = cache_object_open(proxy->cache, req->sha256, &size);
	if (fd < 0)
		return proxy_error(conn, req, 500, "cache-error", NULL,
		    "verified object %s cannot be read from the cache",
		    req->sha256);
	snprintf(etag, sizeof(etag), "\"%s\"", req->sha256);
	length = size;

	inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_RANGE);
	if_range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_RANGE);
	if (inm != NULL && etag_listed(inm, etag)) {
		close(fd);
		fd = -1;
		status = MHD_HTTP_NOT_MODIFIED;
		length = 0;
	} else if (range != NULL && (if_range == NULL || strcmp(if_range, etag) == 0)) {
		/* If-Range with another validator, or a date, gets the whole
		 * object: only the strong ETag identifies this one. */
		ranged = parse_range(range, size, &first, &last);
		if (ranged < 0) {
			char unsatisfied[64];
			const char *const headers[] = { "Content-Range", unsatisfied, NULL };

			close(fd);
			snprintf(unsatisfied, sizeof(unsatisfied), "bytes */%llu",
			    (unsigned long long)size);
			return proxy_error(conn, req, MHD_HTTP_RANGE_NOT_SATISFIABLE,
			    verdict, headers, "range %s is outside the object of %llu bytes",
			    range, (unsigned long long)size);
		}
		if (ranged > 0) {
			status = MHD_HTTP_PARTIAL_CONTENT;
			length = last - first + 1;
			snprintf(content_range, sizeof(content_range),
			    "bytes %llu-%llu/%llu", (unsigned long long)first,
			    (unsigned long long)last, (unsigned long long)size);
		}
	}

	/* Serving from the descriptor lets libmicrohttpd use sendfile(2). */
	if (fd >= 0)
		resp = MHD_create_response_from_fd_at_offset64(length, fd, first);
	else
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		if (fd >= 0)
			close(fd);
		return MHD_NO;
	}
	digest_from_hex(req->sha256, raw);
	digest_to_base64(raw, b64);
	snprintf(repr, sizeof(repr), "sha-256=:%s:", b64);
	if (status != MHD_HTTP_NOT_MODIFIED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	/* Repr-Digest is the digest of the whole object, also on a 206. */
	MHD_add_response_header(resp, "Repr-Digest", repr);
	MHD_add_response_header(resp, "X-Hashgate-Verdict", verdict);
	if (status == MHD_HTTP_PARTIAL_CONTENT)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE,
		    content_range);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	req->status = status;
	req->bytes = length;
	req->verdict = verdict;
	if (fd >= 0 && !req->head) {
		req->served = length;
		req->served_source = strcmp(verdict, "verified") == 0 ?
		    METRICS_SOURCE_UPSTREAM : METRICS_SOURCE_CACHE;
	}
	return ret;
}

/* Counts the Host headers, so that a request with two can be rejected as
 * RFC 9112 section 3.2 requires. */
static enum MHD_Result
count_host(void *arg, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		(*(int *)arg)++;
	return MHD_YES;
}

/* Checks that the Host header of a request inside a tunnel names the
 * CONNECT host and port. Returns 0, or -1 with *error set. */
static int
proxy_check_tunnel_host(struct MHD_Connection *conn,
    const struct front_origin *origin, const char **error)
{
	char raw[2 * sizeof(origin->url)], normal[sizeof(raw)];
	char expected[sizeof(origin->url) + 1];
	const char *host, *err;
	int hosts = 0;

	host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (host == NULL) {
		*error = "request inside the tunnel has no Host header";
		return -1;
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_host, &hosts);
	if (hosts > 1) {
		*error = "request has more than one Host header";
		return -1;
	}
	if (strlen(host) > sizeof(origin->url)) {
		*error = "Host header names another host than the CONNECT request";
		return -1;
	}
	snprintf(raw, sizeof(raw), "https://%s/", host);
	snprintf(expected, sizeof(expected), "%s/", origin->url);
	if (url_normalise(raw, strlen(raw), normal, sizeof(normal), &err) != 0 ||
	    strcmp(normal, expected) != 0) {
		*error = "Host header names another host than the CONNECT request";
		return -1;
	}
	return 0;
}

/* Turns the request-target into an absolute URL in buf. Inside a tunnel
 * the target is a path on the tunnel's origin. Returns 0, or the HTTP
 * status to send and *error set. */
static unsigned
proxy_target_url(const struct request *req, char *buf, size_t size,
    const char **error)
{
	const char *target = req->target;
	size_t len = strlen(target);

	if (len > URL_MAX_LEN) {
		*error = "request target is longer than 8192 bytes";
		return MHD_HTTP_URI_TOO_LONG;
	}
	if (req->origin != NULL) {
		/* Absolute form is allowed too; the handler then checks that it
		 * names the tunnel's origin. */
		if (strncasecmp(target, "https://", 8) == 0) {
			snprintf(buf, size, "%s", target);
			return 0;
		}
		if (target[0] != '/') {
			*error = "inside a CONNECT tunnel the request target must be a path";
			return MHD_HTTP_BAD_REQUEST;
		}
		if ((size_t)snprintf(buf, size, "%s%s", req->origin->url,
		    target) >= size) {
			*error = "URL is longer than 8192 bytes";
			return MHD_HTTP_URI_TOO_LONG;
		}
		return 0;
	}
	/* Absolute form, as sent by clients with http_proxy set. */
	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0) {
		snprintf(buf, size, "%s", target);
		return 0;
	}
	/* Mirror form: /http/HOST[:PORT]/PATH or /https/HOST[:PORT]/PATH. */
	if (strncmp(target, "/http/", 6) == 0) {
		snprintf(buf, size, "http://%s", target + 6);
		return 0;
	}
	if (strncmp(target, "/https/", 7) == 0) {
		snprintf(buf, size, "https://%s", target + 7);
		return 0;
	}
	if (target[0] == '/') {
		*error = "not a proxy request: use the URL as the request target "
		    "(http_proxy) or the mirror form /https/HOST/PATH";
		return MHD_HTTP_NOT_FOUND;
	}
	*error = "malformed request target";
	return MHD_HTTP_BAD_REQUEST;
}

/* Tells whether the request target had a NUL byte in it, which cut the
 * string that libmicrohttpd passed on. libmicrohttpd 0.9.75 ends the target
 * with a NUL in place of the space before the version, in the same
 * buffer, so a target that ends earlier held a NUL of its own.
 * NOTE: this relies on that buffer layout. When the version is not where
 * it expects, the check passes the request on. */
static int
target_has_nul(const struct request *req, const char *version)
{
	const char *start = req->target_in_buffer;

	if (version == NULL || version[0] == '\0' || version <= start ||
	    version - start > 64 * 1024)
		return 0;
	return (size_t)(version - 1 - start) > strlen(req->target);
}

/* Refuses an unknown URL in learn mode, after queueing it for review and,
 * the first time, starting a background fetch that observes its digest. */
static enum MHD_Result
proxy_learn(struct proxy *proxy, struct MHD_Connection *conn,
    struct request *req)
{
	char url[256];
	int fetch = 0, rc;

	rc = store_pending_seen(proxy->store, req->url, proxy->max_pending,
	    &fetch);
	if (rc == 1) {
		long long now = (long long)time(NULL), last = proxy->queue_full_logged;
		unsigned long refused = ++proxy->queue_full_refused;

		/* A flood of new URLs must not flood the log as well. */
		if (now - last >= 60 && atomic_compare_exchange_strong(
		    &proxy->queue_full_logged, &last, now)) {
			proxy->queue_full_refused = 0;
			log_warning("learn: review queue full (max_pending = %u), "
			    "%lu URLs not queued in the last minute, the latest "
			    "url=%s", proxy->max_pending, refused,
			    log_escape(req->url, url, sizeof(url)));
		}
	}
	if (fetch && fetcher_learn(proxy->fetcher, req->url, req->id,
	    req->client) != 0)
		log_warning("learn: cannot fetch url=%s now (max_fetches reached "
		    "or stopping); the next request retries in %d s",
		    log_escape(req->url, url, sizeof(url)), STORE_PENDING_RETRY);
	return proxy_error(conn, req, MHD_HTTP_FORBIDDEN, "unknown", NULL,
	    "URL is not pinned: %s\n"
	    "hashgated runs in learn mode: %s\n"
	    "A security engineer can review it with \"hashgatectl pending\" "
	    "and allow it with:\n"
	    "  hashgatectl approve '%s'", req->url,
	    rc == 0 ? "the URL is queued for review, and its digest is "
	    "being observed" : "the review queue is full, so the URL was not "
	    "queued", req->url);
}

/* Fetches the object of a /sha256/ request from the next pinned URL, or
 * sends 502 with every failure when none is left. */
static enum MHD_Result
proxy_try_mirror(struct proxy *proxy, struct MHD_Connection *conn,
    struct request *req)
{
	struct fetch_want want;
	struct fetch *fetch;

	if (req->next_mirror >= req->nmirrors)
		return proxy_error(conn, req, MHD_HTTP_BAD_GATEWAY, "upstream-error",
		    NULL, "every URL pinned to sha256:%s failed:%s", req->sha256,
		    req->failures);
	memset(&want, 0, sizeof(want));
	want.url = req->mirrors[req->next_mirror++];
	want.digest.alg = DIGEST_SHA256;
	digest_from_hex(req->sha256, want.digest.raw);
	snprintf(req->url, sizeof(req->url), "%s", want.url);
	switch (fetcher_join(proxy->fetcher, &want, req->id, req->client, conn,
	    &fetch)) {
	case FETCH_JOIN_CACHED:
		return proxy_serve(proxy, conn, req, "hit", -1, 0);
	case FETCH_JOIN_WAITING:
		req->fetch = fetch;
		return MHD_YES;
	case FETCH_JOIN_BUSY:
		return proxy_error(conn, req, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
		    retry_later, "too many upstream fetches are running (max_fetches = %u); retry later",
		    fetcher_max_fetches(proxy->fetcher));
	default:
		return proxy_error(conn, req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "internal-error", retry_later,
		    "cannot start the upstream fetch; see the hashgated log");
	}
}

/* Serves GET /sha256/HEX: the verified object with that SHA-256, from the
 * cache or fetched from the URLs whose current pins carry it, one after
 * the other until one succeeds. Without such a pin the digest is refused,
 * so that neither quarantined objects nor those of revoked pins leak. */
static enum MHD_Result
proxy_by_digest(struct proxy *proxy, struct MHD_Connection *conn,
    struct request *req)
{
	const char *hex = req->target + strlen("/sha256/");
	unsigned char raw[DIGEST_LEN];
	uint64_t size;
	int fd;

	if (strlen(hex) != DIGEST_HEX_LEN || digest_from_hex(hex, raw) != 0)
		return proxy_error(conn, req, MHD_HTTP_BAD_REQUEST, "bad-request",
		    NULL, "expected /sha256/ and 64 hex digits");
	digest_to_hex(raw, req->sha256);
	if (store_pin_urls_by_sha256(proxy->store, req->sha256,
	    PROXY_MAX_MIRRORS, &req->mirrors, &req->nmirrors) != 0)
		return proxy_error(conn, req, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "store-error", NULL, "the allowlist cannot be read; see the hashgated log");
	if (req->nmirrors == 0)
		return proxy_error(conn, req, MHD_HTTP_FORBIDDEN, "unknown", NULL,
		    "no current pin carries sha256:%s", req->sha256);
	snprintf(req->url, sizeof(req->url), "%s", req->mirrors[0]);
	fd = cache_object_open(proxy->cache, req->sha256, &size);
	if (fd >= 0)
		return proxy_serve(proxy, conn, req, "hit", fd, size);
	return proxy_try_mirror(proxy, conn, req);
}

/* Sends the response to a request whose fetch has ended. */
static enum MHD_Result
proxy_fetch_done(struct proxy *proxy, struct MHD_Connection *conn,
    struct request *req)
{
	const struct fetch_result *res = fetch_result(req->fetch);

	if (res->status != 200 && res->status != 503 && req->nmirrors > 0) {
		size_t len = strlen(req->failures);
		char url[256];

		/* Mirror failover: note why this URL failed, try the next. */
		snprintf(req->failures + len, sizeof(req->failures) - len,
		    "\n  %s: %s", log_escape(req->url, url, sizeof(url)),
		    res->message);
		fetch_release(proxy->fetcher, req->fetch);
		req->fetch = NULL;
		return proxy_try_mirror(proxy, conn, req);
	}

	if (res->status == 200) {
		/* A SHA-512 pin learns the name of its object here. */
		memcpy(req->sha256, res->sha256, sizeof(req->sha256));
		return proxy_serve(proxy, conn, req, "verified", -1, 0);
	}
	if (res->status == 503)
		return proxy_error(conn, req, res->status, res->verdict,
		    retry_later, "%s", res->message);
	if (res->report[0] != '\0')
		return proxy_error(conn, req, res->status, res->verdict, NULL,
		    "%s\n%s", res->message, res->report);
	return proxy_error(conn, req, res->status, res->verdict, NULL, "%s",
	    res->message);
}

static enum MHD_Result
proxy_handle(void *arg, struct MHD_Connection *conn, const char *path,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct proxy *proxy = arg;
	struct request *req = *req_cls;
	struct fetch *fetch = NULL;
	struct fetch_want want;
	char absolute[URL_MAX_LEN + 16];
	const char *error;
	unsigned status;
	uint64_t size;
	int rc, fd, allow_http_redirect = 0;

	if (req == NULL)
		return MHD_NO;	/* out of memory in proxy_request_begin */
	if (req->fetch != NULL)
		return proxy_fetch_done(proxy, conn, req);

	/* Refusals come on the first call, before a request body is read;
	 * libmicrohttpd then closes the connection after the response. */
	if (!req->called) {
		const char *length, *encoding;

		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
			char m[64];

			log_escape(method, m, sizeof(m));
			return proxy_error(conn, req, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "bad-request", allow_get_head,
			    "method %s is not supported: hashgate serves GET and HEAD", m);
		}
		length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		encoding = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_TRANSFER_ENCODING);
		if ((length != NULL && strcmp(length, "0") != 0) || encoding != NULL)
			return proxy_error(conn, req, MHD_HTTP_CONTENT_TOO_LARGE,
			    "bad-request", NULL,
			    "a request body is not accepted on GET or HEAD");

		/* Otherwise respond once the request is complete, because a
		 * response queued on the first call makes libmicrohttpd close
		 * the connection afterwards. */
		req->called = 1;
		req->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0)
		return MHD_NO;	/* a body the headers did not announce */

	if (target_has_nul(req, version))
		return proxy_error(conn, req, MHD_HTTP_BAD_REQUEST, "bad-request",
		    NULL, "invalid URL: request target contains a NUL byte");

	if (req->origin == NULL && strncmp(req->target, "/sha256/", 8) == 0)
		return proxy_by_digest(proxy, conn, req);

	status = proxy_target_url(req, absolute, sizeof(absolute), &error);
	if (status != 0)
		return proxy_error(conn, req, status, "bad-request", NULL, "%s", error);
	if (req->origin != NULL &&
	    proxy_check_tunnel_host(conn, req->origin, &error) != 0)
		return proxy_error(conn, req, MHD_HTTP_BAD_REQUEST, "bad-request",
		    NULL, "%s", error);
	if (url_normalise(absolute, strlen(absolute), req->url, sizeof(req->url),
	    &error) != 0) {
		req->url[0] = '\0';
		return proxy_error(conn, req, MHD_HTTP_BAD_REQUEST, "bad-request",
		    NULL, "invalid URL: %s", error);
	}

	if (req->origin != NULL) {
		size_t olen = strlen(req->origin->url);

		if (strncmp(req->url, req->origin->url, olen) != 0 ||
		    req->url[olen] != '/')
			return proxy_error(conn, req, MHD_HTTP_BAD_REQUEST,
			    "bad-request", NULL,
			    "URL names another origin than the CONNECT tunnel %s",
			    req->origin->url);
	}

	rc = store_pin_lookup(proxy->store, req->url, req->sha256, req->sha512,
	    &allow_http_redirect);
	if (rc < 0)
		return proxy_error(conn, req, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "store-error", NULL, "the allowlist cannot be read; see the hashgated log");
	if (rc == 0 && proxy->learn)
		return proxy_learn(proxy, conn, req);
	if (rc == 0)
		return proxy_error(conn, req, MHD_HTTP_FORBIDDEN, "unknown", NULL,
		    "URL is not pinned: %s\n"
		    "To allow it, pin its SHA-256 digest:\n"
		    "  hashgatectl add '%s' SHA256", req->url, req->url);
	if (rc == 2)
		return proxy_error(conn, req, MHD_HTTP_FORBIDDEN, "expired", NULL,
		    "the pin of this URL has expired: %s\n"
		    "Cached bytes are not served either. To allow it again, "
		    "remove the pin and add it anew.", req->url);

	/* The common case: a cache hit, which needs no fetch. */
	memset(&want, 0, sizeof(want));
	want.url = req->url;
	if (req->sha256[0] != '\0') {
		fd = cache_object_open(proxy->cache, req->sha256, &size);
		if (fd >= 0)
			return proxy_serve(proxy, conn, req, "hit", fd, size);
		want.digest.alg = DIGEST_SHA256;
		rc = digest_from_hex(req->sha256, want.digest.raw);
	} else {
		want.digest.alg = DIGEST_SHA512;
		rc = digest_from_hex512(req->sha512, want.digest.raw);
	}
	if (rc != 0)
		return proxy_error(conn, req, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "store-error", NULL, "the pinned digest is unreadable; see the hashgated log");

	want.allow_insecure_redirect = allow_http_redirect;
	switch (fetcher_join(proxy->fetcher, &want, req->id, req->client, conn,
	    &fetch)) {
	case FETCH_JOIN_CACHED:
		return proxy_serve(proxy, conn, req, "hit", -1, 0);
	case FETCH_JOIN_WAITING:
		req->fetch = fetch;
		return MHD_YES;
	case FETCH_JOIN_BUSY:
		return proxy_error(conn, req, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
		    retry_later, "too many upstream fetches are running (max_fetches = %u); retry later",
		    fetcher_max_fetches(proxy->fetcher));
	case FETCH_JOIN_FAILED:
	default:
		return proxy_error(conn, req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "internal-error", retry_later,
		    "cannot start the upstream fetch; see the hashgated log");
	}
}

struct proxy *
proxy_start(const struct conf *conf, struct store *store, struct audit *audit,
    struct cache *cache, struct fetcher *fetcher, struct ca *ca)
{
	struct proxy *proxy;
	int fd;

	proxy = calloc(1, sizeof(*proxy));
	if (proxy == NULL) {
		log_error("proxy: out of memory");
		return NULL;
	}
	proxy->conf = conf;
	proxy->store = store;
	proxy->audit = audit;
	proxy->learn = conf->policy_mode == 1;
	proxy->max_pending = conf->policy_max_pending;
	proxy->cache = cache;
	proxy->fetcher = fetcher;
	atomic_init(&proxy->next_id, 0);

	/* The front door owns the listening socket and hands libmicrohttpd
	 * the connections, plain or from inside a tunnel. */
	fd = http_open_socket("proxy", &conf->proxy_listen);
	if (fd < 0 || (proxy->front = front_create(conf, ca, fd)) == NULL)
		goto fail;
	{
		struct MHD_OptionItem options[] = {
			{ MHD_OPTION_URI_LOG_CALLBACK,
			    (intptr_t)proxy_request_begin, proxy },
			{ MHD_OPTION_NOTIFY_COMPLETED,
			    (intptr_t)proxy_request_end, proxy },
			{ MHD_OPTION_NOTIFY_CONNECTION,
			    (intptr_t)proxy_connection_notify, proxy },
			{ MHD_OPTION_CONNECTION_LIMIT,
			    conf->proxy_connection_limit, NULL },
			{ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			    conf->proxy_per_ip_limit, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT,
			    conf->proxy_connection_timeout, NULL },
			/* Room for a request line of URL_MAX_LEN and headers. */
			{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL },
			{ MHD_OPTION_END, 0, NULL },
		};

		proxy->daemon = http_start("proxy", -1, conf->proxy_threads,
		    proxy_handle, proxy, options);
	}
	if (proxy->daemon == NULL || front_run(proxy->front, proxy->daemon) != 0)
		goto fail;
	return proxy;
fail:
	proxy_stop(proxy);
	return NULL;
}

int
proxy_reload(struct proxy *proxy, const struct conf *conf)
{
	if (front_reload(proxy->front, conf) != 0)
		return -1;
	proxy->learn = conf->policy_mode == 1;
	proxy->max_pending = conf->policy_max_pending;
	return 0;
}

void
proxy_quiesce(struct proxy *proxy)
{
	front_quiesce(proxy->front);
}

void
proxy_stop(struct proxy *proxy)
{
	if (proxy == NULL)
		return;
	/* The front door goes first, so that nothing is added to a stopped
	 * libmicrohttpd. */
	front_free(proxy->front);
	if (proxy->daemon != NULL)
		MHD_stop_daemon(proxy->daemon);
	free(proxy);
}
