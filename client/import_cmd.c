/* SPDX-License-Identifier: MIT */
/* The import and import-dockerfile commands: read a checksum list or a
 * Dockerfile, check every line, and send all pins in one request to
 * POST /v1/pins/import. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "digest.h"
#include "import.h"
#include "url.h"

/* Largest input file, and the limits of one POST /v1/pins/import that
 * hashgated enforces: its body size and its number of entries. */
#define IMPORT_FILE_MAX		(8 * 1024 * 1024)
#define IMPORT_BODY_MAX		(8 * 1024 * 1024)
#define IMPORT_ENTRIES_MAX	10000
#define STDIN_NAME		"(standard input)"

/* The pins read from one input, and the problems that its lines have
 * beyond those the parser found. */
struct import_batch {
	const char		*file;		/* escaped, for messages */
	json_t			*pins;		/* the request's pins array */
	struct import_message	*errors;	/* in line order */
	size_t			 nerrors;
	size_t			 errors_cap;
	int			 no_memory;
};

/* Reads path, or standard input for "-", into *buf (NUL-terminated) and
 * *len. Returns CTL_EXIT_OK, or the exit status after printing the
 * error. */
static int
read_input(const char *path, const char *shown, char **buf, size_t *len)
{
	int fd, saved_errno = 0, is_stdin = strcmp(path, "-") == 0;
	size_t n = 0;
	ssize_t rc;
	char *p;

	/* One byte more than the limit shows that the input is too large. */
	if ((p = malloc(IMPORT_FILE_MAX + 2)) == NULL) {
		ctl_error("out of memory");
		return CTL_EXIT_REJECTED;
	}
	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		saved_errno = errno;
	while (fd >= 0 && n <= IMPORT_FILE_MAX) {
		rc = read(fd, p + n, IMPORT_FILE_MAX + 1 - n);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			saved_errno = errno;
			break;
		}
		n += (size_t)rc;
	}
	if (fd >= 0 && !is_stdin)
		close(fd);

	if (saved_errno != 0 || n > IMPORT_FILE_MAX) {
		if (saved_errno != 0)
			ctl_error("cannot read %s: %s", shown,
			    strerror(saved_errno));
		else
			ctl_error("cannot read %s: it is larger than 8 MiB; "
			    "split it into smaller files", shown);
		free(p);
		return CTL_EXIT_USAGE;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
	return CTL_EXIT_OK;
}

static void
batch_error(struct import_batch *batch, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a problem with line. */
static void
batch_error(struct import_batch *batch, size_t line, const char *fmt, ...)
{
	struct import_message *errors;
	va_list ap;
	char *text;
	size_t cap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		batch->no_memory = 1;
		return;
	}
	if (batch->nerrors == batch->errors_cap) {
		cap = batch->errors_cap > 0 ? 2 * batch->errors_cap : 16;
		errors = reallocarray(batch->errors, cap, sizeof(*errors));
		if (errors == NULL) {
			free(text);
			batch->no_memory = 1;
			return;
		}
		batch->errors = errors;
		batch->errors_cap = cap;
	}
	batch->errors[batch->nerrors].line = line;
	batch->errors[batch->nerrors].text = text;
	batch->nerrors++;
}

static void
batch_free(struct import_batch *batch)
{
	size_t i;

	for (i = 0; i < batch->nerrors; i++)
		free(batch->errors[i].text);
	free(batch->errors);
	json_decref(batch->pins);
}

/* Parses the digest of one line, which must be of the algorithm the line
 * names, into its canonical text. Returns 0, or -1 after recording the
 * error. */
static int
batch_digest(struct import_batch *batch, size_t line,
    enum import_algorithm algorithm, const char *digest,
    char text[DIGEST_TEXT_MAX])
{
	char shown[CTL_SHOW_MAX], problem[DIGEST_ERROR_MAX];
	struct digest d;

	if (digest_parse_any_detail(digest, &d, problem, sizeof(problem)) != 0) {
		batch_error(batch, line, "invalid digest \"%s\": %s",
		    ctl_show(digest, shown), problem);
		return -1;
	}
	if ((algorithm == IMPORT_SHA512) != (d.alg == DIGEST_SHA512)) {
		batch_error(batch, line, "the line names %s, but the digest is "
		    "a %s", algorithm == IMPORT_SHA512 ? "SHA-512" : "SHA-256",
		    d.alg == DIGEST_SHA512 ? "SHA-512" : "SHA-256");
		return -1;
	}
	digest_format(&d, text, DIGEST_TEXT_MAX);
	return 0;
}

/* Adds a pin for url (normalised) with the canonical digest from line. */
static void
batch_add(struct import_batch *batch, size_t line, const char *url,
    const char *digest)
{
	json_t *pin;

	pin = json_pack("{s:s, s:s, s:I}", "url", url, "digest", digest, "line",
	    (json_int_t)line);
	if (pin == NULL || json_array_append_new(batch->pins, pin) != 0)
		batch->no_memory = 1;
}

