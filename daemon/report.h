/* SPDX-License-Identifier: MIT */
/* Mismatch reports: plain sentences, for the audit trail, on what most
 * likely made a download differ from its pinned digest, found by looking
 * at the downloaded body, its headers and the redirect chain. */
#ifndef HASHGATE_REPORT_H
#define HASHGATE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/* Default bounds on the gunzip check. On a 2-core AMD EPYC virtual
 * machine, gunzipping and hashing 4 GiB of zeros ran at about 180 MB/s.
 * There the time limit ends the check after about 1.7 GB of output, and
 * the report then states that the check stopped. */
#define REPORT_MAX_INFLATED	((uint64_t)16 << 30)	/* bytes */
#define REPORT_MAX_MS		10000	/* milliseconds of wall-clock time */

/* A body below this size that is mostly printable text is quoted. */
#define REPORT_SHORT_TEXT	1024	/* bytes */
/* Bytes of a short text body that the report quotes, before escaping. */
#define REPORT_QUOTE_LEN	80

/* Buffer sizes for a report of every finding with URLs and headers of
 * typical length, and for a chain of 21 URLs (the pinned one and at most
 * 20 redirects) of up to 190 bytes each. Longer texts are truncated,
 * ending in "...". */
#define REPORT_TEXT_MAX		2048
#define REPORT_CHAIN_MAX	4096

/* Bounds on the gunzip check, which runs in the fetch thread and so delays
 * the response to every client that waits for the fetch. */
struct report_limits {
	uint64_t	 max_inflated;	/* bytes of gunzipped output */
	unsigned	 max_ms;	/* wall-clock milliseconds */
};

/* The facts known about a download whose digest did not match. Every
 * pointer is borrowed for the call only. */
struct report_input {
	const struct digest	 *expected;	/* the pinned digest, never NULL */
	const struct digest	 *observed;	/* of the body, or NULL */
	const char		 *content_type;	/* header value, NULL if none */
	const char		 *content_encoding;	/* NULL if none */
	/* Every URL requested, in order: the pinned URL first, then the
	 * target of each redirect, so the last is the one that sent the
	 * body. nchain 0 means that no URL is known. */
	const char *const	 *chain;
	size_t			  nchain;
};

/* Findings, as bits of report_mismatch's result. */
#define REPORT_GZIP		0x0001	/* gunzips to the expected digest */
#define REPORT_GZIP_OTHER	0x0002	/* gunzips, to another digest */
#define REPORT_GZIP_LIMIT	0x0004	/* gunzip stopped at a limit */
#define REPORT_OTHER_HOST	0x0008	/* redirected to another host */
#define REPORT_TO_HTTP		0x0010	/* a redirect went from https to http */
#define REPORT_HTML		0x0020	/* an HTML page */
#define REPORT_EMPTY		0x0040	/* no bytes */
#define REPORT_SHORT		0x0080	/* under REPORT_SHORT_TEXT bytes of text */
#define REPORT_EMPTY_DIGEST	0x0100	/* observed is the empty input's */
#define REPORT_READ_ERROR	0x0200	/* the body could not be read */
#define REPORT_UNKNOWN		0x0400	/* none of the causes above */

/* Examines the downloaded body in the regular file fd and writes into out
 * (outlen bytes, REPORT_TEXT_MAX is enough) one sentence for each finding,
 * separated by spaces, NUL-terminated and truncated to fit. Reads fd with
 * pread, so its file offset stays where it was. A body that starts with
 * the gzip magic bytes is gunzipped and hashed with the algorithm of
 * in->expected, within limits (NULL: REPORT_MAX_INFLATED and
 * REPORT_MAX_MS). Invalid or truncated gzip data is no finding. Text
 * taken from the body, the headers or the URLs is escaped, so out contains
 * only printable ASCII. Allocates only while it gunzips and keeps nothing.
 * Returns the REPORT_* bits of the findings, which include
 * REPORT_UNKNOWN when no cause was found. */
unsigned report_mismatch(int fd, const struct report_input *in,
    const struct report_limits *limits, char *out, size_t outlen);

/* Writes the nchain URLs of chain into out, joined by " -> ", each without
 * its query, fragment and userinfo, so that no token or password in a
 * URL reaches the audit trail. Bytes outside printable ASCII are escaped.
 * A URL longer than about 1000 bytes is cut and marked with "...".
 * Returns 0, or -1 when a URL was cut or out (outlen > 0 bytes) was too
 * small, in which case out contains a truncated chain ending in "...". */
int report_format_chain(const char *const *chain, size_t nchain, char *out,
    size_t outlen);

#endif
