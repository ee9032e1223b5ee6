/* SPDX-License-Identifier: MIT */
/* The admin API listener: bearer-token authenticated JSON routes to list,
 * add and remove pins and to read the CA certificate, Prometheus metrics
 * on /metrics, plus an open /healthz. */
#ifndef HASHGATE_ADMIN_H
#define HASHGATE_ADMIN_H

#include "ca.h"
#include "cache.h"
#include "conf.h"
#include "fetch.h"
#include "store.h"

struct admin;

/* Reads the token from conf->admin_token_file, creating the file with a
 * new random token (mode 0600) when it does not exist, then starts the
 * listener on conf->admin_listen. conf, store, ca, cache and fetcher are
 * borrowed and must outlive the listener. The fetcher runs prefetches,
 * and cache and fetcher give the gauges of /metrics. Returns NULL after
 * logging. */
struct admin *admin_start(const struct conf *conf, struct store *store,
    struct ca *ca, struct cache *cache, struct fetcher *fetcher);

void admin_stop(struct admin *admin);

#endif
