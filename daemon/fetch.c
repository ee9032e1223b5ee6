/* SPDX-License-Identifier: MIT */
/* Upstream fetches with libcurl, one thread per running fetch, bounded by
 * upstream.max_fetches. Waiting clients hold no thread: their connections
 * are suspended in libmicrohttpd and resumed when the fetch ends. */
#include "config.h"
#include "fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "metrics.h"
#include "netpolicy.h"

#define FETCH_BUFFER_SIZE (512 * 1024)
/* Bytes written between two starts of writeback, so that the disk works
 * while the transfer goes on and the fsync at the end has little left. */
#define FETCH_WRITEBACK_STEP (16 * 1024 * 1024)
/* Milliseconds the mismatch report may spend, mostly on gunzipping. */
#define FETCH_REPORT_MS 2000
/* URLs of a redirect chain kept for the report: the pinned one and up to
 * 20 redirects, the largest upstream.max_redirects. */
#define FETCH_CHAIN_MAX 21

/* The upstream settings that SIGHUP can change. A fetch holds a
 * reference for its whole transfer, so a reload never changes the limits
 * or frees the CA list of a transfer in flight. */
struct fetch_settings {
	int			 refs;		/* guarded by fetcher->lock */
	unsigned		 connect_timeout, timeout;	/* seconds */
	unsigned		 low_speed_limit, low_speed_time;
	unsigned		 max_redirects;
	unsigned		 max_fetches;
	uint64_t		 max_object_size;
	STACK_OF(X509)		*extra_cas;	/* from upstream.ca_file */
	struct netpolicy	 policy;	/* allow_private, allow_addresses */
	char			*proxy;		/* upstream.proxy, or NULL */
};

struct fetch {
	struct fetcher		*fetcher;
	struct fetch_settings	*settings;
	struct fetch		*next;		/* in fetcher->running */
	char			*url;
	struct digest		 expected;	/* the pin: SHA-256 or SHA-512 */
	char			 expected_text[DIGEST_TEXT_MAX];	/* canonical */
	uint64_t		 request_id;	/* request that started it */
	char			 client[64];
	int			 allow_insecure_redirect;
	int			 learn;		/* no digest: observe it for review */
	int			 refs;		/* the thread plus each waiter */
	struct MHD_Connection	**waiters;
	size_t			 nwaiters, waiters_cap;
	struct fetch_result	 result;
};

struct fetcher {
	struct cache		*cache;
	struct store		*store;

	pthread_mutex_t		 lock;		/* guards everything below */
	struct fetch_settings	*settings;	/* for fetches that start now */
	pthread_cond_t		 idle;		/* signalled when active drops */
	struct fetch		*running;
	unsigned		 active;	/* fetch threads running */
	unsigned		 waiters;	/* references held by requests */
	volatile int		 stopping;
};

/* State of one transfer, owned by the fetch thread. */
struct transfer {
	struct fetch	*fetch;
	CURL		*curl;
	int		 fd;
	struct digest_hasher *hasher;
	uint64_t	 size;
	uint64_t	 written_back;	/* bytes handed to writeback so far */
	uint64_t	 max_size;
	long		 bad_status;	/* non-200 final status seen in write */
	int		 too_large;
	int		 write_errno;
	int		 html_redirect;	/* redirect ended at an HTML page */
	/* Addresses that fetch_open_socket refused, as "ADDR (RANGE), ..."
	 * and as the CIDRs that would allow them, for the error message. */
	unsigned	 nblocked;
	char		 blocked[256];
	char		 blocked_cidrs[160];
};

