/* store.c - ds01d's state in SQLite: opening and checking the file, the schema
 * and its forward migrations, the cache of prepared statements, and the
 * queries for slots, allocations, containers seen, events, queue entries,
 * reservations and usage samples.
 *
 * Opening: the file is created 0600 when absent, opened in SQLite's
 * multi-thread mode (one connection per thread; ds01d uses its one under its
 * state lock), checked with `PRAGMA quick_check`, switched to WAL with
 * synchronous=NORMAL, foreign keys on, a 5 s busy timeout and a page cache of
 * STORE_CACHE_KIB, then migrated forward one transaction per schema version.
 * A damaged file is refused with -EBADMSG and a line that names the rebuild
 * path; a file from a newer ds01 with -EPROTO.
 *
 * Statements are prepared once (SQLITE_PREPARE_PERSISTENT) and kept in
 * struct store; the queries whose filters vary keep one statement per
 * combination of filters, so that every value is a bound parameter and the
 * planner still sees plain `column = ?` terms it can use indexes for. Each use
 * resets the statement and clears its bindings on the way out (stmt_donep),
 * which also ends the read transaction a SELECT holds.
 *
 * Text is bound SQLITE_STATIC: every value bound lives in the caller's memory
 * for the whole call, and the bindings are cleared before the call returns.
 * Text read back is copied into the fixed arrays of the structs of store.h,
 * cut at a UTF-8 character boundary when it does not fit. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

#define BUSY_TIMEOUT_MS 5000
/* Most rows one list call returns (-E2BIG beyond): bounds the memory a query
 * can take whatever the database holds. */
#define LIST_MAX 1000000
/* Largest event details accepted (-E2BIG beyond). */
#define DETAILS_MAX (1024 * 1024)
/* PRAGMA application_id of a ds01 state database: "ds01" in ASCII. */
#define APPLICATION_ID 0x64733031
#define ERRMSG_MAX     256

/* ---- schema ---- */

/* The version table lives outside the migrations: one row per migration
 * applied, the current version is the largest. */
static const char schema_version_ddl[] = "CREATE TABLE IF NOT EXISTS schema_version (\n"
                                         "        version INTEGER PRIMARY KEY NOT NULL,\n"
                                         "        applied INTEGER NOT NULL\n"
                                         ") STRICT";

/* migrations[i] takes a database from version i to version i + 1, in one
 * transaction with the row that records it. Append, never edit: a file out
 * there is at any of these versions. A migration that must rebuild a table
 * runs with foreign keys on (the pragma cannot change inside a transaction):
 * create the new table, copy, drop, rename, in that order. */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "PRAGMA application_id = 1685270577;\n" /* APPLICATION_ID */
    "CREATE TABLE slots (\n"
    "        name TEXT PRIMARY KEY NOT NULL,\n"
    "        uuid TEXT NOT NULL DEFAULT '',\n"
    "        gpu INTEGER NOT NULL,\n"
    "        mig INTEGER NOT NULL,\n"
    "        weight REAL NOT NULL,\n"
    "        profile TEXT NOT NULL DEFAULT '',\n"
    "        present INTEGER NOT NULL CHECK (present IN (0, 1)),\n"
    "        updated INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE allocations (\n"
    "        id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "        slot TEXT NOT NULL REFERENCES slots (name),\n"
    "        container TEXT NOT NULL,\n"
    "        container_id TEXT NOT NULL DEFAULT '',\n"
    "        user TEXT NOT NULL,\n"
    "        weight REAL NOT NULL,\n"
    "        state TEXT NOT NULL\n"
    "                CHECK (state IN ('pending', 'active', 'held', 'released')),\n"
    "        interface TEXT NOT NULL DEFAULT '',\n"
    "        created INTEGER NOT NULL,\n"
    "        updated INTEGER NOT NULL,\n"
    "        expires INTEGER NOT NULL DEFAULT 0,\n"
    "        reason TEXT NOT NULL DEFAULT ''\n"
    ") STRICT;\n"
    /* The invariant: no slot is allocated twice. */
    "CREATE UNIQUE INDEX allocations_slot_in_force ON allocations (slot)\n"
    "        WHERE state <> 'released';\n"
    "CREATE INDEX allocations_user ON allocations (user);\n"
    "CREATE INDEX allocations_container ON allocations (container);\n"
    "CREATE INDEX allocations_container_id ON allocations (container_id);\n"
    "CREATE INDEX allocations_state ON allocations (state);\n"
    "CREATE INDEX allocations_updated ON allocations (updated);\n"
    "CREATE TABLE containers (\n"
    "        id TEXT PRIMARY KEY NOT NULL,\n"
    "        name TEXT NOT NULL,\n"
    "        user TEXT NOT NULL DEFAULT '',\n"
    "        type TEXT NOT NULL DEFAULT '',\n"
    "        state TEXT NOT NULL DEFAULT '',\n"
    "        first_seen INTEGER NOT NULL,\n"
    "        last_seen INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX containers_user ON containers (user);\n"
    "CREATE INDEX containers_name ON containers (name);\n"
    "CREATE TABLE events (\n"
    "        id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "        time INTEGER NOT NULL,\n"
    "        type TEXT NOT NULL,\n"
    "        user TEXT NOT NULL DEFAULT '',\n"
    "        source TEXT NOT NULL DEFAULT '',\n"
    "        container TEXT NOT NULL DEFAULT '',\n"
    "        details TEXT\n"
    ") STRICT;\n"
    "CREATE INDEX events_time ON events (time);\n"
    "CREATE INDEX events_type ON events (type);\n"
    "CREATE INDEX events_user ON events (user);\n"
    "CREATE INDEX events_container ON events (container);\n"
    "CREATE TABLE queue (\n"
    "        id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "        user TEXT NOT NULL,\n"
    "        container TEXT NOT NULL DEFAULT '',\n"
    "        count INTEGER NOT NULL CHECK (count >= -1),\n"
    "        full_gpu INTEGER NOT NULL CHECK (full_gpu IN (0, 1)),\n"
    "        priority INTEGER NOT NULL DEFAULT 0,\n"
    "        arrival INTEGER NOT NULL,\n"
    "        deadline INTEGER NOT NULL DEFAULT 0,\n"
    "        state TEXT NOT NULL\n"
    "                CHECK (state IN ('waiting', 'granted', 'left', 'expired')),\n"
    "        updated INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX queue_state ON queue (state);\n"
    "CREATE INDEX queue_user ON queue (user);\n"
    "CREATE TABLE reservations (\n"
    "        id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "        user TEXT NOT NULL DEFAULT '',\n"
    "        grp TEXT NOT NULL DEFAULT '',\n"
    "        slots TEXT NOT NULL DEFAULT '',\n"
    "        start_s INTEGER NOT NULL,\n"
    "        end_s INTEGER NOT NULL,\n"
    "        reason TEXT NOT NULL DEFAULT '',\n"
    "        source TEXT NOT NULL,\n"
    "        created INTEGER NOT NULL,\n"
    "        CHECK (end_s > start_s)\n"
    ") STRICT;\n"
    "CREATE INDEX reservations_end ON reservations (end_s);\n"
    "CREATE INDEX reservations_source ON reservations (source);\n"
    "CREATE TABLE usage (\n"
    "        id INTEGER PRIMARY KEY,\n"
    "        user TEXT NOT NULL,\n"
    "        slot TEXT NOT NULL,\n"
    "        time INTEGER NOT NULL,\n"
    "        gpu_seconds REAL NOT NULL,\n"
    "        used_seconds REAL NOT NULL\n"
    ") STRICT;\n"
    "CREATE INDEX usage_user_time ON usage (user, time);\n"
    "CREATE INDEX usage_time ON usage (time);\n",
    /* 2: the lifecycle loop (containers' start/stop times, pid and scope;
     * per-container decision state), bare-metal grants, quota alerts. */
    "ALTER TABLE containers ADD COLUMN interface TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE containers ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE containers ADD COLUMN created_s INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE containers ADD COLUMN started_s INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE containers ADD COLUMN finished_s INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE containers ADD COLUMN gpu INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE containers ADD COLUMN exempt TEXT NOT NULL DEFAULT '';\n"
    "CREATE INDEX containers_state ON containers (state);\n"
    "CREATE TABLE lifecycle (\n"
    "        container TEXT PRIMARY KEY NOT NULL,\n"
    "        started INTEGER NOT NULL DEFAULT 0,\n"
    "        last_check INTEGER NOT NULL DEFAULT 0,\n"
    "        idle_since INTEGER NOT NULL DEFAULT 0,\n"
    "        streak INTEGER NOT NULL DEFAULT 0,\n"
    "        warned INTEGER NOT NULL DEFAULT 0,\n"
    "        sent_idle80 INTEGER NOT NULL DEFAULT 0,\n"
    "        sent_idle95 INTEGER NOT NULL DEFAULT 0,\n"
    "        sent_runtime75 INTEGER NOT NULL DEFAULT 0,\n"
    "        sent_runtime90 INTEGER NOT NULL DEFAULT 0,\n"
    "        cpu_ns INTEGER NOT NULL DEFAULT 0,\n"
    "        net_bytes INTEGER NOT NULL DEFAULT 0,\n"
    "        counters_at INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"
    "CREATE TABLE access_grants (\n"
    "        user TEXT PRIMARY KEY NOT NULL,\n"
    "        granted_by TEXT NOT NULL DEFAULT '',\n"
    "        reason TEXT NOT NULL DEFAULT '',\n"
    "        granted_at INTEGER NOT NULL,\n"
    "        expires_s INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n"
    "CREATE TABLE alerts (\n"
    "        user TEXT NOT NULL,\n"
    "        resource TEXT NOT NULL,\n"
    "        level TEXT NOT NULL,\n"
    "        used REAL NOT NULL DEFAULT 0,\n"
    "        lim REAL NOT NULL DEFAULT 0,\n"
    "        since INTEGER NOT NULL,\n"
    "        notified INTEGER NOT NULL DEFAULT 0,\n"
    "        PRIMARY KEY (user, resource)\n"
    ") STRICT;\n",
    /* 3: who asked for an allocation: "proxy" rows not bound to a container
     * when ds01d starts were for a create it died in the middle of. */
    "ALTER TABLE allocations ADD COLUMN origin TEXT NOT NULL DEFAULT '';\n",
};

