/* SPDX-License-Identifier: MIT */
/* The token and events commands, and the TIME argument they share with
 * add --expires. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"

int
ctl_parse_time(const char *text, int past, long long now, long long *seconds,
    const char **err)
{
	struct tm tm;
	const char *end;
	char *num_end;
	long long n, unit;

	*err = "expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a duration such "
	    "as 30m, 12h or 7d";
	if (text[0] >= '0' && text[0] <= '9' && strlen(text) <= 12 &&
	    strchr(text, '-') == NULL) {
		errno = 0;
		n = strtoll(text, &num_end, 10);
		switch (*num_end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
		if (num_end[1] != '\0' || errno != 0 || n > LLONG_MAX / unit / 2)
			return -1;
		*seconds = past ? now - n * unit : now + n * unit;
		return 0;
	}

	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%d", &tm);
	if (end == NULL || end - text != 10)
		return -1;
	if (*end == 'T') {
		const char *t = strptime(end + 1, "%H:%M:%S", &tm);

		if (t == NULL || t - end != 9 || strcmp(t, "Z") != 0)
			return -1;
	} else if (*end != '\0')
		return -1;
	*seconds = (long long)timegm(&tm);
	return 0;
}

/* Sends one token request and prints its error, if any. */
static int
token_request(struct ctl_ctx *ctx, const char *method, const char *target,
    const char *body, const char *what, struct ctl_response *resp)
{
	int status;

	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		return status;
	status = ctl_request(ctx, method, target, body, resp);
	if (status != CTL_EXIT_OK)
		return status;
	if (!ctl_is_success(resp))
		return ctl_report_http_error(ctx, resp, what, NULL);
	return CTL_EXIT_OK;
}

