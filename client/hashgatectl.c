/* SPDX-License-Identifier: MIT */
/* hashgatectl: manages the pins of hashgated through its admin API, and
 * hashes local files as sha256sum does. */

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

#include "ctl.h"
#include "digest.h"

/* A command-line option. Options may come before or after the command. */
struct ctl_option {
	enum ctl_option_id	 id;
	const char		*name;		/* long form, "--admin" */
	const char		*alias;		/* short form, or NULL */
	const char		*value;		/* value placeholder, NULL for a flag */
	const char		*command;	/* commands it applies to, split by
						 * spaces, or NULL for all */
	int			 required;	/* the commands need it */
	const char		*help;
};

static int	cmd_hash(struct ctl_ctx *);
static int	cmd_help(struct ctl_ctx *);

static const struct ctl_command commands[] = {
	{ "add", "URL DIGEST", 2, 2, 1, ctl_add,
	    "Pin URL to DIGEST, a SHA-256 or SHA-512 (hex or SRI)." },
	{ "list", "", 0, 0, 1, ctl_list,
	    "Print every pin, or the daemon's JSON." },
	{ "remove", "URL", 1, 1, 1, ctl_remove,
	    "Remove the pin for URL." },
	{ "import", "FILE", 1, 1, 1, ctl_import,
	    "Pin each file of the sha256sum or sha512sum list FILE (\"-\": stdin)." },
	{ "import-dockerfile", "FILE", 1, 1, 1, ctl_import_dockerfile,
	    "Pin the URL of every ADD --checksum in a Dockerfile." },
	{ "token", "create NAME | list | revoke NAME", 1, 2, 1, ctl_token,
	    "Create an API token (printed once), list tokens, or revoke one." },
	{ "pending", "", 0, 0, 1, ctl_pending,
	    "Print the review queue of learn mode." },
	{ "approve", "URL", 1, 1, 1, ctl_approve,
	    "Pin a queued URL to the digest that learn mode observed." },
	{ "reject", "URL", 1, 1, 1, ctl_reject,
	    "Drop a URL from the review queue." },
	{ "events", "", 0, 0, 1, ctl_events,
	    "Print the audit trail: decisions of the proxy and admin changes." },
	{ "ca", "", 0, 0, 1, ctl_ca,
	    "Print the CA certificate that signs intercepted tunnels (PEM)." },
	{ "hash", "FILE...", 1, -1, 0, cmd_hash,
	    "Print the SHA-256 of each FILE (\"-\": stdin)." },
	{ "help", "[COMMAND]", 0, 1, 0, cmd_help,
	    "Print this help, or the help for COMMAND." },
};

static const struct ctl_option options[] = {
	{ OPT_ADMIN, "--admin", NULL, "URL", NULL, 0,
	    "Base URL of the admin API." },
	{ OPT_TOKEN_FILE, "--token-file", NULL, "PATH", NULL, 0,
	    "File that contains the admin token." },
	{ OPT_NOTE, "--note", NULL, "TEXT",
	    "add remove approve reject import import-dockerfile", 0,
	    "Why the pin is added or removed, kept in the audit trail." },
	{ OPT_EXPIRES, "--expires", NULL, "TIME", "add", 0,
	    "Stop serving the pin at TIME (see TIME below)." },
	{ OPT_ALLOW_EMPTY, "--allow-empty", NULL, NULL, "add", 0,
	    "Accept the digest of empty input." },
	{ OPT_PREFETCH, "--prefetch", NULL, NULL, "add", 0,
	    "Download and verify the artifact now; pin only if it matches." },
	{ OPT_ALLOW_HTTP_REDIRECT, "--allow-http-redirect", NULL, NULL, "add", 0,
	    "Let an https URL redirect to plain http (refused by default)." },
	{ OPT_ROLE, "--role", NULL, "ROLE", "token", 0,
	    "Role of a new token: admin or reader." },
	{ OPT_SINCE, "--since", NULL, "TIME", "events", 0,
	    "Only events at or after TIME." },
	{ OPT_VERDICT, "--verdict", NULL, "VERDICT", "events", 0,
	    "Only events with this verdict, such as mismatch or pin-added." },
	{ OPT_URL, "--url", NULL, "PREFIX", "events", 0,
	    "Only events whose URL starts with PREFIX." },
	{ OPT_LIMIT, "--limit", NULL, "N", "events", 0,
	    "At most the newest N events (default 1000)." },
	{ OPT_JSON, "--json", NULL, NULL, "list events token pending", 0,
	    "Print the daemon's JSON, indented, keys sorted." },
	{ OPT_BASE_URL, "--base-url", NULL, "URL", "import", 1,
	    "URL that each file name of the list is joined to." },
	{ OPT_HELP, "--help", "-h", NULL, NULL, 0,
	    "Print help and exit." },
	{ OPT_VERSION, "--version", NULL, NULL, NULL, 0,
	    "Print the version and exit." },
};

