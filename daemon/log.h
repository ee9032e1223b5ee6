/* SPDX-License-Identifier: MIT */
/* Logging to stderr, one line per event, safe to call from any thread.
 *
 * Levels: "error" is for failures an operator must fix, such as start-up
 * errors or a broken cache directory. "warning" is for failed requests and
 * upstream faults that the daemon survived. "info" is for start, stop and
 * one line per request. "debug" is for detail that helps when tracing a
 * single request.
 * Messages use key=value fields; values that come from clients or upstream
 * servers must pass through log_escape first. */
#ifndef HASHGATE_LOG_H
#define HASHGATE_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the most verbose level that is written; the default is info. It
 * may be called while other threads log. */
void log_set_level(enum log_level level);

/* Send log lines to syslog (facility daemon) or to stderr, the default.
 * Both may be called while other threads log. */
void log_use_syslog(void);
void log_use_stderr(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_error, with ": " and strerror(errno) appended. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies untrusted text into out (outsize bytes) for an unquoted log
 * value: bytes outside printable ASCII, quotes, backslashes and spaces
 * become \xHH, and text that does not fit is cut and ends in "...".
 * Returns out. */
char *log_escape(const char *text, char *out, size_t outsize);

/* Like log_escape, but keeps spaces, for a value that the log line puts
 * in double quotes. */
char *log_escape_quoted(const char *text, char *out, size_t outsize);

#endif
