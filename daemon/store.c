/* SPDX-License-Identifier: MIT */
/* The allowlist and the audit table in SQLite, with versioned schema. */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"

struct store {
	sqlite3		*db;
	sqlite3_stmt	*lookup;	/* prepared once: every request runs it */
	pthread_mutex_t	 lock;
	const char	*path;
};

/* Migrations, one per schema version: entry i takes version i to i + 1. */
static const char *const store_migrations[STORE_SCHEMA_VERSION] = {
	"CREATE TABLE pins ("
	"  url      TEXT PRIMARY KEY NOT NULL,"
	"  sha256   TEXT NOT NULL CHECK (length(sha256) = 64),"
	"  note     TEXT,"
	"  added_by TEXT NOT NULL,"
	"  added_at INTEGER NOT NULL);"
	"CREATE INDEX pins_sha256 ON pins (sha256);"
	"CREATE TABLE events ("
	"  id       INTEGER PRIMARY KEY,"
	"  at       INTEGER NOT NULL,"
	"  kind     TEXT NOT NULL,"
	"  client   TEXT,"
	"  url      TEXT NOT NULL,"
	"  expected TEXT,"
	"  observed TEXT,"
	"  size     INTEGER);",
};

static int
store_exec(struct store *store, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(store->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("database %s: %s", store->path, err ? err : "unknown error");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
store_migrate(struct store *store)
{
	sqlite3_stmt *stmt;
	int version, v;
	char sql[64];

	if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
		log_error("database %s: cannot read the schema version: %s",
		    store->path, sqlite3_errmsg(store->db));
		sqlite3_finalize(stmt);
		return -1;
	}
	version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);

	if (version > STORE_SCHEMA_VERSION) {
		log_error("database %s: schema version %d is newer than this "
		    "hashgated supports (%d); run a newer release",
		    store->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	for (v = version; v < STORE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (store_exec(store, "BEGIN IMMEDIATE") != 0)
			return -1;
		if (store_exec(store, store_migrations[v]) != 0 ||
		    store_exec(store, sql) != 0) {
			store_exec(store, "ROLLBACK");
			return -1;
		}
		if (store_exec(store, "COMMIT") != 0)
			return -1;
		log_info("database %s: schema migrated to version %d",
		    store->path, v + 1);
	}
	return 0;
}

static void
store_log_failure(struct store *store, const char *what)
{
	log_error("database %s: %s failed: %s", store->path, what,
	    sqlite3_errmsg(store->db));
}

struct store *
store_open(const char *path)
{
	struct store *store;

	store = calloc(1, sizeof(*store));
	if (store == NULL) {
		log_error("database %s: out of memory", path);
		return NULL;
	}
	store->path = path;
	pthread_mutex_init(&store->lock, NULL);

	if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		log_error("database %s: cannot open: %s", path,
		    store->db ? sqlite3_errmsg(store->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(store->db, 5000);
	/* synchronous=FULL syncs every commit, so a pin that the admin API
	 * acknowledged survives a crash or a power loss. WAL keeps each
	 * commit to one append and sync of the log. */
	if (store_exec(store, "PRAGMA journal_mode = WAL") != 0 ||
	    store_exec(store, "PRAGMA synchronous = FULL") != 0 ||
	    store_migrate(store) != 0)
		goto fail;
	if (sqlite3_prepare_v3(store->db, "SELECT sha256 FROM pins WHERE url = ?1",
	    -1, SQLITE_PREPARE_PERSISTENT, &store->lookup, NULL) != SQLITE_OK) {
		store_log_failure(store, "preparing the pin lookup");
		goto fail;
	}
	return store;
fail:
	store_close(store);
	return NULL;
}

void
store_close(struct store *store)
{
	if (store == NULL)
		return;
	sqlite3_finalize(store->lookup);
	sqlite3_close(store->db);
	pthread_mutex_destroy(&store->lock);
	free(store);
}


/* Looks up a pin with the lock already held. */
static int
store_pin_lookup_locked(struct store *store, const char *url,
    char sha256[DIGEST_HEX_LEN + 1])
{
	sqlite3_stmt *stmt = store->lookup;
	int ret = -1, rc;

	sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *hex = sqlite3_column_text(stmt, 0);

		if (hex != NULL && strlen((const char *)hex) == DIGEST_HEX_LEN) {
			memcpy(sha256, hex, DIGEST_HEX_LEN + 1);
			ret = 1;
		}
	} else if (rc == SQLITE_DONE)
		ret = 0;
	if (ret < 0)
		store_log_failure(store, "pin lookup");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return ret;
}

int
store_pin_lookup(struct store *store, const char *url,
    char sha256[DIGEST_HEX_LEN + 1])
{
	int ret;

	pthread_mutex_lock(&store->lock);
	ret = store_pin_lookup_locked(store, url, sha256);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_pin_add(struct store *store, const struct store_pin *pin,
    char existing[DIGEST_HEX_LEN + 1])
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "INSERT INTO pins (url, sha256, note, added_by, added_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (url) DO NOTHING "
	    "RETURNING url", -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(stmt, 1, pin->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, pin->sha256, -1, SQLITE_STATIC);
	if (pin->note != NULL)
		sqlite3_bind_text(stmt, 3, pin->note, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, pin->added_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, pin->added_at);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(stmt);
	else if (rc == SQLITE_DONE) {
		/* Nothing inserted: the URL is pinned already. */
		sqlite3_finalize(stmt);
		stmt = NULL;
		rc = store_pin_lookup_locked(store, pin->url, existing);
		pthread_mutex_unlock(&store->lock);
		return rc == 1 ? 1 : -1;
	}
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0)
		store_log_failure(store, "pin insert");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

static char *
column_strdup(sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return text == NULL ? NULL : strdup((const char *)text);
}

int
store_pin_remove(struct store *store, const char *url,
    struct store_pin *removed)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	memset(removed, 0, sizeof(*removed));
	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "DELETE FROM pins WHERE url = ?1 "
	    "RETURNING sha256, note, added_by, added_at", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto out;
	snprintf(removed->sha256, sizeof(removed->sha256), "%s",
	    (const char *)sqlite3_column_text(stmt, 0));
	removed->note = column_strdup(stmt, 1);
	removed->added_by = column_strdup(stmt, 2);
	removed->added_at = sqlite3_column_int64(stmt, 3);
	/* The statement commits when stepped to its end. */
	if (sqlite3_step(stmt) == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0) {
		store_log_failure(store, "pin delete");
		free((char *)removed->note);
		free((char *)removed->added_by);
		memset(removed, 0, sizeof(*removed));
	}
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_pin_foreach(struct store *store,
    int (*fn)(void *arg, const struct store_pin *pin), void *arg)
{
	sqlite3_stmt *stmt = NULL;
	struct store_pin pin;
	int ret = -1, rc;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "SELECT url, sha256, note, added_by, added_at FROM pins "
	    "ORDER BY url", -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		pin.url = (const char *)sqlite3_column_text(stmt, 0);
		snprintf(pin.sha256, sizeof(pin.sha256), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		pin.note = (const char *)sqlite3_column_text(stmt, 2);
		pin.added_by = (const char *)sqlite3_column_text(stmt, 3);
		pin.added_at = sqlite3_column_int64(stmt, 4);
		if (fn(arg, &pin) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0)
		store_log_failure(store, "pin list");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_event_mismatch(struct store *store, const char *client,
    const char *url, const char *expected, const char *observed,
    uint64_t size)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "INSERT INTO events (at, kind, client, url, expected, observed, size) "
	    "VALUES (?1, 'mismatch', ?2, ?3, ?4, ?5, ?6)", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(stmt, 2, client, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, expected, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, observed, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)size);
	if (sqlite3_step(stmt) == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0)
		store_log_failure(store, "event insert");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}