static const struct {
	int		 status;
	const char	*meaning;
} exit_statuses[] = {
	{ CTL_EXIT_OK, "success" },
	{ CTL_EXIT_REJECTED, "the daemon rejected the request, or its response "
	    "is unusable" },
	{ CTL_EXIT_USAGE, "usage error, or an invalid URL, digest or unreadable "
	    "FILE" },
	{ CTL_EXIT_UNREACHABLE, "the admin API cannot be reached (refused, "
	    "timeout, DNS, TLS)" },
	{ CTL_EXIT_AUTH, "the token was rejected (401), or the token file is "
	    "unusable" },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs(CTL_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct ctl_command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NITEMS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Finds the option whose name or alias is the first len bytes of arg. */
static const struct ctl_option *
find_option(const char *arg, size_t len)
{
	size_t i;

	for (i = 0; i < NITEMS(options); i++) {
		const struct ctl_option *o = &options[i];

		if (strlen(o->name) == len && strncmp(o->name, arg, len) == 0)
			return o;
		if (o->alias != NULL && strlen(o->alias) == len &&
		    strncmp(o->alias, arg, len) == 0)
			return o;
	}
	return NULL;
}

/* Tells whether option o applies to the command named name. */
static int
option_applies(const struct ctl_option *o, const char *name)
{
	const char *p = o->command;
	size_t len = strlen(name);

	if (p == NULL)
		return 1;
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && strncmp(p, name, n) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

/* Writes "NAME OPERANDS [--OPTION VALUE]..." for cmd into buf. */
static void
format_synopsis(const struct ctl_command *cmd, char *buf, size_t size)
{
	size_t i, len;

	snprintf(buf, size, "%s%s%s", cmd->name, cmd->operands[0] ? " " : "",
	    cmd->operands);
	for (i = 0; i < NITEMS(options); i++) {
		const struct ctl_option *o = &options[i];

		if (o->command == NULL || !option_applies(o, cmd->name))
			continue;
		len = strlen(buf);
		snprintf(buf + len, size - len, " %s%s%s%s%s",
		    o->required ? "" : "[", o->name, o->value ? " " : "",
		    o->value ? o->value : "", o->required ? "" : "]");
	}
}

/* Writes "--NAME VALUE" or "-A, --NAME VALUE" for o into buf. */
static void
format_option(const struct ctl_option *o, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", o->alias ? o->alias : "",
	    o->alias ? ", " : "", o->name, o->value ? " " : "",
	    o->value ? o->value : "");
}

static void
print_options(const char *command)
{
	char left[64];
	size_t i;

	printf("\nOptions:\n");
	for (i = 0; i < NITEMS(options); i++) {
		const struct ctl_option *o = &options[i];

		if (command != NULL && !option_applies(o, command))
			continue;
		format_option(o, left, sizeof(left));
		if (command == NULL && o->command != NULL)
			printf("  %-19s (%s) %s\n", left, o->command, o->help);
		else
			printf("  %-19s %s\n", left, o->help);
	}
	printf("\nOptions may come before or after the command; \"--\" ends "
	    "them.\n");
}

static void
print_environment(void)
{
	printf("\nEnvironment (options override it):\n"
	    "  HASHGATE_ADMIN       like --admin; default " CTL_DEFAULT_ADMIN "\n"
	    "  HASHGATE_TOKEN_FILE  like --token-file; default "
	    CTL_DEFAULT_TOKEN_FILE "\n");
}

static void
print_times(void)
{
	printf("\nTIME is a UTC date YYYY-MM-DD, a time YYYY-MM-DDTHH:MM:SSZ, or a\n"
	    "duration from now such as 30m, 12h or 7d: in the past for --since,\n"
	    "in the future for --expires.\n");
}

static void
print_exit_statuses(void)
{
	size_t i;

	printf("\nExit status:\n");
	for (i = 0; i < NITEMS(exit_statuses); i++)
		printf("  %d  %s\n", exit_statuses[i].status,
		    exit_statuses[i].meaning);
}

/* Prints the help for cmd, or for all commands when cmd is NULL. */
static void
print_help(const struct ctl_command *cmd)
{
	char synopsis[128];
	size_t i;

	if (cmd != NULL) {
		format_synopsis(cmd, synopsis, sizeof(synopsis));
		printf("usage: " CTL_NAME " [OPTIONS] %s\n\n%s\n", synopsis,
		    cmd->help);
		if (cmd->uses_daemon) {
			print_options(cmd->name);
			print_environment();
		}
		if (strcmp(cmd->name, "add") == 0 ||
		    strcmp(cmd->name, "events") == 0)
			print_times();
		print_exit_statuses();
		return;
	}

	printf("usage: " CTL_NAME " [OPTIONS] COMMAND [ARGUMENT...]\n\n"
	    "Manages the pins, tokens and review queue of hashgated through its\n"
	    "admin API, reads its audit trail, and hashes local files.\n"
	    "\nCommands:\n");
	for (i = 0; i < NITEMS(commands); i++) {
		format_synopsis(&commands[i], synopsis, sizeof(synopsis));
		printf("  %-29s %s\n", synopsis, commands[i].help);
	}
	print_options(NULL);
	print_environment();
	print_times();
	print_exit_statuses();
}

/* Handles the option at argv[*i], and its value in argv[*i + 1] if it
 * takes one. Returns CTL_EXIT_OK or CTL_EXIT_USAGE. */
static int
parse_option(struct ctl_ctx *ctx, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *eq = NULL, *value;
	const struct ctl_option *o;
	char shown[CTL_SHOW_MAX];
	size_t len = strlen(arg);

	if (strncmp(arg, "--", 2) == 0 && (eq = strchr(arg, '=')) != NULL)
		len = (size_t)(eq - arg);
	o = find_option(arg, len);
	if (o == NULL) {
		ctl_error("unknown option \"%s\": run \"" CTL_NAME " help\" "
		    "for the list of options", ctl_show(arg, shown));
		return CTL_EXIT_USAGE;
	}

	if (o->value == NULL) {
		if (eq != NULL) {
			ctl_error("option %s takes no value, but got \"%s\"",
			    o->name, ctl_show(eq + 1, shown));
			return CTL_EXIT_USAGE;
		}
		value = "";
	} else if (eq != NULL)
		value = eq + 1;
	else if (*i + 1 < argc)
		value = argv[++*i];
	else {
		ctl_error("option %s requires a value (%s)", o->name,
		    o->value);
		return CTL_EXIT_USAGE;
	}
	ctx->values[o->id] = value;
	return CTL_EXIT_OK;
}

/* Fills ctx from the command line: the command, its operands and the
 * options. Returns CTL_EXIT_OK, or the exit status after printing the
 * error. */
static int
parse_args(struct ctl_ctx *ctx, int argc, char **argv)
{
	char shown[CTL_SHOW_MAX];
	int i, options_ended = 0, status;
	size_t j;

	ctx->operands = calloc((size_t)argc + 1, sizeof(*ctx->operands));
	if (ctx->operands == NULL) {
		ctl_error("out of memory");
		return CTL_EXIT_REJECTED;
	}

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!options_ended && strcmp(arg, "--") == 0) {
			options_ended = 1;
			continue;
		}
		if (!options_ended && arg[0] == '-' && arg[1] != '\0') {
			status = parse_option(ctx, argc, argv, &i);
			if (status != CTL_EXIT_OK)
				return status;
			continue;
		}
		if (ctx->command != NULL) {
			ctx->operands[ctx->noperands++] = argv[i];
			continue;
		}
		ctx->command = find_command(arg);
		if (ctx->command == NULL) {
			ctl_error("unknown command \"%s\": run \"" CTL_NAME
			    " help\" for the list of commands", ctl_show(arg, shown));
			return CTL_EXIT_USAGE;
		}
	}

	for (j = 0; j < NITEMS(options); j++) {
		const struct ctl_option *o = &options[j];

		if (o->command == NULL || ctx->values[o->id] == NULL)
			continue;
		if (ctx->command == NULL ||
		    !option_applies(o, ctx->command->name)) {
			ctl_error("option %s is valid only with the command%s %s",
			    o->name, strchr(o->command, ' ') ? "s" : "", o->command);
			return CTL_EXIT_USAGE;
		}
	}
	return CTL_EXIT_OK;
}