/* Prints "FILE:LINE: [prefix]TEXT" for each message, to stderr. */
static void
print_line_messages(const char *file, const char *prefix,
    const struct import_message *messages, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "%s:%zu: %s%s\n", file, messages[i].line,
		    prefix, messages[i].text);
}

/* Prints the parser's errors and the batch's errors, merged in line
 * order. Returns how many there are. */
static size_t
print_errors(const struct import_batch *batch,
    const struct import_message *parsed, size_t nparsed)
{
	size_t i = 0, j = 0;

	fflush(stdout);
	while (i < nparsed || j < batch->nerrors) {
		if (j == batch->nerrors ||
		    (i < nparsed && parsed[i].line <= batch->errors[j].line))
			print_line_messages(batch->file, "", &parsed[i++], 1);
		else
			print_line_messages(batch->file, "",
			    &batch->errors[j++], 1);
	}
	return nparsed + batch->nerrors;
}

/* Prints the entries that the daemon rejected, with their lines. */
static void
print_daemon_errors(const struct import_batch *batch,
    const struct ctl_response *resp)
{
	char shown_url[CTL_SHOW_MAX], shown_err[CTL_SHOW_MAX];
	json_t *root, *errors, *item, *line, *url, *error;
	size_t i;

	root = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0,
	    NULL);
	errors = json_object_get(root, "errors");
	fflush(stdout);
	json_array_foreach(errors, i, item) {
		line = json_object_get(item, "line");
		url = json_object_get(item, "url");
		error = json_object_get(item, "error");
		if (json_is_integer(line))
			fprintf(stderr, "%s:%lld: ", batch->file,
			    (long long)json_integer_value(line));
		else
			fprintf(stderr, "%s: ", batch->file);
		if (json_is_string(url))
			fprintf(stderr, "%s: ", ctl_show(json_string_value(url),
			    shown_url));
		fprintf(stderr, "%s\n", ctl_show(json_is_string(error) ?
		    json_string_value(error) : "rejected without a reason",
		    shown_err));
	}
	json_decref(root);
}

