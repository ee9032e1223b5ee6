/* SPDX-License-Identifier: MIT */
/* Counters for GET /metrics and their exposition text. Request threads
 * only add to relaxed atomics, and the admin thread reads them when it
 * renders a scrape. A scrape may therefore see some counters of a request
 * updated and others not yet, but it never sees a counter go down. */
#include "config.h"
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Verdict words of the request log line, as label values. A fixed table
 * keeps the number of series bounded whatever a future verdict is
 * called; a word not listed here is counted under "other". The most
 * common verdicts come first, because lookup is a linear scan. */
static const char *const metrics_verdicts[] = {
	"hit", "verified", "unknown", "expired", "mismatch",
	"upstream-error", "upstream-timeout", "blocked-address",
	"insecure-redirect", "too-large", "bad-request", "busy", "stopping",
	"disk-full", "disk-error", "hash-error", "cache-error", "store-error",
	"internal-error",
	"other",	/* must stay last */
};

#define NVERDICTS (sizeof(metrics_verdicts) / sizeof(metrics_verdicts[0]))
#define VERDICT_OTHER (NVERDICTS - 1)

static const char *const metrics_sources[] = { "cache", "upstream" };

/* Upper bounds of the fetch duration buckets, in nanoseconds and as the
 * le label writes them. Fetches range from a small file on a near mirror
 * to an image of several GiB on a slow link. */
static const uint64_t fetch_bounds_ns[] = {
	100000000ULL, 500000000ULL, 1000000000ULL, 5000000000ULL,
	10000000000ULL, 30000000000ULL, 60000000000ULL, 300000000000ULL,
	1800000000000ULL,
};
static const char *const fetch_bounds_text[] = {
	"0.1", "0.5", "1", "5", "10", "30", "60", "300", "1800",
};

#define NBOUNDS (sizeof(fetch_bounds_ns) / sizeof(fetch_bounds_ns[0]))

/* The fetch histogram of one result label. Each bucket counts only the
 * fetches that fell into it, and the last bucket counts those above every
 * bound. metrics_format adds them up into the cumulative le buckets. */
struct fetch_histogram {
	atomic_ullong	 buckets[NBOUNDS + 1];
	atomic_ullong	 sum_ns;
};

static struct {
	atomic_ullong		 requests[NVERDICTS];
	atomic_ullong		 served[2];	/* by enum metrics_source */
	atomic_ullong		 upstream_bytes;
	struct fetch_histogram	 fetches[2];	/* failed, verified */
	atomic_ullong		 audit_dropped;
} metrics;