static void
fetch_fail(struct fetch *fetch, unsigned status, const char *verdict,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fetch_fail(struct fetch *fetch, unsigned status, const char *verdict,
    const char *fmt, ...)
{
	va_list ap;

	fetch->result.status = status;
	fetch->result.verdict = verdict;
	va_start(ap, fmt);
	vsnprintf(fetch->result.message, sizeof(fetch->result.message), fmt, ap);
	va_end(ap);
}

static STACK_OF(X509) *
load_cas(const char *path)
{
	STACK_OF(X509) *cas;
	X509 *cert;
	FILE *fp;

	fp = fopen(path, "r");
	if (fp == NULL) {
		log_errno("upstream ca_file %s: cannot open", path);
		return NULL;
	}
	cas = sk_X509_new_null();
	while (cas != NULL && (cert = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		sk_X509_push(cas, cert);
	fclose(fp);
	if (cas == NULL || sk_X509_num(cas) == 0) {
		log_error("upstream ca_file %s: no PEM certificate found", path);
		sk_X509_pop_free(cas, X509_free);
		return NULL;
	}
	return cas;
}

int
fetcher_check_ca_file(const char *path)
{
	STACK_OF(X509) *cas = load_cas(path);

	sk_X509_pop_free(cas, X509_free);
	return cas != NULL ? 0 : -1;
}

/* Adds upstream.ca_file's certificates to those libcurl trusts already. */
static CURLcode
fetch_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	struct fetch_settings *settings = arg;
	X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);
	int i;

	for (i = 0; i < sk_X509_num(settings->extra_cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(settings->extra_cas, i));
	return CURLE_OK;
}

static void
settings_free(struct fetch_settings *settings)
{
	if (settings == NULL)
		return;
	sk_X509_pop_free(settings->extra_cas, X509_free);
	free(settings->proxy);
	free(settings);
}

/* Drops a reference to settings. Called with the fetcher's lock held. */
static void
settings_unref(struct fetch_settings *settings)
{
	if (settings != NULL && --settings->refs == 0)
		settings_free(settings);
}

/* Reads the upstream settings out of conf and loads upstream.ca_file.
 * Returns NULL after logging. */
static struct fetch_settings *
settings_create(const struct conf *conf)
{
	struct fetch_settings *settings;
	const curl_version_info_data *cv;
	const char *bad, *err;
	size_t badlen;

	settings = calloc(1, sizeof(*settings));
	if (settings == NULL) {
		log_error("fetch: out of memory");
		return NULL;
	}
	settings->refs = 1;
	settings->connect_timeout = conf->upstream_connect_timeout;
	settings->timeout = conf->upstream_timeout;
	settings->low_speed_limit = conf->upstream_low_speed_limit;
	settings->low_speed_time = conf->upstream_low_speed_time;
	settings->max_redirects = conf->upstream_max_redirects;
	settings->max_fetches = conf->upstream_max_fetches;
	settings->max_object_size = conf->max_object_size;
	if (netpolicy_init(&settings->policy, conf->upstream_allow_private,
	    conf->upstream_allow_addresses, &bad, &badlen, &err) != 0) {
		/* conf_load checked the list already. */
		log_error("upstream allow_addresses: invalid CIDR \"%.*s\": %s",
		    (int)badlen, bad, err);
		settings_free(settings);
		return NULL;
	}
	if (conf->upstream_proxy != NULL &&
	    (settings->proxy = strdup(conf->upstream_proxy)) == NULL) {
		log_error("fetch: out of memory");
		settings_free(settings);
		return NULL;
	}
	if (conf->upstream_ca_file == NULL)
		return settings;

	cv = curl_version_info(CURLVERSION_NOW);
	if (cv->ssl_version == NULL ||
	    strncmp(cv->ssl_version, "OpenSSL", 7) != 0) {
		log_error("upstream ca_file needs libcurl built with "
		    "OpenSSL, but it uses %s", cv->ssl_version ?
		    cv->ssl_version : "no TLS library");
		settings_free(settings);
		return NULL;
	}
	settings->extra_cas = load_cas(conf->upstream_ca_file);
	if (settings->extra_cas == NULL) {
		settings_free(settings);
		return NULL;
	}
	return settings;
}

struct fetcher *
fetcher_create(const struct conf *conf, struct cache *cache,
    struct store *store)
{
	struct fetcher *fetcher;

	fetcher = calloc(1, sizeof(*fetcher));
	if (fetcher == NULL) {
		log_error("fetch: out of memory");
		return NULL;
	}
	fetcher->cache = cache;
	fetcher->store = store;
	pthread_mutex_init(&fetcher->lock, NULL);
	pthread_cond_init(&fetcher->idle, NULL);
	fetcher->settings = settings_create(conf);
	if (fetcher->settings == NULL) {
		fetcher_free(fetcher);
		return NULL;
	}
	return fetcher;
}

int
fetcher_reload(struct fetcher *fetcher, const struct conf *conf)
{
	struct fetch_settings *settings = settings_create(conf);

	if (settings == NULL)
		return -1;
	pthread_mutex_lock(&fetcher->lock);
	settings_unref(fetcher->settings);
	fetcher->settings = settings;
	pthread_mutex_unlock(&fetcher->lock);
	return 0;
}

unsigned
fetcher_max_fetches(struct fetcher *fetcher)
{
	unsigned max;

	pthread_mutex_lock(&fetcher->lock);
	max = fetcher->settings->max_fetches;
	pthread_mutex_unlock(&fetcher->lock);
	return max;
}

unsigned
fetcher_active(struct fetcher *fetcher)
{
	unsigned active;

	pthread_mutex_lock(&fetcher->lock);
	active = fetcher->active;
	pthread_mutex_unlock(&fetcher->lock);
	return active;
}

void
fetcher_free(struct fetcher *fetcher)
{
	if (fetcher == NULL)
		return;
	settings_unref(fetcher->settings);
	pthread_cond_destroy(&fetcher->idle);
	pthread_mutex_destroy(&fetcher->lock);
	free(fetcher);
}

/* Copies the host of url into out, with brackets around an IPv6 literal,
 * or "?" when url cannot be parsed. */
static void
url_host(const char *url, char *out, size_t outsize)
{
	CURLU *u = curl_url();
	char *host = NULL;

	if (u != NULL && url != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		snprintf(out, outsize, "%s", host);
	else
		snprintf(out, outsize, "?");
	curl_free(host);
	curl_url_cleanup(u);
}

/* Tells whether the path of the normalised URL url ends in .html or .htm,
 * so that an HTML page is what its pin expects. */
static int
url_names_html(const char *url)
{
	const char *path, *scheme_end = strstr(url, "://");
	size_t len;

	if (scheme_end == NULL)
		return 0;
	path = strchr(scheme_end + 3, '/');
	if (path == NULL)
		return 0;
	len = strcspn(path, "?");
	return (len >= 5 && strncasecmp(path + len - 5, ".html", 5) == 0) ||
	    (len >= 4 && strncasecmp(path + len - 4, ".htm", 4) == 0);
}

/* Tells whether a redirected transfer ended at an HTML page although the
 * pinned URL does not name one. Such a page is most likely a login or
 * error page, never the artifact, so it is rejected before it is hashed. */
static int
transfer_redirected_to_html(struct transfer *t)
{
	long redirects = 0;
	char *type = NULL;

	if (curl_easy_getinfo(t->curl, CURLINFO_REDIRECT_COUNT, &redirects) !=
	    CURLE_OK || redirects == 0)
		return 0;
	if (curl_easy_getinfo(t->curl, CURLINFO_CONTENT_TYPE, &type) !=
	    CURLE_OK || type == NULL)
		return 0;
	type += strspn(type, " \t");
	if (strncasecmp(type, "text/html", 9) != 0 ||
	    (type[9] != '\0' && type[9] != ';' && type[9] != ' ' &&
	    type[9] != '\t'))
		return 0;
	return !url_names_html(t->fetch->url);
}

/* Creates the socket of every connection that libcurl opens for this
 * transfer: to the origin, to each redirect target and to upstream.proxy.
 * An address that the policy refuses gets no socket, so nothing is sent to
 * it, and libcurl tries the host's next address or fails with
 * CURLE_COULDNT_CONNECT. */
static curl_socket_t
fetch_open_socket(void *arg, curlsocktype purpose,
    struct curl_sockaddr *address)
{
	struct transfer *t = arg;
	const struct sockaddr *sa = &address->addr;
	char addr[INET6_ADDRSTRLEN + 32], entry[sizeof(addr) + 128];
	const char *range;
	size_t len;
	int bits = 0;

	(void)purpose;
	range = netpolicy_check(&t->fetch->settings->policy, sa);
	if (range == NULL)
		return socket(address->family, address->socktype | SOCK_CLOEXEC,
		    address->protocol);

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    addr, sizeof(addr));
		bits = 32;
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    addr, sizeof(addr));
		bits = 128;
	} else
		snprintf(addr, sizeof(addr), "address family %d", sa->sa_family);
	log_info("fetch req=%llu refused upstream address=%s range=\"%s\"",
	    (unsigned long long)t->fetch->request_id, addr, range);

	/* Each address is listed once, however often libcurl retries it;
	 * addresses that no longer fit are left out of the message. */
	snprintf(entry, sizeof(entry), "%s (%s)", addr, range);
	if (strstr(t->blocked, entry) == NULL) {
		len = strlen(t->blocked);
		if (len + strlen(entry) + 3 < sizeof(t->blocked))
			snprintf(t->blocked + len, sizeof(t->blocked) - len,
			    "%s%s", t->nblocked > 0 ? ", " : "", entry);
		len = strlen(t->blocked_cidrs);
		if (bits != 0 &&
		    len + strlen(addr) + 6 < sizeof(t->blocked_cidrs))
			snprintf(t->blocked_cidrs + len,
			    sizeof(t->blocked_cidrs) - len, "%s%s/%d",
			    len > 0 ? " " : "", addr, bits);
		t->nblocked++;
	}
	return CURL_SOCKET_BAD;
}

