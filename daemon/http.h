/* SPDX-License-Identifier: MIT */
/* libmicrohttpd helpers that the proxy and admin listeners share. */
#ifndef HASHGATE_HTTP_H
#define HASHGATE_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

#include "conf.h"

/* Starts a libmicrohttpd daemon named name (for logs) on addr, with a pool
 * of threads, suspend and resume allowed, errors sent to our log, and the
 * options in extra (terminated by MHD_OPTION_END). Returns NULL after
 * logging. */
struct MHD_Daemon *http_listen(const char *name, const struct conf_addr *addr,
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