/* Checks the number of operands against the command table. */
static int
check_operands(const struct ctl_ctx *ctx)
{
	const struct ctl_command *cmd = ctx->command;
	char synopsis[128], shown[CTL_SHOW_MAX];
	size_t i;

	format_synopsis(cmd, synopsis, sizeof(synopsis));
	if (ctx->noperands < cmd->min_operands) {
		ctl_error("%s: missing argument: usage: " CTL_NAME " %s",
		    cmd->name, synopsis);
		return CTL_EXIT_USAGE;
	}
	if (cmd->max_operands >= 0 && ctx->noperands > cmd->max_operands) {
		ctl_error("%s: unexpected argument \"%s\": usage: " CTL_NAME
		    " %s", cmd->name,
		    ctl_show(ctx->operands[cmd->max_operands], shown), synopsis);
		return CTL_EXIT_USAGE;
	}
	for (i = 0; i < NITEMS(options); i++) {
		const struct ctl_option *o = &options[i];

		if (o->required && option_applies(o, cmd->name) &&
		    ctx->values[o->id] == NULL) {
			ctl_error("%s: missing option %s %s: usage: " CTL_NAME
			    " %s", cmd->name, o->name, o->value, synopsis);
			return CTL_EXIT_USAGE;
		}
	}
	return CTL_EXIT_OK;
}