static size_t
fetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * nmemb, done = 0;
	long status = 0;

	/* Only a 200 is an artifact: reject anything else before a byte of it
	 * is hashed or stored. Redirect bodies never reach this callback. */
	if (t->size == 0) {
		curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200) {
			t->bad_status = status;
			return 0;
		}
		if (transfer_redirected_to_html(t)) {
			t->html_redirect = 1;
			return 0;
		}
	}
	if (len > t->max_size - t->size) {
		t->too_large = 1;
		return 0;
	}
	while (done < len) {
		ssize_t n = write(t->fd, data + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			t->write_errno = errno;
			return 0;
		}
		done += (size_t)n;
	}
	if (digest_hasher_update(t->hasher, data, len) != 0) {
		t->write_errno = EIO;
		return 0;
	}
	t->size += len;
	metrics_count_upstream(len);
	if (t->size - t->written_back >= FETCH_WRITEBACK_STEP) {
		/* Starts writeback without waiting for it; errors surface at
		 * the fsync before the rename. */
		sync_file_range(t->fd, (off_t)t->written_back,
		    (off_t)(t->size - t->written_back), SYNC_FILE_RANGE_WRITE);
		t->written_back = t->size;
	}
	return len;
}

static int
fetch_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct fetcher *fetcher = arg;

	return fetcher->stopping ? 1 : 0;
}

