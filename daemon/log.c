/* SPDX-License-Identifier: MIT */
/* Logging to stderr with a timestamp, the pid and a level word. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Atomic because SIGHUP changes them while other threads log. */
static _Atomic int log_level = LOG_LEVEL_INFO;
static _Atomic int log_to_syslog;

static const char *const log_level_names[] = { "error", "warning", "info", "debug" };

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_use_syslog(void)
{
	if (log_to_syslog)
		return;
	openlog("hashgated", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_to_syslog = 1;
}

void
log_use_stderr(void)
{
	if (!log_to_syslog)
		return;
	log_to_syslog = 0;
	/* NOTE: a thread that read the flag just before it changed may still
	 * call syslog(3) once, which then opens the log again by itself. */
	closelog();
}

/* Writes the date and time up to the second into buf, and returns its
 * length. Each thread keeps the text of the last second it logged in, so
 * that a busy thread formats the date once a second. */
static size_t
log_format_second(time_t sec, char *buf, size_t size)
{
	static __thread time_t cached_sec = -1;
	static __thread char cached[32];
	static __thread size_t cached_len;
	struct tm tm;

	if (sec != cached_sec) {
		gmtime_r(&sec, &tm);
		cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = sec;
	}
	if (cached_len >= size)
		return 0;
	memcpy(buf, cached, cached_len);
	return cached_len;
}

/* Returns the pid, asked once per thread: hashgated does not fork after
 * start-up, and glibc makes getpid a system call each time. */
static long
log_pid(void)
{
	static __thread pid_t pid;

	if (pid == 0)
		pid = getpid();
	return (long)pid;
}

/* Formats the whole line first and writes it with one call, so that lines
 * from different threads never interleave. */
static void
log_write(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[4096];
	struct timespec ts;
	size_t n;
	int saved_errno = errno, r;

	if ((int)level > log_level)
		return;
	if (log_to_syslog) {
		static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

		/* syslog adds the time, the name and the pid itself. */
		r = vsnprintf(line, sizeof(line), fmt, ap);
		n = r < 0 ? 0 : (size_t)r;
		if (with_errno && n < sizeof(line))
			snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved_errno));
		syslog(priorities[level], "%s", line);
		errno = saved_errno;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	n = log_format_second(ts.tv_sec, line, sizeof(line));
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ hashgated[%ld]: %s: ",
	    ts.tv_nsec / 1000000, log_pid(), log_level_names[level]);
	n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = r < 0 ? n : n + (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (with_errno) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved_errno));
		n = r < 0 ? n : n + (size_t)r;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
	errno = saved_errno;
}

#define LOG_FUNCTION(name, level, with_errno)		\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	va_start(ap, fmt);				\
	log_write(level, with_errno, fmt, ap);		\
	va_end(ap);					\
}

LOG_FUNCTION(log_error, LOG_LEVEL_ERROR, 0)
LOG_FUNCTION(log_errno, LOG_LEVEL_ERROR, 1)
LOG_FUNCTION(log_warning, LOG_LEVEL_WARNING, 0)
LOG_FUNCTION(log_info, LOG_LEVEL_INFO, 0)
LOG_FUNCTION(log_debug, LOG_LEVEL_DEBUG, 0)

static char *
escape(const char *text, char *out, size_t outsize, int keep_spaces)
{
	size_t n = 0;

	if (outsize < 4) {
		if (outsize > 0)
			out[0] = '\0';
		return out;
	}
	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;
		int plain = (c > 0x20 || (c == 0x20 && keep_spaces)) &&
		    c < 0x7f && c != '"' && c != '\\';
		size_t need = plain ? 1 : 4;

		if (n + need > outsize - 4) {
			memcpy(out + n, "...", 4);
			return out;
		}
		if (plain)
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
	}
	out[n] = '\0';
	return out;
}

char *
log_escape(const char *text, char *out, size_t outsize)
{
	return escape(text, out, outsize, 0);
}

char *
log_escape_quoted(const char *text, char *out, size_t outsize)
{
	return escape(text, out, outsize, 1);
}
