/* SPDX-License-Identifier: MIT */
/* The content-addressed object cache on disk. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "log.h"

#define TMP_PREFIX "fetch-"

/* The state of an object file when its digest last matched. A file with
 * the same identity, size, ctime and mtime has not been written since,
 * because an edit, a truncation or a replacement changes one of them. */
struct cache_seen {
	char		 hex[DIGEST_HEX_LEN + 1];
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 ctime, mtime;
};

/* Objects remembered as verified; a slot is chosen by the digest, and a
 * collision only costs a second hash. */
#define CACHE_SEEN_SLOTS 65536

/* An object in the cache, for the size budget and its LRU eviction. */
struct cache_entry {
	struct cache_entry	*next;		/* in its bucket */
	char			 hex[DIGEST_HEX_LEN + 1];
	uint64_t		 size;
	uint64_t		 used;		/* ns since the epoch, last served or stored */
};

#define CACHE_BUCKETS 4096

/* Nanoseconds rather than seconds, so that objects used within one
 * second still have an order for eviction. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

struct cache {
	char	*dir;
	_Atomic int verify;	/* enum cache_verify; SIGHUP may change it */
	pthread_mutex_t budget_lock;	/* guards the fields below */
	uint64_t max_size;	/* 0: no budget */
	uint64_t total;		/* bytes in objects/ */
	uint64_t count;		/* objects in objects/ */
	struct cache_entry *buckets[CACHE_BUCKETS];
	pthread_mutex_t seen_lock;
	struct cache_seen *seen;	/* CACHE_SEEN_SLOTS entries */
	int	 lock_fd;	/* lock, held while the daemon runs */
	int	 objects_fd;	/* objects/, for openat and fsync */
	int	 tmp_fd;	/* tmp/ */
};

static int
make_dir(const char *path)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		log_errno("cache: cannot create folder %s", path);
		return -1;
	}
	return 0;
}

static int
open_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (make_dir(path) != 0)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		log_errno("cache: cannot open folder %s", path);
	return fd;
}

/* Takes the lock file in the cache folder, so that a second hashgated on
 * the same cache stops before it removes the first one's transfers. */