static CURL *
fetch_easy_create(struct fetcher *fetcher, struct transfer *t,
    struct curl_slist *headers, char *errbuf)
{
	const struct fetch_settings *settings = t->fetch->settings;
	CURL *curl;

	curl = curl_easy_init();
	if (curl == NULL)
		return NULL;
	curl_easy_setopt(curl, CURLOPT_URL, t->fetch->url);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* A pin on https is not followed to plain http, where anyone on the
	 * network path could send the response. */
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR,
	    strncmp(t->fetch->url, "https:", 6) == 0 &&
	    !t->fetch->allow_insecure_redirect ? "https" : "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long)settings->max_redirects);
	/* Every connection goes through fetch_open_socket. The handle is new
	 * for each fetch and shares no connection cache, so a connection
	 * opened under other settings, or by another fetch, is never reused. */
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, fetch_open_socket);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, t);
	/* Never use a proxy from the environment: the daemon may be that
	 * proxy. With upstream.proxy set, an empty NOPROXY stops no_proxy
	 * from the environment from exempting hosts. */
	if (settings->proxy != NULL) {
		curl_easy_setopt(curl, CURLOPT_PROXY, settings->proxy);
		curl_easy_setopt(curl, CURLOPT_NOPROXY, "");
	} else
		curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "hashgate/" PACKAGE_VERSION);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)settings->connect_timeout);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)settings->timeout);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, (long)settings->low_speed_limit);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)settings->low_speed_time);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)settings->max_object_size);
	curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, (long)FETCH_BUFFER_SIZE);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, fetch_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, fetcher);
	if (settings->extra_cas != NULL) {
		curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, fetch_ssl_ctx);
		curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, settings);
	}
	return curl;
}

/* Fails fetch for a connection that the address policy refused. */
static void
fetch_fail_blocked(struct fetch *fetch, struct transfer *t, const char *host)
{
	const char *proxy = fetch->settings->proxy;
	const char *role = "upstream host";
	char proxy_host[256];

	/* With a proxy, libcurl connects to the proxy only. */
	if (proxy != NULL) {
		url_host(proxy, proxy_host, sizeof(proxy_host));
		host = proxy_host;
		role = "upstream proxy";
	}
	fetch_fail(fetch, 502, "blocked-address",
	    "%s %s resolves to %s: %s; hashgated connects only to public "
	    "addresses.\n"
	    "To allow it, add %s to [upstream] allow_addresses, or set "
	    "[upstream] allow_private = yes",
	    role, host, t->nblocked > 1 ? "non-public addresses" :
	    "a non-public address", t->blocked, t->blocked_cidrs);
}

