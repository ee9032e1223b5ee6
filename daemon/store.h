/* SPDX-License-Identifier: MIT */
/* The allowlist and the audit table in SQLite. All functions are safe to
 * call from any thread: one connection is shared under a mutex. */
#ifndef HASHGATE_STORE_H
#define HASHGATE_STORE_H

#include <stdint.h>

#include "digest.h"

/* Newest schema version this build creates and reads. */
#define STORE_SCHEMA_VERSION 1

struct store;

/* A pin as stored. Strings are borrowed from the store for the duration of
 * a callback, or owned by the caller after store_pin_remove. */
struct store_pin {
	const char	*url;
	char		 sha256[DIGEST_HEX_LEN + 1];
	const char	*note;		/* NULL when none was given */
	const char	*added_by;
	int64_t		 added_at;	/* seconds since the epoch */
};

/* Opens or creates the database at path and brings its schema up to date.
 * Returns the store, or NULL after logging why (the file cannot be opened,
 * it is not a hashgate database, or its schema is newer than this build). */
struct store *store_open(const char *path);
void store_close(struct store *store);

/* Looks up the pinned digest of a normalised URL. Returns 1 and fills
 * sha256 when pinned, 0 when not, -1 on a database error (logged). */
int store_pin_lookup(struct store *store, const char *url,
    char sha256[DIGEST_HEX_LEN + 1]);

/* Adds a pin in its own transaction. Returns 0 when added, 1 when the URL
 * is already pinned (existing receives its digest), -1 on error (logged). */
int store_pin_add(struct store *store, const struct store_pin *pin,
    char existing[DIGEST_HEX_LEN + 1]);

/* Removes the pin of url. Returns 0 and fills removed when it existed
 * (removed->note and removed->added_by are then heap strings that the
 * caller frees), 1 when not pinned, -1 on error (logged). */
int store_pin_remove(struct store *store, const char *url,
    struct store_pin *removed);

/* Calls fn for every pin, ordered by URL, until fn returns non-zero.
 * Returns 0, or -1 on a database error (logged). */
int store_pin_foreach(struct store *store,
    int (*fn)(void *arg, const struct store_pin *pin), void *arg);

/* Records a digest mismatch in the audit table. Returns 0 or -1 (logged). */
int store_event_mismatch(struct store *store, const char *client,
    const char *url, const char *expected, const char *observed,
    uint64_t size);

#endif