static void
counter_add(atomic_ullong *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static unsigned long long
counter_read(atomic_ullong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

void
metrics_count_request(const char *verdict)
{
	size_t i;

	for (i = 0; i < VERDICT_OTHER; i++)
		if (strcmp(metrics_verdicts[i], verdict) == 0)
			break;
	counter_add(&metrics.requests[i], 1);
}

void
metrics_count_served(enum metrics_source source, uint64_t bytes)
{
	counter_add(&metrics.served[source], bytes);
}

void
metrics_count_upstream(uint64_t bytes)
{
	counter_add(&metrics.upstream_bytes, bytes);
}

void
metrics_observe_fetch(int verified, uint64_t duration_ns)
{
	struct fetch_histogram *h = &metrics.fetches[verified ? 1 : 0];
	size_t i;

	for (i = 0; i < NBOUNDS; i++)
		if (duration_ns <= fetch_bounds_ns[i])
			break;
	counter_add(&h->buckets[i], 1);
	counter_add(&h->sum_ns, duration_ns);
}

void
metrics_count_audit_dropped(void)
{
	counter_add(&metrics.audit_dropped, 1);
}

/* Writes a label value with backslash, double quote and line feed
 * escaped, as the exposition format requires. */
static void
write_label_value(FILE *out, const char *value)
{
	for (; *value != '\0'; value++) {
		if (*value == '\\')
			fputs("\\\\", out);
		else if (*value == '"')
			fputs("\\\"", out);
		else if (*value == '\n')
			fputs("\\n", out);
		else
			fputc(*value, out);
	}
}

static void
write_header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes one histogram series. The count is the sum of the buckets read
 * here, so that it always equals the +Inf bucket of the same scrape. */
static void
write_fetch_histogram(FILE *out, const char *result, struct fetch_histogram *h)
{
	const char *name = "hashgate_upstream_fetch_duration_seconds";
	unsigned long long cumulative = 0, sum_ns;
	size_t i;

	for (i = 0; i <= NBOUNDS; i++) {
		cumulative += counter_read(&h->buckets[i]);
		fprintf(out, "%s_bucket{result=\"%s\",le=\"%s\"} %llu\n", name,
		    result, i < NBOUNDS ? fetch_bounds_text[i] : "+Inf",
		    cumulative);
	}
	sum_ns = counter_read(&h->sum_ns);
	fprintf(out, "%s_sum{result=\"%s\"} %llu.%09llu\n", name, result,
	    sum_ns / 1000000000ULL, sum_ns % 1000000000ULL);
	fprintf(out, "%s_count{result=\"%s\"} %llu\n", name, result, cumulative);
}

char *
metrics_format(const struct metrics_gauges *gauges, size_t *len)
{
	char *text = NULL;
	FILE *out;
	size_t i;

	out = open_memstream(&text, len);
	if (out == NULL)
		return NULL;

	write_header(out, "hashgate_build_info", "gauge",
	    "Version of hashgated; the value is always 1.");
	fputs("hashgate_build_info{version=\"", out);
	write_label_value(out, PACKAGE_VERSION);
	fputs("\"} 1\n", out);

	write_header(out, "hashgate_requests_total", "counter",
	    "Proxy requests that got a response, by the verdict of their log line.");
	for (i = 0; i < NVERDICTS; i++)
		fprintf(out, "hashgate_requests_total{verdict=\"%s\"} %llu\n",
		    metrics_verdicts[i], counter_read(&metrics.requests[i]));

	write_header(out, "hashgate_served_bytes_total", "counter",
	    "Body bytes of complete 200 and 206 responses to GET, by where the object came from.");
	for (i = 0; i < 2; i++)
		fprintf(out, "hashgate_served_bytes_total{source=\"%s\"} %llu\n",
		    metrics_sources[i], counter_read(&metrics.served[i]));

	write_header(out, "hashgate_upstream_bytes_total", "counter",
	    "Body bytes that fetches received from upstream and hashed, verified or not.");
	fprintf(out, "hashgate_upstream_bytes_total %llu\n",
	    counter_read(&metrics.upstream_bytes));

	write_header(out, "hashgate_upstream_fetch_duration_seconds", "histogram",
	    "Duration of upstream fetches, by whether they ended verified.");
	write_fetch_histogram(out, "verified", &metrics.fetches[1]);
	write_fetch_histogram(out, "failed", &metrics.fetches[0]);

	write_header(out, "hashgate_fetches_in_flight", "gauge",
	    "Upstream fetches running now.");
	fprintf(out, "hashgate_fetches_in_flight %u\n", gauges->fetches_in_flight);

	write_header(out, "hashgate_cache_bytes", "gauge",
	    "Bytes of the verified objects in the cache.");
	fprintf(out, "hashgate_cache_bytes %llu\n",
	    (unsigned long long)gauges->cache_bytes);

	write_header(out, "hashgate_cache_objects", "gauge",
	    "Verified objects in the cache.");
	fprintf(out, "hashgate_cache_objects %llu\n",
	    (unsigned long long)gauges->cache_objects);

	write_header(out, "hashgate_audit_events_dropped_total", "counter",
	    "Audit events dropped because the queue to the database was full.");
	fprintf(out, "hashgate_audit_events_dropped_total %llu\n",
	    counter_read(&metrics.audit_dropped));

	if (ferror(out)) {
		fclose(out);
		free(text);
		return NULL;
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
