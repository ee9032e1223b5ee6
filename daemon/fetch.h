/* SPDX-License-Identifier: MIT */
/* Upstream fetches: download, hash while streaming, verify, then commit to
 * the cache. Concurrent requests for one URL and digest share one fetch,
 * and their connections stay suspended in libmicrohttpd until it ends. */
#ifndef HASHGATE_FETCH_H
#define HASHGATE_FETCH_H

#include <stdint.h>

#include <microhttpd.h>

#include "cache.h"
#include "conf.h"
#include "digest.h"
#include "report.h"
#include "store.h"

struct fetcher;
struct fetch;

/* Outcome of a finished fetch, read by every request that waited for it. */
struct fetch_result {
	unsigned	 status;	/* HTTP status for the client: 200 when verified */
	const char	*verdict;	/* static word for logs: verified, mismatch, ... */
	char		 sha256[DIGEST_HEX_LEN + 1];	/* of the whole body; empty
						 * unless it arrived */
	uint64_t	 size;		/* bytes received from upstream */
	char		 message[512];	/* reason for the client when status != 200 */
	char		 content_type[128];	/* of the upstream response, or "" */
	char		 redirects[REPORT_CHAIN_MAX];	/* chain, queries removed */
	char		 report[REPORT_TEXT_MAX];	/* what a mismatch means */
};

/* The request of a fetch: the bytes at url whose digest is digest. */
struct fetch_want {
	const char	*url;
	struct digest	 digest;	/* SHA-256 or SHA-512, as pinned */
	int		 allow_insecure_redirect;	/* https to http allowed */
	int		 skip_cache;	/* fetch even when the object is cached,
					 * to check what the URL serves */
	int		 learn;		/* no digest yet: see fetcher_learn */
};

enum fetch_join {
	FETCH_JOIN_CACHED,	/* the object is in the cache now: serve it */
	FETCH_JOIN_WAITING,	/* connection suspended until the fetch ends */
	FETCH_JOIN_BUSY,	/* max_fetches fetches are running already */
	FETCH_JOIN_FAILED,	/* could not start a fetch (logged) */
};

/* Creates the fetch manager with the upstream settings of conf, loading
 * upstream.ca_file if set. cache and store are borrowed and must outlive
 * it. Returns NULL after logging. */
struct fetcher *fetcher_create(const struct conf *conf, struct cache *cache,
    struct store *store);

/* Applies the upstream settings of conf to the fetches that start from
 * now on; running fetches keep theirs. Returns 0, or -1 after logging,
 * in which case the old settings stay. */
int fetcher_reload(struct fetcher *fetcher, const struct conf *conf);

/* Returns the current upstream.max_fetches. */
unsigned fetcher_max_fetches(struct fetcher *fetcher);

/* Returns the number of fetch threads running now. */
unsigned fetcher_active(struct fetcher *fetcher);

/* Checks that path is a readable PEM file with at least one certificate,
 * as upstream.ca_file must be. Returns 0, or -1 after logging. */
int fetcher_check_ca_file(const char *path);

/* Joins the fetch that want describes, starting it if none runs; fetches
 * that differ in any member of want are not shared. On FETCH_JOIN_WAITING,
 * conn has been suspended and *fetchp is a reference: once the connection
 * is resumed, read fetch_result and then call fetch_release. request_id
 * and client are for logs and audit. */
enum fetch_join fetcher_join(struct fetcher *fetcher,
    const struct fetch_want *want, uint64_t request_id, const char *client,
    struct MHD_Connection *conn, struct fetch **fetchp);

/* Starts a learn-mode fetch of the unknown url in the background, unless
 * one runs already. The body is hashed and stored in the cache under its
 * SHA-256, where only a pin with that digest can reach it. The digest,
 * size and Content-Type, or the error, go to the review queue. Returns 0,
 * or -1 when max_fetches fetches are running or shutdown has begun. */
int fetcher_learn(struct fetcher *fetcher, const char *url,
    uint64_t request_id, const char *client);

/* Returns the result of a fetch that has ended. */
const struct fetch_result *fetch_result(const struct fetch *fetch);

/* Drops a reference that fetcher_join handed out. */
void fetch_release(struct fetcher *fetcher, struct fetch *fetch);

/* Aborts running fetches, resumes their waiting connections with status
 * 503, waits until every fetch thread has ended, then waits up to grace
 * seconds until those requests have their responses. */
void fetcher_stop(struct fetcher *fetcher, unsigned grace);
void fetcher_free(struct fetcher *fetcher);

#endif