/* Maps a failed transfer to the client's status and message. */
static void
fetch_classify(struct fetch *fetch, struct transfer *t, CURLcode rc,
    const char *errbuf)
{
	long status = 0, redirects = 0;
	char *last_url = NULL, host[256];

	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->curl, CURLINFO_REDIRECT_COUNT, &redirects);
	/* After a redirect this is the URL of the last request. */
	curl_easy_getinfo(t->curl, CURLINFO_EFFECTIVE_URL, &last_url);
	url_host(last_url, host, sizeof(host));

	if (t->nblocked > 0 && rc == CURLE_COULDNT_CONNECT) {
		fetch_fail_blocked(fetch, t, host);
	} else if (rc == CURLE_UNSUPPORTED_PROTOCOL && redirects > 0 &&
	    strncmp(fetch->url, "https:", 6) == 0 && last_url != NULL &&
	    strncmp(last_url, "http:", 5) == 0) {
		fetch_fail(fetch, 502, "insecure-redirect",
		    "upstream redirected from https to plain http (%s after %ld "
		    "redirect%s); hashgated follows a redirect of an https URL "
		    "only to https",
		    host, redirects, redirects == 1 ? "" : "s");
	} else if (t->html_redirect) {
		fetch_fail(fetch, 502, "upstream-error",
		    "the redirect ended at an HTML page on %s after %ld "
		    "redirect%s, likely a login or error page, not the artifact",
		    host, redirects, redirects == 1 ? "" : "s");
	} else if ((t->bad_status != 0 || rc == CURLE_HTTP_RETURNED_ERROR) &&
	    redirects > 0) {
		fetch_fail(fetch, 502, "upstream-error",
		    "upstream answered HTTP %ld instead of 200 from %s after "
		    "%ld redirect%s", t->bad_status ? t->bad_status : status,
		    host, redirects, redirects == 1 ? "" : "s");
	} else if (t->bad_status != 0 || rc == CURLE_HTTP_RETURNED_ERROR) {
		fetch_fail(fetch, 502, "upstream-error",
		    "upstream answered HTTP %ld instead of 200",
		    t->bad_status ? t->bad_status : status);
	} else if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		fetch_fail(fetch, 502, "too-large",
		    "upstream object is larger than max_object_size (%llu bytes)",
		    (unsigned long long)fetch->settings->max_object_size);
	} else if (t->write_errno == ENOSPC || t->write_errno == EDQUOT ||
	    t->write_errno == EFBIG) {
		fetch_fail(fetch, 507, "disk-full",
		    "cannot store the object: %s", strerror(t->write_errno));
	} else if (t->write_errno != 0) {
		fetch_fail(fetch, 500, "disk-error",
		    "cannot store the object: %s", strerror(t->write_errno));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		fetch_fail(fetch, 504, "upstream-timeout",
		    "upstream timed out: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		fetch_fail(fetch, 503, "stopping", "hashgated is shutting down");
	} else {
		fetch_fail(fetch, 502, "upstream-error", "upstream fetch failed: %s%s",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc),
		    rc == CURLE_PEER_FAILED_VERIFICATION ? "; if the upstream "
		    "uses a private CA, add it to [upstream] ca_file" : "");
	}
}

/* Reads the redirect chain of a finished transfer: the pinned URL, then
 * every Location, resolved against the URL it came from. Fills chain
 * with heap strings and returns their number. */
static size_t
transfer_chain(struct transfer *t, char **chain, size_t max)
{
	struct curl_header *location;
	long redirects = 0, i;
	size_t n = 0;
	CURLU *u;
	char *next;

	if ((chain[n] = strdup(t->fetch->url)) == NULL)
		return 0;
	n++;
	curl_easy_getinfo(t->curl, CURLINFO_REDIRECT_COUNT, &redirects);
	if ((u = curl_url()) == NULL)
		return n;
	curl_url_set(u, CURLUPART_URL, t->fetch->url, 0);
	for (i = 0; i < redirects && n < max; i++) {
		if (curl_easy_header(t->curl, "Location", 0, CURLH_HEADER, (int)i,
		    &location) != CURLHE_OK ||
		    curl_url_set(u, CURLUPART_URL, location->value, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_URL, &next, 0) != CURLUE_OK)
			break;
		chain[n] = strdup(next);
		curl_free(next);
		if (chain[n] == NULL)
			break;
		n++;
	}
	curl_url_cleanup(u);
	return n;
}

/* Fills the report of a mismatch: the redirect chain, and what the body
 * suggests happened, such as a gzip-compressed copy or an error page.
 * NOTE: this runs before the waiting clients get their 502, so a large
 * gzip body delays them by up to FETCH_REPORT_MS. */
static void
fetch_explain(struct fetch *fetch, struct transfer *t,
    const struct digest *observed)
{
	const struct report_limits limits = {
		.max_inflated = REPORT_MAX_INFLATED, .max_ms = FETCH_REPORT_MS,
	};
	struct report_input in;
	struct curl_header *encoding;
	char *chain[FETCH_CHAIN_MAX];
	size_t n, i;

	memset(&in, 0, sizeof(in));
	n = transfer_chain(t, chain, FETCH_CHAIN_MAX);
	in.expected = &fetch->expected;
	in.observed = observed;
	in.content_type = fetch->result.content_type[0] ?
	    fetch->result.content_type : NULL;
	if (curl_easy_header(t->curl, "Content-Encoding", 0, CURLH_HEADER, -1,
	    &encoding) == CURLHE_OK)
		in.content_encoding = encoding->value;
	in.chain = (const char *const *)chain;
	in.nchain = n;
	report_mismatch(t->fd, &in, &limits, fetch->result.report,
	    sizeof(fetch->result.report));
	if (n > 1)
		report_format_chain(in.chain, n, fetch->result.redirects,
		    sizeof(fetch->result.redirects));
	for (i = 0; i < n; i++)
		free(chain[i]);
}

