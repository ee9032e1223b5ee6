/* SPDX-License-Identifier: MIT */
/* Process-wide counters for GET /metrics, and their rendering in the
 * Prometheus text exposition format 0.0.4. The counters are relaxed C11
 * atomics, so every count function is safe to call from any thread and
 * takes no lock. docs/architecture.md lists the metrics. */
#ifndef HASHGATE_METRICS_H
#define HASHGATE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Content-Type of the text that metrics_format returns. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Origin of the object in a response body sent from the cache. */
enum metrics_source {
	METRICS_SOURCE_CACHE,		/* a cache hit */
	METRICS_SOURCE_UPSTREAM,	/* the fetch that this request waited for */
};

/* Values that other modules own, read once per scrape. */
struct metrics_gauges {
	uint64_t	 cache_bytes;
	uint64_t	 cache_objects;
	unsigned	 fetches_in_flight;
};

/* Counts a request that got a response, under its verdict word. A word
 * outside the fixed table in metrics.c is counted as "other". */
void metrics_count_request(const char *verdict);

/* Adds bytes of response body sent to a client. */
void metrics_count_served(enum metrics_source source, uint64_t bytes);

/* Adds bytes of upstream response body received by a fetch. */
void metrics_count_upstream(uint64_t bytes);

/* Records the duration of one upstream fetch, in nanoseconds, and whether
 * it ended verified. */
void metrics_observe_fetch(int verified, uint64_t duration_ns);

/* Counts an audit event that was dropped because the queue was full. */
void metrics_count_audit_dropped(void);

/* Renders every metric, with gauges, as exposition text. Returns a
 * string that the caller frees and sets *len, or returns NULL when out
 * of memory. */
char *metrics_format(const struct metrics_gauges *gauges, size_t *len);

#endif
