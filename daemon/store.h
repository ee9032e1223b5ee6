/* SPDX-License-Identifier: MIT */
/* The allowlist and the audit table in SQLite. All functions are safe to
 * call from any thread: one connection is shared under a mutex. */
#ifndef HASHGATE_STORE_H
#define HASHGATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/* Newest schema version this build creates and reads. */
#define STORE_SCHEMA_VERSION 2

/* Maximum length of a token name, and so of an identity. */
#define STORE_NAME_MAX 64

struct store;

/* A pin as stored. Strings are borrowed from the store for the duration of
 * a callback, or owned by the caller after store_pin_remove. */
struct store_pin {
	const char	*url;
	char		 sha256[DIGEST_HEX_LEN + 1];	/* "" until learnt */
	char		 sha512[DIGEST512_HEX_LEN + 1];	/* "" for SHA-256 pins */
	const char	*note;		/* NULL when none was given */
	const char	*added_by;	/* identity of the token used */
	int64_t		 added_at;	/* seconds since the epoch */
	int64_t		 expires_at;	/* seconds since the epoch, 0: never */
	int		 allow_http_redirect;	/* an https URL may redirect to http */
};

/* A named API token. Only the SHA-256 of the token itself is stored. */
struct store_token {
	const char	*name;
	const char	*role;		/* "admin" or "reader" */
	const char	*hash;		/* hex SHA-256 of the token */
	const char	*created_by;
	int64_t		 created_at;
	const char	*revoked_by;	/* NULL while the token is valid */
	int64_t		 revoked_at;
};

/* An audit event: a decision of the proxy or a change through the admin
 * API. Any string may be NULL. */
struct store_event {
	int64_t		 id;		/* set when read back */
	int64_t		 at;		/* seconds since the epoch; 0: now */
	const char	*kind;		/* verdict or change: hit, pin-added, ... */
	const char	*client;	/* client address */
	const char	*url;
	const char	*expected;	/* pinned digest, canonical text */
	const char	*observed;	/* SHA-256 of what upstream sent */
	uint64_t	 size;
	int		 has_size;
	unsigned	 status;	/* HTTP status sent, 0 for none */
	const char	*identity;	/* token name, for admin changes */
	const char	*content_type;	/* of the upstream response */
	const char	*redirects;	/* redirect chain, queries removed */
	const char	*detail;	/* note or explanation */
};

/* A filter for store_event_foreach: events at or after since, of one kind
 * and under one URL prefix when those are not NULL, at most limit. */
struct store_event_filter {
	int64_t		 since;
	const char	*kind;
	const char	*url_prefix;
	unsigned	 limit;
};

/* An unknown URL that learn mode fetched, or is about to, for review.
 * Strings are borrowed for the duration of a callback. */
struct store_pending {
	const char	*url;
	char		 sha256[DIGEST_HEX_LEN + 1];	/* "" until fetched */
	uint64_t	 size;
	const char	*content_type;	/* of the upstream response, or NULL */
	const char	*error;		/* why the last fetch failed, or NULL */
	int64_t		 first_seen, last_seen;	/* seconds since the epoch */
	uint64_t	 requests;	/* requests for the URL while queued */
};

/* Seconds before learn mode fetches a queued URL again whose fetch
 * failed or has not reported. */
#define STORE_PENDING_RETRY 600

/* Opens or creates the database at path and brings its schema up to date.
 * Returns the store, or NULL after logging why (the file cannot be opened,
 * it is not a hashgate database, or its schema is newer than this build). */
struct store *store_open(const char *path);
void store_close(struct store *store);

/* Looks up the pinned digests of a normalised URL: sha256 and sha512 get
 * hex, or "" for a digest the pin does not have (yet), and
 * *allow_http_redirect, unless NULL, the pin's redirect exception. Returns 1 when
 * pinned, 2 (digests filled too) when the pin has expired, 0 when not
 * pinned, -1 on a database error (logged). */
int store_pin_lookup(struct store *store, const char *url,
    char sha256[DIGEST_HEX_LEN + 1], char sha512[DIGEST512_HEX_LEN + 1],
    int *allow_http_redirect);

/* Fills *urls with a heap array of up to max URLs whose current pins
 * (not expired) carry the SHA-256 sha256, oldest pin first, and *n with
 * their number, which may be 0. The caller frees each URL and the array,
 * also after an error. Returns 0, or -1 (logged). */
int store_pin_urls_by_sha256(struct store *store, const char *sha256,
    size_t max, char ***urls, size_t *n);

/* Writes the canonical text of the digest a pin was made with: its
 * SHA-512 when it has one, else its SHA-256. */
void store_pin_digest(const char *sha256, const char *sha512,
    char out[DIGEST_TEXT_MAX]);

/* Records the SHA-256 of the object that matched the SHA-512 pin of url,
 * so that later requests find it in the cache. Returns 0 or -1 (logged). */
int store_pin_learn_sha256(struct store *store, const char *url,
    const char *sha512, const char *sha256);

/* Adds a pin and its pin-added event in one transaction. Returns 0 when
 * added, 1 when the URL is already pinned (existing receives the canonical
 * text of its digest), -1 on error (logged). */
int store_pin_add(struct store *store, const struct store_pin *pin,
    const char *client, char existing[DIGEST_TEXT_MAX]);

