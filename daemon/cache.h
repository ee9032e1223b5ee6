/* SPDX-License-Identifier: MIT */
/* The content-addressed object cache on disk.
 *
 * Layout under cache_dir: objects/ab/abcdef... contains verified objects,
 * named by the lower-case hex of their SHA-256. tmp/ contains transfers in
 * progress. The file lock is locked by the running daemon and contains its
 * pid. An object appears under objects/ only by rename(2) after its
 * digest matched and its data was synced, so a crash leaves at worst a
 * file in tmp/, which the next start removes. */
#ifndef HASHGATE_CACHE_H
#define HASHGATE_CACHE_H

#include <limits.h>
#include <stdint.h>

#include "digest.h"

struct cache;

/* When an object is hashed again before it is served. */
enum cache_verify {
	CACHE_VERIFY_CHANGED,	/* when its file changed since it last matched */
	CACHE_VERIFY_ALWAYS,	/* every time */
	CACHE_VERIFY_NEVER,	/* never: trust the file system */
};

/* Opens the cache at dir, creating its folders as needed, locks it
 * against a second daemon, removes leftover temporary files, and evicts
 * the least recently used objects past max_size bytes (0: no limit).
 * Returns NULL after logging why. */
struct cache *cache_open(const char *dir, enum cache_verify verify,
    uint64_t max_size);
void cache_close(struct cache *cache);

/* Changes the verify mode and the size budget of an open cache, evicting
 * objects at once if the cache is now over max_size. Safe to call while
 * other threads use the cache. */
void cache_set_policy(struct cache *cache, enum cache_verify verify,
    uint64_t max_size);

/* Reads the size in bytes and the number of the objects that the size
 * budget accounts for: those found at start-up or stored since, less
 * those removed or evicted. An object deleted by hand stays counted until
 * it is fetched again or evicted. */
void cache_usage(struct cache *cache, uint64_t *bytes, uint64_t *objects);

/* Opens the verified object with digest hex for reading, hashing it first
 * when the verify mode requires it. An object that no longer matches is removed.
 * Returns the file descriptor and sets *size, or -1 with errno ENOENT when
 * no good object is cached (other errors are logged). The caller closes
 * the descriptor. */
int cache_object_open(struct cache *cache, const char *hex, uint64_t *size);

/* Tells whether an object file for hex exists, without verifying it. */
int cache_object_exists(struct cache *cache, const char *hex);

/* Creates an empty temporary file in tmp/ and writes its path into path.
 * Returns the descriptor, or -1 (logged). */
int cache_tmp_create(struct cache *cache, char path[PATH_MAX]);

/* Syncs the temporary file fd, at path, to disk and renames it to the
 * address of hex. Closes fd in every case. Returns 0, or -1 (logged), in
 * which case the temporary file has been removed. */
int cache_commit(struct cache *cache, int fd, const char *path,
    const char *hex);

/* Closes fd and removes the temporary file at path. */
void cache_discard(int fd, const char *path);

#endif