/* Checks the digest of a complete transfer and commits or removes it.
 * The object is stored under its SHA-256, whichever digest was pinned. */
static void
fetch_verify(struct fetch *fetch, struct transfer *t, const char *tmp_path)
{
	struct fetcher *fetcher = fetch->fetcher;
	struct digest sha256, sha512, *observed;
	char observed_text[DIGEST_TEXT_MAX];

	if (fetch->learn) {
		/* The object goes into the cache under its own digest, where
		 * only a pin with that digest, after review, can reach it. */
		if (digest_hasher_final(t->hasher, &sha256, NULL) != 0) {
			fetch_fail(fetch, 500, "hash-error", "computing the digest failed");
			cache_discard(t->fd, tmp_path);
			return;
		}
		digest_to_hex(sha256.raw, fetch->result.sha256);
		if (cache_commit(fetcher->cache, t->fd, tmp_path,
		    fetch->result.sha256) != 0) {
			fetch_fail(fetch, 500, "disk-error", "cannot store the object");
			return;
		}
		fetch->result.status = 200;
		fetch->result.verdict = "quarantined";
		return;
	}

	if (digest_hasher_final(t->hasher, &sha256,
	    fetch->expected.alg == DIGEST_SHA512 ? &sha512 : NULL) != 0) {
		fetch_fail(fetch, 500, "hash-error", "computing the digest failed");
		cache_discard(t->fd, tmp_path);
		return;
	}
	digest_to_hex(sha256.raw, fetch->result.sha256);
	observed = fetch->expected.alg == DIGEST_SHA512 ? &sha512 : &sha256;
	digest_format(observed, observed_text, sizeof(observed_text));
	if (memcmp(observed->raw, fetch->expected.raw,
	    digest_alg_len(fetch->expected.alg)) != 0) {
		fetch_explain(fetch, t, observed);
		cache_discard(t->fd, tmp_path);
		fetch_fail(fetch, 502, "mismatch",
		    "digest mismatch for %s\nexpected %s\nobserved %s",
		    fetch->url, fetch->expected_text, observed_text);
		return;
	}
	if (cache_commit(fetcher->cache, t->fd, tmp_path, fetch->result.sha256) != 0) {
		fetch_fail(fetch, 500, "disk-error", "cannot store the verified object");
		return;
	}
	if (fetch->expected.alg == DIGEST_SHA512) {
		char hex512[DIGEST512_HEX_LEN + 1];

		/* The pin learns the SHA-256 that the cache uses as the name. */
		snprintf(hex512, sizeof(hex512), "%s", fetch->expected_text + 7);
		store_pin_learn_sha256(fetcher->store, fetch->url, hex512,
		    fetch->result.sha256);
	}
	fetch->result.status = 200;
	fetch->result.verdict = "verified";
}

static void
fetch_run(struct fetch *fetch)
{
	struct fetcher *fetcher = fetch->fetcher;
	struct transfer t = { .fetch = fetch, .fd = -1 };
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", tmp_path[PATH_MAX];
	CURLcode rc;

	t.max_size = fetch->settings->max_object_size;
	t.fd = cache_tmp_create(fetcher->cache, tmp_path);
	if (t.fd < 0) {
		fetch_fail(fetch, 500, "disk-error", "cannot create a temporary file");
		return;
	}
	t.hasher = digest_hasher_new(fetch->expected.alg == DIGEST_SHA512);
	/* Identity encoding, so that the bytes hashed are the artifact's own. */
	headers = curl_slist_append(NULL, "Accept-Encoding: identity");
	if (t.hasher == NULL || headers == NULL ||
	    (t.curl = fetch_easy_create(fetcher, &t, headers, errbuf)) == NULL) {
		fetch_fail(fetch, 500, "internal-error", "cannot set up the transfer");
		cache_discard(t.fd, tmp_path);
		goto out;
	}

	rc = curl_easy_perform(t.curl);
	fetch->result.size = t.size;
	{
		char *type = NULL;

		/* Escaped, because upstream chose the bytes and they go
		 * into logs, the database and JSON. */
		if (curl_easy_getinfo(t.curl, CURLINFO_CONTENT_TYPE, &type) ==
		    CURLE_OK && type != NULL)
			log_escape_quoted(type, fetch->result.content_type,
			    sizeof(fetch->result.content_type));
	}
	if (rc == CURLE_OK && t.size == 0) {
		/* An empty body never reached fetch_write's checks. */
		curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.bad_status);
		if (t.bad_status == 200)
			t.bad_status = 0;
		t.html_redirect = transfer_redirected_to_html(&t);
	}
	if (rc != CURLE_OK || t.bad_status != 0 || t.html_redirect) {
		fetch_classify(fetch, &t, rc, errbuf);
		cache_discard(t.fd, tmp_path);
	} else
		fetch_verify(fetch, &t, tmp_path);