static int
cache_lock(struct cache *cache)
{
	char path[PATH_MAX], pid[32];
	int n;

	snprintf(path, sizeof(path), "%s/lock", cache->dir);
	cache->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (cache->lock_fd < 0) {
		log_errno("cache: cannot open lock file %s", path);
		return -1;
	}
	if (flock(cache->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		n = (int)pread(cache->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_error("cache: %s is in use by another hashgated (pid %s); "
		    "stop it or give this one another cache_dir", cache->dir,
		    pid[0] ? pid : "unknown");
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(cache->lock_fd, 0) != 0 ||
	    pwrite(cache->lock_fd, pid, (size_t)n, 0) != n)
		log_errno("cache: cannot write the pid into %s", path);
	return 0;
}

static struct cache_entry **
bucket_of(struct cache *cache, const char *hex)
{
	unsigned char raw[DIGEST_LEN];

	digest_from_hex(hex, raw);
	return &cache->buckets[(raw[2] << 8 | raw[3]) % CACHE_BUCKETS];
}

/* Finds the entry of hex, with budget_lock held. */
static struct cache_entry **
entry_slot(struct cache *cache, const char *hex)
{
	struct cache_entry **pp;

	for (pp = bucket_of(cache, hex); *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->hex, hex) == 0)
			break;
	return pp;
}

/* Records an object of size bytes, or refreshes its entry. */
static void
budget_add(struct cache *cache, const char *hex, uint64_t size, uint64_t used)
{
	struct cache_entry **pp, *e;

	pthread_mutex_lock(&cache->budget_lock);
	pp = entry_slot(cache, hex);
	if ((e = *pp) != NULL) {
		cache->total -= e->size;
	} else if ((e = calloc(1, sizeof(*e))) != NULL) {
		memcpy(e->hex, hex, sizeof(e->hex));
		*pp = e;
		cache->count++;
	}
	if (e != NULL) {
		e->size = size;
		e->used = used;
		cache->total += size;
	}
	pthread_mutex_unlock(&cache->budget_lock);
}

static void
budget_remove(struct cache *cache, const char *hex)
{
	struct cache_entry **pp, *e;

	pthread_mutex_lock(&cache->budget_lock);
	pp = entry_slot(cache, hex);
	if ((e = *pp) != NULL) {
		*pp = e->next;
		cache->total -= e->size;
		cache->count--;
		free(e);
	}
	pthread_mutex_unlock(&cache->budget_lock);
}

static void
budget_touch(struct cache *cache, const char *hex)
{
	struct cache_entry *e;

	pthread_mutex_lock(&cache->budget_lock);
	if ((e = *entry_slot(cache, hex)) != NULL)
		e->used = now_ns();
	pthread_mutex_unlock(&cache->budget_lock);
}

/* Removes the least recently used objects, other than keep, until the
 * cache fits max_size. An object being sent stays readable through its
 * open descriptor, so removing it never cuts a transfer short. */
static void
budget_enforce(struct cache *cache, const char *keep)
{
	char name[3 + DIGEST_HEX_LEN + 1];

	pthread_mutex_lock(&cache->budget_lock);
	while (cache->max_size != 0 && cache->total > cache->max_size) {
		struct cache_entry **oldest = NULL, **pp, *e;
		size_t b;

		for (b = 0; b < CACHE_BUCKETS; b++)
			for (pp = &cache->buckets[b]; *pp != NULL; pp = &(*pp)->next)
				if (strcmp((*pp)->hex, keep) != 0 &&
				    (oldest == NULL || (*pp)->used < (*oldest)->used))
					oldest = pp;
		if (oldest == NULL)
			break;	/* only keep is left, and it alone is too large */
		e = *oldest;
		*oldest = e->next;
		cache->total -= e->size;
		cache->count--;
		snprintf(name, sizeof(name), "%.2s/%s", e->hex, e->hex);
		if (unlinkat(cache->objects_fd, name, 0) != 0 && errno != ENOENT)
			log_errno("cache: cannot evict object %s", e->hex);
		else
			log_info("cache: evicted object %s (%llu bytes, least recently used) to stay within max_size",
			    e->hex, (unsigned long long)e->size);
		free(e);
	}
	pthread_mutex_unlock(&cache->budget_lock);
}

/* Reads the sizes of the objects already in the cache. */
static void
budget_scan(struct cache *cache)
{
	struct dirent *sub, *de;
	DIR *top, *d;
	struct stat st;
	unsigned long count = 0;
	int fd, subfd;

	fd = dup(cache->objects_fd);
	if (fd < 0 || (top = fdopendir(fd)) == NULL) {
		log_errno("cache: cannot list %s/objects", cache->dir);
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((sub = readdir(top)) != NULL) {
		if (strlen(sub->d_name) != 2 || sub->d_name[0] == '.')
			continue;
		subfd = openat(cache->objects_fd, sub->d_name,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (subfd < 0 || (d = fdopendir(subfd)) == NULL) {
			if (subfd >= 0)
				close(subfd);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			unsigned char raw[DIGEST_LEN];

			if (strlen(de->d_name) != DIGEST_HEX_LEN ||
			    digest_from_hex(de->d_name, raw) != 0 ||
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			budget_add(cache, de->d_name, (uint64_t)st.st_size,
			    (uint64_t)st.st_mtim.tv_sec * 1000000000 + (uint64_t)st.st_mtim.tv_nsec);
			count++;
		}
		closedir(d);
	}
	closedir(top);
	log_info("cache: %lu objects, %llu bytes, max_size %llu bytes%s",
	    count, (unsigned long long)cache->total,
	    (unsigned long long)cache->max_size,
	    cache->max_size == 0 ? " (no limit)" : "");
}

/* Removes what a crash or a kill left in tmp/. */
static void
cache_sweep_tmp(struct cache *cache)
{
	struct dirent *de;
	DIR *d;
	int fd, removed = 0;

	fd = dup(cache->tmp_fd);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		log_errno("cache: cannot list %s/tmp", cache->dir);
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		if (unlinkat(cache->tmp_fd, de->d_name, 0) == 0)
			removed++;
		else
			log_errno("cache: cannot remove %s/tmp/%s", cache->dir,
			    de->d_name);
	}
	closedir(d);
	log_info("cache: removed %d leftover temporary files from %s/tmp",
	    removed, cache->dir);
}

struct cache *
cache_open(const char *dir, enum cache_verify verify, uint64_t max_size)
{
	struct cache *cache;

	cache = calloc(1, sizeof(*cache));
	if (cache == NULL || (cache->dir = strdup(dir)) == NULL ||
	    (cache->seen = calloc(CACHE_SEEN_SLOTS, sizeof(*cache->seen))) == NULL) {
		log_error("cache: out of memory");
		if (cache != NULL)
			free(cache->dir);
		free(cache);
		return NULL;
	}
	cache->verify = verify;
	cache->max_size = max_size;
	pthread_mutex_init(&cache->seen_lock, NULL);
	pthread_mutex_init(&cache->budget_lock, NULL);
	cache->lock_fd = cache->objects_fd = cache->tmp_fd = -1;
	if (make_dir(dir) != 0 || cache_lock(cache) != 0 ||
	    (cache->objects_fd = open_dir(dir, "objects")) < 0 ||
	    (cache->tmp_fd = open_dir(dir, "tmp")) < 0) {
		cache_close(cache);
		return NULL;
	}
	cache_sweep_tmp(cache);
	budget_scan(cache);
	budget_enforce(cache, "");
	return cache;
}

void
cache_set_policy(struct cache *cache, enum cache_verify verify,
    uint64_t max_size)
{
	cache->verify = verify;
	pthread_mutex_lock(&cache->budget_lock);
	cache->max_size = max_size;
	pthread_mutex_unlock(&cache->budget_lock);
	budget_enforce(cache, "");
}

void
cache_usage(struct cache *cache, uint64_t *bytes, uint64_t *objects)
{
	pthread_mutex_lock(&cache->budget_lock);
	*bytes = cache->total;
	*objects = cache->count;
	pthread_mutex_unlock(&cache->budget_lock);
}

void
cache_close(struct cache *cache)
{
	if (cache == NULL)
		return;
	if (cache->objects_fd >= 0)
		close(cache->objects_fd);
	if (cache->tmp_fd >= 0)
		close(cache->tmp_fd);
	if (cache->lock_fd >= 0)
		close(cache->lock_fd);
	pthread_mutex_destroy(&cache->seen_lock);
	pthread_mutex_destroy(&cache->budget_lock);
	for (size_t b = 0; b < CACHE_BUCKETS; b++) {
		struct cache_entry *e, *next;

		for (e = cache->buckets[b]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(cache->seen);
	free(cache->dir);
	free(cache);
}

static struct cache_seen *
seen_slot(struct cache *cache, const char *hex)
{
	unsigned char raw[DIGEST_LEN];

	digest_from_hex(hex, raw);
	return &cache->seen[(raw[0] << 8 | raw[1]) % CACHE_SEEN_SLOTS];
}

static int
seen_matches(const struct cache_seen *s, const char *hex, const struct stat *st)
{
	return strcmp(s->hex, hex) == 0 && s->dev == st->st_dev &&
	    s->ino == st->st_ino && s->size == st->st_size &&
	    s->ctime.tv_sec == st->st_ctim.tv_sec &&
	    s->ctime.tv_nsec == st->st_ctim.tv_nsec &&
	    s->mtime.tv_sec == st->st_mtim.tv_sec &&
	    s->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Remembers that the object file described by st hashed to hex. */
static void
cache_remember(struct cache *cache, const char *hex, const struct stat *st)
{
	struct cache_seen *s = seen_slot(cache, hex);

	pthread_mutex_lock(&cache->seen_lock);
	memcpy(s->hex, hex, sizeof(s->hex));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->ctime = st->st_ctim;
	s->mtime = st->st_mtim;
	pthread_mutex_unlock(&cache->seen_lock);
}

/* Hashes the object unless it is known unchanged since it last matched.
 * Returns 0 when it matches hex, with the offset of fd at 0 again after a
 * hash, or -1 (logged) after removing it. */
static int
cache_verify_object(struct cache *cache, int fd, const char *hex,
    const struct stat *st)
{
	unsigned char raw[DIGEST_LEN];
	char observed[DIGEST_HEX_LEN + 1], name[3 + DIGEST_HEX_LEN + 1];
	int known, verify = cache->verify;

	if (verify == CACHE_VERIFY_NEVER)
		return 0;
	if (verify == CACHE_VERIFY_CHANGED) {
		pthread_mutex_lock(&cache->seen_lock);
		known = seen_matches(seen_slot(cache, hex), hex, st);
		pthread_mutex_unlock(&cache->seen_lock);
		if (known)
			return 0;
	}

	if (digest_fd(fd, raw, NULL) != 0) {
		log_errno("cache: cannot read object %s to verify it", hex);
		return -1;
	}
	digest_to_hex(raw, observed);
	if (strcmp(observed, hex) == 0) {
		if (lseek(fd, 0, SEEK_SET) != 0) {
			log_errno("cache: cannot rewind object %s after verifying it",
			    hex);
			return -1;
		}
		cache_remember(cache, hex, st);
		return 0;
	}

	/* Changed on disk after it was verified: never serve it. */
	snprintf(name, sizeof(name), "%.2s/%s", hex, hex);
	if (unlinkat(cache->objects_fd, name, 0) != 0 && errno != ENOENT)
		log_errno("cache: cannot remove tampered object %s", hex);
	budget_remove(cache, hex);
	log_error("cache: object %s was changed on disk (it now hashes to %s, "
	    "%lld bytes); removed it, it will be fetched again", hex, observed,
	    (long long)st->st_size);
	return -1;
}

int
cache_object_open(struct cache *cache, const char *hex, uint64_t *size)
{
	char name[3 + DIGEST_HEX_LEN + 1];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "%.2s/%s", hex, hex);
	fd = openat(cache->objects_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			log_errno("cache: cannot open object %s", hex);
		errno = ENOENT;
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_error("cache: object %s is not a regular file", hex);
		close(fd);
		errno = EIO;
		return -1;
	}
	if (cache_verify_object(cache, fd, hex, &st) != 0) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	*size = (uint64_t)st.st_size;
	/* Touched even without a budget, so that a budget set later by a
	 * reload evicts in the order of real use. */
	budget_touch(cache, hex);
	return fd;
}

int
cache_object_exists(struct cache *cache, const char *hex)
{
	char name[3 + DIGEST_HEX_LEN + 1];

	snprintf(name, sizeof(name), "%.2s/%s", hex, hex);
	return faccessat(cache->objects_fd, name, F_OK, 0) == 0;
}

int
cache_tmp_create(struct cache *cache, char path[PATH_MAX])
{
	int fd;

	snprintf(path, PATH_MAX, "%s/tmp/" TMP_PREFIX "XXXXXX", cache->dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		log_errno("cache: cannot create a temporary file in %s/tmp",
		    cache->dir);
	return fd;
}

int
cache_commit(struct cache *cache, int fd, const char *path, const char *hex)
{
	char sub[3], name[3 + DIGEST_HEX_LEN + 1], target[PATH_MAX];
	struct stat st;
	int subfd = -1;

	snprintf(sub, sizeof(sub), "%.2s", hex);
	snprintf(name, sizeof(name), "%s/%s", sub, hex);
	snprintf(target, sizeof(target), "%s/objects/%s", cache->dir, name);

	if (fchmod(fd, 0640) != 0 || fsync(fd) != 0) {
		log_errno("cache: cannot sync %s", path);
		goto fail;
	}
	if (mkdirat(cache->objects_fd, sub, 0750) != 0 && errno != EEXIST) {
		log_errno("cache: cannot create folder %s/objects/%s",
		    cache->dir, sub);
		goto fail;
	}
	if (rename(path, target) != 0) {
		log_errno("cache: cannot rename %s to %s", path, target);
		goto fail;
	}
	/* The renamed file was verified while it streamed in. */
	if (fstat(fd, &st) == 0) {
		cache_remember(cache, hex, &st);
		budget_add(cache, hex, (uint64_t)st.st_size, now_ns());
	}
	close(fd);
	budget_enforce(cache, hex);

	/* Sync the folder too, so that the new name survives a power loss. */
	subfd = openat(cache->objects_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (subfd < 0 || fsync(subfd) != 0)
		log_errno("cache: cannot sync folder %s/objects/%s", cache->dir, sub);
	if (subfd >= 0)
		close(subfd);
	return 0;
fail:
	cache_discard(fd, path);
	return -1;
}

void
cache_discard(int fd, const char *path)
{
	if (fd >= 0)
		close(fd);
	if (unlink(path) != 0 && errno != ENOENT)
		log_errno("cache: cannot remove %s", path);
}
