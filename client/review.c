/* SPDX-License-Identifier: MIT */
/* The review queue commands of learn mode: pending, approve and reject. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"

/* Prints the escaped string member key of obj, or "-" when it has none. */
static void
print_field(json_t *obj, const char *key, const char *prefix)
{
	json_t *value = json_object_get(obj, key);
	char shown[CTL_SHOW_MAX];

	if (json_is_string(value))
		ctl_escape(json_string_value(value), json_string_length(value),
		    shown, sizeof(shown));
	else
		snprintf(shown, sizeof(shown), "-");
	printf("%s%s", prefix, shown);
}

int
ctl_pending(struct ctl_ctx *ctx)
{
	json_t *root, *item;
	char first[64], last[64];
	size_t i;
	int status;

	status = ctl_get_list(ctx, "/v1/pending", "cannot read the review queue",
	    "pending", &root);
	if (status != CTL_EXIT_OK)
		return status;
	if (ctx->values[OPT_JSON] != NULL) {
		status = ctl_print_json(root);
		goto out;
	}
	/* One line each: URL, digest or the fetch error, size, first and
	 * last request, and how many requests asked for it. */
	json_array_foreach(json_object_get(root, "pending"), i, item) {
		json_t *size = json_object_get(item, "size");

		ctl_format_time(json_object_get(item, "first_seen"), first,
		    sizeof(first));
		ctl_format_time(json_object_get(item, "last_seen"), last,
		    sizeof(last));
		print_field(item, "url", "");
		if (json_is_string(json_object_get(item, "sha256")))
			print_field(item, "sha256", "  sha256:");
		else if (json_is_string(json_object_get(item, "error")))
			print_field(item, "error", "  fetch failed: ");
		else
			printf("  (fetching)");
		if (json_is_integer(size))
			printf("  %lld bytes", (long long)json_integer_value(size));
		printf("  first %s  last %s  requests %lld\n", first, last,
		    (long long)json_integer_value(json_object_get(item,
		    "requests")));
	}
	status = CTL_EXIT_OK;
out:
	json_decref(root);
	return status;
}

int
ctl_approve(struct ctl_ctx *ctx)
{
	char url[URL_MAX_LEN + 1], shown[CTL_SHOW_MAX], what[CTL_HINT_MAX];
	struct ctl_response resp;
	json_t *request = NULL, *root = NULL;
	char *body = NULL;
	int status;

	memset(&resp, 0, sizeof(resp));
	if ((status = ctl_parse_url(ctx->operands[0], url)) != CTL_EXIT_OK)
		return status;
	request = json_pack("{s:s}", "url", url);
	if (request == NULL || (ctx->values[OPT_NOTE] != NULL &&
	    json_object_set_new(request, "note",
	    json_string(ctx->values[OPT_NOTE])) != 0)) {
		ctl_error("invalid note \"%s\": it is not valid UTF-8",
		    ctl_show(ctx->values[OPT_NOTE], shown));
		status = CTL_EXIT_USAGE;
		goto out;
	}
	status = CTL_EXIT_REJECTED;
	if ((body = json_dumps(request, JSON_COMPACT)) == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		goto out;
	status = ctl_request(ctx, "POST", "/v1/pending/approve", body, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	if (!ctl_is_success(&resp)) {
		snprintf(what, sizeof(what), "cannot approve %s", url);
		status = ctl_report_http_error(ctx, &resp, what, resp.status == 404 ?
		    "run \"" CTL_NAME " pending\" to see the queued URLs" : NULL);
		goto out;
	}
	status = CTL_EXIT_REJECTED;
	if ((root = ctl_response_json(ctx, &resp)) == NULL)
		goto out;
	printf("pinned %s", ctl_show(url, shown));
	print_field(root, "digest", " ");
	putchar('\n');
	status = CTL_EXIT_OK;
out:
	json_decref(request);
	json_decref(root);
	free(body);
	ctl_response_free(&resp);
	return status;
}

int
ctl_reject(struct ctl_ctx *ctx)
{
	char url[URL_MAX_LEN + 1], shown[CTL_SHOW_MAX], what[CTL_HINT_MAX];
	struct ctl_response resp;
	char *target;
	int status;

	memset(&resp, 0, sizeof(resp));
	if ((status = ctl_parse_url(ctx->operands[0], url)) != CTL_EXIT_OK)
		return status;
	status = CTL_EXIT_REJECTED;
	if ((target = strdup("/v1/pending?")) == NULL ||
	    ctl_query_append(&target, "url", url) != 0 ||
	    (ctx->values[OPT_NOTE] != NULL &&
	    ctl_query_append(&target, "note", ctx->values[OPT_NOTE]) != 0))
		goto no_memory;
	if ((status = ctl_load_token(ctx)) != CTL_EXIT_OK)
		goto out;
	status = ctl_request(ctx, "DELETE", target, NULL, &resp);
	if (status != CTL_EXIT_OK)
		goto out;
	if (!ctl_is_success(&resp)) {
		snprintf(what, sizeof(what), "cannot reject %s", url);
		status = ctl_report_http_error(ctx, &resp, what, resp.status == 404 ?
		    "run \"" CTL_NAME " pending\" to see the queued URLs" : NULL);
		goto out;
	}
	printf("rejected %s\n", ctl_show(url, shown));
	goto out;
no_memory:
	ctl_error("out of memory");
out:
	free(target);
	ctl_response_free(&resp);
	return status;
}