out:
	curl_easy_cleanup(t.curl);
	curl_slist_free_all(headers);
	digest_hasher_free(t.hasher);
}

/* Frees a fetch once its last reference is gone. Called with the lock held. */
static void
fetch_unref(struct fetch *fetch)
{
	if (--fetch->refs > 0)
		return;
	settings_unref(fetch->settings);
	free(fetch->waiters);
	free(fetch->url);
	free(fetch);
}

static void *
fetch_thread(void *arg)
{
	struct fetch *fetch = arg, **pp;
	struct fetcher *fetcher = fetch->fetcher;
	struct timespec start, end;
	size_t i;
	char url[256];

	clock_gettime(CLOCK_MONOTONIC, &start);
	fetch_run(fetch);
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (fetch->learn)
		store_pending_result(fetcher->store, fetch->url,
		    fetch->result.status == 200 ? fetch->result.sha256 : NULL,
		    fetch->result.size, fetch->result.content_type[0] ?
		    fetch->result.content_type : NULL,
		    fetch->result.status == 200 ? NULL : fetch->result.message);
	metrics_observe_fetch(fetch->result.status == 200,
	    (uint64_t)((end.tv_sec - start.tv_sec) * 1000000000LL +
	    (end.tv_nsec - start.tv_nsec)));

	log_escape(fetch->url, url, sizeof(url));
	if (fetch->result.status == 200)
		log_info("fetch req=%llu url=%s verdict=%s bytes=%llu digest=%s sha256=%s duration_ms=%ld",
		    (unsigned long long)fetch->request_id, url,
		    fetch->result.verdict,
		    (unsigned long long)fetch->result.size, fetch->expected_text,
		    fetch->result.sha256,
		    (long)((end.tv_sec - start.tv_sec) * 1000 +
		    (end.tv_nsec - start.tv_nsec) / 1000000));
	else {
		char reason[600];

		log_escape_quoted(fetch->result.message, reason, sizeof(reason));
		log_warning("fetch req=%llu url=%s verdict=%s status=%u bytes=%llu expected=%s observed_sha256=%s error=\"%s\"",
		    (unsigned long long)fetch->request_id, url,
		    fetch->result.verdict, fetch->result.status,
		    (unsigned long long)fetch->result.size, fetch->expected_text,
		    fetch->result.sha256[0] ? fetch->result.sha256 : "-",
		    reason);
	}

	pthread_mutex_lock(&fetcher->lock);
	for (pp = &fetcher->running; *pp != NULL; pp = &(*pp)->next)
		if (*pp == fetch) {
			*pp = fetch->next;
			break;
		}
	for (i = 0; i < fetch->nwaiters; i++)
		MHD_resume_connection(fetch->waiters[i]);
	fetch->nwaiters = 0;
	fetcher->active--;
	pthread_cond_broadcast(&fetcher->idle);
	fetch_unref(fetch);
	pthread_mutex_unlock(&fetcher->lock);
	return NULL;
}

static int
fetch_add_waiter(struct fetch *fetch, struct MHD_Connection *conn)
{
	if (fetch->nwaiters == fetch->waiters_cap) {
		size_t cap = fetch->waiters_cap ? 2 * fetch->waiters_cap : 8;
		struct MHD_Connection **w;

		w = reallocarray(fetch->waiters, cap, sizeof(*w));
		if (w == NULL)
			return -1;
		fetch->waiters = w;
		fetch->waiters_cap = cap;
	}
	fetch->waiters[fetch->nwaiters++] = conn;
	return 0;
}

/* Creates a fetch and starts its thread. Called with the lock held. */
static struct fetch *
fetch_start(struct fetcher *fetcher, const struct fetch_want *want,
    const char *expected_text, uint64_t request_id, const char *client)
{
	struct fetch *fetch;
	pthread_attr_t attr;
	pthread_t thread;
	int rc;

	fetch = calloc(1, sizeof(*fetch));
	if (fetch == NULL || (fetch->url = strdup(want->url)) == NULL) {
		free(fetch);
		log_error("fetch: out of memory");
		return NULL;
	}
	fetch->fetcher = fetcher;
	fetch->expected = want->digest;
	snprintf(fetch->expected_text, sizeof(fetch->expected_text), "%s",
	    expected_text);
	fetch->allow_insecure_redirect = want->allow_insecure_redirect;
	fetch->learn = want->learn;
	fetch->request_id = request_id;
	snprintf(fetch->client, sizeof(fetch->client), "%s", client);
	fetch->refs = 1;
	fetch->settings = fetcher->settings;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&thread, &attr, fetch_thread, fetch);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_error("fetch: cannot start a thread: %s", strerror(rc));
		free(fetch->url);
		free(fetch);
		return NULL;
	}
	fetcher->settings->refs++;
	fetch->next = fetcher->running;
	fetcher->running = fetch;
	fetcher->active++;
	return fetch;
}

