/* SPDX-License-Identifier: MIT */
/* The admin API: GET /healthz, and with a bearer token GET /v1/ca and GET,
 * POST and DELETE on /v1/pins. docs/admin-api.md is the reference. */
#include "config.h"
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#include "http.h"
#include "log.h"
#include "url.h"

#define TOKEN_BYTES	32		/* random bytes, written as hex */
#define TOKEN_MAX_LEN	512
#define BODY_MAX	(64 * 1024)
/* Identity recorded on pins changed with the token from token_file. */
#define ADMIN_IDENTITY	"admin"

struct admin {
	struct store		*store;
	struct ca		*ca;
	struct MHD_Daemon	*daemon;
	unsigned char		 token_hash[DIGEST_LEN];
};

/* A request body, collected across handler calls. */
struct admin_request {
	char	*body;
	size_t	 len;
	int	 too_large;
};

static const char *const allow_pins[] = { "Allow", "GET, POST, DELETE", NULL };
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

static int
admin_authorized(struct admin *admin, struct MHD_Connection *conn)
{
	unsigned char presented[DIGEST_LEN];
	const char *auth;

	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	auth += 7;
	while (*auth == ' ')
		auth++;
	if (EVP_Digest(auth, strlen(auth), presented, NULL, EVP_sha256(),
	    NULL) != 1)
		return 0;
	return CRYPTO_memcmp(presented, admin->token_hash, DIGEST_LEN) == 0;
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
	return admin_json(conn, status, json_pack("{s:s}", "error", msg),
	    headers);
}

static json_t *
admin_pin_json(const struct store_pin *pin)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:I}", "url", pin->url,
	    "sha256", pin->sha256, "note", pin->note, "added_by",
	    pin->added_by, "added_at", (json_int_t)pin->added_at);
}

static int
admin_list_add(void *arg, const struct store_pin *pin)
{
	json_t *item = admin_pin_json(pin);

	return item == NULL || json_array_append_new(arg, item) != 0;
}

static enum MHD_Result
admin_pins_list(struct admin *admin, struct MHD_Connection *conn)
{
	json_t *pins = json_array();

	if (pins == NULL || store_pin_foreach(admin->store, admin_list_add,
	    pins) != 0) {
		json_decref(pins);
		return admin_error(conn, 500, NULL, "cannot read the allowlist");
	}
	return admin_json(conn, 200, json_pack("{s:o}", "pins", pins), NULL);
}

static enum MHD_Result
admin_pins_add(struct admin *admin, struct MHD_Connection *conn,
    const struct admin_request *ar, const char *client)
{
	char url[URL_MAX_LEN + 1], hex[DIGEST_HEX_LEN + 1];
	char existing[DIGEST_HEX_LEN + 1], logged_url[256];
	const char *raw_url, *raw_digest, *note = NULL, *err;
	struct store_pin pin;
	json_error_t jerr;
	json_t *body, *note_value = NULL;
	enum MHD_Result ret;
	int rc;

	body = json_loadb(ar->body ? ar->body : "", ar->len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		return admin_error(conn, 400, NULL,
		    "request body is not valid JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
	if (json_unpack_ex(body, &jerr, 0, "{s:s, s:s, s?o !}", "url", &raw_url,
	    "sha256", &raw_digest, "note", &note_value) != 0) {
		ret = admin_error(conn, 400, NULL,
		    "expected {\"url\": STRING, \"sha256\": STRING, \"note\": STRING}: %s",
		    jerr.text);
		goto out;
	}
	/* The note may be missing or null, as GET /v1/pins returns it. */
	if (note_value != NULL && !json_is_null(note_value)) {
		if (!json_is_string(note_value)) {
			ret = admin_error(conn, 400, NULL,
			    "note must be a string or null");
			goto out;
		}
		note = json_string_value(note_value);
	}
	if (url_normalise(raw_url, strlen(raw_url), url, sizeof(url), &err) != 0) {
		ret = admin_error(conn, 400, NULL, "invalid URL \"%.*s\": %s",
		    URL_MAX_LEN, raw_url, err);
		goto out;
	}
	if (digest_parse(raw_digest, hex, &err) != 0) {
		ret = admin_error(conn, 400, NULL, "invalid digest \"%.100s\": %s",
		    raw_digest, err);
		goto out;
	}

	pin.url = url;
	memcpy(pin.sha256, hex, sizeof(hex));
	pin.note = note;
	pin.added_by = ADMIN_IDENTITY;
	pin.added_at = (int64_t)time(NULL);
	rc = store_pin_add(admin->store, &pin, existing);
	if (rc < 0)
		ret = admin_error(conn, 500, NULL, "cannot write the allowlist");
	else if (rc == 1)
		ret = admin_error(conn, 409, NULL,
		    "%s is already pinned to sha256:%s", url, existing);
	else {
		log_info("admin: pin added client=%s identity=%s url=%s sha256=%s",
		    client, ADMIN_IDENTITY,
		    log_escape(url, logged_url, sizeof(logged_url)), hex);
		ret = admin_json(conn, 201, admin_pin_json(&pin), NULL);
	}
out:
	json_decref(body);
	return ret;
}

static enum MHD_Result
admin_pins_remove(struct admin *admin, struct MHD_Connection *conn,
    const char *client)
{
	char url[URL_MAX_LEN + 1], logged_url[256];
	const char *raw_url, *err;
	struct store_pin pin;
	enum MHD_Result ret;
	size_t raw_len;
	int rc;

	/* The decoded length, so that url_normalise rejects a %00 as a NUL. */
	if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "url", 3,
	    &raw_url, &raw_len) != MHD_YES || raw_url == NULL)
		return admin_error(conn, 400, NULL,
		    "missing query parameter: DELETE /v1/pins?url=URL");
	if (url_normalise(raw_url, raw_len, url, sizeof(url), &err) != 0)
		return admin_error(conn, 400, NULL, "invalid URL \"%.*s\": %s",
		    URL_MAX_LEN, raw_url, err);

	rc = store_pin_remove(admin->store, url, &pin);
	if (rc < 0)
		return admin_error(conn, 500, NULL, "cannot write the allowlist");
	if (rc == 1)
		return admin_error(conn, 404, NULL, "%s is not pinned", url);
	pin.url = url;
	log_info("admin: pin removed client=%s identity=%s url=%s sha256=%s",
	    client, ADMIN_IDENTITY, log_escape(url, logged_url,
	    sizeof(logged_url)), pin.sha256);
	ret = admin_json(conn, 200, admin_pin_json(&pin), NULL);
	free((char *)pin.note);
	free((char *)pin.added_by);
	return ret;
}