/* Prints "HEX  NAME" as coreutils sha256sum (9.1) does: a name that
 * contains a backslash, newline or carriage return gets them escaped, and
 * the line then starts with a backslash. */
static void
print_checksum(const char *hex, const char *name)
{
	const char *p;

	if (strpbrk(name, "\\\n\r") == NULL) {
		printf("%s  %s\n", hex, name);
		return;
	}
	printf("\\%s  ", hex);
	for (p = name; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\r')
			fputs("\\r", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
}

static int
cmd_hash(struct ctl_ctx *ctx)
{
	unsigned char raw[DIGEST_LEN];
	char hex[DIGEST_HEX_LEN + 1], shown[CTL_SHOW_MAX];
	int i, fd, saved_errno, status = CTL_EXIT_OK;

	for (i = 0; i < ctx->noperands; i++) {
		const char *name = ctx->operands[i];
		int is_stdin = strcmp(name, "-") == 0;

		fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && digest_fd_mapped(fd, raw, NULL) == 0) {
			digest_to_hex(raw, hex);
			print_checksum(hex, name);
		} else {
			saved_errno = errno;
			ctl_error("cannot read %s: %s", ctl_show(name, shown),
			    strerror(saved_errno));
			status = CTL_EXIT_USAGE;
		}
		if (fd >= 0 && !is_stdin)
			close(fd);
	}
	return status;
}

static int
cmd_help(struct ctl_ctx *ctx)
{
	const struct ctl_command *cmd = NULL;
	char shown[CTL_SHOW_MAX];

	if (ctx->noperands > 0) {
		cmd = find_command(ctx->operands[0]);
		if (cmd == NULL) {
			ctl_error("unknown command \"%s\": run \"" CTL_NAME
			    " help\" for the list of commands",
			    ctl_show(ctx->operands[0], shown));
			return CTL_EXIT_USAGE;
		}
	}
	print_help(cmd);
	return CTL_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct ctl_ctx ctx;
	int status;

	memset(&ctx, 0, sizeof(ctx));
	if ((status = parse_args(&ctx, argc, argv)) != CTL_EXIT_OK)
		goto out;

	if (ctx.values[OPT_HELP] != NULL) {
		print_help(ctx.command);
		goto out;
	}
	if (ctx.values[OPT_VERSION] != NULL) {
		printf(CTL_NAME " " CTL_VERSION "\n");
		goto out;
	}
	if (ctx.command == NULL) {
		ctl_error("missing command: run \"" CTL_NAME " help\" for "
		    "usage");
		status = CTL_EXIT_USAGE;
		goto out;
	}
	if ((status = check_operands(&ctx)) != CTL_EXIT_OK)
		goto out;

	if (ctx.command->uses_daemon &&
	    (status = ctl_admin_init(&ctx)) != CTL_EXIT_OK)
		goto out;
	status = ctx.command->run(&ctx);

out:
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_error("cannot write to standard output: %s",
		    strerror(errno));
		if (status == CTL_EXIT_OK)
			status = CTL_EXIT_REJECTED;
	}
	ctl_admin_cleanup(&ctx);
	free(ctx.operands);
	return status;
}