_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "one migration per schema version");

/* ---- statements ---- */

#define ALLOC_COLUMNS                                                                              \
        "id, slot, container, container_id, user, weight, state, interface, created, updated, "    \
        "expires, reason, origin"
#define CONTAINER_COLUMNS                                                                          \
        "id, name, user, type, state, first_seen, last_seen, interface, pid, created_s, "          \
        "started_s, finished_s, gpu, exempt"
#define LC_COLUMNS                                                                                 \
        "container, started, last_check, idle_since, streak, warned, sent_idle80, sent_idle95, "   \
        "sent_runtime75, sent_runtime90, cpu_ns, net_bytes, counters_at"
#define GRANT_COLUMNS "user, granted_by, reason, granted_at, expires_s"
#define ALERT_COLUMNS "user, resource, level, used, lim, since, notified"
#define QUEUE_COLUMNS                                                                              \
        "id, user, container, count, full_gpu, priority, arrival, deadline, state, updated"
#define RESERVATION_COLUMNS "id, user, grp, slots, start_s, end_s, reason, source, created"
#define USAGE_COLUMNS       "user, slot, time, gpu_seconds, used_seconds"

enum stmt_id {
        STMT_SCHEMA_VERSION,
        STMT_SLOT_UPSERT,
        STMT_SLOT_PRESENT,
        STMT_SLOT_ABSENT,
        STMT_SLOT_LIST,
        STMT_ALLOC_INSERT,
        STMT_ALLOC_UPDATE,
        STMT_ALLOC_SET_CONTAINER_ID,
        STMT_ALLOC_BIND,
        STMT_CONTAINER_UPSERT,
        STMT_CONTAINER_LIST,
        STMT_CONTAINER_LIST_USER,
        STMT_CONTAINER_LIST_LIVE,
        STMT_LC_LIST,
        STMT_LC_PUT,
        STMT_LC_DELETE,
        STMT_GRANT_PUT,
        STMT_GRANT_DELETE,
        STMT_GRANT_LIST,
        STMT_ALERT_PUT,
        STMT_ALERT_DELETE,
        STMT_ALERT_LIST,
        STMT_EVENT_INSERT,
        STMT_QUEUE_INSERT,
        STMT_QUEUE_UPDATE,
        STMT_QUEUE_GET,
        STMT_QUEUE_LIST,
        STMT_QUEUE_LIST_USER,
        STMT_QUEUE_LIST_WAITING,
        STMT_QUEUE_LIST_USER_WAITING,
        STMT_RESERVATION_INSERT,
        STMT_RESERVATION_DELETE,
        STMT_RESERVATION_DELETE_SOURCE,
        STMT_RESERVATION_LIST,
        STMT_USAGE_ADD,
        STMT_USAGE_LIST,
        STMT_USAGE_LIST_USER,
        _STMT_MAX,
};

static const char *const stmt_sql[_STMT_MAX] = {
    [STMT_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_version",
    [STMT_SLOT_UPSERT] =
        "INSERT INTO slots (name, uuid, gpu, mig, weight, profile, present, updated) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) "
        "ON CONFLICT (name) DO UPDATE SET uuid = excluded.uuid, gpu = excluded.gpu, "
        "mig = excluded.mig, weight = excluded.weight, profile = excluded.profile, "
        "present = 1, updated = excluded.updated "
        "WHERE uuid IS NOT excluded.uuid OR gpu IS NOT excluded.gpu "
        "OR mig IS NOT excluded.mig OR weight IS NOT excluded.weight "
        "OR profile IS NOT excluded.profile OR present IS NOT 1",
    [STMT_SLOT_PRESENT] = "SELECT name FROM slots WHERE present = 1",
    [STMT_SLOT_ABSENT] =
        "UPDATE slots SET present = 0, updated = ?2 WHERE name = ?1 AND present = 1",
    [STMT_SLOT_LIST] = "SELECT name, uuid, gpu, mig, weight, profile, present FROM slots "
                       "ORDER BY gpu, mig, name",
    [STMT_ALLOC_INSERT] =
        "INSERT INTO allocations (slot, container, container_id, user, weight, state, "
        "interface, created, updated, expires, reason, origin) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11)",
    [STMT_ALLOC_UPDATE] = "UPDATE allocations SET state = ?2, expires = ?3, "
                          "reason = COALESCE(?4, reason), updated = ?5 WHERE id = ?1",
    [STMT_ALLOC_SET_CONTAINER_ID] =
        "UPDATE allocations SET container_id = ?2, updated = ?3 "
        "WHERE container = ?1 AND state <> 'released' AND container_id IS NOT ?2",
    [STMT_ALLOC_BIND] = "UPDATE allocations SET container = ?2, container_id = ?3, updated = ?4 "
                        "WHERE container = ?1 AND state <> 'released'",
    [STMT_CONTAINER_UPSERT] =
        "INSERT INTO containers (" CONTAINER_COLUMNS ") "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
        "ON CONFLICT (id) DO UPDATE SET "
        "name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END, "
        "user = CASE WHEN excluded.user <> '' THEN excluded.user ELSE user END, "
        "type = CASE WHEN excluded.type <> '' THEN excluded.type ELSE type END, "
        "state = CASE WHEN excluded.state <> '' THEN excluded.state ELSE state END, "
        "last_seen = MAX(last_seen, excluded.last_seen), "
        /* what Docker said last; a removal (no inspect) keeps what was known */
        "interface = CASE WHEN excluded.state = 'removed' THEN interface "
        "ELSE excluded.interface END, "
        "pid = excluded.pid, "
        "created_s = CASE WHEN excluded.created_s <> 0 THEN excluded.created_s "
        "ELSE created_s END, "
        "started_s = CASE WHEN excluded.state = 'removed' THEN started_s "
        "ELSE excluded.started_s END, "
        "finished_s = CASE WHEN excluded.state = 'removed' THEN finished_s "
        "ELSE excluded.finished_s END, "
        "gpu = CASE WHEN excluded.state = 'removed' THEN gpu ELSE excluded.gpu END, "
        "exempt = CASE WHEN excluded.state = 'removed' THEN exempt ELSE excluded.exempt END",
    [STMT_CONTAINER_LIST] = "SELECT " CONTAINER_COLUMNS " FROM containers ORDER BY first_seen, id",
    [STMT_CONTAINER_LIST_USER] = "SELECT " CONTAINER_COLUMNS " FROM containers "
                                 "WHERE user = ?1 ORDER BY first_seen, id",
    [STMT_CONTAINER_LIST_LIVE] = "SELECT " CONTAINER_COLUMNS " FROM containers "
                                 "WHERE state <> 'removed' ORDER BY first_seen, id",
    [STMT_LC_LIST] = "SELECT " LC_COLUMNS " FROM lifecycle ORDER BY container",
    [STMT_LC_PUT] = "INSERT OR REPLACE INTO lifecycle (" LC_COLUMNS ") "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [STMT_LC_DELETE] = "DELETE FROM lifecycle WHERE container = ?1",
    [STMT_GRANT_PUT] = "INSERT OR REPLACE INTO access_grants (" GRANT_COLUMNS ") "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_GRANT_DELETE] = "DELETE FROM access_grants WHERE user = ?1",
    [STMT_GRANT_LIST] = "SELECT " GRANT_COLUMNS " FROM access_grants ORDER BY user",
    [STMT_ALERT_PUT] = "INSERT OR REPLACE INTO alerts (" ALERT_COLUMNS ") "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_ALERT_DELETE] = "DELETE FROM alerts WHERE user = ?1 AND resource = ?2",
    [STMT_ALERT_LIST] = "SELECT " ALERT_COLUMNS " FROM alerts ORDER BY user, resource",
    [STMT_EVENT_INSERT] = "INSERT INTO events (time, type, user, source, container, details) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_QUEUE_INSERT] = "INSERT INTO queue (user, container, count, full_gpu, priority, arrival, "
                          "deadline, state, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [STMT_QUEUE_UPDATE] = "UPDATE queue SET state = ?2, updated = ?3 WHERE id = ?1",
    [STMT_QUEUE_GET] = "SELECT " QUEUE_COLUMNS " FROM queue WHERE id = ?1",
    [STMT_QUEUE_LIST] = "SELECT " QUEUE_COLUMNS " FROM queue ORDER BY id",
    [STMT_QUEUE_LIST_USER] = "SELECT " QUEUE_COLUMNS " FROM queue WHERE user = ?1 "
                             "ORDER BY id",
    [STMT_QUEUE_LIST_WAITING] = "SELECT " QUEUE_COLUMNS " FROM queue "
                                "WHERE state = 'waiting' ORDER BY id",
    [STMT_QUEUE_LIST_USER_WAITING] = "SELECT " QUEUE_COLUMNS " FROM queue "
                                     "WHERE user = ?1 AND state = 'waiting' ORDER BY id",
    [STMT_RESERVATION_INSERT] = "INSERT INTO reservations (user, grp, slots, start_s, end_s, "
                                "reason, source, created) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STMT_RESERVATION_DELETE] = "DELETE FROM reservations WHERE id = ?1",
    [STMT_RESERVATION_DELETE_SOURCE] = "DELETE FROM reservations WHERE source = ?1",
    [STMT_RESERVATION_LIST] = "SELECT " RESERVATION_COLUMNS " FROM reservations "
                              "WHERE ?1 = 0 OR end_s > ?1 ORDER BY start_s, id",
    [STMT_USAGE_ADD] = "INSERT INTO usage (" USAGE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_USAGE_LIST] = "SELECT " USAGE_COLUMNS " FROM usage WHERE time >= ?1 "
                        "ORDER BY time, id",
    [STMT_USAGE_LIST_USER] = "SELECT " USAGE_COLUMNS " FROM usage "
                             "WHERE user = ?2 AND time >= ?1 ORDER BY time, id",
};