/* The outcome of one entry of store_pin_import. */
enum store_import_result {
	STORE_IMPORT_ADDED,	/* pinned now, or would be by a check */
	STORE_IMPORT_EXISTING,	/* pinned to the same digest already */
	STORE_IMPORT_CONFLICT,	/* pinned to another digest */
	STORE_IMPORT_EXPIRED	/* has an expired pin, whatever its digest */
};

/* One pin of an import: the caller sets url (normalised) and digest (the
 * canonical text, "sha256:HEX" or "sha512:HEX"); store_pin_import sets
 * the rest. */
struct store_import {
	const char			*url;
	const char			*digest;
	enum store_import_result	 result;
	/* The canonical digest pinned before the import for EXISTING,
	 * CONFLICT and EXPIRED, else "". */
	char				 existing[DIGEST_TEXT_MAX];
};

/* Adds the pins in entries, each with note, identity and added_at and
 * its own pin-added event, in one transaction. Sets every entry's result.
 * All pins are committed when no entry is a conflict or expired and
 * check_only is 0; otherwise nothing is. Returns 0 when committed, 1 when
 * rolled back because of a conflict or check_only, -1 on error (logged).
 * The store is locked for the whole transaction, so proxy lookups wait
 * for it. */
int store_pin_import(struct store *store, struct store_import *entries,
    size_t n, const char *note, const char *identity, int64_t added_at,
    const char *client, int check_only);

/* Removes the pin of url and records a pin-removed event with identity
 * and note, in one transaction. Returns 0 and fills removed when it
 * existed (removed->note and removed->added_by are then heap strings that
 * the caller frees), 1 when not pinned, -1 on error (logged). */
int store_pin_remove(struct store *store, const char *url,
    const char *identity, const char *note, const char *client,
    struct store_pin *removed);

/* Calls fn for every pin, ordered by URL. Returns 0, or -1 on a database
 * error (logged) or as soon as fn returns non-zero. The other foreach
 * functions below stop and return -1 the same way. */
int store_pin_foreach(struct store *store,
    int (*fn)(void *arg, const struct store_pin *pin), void *arg);

/* Adds a token and its token-created event in one transaction. Returns 0,
 * 1 when the name or the hash exists already (revoked tokens included),
 * or -1 (logged). */
int store_token_create(struct store *store, const struct store_token *token,
    const char *client);

/* Revokes the valid token name. Returns 0, 1 when there is no valid token
 * of that name, or -1 (logged). */
int store_token_revoke(struct store *store, const char *name,
    const char *identity, const char *client);

/* Finds the valid token whose SHA-256 is hash (hex). Returns 1 and fills
 * name and *is_admin, 0 when there is none, -1 (logged). */
int store_token_lookup(struct store *store, const char *hash,
    char name[STORE_NAME_MAX + 1], int *is_admin);

/* Calls fn for every token, revoked ones included, ordered by name. */
int store_token_foreach(struct store *store,
    int (*fn)(void *arg, const struct store_token *token), void *arg);

/* Records one event in its own transaction. Returns 0 or -1 (logged). */
int store_event_add(struct store *store, const struct store_event *ev);

/* Records n events in one transaction: all of them, or none. Returns 0
 * or -1 (logged). */
int store_event_add_batch(struct store *store,
    const struct store_event *const *events, size_t n);

/* Removes events older than before (seconds since the epoch) and all but
 * the newest max_events (0: no count limit). Returns the number removed,
 * or -1 (logged). */
int64_t store_event_prune(struct store *store, uint64_t max_events,
    int64_t before);

/* Calls fn for the newest events that match filter, oldest first.
 * Returns 0, or -1 on a database error (logged) or when fn fails. */
int store_event_foreach(struct store *store,
    const struct store_event_filter *filter,
    int (*fn)(void *arg, const struct store_event *ev), void *arg);

/* Counts a request for the unknown url in the review queue, adding the
 * URL when the queue has fewer than max_pending entries. Sets *fetch when
 * the caller should fetch it now: the URL is new, or its last fetch
 * failed or started more than STORE_PENDING_RETRY seconds ago. Returns
 * 0, 1 when the queue is full, or -1 (logged). */
int store_pending_seen(struct store *store, const char *url,
    uint64_t max_pending, int *fetch);

/* Records the outcome of a learn-mode fetch: the SHA-256, size and
 * Content-Type of what url served, or the error with sha256 NULL. */
int store_pending_result(struct store *store, const char *url,
    const char *sha256, uint64_t size, const char *content_type,
    const char *error);

/* Calls fn for every queued URL, ordered by URL. */
int store_pending_foreach(struct store *store,
    int (*fn)(void *arg, const struct store_pending *p), void *arg);

/* Pins pin->url to the SHA-256 that learn mode observed and removes it
 * from the queue, with a pin-added event, in one transaction. Returns 0
 * and fills sha256; 1 when the URL is not queued; 2 when it has no digest
 * yet; 3 when it is pinned already; -1 on error (logged). */
int store_pending_approve(struct store *store, const struct store_pin *pin,
    const char *client, char sha256[DIGEST_HEX_LEN + 1]);

/* Removes url from the queue with a pending-rejected event. Returns 0, 1
 * when it is not queued, or -1 (logged). */
int store_pending_reject(struct store *store, const char *url,
    const char *identity, const char *note, const char *client);

#endif
