/* SPDX-License-Identifier: MIT */
/* libmicrohttpd helpers that the proxy and admin listeners share. */
#ifndef HASHGATE_HTTP_H
#define HASHGATE_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

#include "conf.h"

/* Maximum number of options that http_start accepts in extra. */
#define HTTP_MAX_OPTIONS 16

/* Opens a listening TCP socket on addr. Returns it, or -1 after logging
 * the error with its cause. name is for logs. */
int http_open_socket(const char *name, const struct conf_addr *addr);

/* Starts a libmicrohttpd daemon named name (for logs) with a pool of
 * threads, suspend and resume allowed, errors sent to our log, and the
 * options in extra (terminated by MHD_OPTION_END). It takes over the
 * socket listen_fd, or with -1 has no listener and takes connections from
 * MHD_add_connection. Returns NULL after logging. */
struct MHD_Daemon *http_start(const char *name, int listen_fd,
    unsigned threads, MHD_AccessHandlerCallback handler, void *handler_arg,
    const struct MHD_OptionItem *extra);

/* Writes the numeric address of the client of conn into out. */
void http_client_address(struct MHD_Connection *conn, char *out, size_t size);

/* Queues a response with status and a text/plain body made from fmt, and
 * any header pairs given in headers (NULL-terminated name, value list, or
 * NULL). Returns the result of MHD_queue_response. */
enum MHD_Result http_respond_text(struct MHD_Connection *conn,
    unsigned status, const char *const *headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Queues a response with status and a copy of body, of content type
 * type. */
enum MHD_Result http_respond(struct MHD_Connection *conn, unsigned status,
    const char *type, const char *body, size_t len,
    const char *const *headers);

#endif