/* Filters of store_alloc_list: one cached statement per combination. */
enum {
        ALLOC_F_USER = 1 << 0,
        ALLOC_F_CONTAINER = 1 << 1,
        ALLOC_F_IN_FORCE = 1 << 2,
        ALLOC_F_SINCE = 1 << 3,
        _ALLOC_F_ALL = (1 << 4) - 1,
};

/* Filters of store_event_query. */
enum {
        EVENT_F_USER = 1 << 0,
        EVENT_F_TYPE_LO = 1 << 1,
        EVENT_F_TYPE_HI = 1 << 2,
        EVENT_F_CONTAINER = 1 << 3,
        EVENT_F_SINCE = 1 << 4,
        EVENT_F_UNTIL = 1 << 5,
        EVENT_F_AFTER = 1 << 6,
        _EVENT_F_ALL = (1 << 7) - 1,
};

struct store {
        sqlite3 *db;
        sqlite3_stmt *stmts[_STMT_MAX];
        sqlite3_stmt *alloc_list[_ALLOC_F_ALL + 1];
        sqlite3_stmt *event_query[_EVENT_F_ALL + 1];
        char errmsg[ERRMSG_MAX];
};

/* ---- errors ---- */

static int errno_from_sqlite(int rc)
{
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                return -ENOENT;
        case SQLITE_IOERR_NOMEM:
                return -ENOMEM;
        }
        switch (rc & 0xff) {
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

/* Keeps the connection's message (statements run afterwards, a ROLLBACK say,
 * would replace it) and maps rc to -errno. */
static int sql_error(struct store *s, int rc)
{
        (void)strscpy(s->errmsg, sizeof(s->errmsg), sqlite3_errmsg(s->db));
        return errno_from_sqlite(rc);
}

/* An error of our own (bad argument, no such row): r with a message. */
_printf_(3, 4) static int set_error(struct store *s, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
        va_end(ap);
        return r;
}

const char *store_errmsg(const struct store *s)
{
        if (!s)
                return "no state database";
        return s->errmsg;
}

/* ---- statements: cache, bind, read ---- */

static int prepare_cached(struct store *s, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **ret)
{
        int rc;

        if (!*slot) {
                rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
                if (rc != SQLITE_OK) {
                        *slot = NULL;
                        return sql_error(s, rc);
                }
        }
        *ret = *slot;
        return 0;
}

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **ret)
{
        assert(id >= 0 && id < _STMT_MAX);
        return prepare_cached(s, &s->stmts[id], stmt_sql[id], ret);
}