static int
token_create(struct ctl_ctx *ctx, const char *name)
{
	const char *role = ctx->values[OPT_ROLE];
	char shown[CTL_SHOW_MAX], what[CTL_HINT_MAX];
	struct ctl_response resp;
	json_t *request = NULL, *root = NULL, *token;
	char *body = NULL;
	int status = CTL_EXIT_REJECTED;

	memset(&resp, 0, sizeof(resp));
	if (role == NULL) {
		ctl_error("token create: missing --role: admin (changes pins and "
		    "tokens) or reader (lists pins and reads the audit trail)");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(role, "admin") != 0 && strcmp(role, "reader") != 0) {
		ctl_error("invalid role \"%s\": expected admin or reader",
		    ctl_show(role, shown));
		return CTL_EXIT_USAGE;
	}
	request = json_pack("{s:s, s:s}", "name", name, "role", role);
	if (request == NULL) {
		ctl_error("invalid token name \"%s\": it is not valid UTF-8",
		    ctl_show(name, shown));
		return CTL_EXIT_USAGE;
	}
	if ((body = json_dumps(request, JSON_COMPACT)) == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	snprintf(what, sizeof(what), "cannot create token %s",
	    ctl_show(name, shown));
	status = token_request(ctx, "POST", "/v1/tokens", body, what, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	status = CTL_EXIT_REJECTED;
	if ((root = ctl_response_json(ctx, &resp)) == NULL)
		goto out;
	token = json_object_get(root, "token");
	if (!json_is_string(token) ||
	    strspn(json_string_value(token), "0123456789abcdef") !=
	    json_string_length(token)) {
		ctl_error("invalid response from the admin API: no token in it");
		goto out;
	}
	if (ctx->values[OPT_JSON] != NULL)
		status = ctl_print_json(root);
	else {
		/* The token goes to stdout alone, so that it can be piped
		 * into a file, and the reminder to stderr. */
		printf("%s\n", json_string_value(token));
		fprintf(stderr, CTL_NAME ": created token %s with role %s; "
		    "it is shown only this once, so store it now\n",
		    ctl_show(name, shown), role);
		status = CTL_EXIT_OK;
	}
out:
	json_decref(request);
	json_decref(root);
	free(body);
	ctl_response_free(&resp);
	return status;
}

static int
token_revoke(struct ctl_ctx *ctx, const char *name)
{
	char shown[CTL_SHOW_MAX], what[CTL_HINT_MAX];
	struct ctl_response resp;
	char *target;
	int status = CTL_EXIT_REJECTED;

	memset(&resp, 0, sizeof(resp));
	if ((target = strdup("/v1/tokens?")) == NULL ||
	    ctl_query_append(&target, "name", name) != 0) {
		ctl_error("out of memory");
		goto out;
	}
	snprintf(what, sizeof(what), "cannot revoke token %s",
	    ctl_show(name, shown));
	status = token_request(ctx, "DELETE", target, NULL, what, &resp);
	if (status == CTL_EXIT_OK)
		printf("revoked token %s\n", ctl_show(name, shown));
out:
	free(target);
	ctl_response_free(&resp);
	return status;
}

/* Prints prefix and the escaped string member key of obj, or nothing
 * when obj has no such string. */
static void
print_member(json_t *obj, const char *key, const char *prefix)
{
	json_t *value = json_object_get(obj, key);
	char shown[CTL_SHOW_MAX];

	if (!json_is_string(value))
		return;
	ctl_escape(json_string_value(value), json_string_length(value), shown,
	    sizeof(shown));
	printf("%s%s", prefix, shown);
}

static int
token_list(struct ctl_ctx *ctx)
{
	json_t *root, *token;
	char created[64], revoked[64];
	size_t i;
	int status;

	status = ctl_get_list(ctx, "/v1/tokens", "cannot list the tokens",
	    "tokens", &root);
	if (status != CTL_EXIT_OK)
		return status;
	if (ctx->values[OPT_JSON] != NULL) {
		status = ctl_print_json(root);
		json_decref(root);
		return status;
	}
	json_array_foreach(json_object_get(root, "tokens"), i, token) {
		ctl_format_time(json_object_get(token, "created_at"), created,
		    sizeof(created));
		print_member(token, "name", "");
		print_member(token, "role", "  ");
		printf("  created %s", created);
		print_member(token, "created_by", " by ");
		if (json_is_integer(json_object_get(token, "revoked_at"))) {
			ctl_format_time(json_object_get(token, "revoked_at"),
			    revoked, sizeof(revoked));
			printf("  revoked %s", revoked);
			print_member(token, "revoked_by", " by ");
		}
		putchar('\n');
	}
	json_decref(root);
	return CTL_EXIT_OK;
}

int
ctl_token(struct ctl_ctx *ctx)
{
	const char *action = ctx->operands[0];
	char shown[CTL_SHOW_MAX];
	int want = strcmp(action, "list") == 0 ? 1 : 2;

	if (strcmp(action, "create") != 0 && strcmp(action, "list") != 0 &&
	    strcmp(action, "revoke") != 0) {
		ctl_error("token: unknown action \"%s\": expected create, list "
		    "or revoke", ctl_show(action, shown));
		return CTL_EXIT_USAGE;
	}
	if (ctx->noperands != want) {
		ctl_error("token %s: %s", action, want == 1 ?
		    "takes no argument" : "missing argument: the token name");
		return CTL_EXIT_USAGE;
	}
	if (ctx->values[OPT_ROLE] != NULL && strcmp(action, "create") != 0) {
		ctl_error("option --role is valid only with token create");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(action, "create") == 0)
		return token_create(ctx, ctx->operands[1]);
	if (strcmp(action, "revoke") == 0)
		return token_revoke(ctx, ctx->operands[1]);
	return token_list(ctx);
}

/* Verdicts that hashgated records, for a hint when --verdict matched
 * nothing; docs/admin-api.md lists them. */
static const char *const known_verdicts[] = {
	"hit", "verified", "unknown", "expired", "mismatch", "upstream-error",
	"upstream-timeout", "blocked-address", "insecure-redirect",
	"too-large", "bad-request", "busy", "stopping", "disk-full",
	"disk-error", "internal-error", "pin-added", "pin-removed",
	"pending-rejected", "token-created", "token-revoked",
};

static int
verdict_known(const char *verdict)
{
	size_t i;

	for (i = 0; i < sizeof(known_verdicts) / sizeof(known_verdicts[0]); i++)
		if (strcmp(known_verdicts[i], verdict) == 0)
			return 1;
	return 0;
}

/* Prints one event as a line: time, verdict, client or identity, URL,
 * then the details that the verdict has. */
static void
print_event(json_t *ev)
{
	char at[64];
	json_t *status = json_object_get(ev, "status");

	ctl_format_time(json_object_get(ev, "at"), at, sizeof(at));
	printf("%s", at);
	print_member(ev, "verdict", "  ");
	if (json_is_integer(status))
		printf(" %lld", (long long)json_integer_value(status));
	print_member(ev, "identity", "  by ");
	print_member(ev, "client", "  from ");
	print_member(ev, "url", "  ");
	print_member(ev, "digest", "  pinned ");
	print_member(ev, "observed_sha256", "  observed sha256:");
	print_member(ev, "content_type", "  type ");
	print_member(ev, "redirects", "  redirects ");
	print_member(ev, "detail", "  ");
	putchar('\n');
}

int
ctl_events(struct ctl_ctx *ctx)
{
	const char *since = ctx->values[OPT_SINCE], *err;
	char shown[CTL_SHOW_MAX], number[32];
	json_t *root = NULL, *events, *ev;
	char *target = NULL;
	long long seconds, limit;
	size_t i;
	int status = CTL_EXIT_REJECTED;

	if (since != NULL && ctl_parse_time(since, 1, (long long)time(NULL),
	    &seconds, &err) != 0) {
		ctl_error("invalid --since \"%s\": %s", ctl_show(since, shown), err);
		return CTL_EXIT_USAGE;
	}
	if (ctx->values[OPT_LIMIT] != NULL) {
		char *end;

		errno = 0;
		limit = strtoll(ctx->values[OPT_LIMIT], &end, 10);
		if (*end != '\0' || errno != 0 || limit < 1 || limit > 100000 ||
		    ctx->values[OPT_LIMIT][0] < '0' ||
		    ctx->values[OPT_LIMIT][0] > '9') {
			ctl_error("invalid --limit \"%s\": expected 1 to 100000",
			    ctl_show(ctx->values[OPT_LIMIT], shown));
			return CTL_EXIT_USAGE;
		}
	}

	if ((target = strdup("/v1/events?")) == NULL)
		goto no_memory;
	if (since != NULL) {
		snprintf(number, sizeof(number), "%lld", seconds < 0 ? 0 : seconds);
		if (ctl_query_append(&target, "since", number) != 0)
			goto no_memory;
	}
	if ((ctx->values[OPT_VERDICT] != NULL &&
	    ctl_query_append(&target, "verdict", ctx->values[OPT_VERDICT]) != 0) ||
	    (ctx->values[OPT_URL] != NULL &&
	    ctl_query_append(&target, "url", ctx->values[OPT_URL]) != 0) ||
	    (ctx->values[OPT_LIMIT] != NULL &&
	    ctl_query_append(&target, "limit", ctx->values[OPT_LIMIT]) != 0))
		goto no_memory;

	status = ctl_get_list(ctx, target, "cannot read the audit trail",
	    "events", &root);
	if (status != CTL_EXIT_OK)
		goto out;
	events = json_object_get(root, "events");
	if (ctx->values[OPT_JSON] != NULL)
		status = ctl_print_json(root);
	else {
		json_array_foreach(events, i, ev)
			print_event(ev);
		status = CTL_EXIT_OK;
	}
	if (json_array_size(events) == 0 && ctx->values[OPT_VERDICT] != NULL &&
	    !verdict_known(ctx->values[OPT_VERDICT]))
		fprintf(stderr, CTL_NAME ": no events: \"%s\" is not a verdict "
		    "that hashgated records, such as mismatch or pin-added (see "
		    "docs/admin-api.md)\n", ctl_show(ctx->values[OPT_VERDICT],
		    shown));
	goto out;
no_memory:
	ctl_error("out of memory");
out:
	json_decref(root);
	free(target);
	return status;
}
