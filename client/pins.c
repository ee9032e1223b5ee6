/* SPDX-License-Identifier: MIT */
/* The pin commands (add, list, remove) and the admin API requests that
 * they send to hashgated. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl.h"
#include "digest.h"
#include "url.h"

#define CTL_CONNECT_TIMEOUT	5L	/* seconds */
#define CTL_TIMEOUT		60L	/* seconds, whole request */
#define CTL_RESPONSE_MAX	(16 * 1024 * 1024)	/* bytes of response body */
#define CTL_TOKEN_MAX		4096	/* bytes of token file */
#define CTL_BODY_SHOW_MAX	200	/* bytes of a non-JSON body in a message */

/* Returns the value of the environment variable name, or NULL when it is
 * unset or empty. */
static const char *
getenv_nonempty(const char *name)
{
	const char *value = getenv(name);

	return value != NULL && value[0] != '\0' ? value : NULL;
}

/* Picks the admin URL from --admin, HASHGATE_ADMIN or the default, and
 * stores it normalised, without a trailing '/', in ctx->admin_base. */
static int
resolve_admin_url(struct ctl_ctx *ctx)
{
	const char *url, *source, *err;
	char shown[CTL_SHOW_MAX];
	size_t len;

	if ((url = ctx->values[OPT_ADMIN]) != NULL)
		source = "--admin";
	else if ((url = getenv_nonempty("HASHGATE_ADMIN")) != NULL)
		source = "HASHGATE_ADMIN";
	else {
		url = CTL_DEFAULT_ADMIN;
		source = "the default";
	}

	if (url_normalise(url, strlen(url), ctx->admin_base,
	    sizeof(ctx->admin_base), &err) != 0) {
		ctl_error("invalid admin URL \"%s\" from %s: %s",
		    ctl_show(url, shown), source, err);
		return CTL_EXIT_USAGE;
	}
	if (strpbrk(url, "?#") != NULL) {
		ctl_error("invalid admin URL \"%s\" from %s: it must not "
		    "contain a query or fragment", ctl_show(url, shown), source);
		return CTL_EXIT_USAGE;
	}
	len = strlen(ctx->admin_base);
	while (len > 0 && ctx->admin_base[len - 1] == '/')
		ctx->admin_base[--len] = '\0';
	return CTL_EXIT_OK;
}

int
ctl_admin_init(struct ctl_ctx *ctx)
{
	int status;

	if ((status = resolve_admin_url(ctx)) != CTL_EXIT_OK)
		return status;

	ctx->token_file = ctx->values[OPT_TOKEN_FILE];
	if (ctx->token_file == NULL)
		ctx->token_file = getenv_nonempty("HASHGATE_TOKEN_FILE");
	if (ctx->token_file == NULL)
		ctx->token_file = CTL_DEFAULT_TOKEN_FILE;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ctl_error("cannot initialise libcurl");
		return CTL_EXIT_REJECTED;
	}
	ctx->curl_initialised = 1;
	return CTL_EXIT_OK;
}

void
ctl_admin_cleanup(struct ctl_ctx *ctx)
{
	if (ctx->token != NULL) {
		explicit_bzero(ctx->token, strlen(ctx->token));
		free(ctx->token);
		ctx->token = NULL;
	}
	if (ctx->curl_initialised) {
		curl_global_cleanup();
		ctx->curl_initialised = 0;
	}
}

/* Reads the token from ctx->token_file: the file's content without
 * trailing whitespace. Returns CTL_EXIT_OK, or CTL_EXIT_AUTH after
 * printing the error. */