/* For a cached statement: ready for the next use, bound memory released. */
static void stmt_donep(sqlite3_stmt **st)
{
        if (*st) {
                (void)sqlite3_reset(*st);
                (void)sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_stmt_ _cleanup_(stmt_donep)

static void stmt_finalizep(sqlite3_stmt **st)
{
        (void)sqlite3_finalize(*st);
}

/* Bindings with a sticky result: bind everything, check once. */
struct binder {
        sqlite3_stmt *st;
        int rc;
};

static void bind_textn(struct binder *b, int i, const char *t, size_t n)
{
        if (b->rc != SQLITE_OK)
                return;
        if (n > INT_MAX) {
                b->rc = SQLITE_TOOBIG;
                return;
        }
        b->rc = sqlite3_bind_text(b->st, i, t, (int)n, SQLITE_STATIC);
}

/* NUL-terminated text, or SQL NULL for NULL. */
static void bind_text(struct binder *b, int i, const char *t)
{
        if (b->rc != SQLITE_OK)
                return;
        if (!t)
                b->rc = sqlite3_bind_null(b->st, i);
        else
                bind_textn(b, i, t, strlen(t));
}

/* A char array of a caller's struct: never read past its end, even when the
 * caller left it without a NUL. */
#define bind_field(b, i, field) bind_textn((b), (i), (field), strnlen((field), ELEMENTSOF(field)))

static void bind_int64(struct binder *b, int i, int64_t v)
{
        if (b->rc == SQLITE_OK)
                b->rc = sqlite3_bind_int64(b->st, i, v);
}

static void bind_double(struct binder *b, int i, double v)
{
        if (b->rc == SQLITE_OK)
                b->rc = sqlite3_bind_double(b->st, i, v);
}

/* Copies len bytes of src into dst[n] (n > 0), always NUL-terminated; when
 * it does not fit, the cut is moved back to the start of a UTF-8 sequence. */
static void copy_text(char *dst, size_t n, const char *src, size_t len)
{
        if (len >= n) {
                len = n - 1;
                while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
                        len--;
        }
        memcpy(dst, src, len);
        dst[len] = '\0';
}

/* Columns of the current row, left to right, with a sticky error. */
struct row {
        sqlite3_stmt *st;
        int col;
        int r;
};

/* Text of the next column (or NULL for SQL NULL); NULL with r = -ENOMEM
 * when SQLite could not produce it. *ret_len is its length in bytes. */
static const char *row_next_text(struct row *w, size_t *ret_len)
{
        int i = w->col++;
        const unsigned char *t;

        if (w->r < 0)
                return NULL;
        t = sqlite3_column_text(w->st, i);
        if (!t) {
                if (sqlite3_column_type(w->st, i) != SQLITE_NULL)
                        w->r = -ENOMEM;
                return NULL;
        }
        *ret_len = (size_t)sqlite3_column_bytes(w->st, i);
        return (const char *)t;
}

static void row_text(struct row *w, char *dst, size_t n)
{
        size_t len = 0;
        const char *t = row_next_text(w, &len);

        copy_text(dst, n, t ? t : "", t ? len : 0);
}
#define row_field(w, field) row_text((w), (field), ELEMENTSOF(field))

/* A malloc'd copy of the next column, NULL for SQL NULL. */
static char *row_strdup(struct row *w)
{
        size_t len = 0;
        const char *t = row_next_text(w, &len);
        char *p;

        if (!t)
                return NULL;
        p = strndup(t, len);
        if (!p)
                w->r = -ENOMEM;
        return p;
}

static int64_t row_int64(struct row *w)
{
        return sqlite3_column_int64(w->st, w->col++);
}

static double row_double(struct row *w)
{
        return sqlite3_column_double(w->st, w->col++);
}

/* Steps st to the end, reading each row into a new element of a malloc'd
 * array (zeroed first) with read_row. On failure read_row leaves nothing
 * allocated in its element; release (may be NULL) frees what the complete
 * elements own. At most LIST_MAX rows. */
static int fetch_rows(struct store *s, sqlite3_stmt *st, size_t size,
                      int (*read_row)(sqlite3_stmt *st, void *elem),
                      void (*release)(void *elems, size_t n), void **ret, size_t *ret_n)
{
        char *arr = NULL;
        size_t n = 0, cap = 0;
        int rc, r;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n >= LIST_MAX) {
                        r = set_error(s, -E2BIG, "more than %d rows", LIST_MAX);
                        goto fail;
                }
                if (n == cap) {
                        size_t ncap = MIN(cap ? cap * 2 : 16, (size_t)LIST_MAX);
                        char *p = reallocarray(arr, ncap, size);

                        if (!p) {
                                r = set_error(s, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        arr = p;
                        cap = ncap;
                }
                memset(arr + n * size, 0, size);
                r = read_row(st, arr + n * size);
                if (r < 0) {
                        r = set_error(s, r, "cannot read a row: %s", strerror(-r));
                        goto fail;
                }
                n++;
        }
        if (rc != SQLITE_DONE) {
                r = sql_error(s, rc);
                goto fail;
        }
        if (n == 0)
                arr = mfree(arr);
        *ret = arr;
        *ret_n = n;
        return 0;
fail:
        if (release)
                release(arr, n);
        free(arr);
        return r;
}

/* Every row of a statement without parameters into a malloc'd array
 * (fetch_rows). */
static int list_all(struct store *s, enum stmt_id id, size_t size,
                    int (*read_row)(sqlite3_stmt *st, void *elem), void **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        return fetch_rows(s, st, size, read_row, NULL, ret, ret_n);
}

/* Runs a statement that returns no rows. */
static int step_done(struct store *s, sqlite3_stmt *st)
{
        int rc = sqlite3_step(st);

        if (rc != SQLITE_DONE)
                return sql_error(s, rc);
        return 0;
}

static int exec(struct store *s, const char *sql)
{
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK)
                return sql_error(s, rc);
        return 0;
}

/* For undoing after an error: the message of the error is kept. */
static void exec_quiet(struct store *s, const char *sql)
{
        (void)sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* A limit as bound to LIMIT: n when positive and below LIST_MAX, else one
 * more than LIST_MAX so that fetch_rows can tell "too many". */
static int64_t limit_value(long limit)
{
        if (limit <= 0 || limit > LIST_MAX)
                return (int64_t)LIST_MAX + 1;
        return limit;
}

static bool valid_weight(double w)
{
        return isfinite(w) && w >= 0;
}

/* ---- transactions ---- */

int store_begin(struct store *s)
{
        return exec(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s)
{
        return exec(s, "COMMIT");
}

int store_rollback(struct store *s)
{
        /* SQLite rolls back by itself after some errors (out of memory, I/O,
         * disk full); the caller's rollback then has nothing left to do. */
        if (sqlite3_get_autocommit(s->db))
                return 0;
        return exec(s, "ROLLBACK");
}

/* A unit of work of our own that is atomic inside or outside the caller's
 * transaction: BEGIN IMMEDIATE when there is none (the write lock at once, so
 * no read-then-write upgrade can fail), else a savepoint. */
static int sub_begin(struct store *s, bool *ret_own)
{
        bool own = sqlite3_get_autocommit(s->db);
        int r = exec(s, own ? "BEGIN IMMEDIATE" : "SAVEPOINT store_sub");

        if (r < 0)
                return r;
        *ret_own = own;
        return 0;
}

/* Ends what sub_begin started: kept when r >= 0, undone else. Returns r, or
 * the error of the commit. */
static int sub_end(struct store *s, bool own, int r)
{
        int q;

        if (r >= 0) {
                q = exec(s, own ? "COMMIT" : "RELEASE store_sub");
                if (q >= 0)
                        return r;
                r = q;
        }
        if (own) {
                if (!sqlite3_get_autocommit(s->db))
                        exec_quiet(s, "ROLLBACK");
        } else {
                exec_quiet(s, "ROLLBACK TO store_sub");
                exec_quiet(s, "RELEASE store_sub");
        }
        return r;
}

/* ---- open, check, migrate ---- */

static int64_t now_usec(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Creates the file 0600 when absent (SQLite would use 0644 less the umask;
 * the WAL and shm files it makes later copy the mode of this one) and makes
 * its directory entry durable. A WAL left beside a file that was deleted is
 * not replayed into the new empty one: SQLite drops a WAL whose database has
 * no pages. Returns 1 when it created the file, 0 when it was there. */
static int create_file(const char *path)
{
        _cleanup_free_ char *dir = NULL;
        char *slash;
        int fd, r = 1;

        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno;
        if (fsync(fd) < 0)
                r = -errno;
        (void)close(fd);
        if (r < 0)
                return r;

        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                (void)strscpy(dir, strlen(dir) + 1, ".");
        else if (slash == dir)
                slash[1] = '\0';
        else
                slash[0] = '\0';
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_free_ frees it
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        (void)close(fd);
        return r;
}

/* Control characters of a message (quick_check answers span lines) become
 * spaces, so that the message stays one line. */
static void one_line(char *msg)
{
        for (char *p = msg; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
}

/* Runs a pragma that answers one value; its text goes to ret (may be NULL). */
static int pragma(struct store *s, const char *sql, char *ret, size_t n)
{
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        const unsigned char *t;
        int rc;

        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(s, rc);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return sql_error(s, rc);
        if (ret) {
                t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
                (void)strscpy(ret, n, t ? (const char *)t : "");
        }
        return 0;
}

/* -EBADMSG with "quick_check: <first problem>" in errmsg when the file is
 * damaged; SQLite's own errors (not a database, malformed) as they come. */
static int check_integrity(struct store *s)
{
        char answer[ERRMSG_MAX] = "", *first, *nl;
        bool more;
        int r;

        r = pragma(s, "PRAGMA quick_check", answer, sizeof(answer));
        if (r < 0)
                return r;
        if (streq(answer, "ok"))
                return 0;
        /* "*** in database main ***\n<problem>\n<problem>...": the first
         * problem is enough for the message. */
        first = answer;
        if (startswith(first, "*** ")) {
                nl = strchr(first, '\n');
                first = nl ? nl + 1 : first;
        }
        nl = strchr(first, '\n');
        more = nl && nl[1];
        if (nl)
                *nl = '\0';
        one_line(first);
        return set_error(s, -EBADMSG, "quick_check: %s%s", first[0] ? first : "no answer",
                         more ? " ..." : "");
}

static int check_application_id(struct store *s)
{
        char answer[32];
        long long id = 0;
        int r;

        r = pragma(s, "PRAGMA application_id", answer, sizeof(answer));
        if (r < 0)
                return r;
        if (safe_atoi64(answer, &id) < 0)
                return set_error(s, -EIO, "PRAGMA application_id answered '%s'", answer);
        if (id != 0 && id != APPLICATION_ID)
                return set_error(s, -EBADMSG, "application_id %#llx is not ds01's", id);
        return 0;
}

/* WAL: readers never wait for the writer, a commit is one append.
 * synchronous=NORMAL: with WAL a COMMIT is written to the log before it
 * returns but fsynced only at checkpoints, so an acknowledged decision
 * survives a crash or kill -9 of ds01d (tested), not a power loss or a kernel
 * crash. That is the right trade here: a power loss also ends every container,
 * and reconcile rebuilds allocations from the containers' labels, while FULL
 * (an fsync per COMMIT) made a decision 15x slower (3.4 ms against 0.2 ms
 * median on this machine: bench/alloc.sh). */
static int configure(struct store *s)
{
        char answer[32], sql[64];
        int r;

        r = pragma(s, "PRAGMA journal_mode = WAL", answer, sizeof(answer));
        if (r < 0)
                return r;
        if (!streq(answer, "wal"))
                return set_error(s, -EIO, "cannot use WAL mode here (journal_mode is '%s')",
                                 answer);
        r = pragma(s, "PRAGMA synchronous = NORMAL", NULL, 0);
        if (r < 0)
                return r;
        /* The WAL file is truncated back to this after a checkpoint. */
        r = pragma(s, "PRAGMA journal_size_limit = 67108864", NULL, 0);
        if (r < 0)
                return r;
        /* A bounded page cache (STORE_CACHE_KIB); what quick_check read into
         * the default one is let go here. */
        (void)snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", STORE_CACHE_KIB);
        r = pragma(s, sql, NULL, 0);
        if (r < 0)
                return r;
        r = pragma(s, "PRAGMA foreign_keys = ON", NULL, 0);
        if (r < 0)
                return r;
        r = pragma(s, "PRAGMA foreign_keys", answer, sizeof(answer));
        if (r < 0)
                return r;
        if (!streq(answer, "1"))
                return set_error(s, -EIO, "this SQLite does not enforce foreign keys");
        return 0;
}

static int read_version(struct store *s, int *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int64_t v;
        int rc, r;

        r = stmt_get(s, STMT_SCHEMA_VERSION, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return sql_error(s, rc);
        v = sqlite3_column_int64(st, 0);
        if (v < 0 || v > INT_MAX)
                return set_error(s, -EBADMSG, "schema version %lld is not valid", (long long)v);
        *ret = (int)v;
        return 0;
}

/* Is the version table there, and how many tables are? (A new file has
 * none, and the query that reads the version could not even be prepared.) */
static int inspect_schema(struct store *s, bool *ret_has_version, int64_t *ret_tables)
{
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT COALESCE(SUM(name = 'schema_version'), 0), COUNT(*) "
                                "FROM sqlite_schema WHERE type = 'table'",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(s, rc);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return sql_error(s, rc);
        *ret_has_version = sqlite3_column_int64(st, 0) > 0;
        *ret_tables = sqlite3_column_int64(st, 1);
        return 0;
}

static int record_version(struct store *s, int v)
{
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        struct binder b;
        int rc;

        rc = sqlite3_prepare_v2(
            s->db, "INSERT INTO schema_version (version, applied) VALUES (?1, ?2)", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(s, rc);
        b = (struct binder){.st = st};
        bind_int64(&b, 1, v);
        bind_int64(&b, 2, now_usec());
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        return step_done(s, st);
}

/* Brings the schema to STORE_SCHEMA_VERSION, one transaction per version.
 * -EPROTO (*ret_found set) when the file is at a newer version. A file that
 * is up to date is only read. */
static int migrate(struct store *s, int *ret_found)
{
        int64_t tables = 0;
        bool has = false;
        int v = 0, r;

        r = inspect_schema(s, &has, &tables);
        if (r < 0)
                return r;
        if (!has && tables > 0)
                /* Never scribble our tables into someone else's database. */
                return set_error(s, -EBADMSG,
                                 "%lld tables but no schema_version: not a ds01 "
                                 "state database",
                                 (long long)tables);
        if (has) {
                r = read_version(s, &v);
                if (r < 0)
                        return r;
                if (v == STORE_SCHEMA_VERSION)
                        return 0;
        }

        for (;;) {
                r = exec(s, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                /* Read again under the write lock: another process may have
                 * migrated meanwhile. */
                r = exec(s, schema_version_ddl);
                if (r >= 0)
                        r = read_version(s, &v);
                if (r < 0)
                        goto fail;
                if (v > STORE_SCHEMA_VERSION) {
                        *ret_found = v;
                        r = -EPROTO;
                        goto fail;
                }
                if (v == STORE_SCHEMA_VERSION)
                        return exec(s, "COMMIT");

                r = exec(s, migrations[v]);
                if (r < 0) {
                        (void)set_error(s, r, "migration to schema %d failed: %s", v + 1,
                                        sqlite3_errmsg(s->db));
                        goto fail;
                }
                r = record_version(s, v + 1);
                if (r < 0)
                        goto fail;
                r = exec(s, "COMMIT");
                if (r < 0)
                        goto fail;
        }
fail:
        exec_quiet(s, "ROLLBACK");
        return r;
}

static void finalize_all(sqlite3_stmt **v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                (void)sqlite3_finalize(v[i]);
                v[i] = NULL;
        }
}

struct store *store_close(struct store *s)
{
        if (!s)
                return NULL;
        finalize_all(s->stmts, ELEMENTSOF(s->stmts));
        finalize_all(s->alloc_list, ELEMENTSOF(s->alloc_list));
        finalize_all(s->event_query, ELEMENTSOF(s->event_query));
        if (s->db) {
                /* Keeps the planner's statistics fresh; cheap, and nothing
                 * is lost when it fails. */
                if (sqlite3_get_autocommit(s->db))
                        exec_quiet(s, "PRAGMA optimize");
                (void)sqlite3_close_v2(s->db);
        }
        free(s);
        return NULL;
}

static void store_closep(struct store **s)
{
        store_close(*s);
}

/* The one line for a human when store_open fails with r. */
static void open_message(const struct store *s, const char *path, int r, int found, char *err,
                         size_t err_size)
{
        const char *why = s && s->errmsg[0] ? s->errmsg : strerror(-r);

        if (!err || err_size == 0)
                return;
        switch (r) {
        case -EBADMSG:
                (void)snprintf(err, err_size,
                               "state database %s is damaged (%s); stop ds01d and run 'ds01 "
                               "state rebuild', which keeps the file aside and restores the "
                               "allocations from the containers' labels",
                               path, why);
                break;
        case -EPROTO:
                (void)snprintf(err, err_size,
                               "state database %s was written by a newer ds01 (schema %d, this "
                               "ds01 knows %d)",
                               path, found, STORE_SCHEMA_VERSION);
                break;
        case -EBUSY:
                (void)snprintf(err, err_size,
                               "state database %s is locked by another process (%s); is "
                               "another ds01d running?",
                               path, why);
                break;
        default:
                (void)snprintf(err, err_size, "cannot open state database %s: %s", path, why);
                break;
        }
}

int store_open(const char *path, struct store **ret, char *err, size_t err_size)
{
        _cleanup_(store_closep) struct store *s = NULL;
        int found = 0, rc, r;
        bool created;

        if (isempty(path) || !ret) {
                open_message(NULL, path ? path : "(null)", -EINVAL, 0, err, err_size);
                return -EINVAL;
        }

        r = create_file(path);
        if (r < 0) {
                open_message(NULL, path, r, 0, err, err_size);
                return r;
        }
        created = r > 0;

        s = calloc(1, sizeof(*s));
        if (!s) {
                open_message(NULL, path, -ENOMEM, 0, err, err_size);
                return -ENOMEM;
        }
        /* SQLite takes an empty file for a new database. Ours has a page as
         * soon as it is in WAL mode, so an empty one that was already there
         * lost everything (truncated, or a start that died at once): refused
         * like any damage, not silently started afresh. */
        if (!created) {
                struct stat st;
                if (stat(path, &st) < 0) {
                        r = -errno;
                        (void)set_error(s, r, "cannot stat the file: %s", strerror(-r));
                        goto fail;
                }
                if (st.st_size == 0) {
                        r = set_error(s, -EBADMSG, "an empty file, 0 bytes");
                        goto fail;
                }
        }

        /* NOMUTEX: one connection per thread, serialized by its user. */
        rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                 SQLITE_OPEN_EXRESCODE,
                             NULL);
        if (rc != SQLITE_OK) {
                r = s->db ? sql_error(s, rc) : -ENOMEM;
                goto fail;
        }
        (void)sqlite3_extended_result_codes(s->db, 1);
        (void)sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
        /* No writes to sqlite_schema by SQL, no "double-quoted" strings. */
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);

        /* The check reads before anything writes: a damaged file is left as
         * it was found, for the admin to look at. */
        r = check_integrity(s);
        if (r >= 0)
                r = check_application_id(s);
        if (r >= 0)
                r = configure(s);
        if (r >= 0)
                r = migrate(s, &found);
        if (r < 0)
                goto fail;

        *ret = TAKE_PTR(s);
        return 0;
fail:
        open_message(s, path, r, found, err, err_size);
        return r;
}

int store_schema_version(struct store *s)
{
        int v = 0, r;

        r = read_version(s, &v);
        return r < 0 ? r : v;
}

/* ---- slots ---- */

static int read_slot(sqlite3_stmt *st, void *elem)
{
        struct store_slot *sl = elem;
        struct row w = {.st = st};

        row_field(&w, sl->name);
        row_field(&w, sl->uuid);
        sl->gpu = (unsigned)row_int64(&w);
        sl->mig = (int)row_int64(&w);
        sl->weight = row_double(&w);
        row_field(&w, sl->profile);
        sl->present = row_int64(&w) != 0;
        return w.r;
}

struct slot_name {
        char name[STORE_SLOT_MAX];
};

static int read_slot_name(sqlite3_stmt *st, void *elem)
{
        struct slot_name *sn = elem;
        struct row w = {.st = st};

        row_field(&w, sn->name);
        return w.r;
}

static bool slot_given(const struct store_slot *slots, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strncmp(slots[i].name, name, sizeof(slots[i].name)) == 0)
                        return true;
        return false;
}

static int slots_sync_locked(struct store *s, const struct store_slot *slots, size_t n, int64_t now)
{
        _cleanup_free_ struct slot_name *present = NULL;
        size_t n_present = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                struct binder b;

                r = stmt_get(s, STMT_SLOT_UPSERT, &st);
                if (r < 0)
                        return r;
                b = (struct binder){.st = st};
                bind_field(&b, 1, slots[i].name);
                bind_field(&b, 2, slots[i].uuid);
                bind_int64(&b, 3, slots[i].gpu);
                bind_int64(&b, 4, slots[i].mig);
                bind_double(&b, 5, slots[i].weight);
                bind_field(&b, 6, slots[i].profile);
                bind_int64(&b, 7, now);
                if (b.rc != SQLITE_OK)
                        return sql_error(s, b.rc);
                r = step_done(s, st);
                if (r < 0)
                        return r;
        }

        {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                void *v = NULL;

                r = stmt_get(s, STMT_SLOT_PRESENT, &st);
                if (r < 0)
                        return r;
                r = fetch_rows(s, st, sizeof(*present), read_slot_name, NULL, &v, &n_present);
                if (r < 0)
                        return r;
                present = v;
        }

        for (size_t i = 0; i < n_present; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                struct binder b;

                if (slot_given(slots, n, present[i].name))
                        continue;
                r = stmt_get(s, STMT_SLOT_ABSENT, &st);
                if (r < 0)
                        return r;
                b = (struct binder){.st = st};
                bind_field(&b, 1, present[i].name);
                bind_int64(&b, 2, now);
                if (b.rc != SQLITE_OK)
                        return sql_error(s, b.rc);
                r = step_done(s, st);
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_slots_sync(struct store *s, const struct store_slot *slots, size_t n, int64_t now)
{
        bool own = false;
        int r;

        if (n > 0 && !slots)
                return set_error(s, -EINVAL, "no slots given");
        for (size_t i = 0; i < n; i++) {
                if (slots[i].name[0] == '\0')
                        return set_error(s, -EINVAL, "slot %zu has no name", i);
                if (!valid_weight(slots[i].weight))
                        return set_error(s, -EINVAL, "slot %.*s has weight %g", STORE_SLOT_MAX,
                                         slots[i].name, slots[i].weight);
        }

        r = sub_begin(s, &own);
        if (r < 0)
                return r;
        r = slots_sync_locked(s, slots, n, now);
        return sub_end(s, own, r);
}

int store_slots_list(struct store *s, struct store_slot **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        void *v = NULL;
        size_t n = 0;
        int r;

        r = stmt_get(s, STMT_SLOT_LIST, &st);
        if (r < 0)
                return r;
        r = fetch_rows(s, st, sizeof(**ret), read_slot, NULL, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- allocations ---- */

static const char *const alloc_state_names[] = {
    [STORE_ALLOC_PENDING] = "pending",
    [STORE_ALLOC_ACTIVE] = "active",
    [STORE_ALLOC_HELD] = "held",
    [STORE_ALLOC_RELEASED] = "released",
};

const char *store_alloc_state_name(enum store_alloc_state st)
{
        if ((unsigned)st >= ELEMENTSOF(alloc_state_names))
                return NULL;
        return alloc_state_names[st];
}

int store_alloc_state_from_name(const char *name, enum store_alloc_state *ret)
{
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(alloc_state_names); i++)
                if (streq(alloc_state_names[i], name)) {
                        *ret = (enum store_alloc_state)i;
                        return 0;
                }
        return -EINVAL;
}

static int read_alloc(sqlite3_stmt *st, void *elem)
{
        struct store_alloc *a = elem;
        struct row w = {.st = st};
        char state[STORE_WORD_MAX];

        a->id = row_int64(&w);
        row_field(&w, a->slot);
        row_field(&w, a->container);
        row_field(&w, a->container_id);
        row_field(&w, a->user);
        a->weight = row_double(&w);
        row_field(&w, state);
        row_field(&w, a->interface);
        a->created = row_int64(&w);
        a->updated = row_int64(&w);
        a->expires = row_int64(&w);
        row_field(&w, a->reason);
        row_field(&w, a->origin);
        if (w.r < 0)
                return w.r;
        if (store_alloc_state_from_name(state, &a->state) < 0)
                return -EBADMSG;
        return 0;
}

int store_alloc_insert(struct store *s, struct store_alloc *a, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *state;
        struct binder b;
        int r;

        state = store_alloc_state_name(a->state);
        if (!state)
                return set_error(s, -EINVAL, "allocation state %d is not valid", (int)a->state);
        if (a->slot[0] == '\0' || a->container[0] == '\0' || a->user[0] == '\0')
                return set_error(s, -EINVAL, "an allocation needs a slot, a container and a user");
        if (!valid_weight(a->weight))
                return set_error(s, -EINVAL, "allocation weight %g is not valid", a->weight);

        r = stmt_get(s, STMT_ALLOC_INSERT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, a->slot);
        bind_field(&b, 2, a->container);
        bind_field(&b, 3, a->container_id);
        bind_field(&b, 4, a->user);
        bind_double(&b, 5, a->weight);
        bind_text(&b, 6, state);
        bind_field(&b, 7, a->interface);
        bind_int64(&b, 8, now);
        bind_int64(&b, 9, a->expires);
        bind_field(&b, 10, a->reason);
        bind_field(&b, 11, a->origin);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r == -ENOENT)
                return set_error(s, r, "slot '%.*s' is not in the slots table", STORE_SLOT_MAX,
                                 a->slot);
        if (r == -EEXIST)
                return set_error(s, r, "slot '%.*s' is already allocated", STORE_SLOT_MAX, a->slot);
        if (r < 0)
                return r;

        a->id = sqlite3_last_insert_rowid(s->db);
        a->created = a->updated = now;
        return 0;
}

int store_alloc_update(struct store *s, int64_t id, enum store_alloc_state state, int64_t expires,
                       const char *reason, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *name = store_alloc_state_name(state);
        struct binder b;
        int r;

        if (!name)
                return set_error(s, -EINVAL, "allocation state %d is not valid", (int)state);
        r = stmt_get(s, STMT_ALLOC_UPDATE, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_int64(&b, 1, id);
        bind_text(&b, 2, name);
        bind_int64(&b, 3, expires);
        bind_text(&b, 4, reason);
        bind_int64(&b, 5, now);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r == -EEXIST)
                return set_error(s, r, "the slot of allocation %lld is already allocated",
                                 (long long)id);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return set_error(s, -ENOENT, "no allocation %lld", (long long)id);
        return 0;
}

int store_alloc_set_container_id(struct store *s, const char *container, const char *container_id,
                                 int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (isempty(container) || !container_id)
                return set_error(s, -EINVAL, "no container given");
        r = stmt_get(s, STMT_ALLOC_SET_CONTAINER_ID, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_text(&b, 1, container);
        bind_text(&b, 2, container_id);
        bind_int64(&b, 3, now);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db);
}

int store_alloc_bind(struct store *s, const char *key, const char *name, const char *container_id,
                     int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (isempty(key) || isempty(name) || isempty(container_id))
                return set_error(s, -EINVAL, "no container given");
        r = stmt_get(s, STMT_ALLOC_BIND, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_text(&b, 1, key);
        bind_text(&b, 2, name);
        bind_text(&b, 3, container_id);
        bind_int64(&b, 4, now);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db);
}

static int alloc_list_stmt(struct store *s, unsigned mask, sqlite3_stmt **ret)
{
        _cleanup_free_ char *sql = NULL;

        assert(mask <= _ALLOC_F_ALL);
        if (s->alloc_list[mask]) {
                *ret = s->alloc_list[mask];
                return 0;
        }
        if (asprintf(&sql,
                     "SELECT " ALLOC_COLUMNS " FROM allocations WHERE 1%s%s%s%s "
                     "ORDER BY id LIMIT ?5",
                     mask & ALLOC_F_USER ? " AND user = ?1" : "",
                     mask & ALLOC_F_CONTAINER ? " AND (container = ?2 OR container_id = ?2)" : "",
                     mask & ALLOC_F_IN_FORCE ? " AND state IN ('pending', 'active', 'held')" : "",
                     mask & ALLOC_F_SINCE ? " AND updated >= ?4" : "") < 0)
                return set_error(s, -ENOMEM, "out of memory");
        return prepare_cached(s, &s->alloc_list[mask], sql, ret);
}

int store_alloc_list(struct store *s, const struct store_alloc_filter *f, struct store_alloc **ret,
                     size_t *ret_n)
{
        static const struct store_alloc_filter all = {0};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        unsigned mask = 0;
        struct binder b;
        void *v = NULL;
        size_t n = 0;
        int r;

        if (!f)
                f = &all;
        if (f->container && f->container[0] == '\0') {
                /* no allocation is for "" (and "" is every unknown id) */
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (f->user)
                mask |= ALLOC_F_USER;
        if (f->container)
                mask |= ALLOC_F_CONTAINER;
        if (f->in_force_only)
                mask |= ALLOC_F_IN_FORCE;
        if (f->since != 0)
                mask |= ALLOC_F_SINCE;

        r = alloc_list_stmt(s, mask, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        if (f->user)
                bind_text(&b, 1, f->user);
        if (f->container)
                bind_text(&b, 2, f->container);
        if (f->since != 0)
                bind_int64(&b, 4, f->since);
        bind_int64(&b, 5, limit_value(f->limit));
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = fetch_rows(s, st, sizeof(**ret), read_alloc, NULL, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- containers seen ---- */

static int read_container(sqlite3_stmt *st, void *elem)
{
        struct store_container *c = elem;
        struct row w = {.st = st};

        row_field(&w, c->id);
        row_field(&w, c->name);
        row_field(&w, c->user);
        row_field(&w, c->type);
        row_field(&w, c->state);
        c->first_seen = row_int64(&w);
        c->last_seen = row_int64(&w);
        row_field(&w, c->interface);
        c->pid = row_int64(&w);
        c->created_s = row_int64(&w);
        c->started_s = row_int64(&w);
        c->finished_s = row_int64(&w);
        c->gpu = row_int64(&w) != 0;
        row_field(&w, c->exempt);
        return w.r;
}

int store_container_upsert(struct store *s, const struct store_container *c, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (c->id[0] == '\0')
                return set_error(s, -EINVAL, "a container needs an id");
        r = stmt_get(s, STMT_CONTAINER_UPSERT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, c->id);
        bind_field(&b, 2, c->name);
        bind_field(&b, 3, c->user);
        bind_field(&b, 4, c->type);
        bind_field(&b, 5, c->state);
        bind_int64(&b, 6, c->first_seen > 0 ? c->first_seen : now);
        bind_int64(&b, 7, MAX(c->last_seen, now));
        bind_field(&b, 8, c->interface);
        bind_int64(&b, 9, c->pid);
        bind_int64(&b, 10, c->created_s);
        bind_int64(&b, 11, c->started_s);
        bind_int64(&b, 12, c->finished_s);
        bind_int64(&b, 13, c->gpu ? 1 : 0);
        bind_field(&b, 14, c->exempt);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        return step_done(s, st);
}

int store_container_list_live(struct store *s, struct store_container **ret, size_t *ret_n)
{
        return list_all(s, STMT_CONTAINER_LIST_LIVE, sizeof(**ret), read_container, (void **)ret,
                        ret_n);
}

/* ---- lifecycle state ---- */

static int read_lc(sqlite3_stmt *st, void *elem)
{
        struct store_lc *l = elem;
        struct row w = {.st = st};

        row_field(&w, l->container);
        l->started = row_int64(&w);
        l->last_check = row_int64(&w);
        l->idle_since = row_int64(&w);
        l->streak = row_int64(&w);
        l->warned = (unsigned)row_int64(&w);
        for (size_t i = 0; i < ELEMENTSOF(l->sent); i++)
                l->sent[i] = row_int64(&w);
        l->cpu_ns = (uint64_t)row_int64(&w);
        l->net_bytes = (uint64_t)row_int64(&w);
        l->counters_at = row_int64(&w);
        return w.r;
}

int store_lc_list(struct store *s, struct store_lc **ret, size_t *ret_n)
{
        return list_all(s, STMT_LC_LIST, sizeof(**ret), read_lc, (void **)ret, ret_n);
}

int store_lc_put(struct store *s, const struct store_lc *l)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (l->container[0] == '\0')
                return set_error(s, -EINVAL, "lifecycle state needs a container id");
        r = stmt_get(s, STMT_LC_PUT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, l->container);
        bind_int64(&b, 2, l->started);
        bind_int64(&b, 3, l->last_check);
        bind_int64(&b, 4, l->idle_since);
        bind_int64(&b, 5, l->streak);
        bind_int64(&b, 6, l->warned);
        for (int i = 0; i < (int)ELEMENTSOF(l->sent); i++)
                bind_int64(&b, 7 + i, l->sent[i]);
        /* counters are uint64 in the kernel; SQLite keeps the bits */
        bind_int64(&b, 11, (int64_t)l->cpu_ns);
        bind_int64(&b, 12, (int64_t)l->net_bytes);
        bind_int64(&b, 13, l->counters_at);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        return step_done(s, st);
}

/* Runs a DELETE with text parameters; -ENOENT when nothing matched. */
static int delete_text(struct store *s, enum stmt_id id, const char *a, const char *b2,
                       const char *what)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_text(&b, 1, a);
        if (b2)
                bind_text(&b, 2, b2);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return set_error(s, -ENOENT, "no %s for %s", what, a);
        return 0;
}

int store_lc_delete(struct store *s, const char *container)
{
        return delete_text(s, STMT_LC_DELETE, container, NULL, "lifecycle state");
}

/* ---- bare-metal grants ---- */

static int read_grant(sqlite3_stmt *st, void *elem)
{
        struct store_grant *g = elem;
        struct row w = {.st = st};

        row_field(&w, g->user);
        row_field(&w, g->granted_by);
        row_field(&w, g->reason);
        g->granted_at = row_int64(&w);
        g->expires = row_int64(&w);
        return w.r;
}

int store_grant_put(struct store *s, const struct store_grant *g)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (g->user[0] == '\0')
                return set_error(s, -EINVAL, "a grant needs a user");
        r = stmt_get(s, STMT_GRANT_PUT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, g->user);
        bind_field(&b, 2, g->granted_by);
        bind_field(&b, 3, g->reason);
        bind_int64(&b, 4, g->granted_at);
        bind_int64(&b, 5, g->expires);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        return step_done(s, st);
}

int store_grant_delete(struct store *s, const char *user)
{
        return delete_text(s, STMT_GRANT_DELETE, user, NULL, "grant");
}

int store_grant_list(struct store *s, struct store_grant **ret, size_t *ret_n)
{
        return list_all(s, STMT_GRANT_LIST, sizeof(**ret), read_grant, (void **)ret, ret_n);
}

/* ---- quota alerts ---- */

static int read_alert(sqlite3_stmt *st, void *elem)
{
        struct store_alert *a = elem;
        struct row w = {.st = st};

        row_field(&w, a->user);
        row_field(&w, a->resource);
        row_field(&w, a->level);
        a->used = row_double(&w);
        a->limit = row_double(&w);
        a->since = row_int64(&w);
        a->notified = row_int64(&w);
        return w.r;
}

int store_alert_put(struct store *s, const struct store_alert *a)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (a->user[0] == '\0' || a->resource[0] == '\0')
                return set_error(s, -EINVAL, "an alert needs a user and a resource");
        r = stmt_get(s, STMT_ALERT_PUT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, a->user);
        bind_field(&b, 2, a->resource);
        bind_field(&b, 3, a->level);
        bind_double(&b, 4, a->used);
        bind_double(&b, 5, a->limit);
        bind_int64(&b, 6, a->since);
        bind_int64(&b, 7, a->notified);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        return step_done(s, st);
}

int store_alert_delete(struct store *s, const char *user, const char *resource)
{
        return delete_text(s, STMT_ALERT_DELETE, user, resource, "alert");
}

int store_alert_list(struct store *s, struct store_alert **ret, size_t *ret_n)
{
        return list_all(s, STMT_ALERT_LIST, sizeof(**ret), read_alert, (void **)ret, ret_n);
}

int store_container_list(struct store *s, const char *user, struct store_container **ret,
                         size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        void *v = NULL;
        size_t n = 0;
        int r;

        r = stmt_get(s, user ? STMT_CONTAINER_LIST_USER : STMT_CONTAINER_LIST, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        if (user)
                bind_text(&b, 1, user);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = fetch_rows(s, st, sizeof(**ret), read_container, NULL, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- events ---- */

/* details: NULL, or the text of a JSON object no larger than DETAILS_MAX. */
static int check_details(struct store *s, const char *details)
{
        json_error_t jerr;
        json_t *j;
        bool object;

        if (!details)
                return 0;
        if (strnlen(details, (size_t)DETAILS_MAX + 1) > DETAILS_MAX)
                return set_error(s, -E2BIG, "event details longer than %d bytes", DETAILS_MAX);
        j = json_loads(details, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return set_error(s, -EINVAL, "event details are not JSON: %s (column %d)",
                                 jerr.text, jerr.column);
        object = json_is_object(j);
        json_decref(j);
        if (!object)
                return set_error(s, -EINVAL, "event details are not a JSON object");
        return 0;
}

int store_event_insert(struct store *s, const struct store_event *e, int64_t *ret_id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (e->type[0] == '\0')
                return set_error(s, -EINVAL, "an event needs a type");
        r = check_details(s, e->details);
        if (r < 0)
                return r;
        r = stmt_get(s, STMT_EVENT_INSERT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_int64(&b, 1, e->time);
        bind_field(&b, 2, e->type);
        bind_field(&b, 3, e->user);
        bind_field(&b, 4, e->source);
        bind_field(&b, 5, e->container);
        bind_text(&b, 6, e->details);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

static int read_event(sqlite3_stmt *st, void *elem)
{
        struct store_event *e = elem;
        struct row w = {.st = st};

        e->id = row_int64(&w);
        e->time = row_int64(&w);
        row_field(&w, e->type);
        row_field(&w, e->user);
        row_field(&w, e->source);
        row_field(&w, e->container);
        e->details = row_strdup(&w);
        if (w.r < 0)
                e->details = mfree(e->details);
        return w.r;
}

void store_events_free(struct store_event *e, size_t n)
{
        if (!e)
                return;
        for (size_t i = 0; i < n; i++)
                free(e[i].details);
        free(e);
}

static void release_events(void *elems, size_t n)
{
        struct store_event *e = elems;

        for (size_t i = 0; i < n; i++)
                free(e[i].details);
}

static int event_query_stmt(struct store *s, unsigned mask, sqlite3_stmt **ret)
{
        _cleanup_free_ char *sql = NULL;

        assert(mask <= _EVENT_F_ALL);
        if (s->event_query[mask]) {
                *ret = s->event_query[mask];
                return 0;
        }
        if (asprintf(&sql,
                     "SELECT id, time, type, user, source, container, details FROM events "
                     "WHERE 1%s%s%s%s%s%s%s ORDER BY id DESC LIMIT ?8",
                     mask & EVENT_F_USER ? " AND user = ?1" : "",
                     mask & EVENT_F_TYPE_LO ? " AND type >= ?2" : "",
                     mask & EVENT_F_TYPE_HI ? " AND type < ?3" : "",
                     mask & EVENT_F_CONTAINER ? " AND container = ?4" : "",
                     mask & EVENT_F_SINCE ? " AND time >= ?5" : "",
                     mask & EVENT_F_UNTIL ? " AND time < ?6" : "",
                     mask & EVENT_F_AFTER ? " AND id > ?7" : "") < 0)
                return set_error(s, -ENOMEM, "out of memory");
        return prepare_cached(s, &s->event_query[mask], sql, ret);
}

/* The smallest string above every string that starts with prefix, in
 * byte order (SQLite's BINARY collation): the prefix with its last byte
 * below 0xff incremented and what follows dropped. Its length; 0 when there
 * is none (the prefix is all 0xff bytes). */
static size_t prefix_upper_bound(char *p, size_t len)
{
        while (len > 0 && (unsigned char)p[len - 1] == 0xff)
                len--;
        if (len > 0)
                p[len - 1] = (char)((unsigned char)p[len - 1] + 1);
        return len;
}

int store_event_query(struct store *s, const struct store_event_filter *f, struct store_event **ret,
                      size_t *ret_n)
{
        static const struct store_event_filter all = {0};
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *upper = NULL;
        size_t upper_len = 0, n = 0;
        unsigned mask = 0;
        struct binder b;
        void *v = NULL;
        int r;

        if (!f)
                f = &all;
        if (f->user)
                mask |= EVENT_F_USER;
        if (!isempty(f->type_prefix)) {
                mask |= EVENT_F_TYPE_LO;
                upper = strdup(f->type_prefix);
                if (!upper)
                        return set_error(s, -ENOMEM, "out of memory");
                upper_len = prefix_upper_bound(upper, strlen(upper));
                if (upper_len > 0)
                        mask |= EVENT_F_TYPE_HI;
        }
        if (f->container)
                mask |= EVENT_F_CONTAINER;
        if (f->since != 0)
                mask |= EVENT_F_SINCE;
        if (f->until != 0)
                mask |= EVENT_F_UNTIL;
        if (f->after_id != 0)
                mask |= EVENT_F_AFTER;

        r = event_query_stmt(s, mask, &st);
        if (r < 0)
                // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_free_ frees it
                return r;
        b = (struct binder){.st = st};
        if (mask & EVENT_F_USER)
                bind_text(&b, 1, f->user);
        if (mask & EVENT_F_TYPE_LO)
                bind_text(&b, 2, f->type_prefix);
        if (mask & EVENT_F_TYPE_HI)
                bind_textn(&b, 3, upper, upper_len);
        if (mask & EVENT_F_CONTAINER)
                bind_text(&b, 4, f->container);
        if (mask & EVENT_F_SINCE)
                bind_int64(&b, 5, f->since);
        if (mask & EVENT_F_UNTIL)
                bind_int64(&b, 6, f->until);
        if (mask & EVENT_F_AFTER)
                bind_int64(&b, 7, f->after_id);
        bind_int64(&b, 8, limit_value(f->limit));
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);

        r = fetch_rows(s, st, sizeof(**ret), read_event, release_events, &v, &n);
        if (r < 0)
                return r;
        /* Newest first from the query (so that LIMIT keeps the newest);
         * the caller gets them oldest first. */
        {
                struct store_event *e = v, tmp;

                for (size_t i = 0; i < n / 2; i++) {
                        tmp = e[i];
                        e[i] = e[n - 1 - i];
                        e[n - 1 - i] = tmp;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- queue ---- */

static const char *const queue_state_names[] = {
    [STORE_QUEUE_WAITING] = "waiting",
    [STORE_QUEUE_GRANTED] = "granted",
    [STORE_QUEUE_LEFT] = "left",
    [STORE_QUEUE_EXPIRED] = "expired",
};

const char *store_queue_state_name(enum store_queue_state st)
{
        if ((unsigned)st >= ELEMENTSOF(queue_state_names))
                return NULL;
        return queue_state_names[st];
}

static int queue_state_from_name(const char *name, enum store_queue_state *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(queue_state_names); i++)
                if (streq(queue_state_names[i], name)) {
                        *ret = (enum store_queue_state)i;
                        return 0;
                }
        return -EINVAL;
}

static int read_queue_entry(sqlite3_stmt *st, void *elem)
{
        struct store_queue_entry *q = elem;
        struct row w = {.st = st};
        char state[STORE_WORD_MAX];

        q->id = row_int64(&w);
        row_field(&w, q->user);
        row_field(&w, q->container);
        q->count = (int)row_int64(&w);
        q->full = row_int64(&w) != 0;
        q->priority = row_int64(&w);
        q->arrival = row_int64(&w);
        q->deadline = row_int64(&w);
        row_field(&w, state);
        q->updated = row_int64(&w);
        if (w.r < 0)
                return w.r;
        if (queue_state_from_name(state, &q->state) < 0)
                return -EBADMSG;
        return 0;
}

int store_queue_insert(struct store *s, struct store_queue_entry *q, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *state = store_queue_state_name(q->state);
        int64_t arrival = q->arrival > 0 ? q->arrival : now;
        struct binder b;
        int r;

        if (!state)
                return set_error(s, -EINVAL, "queue state %d is not valid", (int)q->state);
        if (q->user[0] == '\0')
                return set_error(s, -EINVAL, "a queue entry needs a user");
        if (q->count < -1)
                return set_error(s, -EINVAL, "queue entry count %d is not valid", q->count);
        r = stmt_get(s, STMT_QUEUE_INSERT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, q->user);
        bind_field(&b, 2, q->container);
        bind_int64(&b, 3, q->count);
        bind_int64(&b, 4, q->full ? 1 : 0);
        bind_int64(&b, 5, q->priority);
        bind_int64(&b, 6, arrival);
        bind_int64(&b, 7, q->deadline);
        bind_text(&b, 8, state);
        bind_int64(&b, 9, now);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        q->id = sqlite3_last_insert_rowid(s->db);
        q->arrival = arrival;
        q->updated = now;
        return 0;
}

int store_queue_update(struct store *s, int64_t id, enum store_queue_state state, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *name = store_queue_state_name(state);
        struct binder b;
        int r;

        if (!name)
                return set_error(s, -EINVAL, "queue state %d is not valid", (int)state);
        r = stmt_get(s, STMT_QUEUE_UPDATE, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_int64(&b, 1, id);
        bind_text(&b, 2, name);
        bind_int64(&b, 3, now);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return set_error(s, -ENOENT, "no queue entry %lld", (long long)id);
        return 0;
}

int store_queue_list(struct store *s, const char *user, bool waiting_only,
                     struct store_queue_entry **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        enum stmt_id id;
        struct binder b;
        void *v = NULL;
        size_t n = 0;
        int r;

        if (user)
                id = waiting_only ? STMT_QUEUE_LIST_USER_WAITING : STMT_QUEUE_LIST_USER;
        else
                id = waiting_only ? STMT_QUEUE_LIST_WAITING : STMT_QUEUE_LIST;
        r = stmt_get(s, id, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        if (user)
                bind_text(&b, 1, user);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = fetch_rows(s, st, sizeof(**ret), read_queue_entry, NULL, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

int store_queue_get(struct store *s, int64_t id, struct store_queue_entry *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct store_queue_entry q = {0};
        struct binder b;
        int rc, r;

        r = stmt_get(s, STMT_QUEUE_GET, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_int64(&b, 1, id);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return set_error(s, -ENOENT, "no queue entry %lld", (long long)id);
        if (rc != SQLITE_ROW)
                return sql_error(s, rc);
        r = read_queue_entry(st, &q);
        if (r < 0)
                return set_error(s, r, "cannot read queue entry %lld", (long long)id);
        *ret = q;
        return 0;
}

/* ---- reservations ---- */

static int read_reservation(sqlite3_stmt *st, void *elem)
{
        struct store_reservation *rv = elem;
        struct row w = {.st = st};

        rv->id = row_int64(&w);
        row_field(&w, rv->user);
        row_field(&w, rv->group);
        row_field(&w, rv->slots);
        rv->start = row_int64(&w);
        rv->end = row_int64(&w);
        row_field(&w, rv->reason);
        row_field(&w, rv->source);
        rv->created = row_int64(&w);
        return w.r;
}

int store_reservation_insert(struct store *s, struct store_reservation *rv, int64_t now)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (rv->user[0] == '\0' && rv->group[0] == '\0')
                return set_error(s, -EINVAL, "a reservation needs a user or a group");
        if (rv->end <= rv->start)
                return set_error(s, -EINVAL, "a reservation must end after it starts");
        if (rv->source[0] == '\0')
                return set_error(s, -EINVAL, "a reservation needs a source");
        r = stmt_get(s, STMT_RESERVATION_INSERT, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, rv->user);
        bind_field(&b, 2, rv->group);
        bind_field(&b, 3, rv->slots);
        bind_int64(&b, 4, rv->start);
        bind_int64(&b, 5, rv->end);
        bind_field(&b, 6, rv->reason);
        bind_field(&b, 7, rv->source);
        bind_int64(&b, 8, now);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        rv->id = sqlite3_last_insert_rowid(s->db);
        rv->created = now;
        return 0;
}

int store_reservation_delete(struct store *s, int64_t id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        r = stmt_get(s, STMT_RESERVATION_DELETE, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_int64(&b, 1, id);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return set_error(s, -ENOENT, "no reservation %lld", (long long)id);
        return 0;
}

int store_reservation_delete_source(struct store *s, const char *source)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (isempty(source))
                return set_error(s, -EINVAL, "no source given");
        r = stmt_get(s, STMT_RESERVATION_DELETE_SOURCE, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_text(&b, 1, source);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db);
}

int store_reservation_list(struct store *s, int64_t now_s, struct store_reservation **ret,
                           size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        void *v = NULL;
        size_t n = 0;
        int r;

        r = stmt_get(s, STMT_RESERVATION_LIST, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_int64(&b, 1, now_s);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = fetch_rows(s, st, sizeof(**ret), read_reservation, NULL, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- usage samples ---- */

static int read_usage(sqlite3_stmt *st, void *elem)
{
        struct store_usage *u = elem;
        struct row w = {.st = st};

        row_field(&w, u->user);
        row_field(&w, u->slot);
        u->time = row_int64(&w);
        u->gpu_seconds = row_double(&w);
        u->used_seconds = row_double(&w);
        return w.r;
}

int store_usage_add(struct store *s, const struct store_usage *u)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        int r;

        if (u->user[0] == '\0' || u->slot[0] == '\0')
                return set_error(s, -EINVAL, "a usage sample needs a user and a slot");
        if (!valid_weight(u->gpu_seconds) || !valid_weight(u->used_seconds))
                return set_error(s, -EINVAL, "usage sample seconds %g/%g are not valid",
                                 u->gpu_seconds, u->used_seconds);
        r = stmt_get(s, STMT_USAGE_ADD, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_field(&b, 1, u->user);
        bind_field(&b, 2, u->slot);
        bind_int64(&b, 3, u->time);
        bind_double(&b, 4, u->gpu_seconds);
        bind_double(&b, 5, u->used_seconds);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        return step_done(s, st);
}

int store_usage_list(struct store *s, const char *user, int64_t since, struct store_usage **ret,
                     size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct binder b;
        void *v = NULL;
        size_t n = 0;
        int r;

        r = stmt_get(s, user ? STMT_USAGE_LIST_USER : STMT_USAGE_LIST, &st);
        if (r < 0)
                return r;
        b = (struct binder){.st = st};
        bind_int64(&b, 1, since);
        if (user)
                bind_text(&b, 2, user);
        if (b.rc != SQLITE_OK)
                return sql_error(s, b.rc);
        r = fetch_rows(s, st, sizeof(**ret), read_usage, NULL, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Sums per (user, slot) of the samples with since < time <= until (a sample
 * covers the seconds before its time: usage-sum.h). time = the latest one. */
int store_usage_sum(struct store *s, int64_t since, int64_t until, struct store_usage **ret,
                    size_t *ret_n)
{
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        void *v = NULL;
        size_t n = 0;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT user, slot, max(time), total(gpu_seconds), "
                                "total(used_seconds) FROM usage INDEXED BY usage_time "
                                "WHERE time > ?1 AND time <= ?2 GROUP BY user, slot "
                                "ORDER BY user, slot",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(s, rc);
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int64(st, 2, until);
        r = fetch_rows(s, st, sizeof(**ret), read_usage, NULL, &v, &n);
        if (r < 0)
                return r;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- event counts (metrics) ---- */

int store_event_type_counts(struct store *s, int64_t from, int64_t to,
                            int (*cb)(void *ud, const char *type, long long n), void *ud)
{
        sqlite3_stmt *st = NULL;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT type, count(*) FROM events INDEXED BY events_time "
                                "WHERE time >= ?1 AND time < ?2 "
                                "GROUP BY type",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(s, rc);
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, to);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && r >= 0) {
                const char *type = (const char *)sqlite3_column_text(st, 0);
                r = cb(ud, type ? type : "", sqlite3_column_int64(st, 1));
        }
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sql_error(s, rc);
        sqlite3_finalize(st);
        return r;
}

int store_event_count_type(struct store *s, const char *type, long long *ret)
{
        sqlite3_stmt *st = NULL;
        int rc;

        rc =
            sqlite3_prepare_v2(s->db, "SELECT count(*) FROM events WHERE type = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(s, rc);
        sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                rc = sql_error(s, rc);
                sqlite3_finalize(st);
                return rc;
        }
        *ret = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return 0;
}

int store_quick_check(struct store *s)
{
        return check_integrity(s);
}

int store_check_file(const char *path, char *err, size_t err_size)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        int rc, r = 0;

        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW) {
                        const char *a = (const char *)sqlite3_column_text(st, 0);
                        if (!a || strcmp(a, "ok") != 0) {
                                snprintf(err, err_size, "quick_check: %.200s", a ? a : "no answer");
                                for (char *p = err; *p; p++)
                                        if (*p == '\n' || *p == '\r')
                                                *p = ' ';
                                r = -EBADMSG;
                        }
                        rc = SQLITE_OK;
                }
        }
        if (rc != SQLITE_OK && r == 0) {
                snprintf(err, err_size, "%s", db ? sqlite3_errmsg(db) : "cannot open");
                r = errno_from_sqlite(rc);
                if (r == -EIO)
                        r = -EBADMSG;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return r;
}
