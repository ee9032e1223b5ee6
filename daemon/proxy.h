/* SPDX-License-Identifier: MIT */
/* The proxy listener: forward-proxy, mirror-form and tunnelled requests,
 * whose responses carry only verified objects or error messages. */
#ifndef HASHGATE_PROXY_H
#define HASHGATE_PROXY_H

#include "audit.h"
#include "ca.h"
#include "cache.h"
#include "conf.h"
#include "fetch.h"
#include "store.h"

struct proxy;

/* Starts the proxy listener on conf->proxy_listen, intercepting CONNECT
 * tunnels with certificates from ca and recording every decision in
 * audit. Every argument is borrowed and must
 * outlive the proxy. Returns NULL after logging. */
struct proxy *proxy_start(const struct conf *conf, struct store *store,
    struct audit *audit, struct cache *cache, struct fetcher *fetcher,
    struct ca *ca);

/* Applies the reloadable proxy settings of conf (the CONNECT ones and the
 * [policy] keys) to requests from now on. Returns 0, or -1 after
 * logging. */
int proxy_reload(struct proxy *proxy, const struct conf *conf);

/* Stops accepting connections, keeping those that are open. */
void proxy_quiesce(struct proxy *proxy);

/* Closes every connection and frees the proxy. */
void proxy_stop(struct proxy *proxy);

#endif