int
ctl_load_token(struct ctl_ctx *ctx)
{
	const char *path = ctx->token_file, *problem = NULL;
	char shown[CTL_SHOW_MAX];
	char *buf;
	size_t len = 0, i;
	ssize_t n;
	int fd, saved_errno = 0;

	/* One byte more than the limit shows that a file is too large, and
	 * the last byte is for the NUL. */
	buf = malloc(CTL_TOKEN_MAX + 2);
	if (buf == NULL) {
		ctl_error("out of memory");
		return CTL_EXIT_REJECTED;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		saved_errno = errno;
	while (fd >= 0 && len <= CTL_TOKEN_MAX) {
		n = read(fd, buf + len, CTL_TOKEN_MAX + 1 - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			saved_errno = errno;
			break;
		}
		len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);

	if (saved_errno != 0)
		problem = strerror(saved_errno);
	else if (len > CTL_TOKEN_MAX)
		problem = "file is larger than 4096 bytes";
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	buf[len] = '\0';
	if (problem == NULL && len == 0)
		problem = "file is empty";
	for (i = 0; problem == NULL && i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 || c == 0x7f)
			problem = "token contains a control character";
	}

	if (problem != NULL) {
		ctl_error("cannot read the admin token from %s%s: %s: check "
		    "--token-file or HASHGATE_TOKEN_FILE", ctl_show(path, shown),
		    path[0] == '/' ? "" : " (relative to the current directory)",
		    problem);
		explicit_bzero(buf, CTL_TOKEN_MAX + 2);
		free(buf);
		return CTL_EXIT_AUTH;
	}
	ctx->token = buf;
	return CTL_EXIT_OK;
}

static size_t
response_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct ctl_response *resp = arg;
	size_t n = size * nmemb, cap;
	char *body;

	if (n > CTL_RESPONSE_MAX - resp->len) {
		resp->too_large = 1;
		return 0;
	}
	if (resp->len + n + 1 > resp->cap) {
		cap = resp->cap > 0 ? resp->cap : 4096;
		while (cap < resp->len + n + 1)
			cap *= 2;
		if (cap > CTL_RESPONSE_MAX + 1)
			cap = CTL_RESPONSE_MAX + 1;
		body = realloc(resp->body, cap);
		if (body == NULL) {
			resp->no_memory = 1;
			return 0;
		}
		resp->body = body;
		resp->cap = cap;
	}
	memcpy(resp->body + resp->len, data, n);
	resp->len += n;
	resp->body[resp->len] = '\0';
	return n;
}

