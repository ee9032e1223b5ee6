/* SPDX-License-Identifier: MIT */
/* libmicrohttpd helpers that the proxy and admin listeners share. */
#include "http.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Routes libmicrohttpd's own error messages into our log. */
static void
http_log_mhd(void *arg, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Clients that hang up are routine, and so are TCP options failing on
	 * the socket pairs of tunnels; the request log line covers both. */
	if (strstr(msg, "closed by remote side") != NULL ||
	    strstr(msg, "Connection reset") != NULL ||
	    strstr(msg, "TCP_CORK") != NULL || strstr(msg, "TCP_NODELAY") != NULL ||
	    strstr(msg, "Failed to push the data") != NULL)
		log_debug("%s: libmicrohttpd: %s", (const char *)arg, msg);
	else
		log_warning("%s: libmicrohttpd: %s", (const char *)arg, msg);
}

int
http_open_socket(const char *name, const struct conf_addr *addr)
{
	int fd, on = 1;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_errno("%s: cannot create a socket for %s", name, addr->text);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (addr->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		log_errno("%s: cannot listen on %s", name, addr->text);
		close(fd);
		return -1;
	}
	return fd;
}

struct MHD_Daemon *
http_start(const char *name, int listen_fd, unsigned threads,
    MHD_AccessHandlerCallback handler, void *handler_arg,
    const struct MHD_OptionItem *extra)
{
	struct MHD_OptionItem options[HTTP_MAX_OPTIONS + 3];
	struct MHD_Daemon *d;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	size_t n = 0;

	/* extra, then the listener and the pool size. A pool of one thread is
	 * left out because libmicrohttpd warns about it. */
	for (; extra[n].option != MHD_OPTION_END && n < HTTP_MAX_OPTIONS; n++)
		options[n] = extra[n];
	if (listen_fd >= 0)
		options[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
		    listen_fd, NULL };
	else
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	if (threads > 1)
		options[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
		    threads, NULL };
	options[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	/* The logger comes first so that errors in the options reach it too. */
	d = MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_arg,
	    MHD_OPTION_EXTERNAL_LOGGER, http_log_mhd, (void *)name,
	    MHD_OPTION_ARRAY, options,
	    MHD_OPTION_END);
	if (d == NULL) {
		log_error("%s: cannot start libmicrohttpd", name);
		if (listen_fd >= 0)
			close(listen_fd);
	}
	return d;
}

void
http_client_address(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info;
	socklen_t len;

	snprintf(out, size, "-");
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info == NULL || info->client_addr == NULL)
		return;
	len = info->client_addr->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (getnameinfo(info->client_addr, len, out, (socklen_t)size, NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(out, size, "-");
}

enum MHD_Result
http_respond(struct MHD_Connection *conn, unsigned status, const char *type,
    const char *body, size_t len, const char *const *headers)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	for (; headers != NULL && headers[0] != NULL; headers += 2)
		MHD_add_response_header(resp, headers[0], headers[1]);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result
http_respond_text(struct MHD_Connection *conn, unsigned status,
    const char *const *headers, const char *fmt, ...)
{
	char body[3 * 8192];	/* room for two URLs of URL_MAX_LEN */
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(body) - 2)
		n = (int)sizeof(body) - 2;
	body[n++] = '\n';
	return http_respond(conn, status, "text/plain; charset=utf-8", body,
	    (size_t)n, headers);
}
