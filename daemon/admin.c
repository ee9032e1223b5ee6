/* SPDX-License-Identifier: MIT */
/* The admin API: GET /healthz, and with a bearer token the CA, pins,
 * tokens, audit events and Prometheus metrics. docs/admin-api.md is the
 * reference. */
#include "config.h"
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ca.h"
#include "digest.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "url.h"
#include "utf8.h"

#define TOKEN_BYTES	32		/* random bytes, written as hex */
#define TOKEN_MAX_LEN	512
/* Largest request body in bytes. POST /v1/pins/import accepts a larger
 * one, and only from a caller with the admin role, so that a request
 * without a valid token cannot make the daemon hold 8 MiB. */
#define BODY_MAX	(64 * 1024)
#define IMPORT_BODY_MAX	(8 * 1024 * 1024)
/* Entries accepted by one POST /v1/pins/import. */
#define IMPORT_ENTRIES_MAX 10000
/* Identity of the bootstrap token from token_file, which has the admin
 * role. No named token may take this name. */
#define ADMIN_IDENTITY	"admin"
/* Events returned by one GET /v1/events when no limit is given, and the
 * largest limit accepted. */
#define EVENTS_DEFAULT	1000
#define EVENTS_MAX	100000

enum admin_role { ROLE_NONE, ROLE_READER, ROLE_ADMIN };

/* The sender of a request, identified by its bearer token. */
struct admin_caller {
	enum admin_role	 role;
	char		 identity[STORE_NAME_MAX + 1];
	char		 client[64];	/* address */
};

struct admin {
	struct store		*store;
	struct fetcher		*fetcher;
	struct ca		*ca;
	struct cache		*cache;
	struct MHD_Daemon	*daemon;
	unsigned char		 token_hash[DIGEST_LEN];
};

/* A request: its caller and its body, collected across handler calls. */
struct admin_request {
	struct admin_caller	 caller;
	char			*body;
	size_t			 len;
	size_t			 cap;
	size_t			 body_max;
	int			 too_large;
	struct fetch		*fetch;		/* a prefetch this request waits for */
};

static const char *const allow_get[] = { "Allow", "GET", NULL };
static const char *const www_authenticate[] = {
	"WWW-Authenticate", "Bearer realm=\"hashgate\"", NULL
};

static int
token_printable(const char *token, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
			return 0;
	return 1;
}

/* Reads the token file, or creates it with a fresh token. The token is
 * kept only as its SHA-256, so that comparisons take the same time
 * whatever the length of the presented token. */
static int
admin_load_token(struct admin *admin, const char *path)
{
	char token[TOKEN_MAX_LEN + 2];
	unsigned char raw[TOKEN_BYTES];
	ssize_t n;
	size_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		char hex[2 * TOKEN_BYTES + 2];
		size_t i;

		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			log_error("admin: cannot generate a token: OpenSSL RAND_bytes failed");
			return -1;
		}
		for (i = 0; i < sizeof(raw); i++)
			snprintf(hex + 2 * i, 3, "%02x", raw[i]);
		hex[2 * TOKEN_BYTES] = '\n';
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, hex, 2 * TOKEN_BYTES + 1) !=
		    2 * TOKEN_BYTES + 1 || fsync(fd) != 0) {
			log_errno("admin: cannot create token file %s", path);
			if (fd >= 0) {
				close(fd);
				unlink(path);
			}
			return -1;
		}
		close(fd);
		log_info("admin: created token file %s with a new random token "
		    "(mode 0600)", path);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		log_errno("admin: cannot open token file %s", path);
		return -1;
	}
	n = read(fd, token, sizeof(token) - 1);
	close(fd);
	if (n < 0) {
		log_errno("admin: cannot read token file %s", path);
		return -1;
	}
	len = (size_t)n;
	while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r' ||
	    token[len - 1] == ' ' || token[len - 1] == '\t'))
		len--;
	if (len == 0 || (size_t)n > TOKEN_MAX_LEN || !token_printable(token, len)) {
		log_error("admin: token file %s must hold one token of 1 to %d "
		    "printable characters without spaces", path, TOKEN_MAX_LEN);
		return -1;
	}
	EVP_Digest(token, len, admin->token_hash, NULL, EVP_sha256(), NULL);
	OPENSSL_cleanse(token, sizeof(token));
	return 0;
}

/* Finds who sent the request from its bearer token: the bootstrap token
 * from token_file, or a valid named token. */
static void
admin_authenticate(struct admin *admin, struct MHD_Connection *conn,
    struct admin_caller *caller)
{
	unsigned char presented[DIGEST_LEN];
	char hex[DIGEST_HEX_LEN + 1];
	const char *auth;
	size_t len;
	int is_admin = 0;

	caller->role = ROLE_NONE;
	caller->identity[0] = '\0';
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return;
	auth += 7;
	while (*auth == ' ' || *auth == '\t')
		auth++;
	/* Whitespace around a field value is not part of it (RFC 9110 5.5). */
	len = strlen(auth);
	while (len > 0 && (auth[len - 1] == ' ' || auth[len - 1] == '\t'))
		len--;
	if (EVP_Digest(auth, len, presented, NULL, EVP_sha256(), NULL) != 1)
		return;
	if (CRYPTO_memcmp(presented, admin->token_hash, DIGEST_LEN) == 0) {
		caller->role = ROLE_ADMIN;
		snprintf(caller->identity, sizeof(caller->identity), "%s",
		    ADMIN_IDENTITY);
		return;
	}
	/* The lookup is by the token's SHA-256, which a caller cannot steer
	 * towards a stored value, so it leaks nothing through its timing. */
	digest_to_hex(presented, hex);
	if (store_token_lookup(admin->store, hex, caller->identity,
	    &is_admin) == 1)
		caller->role = is_admin ? ROLE_ADMIN : ROLE_READER;
}

/* Sends a JSON value and releases it. */
static enum MHD_Result
admin_json(struct MHD_Connection *conn, unsigned status, json_t *value,
    const char *const *headers)
{
	enum MHD_Result ret;
	char *text;

	text = value ? json_dumps(value, JSON_COMPACT) : NULL;
	json_decref(value);
	if (text == NULL)
		return http_respond_text(conn, 500, NULL, "out of memory");
	ret = http_respond(conn, status, "application/json", text,
	    strlen(text), headers);
	free(text);
	return ret;
}