void
ctl_response_free(struct ctl_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

/* Returns a newly allocated concatenation of a and b, or NULL. */
char *
ctl_concat(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	char *s = malloc(alen + blen + 1);

	if (s != NULL) {
		memcpy(s, a, alen);
		memcpy(s + alen, b, blen + 1);
	}
	return s;
}

int
ctl_query_append(char **target, const char *key, const char *value)
{
	char *escaped, *pair, *joined;
	size_t len = strlen(*target);
	const char *sep = len > 0 && (*target)[len - 1] == '?' ? "" : "&";

	/* libcurl ignores the handle of curl_easy_escape since 7.82.0. */
	if ((escaped = curl_easy_escape(NULL, value, 0)) == NULL)
		return -1;
	pair = malloc(strlen(sep) + strlen(key) + 1 + strlen(escaped) + 1);
	if (pair != NULL)
		sprintf(pair, "%s%s=%s", sep, key, escaped);
	curl_free(escaped);
	if (pair == NULL)
		return -1;
	joined = ctl_concat(*target, pair);
	free(pair);
	if (joined == NULL)
		return -1;
	free(*target);
	*target = joined;
	return 0;
}

int
ctl_get_list(struct ctl_ctx *ctx, const char *target, const char *what,
    const char *key, json_t **root)
{
	char shown[CTL_SHOW_MAX];
	struct ctl_response resp;
	int status;

	*root = NULL;
	memset(&resp, 0, sizeof(resp));
	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		goto out;
	status = ctl_request(ctx, "GET", target, NULL, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	if (!ctl_is_success(&resp)) {
		status = ctl_report_http_error(ctx, &resp, what, NULL);
		goto out;
	}
	status = CTL_EXIT_REJECTED;
	if ((*root = ctl_response_json(ctx, &resp)) == NULL)
		goto out;
	if (!json_is_array(json_object_get(*root, key))) {
		ctl_error("invalid response from the admin API at %s: no \"%s\" "
		    "array: check that --admin or HASHGATE_ADMIN names the admin "
		    "listener of hashgated", ctl_show(ctx->admin_base, shown), key);
		json_decref(*root);
		*root = NULL;
		goto out;
	}
	status = CTL_EXIT_OK;
out:
	ctl_response_free(&resp);
	return status;
}

/* Appends the header line to *list. Returns 0, or -1 when out of memory,
 * leaving *list as it was. */
static int
header_append(struct curl_slist **list, const char *line)
{
	struct curl_slist *longer = curl_slist_append(*list, line);

	if (longer == NULL)
		return -1;
	*list = longer;
	return 0;
}

/* Sends one request to the admin API: method is "GET", "POST" or
 * "DELETE", target is the path and query after the admin base URL, and
 * body is the JSON to send or NULL. Never uses a proxy.
 * Returns CTL_EXIT_OK once any HTTP response arrived, with its status
 * and body in resp. Otherwise prints the error and returns
 * CTL_EXIT_UNREACHABLE, or CTL_EXIT_REJECTED for an oversized response
 * or lack of memory. Release resp with ctl_response_free in every case. */
int
ctl_request(struct ctl_ctx *ctx, const char *method, const char *target,
    const char *body, struct ctl_response *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char shown[CTL_SHOW_MAX];
	struct curl_slist *headers = NULL;
	CURL *curl = NULL;
	char *url = NULL, *auth = NULL;
	CURLcode rc;
	int ok = 1, status = CTL_EXIT_REJECTED;

	memset(resp, 0, sizeof(*resp));
	url = ctl_concat(ctx->admin_base, target);
	auth = ctl_concat("Authorization: Bearer ", ctx->token);
	curl = curl_easy_init();
	if (url == NULL || auth == NULL || curl == NULL)
		goto no_memory;

	/* "Expect:" stops curl from waiting for 100 Continue on large POSTs. */
	if (header_append(&headers, auth) != 0 ||
	    header_append(&headers, "Accept: application/json") != 0)
		goto no_memory;
	if (body != NULL &&
	    (header_append(&headers, "Content-Type: application/json") != 0 ||
	    header_append(&headers, "Expect:") != 0))
		goto no_memory;

	/* An empty CURLOPT_PROXY and a NOPROXY of "*" make curl ignore the
	 * http_proxy, https_proxy and all_proxy variables. */
	ok &= curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_PROXY, "") == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_NOPROXY, "*") == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") ==
	    CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	    CTL_CONNECT_TIMEOUT) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_TIMEOUT,
	    ctx->no_timeout ? 0L : CTL_TIMEOUT) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_USERAGENT,
	    CTL_NAME "/" CTL_VERSION) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)CTL_RESPONSE_MAX) == CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, response_write) ==
	    CURLE_OK;
	ok &= curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp) == CURLE_OK;
	if (body != NULL) {
		ok &= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body) ==
		    CURLE_OK;
		ok &= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body)) == CURLE_OK;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		ok &= curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method) ==
		    CURLE_OK;
	if (!ok) {
		ctl_error("cannot set up the request to %s: libcurl "
		    "rejected an option", ctl_show(url, shown));
		goto out;
	}

	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		status = CTL_EXIT_OK;
	} else if (resp->no_memory)
		goto no_memory;
	else if (resp->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		ctl_error("response from the admin API at %s is larger than "
		    "16 MiB: check that --admin or HASHGATE_ADMIN names the "
		    "admin listener of hashgated", ctl_show(ctx->admin_base, shown));
	else {
		char shown_err[CTL_SHOW_MAX];

		ctl_error("cannot reach the admin API at %s: %s: check that "
		    "hashgated is running and that --admin or HASHGATE_ADMIN "
		    "names its admin listener", ctl_show(ctx->admin_base, shown),
		    ctl_show(errbuf[0] ? errbuf : curl_easy_strerror(rc),
		    shown_err));
		status = CTL_EXIT_UNREACHABLE;
	}
	goto out;

no_memory:
	ctl_error("out of memory");
out:
	/* curl_slist_append copied the Authorization header, so wipe both. */
	if (headers != NULL)
		explicit_bzero(headers->data, strlen(headers->data));
	if (auth != NULL)
		explicit_bzero(auth, strlen(auth));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(auth);
	free(url);
	return status;
}

/* Parses the body of resp as JSON. Returns the value, or NULL after
 * printing why the response is unusable. */