enum fetch_join
fetcher_join(struct fetcher *fetcher, const struct fetch_want *want,
    uint64_t request_id, const char *client, struct MHD_Connection *conn,
    struct fetch **fetchp)
{
	enum fetch_join ret = FETCH_JOIN_FAILED;
	char expected_text[DIGEST_TEXT_MAX], hex[DIGEST_HEX_LEN + 1];
	struct fetch *fetch;

	digest_format(&want->digest, expected_text, sizeof(expected_text));
	pthread_mutex_lock(&fetcher->lock);

	/* A fetch commits its object before it leaves the running list, so
	 * under the lock an object is either in the cache or still running.
	 * Objects are named by SHA-256: a SHA-512 pin without a known SHA-256
	 * always fetches. */
	if (want->digest.alg == DIGEST_SHA256 && !want->skip_cache) {
		digest_to_hex(want->digest.raw, hex);
		if (cache_object_exists(fetcher->cache, hex)) {
			ret = FETCH_JOIN_CACHED;
			goto out;
		}
	}
	if (fetcher->stopping)
		goto out;

	for (fetch = fetcher->running; fetch != NULL; fetch = fetch->next)
		if (strcmp(fetch->url, want->url) == 0 && !fetch->learn &&
		    strcmp(fetch->expected_text, expected_text) == 0 &&
		    fetch->allow_insecure_redirect == want->allow_insecure_redirect)
			break;
	if (fetch == NULL) {
		if (fetcher->active >= fetcher->settings->max_fetches) {
			ret = FETCH_JOIN_BUSY;
			goto out;
		}
		/* The waiter is added before the thread can finish, because
		 * the thread needs this lock to resume its waiters. */
		fetch = fetch_start(fetcher, want, expected_text, request_id,
		    client);
		if (fetch == NULL)
			goto out;
	}
	if (fetch_add_waiter(fetch, conn) != 0) {
		log_error("fetch: out of memory");
		goto out;
	}
	fetch->refs++;
	fetcher->waiters++;
	MHD_suspend_connection(conn);
	*fetchp = fetch;
	ret = FETCH_JOIN_WAITING;
out:
	pthread_mutex_unlock(&fetcher->lock);
	return ret;
}

const struct fetch_result *
fetch_result(const struct fetch *fetch)
{
	return &fetch->result;
}

void
fetch_release(struct fetcher *fetcher, struct fetch *fetch)
{
	pthread_mutex_lock(&fetcher->lock);
	fetch_unref(fetch);
	fetcher->waiters--;
	pthread_cond_broadcast(&fetcher->idle);
	pthread_mutex_unlock(&fetcher->lock);
}

void
fetcher_stop(struct fetcher *fetcher, unsigned grace)
{
	struct timespec deadline;

	pthread_mutex_lock(&fetcher->lock);
	fetcher->stopping = 1;
	while (fetcher->active > 0)
		pthread_cond_wait(&fetcher->idle, &fetcher->lock);

	/* Resuming a connection only marks it: give the listener threads
	 * time to send each waiter its 503 before the listener closes. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += grace;
	while (fetcher->waiters > 0)
		if (pthread_cond_timedwait(&fetcher->idle, &fetcher->lock,
		    &deadline) != 0)
			break;
	if (fetcher->waiters > 0)
		log_warning("fetch: %u waiting clients got no response within %u s of shutdown",
		    fetcher->waiters, grace);
	pthread_mutex_unlock(&fetcher->lock);
}

int
fetcher_learn(struct fetcher *fetcher, const char *url, uint64_t request_id,
    const char *client)
{
	struct fetch_want want;
	struct fetch *fetch;
	int ret = 0;

	memset(&want, 0, sizeof(want));
	want.url = url;
	want.learn = 1;
	pthread_mutex_lock(&fetcher->lock);
	for (fetch = fetcher->running; fetch != NULL; fetch = fetch->next)
		if (fetch->learn && strcmp(fetch->url, url) == 0)
			goto out;
	if (fetcher->stopping || fetcher->active >= fetcher->settings->max_fetches ||
	    fetch_start(fetcher, &want, "-", request_id, client) == NULL)
		ret = -1;
out:
	pthread_mutex_unlock(&fetcher->lock);
	return ret;
}