static enum MHD_Result
admin_route(struct admin *admin, struct MHD_Connection *conn,
    const char *path, const char *method, const struct admin_request *ar)
{
	char client[64];

	if (strcmp(path, "/healthz") == 0) {
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
			return admin_error(conn, 405, allow_get,
			    "use GET on /healthz");
		return admin_json(conn, 200, json_pack("{s:s, s:s}", "status",
		    "ok", "version", PACKAGE_VERSION), NULL);
	}

	if (!admin_authorized(admin, conn)) {
		http_client_address(conn, client, sizeof(client));
		log_warning("admin: rejected request without a valid token client=%s",
		    client);
		return admin_error(conn, 401, www_authenticate,
		    "missing or invalid bearer token: send \"Authorization: Bearer TOKEN\" with the token from token_file");
	}
	if (strcmp(path, "/v1/ca") == 0) {
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
			return admin_error(conn, 405, allow_get, "use GET on /v1/ca");
		return http_respond(conn, 200, "application/x-pem-file",
		    ca_pem(admin->ca), strlen(ca_pem(admin->ca)), NULL);
	}
	if (strcmp(path, "/v1/pins") != 0)
		return admin_error(conn, 404, NULL, "no such route; see docs/admin-api.md");
	if (ar->too_large)
		return admin_error(conn, 413, NULL,
		    "request body is larger than %d bytes", BODY_MAX);

	http_client_address(conn, client, sizeof(client));
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		return admin_pins_list(admin, conn);
	if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
		return admin_pins_add(admin, conn, ar, client);
	if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
		return admin_pins_remove(admin, conn, client);
	return admin_error(conn, 405, allow_pins, "use GET, POST or DELETE on /v1/pins");
}

static enum MHD_Result
admin_handle(void *arg, struct MHD_Connection *conn, const char *path,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct admin_request *ar = *req_cls;

	if (ar == NULL) {
		ar = calloc(1, sizeof(*ar));
		if (ar == NULL)
			return MHD_NO;
		*req_cls = ar;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		if (!ar->too_large && ar->len + n <= BODY_MAX) {
			char *body = realloc(ar->body, ar->len + n + 1);

			if (body == NULL)
				return MHD_NO;
			memcpy(body + ar->len, upload_data, n);
			ar->body = body;
			ar->len += n;
			ar->body[ar->len] = '\0';
		} else
			ar->too_large = 1;
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
	free(ar->body);
	free(ar);
	*req_cls = NULL;
}

struct admin *
admin_start(const struct conf *conf, struct store *store, struct ca *ca)
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