json_t *
ctl_response_json(const struct ctl_ctx *ctx, const struct ctl_response *resp)
{
	char shown_url[CTL_SHOW_MAX], shown_err[CTL_SHOW_MAX];
	json_error_t jerr;
	json_t *root;

	root = json_loadb(resp->body != NULL ? resp->body : "", resp->len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		ctl_error("invalid JSON in the response from the admin API at "
		    "%s (HTTP %ld): %s: check that --admin or HASHGATE_ADMIN "
		    "names the admin listener of hashgated",
		    ctl_show(ctx->admin_base, shown_url), resp->status,
		    ctl_show(jerr.text, shown_err));
	return root;
}

/* Writes the daemon's error message for resp into out, escaped: the
 * "error" string of a JSON body, or the start of any other body. */
static void
response_message(const struct ctl_response *resp, char out[CTL_SHOW_MAX])
{
	json_t *root, *error;
	char start[CTL_BODY_SHOW_MAX];

	root = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0,
	    NULL);
	error = json_object_get(root, "error");
	if (json_is_string(error)) {
		if (ctl_escape(json_string_value(error),
		    json_string_length(error), out, CTL_SHOW_MAX - 3) >=
		    CTL_SHOW_MAX - 3)
			strcat(out, "...");
	} else if (resp->len == 0)
		snprintf(out, CTL_SHOW_MAX, "empty response body");
	else {
		if (ctl_escape(resp->body, resp->len, start,
		    sizeof(start) - 3) >= sizeof(start) - 3)
			strcat(start, "...");
		snprintf(out, CTL_SHOW_MAX, "response body without an error "
		    "message: \"%s\"", start);
	}
	json_decref(root);
}

/* Prints the error for a response that is not 2xx, starting with what
 * (such as "cannot pin URL") and ending with hint, or with a hint chosen
 * by status when hint is NULL. Returns the exit status for it. */
int
ctl_report_http_error(const struct ctl_ctx *ctx, const struct ctl_response *resp,
    const char *what, const char *hint)
{
	char message[CTL_SHOW_MAX], shown[CTL_SHOW_MAX];

	if (resp->status == 401) {
		ctl_error("admin API rejected the token from %s (401): check "
		    "--token-file or HASHGATE_TOKEN_FILE",
		    ctl_show(ctx->token_file, shown));
		return CTL_EXIT_AUTH;
	}

	if (hint == NULL) {
		if (resp->status == 404 || resp->status == 405)
			hint = "check that --admin or HASHGATE_ADMIN names the "
			    "admin listener of hashgated";
		else if (resp->status == 413)
			hint = "the daemon accepts request bodies up to 64 KiB, "
			    "so shorten the note";
		else if (resp->status == 400)
			hint = "correct the value that the daemon names";
		else if (resp->status == 403)
			hint = "use a token with the admin role";
		else if (resp->status == 409)
			hint = "choose another name, or remove the existing entry first";
		else
			hint = "check the log of hashgated";
	}
	response_message(resp, message);
	ctl_error("%s: the daemon returned HTTP %ld: %s: %s", what,
	    resp->status, message, hint);
	return CTL_EXIT_REJECTED;
}

int
ctl_is_success(const struct ctl_response *resp)
{
	return resp->status >= 200 && resp->status <= 299;
}

