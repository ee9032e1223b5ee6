/* SPDX-License-Identifier: MIT */
/* The allowlist and the audit table in SQLite, with versioned schema. */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"

struct store {
	sqlite3		*db;
	dev_t		 dev;		/* of the file at open, to notice */
	ino_t		 ino;		/* that it was removed or replaced */
	int		 gone;		/* that was logged */
	sqlite3_stmt	*lookup;	/* prepared once: every request runs it */
	pthread_mutex_t	 lock;		/* held for every use of db */
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

	/* Version 2 adds named tokens with roles, and the review queue of
	 * learn mode. Pins may carry a SHA-512, whose SHA-256 is learnt at
	 * the first fetch, and may expire. Events record every decision and
	 * every admin change. SQLite cannot change a column's constraints in
	 * place, so pins is copied into a new table. */
	"CREATE TABLE tokens ("
	"  name       TEXT PRIMARY KEY NOT NULL,"
	"  role       TEXT NOT NULL CHECK (role IN ('admin', 'reader')),"
	"  hash       TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),"
	"  created_by TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  revoked_by TEXT,"
	"  revoked_at INTEGER);"
	"CREATE TABLE pins_v2 ("
	"  url        TEXT PRIMARY KEY NOT NULL,"
	"  sha256     TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),"
	"  sha512     TEXT CHECK (sha512 IS NULL OR length(sha512) = 128),"
	"  note       TEXT,"
	"  added_by   TEXT NOT NULL,"
	"  added_at   INTEGER NOT NULL,"
	"  expires_at INTEGER,"
	"  allow_http_redirect INTEGER NOT NULL DEFAULT 0,"
	"  CHECK (sha256 IS NOT NULL OR sha512 IS NOT NULL));"
	"INSERT INTO pins_v2 (url, sha256, note, added_by, added_at) "
	"  SELECT url, sha256, note, added_by, added_at FROM pins;"
	"DROP TABLE pins;"
	"ALTER TABLE pins_v2 RENAME TO pins;"
	"CREATE INDEX pins_sha256 ON pins (sha256);"
	"CREATE TABLE pending ("
	"  url          TEXT PRIMARY KEY NOT NULL,"
	"  sha256       TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),"
	"  size         INTEGER,"
	"  content_type TEXT,"
	"  error        TEXT,"
	"  fetched_at   INTEGER,"
	"  first_seen   INTEGER NOT NULL,"
	"  last_seen    INTEGER NOT NULL,"
	"  requests     INTEGER NOT NULL);"
	"ALTER TABLE events ADD COLUMN status INTEGER;"
	"ALTER TABLE events ADD COLUMN identity TEXT;"
	"ALTER TABLE events ADD COLUMN content_type TEXT;"
	"ALTER TABLE events ADD COLUMN redirects TEXT;"
	"ALTER TABLE events ADD COLUMN detail TEXT;"
	"CREATE INDEX events_at ON events (at);",
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

/* Begins a write transaction, unless the database file was removed or
 * replaced since it was opened: SQLite would go on writing to the open,
 * unlinked file, and every change it acknowledged would be lost at the
 * next start. Returns 0, or -1 (logged once). */
static int
store_begin(struct store *store)
{
	struct stat st;

	if (stat(store->path, &st) != 0 || st.st_dev != store->dev ||
	    st.st_ino != store->ino) {
		if (!store->gone)
			log_error("database %s was removed or replaced while "
			    "hashgated runs; changes are refused, since they "
			    "would be lost; restart hashgated", store->path);
		store->gone = 1;
		return -1;
	}
	return store_exec(store, "BEGIN IMMEDIATE");
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

	/* Every use of the connection holds store->lock, so SQLite's own
	 * mutex on it would only be taken a second time. */
	if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_error("database %s: cannot open: %s", path,
		    store->db ? sqlite3_errmsg(store->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(store->db, 5000);
	/* synchronous=FULL syncs every commit, so a pin that the admin API
	 * acknowledged survives a crash or a power loss. WAL keeps each
	 * commit to one append and sync of the log. */
	{
		struct stat st;

		if (stat(path, &st) != 0) {
			log_errno("database %s: cannot stat", path);
			goto fail;
		}
		store->dev = st.st_dev;
		store->ino = st.st_ino;
	}
	if (store_exec(store, "PRAGMA journal_mode = WAL") != 0 ||
	    store_exec(store, "PRAGMA synchronous = FULL") != 0 ||
	    store_migrate(store) != 0)
		goto fail;
	if (sqlite3_prepare_v3(store->db,
	    "SELECT sha256, sha512, expires_at, allow_http_redirect FROM pins "
	    "WHERE url = ?1",
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


/* Copies the text of column col into out, or "" when it is NULL or not
 * exactly len characters long. */
static void
column_fixed(sqlite3_stmt *stmt, int col, char *out, size_t len)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	if (text != NULL && strlen((const char *)text) == len)
		memcpy(out, text, len + 1);
	else
		out[0] = '\0';
}

/* Looks up a pin with the lock already held. */
static int
store_pin_lookup_locked(struct store *store, const char *url,
    char sha256[DIGEST_HEX_LEN + 1], char sha512[DIGEST512_HEX_LEN + 1],
    int *allow_http_redirect)
{
	sqlite3_stmt *stmt = store->lookup;
	int ret = -1, rc;

	sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		column_fixed(stmt, 0, sha256, DIGEST_HEX_LEN);
		column_fixed(stmt, 1, sha512, DIGEST512_HEX_LEN);
		if (allow_http_redirect != NULL)
			*allow_http_redirect = sqlite3_column_int(stmt, 3) != 0;
		if (sha256[0] != '\0' || sha512[0] != '\0') {
			ret = 1;
			if (sqlite3_column_type(stmt, 2) != SQLITE_NULL &&
			    sqlite3_column_int64(stmt, 2) <= (sqlite3_int64)time(NULL))
				ret = 2;
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
    char sha256[DIGEST_HEX_LEN + 1], char sha512[DIGEST512_HEX_LEN + 1],
    int *allow_http_redirect)
{
	int ret;

	pthread_mutex_lock(&store->lock);
	ret = store_pin_lookup_locked(store, url, sha256, sha512,
	    allow_http_redirect);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

void
store_pin_digest(const char *sha256, const char *sha512,
    char out[DIGEST_TEXT_MAX])
{
	if (sha512[0] != '\0')
		snprintf(out, DIGEST_TEXT_MAX, "sha512:%s", sha512);
	else
		snprintf(out, DIGEST_TEXT_MAX, "sha256:%s", sha256);
}

int
store_pin_learn_sha256(struct store *store, const char *url,
    const char *sha512, const char *sha256)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "UPDATE pins SET sha256 = ?3 WHERE url = ?1 AND sha512 = ?2 "
	    "AND sha256 IS NULL", -1, &stmt, NULL) == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, sha512, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, sha256, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) == SQLITE_DONE)
			ret = 0;
	}
	if (ret < 0)
		store_log_failure(store, "pin update");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

static void
bind_text_or_null(sqlite3_stmt *stmt, int col, const char *text)
{
	if (text != NULL)
		sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

#define EVENT_INSERT_SQL \
	"INSERT INTO events (at, kind, client, url, expected, observed, size, " \
	"status, identity, content_type, redirects, detail) " \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"

/* Binds ev to stmt, a prepared EVENT_INSERT_SQL, runs it and resets stmt
 * for the next event. Returns 0 or -1. */
static int
store_event_insert(sqlite3_stmt *stmt, const struct store_event *ev)
{
	int rc;

	sqlite3_bind_int64(stmt, 1, ev->at != 0 ? ev->at : (sqlite3_int64)time(NULL));
	sqlite3_bind_text(stmt, 2, ev->kind, -1, SQLITE_STATIC);
	bind_text_or_null(stmt, 3, ev->client);
	sqlite3_bind_text(stmt, 4, ev->url != NULL ? ev->url : "", -1, SQLITE_STATIC);
	bind_text_or_null(stmt, 5, ev->expected);
	bind_text_or_null(stmt, 6, ev->observed);
	if (ev->has_size)
		sqlite3_bind_int64(stmt, 7, (sqlite3_int64)ev->size);
	if (ev->status != 0)
		sqlite3_bind_int(stmt, 8, (int)ev->status);
	bind_text_or_null(stmt, 9, ev->identity);
	bind_text_or_null(stmt, 10, ev->content_type);
	bind_text_or_null(stmt, 11, ev->redirects);
	bind_text_or_null(stmt, 12, ev->detail);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Inserts ev with the lock held, inside the caller's transaction if any. */
static int
store_event_add_locked(struct store *store, const struct store_event *ev)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(store->db, EVENT_INSERT_SQL, -1, &stmt,
	    NULL) == SQLITE_OK)
		ret = store_event_insert(stmt, ev);
	if (ret < 0)
		store_log_failure(store, "event insert");
	sqlite3_finalize(stmt);
	return ret;
}

int
store_event_add(struct store *store, const struct store_event *ev)
{
	int ret;

	pthread_mutex_lock(&store->lock);
	ret = store_event_add_locked(store, ev);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

/* Runs one statement that changes the allowlist or the tokens, and its
 * event, in one transaction, so that no change goes unrecorded. The
 * statement is stepped to its end; changed receives sqlite3_changes. */
static int
store_change(struct store *store, sqlite3_stmt *stmt,
    const struct store_event *ev, int *changed)
{
	int rc;

	if (store_begin(store) != 0)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		store_log_failure(store, "allowlist change");
		store_exec(store, "ROLLBACK");
		return -1;
	}
	*changed = sqlite3_changes(store->db);
	if (*changed > 0 && store_event_add_locked(store, ev) != 0) {
		store_exec(store, "ROLLBACK");
		return -1;
	}
	if (store_exec(store, "COMMIT") != 0) {
		store_exec(store, "ROLLBACK");
		return -1;
	}
	return 0;
}

int
store_pin_add(struct store *store, const struct store_pin *pin,
    const char *client, char existing[DIGEST_TEXT_MAX])
{
	char digest[DIGEST_TEXT_MAX], sha256[DIGEST_HEX_LEN + 1];
	char sha512[DIGEST512_HEX_LEN + 1];
	struct store_event ev = {
		.kind = "pin-added", .client = client, .url = pin->url,
		.expected = digest, .identity = pin->added_by,
		.detail = pin->note, .at = pin->added_at,
	};
	sqlite3_stmt *stmt = NULL;
	int ret = -1, changed = 0;

	store_pin_digest(pin->sha256, pin->sha512, digest);
	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "INSERT INTO pins (url, sha256, sha512, note, added_by, added_at, "
	    "expires_at, allow_http_redirect) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8) ON CONFLICT (url) DO NOTHING", -1, &stmt,
	    NULL) != SQLITE_OK) {
		store_log_failure(store, "pin insert");
		goto out;
	}
	sqlite3_bind_text(stmt, 1, pin->url, -1, SQLITE_STATIC);
	bind_text_or_null(stmt, 2, pin->sha256[0] ? pin->sha256 : NULL);
	bind_text_or_null(stmt, 3, pin->sha512[0] ? pin->sha512 : NULL);
	bind_text_or_null(stmt, 4, pin->note);
	sqlite3_bind_text(stmt, 5, pin->added_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, pin->added_at);
	if (pin->expires_at != 0)
		sqlite3_bind_int64(stmt, 7, pin->expires_at);
	sqlite3_bind_int(stmt, 8, pin->allow_http_redirect != 0);
	if (store_change(store, stmt, &ev, &changed) != 0)
		goto out;
	if (changed > 0)
		ret = 0;
	else if (store_pin_lookup_locked(store, pin->url, sha256, sha512, NULL) > 0) {
		/* Nothing inserted: the URL is pinned already. */
		store_pin_digest(sha256, sha512, existing);
		ret = 1;
	}
out:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

/* Adds or checks one import entry with the lock held, inside the import
 * transaction. Returns 0 or -1. */
static int
store_import_one(struct store *store, sqlite3_stmt *insert,
    sqlite3_stmt *event, struct store_import *entry,
    const struct store_event *ev_template)
{
	struct store_event ev = *ev_template;
	char sha256[DIGEST_HEX_LEN + 1], sha512[DIGEST512_HEX_LEN + 1];
	int sha512_pin = strncmp(entry->digest, "sha512:", 7) == 0;
	int rc;

	entry->existing[0] = '\0';
	rc = store_pin_lookup_locked(store, entry->url, sha256, sha512, NULL);
	if (rc < 0)
		return -1;
	if (rc > 0)
		store_pin_digest(sha256, sha512, entry->existing);
	if (rc == 2) {
		entry->result = STORE_IMPORT_EXPIRED;
		return 0;
	}
	if (rc == 1) {
		entry->result = strcmp(entry->existing, entry->digest) == 0 ?
		    STORE_IMPORT_EXISTING : STORE_IMPORT_CONFLICT;
		return 0;
	}

	/* The canonical text is "sha256:" or "sha512:" and the hex. */
	sqlite3_bind_text(insert, 1, entry->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(insert, sha512_pin ? 6 : 2, entry->digest + 7, -1,
	    SQLITE_STATIC);
	sqlite3_bind_null(insert, sha512_pin ? 2 : 6);
	rc = sqlite3_step(insert);
	sqlite3_reset(insert);
	if (rc != SQLITE_DONE) {
		store_log_failure(store, "pin import");
		return -1;
	}
	ev.url = entry->url;
	ev.expected = entry->digest;
	if (store_event_insert(event, &ev) != 0) {
		store_log_failure(store, "event insert");
		return -1;
	}
	entry->result = STORE_IMPORT_ADDED;
	return 0;
}

int
store_pin_import(struct store *store, struct store_import *entries, size_t n,
    const char *note, const char *identity, int64_t added_at,
    const char *client, int check_only)
{
	struct store_event ev = {
		.kind = "pin-added", .client = client, .identity = identity,
		.detail = note, .at = added_at,
	};
	sqlite3_stmt *insert = NULL, *event = NULL;
	size_t i;
	int ret = -1, commit = !check_only;

	pthread_mutex_lock(&store->lock);
	if (store_begin(store) != 0)
		goto unlock;
	/* The note, identity and time are the same for every pin, so they
	 * are bound once; sqlite3_reset keeps bindings. */
	if (sqlite3_prepare_v2(store->db,
	    "INSERT INTO pins (url, sha256, note, added_by, added_at, sha512) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(store->db, EVENT_INSERT_SQL, -1, &event,
	    NULL) != SQLITE_OK) {
		store_log_failure(store, "preparing the pin import");
		goto rollback;
	}
	bind_text_or_null(insert, 3, note);
	sqlite3_bind_text(insert, 4, identity, -1, SQLITE_STATIC);
	sqlite3_bind_int64(insert, 5, added_at);

	for (i = 0; i < n; i++) {
		if (store_import_one(store, insert, event, &entries[i], &ev) != 0)
			goto rollback;
		if (entries[i].result == STORE_IMPORT_CONFLICT ||
		    entries[i].result == STORE_IMPORT_EXPIRED)
			commit = 0;
	}
	if (!commit) {
		store_exec(store, "ROLLBACK");
		ret = 1;
		goto unlock;
	}
	if (store_exec(store, "COMMIT") != 0)
		goto rollback;
	ret = 0;
	goto unlock;
rollback:
	store_exec(store, "ROLLBACK");
unlock:
	sqlite3_finalize(insert);
	sqlite3_finalize(event);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

static char *
column_strdup(sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return text == NULL ? NULL : strdup((const char *)text);
}

#define PIN_COLUMNS "url, sha256, sha512, note, added_by, added_at, " \
	"expires_at, allow_http_redirect"

/* Reads a pins row of SELECT PIN_COLUMNS. The strings stay valid until
 * the next step. */
static void
pin_from_row(sqlite3_stmt *stmt, struct store_pin *pin)
{
	pin->url = (const char *)sqlite3_column_text(stmt, 0);
	column_fixed(stmt, 1, pin->sha256, DIGEST_HEX_LEN);
	column_fixed(stmt, 2, pin->sha512, DIGEST512_HEX_LEN);
	pin->note = (const char *)sqlite3_column_text(stmt, 3);
	pin->added_by = (const char *)sqlite3_column_text(stmt, 4);
	pin->added_at = sqlite3_column_int64(stmt, 5);
	pin->expires_at = sqlite3_column_int64(stmt, 6);
	pin->allow_http_redirect = sqlite3_column_int(stmt, 7) != 0;
}

int
store_pin_remove(struct store *store, const char *url, const char *identity,
    const char *note, const char *client, struct store_pin *removed)
{
	char digest[DIGEST_TEXT_MAX];
	struct store_event ev = {
		.kind = "pin-removed", .client = client, .url = url,
		.identity = identity, .detail = note,
	};
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	memset(removed, 0, sizeof(*removed));
	pthread_mutex_lock(&store->lock);
	if (store_begin(store) != 0)
		goto unlock;
	if (sqlite3_prepare_v2(store->db,
	    "DELETE FROM pins WHERE url = ?1 RETURNING " PIN_COLUMNS, -1, &stmt,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		ret = 1;
		store_exec(store, "ROLLBACK");
		goto unlock;
	}
	if (rc != SQLITE_ROW)
		goto fail;
	pin_from_row(stmt, removed);
	removed->url = NULL;
	removed->note = column_strdup(stmt, 3);
	removed->added_by = column_strdup(stmt, 4);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	store_pin_digest(removed->sha256, removed->sha512, digest);
	ev.expected = digest;
	if (store_event_add_locked(store, &ev) != 0 ||
	    store_exec(store, "COMMIT") != 0)
		goto fail;
	ret = 0;
	goto unlock;
fail:
	store_log_failure(store, "pin delete");
	store_exec(store, "ROLLBACK");
	free((char *)removed->note);
	free((char *)removed->added_by);
	memset(removed, 0, sizeof(*removed));
unlock:
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
	int ret = -1, rc = SQLITE_ERROR;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "SELECT " PIN_COLUMNS " FROM pins ORDER BY url", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		pin_from_row(stmt, &pin);
		if (fn(arg, &pin) != 0) {
			rc = SQLITE_ABORT;	/* the caller failed */
			break;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0 && rc != SQLITE_ABORT)
		store_log_failure(store, "pin list");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_token_create(struct store *store, const struct store_token *token,
    const char *client)
{
	char detail[96];
	struct store_event ev = {
		.kind = "token-created", .client = client,
		.identity = token->created_by, .detail = detail,
		.at = token->created_at,
	};
	sqlite3_stmt *stmt = NULL;
	int ret = -1, changed = 0;

	snprintf(detail, sizeof(detail), "token %s, role %s", token->name,
	    token->role);
	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "INSERT INTO tokens (name, role, hash, created_by, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING", -1, &stmt,
	    NULL) != SQLITE_OK) {
		store_log_failure(store, "token insert");
		goto out;
	}
	sqlite3_bind_text(stmt, 1, token->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, token->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, token->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, token->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, token->created_at);
	if (store_change(store, stmt, &ev, &changed) == 0)
		ret = changed > 0 ? 0 : 1;
out:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_token_revoke(struct store *store, const char *name,
    const char *identity, const char *client)
{
	char detail[96];
	struct store_event ev = {
		.kind = "token-revoked", .client = client, .identity = identity,
		.detail = detail,
	};
	sqlite3_stmt *stmt = NULL;
	int ret = -1, changed = 0;

	snprintf(detail, sizeof(detail), "token %s", name);
	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "UPDATE tokens SET revoked_by = ?2, revoked_at = ?3 "
	    "WHERE name = ?1 AND revoked_at IS NULL", -1, &stmt,
	    NULL) != SQLITE_OK) {
		store_log_failure(store, "token revoke");
		goto out;
	}
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, identity, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)time(NULL));
	if (store_change(store, stmt, &ev, &changed) == 0)
		ret = changed > 0 ? 0 : 1;
out:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_token_lookup(struct store *store, const char *hash,
    char name[STORE_NAME_MAX + 1], int *is_admin)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "SELECT name, role FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
	    -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(name, STORE_NAME_MAX + 1, "%s",
		    (const char *)sqlite3_column_text(stmt, 0));
		*is_admin = strcmp((const char *)sqlite3_column_text(stmt, 1),
		    "admin") == 0;
		ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0)
		store_log_failure(store, "token lookup");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_token_foreach(struct store *store,
    int (*fn)(void *arg, const struct store_token *token), void *arg)
{
	sqlite3_stmt *stmt = NULL;
	struct store_token token;
	int ret = -1, rc = SQLITE_ERROR;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "SELECT name, role, created_by, created_at, revoked_by, revoked_at "
	    "FROM tokens ORDER BY name", -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&token, 0, sizeof(token));
		token.name = (const char *)sqlite3_column_text(stmt, 0);
		token.role = (const char *)sqlite3_column_text(stmt, 1);
		token.created_by = (const char *)sqlite3_column_text(stmt, 2);
		token.created_at = sqlite3_column_int64(stmt, 3);
		token.revoked_by = (const char *)sqlite3_column_text(stmt, 4);
		token.revoked_at = sqlite3_column_int64(stmt, 5);
		if (fn(arg, &token) != 0) {
			rc = SQLITE_ABORT;	/* the caller failed */
			break;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0 && rc != SQLITE_ABORT)
		store_log_failure(store, "token list");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_event_foreach(struct store *store, const struct store_event_filter *f,
    int (*fn)(void *arg, const struct store_event *ev), void *arg)
{
	sqlite3_stmt *stmt = NULL;
	struct store_event ev;
	int ret = -1, rc = SQLITE_ERROR;

	pthread_mutex_lock(&store->lock);
	/* The newest limit events that match, oldest first. Queued proxy
	 * events reach the table up to a second late, so ids are not in
	 * time order. */
	if (sqlite3_prepare_v2(store->db,
	    "SELECT * FROM (SELECT id, at, kind, client, url, expected, "
	    "observed, size, status, identity, content_type, redirects, detail "
	    "FROM events WHERE at >= ?1 AND (?2 IS NULL OR kind = ?2) "
	    "AND (?3 IS NULL OR substr(url, 1, length(?3)) = ?3) "
	    "ORDER BY at DESC, id DESC LIMIT ?4) ORDER BY at, id", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(stmt, 1, f->since);
	bind_text_or_null(stmt, 2, f->kind);
	bind_text_or_null(stmt, 3, f->url_prefix);
	sqlite3_bind_int64(stmt, 4, f->limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		ev.id = sqlite3_column_int64(stmt, 0);
		ev.at = sqlite3_column_int64(stmt, 1);
		ev.kind = (const char *)sqlite3_column_text(stmt, 2);
		ev.client = (const char *)sqlite3_column_text(stmt, 3);
		ev.url = (const char *)sqlite3_column_text(stmt, 4);
		ev.expected = (const char *)sqlite3_column_text(stmt, 5);
		ev.observed = (const char *)sqlite3_column_text(stmt, 6);
		ev.has_size = sqlite3_column_type(stmt, 7) != SQLITE_NULL;
		ev.size = (uint64_t)sqlite3_column_int64(stmt, 7);
		ev.status = (unsigned)sqlite3_column_int(stmt, 8);
		ev.identity = (const char *)sqlite3_column_text(stmt, 9);
		ev.content_type = (const char *)sqlite3_column_text(stmt, 10);
		ev.redirects = (const char *)sqlite3_column_text(stmt, 11);
		ev.detail = (const char *)sqlite3_column_text(stmt, 12);
		if (fn(arg, &ev) != 0) {
			rc = SQLITE_ABORT;	/* the caller failed */
			break;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0 && rc != SQLITE_ABORT)
		store_log_failure(store, "event query");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_event_add_batch(struct store *store, const struct store_event *const *evs,
    size_t n)
{
	size_t i;
	int ret = -1;

	pthread_mutex_lock(&store->lock);
	if (store_begin(store) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (store_event_add_locked(store, evs[i]) != 0) {
			store_exec(store, "ROLLBACK");
			goto out;
		}
	if (store_exec(store, "COMMIT") != 0) {
		store_exec(store, "ROLLBACK");
		goto out;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int64_t
store_event_prune(struct store *store, uint64_t max_events, int64_t before)
{
	sqlite3_stmt *stmt = NULL;
	int64_t removed = -1;

	pthread_mutex_lock(&store->lock);
	/* Events are numbered in order, so the newest max_events have the
	 * highest ids. */
	if (sqlite3_prepare_v2(store->db,
	    "DELETE FROM events WHERE at < ?2 OR "
	    "(?1 > 0 AND id <= (SELECT max(id) FROM events) - ?1)", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)max_events);
	sqlite3_bind_int64(stmt, 2, before);
	if (sqlite3_step(stmt) == SQLITE_DONE)
		removed = sqlite3_changes64(store->db);
out:
	if (removed < 0)
		store_log_failure(store, "event pruning");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return removed;
}

int
store_pending_seen(struct store *store, const char *url, uint64_t max_pending,
    int *fetch)
{
	sqlite3_stmt *stmt = NULL;
	int64_t now = (int64_t)time(NULL);
	int ret = -1, rc;

	*fetch = 0;
	pthread_mutex_lock(&store->lock);
	if (store_begin(store) != 0)
		goto unlock;
	/* A URL not yet in the queue needs room; one that is only counts. */
	if (sqlite3_prepare_v2(store->db,
	    "UPDATE pending SET last_seen = ?2, requests = requests + 1 "
	    "WHERE url = ?1 RETURNING sha256 IS NULL AND "
	    "(fetched_at IS NULL OR fetched_at < ?2 - ?3)", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_int64(stmt, 3, STORE_PENDING_RETRY);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*fetch = sqlite3_column_int(stmt, 0);
		rc = sqlite3_step(stmt);
	} else if (rc == SQLITE_DONE) {
		sqlite3_finalize(stmt);
		stmt = NULL;
		if (sqlite3_prepare_v2(store->db,
		    "INSERT INTO pending (url, first_seen, last_seen, requests) "
		    "SELECT ?1, ?2, ?2, 1 WHERE (SELECT count(*) FROM pending) < ?3",
		    -1, &stmt, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, now);
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)max_pending);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_DONE && sqlite3_changes(store->db) == 0) {
			store_exec(store, "ROLLBACK");
			ret = 1;
			goto unlock;
		}
		*fetch = 1;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (*fetch) {
		/* Claims the fetch, so that concurrent requests start one. */
		if (sqlite3_prepare_v2(store->db,
		    "UPDATE pending SET fetched_at = ?2 WHERE url = ?1", -1, &stmt,
		    NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, now);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto fail;
	}
	if (store_exec(store, "COMMIT") != 0)
		goto fail;
	ret = 0;
	goto unlock;
fail:
	store_log_failure(store, "review queue update");
	store_exec(store, "ROLLBACK");
	*fetch = 0;
unlock:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_pending_result(struct store *store, const char *url, const char *sha256,
    uint64_t size, const char *content_type, const char *error)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "UPDATE pending SET sha256 = ?2, size = ?3, content_type = ?4, "
	    "error = ?5 WHERE url = ?1", -1, &stmt, NULL) == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
		bind_text_or_null(stmt, 2, sha256);
		if (sha256 != NULL)
			sqlite3_bind_int64(stmt, 3, (sqlite3_int64)size);
		bind_text_or_null(stmt, 4, content_type);
		bind_text_or_null(stmt, 5, error);
		if (sqlite3_step(stmt) == SQLITE_DONE)
			ret = 0;
	}
	if (ret < 0)
		store_log_failure(store, "review queue update");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_pending_foreach(struct store *store,
    int (*fn)(void *arg, const struct store_pending *p), void *arg)
{
	sqlite3_stmt *stmt = NULL;
	struct store_pending p;
	int ret = -1, rc = SQLITE_ERROR;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "SELECT url, sha256, size, content_type, error, first_seen, "
	    "last_seen, requests FROM pending ORDER BY url", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		p.url = (const char *)sqlite3_column_text(stmt, 0);
		column_fixed(stmt, 1, p.sha256, DIGEST_HEX_LEN);
		p.size = (uint64_t)sqlite3_column_int64(stmt, 2);
		p.content_type = (const char *)sqlite3_column_text(stmt, 3);
		p.error = (const char *)sqlite3_column_text(stmt, 4);
		p.first_seen = sqlite3_column_int64(stmt, 5);
		p.last_seen = sqlite3_column_int64(stmt, 6);
		p.requests = (uint64_t)sqlite3_column_int64(stmt, 7);
		if (fn(arg, &p) != 0) {
			rc = SQLITE_ABORT;	/* the caller failed */
			break;
		}
	}
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0 && rc != SQLITE_ABORT)
		store_log_failure(store, "review queue list");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_pending_approve(struct store *store, const struct store_pin *pin,
    const char *client, char sha256[DIGEST_HEX_LEN + 1])
{
	char digest[DIGEST_TEXT_MAX], detail[600];
	struct store_event ev = {
		.kind = "pin-added", .client = client, .url = pin->url,
		.expected = digest, .identity = pin->added_by, .detail = detail,
		.at = pin->added_at,
	};
	sqlite3_stmt *stmt = NULL;
	int ret = -1, rc;

	snprintf(detail, sizeof(detail), "approved from the review queue%s%s",
	    pin->note != NULL ? ": " : "", pin->note != NULL ? pin->note : "");
	pthread_mutex_lock(&store->lock);
	if (store_begin(store) != 0)
		goto unlock;
	if (sqlite3_prepare_v2(store->db,
	    "DELETE FROM pending WHERE url = ?1 RETURNING sha256", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, pin->url, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		ret = 1;	/* not in the queue */
		goto rollback;
	}
	if (rc != SQLITE_ROW)
		goto fail;
	column_fixed(stmt, 0, sha256, DIGEST_HEX_LEN);
	if (sha256[0] == '\0') {
		ret = 2;	/* not fetched yet, or the fetch failed */
		goto rollback;
	}
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	stmt = NULL;

	if (sqlite3_prepare_v2(store->db,
	    "INSERT INTO pins (url, sha256, note, added_by, added_at, expires_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (url) DO NOTHING",
	    -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, pin->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, sha256, -1, SQLITE_STATIC);
	bind_text_or_null(stmt, 3, pin->note);
	sqlite3_bind_text(stmt, 4, pin->added_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, pin->added_at);
	if (pin->expires_at != 0)
		sqlite3_bind_int64(stmt, 6, pin->expires_at);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	if (sqlite3_changes(store->db) == 0) {
		ret = 3;	/* pinned meanwhile */
		goto rollback;
	}
	snprintf(digest, sizeof(digest), "sha256:%s", sha256);
	if (store_event_add_locked(store, &ev) != 0 ||
	    store_exec(store, "COMMIT") != 0)
		goto fail;
	ret = 0;
	goto unlock;
fail:
	store_log_failure(store, "review queue approval");
rollback:
	store_exec(store, "ROLLBACK");
unlock:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_pending_reject(struct store *store, const char *url,
    const char *identity, const char *note, const char *client)
{
	struct store_event ev = {
		.kind = "pending-rejected", .client = client, .url = url,
		.identity = identity, .detail = note,
	};
	sqlite3_stmt *stmt = NULL;
	int ret = -1, changed = 0;

	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db, "DELETE FROM pending WHERE url = ?1",
	    -1, &stmt, NULL) != SQLITE_OK) {
		store_log_failure(store, "review queue rejection");
		goto out;
	}
	sqlite3_bind_text(stmt, 1, url, -1, SQLITE_STATIC);
	if (store_change(store, stmt, &ev, &changed) == 0)
		ret = changed > 0 ? 0 : 1;
out:
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int
store_pin_urls_by_sha256(struct store *store, const char *sha256,
    size_t max, char ***urls, size_t *n)
{
	sqlite3_stmt *stmt = NULL;
	char **list;
	int ret = -1, rc;

	*n = 0;
	*urls = list = calloc(max, sizeof(*list));
	if (list == NULL) {
		log_error("database %s: out of memory", store->path);
		return -1;
	}
	pthread_mutex_lock(&store->lock);
	if (sqlite3_prepare_v2(store->db,
	    "SELECT url FROM pins WHERE sha256 = ?1 AND (expires_at IS NULL "
	    "OR expires_at > ?2) ORDER BY added_at, url LIMIT ?3", -1, &stmt,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(stmt, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)max);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((list[*n] = column_strdup(stmt, 0)) != NULL)
			(*n)++;
	if (rc == SQLITE_DONE)
		ret = 0;
out:
	if (ret < 0)
		store_log_failure(store, "pin lookup by digest");
	sqlite3_finalize(stmt);
	pthread_mutex_unlock(&store->lock);
	return ret;
}