/* Sends the pins of batch in one request and prints the result. */
static int
send_batch(struct ctl_ctx *ctx, struct import_batch *batch)
{
	const char *note = ctx->values[OPT_NOTE];
	char what[CTL_HINT_MAX], shown[CTL_SHOW_MAX];
	struct ctl_response resp;
	json_t *request = NULL, *root = NULL, *added, *existing;
	size_t npins = json_array_size(batch->pins);
	char *body = NULL;
	int status = CTL_EXIT_REJECTED;

	memset(&resp, 0, sizeof(resp));
	if (npins == 0) {
		ctl_error("%s has nothing to pin: no checksum line, or no ADD "
		    "--checksum instruction with a URL", batch->file);
		return CTL_EXIT_USAGE;
	}
	if (npins > IMPORT_ENTRIES_MAX) {
		ctl_error("%s has %zu pins, but one import takes at most %d: "
		    "split it into smaller files", batch->file, npins,
		    IMPORT_ENTRIES_MAX);
		return CTL_EXIT_USAGE;
	}
	request = json_pack("{s:O}", "pins", batch->pins);
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
	if ((body = json_dumps(request, JSON_COMPACT)) == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	if (strlen(body) > IMPORT_BODY_MAX) {
		ctl_error("the import request for %s is larger than 8 MiB: "
		    "split it into smaller files", batch->file);
		status = CTL_EXIT_USAGE;
		goto out;
	}

	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		goto out;
	status = ctl_request(ctx, "POST", "/v1/pins/import", body, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	if (!ctl_is_success(&resp)) {
		print_daemon_errors(batch, &resp);
		snprintf(what, sizeof(what), "cannot import %s", batch->file);
		status = ctl_report_http_error(ctx, &resp, what,
		    resp.status == 422 ? "correct the lines above and import "
		    "again" : resp.status == 413 ? "the daemon accepts "
		    "up to 8 MiB per import, so split the file" : NULL);
		goto out;
	}

	status = CTL_EXIT_REJECTED;
	if ((root = ctl_response_json(ctx, &resp)) == NULL)
		goto out;
	added = json_object_get(root, "added");
	existing = json_object_get(root, "existing");
	if (!json_is_integer(added) || !json_is_integer(existing)) {
		ctl_error("invalid response from the admin API at %s: no "
		    "integer \"added\" and \"existing\": check the version of "
		    "hashgated", ctl_show(ctx->admin_base, shown));
		goto out;
	}
	printf("imported %zu pin%s: %lld added, %lld already pinned\n", npins,
	    npins == 1 ? "" : "s", (long long)json_integer_value(added),
	    (long long)json_integer_value(existing));
	status = CTL_EXIT_OK;
out:
	json_decref(root);
	json_decref(request);
	free(body);
	ctl_response_free(&resp);
	return status;
}

/* Checks the --base-url of import, which the command table makes
 * required. Returns CTL_EXIT_OK, or CTL_EXIT_USAGE after printing the
 * error. */
static int
check_base_url(const char *base)
{
	char url[URL_MAX_LEN + 1], shown[CTL_SHOW_MAX];
	const char *err = NULL;

	if (url_normalise(base, strlen(base), url, sizeof(url), &err) != 0 ||
	    strpbrk(base, "?#") != NULL) {
		ctl_error("invalid --base-url \"%s\": %s", ctl_show(base, shown),
		    err != NULL ? err : "it must not contain a query or "
		    "fragment");
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

int
ctl_import(struct ctl_ctx *ctx)
{
	const char *path = ctx->operands[0], *base = ctx->values[OPT_BASE_URL];
	char url[URL_MAX_LEN + 1], hex[DIGEST_TEXT_MAX];
	char file[CTL_SHOW_MAX], shown[CTL_SHOW_MAX];
	struct import_batch batch;
	struct import_list list;
	const char *err;
	char *buf = NULL;
	size_t len, i;
	int status;

	memset(&batch, 0, sizeof(batch));
	memset(&list, 0, sizeof(list));
	if ((status = check_base_url(base)) != CTL_EXIT_OK)
		return status;
	batch.file = strcmp(path, "-") == 0 ? STDIN_NAME : ctl_show(path, file);
	if ((status = read_input(path, batch.file, &buf, &len)) != CTL_EXIT_OK)
		return status;

	status = CTL_EXIT_REJECTED;
	if ((batch.pins = json_array()) == NULL ||
	    import_parse_checksums(buf, len, &list) != 0) {
		ctl_error("out of memory");
		goto out;
	}
	for (i = 0; i < list.nentries; i++) {
		const struct import_checksum *e = &list.entries[i];

		if (batch_digest(&batch, e->line, e->algorithm, e->digest,
		    hex) != 0)
			continue;
		if (import_join_url(base, e->name, url, sizeof(url),
		    &err) != 0) {
			batch_error(&batch, e->line, "cannot join \"%s\" to "
			    "the base URL: %s", ctl_show(e->name, shown), err);
			continue;
		}
		batch_add(&batch, e->line, url, hex);
	}
	if (batch.no_memory) {
		ctl_error("out of memory");
		goto out;
	}
	if (print_errors(&batch, list.errors, list.nerrors) > 0) {
		ctl_error("%s: %zu invalid line%s; nothing was imported",
		    batch.file, list.nerrors + batch.nerrors,
		    list.nerrors + batch.nerrors == 1 ? "" : "s");
		status = CTL_EXIT_USAGE;
		goto out;
	}
	status = send_batch(ctx, &batch);
out:
	import_list_free(&list);
	batch_free(&batch);
	free(buf);
	return status;
}

int
ctl_import_dockerfile(struct ctl_ctx *ctx)
{
	const char *path = ctx->operands[0], *err;
	char url[URL_MAX_LEN + 1], hex[DIGEST_TEXT_MAX];
	char file[CTL_SHOW_MAX], shown[CTL_SHOW_MAX];
	struct import_dockerfile df;
	struct import_batch batch;
	char *buf = NULL;
	size_t len, i;
	int status;

	memset(&batch, 0, sizeof(batch));
	memset(&df, 0, sizeof(df));
	batch.file = strcmp(path, "-") == 0 ? STDIN_NAME : ctl_show(path, file);
	if ((status = read_input(path, batch.file, &buf, &len)) != CTL_EXIT_OK)
		return status;

	status = CTL_EXIT_REJECTED;
	if ((batch.pins = json_array()) == NULL ||
	    import_parse_dockerfile(buf, len, &df) != 0) {
		ctl_error("out of memory");
		goto out;
	}
	for (i = 0; i < df.nadds; i++) {
		const struct import_add *e = &df.adds[i];

		if (batch_digest(&batch, e->line, e->algorithm, e->digest,
		    hex) != 0)
			continue;
		/* The parser checked the URL already; this gives the form
		 * that the daemon stores. */
		if (url_normalise(e->url, strlen(e->url), url, sizeof(url),
		    &err) != 0) {
			batch_error(&batch, e->line, "invalid URL \"%s\": %s",
			    ctl_show(e->url, shown), err);
			continue;
		}
		batch_add(&batch, e->line, url, hex);
	}
	if (batch.no_memory) {
		ctl_error("out of memory");
		goto out;
	}
	fflush(stdout);
	print_line_messages(batch.file, "notice: ", df.skipped, df.nskipped);
	if (print_errors(&batch, df.errors, df.nerrors) > 0) {
		ctl_error("%s: %zu invalid instruction%s; nothing was imported",
		    batch.file, df.nerrors + batch.nerrors,
		    df.nerrors + batch.nerrors == 1 ? "" : "s");
		status = CTL_EXIT_USAGE;
		goto out;
	}
	status = send_batch(ctx, &batch);
out:
	import_dockerfile_free(&df);
	batch_free(&batch);
	free(buf);
	return status;
}