int
ctl_parse_url(const char *url, char out[URL_MAX_LEN + 1])
{
	char shown[CTL_SHOW_MAX];
	const char *err;

	if (url_normalise(url, strlen(url), out, URL_MAX_LEN + 1, &err) != 0) {
		ctl_error("invalid URL \"%s\": %s", ctl_show(url, shown), err);
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

/* Returns the string member key of the JSON object pin, or fallback when
 * pin has none. */
static const char *
pin_string(json_t *pin, const char *key, const char *fallback)
{
	json_t *value = json_object_get(pin, key);

	return json_is_string(value) ? json_string_value(value) : fallback;
}

/* Prints "VERB URL" and, when digest is not NULL, " DIGEST" for the pin
 * in the 2xx response resp, DIGEST being the canonical text such as
 * "sha256:HEX". Values missing from the body are taken from url and
 * digest, which are what was sent. */
static int
print_pin_result(const struct ctl_response *resp, const char *verb,
    const char *url, const char *hex)
{
	char *shown_url = NULL, *shown_hex = NULL;
	json_t *pin;
	int status = CTL_EXIT_REJECTED;

	pin = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0,
	    NULL);
	url = pin_string(pin, "url", url);
	shown_url = ctl_escape_alloc(url, strlen(url));
	if (hex != NULL) {
		hex = pin_string(pin, "digest", hex);
		shown_hex = ctl_escape_alloc(hex, strlen(hex));
	}
	if (shown_url == NULL || (hex != NULL && shown_hex == NULL)) {
		ctl_error("out of memory");
		goto out;
	}

	if (hex != NULL)
		printf("%s %s %s\n", verb, shown_url, shown_hex);
	else
		printf("%s %s\n", verb, shown_url);
	status = CTL_EXIT_OK;
out:
	free(shown_hex);
	free(shown_url);
	json_decref(pin);
	return status;
}

int
ctl_add(struct ctl_ctx *ctx)
{
	const char *note = ctx->values[OPT_NOTE], *err;
	const char *expires = ctx->values[OPT_EXPIRES];
	char url[URL_MAX_LEN + 1], hex[DIGEST_TEXT_MAX];
	char shown[CTL_SHOW_MAX], problem[DIGEST_ERROR_MAX];
	char what[CTL_HINT_MAX], hint[CTL_HINT_MAX];
	struct digest digest;
	struct ctl_response resp;
	json_t *request = NULL;
	char *body = NULL;
	int status;

	memset(&resp, 0, sizeof(resp));
	if ((status = ctl_parse_url(ctx->operands[0], url)) != CTL_EXIT_OK)
		return status;
	if (digest_parse_any_detail(ctx->operands[1], &digest, problem,
	    sizeof(problem)) != 0) {
		ctl_error("invalid digest \"%s\": %s",
		    ctl_show(ctx->operands[1], shown), problem);
		return CTL_EXIT_USAGE;
	}
	digest_format(&digest, hex, sizeof(hex));

	status = CTL_EXIT_REJECTED;
	request = json_pack("{s:s, s:s}", "url", url, "digest", hex);
	if (request == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	if (note != NULL &&
	    json_object_set_new(request, "note", json_string(note)) != 0) {
		ctl_error("invalid note \"%s\": it is not valid UTF-8",
		    ctl_show(note, shown));
		status = CTL_EXIT_USAGE;
		goto out;
	}
	if (expires != NULL) {
		long long now = (long long)time(NULL), at;
		int rc = ctl_parse_time(expires, 0, now, &at, &err);

		if (rc == 0 && at <= now) {
			err = "it is not in the future";
			rc = -1;
		}
		if (rc != 0) {
			ctl_error("invalid --expires \"%s\": %s",
			    ctl_show(expires, shown), err);
			status = CTL_EXIT_USAGE;
			goto out;
		}
		json_object_set_new(request, "expires_at", json_integer(at));
	}
	if (ctx->values[OPT_ALLOW_EMPTY] != NULL)
		json_object_set_new(request, "allow_empty", json_true());
	if (ctx->values[OPT_ALLOW_HTTP_REDIRECT] != NULL)
		json_object_set_new(request, "allow_http_redirect", json_true());
	if (ctx->values[OPT_PREFETCH] != NULL) {
		/* The daemon bounds the download with its upstream timeouts. */
		json_object_set_new(request, "prefetch", json_true());
		ctx->no_timeout = 1;
	}
	body = json_dumps(request, JSON_COMPACT);
	if (body == NULL) {
		ctl_error("out of memory");
		goto out;
	}

	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		goto out;
	status = ctl_request(ctx, "POST", "/v1/pins", body, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	if (!ctl_is_success(&resp)) {
		snprintf(what, sizeof(what), "cannot pin %s", url);
		snprintf(hint, sizeof(hint), "run \"" CTL_NAME " remove %s\" "
		    "first to change the digest", url);
		if (resp.status == 422)
			snprintf(hint, sizeof(hint), "the URL serves other bytes "
			    "than DIGEST names: check the digest and where it was "
			    "published");
		status = ctl_report_http_error(ctx, &resp, what,
		    resp.status == 409 || resp.status == 422 ? hint : NULL);
		goto out;
	}

	status = print_pin_result(&resp, "pinned", url, hex);
	if (status == CTL_EXIT_OK && ctx->values[OPT_PREFETCH] != NULL) {
		printf("prefetched: downloaded, verified and cached\n");
	}
out:
	json_decref(request);
	free(body);
	ctl_response_free(&resp);
	return status;
}

int
ctl_remove(struct ctl_ctx *ctx)
{
	char url[URL_MAX_LEN + 1], what[CTL_HINT_MAX];
	struct ctl_response resp;
	char *target;
	int status;

	memset(&resp, 0, sizeof(resp));
	if ((status = ctl_parse_url(ctx->operands[0], url)) != CTL_EXIT_OK)
		return status;

	status = CTL_EXIT_REJECTED;
	if ((target = strdup("/v1/pins?")) == NULL ||
	    ctl_query_append(&target, "url", url) != 0 ||
	    (ctx->values[OPT_NOTE] != NULL &&
	    ctl_query_append(&target, "note", ctx->values[OPT_NOTE]) != 0)) {
		ctl_error("out of memory");
		goto out;
	}

	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		goto out;
	status = ctl_request(ctx, "DELETE", target, NULL, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	if (!ctl_is_success(&resp)) {
		snprintf(what, sizeof(what), "cannot remove the pin for %s",
		    url);
		status = ctl_report_http_error(ctx, &resp, what,
		    resp.status == 404 ? "run \"" CTL_NAME " list\" to see "
		    "the pinned URLs" : NULL);
		goto out;
	}

	status = print_pin_result(&resp, "removed", url, NULL);
out:
	free(target);
	ctl_response_free(&resp);
	return status;
}

int
ctl_ca(struct ctl_ctx *ctx)
{
	struct ctl_response resp;
	int status;

	memset(&resp, 0, sizeof(resp));
	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		return status;
	status = ctl_request(ctx, "GET", "/v1/ca", NULL, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	if (!ctl_is_success(&resp)) {
		status = ctl_report_http_error(ctx, &resp,
		    "cannot read the CA certificate", NULL);
		goto out;
	}
	/* The certificate is printed as it is, so only PEM text may pass. */
	if (resp.len == 0 || strncmp(resp.body, "-----BEGIN CERTIFICATE-----", 27) != 0 ||
	    strspn(resp.body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=- \n") != resp.len) {
		ctl_error("the daemon returned something other than a PEM certificate for /v1/ca");
		status = CTL_EXIT_REJECTED;
		goto out;
	}
	if (fwrite(resp.body, 1, resp.len, stdout) != resp.len || fflush(stdout) != 0) {
		ctl_error("cannot write to standard output: %s", strerror(errno));
		status = CTL_EXIT_REJECTED;
	}
out:
	ctl_response_free(&resp);
	return status;
}

/* Prints a JSON value indented, with sorted keys and only ASCII. jansson
 * escapes every control character except DEL, so DEL is escaped here. It
 * can only occur inside strings, where \u007F means the same. */
int
ctl_print_json(json_t *root)
{
	char *text, *p;

	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	if (text == NULL) {
		ctl_error("out of memory");
		return CTL_EXIT_REJECTED;
	}
	for (p = text; *p != '\0'; p++) {
		if (*p == 0x7f)
			fputs("\\u007F", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
	free(text);
	return CTL_EXIT_OK;
}

/* Columns of one pin in the plain list, each escaped and allocated. */
enum list_column {
	COL_DIGEST,
	COL_URL,
	COL_ADDED_BY,
	COL_ADDED_AT,
	COL_EXPIRES,
	COL_NOTE,
	COL_COUNT
};

/* Formats the added_at seconds since the epoch as ISO 8601 UTC, or as
 * the plain number when the system cannot represent it as a date. */
void
ctl_format_time(json_t *value, char *out, size_t size)
{
	json_int_t seconds;
	struct tm tm;
	time_t t;

	if (!json_is_integer(value)) {
		snprintf(out, size, "-");
		return;
	}
	seconds = json_integer_value(value);
	t = (time_t)seconds;
	if ((json_int_t)t != seconds || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", (long long)seconds);
}

/* Fills cols with the escaped columns of pin. Returns 0, -1 when out of
 * memory, or -2 when pin lacks a string url or digest. */
static int
list_row(json_t *pin, char *cols[COL_COUNT])
{
	const char *fields[COL_COUNT];
	char added_at[64], expires[80], when[64];
	json_t *expires_at = json_object_get(pin, "expires_at");
	int i;

	fields[COL_DIGEST] = pin_string(pin, "digest", NULL);
	fields[COL_URL] = pin_string(pin, "url", NULL);
	if (fields[COL_DIGEST] == NULL || fields[COL_URL] == NULL)
		return -2;
	fields[COL_ADDED_BY] = pin_string(pin, "added_by", "-");
	ctl_format_time(json_object_get(pin, "added_at"), added_at,
	    sizeof(added_at));
	fields[COL_ADDED_AT] = added_at;
	/* An expired pin stays listed until it is removed, so the column
	 * marks it. */
	if (json_is_integer(expires_at)) {
		ctl_format_time(expires_at, when, sizeof(when));
		snprintf(expires, sizeof(expires), "%s %s",
		    json_integer_value(expires_at) <= (json_int_t)time(NULL) ?
		    "EXPIRED" : "expires", when);
	} else
		snprintf(expires, sizeof(expires), "-");
	fields[COL_EXPIRES] = expires;
	fields[COL_NOTE] = pin_string(pin, "note", "");

	for (i = 0; i < COL_COUNT; i++) {
		cols[i] = ctl_escape_alloc(fields[i], strlen(fields[i]));
		if (cols[i] == NULL)
			return -1;
	}
	return 0;
}

/* Prints one line per pin, in aligned columns separated by two spaces.
 * The note comes last and is not padded. */
static int
print_pin_table(const struct ctl_ctx *ctx, json_t *pins)
{
	char shown[CTL_SHOW_MAX];
	size_t npins = json_array_size(pins), i, width[COL_COUNT] = { 0 };
	char *(*rows)[COL_COUNT];
	int col, status = CTL_EXIT_REJECTED, rc;

	rows = calloc(npins + 1, sizeof(*rows));
	if (rows == NULL) {
		ctl_error("out of memory");
		return status;
	}

	for (i = 0; i < npins; i++) {
		rc = list_row(json_array_get(pins, i), rows[i]);
		if (rc == -1) {
			ctl_error("out of memory");
			goto out;
		}
		if (rc == -2) {
			ctl_error("invalid response from the admin API at %s: "
			    "pin %zu has no string \"url\" or \"digest\": "
			    "check the version of hashgated", ctl_show(ctx->admin_base,
			    shown), i + 1);
			goto out;
		}
		for (col = 0; col < COL_COUNT; col++)
			if (ctl_text_width(rows[i][col]) > width[col])
				width[col] = ctl_text_width(rows[i][col]);
	}

	for (i = 0; i < npins; i++) {
		for (col = 0; col < COL_NOTE; col++) {
			size_t pad = width[col] - ctl_text_width(rows[i][col]);

			fputs(rows[i][col], stdout);
			if (col < COL_NOTE - 1 || rows[i][COL_NOTE][0] != '\0')
				printf("%*s", (int)(pad + 2), "");
		}
		printf("%s\n", rows[i][COL_NOTE]);
	}
	status = CTL_EXIT_OK;
out:
	for (i = 0; i < npins; i++)
		for (col = 0; col < COL_COUNT; col++)
			free(rows[i][col]);
	free(rows);
	return status;
}

int
ctl_list(struct ctl_ctx *ctx)
{
	json_t *root;
	int status;

	status = ctl_get_list(ctx, "/v1/pins", "cannot list the pins", "pins",
	    &root);
	if (status != CTL_EXIT_OK)
		return status;
	if (ctx->values[OPT_JSON] != NULL)
		status = ctl_print_json(root);
	else
		status = print_pin_table(ctx, json_object_get(root, "pins"));
	json_decref(root);
	return status;
}

