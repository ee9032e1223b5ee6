/* SPDX-License-Identifier: MIT */
/* URL normalisation: the single definition of a URL's identity, shared by
 * hashgated (pin lookups) and hashgatectl (pin registration). */
#ifndef HASHGATE_URL_H
#define HASHGATE_URL_H

#include <stddef.h>

/* Longest URL accepted anywhere, in bytes, before or after normalisation. */
#define URL_MAX_LEN 8192

/* Normalises the absolute http or https URL in src, of length len, into out
 * (outsize bytes including the NUL), following RFC 3986 sections 6.2.2 and
 * 6.2.3: lower-case scheme and host, no default port, unreserved characters
 * decoded, other percent-escapes in upper case, bytes outside the URI syntax
 * percent-encoded, an empty path made "/", and no fragment. The query string
 * is kept. Userinfo, "." and ".." path segments (also when encoded),
 * control characters anywhere, and malformed percent-escapes in the path or
 * query are rejected.
 * Returns 0 on success. On failure returns -1 and points *err at a static
 * message; out is then unspecified. */
int url_normalise(const char *src, size_t len, char *out, size_t outsize,
    const char **err);

#endif
