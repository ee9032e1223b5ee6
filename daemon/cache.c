/* SPDX-License-Identifier: MIT */
/* The content-addressed object cache on disk. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define TMP_PREFIX "fetch-"

struct cache {
	char	*dir;
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
cache_open(const char *dir)
{
	struct cache *cache;

	cache = calloc(1, sizeof(*cache));
	if (cache == NULL || (cache->dir = strdup(dir)) == NULL) {
		log_error("cache: out of memory");
		free(cache);
		return NULL;
	}
	cache->lock_fd = cache->objects_fd = cache->tmp_fd = -1;
	if (make_dir(dir) != 0 || cache_lock(cache) != 0 ||
	    (cache->objects_fd = open_dir(dir, "objects")) < 0 ||
	    (cache->tmp_fd = open_dir(dir, "tmp")) < 0) {
		cache_close(cache);
		return NULL;
	}
	cache_sweep_tmp(cache);
	return cache;
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
	free(cache->dir);
	free(cache);
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
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_error("cache: object %s is not a regular file", hex);
		close(fd);
		errno = EIO;
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
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
	close(fd);

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
