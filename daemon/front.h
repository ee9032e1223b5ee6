/* SPDX-License-Identifier: MIT */
/* The proxy listener's front door. It accepts every connection and hands
 * plain HTTP connections to libmicrohttpd. It terminates CONNECT tunnels
 * with TLS and a minted certificate, and hands the decrypted stream to
 * libmicrohttpd over a socket pair, so that one request handler serves
 * both kinds of request. */
#ifndef HASHGATE_FRONT_H
#define HASHGATE_FRONT_H

#include <microhttpd.h>

#include "ca.h"
#include "conf.h"

struct front;

/* The origin of an intercepted tunnel, as the request handler needs it. */
struct front_origin {
	char	 host[256];	/* CONNECT host, IPv6 without brackets */
	int	 port;
	char	 url[300];	/* "https://host[:port]", normalised */
};

/* Creates the front door on the listening socket listen_fd, which it
 * takes over even on failure. conf and ca are borrowed; conf must outlive
 * the front door, which reads its fixed settings. Returns NULL after
 * logging. */
struct front *front_create(const struct conf *conf, struct ca *ca,
    int listen_fd);

/* Starts the front door's thread, handing connections to mhd, a daemon
 * started without a listening socket. Returns 0, or -1 after logging. */
int front_run(struct front *front, struct MHD_Daemon *mhd);

/* Applies the CONNECT settings of conf (connect_ports, tunnel_hosts and
 * the upstream connect timeout) to tunnels that open from now on. Returns
 * 0, or -1 after logging, in which case the old settings stay. */
int front_reload(struct front *front, const struct conf *conf);

/* Stops accepting connections; open ones carry on. */
void front_quiesce(struct front *front);

/* Stops the thread and closes every connection the front door holds; the
 * libmicrohttpd sides of tunnels then see their peer gone. */
void front_stop(struct front *front);

/* Stops the front door if it runs, and frees it. */
void front_free(struct front *front);

/* Removes and returns the origin registered for the tunnel whose
 * libmicrohttpd side is the socket fd, or returns NULL when fd is a plain
 * connection. The caller frees the result. Safe to call from any thread. */
struct front_origin *front_claim_origin(struct front *front, int fd);

#endif