static enum MHD_Result
admin_error(struct MHD_Connection *conn, unsigned status,
    const char *const *headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum MHD_Result
admin_error(struct MHD_Connection *conn, unsigned status,
    const char *const *headers, const char *fmt, ...)
{
	char msg[2 * URL_MAX_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The message may quote client bytes, or cut a character short. */
	utf8_sanitize(msg);
	return admin_json(conn, status, json_pack("{s:s}", "error", msg),
	    headers);
}

/* Sets member key of obj to text, or to null when text is NULL. Text
 * that is not valid UTF-8, which jansson refuses, has its bad bytes
 * replaced with '?', so that one odd value cannot fail a whole list.
 * Returns 0, or -1 when out of memory. */
static int
set_text(json_t *obj, const char *key, const char *text)
{
	json_t *value;
	char *copy;

	if (text == NULL)
		value = json_null();
	else if (utf8_valid(text, strlen(text)))
		value = json_string(text);
	else {
		if ((copy = strdup(text)) == NULL)
			return -1;
		value = json_string(utf8_sanitize(copy));
		free(copy);
	}
	return value == NULL ? -1 : json_object_set_new(obj, key, value);
}

/* Sets member key of obj to the integer n. Returns 0 or -1. */
static int
set_int(json_t *obj, const char *key, int64_t n)
{
	return json_object_set_new(obj, key, json_integer((json_int_t)n));
}

static json_t *
admin_pin_json(const struct store_pin *pin)
{
	char digest[DIGEST_TEXT_MAX];
	json_t *item = json_object();

	store_pin_digest(pin->sha256, pin->sha512, digest);
	if (item == NULL || set_text(item, "url", pin->url) != 0 ||
	    set_text(item, "digest", digest) != 0 ||
	    set_text(item, "sha256", pin->sha256[0] ? pin->sha256 : NULL) != 0 ||
	    set_text(item, "sha512", pin->sha512[0] ? pin->sha512 : NULL) != 0 ||
	    set_text(item, "note", pin->note) != 0 ||
	    set_text(item, "added_by", pin->added_by) != 0 ||
	    set_int(item, "added_at", pin->added_at) != 0 ||
	    json_object_set_new(item, "expires_at", pin->expires_at != 0 ?
	    json_integer((json_int_t)pin->expires_at) : json_null()) != 0 ||
	    json_object_set_new(item, "allow_http_redirect",
	    json_boolean(pin->allow_http_redirect)) != 0) {
		json_decref(item);
		return NULL;
	}
	return item;
}

/* Sends {"key": items}, or 500 naming what could not be read when the
 * store's foreach failed (rc != 0). Takes items over. */
static enum MHD_Result
admin_send_list(struct MHD_Connection *conn, const char *key, json_t *items,
    int rc, const char *what)
{
	if (items == NULL || rc != 0) {
		json_decref(items);
		return admin_error(conn, 500, NULL, "cannot read the %s", what);
	}
	return admin_json(conn, 200, json_pack("{s:o}", key, items), NULL);
}

static int
admin_list_add(void *arg, const struct store_pin *pin)
{
	json_t *item = admin_pin_json(pin);

	return item == NULL || json_array_append_new(arg, item) != 0;
}

static enum MHD_Result
admin_pins_list(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	json_t *pins = json_array();

	return admin_send_list(conn, "pins", pins, pins == NULL ? -1 :
	    store_pin_foreach(admin->store, admin_list_add, pins), "allowlist");
}

/* Parses the request body as a JSON object. Returns it, or NULL after
 * sending 400. */
static json_t *
admin_body(struct MHD_Connection *conn, struct admin_request *ar,
    enum MHD_Result *ret)
{
	json_error_t jerr;
	json_t *body;

	body = json_loadb(ar->body ? ar->body : "", ar->len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		*ret = admin_error(conn, 400, NULL,
		    "request body is not valid JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
	return body;
}

/* Reads the optional string member key of body into *value: NULL when
 * it is missing or null. Returns 0, or -1 when it is another type. */
static int
optional_string(json_t *body, const char *key, const char **value)
{
	json_t *member = json_object_get(body, key);

	*value = NULL;
	if (member == NULL || json_is_null(member))
		return 0;
	if (!json_is_string(member))
		return -1;
	*value = json_string_value(member);
	return 0;
}

/* Tells whether the client of a suspended request has closed its side of
 * the connection, which libmicrohttpd does not watch while a connection
 * is suspended. */
static int
client_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;
	char c;

	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info == NULL)
		return 0;
	return recv(info->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Fetches and verifies the artifact of a pin before it is added, so that
 * a wrong digest shows at registration. The first call starts or joins
 * the fetch and suspends the connection. libmicrohttpd calls the handler
 * again when the fetch ends, and that second call reads the result.
 * Returns 0 when the object is verified (a SHA-512 pin then gets its
 * SHA-256), 1 when the connection is suspended, or -1
 * after sending an error; *ret is the handler's return value for 1 and
 * -1. */
static int
admin_prefetch(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller,
    const char *url, const struct digest *digest, struct store_pin *pin,
    enum MHD_Result *ret)
{
	const struct fetch_result *res;
	struct fetch_want want;
	char message[2 * sizeof(res->message)];
	const char *p;
	size_t n;

	if (ar->fetch == NULL) {
		char sha256[DIGEST_HEX_LEN + 1], sha512[DIGEST512_HEX_LEN + 1];
		char existing[DIGEST_TEXT_MAX];

		/* A pinned URL gets its 409 now rather than after a download. */
		if (store_pin_lookup(admin->store, url, sha256, sha512, NULL) > 0) {
			store_pin_digest(sha256, sha512, existing);
			*ret = admin_error(conn, 409, NULL,
			    "%s is already pinned to %s", url, existing);
			return -1;
		}
		memset(&want, 0, sizeof(want));
		want.url = url;
		want.digest = *digest;
		want.allow_insecure_redirect = pin->allow_http_redirect;
		/* The point is to check what url serves, even when another
		 * URL brought the same object into the cache. */
		want.skip_cache = 1;
		switch (fetcher_join(admin->fetcher, &want, 0, caller->client,
		    conn, &ar->fetch)) {
		case FETCH_JOIN_WAITING:
			*ret = MHD_YES;
			return 1;
		case FETCH_JOIN_BUSY:
			*ret = admin_error(conn, 503, NULL, "cannot prefetch: all "
			    "upstream fetches are busy (max_fetches); retry later");
			return -1;
		default:
			*ret = admin_error(conn, 503, NULL, "cannot prefetch: the "
			    "fetch did not start; see the hashgated log");
			return -1;
		}
	}
	if (client_gone(conn)) {
		/* The client cannot receive the 201, so no pin is added. */
		char logged_url[256];

		log_warning("admin: prefetch client left before the result, "
		    "nothing pinned client=%s identity=%s url=%s", caller->client,
		    caller->identity, log_escape(url, logged_url,
		    sizeof(logged_url)));
		*ret = MHD_NO;
		return -1;
	}
	res = fetch_result(ar->fetch);
	if (res->status == 200) {
		memcpy(pin->sha256, res->sha256, sizeof(pin->sha256));
		return 0;
	}
	/* A mismatch means the digest given is wrong for what the URL
	 * serves: 422, since the request, not the upstream, is at fault.
	 * The message goes on one line, as clients print it. */
	for (p = res->message, n = 0; *p != '\0' && n + 3 < sizeof(message); p++) {
		if (*p == '\n') {
			message[n++] = ';';
			message[n++] = ' ';
		} else
			message[n++] = *p;
	}
	message[n] = '\0';
	*ret = admin_error(conn, strcmp(res->verdict, "mismatch") == 0 ? 422 :
	    res->status, NULL, "prefetch failed, nothing was pinned: %s",
	    message);
	return -1;
}

static enum MHD_Result
admin_pins_add(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	char url[URL_MAX_LEN + 1], text[DIGEST_TEXT_MAX];
	char existing[DIGEST_TEXT_MAX], logged_url[256], problem[DIGEST_ERROR_MAX];
	const char *raw_url, *raw_digest = NULL, *raw_sha256 = NULL, *note, *err;
	json_t *body, *note_value = NULL, *expires = NULL;
	struct store_pin pin;
	struct digest digest;
	json_error_t jerr;
	enum MHD_Result ret;
	const char *prefetched = NULL;
	int allow_empty = 0, prefetch = 0, allow_http_redirect = 0, rc;

	if ((body = admin_body(conn, ar, &ret)) == NULL)
		return ret;
	if (json_unpack_ex(body, &jerr, 0,
	    "{s:s, s?s, s?s, s?o, s?o, s?b, s?b, s?b !}", "url", &raw_url,
	    "digest", &raw_digest, "sha256", &raw_sha256, "note", &note_value,
	    "expires_at", &expires, "allow_empty", &allow_empty, "prefetch",
	    &prefetch, "allow_http_redirect", &allow_http_redirect) != 0 ||
	    (raw_digest == NULL) == (raw_sha256 == NULL)) {
		ret = admin_error(conn, 400, NULL,
		    "expected {\"url\": STRING, \"digest\": STRING, \"note\": STRING, "
		    "\"expires_at\": SECONDS, \"allow_empty\": BOOLEAN, "
		    "\"prefetch\": BOOLEAN, \"allow_http_redirect\": BOOLEAN}, with "
		    "\"sha256\" allowed in place of \"digest\": %s",
		    raw_digest != NULL && raw_sha256 != NULL ?
		    "both digest and sha256 given" : jerr.text[0] ? jerr.text :
		    "digest missing");
		goto out;
	}
	/* The note may be missing or null, as GET /v1/pins returns it. */
	if (optional_string(body, "note", &note) != 0) {
		ret = admin_error(conn, 400, NULL, "note must be a string or null");
		goto out;
	}
	if (url_normalise(raw_url, strlen(raw_url), url, sizeof(url), &err) != 0) {
		ret = admin_error(conn, 400, NULL, "invalid URL \"%.*s\": %s",
		    URL_MAX_LEN, raw_url, err);
		goto out;
	}
	if (raw_digest == NULL)
		raw_digest = raw_sha256;
	if (digest_parse_any_detail(raw_digest, &digest, problem,
	    sizeof(problem)) != 0) {
		ret = admin_error(conn, 400, NULL, "invalid digest \"%.150s\": %s",
		    raw_digest, problem);
		goto out;
	}
	if (raw_sha256 != NULL && digest.alg != DIGEST_SHA256) {
		ret = admin_error(conn, 400, NULL, "invalid sha256 \"%.150s\": it "
		    "is a SHA-512 digest; send it as \"digest\"", raw_sha256);
		goto out;
	}
	digest_format(&digest, text, sizeof(text));
	if (digest_is_empty_input(&digest) && !allow_empty) {
		ret = admin_error(conn, 400, NULL,
		    "%s is the digest of empty input, which would let an "
		    "empty upstream response verify; if the artifact really is "
		    "empty, pin it with allow_empty (hashgatectl add --allow-empty)",
		    text);
		goto out;
	}

	memset(&pin, 0, sizeof(pin));
	if (expires != NULL && !json_is_null(expires)) {
		if (!json_is_integer(expires) ||
		    json_integer_value(expires) <= (json_int_t)time(NULL)) {
			ret = admin_error(conn, 400, NULL,
			    "expires_at must be a time in the future, in seconds "
			    "since the epoch");
			goto out;
		}
		pin.expires_at = (int64_t)json_integer_value(expires);
	}
	pin.url = url;
	/* The canonical text is "sha256:" or "sha512:" and the hex. */
	if (digest.alg == DIGEST_SHA256)
		memcpy(pin.sha256, text + 7, sizeof(pin.sha256));
	else
		memcpy(pin.sha512, text + 7, sizeof(pin.sha512));
	pin.note = note;
	pin.added_by = caller->identity;
	pin.added_at = (int64_t)time(NULL);
	pin.allow_http_redirect = allow_http_redirect;
	if (prefetch) {
		rc = admin_prefetch(admin, conn, ar, caller, url, &digest, &pin,
		    &ret);
		if (rc != 0)
			goto out;	/* suspended, or failed with ret sent */
		prefetched = "verified";
	}
	rc = store_pin_add(admin->store, &pin, caller->client, existing);
	if (rc < 0)
		ret = admin_error(conn, 500, NULL, "cannot write the allowlist");
	else if (rc == 1)
		ret = admin_error(conn, 409, NULL,
		    "%s is already pinned to %s", url, existing);
	else {
		json_t *result = admin_pin_json(&pin);

		log_info("admin: pin added client=%s identity=%s url=%s digest=%s prefetch=%s",
		    caller->client, caller->identity,
		    log_escape(url, logged_url, sizeof(logged_url)), text,
		    prefetched != NULL ? prefetched : "no");
		if (result != NULL && prefetched != NULL)
			json_object_set_new(result, "prefetched",
			    json_string(prefetched));
		ret = admin_json(conn, 201, result, NULL);
	}
out:
	json_decref(body);
	return ret;
}

/* One entry of POST /v1/pins/import while it is checked. */
struct import_item {
	size_t		 index;		/* position in the pins array */
	json_int_t	 line;		/* from the request, 0 when not given */
	const char	*raw_url;	/* borrowed from the body, or NULL */
	char		*url;		/* normalised, NULL when invalid */
	char		 digest[DIGEST_TEXT_MAX];	/* canonical */
	char		*error;		/* NULL while the entry is valid */
	int		 error_static;	/* error is not allocated */
	int		 malformed;	/* the error is one of shape, not value */
};

static void
import_item_error(struct import_item *item, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the first error of item. When out of memory, the entry gets a
 * fixed message, so that it still counts as invalid. */
static void
import_item_error(struct import_item *item, const char *fmt, ...)
{
	static const char no_memory[] = "out of memory while describing the "
	    "error";
	va_list ap;
	int rc;

	if (item->error != NULL)
		return;
	va_start(ap, fmt);
	rc = vasprintf(&item->error, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		item->error = (char *)no_memory;
		item->error_static = 1;
	}
}

static void
import_items_free(struct import_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(items[i].url);
		if (!items[i].error_static)
			free(items[i].error);
	}
	free(items);
}

/* Checks one member of the pins array with the rules of POST /v1/pins,
 * except that the digest of empty input is never accepted. */
static void
import_item_check(struct import_item *item, json_t *value)
{
	char url[URL_MAX_LEN + 1], problem[DIGEST_ERROR_MAX];
	const char *raw_digest = NULL, *raw_sha256 = NULL, *err;
	struct digest digest;
	json_t *raw_url;
	json_error_t jerr;

	if (json_unpack_ex(value, &jerr, 0, "{s:o, s?s, s?s, s?I !}", "url",
	    &raw_url, "digest", &raw_digest, "sha256", &raw_sha256, "line",
	    &item->line) != 0 || (raw_digest == NULL) == (raw_sha256 == NULL)) {
		item->malformed = 1;
		import_item_error(item, "expected {\"url\": STRING, \"digest\": "
		    "STRING, \"line\": INTEGER}, with \"sha256\" allowed in "
		    "place of \"digest\": %s", jerr.text[0] ? jerr.text :
		    "exactly one of digest and sha256 is needed");
		return;
	}
	if (raw_digest == NULL)
		raw_digest = raw_sha256;
	if (json_is_string(raw_url))
		item->raw_url = json_string_value(raw_url);
	if (!json_is_string(raw_url) || (item->line < 1 &&
	    json_object_get(value, "line") != NULL)) {
		item->malformed = 1;
		import_item_error(item, "%s", !json_is_string(raw_url) ?
		    "url must be a string" : "line must be 1 or more");
		return;
	}
	if (url_normalise(item->raw_url, json_string_length(raw_url), url,
	    sizeof(url), &err) != 0) {
		import_item_error(item, "invalid URL: %s", err);
		return;
	}
	if (digest_parse_any_detail(raw_digest, &digest, problem,
	    sizeof(problem)) != 0) {
		import_item_error(item, "invalid digest \"%.100s\": %s",
		    raw_digest, problem);
		return;
	}
	if (raw_sha256 != NULL && digest.alg != DIGEST_SHA256) {
		import_item_error(item, "sha256 holds a SHA-512 digest; send it "
		    "as \"digest\"");
		return;
	}
	digest_format(&digest, item->digest, sizeof(item->digest));
	if (digest_is_empty_input(&digest)) {
		import_item_error(item, "%s is the digest of empty input, which "
		    "would let an empty upstream response verify; if the "
		    "artifact really is empty, pin it on its own with "
		    "allow_empty (hashgatectl add --allow-empty)", item->digest);
		return;
	}
	if ((item->url = strdup(url)) == NULL)
		import_item_error(item, "out of memory");
}

/* Orders valid entries by URL, and entries of one URL by position. */
static int
import_item_compare(const void *a, const void *b)
{
	const struct import_item *x = *(const struct import_item *const *)a;
	const struct import_item *y = *(const struct import_item *const *)b;
	int rc = strcmp(x->url, y->url);

	if (rc != 0)
		return rc;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Marks every entry that repeats the URL of an earlier entry with another
 * digest. The store would report it as a conflict with a pin that exists
 * only inside the rolled-back transaction. Returns 0, or -1 when out of
 * memory. */
static int
import_find_duplicates(struct import_item *items, size_t n)
{
	struct import_item **sorted, *first = NULL;
	size_t i, nvalid = 0;

	if ((sorted = calloc(n + 1, sizeof(*sorted))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (items[i].error == NULL)
			sorted[nvalid++] = &items[i];
	qsort(sorted, nvalid, sizeof(*sorted), import_item_compare);
	for (i = 0; i < nvalid; i++) {
		if (first == NULL || strcmp(first->url, sorted[i]->url) != 0) {
			first = sorted[i];
			continue;
		}
		if (strcmp(first->digest, sorted[i]->digest) == 0)
			continue;
		if (first->line > 0)
			import_item_error(sorted[i], "line %lld pins the same URL "
			    "to %s", (long long)first->line, first->digest);
		else
			import_item_error(sorted[i], "entry %zu pins the same URL "
			    "to %s", first->index, first->digest);
	}
	free(sorted);
	return 0;
}

/* Runs the valid entries through store_pin_import and records conflicts
 * as errors. Nothing is committed when check_only is set. Returns the
 * store's result: 0 committed, 1 rolled back, -1 error. */
static int
import_store(struct admin *admin, struct import_item *items, size_t n,
    const char *note, const struct admin_caller *caller, int check_only,
    size_t *added, size_t *existing)
{
	struct store_import *entries;
	struct import_item **owners;
	size_t i, m = 0;
	int rc;

	*added = *existing = 0;
	entries = calloc(n + 1, sizeof(*entries));
	owners = calloc(n + 1, sizeof(*owners));
	if (entries == NULL || owners == NULL) {
		free(entries);
		free(owners);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (items[i].error != NULL)
			continue;
		entries[m].url = items[i].url;
		entries[m].digest = items[i].digest;
		owners[m++] = &items[i];
	}
	rc = store_pin_import(admin->store, entries, m, note, caller->identity,
	    (int64_t)time(NULL), caller->client, check_only);
	for (i = 0; rc >= 0 && i < m; i++) {
		switch (entries[i].result) {
		case STORE_IMPORT_ADDED:
			(*added)++;
			break;
		case STORE_IMPORT_EXISTING:
			(*existing)++;
			break;
		case STORE_IMPORT_CONFLICT:
			import_item_error(owners[i], "already pinned to %s; "
			    "remove that pin first to change the digest",
			    entries[i].existing);
			break;
		case STORE_IMPORT_EXPIRED:
			import_item_error(owners[i], "has an expired pin to %s; "
			    "remove that pin first", entries[i].existing);
			break;
		}
	}
	free(entries);
	free(owners);
	return rc;
}

/* Sends 400 or 422 with every invalid entry, in request order. */
static enum MHD_Result
import_reject(struct MHD_Connection *conn, struct import_item *items,
    size_t n, size_t nerrors)
{
	json_t *errors, *item;
	char message[128];
	unsigned status = 422;
	size_t i;

	if ((errors = json_array()) == NULL)
		return admin_error(conn, 500, NULL, "out of memory");
	for (i = 0; i < n; i++) {
		if (items[i].error == NULL)
			continue;
		if (items[i].malformed)
			status = 400;
		item = json_pack("{s:I, s:s}", "index", (json_int_t)items[i].index,
		    "error", items[i].error);
		if (item != NULL && items[i].line > 0)
			json_object_set_new(item, "line",
			    json_integer(items[i].line));
		if (item != NULL && (items[i].url != NULL || items[i].raw_url != NULL))
			json_object_set_new(item, "url", json_string(items[i].url ?
			    items[i].url : items[i].raw_url));
		if (item == NULL || json_array_append_new(errors, item) != 0) {
			json_decref(errors);
			return admin_error(conn, 500, NULL, "out of memory");
		}
	}
	snprintf(message, sizeof(message), "%zu of %zu entries %s invalid; "
	    "nothing was imported", nerrors, n, nerrors == 1 ? "is" : "are");
	return admin_json(conn, status, json_pack("{s:s, s:o}", "error",
	    message, "errors", errors), NULL);
}

static enum MHD_Result
admin_pins_import(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	struct import_item *items = NULL;
	json_t *body, *pins, *note_value;
	const char *note = NULL;
	json_error_t jerr;
	enum MHD_Result ret;
	size_t n, i, nerrors = 0, added, existing;
	int rc;

	if ((body = admin_body(conn, ar, &ret)) == NULL)
		return ret;
	if (json_unpack_ex(body, &jerr, 0, "{s:o, s?o !}", "pins", &pins,
	    "note", &note_value) != 0) {
		ret = admin_error(conn, 400, NULL,
		    "expected {\"pins\": [{\"url\": STRING, \"digest\": STRING, "
		    "\"line\": INTEGER}...], \"note\": STRING}: %s", jerr.text);
		goto out;
	}
	if (!json_is_array(pins)) {
		ret = admin_error(conn, 400, NULL, "pins must be an array");
		goto out;
	}
	if (optional_string(body, "note", &note) != 0) {
		ret = admin_error(conn, 400, NULL, "note must be a string or null");
		goto out;
	}
	n = json_array_size(pins);
	if (n == 0 || n > IMPORT_ENTRIES_MAX) {
		ret = admin_error(conn, 400, NULL, "pins has %zu entries; one "
		    "import takes 1 to %d, so split a larger list", n,
		    IMPORT_ENTRIES_MAX);
		goto out;
	}

	if ((items = calloc(n, sizeof(*items))) == NULL) {
		ret = admin_error(conn, 500, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		items[i].index = i;
		import_item_check(&items[i], json_array_get(pins, i));
	}
	if (import_find_duplicates(items, n) != 0) {
		ret = admin_error(conn, 500, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		nerrors += items[i].error != NULL;

	/* With invalid entries the store still checks the others, so that
	 * the response lists conflicts too, but commits nothing. */
	rc = import_store(admin, items, n, note, caller, nerrors > 0, &added,
	    &existing);
	if (rc < 0) {
		ret = admin_error(conn, 500, NULL, "cannot write the allowlist");
		goto out;
	}
	nerrors = 0;
	for (i = 0; i < n; i++)
		nerrors += items[i].error != NULL;
	if (nerrors > 0) {
		log_info("admin: pin import rejected client=%s identity=%s "
		    "entries=%zu invalid=%zu", caller->client, caller->identity,
		    n, nerrors);
		ret = import_reject(conn, items, n, nerrors);
		goto out;
	}
	log_info("admin: pins imported client=%s identity=%s entries=%zu "
	    "added=%zu existing=%zu", caller->client, caller->identity, n,
	    added, existing);
	ret = admin_json(conn, 200, json_pack("{s:I, s:I}", "added",
	    (json_int_t)added, "existing", (json_int_t)existing), NULL);
out:
	if (items != NULL)
		import_items_free(items, n);
	json_decref(body);
	return ret;
}

/* Reads query parameter name with its decoded length, so that a %00 in
 * it is seen rather than cutting it short. Returns NULL when missing. */
static const char *
admin_query(struct MHD_Connection *conn, const char *name, size_t *len)
{
	const char *value;

	if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, name,
	    strlen(name), &value, len) != MHD_YES)
		return NULL;
	return value;
}

static enum MHD_Result
admin_pins_remove(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	char url[URL_MAX_LEN + 1], logged_url[256];
	const char *raw_url, *note, *err;
	struct store_pin pin;
	enum MHD_Result ret;
	size_t raw_len, note_len = 0;
	int rc;

	raw_url = admin_query(conn, "url", &raw_len);
	if (raw_url == NULL)
		return admin_error(conn, 400, NULL,
		    "missing query parameter: DELETE /v1/pins?url=URL");
	if (url_normalise(raw_url, raw_len, url, sizeof(url), &err) != 0)
		return admin_error(conn, 400, NULL, "invalid URL \"%.*s\": %s",
		    URL_MAX_LEN, raw_url, err);
	note = admin_query(conn, "note", &note_len);
	if (note != NULL && !utf8_valid(note, note_len))
		return admin_error(conn, 400, NULL,
		    "note is not valid UTF-8, or contains a NUL byte");

	rc = store_pin_remove(admin->store, url, caller->identity, note,
	    caller->client, &pin);
	if (rc < 0)
		return admin_error(conn, 500, NULL, "cannot write the allowlist");
	if (rc == 1)
		return admin_error(conn, 404, NULL, "%s is not pinned", url);
	pin.url = url;
	log_info("admin: pin removed client=%s identity=%s url=%s sha256=%s sha512=%s",
	    caller->client, caller->identity, log_escape(url, logged_url,
	    sizeof(logged_url)), pin.sha256[0] ? pin.sha256 : "-",
	    pin.sha512[0] ? pin.sha512 : "-");
	ret = admin_json(conn, 200, admin_pin_json(&pin), NULL);
	free((char *)pin.note);
	free((char *)pin.added_by);
	return ret;
}

/* Checks a token name: 1 to STORE_NAME_MAX letters, digits, '.', '_' or
 * '-', starting with a letter or digit. Returns NULL or the problem. */
static const char *
token_name_problem(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > STORE_NAME_MAX)
		return "a token name has 1 to 64 characters";
	for (i = 0; i < len; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return "a token name has letters, digits, '.', '_' and '-', "
			    "and starts with a letter or digit";
	}
	/* Any case, so that no name can pass for the bootstrap token. */
	if (strcasecmp(name, ADMIN_IDENTITY) == 0)
		return "the name admin belongs to the bootstrap token in token_file";
	return NULL;
}

static enum MHD_Result
admin_tokens_create(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	unsigned char raw[TOKEN_BYTES], hash[DIGEST_LEN];
	char secret[2 * TOKEN_BYTES + 1], hash_hex[DIGEST_HEX_LEN + 1];
	const char *name, *role, *problem;
	struct store_token token;
	json_error_t jerr;
	json_t *body;
	enum MHD_Result ret;
	size_t i;
	int rc;

	if ((body = admin_body(conn, ar, &ret)) == NULL)
		return ret;
	if (json_unpack_ex(body, &jerr, 0, "{s:s, s:s !}", "name", &name,
	    "role", &role) != 0) {
		ret = admin_error(conn, 400, NULL,
		    "expected {\"name\": STRING, \"role\": \"admin\" or \"reader\"}: %s",
		    jerr.text);
		goto out;
	}
	if ((problem = token_name_problem(name)) != NULL) {
		ret = admin_error(conn, 400, NULL, "invalid token name \"%.100s\": %s",
		    name, problem);
		goto out;
	}
	if (strcmp(role, "admin") != 0 && strcmp(role, "reader") != 0) {
		ret = admin_error(conn, 400, NULL,
		    "invalid role \"%.100s\": expected admin or reader", role);
		goto out;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		ret = admin_error(conn, 500, NULL, "cannot generate a token");
		goto out;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02x", raw[i]);
	EVP_Digest(secret, strlen(secret), hash, NULL, EVP_sha256(), NULL);
	digest_to_hex(hash, hash_hex);

	memset(&token, 0, sizeof(token));
	token.name = name;
	token.role = role;
	token.hash = hash_hex;
	token.created_by = caller->identity;
	token.created_at = (int64_t)time(NULL);
	rc = store_token_create(admin->store, &token, caller->client);
	if (rc < 0)
		ret = admin_error(conn, 500, NULL, "cannot write the token table");
	else if (rc == 1)
		ret = admin_error(conn, 409, NULL,
		    "a token named %s exists already (revoked names stay taken, "
		    "so that the audit trail names one token each)", name);
	else {
		log_info("admin: token created client=%s identity=%s name=%s role=%s",
		    caller->client, caller->identity, name, role);
		ret = admin_json(conn, 201, json_pack("{s:s, s:s, s:s}", "name",
		    name, "role", role, "token", secret), NULL);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(raw, sizeof(raw));
out:
	json_decref(body);
	return ret;
}

static int
admin_token_add(void *arg, const struct store_token *token)
{
	json_t *item = json_object();

	if (item == NULL || set_text(item, "name", token->name) != 0 ||
	    set_text(item, "role", token->role) != 0 ||
	    set_text(item, "created_by", token->created_by) != 0 ||
	    set_int(item, "created_at", token->created_at) != 0 ||
	    set_text(item, "revoked_by", token->revoked_by) != 0 ||
	    json_object_set_new(item, "revoked_at", token->revoked_by != NULL ?
	    json_integer((json_int_t)token->revoked_at) : json_null()) != 0) {
		json_decref(item);
		return 1;
	}
	return json_array_append_new(arg, item) != 0;
}

static enum MHD_Result
admin_tokens_list(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	json_t *tokens = json_array();

	return admin_send_list(conn, "tokens", tokens, tokens == NULL ? -1 :
	    store_token_foreach(admin->store, admin_token_add, tokens),
	    "token table");
}

static enum MHD_Result
admin_tokens_revoke(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	const char *name;
	size_t len;
	int rc;

	name = admin_query(conn, "name", &len);
	if (name == NULL)
		return admin_error(conn, 400, NULL,
		    "missing query parameter: DELETE /v1/tokens?name=NAME");
	if (strlen(name) != len || token_name_problem(name) != NULL)
		return admin_error(conn, 400, NULL, "invalid token name \"%.100s\"",
		    name);
	rc = store_token_revoke(admin->store, name, caller->identity,
	    caller->client);
	if (rc < 0)
		return admin_error(conn, 500, NULL, "cannot write the token table");
	if (rc == 1)
		return admin_error(conn, 404, NULL, "no valid token is named %s",
		    name);
	log_info("admin: token revoked client=%s identity=%s name=%s",
	    caller->client, caller->identity, name);
	return admin_json(conn, 200, json_pack("{s:s, s:b}", "name", name,
	    "revoked", 1), NULL);
}

static int
admin_event_add(void *arg, const struct store_event *ev)
{
	json_t *item = json_object();

	if (item == NULL || set_int(item, "id", ev->id) != 0 ||
	    set_int(item, "at", ev->at) != 0 ||
	    set_text(item, "verdict", ev->kind) != 0 ||
	    set_text(item, "client", ev->client) != 0 ||
	    set_text(item, "url", ev->url != NULL && ev->url[0] != '\0' ?
	    ev->url : NULL) != 0 ||
	    set_text(item, "digest", ev->expected) != 0 ||
	    set_text(item, "observed_sha256", ev->observed) != 0 ||
	    set_text(item, "identity", ev->identity) != 0 ||
	    set_text(item, "content_type", ev->content_type) != 0 ||
	    set_text(item, "redirects", ev->redirects) != 0 ||
	    set_text(item, "detail", ev->detail) != 0) {
		json_decref(item);
		return 1;
	}
	if (ev->has_size)
		json_object_set_new(item, "size", json_integer((json_int_t)ev->size));
	if (ev->status != 0)
		json_object_set_new(item, "status", json_integer(ev->status));
	return json_array_append_new(arg, item) != 0;
}

/* Parses a query parameter that must be a whole number from 0 to max.
 * Returns 0, 1 when missing, -1 when invalid. */
static int
query_number(struct MHD_Connection *conn, const char *name, long long max,
    long long *value)
{
	const char *text;
	char *end;
	size_t len;

	text = admin_query(conn, name, &len);
	if (text == NULL)
		return 1;
	errno = 0;
	*value = strtoll(text, &end, 10);
	if (len == 0 || strlen(text) != len || *end != '\0' || errno != 0 ||
	    text[0] < '0' || text[0] > '9' || *value > max)
		return -1;
	return 0;
}

static enum MHD_Result
admin_events_list(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	struct store_event_filter filter = { .limit = EVENTS_DEFAULT };
	long long number;
	size_t len;
	json_t *events;
	int rc;

	rc = query_number(conn, "since", INT64_MAX, &number);
	if (rc < 0)
		return admin_error(conn, 400, NULL,
		    "invalid since: expected seconds since the epoch");
	if (rc == 0)
		filter.since = number;
	rc = query_number(conn, "limit", EVENTS_MAX, &number);
	if (rc < 0 || (rc == 0 && number == 0))
		return admin_error(conn, 400, NULL,
		    "invalid limit: expected 1 to %d", EVENTS_MAX);
	if (rc == 0)
		filter.limit = (unsigned)number;
	filter.kind = admin_query(conn, "verdict", &len);
	if (filter.kind != NULL && (len == 0 || strlen(filter.kind) != len))
		return admin_error(conn, 400, NULL, "invalid verdict");
	filter.url_prefix = admin_query(conn, "url", &len);
	if (filter.url_prefix != NULL && strlen(filter.url_prefix) != len)
		return admin_error(conn, 400, NULL, "url contains a NUL byte");

	events = json_array();
	return admin_send_list(conn, "events", events, events == NULL ? -1 :
	    store_event_foreach(admin->store, &filter, admin_event_add, events),
	    "audit trail");
}

static int
admin_pending_add(void *arg, const struct store_pending *p)
{
	json_t *item = json_object();

	if (item == NULL || set_text(item, "url", p->url) != 0 ||
	    set_text(item, "sha256", p->sha256[0] ? p->sha256 : NULL) != 0 ||
	    set_text(item, "content_type", p->content_type) != 0 ||
	    set_text(item, "error", p->error) != 0 ||
	    set_int(item, "first_seen", p->first_seen) != 0 ||
	    set_int(item, "last_seen", p->last_seen) != 0 ||
	    set_int(item, "requests", (int64_t)p->requests) != 0) {
		json_decref(item);
		return 1;
	}
	json_object_set_new(item, "size", p->sha256[0] ?
	    json_integer((json_int_t)p->size) : json_null());
	return json_array_append_new(arg, item) != 0;
}

static enum MHD_Result
route_pending_list(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	json_t *pending = json_array();

	return admin_send_list(conn, "pending", pending, pending == NULL ? -1 :
	    store_pending_foreach(admin->store, admin_pending_add, pending),
	    "review queue");
}

static enum MHD_Result
route_pending_approve(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	char url[URL_MAX_LEN + 1], sha256[DIGEST_HEX_LEN + 1], logged_url[256];
	const char *raw_url, *note, *err;
	struct store_pin pin;
	json_error_t jerr;
	json_t *body, *note_value = NULL;
	enum MHD_Result ret;
	int rc;

	if ((body = admin_body(conn, ar, &ret)) == NULL)
		return ret;
	if (json_unpack_ex(body, &jerr, 0, "{s:s, s?o !}", "url", &raw_url,
	    "note", &note_value) != 0) {
		ret = admin_error(conn, 400, NULL,
		    "expected {\"url\": STRING, \"note\": STRING}: %s", jerr.text);
		goto out;
	}
	if (optional_string(body, "note", &note) != 0) {
		ret = admin_error(conn, 400, NULL, "note must be a string or null");
		goto out;
	}
	if (url_normalise(raw_url, strlen(raw_url), url, sizeof(url), &err) != 0) {
		ret = admin_error(conn, 400, NULL, "invalid URL \"%.*s\": %s",
		    URL_MAX_LEN, raw_url, err);
		goto out;
	}
	memset(&pin, 0, sizeof(pin));
	pin.url = url;
	pin.note = note;
	pin.added_by = caller->identity;
	pin.added_at = (int64_t)time(NULL);
	rc = store_pending_approve(admin->store, &pin, caller->client, sha256);
	switch (rc) {
	case 0:
		memcpy(pin.sha256, sha256, sizeof(pin.sha256));
		log_info("admin: pending URL approved client=%s identity=%s url=%s sha256=%s",
		    caller->client, caller->identity,
		    log_escape(url, logged_url, sizeof(logged_url)), sha256);
		ret = admin_json(conn, 201, admin_pin_json(&pin), NULL);
		break;
	case 1:
		ret = admin_error(conn, 404, NULL, "%s is not in the review queue", url);
		break;
	case 2:
		ret = admin_error(conn, 409, NULL, "%s has no observed digest yet: "
		    "its fetch is running or failed (see the error in the review "
		    "queue); retry later, or pin a published digest instead", url);
		break;
	case 3:
		ret = admin_error(conn, 409, NULL, "%s is pinned already", url);
		break;
	default:
		ret = admin_error(conn, 500, NULL, "cannot write the allowlist");
		break;
	}
out:
	json_decref(body);
	return ret;
}

static enum MHD_Result
route_pending_reject(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	char url[URL_MAX_LEN + 1], logged_url[256];
	const char *raw_url, *note, *err;
	size_t raw_len, note_len = 0;
	int rc;

	raw_url = admin_query(conn, "url", &raw_len);
	if (raw_url == NULL)
		return admin_error(conn, 400, NULL,
		    "missing query parameter: DELETE /v1/pending?url=URL");
	if (url_normalise(raw_url, raw_len, url, sizeof(url), &err) != 0)
		return admin_error(conn, 400, NULL, "invalid URL \"%.*s\": %s",
		    URL_MAX_LEN, raw_url, err);
	note = admin_query(conn, "note", &note_len);
	if (note != NULL && !utf8_valid(note, note_len))
		return admin_error(conn, 400, NULL,
		    "note is not valid UTF-8, or contains a NUL byte");
	rc = store_pending_reject(admin->store, url, caller->identity, note,
	    caller->client);
	if (rc < 0)
		return admin_error(conn, 500, NULL, "cannot write the review queue");
	if (rc == 1)
		return admin_error(conn, 404, NULL, "%s is not in the review queue", url);
	log_info("admin: pending URL rejected client=%s identity=%s url=%s",
	    caller->client, caller->identity,
	    log_escape(url, logged_url, sizeof(logged_url)));
	return admin_json(conn, 200, json_pack("{s:s, s:b}", "url", url,
	    "rejected", 1), NULL);
}

/* One method on one path, the role it needs and its largest request
 * body. */
struct admin_route {
	const char	*path;
	const char	*method;
	enum admin_role	 role;
	enum MHD_Result	(*run)(struct admin *, struct MHD_Connection *,
			    struct admin_request *,
			    const struct admin_caller *);
	size_t		 body_max;	/* bytes */
};

static enum MHD_Result
route_ca(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	return http_respond(conn, 200, "application/x-pem-file",
	    ca_pem(admin->ca), strlen(ca_pem(admin->ca)), NULL);
}

static enum MHD_Result
route_metrics(struct admin *admin, struct MHD_Connection *conn,
    struct admin_request *ar, const struct admin_caller *caller)
{
	struct metrics_gauges gauges;
	enum MHD_Result ret;
	size_t len;
	char *text;

	cache_usage(admin->cache, &gauges.cache_bytes, &gauges.cache_objects);
	gauges.fetches_in_flight = fetcher_active(admin->fetcher);
	text = metrics_format(&gauges, &len);
	if (text == NULL) {
		log_error("admin: out of memory rendering /metrics");
		return admin_error(conn, 500, NULL, "out of memory");
	}
	ret = http_respond(conn, 200, METRICS_CONTENT_TYPE, text, len, NULL);
	free(text);
	return ret;
}

static const struct admin_route admin_routes[] = {
	{ "/v1/ca", "GET", ROLE_READER, route_ca, BODY_MAX },
	{ "/v1/pins", "GET", ROLE_READER, admin_pins_list, BODY_MAX },
	{ "/v1/pins", "POST", ROLE_ADMIN, admin_pins_add, BODY_MAX },
	{ "/v1/pins", "DELETE", ROLE_ADMIN, admin_pins_remove, BODY_MAX },
	{ "/v1/pins/import", "POST", ROLE_ADMIN, admin_pins_import,
	    IMPORT_BODY_MAX },
	{ "/v1/tokens", "GET", ROLE_ADMIN, admin_tokens_list, BODY_MAX },
	{ "/v1/tokens", "POST", ROLE_ADMIN, admin_tokens_create, BODY_MAX },
	{ "/v1/tokens", "DELETE", ROLE_ADMIN, admin_tokens_revoke, BODY_MAX },
	{ "/v1/events", "GET", ROLE_READER, admin_events_list, BODY_MAX },
	{ "/v1/pending", "GET", ROLE_READER, route_pending_list, BODY_MAX },
	{ "/v1/pending", "DELETE", ROLE_ADMIN, route_pending_reject, BODY_MAX },
	{ "/v1/pending/approve", "POST", ROLE_ADMIN, route_pending_approve,
	    BODY_MAX },
	{ "/metrics", "GET", ROLE_READER, route_metrics, BODY_MAX },
};

#define NROUTES (sizeof(admin_routes) / sizeof(admin_routes[0]))

/* Sends 405 with the methods that path accepts. */
static enum MHD_Result
admin_wrong_method(struct MHD_Connection *conn, const char *path)
{
	char methods[64] = "";
	const char *allow[3] = { "Allow", methods, NULL };
	size_t i;

	size_t len = 0;

	for (i = 0; i < NROUTES && len < sizeof(methods); i++) {
		if (strcmp(admin_routes[i].path, path) != 0)
			continue;
		len += (size_t)snprintf(methods + len, sizeof(methods) - len,
		    "%s%s", len > 0 ? ", " : "", admin_routes[i].method);
	}
	return admin_error(conn, 405, allow, "use %s on %s", methods, path);
}

/* Finds the route for method on path. Sets *path_known when any route
 * has that path. */
static const struct admin_route *
admin_find_route(const char *path, const char *method, int *path_known)
{
	const struct admin_route *route = NULL;
	size_t i;

	*path_known = 0;
	for (i = 0; i < NROUTES; i++) {
		if (strcmp(admin_routes[i].path, path) != 0)
			continue;
		*path_known = 1;
		if (strcmp(admin_routes[i].method, method) == 0)
			route = &admin_routes[i];
	}
	return route;
}

static enum MHD_Result
admin_route(struct admin *admin, struct MHD_Connection *conn,
    const char *path, const char *method, struct admin_request *ar)
{
	const struct admin_caller *caller = &ar->caller;
	const struct admin_route *route;
	int path_known;

	if (strcmp(path, "/healthz") == 0) {
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
			return admin_error(conn, 405, allow_get,
			    "use GET on /healthz");
		return admin_json(conn, 200, json_pack("{s:s, s:s}", "status",
		    "ok", "version", PACKAGE_VERSION), NULL);
	}

	if (caller->role == ROLE_NONE) {
		log_warning("admin: rejected request without a valid token client=%s",
		    caller->client);
		return admin_error(conn, 401, www_authenticate,
		    "missing or invalid bearer token: send \"Authorization: Bearer TOKEN\" with the token from token_file or one that hashgatectl token create printed");
	}
	route = admin_find_route(path, method, &path_known);
	if (!path_known)
		return admin_error(conn, 404, NULL, "no such route; see docs/admin-api.md");
	if (route == NULL)
		return admin_wrong_method(conn, path);
	if (caller->role < route->role) {
		log_warning("admin: rejected %s %s client=%s identity=%s: needs the admin role",
		    method, path, caller->client, caller->identity);
		return admin_error(conn, 403, NULL,
		    "token %s has the reader role; %s %s needs the admin role",
		    caller->identity, method, path);
	}
	if (ar->too_large)
		return admin_error(conn, 413, NULL,
		    "request body is larger than %zu bytes", ar->body_max);
	return route->run(admin, conn, ar, caller);
}

/* Starts a request: finds its caller and so its body limit, before any
 * of the body arrives. */
static struct admin_request *
admin_request_start(struct admin *admin, struct MHD_Connection *conn,
    const char *path, const char *method)
{
	const struct admin_route *route;
	struct admin_request *ar;
	int path_known;

	if ((ar = calloc(1, sizeof(*ar))) == NULL)
		return NULL;
	ar->body_max = BODY_MAX;
	if (strcmp(path, "/healthz") == 0)
		return ar;
	http_client_address(conn, ar->caller.client, sizeof(ar->caller.client));
	admin_authenticate(admin, conn, &ar->caller);
	route = admin_find_route(path, method, &path_known);
	if (route != NULL && ar->caller.role >= route->role)
		ar->body_max = route->body_max;
	return ar;
}

/* Appends n bytes of body to ar, or marks it too large. Returns 0, or -1
 * when out of memory. */
static int
admin_request_append(struct admin_request *ar, const char *data, size_t n)
{
	size_t cap;
	char *body;

	if (ar->too_large || n > ar->body_max - ar->len) {
		ar->too_large = 1;
		return 0;
	}
	if (ar->len + n + 1 > ar->cap) {
		cap = ar->cap > 0 ? ar->cap : 4096;
		while (cap < ar->len + n + 1)
			cap *= 2;
		if ((body = realloc(ar->body, cap)) == NULL)
			return -1;
		ar->body = body;
		ar->cap = cap;
	}
	memcpy(ar->body + ar->len, data, n);
	ar->len += n;
	ar->body[ar->len] = '\0';
	return 0;
}

static enum MHD_Result
admin_handle(void *arg, struct MHD_Connection *conn, const char *path,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct admin_request *ar = *req_cls;

	if (ar == NULL) {
		if ((ar = admin_request_start(arg, conn, path, method)) == NULL)
			return MHD_NO;
		*req_cls = ar;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (admin_request_append(ar, upload_data, *upload_data_size) != 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return admin_route(arg, conn, path, method, ar);
}

static void
admin_request_end(void *arg, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode code)
{
	struct admin_request *ar = *req_cls;

	if (ar == NULL)
		return;
	if (ar->fetch != NULL)
		fetch_release(((struct admin *)arg)->fetcher, ar->fetch);
	free(ar->body);
	free(ar);
	*req_cls = NULL;
}

struct admin *
admin_start(const struct conf *conf, struct store *store, struct ca *ca,
    struct cache *cache, struct fetcher *fetcher)
{
	struct admin *admin;
	int fd;
	struct MHD_OptionItem options[] = {
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)admin_request_end, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, 64, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 10, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	admin = calloc(1, sizeof(*admin));
	if (admin == NULL) {
		log_error("admin: out of memory");
		return NULL;
	}
	admin->store = store;
	admin->ca = ca;
	admin->cache = cache;
	admin->fetcher = fetcher;
	options[0].ptr_value = admin;
	if (admin_load_token(admin, conf->admin_token_file) != 0)
		goto fail;
	fd = http_open_socket("admin", &conf->admin_listen);
	if (fd < 0)
		goto fail;
	admin->daemon = http_start("admin", fd, 1, admin_handle, admin, options);
	if (admin->daemon == NULL)
		goto fail;
	return admin;
fail:
	OPENSSL_cleanse(admin->token_hash, sizeof(admin->token_hash));
	free(admin);
	return NULL;
}

void
admin_stop(struct admin *admin)
{
	if (admin == NULL)
		return;
	MHD_stop_daemon(admin->daemon);
	OPENSSL_cleanse(admin->token_hash, sizeof(admin->token_hash));
	free(admin);
}
