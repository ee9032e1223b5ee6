/* SPDX-License-Identifier: MIT */
/* hashgatectl internals shared by its source files: exit statuses, the
 * run context, escaping of untrusted text and the pin commands. */
#ifndef HASHGATE_CTL_H
#define HASHGATE_CTL_H

#include <stddef.h>

#include <jansson.h>

#include "url.h"

#ifdef HAVE_CONFIG_H
#define CTL_VERSION		PACKAGE_VERSION
#else
#define CTL_VERSION		"0.1.0"
#endif

#define CTL_NAME		"hashgatectl"
#define CTL_DEFAULT_ADMIN	"http://127.0.0.1:3129"
#define CTL_DEFAULT_TOKEN_FILE	"state/admin.token"
#define CTL_SHOW_MAX		512	/* bytes of one value in a message */
#define CTL_HINT_MAX		(URL_MAX_LEN + 128)	/* bytes of a hint */

/* Exit statuses. The help text and docs/hashgatectl.md list them. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REJECTED = 1,	/* HTTP error from the daemon, or other */
	CTL_EXIT_USAGE = 2,	/* usage error or invalid argument */
	CTL_EXIT_UNREACHABLE = 3,
	CTL_EXIT_AUTH = 4	/* 401, or the token file is unusable */
};

enum ctl_option_id {
	OPT_ADMIN,
	OPT_TOKEN_FILE,
	OPT_NOTE,
	OPT_EXPIRES,
	OPT_ALLOW_EMPTY,
	OPT_PREFETCH,
	OPT_ALLOW_HTTP_REDIRECT,
	OPT_ROLE,
	OPT_SINCE,
	OPT_VERDICT,
	OPT_URL,
	OPT_LIMIT,
	OPT_JSON,
	OPT_BASE_URL,
	OPT_HELP,
	OPT_VERSION,
	OPT_COUNT
};

struct ctl_ctx;

/* A command. The table of commands drives dispatch, usage messages and
 * help. */
struct ctl_command {
	const char	*name;
	const char	*operands;	/* synopsis of the operands */
	int		 min_operands;
	int		 max_operands;	/* -1: no limit */
	int		 uses_daemon;	/* needs the admin URL and token */
	int		(*run)(struct ctl_ctx *);
	const char	*help;
};

/* Everything one run works with: the parsed command line, the admin URL
 * and the token. */
struct ctl_ctx {
	const struct ctl_command *command;
	char		**operands;
	int		  noperands;
	const char	 *values[OPT_COUNT];	/* NULL: not given; "" for flags */
	char		  admin_base[URL_MAX_LEN + 1];	/* no trailing '/' */
	const char	 *token_file;
	char		 *token;		/* loaded by the command */
	int		  curl_initialised;
	int		  no_timeout;	/* the request may take as long as a
					 * download, as a prefetch does */
};

/* Prints one line "hashgatectl: MESSAGE" to stderr, after flushing
 * stdout so that the two stay in order. */
void	ctl_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Escapes len bytes of untrusted text at s into out (outsize bytes) so
 * that it prints as one line with no control characters. Backslash,
 * \n, \r and \t get C escapes, other control bytes and invalid UTF-8
 * bytes become \xNN, and C1 controls, bidirectional formatting and the
 * Unicode line and paragraph separators become \uNNNN. Other valid UTF-8
 * is kept. Writes only whole escapes and NUL-terminates when
 * outsize > 0. Returns the length of the whole escaped text, which is
 * outsize or more when out was too small, as snprintf does. */
size_t	ctl_escape(const char *s, size_t len, char *out, size_t outsize);

/* Escapes the string s into out for a message, shortened with "..."
 * when it does not fit. Returns out. */
const char *ctl_show(const char *s, char out[CTL_SHOW_MAX]);

/* Returns a newly allocated escaped copy of len bytes at s, or NULL when
 * out of memory. The caller frees it. */
char	*ctl_escape_alloc(const char *s, size_t len);

/* Returns the width in columns of a string that ctl_escape produced:
 * its number of code points.
 * NOTE: East Asian wide characters take two columns, so a column after
 * one is misaligned. */
size_t	ctl_text_width(const char *s);

/* Picks the admin URL (--admin, HASHGATE_ADMIN, default) and the token
 * file (--token-file, HASHGATE_TOKEN_FILE, default) and initialises
 * libcurl. Returns CTL_EXIT_OK, or the exit status after printing the
 * error. Call ctl_admin_cleanup afterwards in either case. */
int	ctl_admin_init(struct ctl_ctx *ctx);

/* Wipes and frees the token and releases libcurl. */
void	ctl_admin_cleanup(struct ctl_ctx *ctx);

/* One HTTP response from the admin API. */
struct ctl_response {
	long	 status;
	char	*body;		/* NUL-terminated, NULL when empty */
	size_t	 len;
	size_t	 cap;
	int	 too_large;	/* body went past the 16 MiB limit */
	int	 no_memory;
};

/* Reads the token file into ctx->token. Returns the exit status after
 * printing any error. */
int	ctl_load_token(struct ctl_ctx *ctx);

/* Sends one request to the admin API: method is "GET", "POST" or
 * "DELETE", target is the path and query after the admin base URL, and
 * body is the JSON to send or NULL. Never uses a proxy. Returns
 * CTL_EXIT_OK once any HTTP response arrived, with its status and body in
 * resp; otherwise prints the error and returns the exit status. Release
 * resp with ctl_response_free in every case. */
int	ctl_request(struct ctl_ctx *ctx, const char *method,
	    const char *target, const char *body, struct ctl_response *resp);
void	ctl_response_free(struct ctl_response *resp);
int	ctl_is_success(const struct ctl_response *resp);

/* Parses the body of resp as JSON. Returns the value, or NULL after
 * printing why the response is unusable. */
json_t	*ctl_response_json(const struct ctl_ctx *ctx,
	    const struct ctl_response *resp);

/* Prints the error for a response that is not 2xx, starting with what
 * and ending with hint, or with a hint chosen by status when hint is
 * NULL. Returns the exit status for it. */
int	ctl_report_http_error(const struct ctl_ctx *ctx,
	    const struct ctl_response *resp, const char *what, const char *hint);

/* Prints a JSON value indented, with sorted keys and only ASCII. */
int	ctl_print_json(json_t *root);

/* Formats seconds since the epoch in value as ISO 8601 UTC, "-" when
 * value is not an integer. */
void	ctl_format_time(json_t *value, char *out, size_t size);

/* Normalises the URL operand url into out, or prints why it is invalid
 * and returns CTL_EXIT_USAGE. */
int	ctl_parse_url(const char *url, char out[URL_MAX_LEN + 1]);

/* The review queue commands: pending, approve URL and reject URL. */
int	ctl_pending(struct ctl_ctx *ctx);
int	ctl_approve(struct ctl_ctx *ctx);
int	ctl_reject(struct ctl_ctx *ctx);

/* Appends "key=VALUE" to the request target *target, with VALUE
 * percent-encoded and a "&" before it unless *target ends in "?".
 * Returns 0, or -1 when out of memory, leaving *target as it was. */
int	ctl_query_append(char **target, const char *key, const char *value);

/* Sends GET target and parses the JSON response, which must be an object
 * with an array member key. Returns CTL_EXIT_OK with *root set, which the
 * caller releases with json_decref, or the exit status after printing the
 * error, starting with what, with *root NULL. */
int	ctl_get_list(struct ctl_ctx *ctx, const char *target, const char *what,
	    const char *key, json_t **root);

/* Returns a newly allocated a followed by b, or NULL. */
char	*ctl_concat(const char *a, const char *b);

/* The pin commands. Each validates its operands, reads the token, sends
 * one request and returns the exit status. Every failure prints one
 * line. */
int	ctl_add(struct ctl_ctx *ctx);
int	ctl_list(struct ctl_ctx *ctx);
int	ctl_remove(struct ctl_ctx *ctx);

/* The token commands: token create NAME --role ROLE, token list and
 * token revoke NAME. */
int	ctl_token(struct ctl_ctx *ctx);

/* Prints the audit trail, filtered by --since, --verdict, --url and
 * --limit. */
int	ctl_events(struct ctl_ctx *ctx);

/* Parses TIME as the help text describes it into seconds since the
 * epoch, relative to now, going back for past and forward otherwise.
 * Returns 0, or -1 with *err set. */
int	ctl_parse_time(const char *text, int past, long long now,
	    long long *seconds, const char **err);

/* The bulk import commands: import FILE --base-url URL reads a checksum
 * list, import-dockerfile FILE the ADD --checksum instructions of a
 * Dockerfile. Each checks every line, prints every problem as FILE:LINE
 * and sends nothing if there is one, or else sends all pins in one
 * request, which the daemon commits whole or not at all. */
int	ctl_import(struct ctl_ctx *ctx);
int	ctl_import_dockerfile(struct ctl_ctx *ctx);

/* Prints the CA certificate of intercepted tunnels, as the daemon returns
 * it, and returns the exit status. */
int	ctl_ca(struct ctl_ctx *ctx);

#endif
