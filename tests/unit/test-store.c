/* test-store.c - unit tests for store/store: opening (new, empty, garbage,
 * truncated, damaged, another application's, a newer schema), the file mode
 * and WAL, transactions and a second connection waiting for the first, the
 * "no slot allocated twice" invariant and the foreign key to slots,
 * allocation filters, events and their filters, queue, reservations, usage,
 * containers and slots round trips, and a writer killed with SIGKILL that
 * must not lose a commit it acknowledged. Each test works in its own
 * temporary folder. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/strutil.h"

struct fixture {
        char dir[256];
        char path[300];
        struct store *s;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        const char *tmp = getenv("TMPDIR");

        assert_non_null(f);
        assert_true(snprintf(f->dir, sizeof(f->dir), "%s/test-store.XXXXXX", tmp ? tmp : "/tmp") <
                    (int)sizeof(f->dir));
        assert_non_null(mkdtemp(f->dir));
        assert_true(snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir) <
                    (int)sizeof(f->path));
        *state = f;
        return 0;
}

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        f->s = store_close(f->s);
        (void)nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static struct store *open_ok(const char *path)
{
        struct store *s = NULL;
        char err[512] = "";
        int r = store_open(path, &s, err, sizeof(err));

        if (r < 0)
                fail_msg("store_open: %d: %s", r, err);
        assert_non_null(s);
        return s;
}

static int64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void write_file(const char *path, const void *data, size_t n)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, n), (ssize_t)n);
        close(fd);
}

/* Raw SQL on the file, outside the store: what an admin (or damage) does. */
static void raw_exec(const char *path, const char *sql)
{
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        sqlite3_close(db);
}

static void raw_text(const char *path, const char *sql, char *buf, size_t n)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        strscpy(buf, n, (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
}

static void sync_slots(struct store *s, const char *const *names, size_t n)
{
        struct store_slot sl[16] = {0};

        assert_true(n <= 16);
        for (size_t i = 0; i < n; i++) {
                strscpy(sl[i].name, sizeof(sl[i].name), names[i]);
                snprintf(sl[i].uuid, sizeof(sl[i].uuid), "GPU-%zu", i);
                sl[i].gpu = (unsigned)i;
                sl[i].mig = -1;
                sl[i].weight = 1.0;
        }
        assert_int_equal(store_slots_sync(s, sl, n, 1000), 0);
}

static struct store_alloc make_alloc(const char *slot, const char *container, const char *user,
                                     enum store_alloc_state st)
{
        struct store_alloc a = {0};

        strscpy(a.slot, sizeof(a.slot), slot);
        strscpy(a.container, sizeof(a.container), container);
        strscpy(a.user, sizeof(a.user), user);
        strscpy(a.interface, sizeof(a.interface), "docker");
        a.weight = 1.0;
        a.state = st;
        return a;
}

/* A database with some pages in it, closed (the WAL checkpointed away). */
static off_t make_filled_db(const char *path)
{
        struct store *s = open_ok(path);
        char details[300];
        struct stat st;

        assert_int_equal(store_begin(s), 0);
        for (int i = 0; i < 300; i++) {
                struct store_event e = {.time = i + 1};

                strscpy(e.type, sizeof(e.type), "test.fill");
                snprintf(details, sizeof(details), "{\"i\":%d,\"pad\":\"%0200d\"}", i, i);
                e.details = details;
                assert_int_equal(store_event_insert(s, &e, NULL), 0);
        }
        assert_int_equal(store_commit(s), 0);
        store_close(s);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 16 * 4096);
        return st.st_size;
}

/* ---- opening ---- */

static void test_open_new(void **state)
{
        struct fixture *f = *state;
        char buf[64], wal[320];
        struct stat st;

        f->s = open_ok(f->path);
        assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        snprintf(wal, sizeof(wal), "%s-wal", f->path);
        if (stat(wal, &st) == 0)
                assert_int_equal(st.st_mode & 07777, 0600);
        raw_text(f->path, "PRAGMA journal_mode", buf, sizeof(buf));
        assert_string_equal(buf, "wal");
        raw_text(f->path, "SELECT COUNT(*) FROM schema_version", buf, sizeof(buf));
        assert_int_equal(strtol(buf, NULL, 10), STORE_SCHEMA_VERSION);
        f->s = store_close(f->s);
        assert_null(f->s);

        /* again: nothing to migrate, same version */
        f->s = open_ok(f->path);
        assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
        raw_text(f->path, "SELECT COUNT(*) FROM schema_version", buf, sizeof(buf));
        assert_int_equal(strtol(buf, NULL, 10), STORE_SCHEMA_VERSION);
        assert_null(store_close(NULL));
}

/* An empty file that was already there lost everything: refused, left as
 * found (a file store_open creates itself is new, test_open_new). */
static void test_open_empty_file(void **state)
{
        struct fixture *f = *state;
        char err[1024] = "";
        struct store *s = NULL;
        struct stat st;

        write_file(f->path, "", 0);
        assert_int_equal(store_open(f->path, &s, err, sizeof(err)), -EBADMSG);
        assert_null(s);
        assert_non_null(strstr(err, "is damaged (an empty file, 0 bytes)"));
        assert_non_null(strstr(err, "ds01 state rebuild"));
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_size, 0);
}

static void expect_damaged_err(const char *path, char *err, size_t err_size)
{
        struct store *s = (struct store *)0x1;

        assert_int_equal(store_open(path, &s, err, err_size), -EBADMSG);
        assert_ptr_equal(s, (struct store *)0x1);
        assert_non_null(strstr(err, "is damaged"));
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "ds01 state rebuild"));
        assert_null(strchr(err, '\n'));
}

static void expect_damaged(const char *path)
{
        char err[1024] = "";

        expect_damaged_err(path, err, sizeof(err));
}

static void test_open_garbage(void **state)
{
        struct fixture *f = *state;
        unsigned char junk[8192];
        uint32_t x = 12345;

        for (size_t i = 0; i < sizeof(junk); i++) {
                x = x * 1103515245 + 12345;
                junk[i] = (unsigned char)(x >> 16);
        }
        write_file(f->path, junk, sizeof(junk));
        expect_damaged(f->path);
        /* left as found, for the admin */
        {
                struct stat st;
                assert_int_equal(stat(f->path, &st), 0);
                assert_int_equal(st.st_size, (off_t)sizeof(junk));
        }

        /* a short text file */
        write_file(f->path, "hello, world\n", 13);
        expect_damaged(f->path);
}

static void test_open_truncated(void **state)
{
        struct fixture *f = *state;
        off_t size = make_filled_db(f->path);

        assert_int_equal(truncate(f->path, size / 2), 0);
        expect_damaged(f->path);
        /* only the header left */
        assert_int_equal(truncate(f->path, 100), 0);
        expect_damaged(f->path);
}

static void test_open_damaged_page(void **state)
{
        struct fixture *f = *state;
        off_t size = make_filled_db(f->path);
        char junk[4096];
        int fd;

        memset(junk, 0x5a, sizeof(junk));
        fd = open(f->path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, junk, sizeof(junk), (size / 2) & ~(off_t)4095),
                         (ssize_t)sizeof(junk));
        close(fd);
        expect_damaged(f->path);
}

/* Damage that only quick_check sees: a leaf page that claims fewer cells
 * than it holds. */
static void test_open_quick_check_fails(void **state)
{
        struct fixture *f = *state;
        off_t size = make_filled_db(f->path);
        const unsigned char one[2] = {0, 1};
        char err[1024] = "";
        int fd;

        fd = open(f->path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, one, sizeof(one), ((size / 2) & ~(off_t)4095) + 3), 2);
        close(fd);
        expect_damaged_err(f->path, err, sizeof(err));
        assert_non_null(strstr(err, "(quick_check: "));
        assert_null(strstr(err, "***"));
}

static void test_open_foreign_database(void **state)
{
        struct fixture *f = *state;

        raw_exec(f->path, "PRAGMA application_id = 42; CREATE TABLE t (x)");
        expect_damaged(f->path);
        /* no application_id, but tables of its own */
        raw_exec(f->path, "PRAGMA application_id = 0");
        expect_damaged(f->path);
}

static void test_open_newer_schema(void **state)
{
        struct fixture *f = *state;
        struct store *s = NULL;
        char err[1024] = "", want[600];

        f->s = open_ok(f->path);
        f->s = store_close(f->s);
        raw_exec(f->path, "INSERT INTO schema_version (version, applied) VALUES (99, 0)");
        assert_int_equal(store_open(f->path, &s, err, sizeof(err)), -EPROTO);
        assert_null(s);
        snprintf(want, sizeof(want),
                 "state database %s was written by a newer ds01 (schema 99, this ds01 knows %d)",
                 f->path, STORE_SCHEMA_VERSION);
        assert_string_equal(err, want);
}

static void copy_file(const char *from, const char *to)
{
        char buf[65536];
        int in = open(from, O_RDONLY | O_CLOEXEC);
        int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ssize_t k;

        assert_true(in >= 0 && out >= 0);
        while ((k = read(in, buf, sizeof(buf))) > 0)
                assert_int_equal(write(out, buf, (size_t)k), k);
        assert_int_equal(k, 0);
        close(in);
        close(out);
}

/* ds01d killed, then the database deleted: its WAL is left behind and must
 * not be replayed into the new file. */
static void test_open_deleted_with_wal_left(void **state)
{
        struct fixture *f = *state;
        char wal[320], saved[320];
        struct store_event *e = NULL;
        size_t n = 0;

        snprintf(wal, sizeof(wal), "%s-wal", f->path);
        snprintf(saved, sizeof(saved), "%s/saved-wal", f->dir);
        f->s = open_ok(f->path);
        for (int i = 0; i < 20; i++) {
                struct store_event ev = {.time = i + 1};

                strscpy(ev.type, sizeof(ev.type), "test");
                assert_int_equal(store_event_insert(f->s, &ev, NULL), 0);
        }
        copy_file(wal, saved); /* as it was while ds01d ran */
        f->s = store_close(f->s);
        assert_int_equal(unlink(f->path), 0);
        copy_file(saved, wal);

        f->s = open_ok(f->path);
        assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
        assert_int_equal(store_event_query(f->s, NULL, &e, &n), 0);
        assert_int_equal(n, 0);
}

static void test_open_errors(void **state)
{
        struct fixture *f = *state;
        struct store *s = NULL;
        char err[512] = "", path[400];

        snprintf(path, sizeof(path), "%s/missing/state.db", f->dir);
        assert_int_equal(store_open(path, &s, err, sizeof(err)), -ENOENT);
        assert_null(s);
        assert_non_null(strstr(err, "cannot open state database"));
        assert_int_equal(store_open("", &s, NULL, 0), -EINVAL);
        assert_int_equal(store_open(NULL, &s, err, sizeof(err)), -EINVAL);
        /* a tiny err buffer is cut, not overrun */
        write_file(f->path, "garbage garbage garbage garbage", 31);
        memset(err, 'x', sizeof(err));
        assert_int_equal(store_open(f->path, &s, err, 8), -EBADMSG);
        assert_int_equal(strlen(err), 7);
        assert_int_equal(err[8], 'x');
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {"0", "1"};
        struct store_alloc a = make_alloc("0", "c1", "alice", STORE_ALLOC_ACTIVE);
        struct store_alloc *list = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        sync_slots(f->s, names, 2);

        assert_int_equal(store_begin(f->s), 0);
        assert_int_equal(store_alloc_insert(f->s, &a, 10), 0);
        assert_int_equal(store_begin(f->s), -EIO); /* no nesting */
        assert_int_equal(store_rollback(f->s), 0);
        assert_int_equal(store_alloc_list(f->s, NULL, &list, &n), 0);
        assert_null(list);
        assert_int_equal(n, 0);
        assert_int_equal(store_rollback(f->s), 0); /* nothing to roll back */
        assert_int_equal(store_commit(f->s), -EIO);
        assert_non_null(strstr(store_errmsg(f->s), "no transaction"));

        assert_int_equal(store_begin(f->s), 0);
        assert_int_equal(store_alloc_insert(f->s, &a, 10), 0);
        /* a failed statement inside leaves the transaction usable */
        {
                struct store_alloc dup = make_alloc("0", "c2", "bob", STORE_ALLOC_PENDING);
                assert_int_equal(store_alloc_insert(f->s, &dup, 11), -EEXIST);
        }
        assert_int_equal(store_commit(f->s), 0);
        assert_int_equal(store_alloc_list(f->s, NULL, &list, &n), 0);
        assert_int_equal(n, 1);
        free(list);

        /* slots_sync inside the caller's transaction goes with it */
        assert_int_equal(store_begin(f->s), 0);
        sync_slots(f->s, names, 1);
        assert_int_equal(store_rollback(f->s), 0);
        {
                struct store_slot *sl = NULL;
                assert_int_equal(store_slots_list(f->s, &sl, &n), 0);
                assert_int_equal(n, 2);
                assert_true(sl[0].present && sl[1].present);
                free(sl);
        }
}

/* A second process holds the write lock for a while: our BEGIN IMMEDIATE
 * waits (busy timeout) and goes on once it commits; reads never wait. */
static void test_second_connection_waits(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {"0", "1"};
        struct store_alloc *list = NULL;
        int ready[2], status;
        size_t n = 0;
        int64_t t0, waited;
        pid_t pid;
        char c;

        f->s = open_ok(f->path);
        sync_slots(f->s, names, 2);
        f->s = store_close(f->s);

        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct store *a = NULL;
                struct store_alloc al = make_alloc("1", "held", "carol", STORE_ALLOC_ACTIVE);
                int ok = store_open(f->path, &a, NULL, 0) == 0 && store_begin(a) == 0 &&
                         store_alloc_insert(a, &al, 5) == 0;

                if (write(ready[1], ok ? "y" : "n", 1) != 1)
                        _exit(3);
                usleep(200 * 1000);
                ok = ok && store_commit(a) == 0;
                store_close(a);
                _exit(ok ? 0 : 1);
        }
        close(ready[1]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        assert_int_equal(c, 'y');

        f->s = open_ok(f->path);
        /* a reader does not wait, and does not see the uncommitted row */
        t0 = now_us();
        assert_int_equal(store_alloc_list(f->s, NULL, &list, &n), 0);
        assert_int_equal(n, 0);
        assert_true(now_us() - t0 < 200 * 1000);

        t0 = now_us();
        assert_int_equal(store_begin(f->s), 0);
        waited = now_us() - t0;
        assert_true(waited >= 100 * 1000);
        assert_true(waited < 4 * 1000 * 1000);
        assert_int_equal(store_alloc_list(f->s, NULL, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].container, "held");
        free(list);
        assert_int_equal(store_commit(f->s), 0);

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- slots ---- */

static void test_slots(void **state)
{
        struct fixture *f = *state;
        struct store_slot in[3] = {0}, *sl = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        assert_int_equal(store_slots_list(f->s, &sl, &n), 0);
        assert_null(sl);
        assert_int_equal(n, 0);

        strscpy(in[0].name, sizeof(in[0].name), "1.0");
        strscpy(in[0].uuid, sizeof(in[0].uuid), "MIG-aaa");
        strscpy(in[0].profile, sizeof(in[0].profile), "1g.10gb");
        in[0].gpu = 1;
        in[0].mig = 0;
        in[0].weight = 1.0 / 7;
        strscpy(in[1].name, sizeof(in[1].name), "0");
        strscpy(in[1].uuid, sizeof(in[1].uuid), "GPU-000");
        in[1].mig = -1;
        in[1].weight = 1.0;
        strscpy(in[2].name, sizeof(in[2].name), "1.1");
        strscpy(in[2].uuid, sizeof(in[2].uuid), "MIG-bbb");
        strscpy(in[2].profile, sizeof(in[2].profile), "3g.40gb");
        in[2].gpu = 1;
        in[2].mig = 1;
        in[2].weight = 3.0 / 7;
        assert_int_equal(store_slots_sync(f->s, in, 3, 100), 0);

        assert_int_equal(store_slots_list(f->s, &sl, &n), 0);
        assert_int_equal(n, 3);
        /* numeric order: gpu, then MIG device */
        assert_string_equal(sl[0].name, "0");
        assert_int_equal(sl[0].mig, -1);
        assert_string_equal(sl[0].profile, "");
        assert_string_equal(sl[1].name, "1.0");
        assert_string_equal(sl[1].uuid, "MIG-aaa");
        assert_string_equal(sl[1].profile, "1g.10gb");
        assert_int_equal(sl[1].gpu, 1);
        assert_int_equal(sl[1].mig, 0);
        assert_true(sl[1].weight == 1.0 / 7);
        assert_string_equal(sl[2].name, "1.1");
        for (size_t i = 0; i < n; i++)
                assert_true(sl[i].present);
        free(sl);

        /* the topology lost 1.1 and 1.0 changed: 1.1 stays, not present */
        strscpy(in[0].uuid, sizeof(in[0].uuid), "MIG-ccc");
        assert_int_equal(store_slots_sync(f->s, in, 2, 200), 0);
        assert_int_equal(store_slots_list(f->s, &sl, &n), 0);
        assert_int_equal(n, 3);
        assert_true(sl[0].present);
        assert_true(sl[1].present);
        assert_string_equal(sl[1].uuid, "MIG-ccc");
        assert_false(sl[2].present);
        free(sl);

        /* back again */
        assert_int_equal(store_slots_sync(f->s, in, 3, 300), 0);
        assert_int_equal(store_slots_list(f->s, &sl, &n), 0);
        assert_true(sl[2].present);
        free(sl);

        /* nothing at all: everything absent, nothing deleted */
        assert_int_equal(store_slots_sync(f->s, NULL, 0, 400), 0);
        assert_int_equal(store_slots_list(f->s, &sl, &n), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++)
                assert_false(sl[i].present);
        free(sl);

        /* bad input changes nothing */
        in[1].weight = -1;
        assert_int_equal(store_slots_sync(f->s, in, 3, 500), -EINVAL);
        in[1].weight = 1;
        in[1].name[0] = '\0';
        assert_int_equal(store_slots_sync(f->s, in, 3, 500), -EINVAL);
        assert_int_equal(store_slots_list(f->s, &sl, &n), 0);
        for (size_t i = 0; i < n; i++)
                assert_false(sl[i].present);
        free(sl);
}

/* ---- allocations ---- */

static void test_alloc_unique_slot(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {"0", "1"};
        struct store_alloc a = make_alloc("0", "c1", "alice", STORE_ALLOC_ACTIVE);
        struct store_alloc b = make_alloc("0", "c2", "bob", STORE_ALLOC_PENDING);
        struct store_alloc c = make_alloc("9", "c3", "bob", STORE_ALLOC_PENDING);
        int64_t first;

        f->s = open_ok(f->path);
        sync_slots(f->s, names, 2);

        /* the slot must exist */
        c.id = 777;
        assert_int_equal(store_alloc_insert(f->s, &c, 10), -ENOENT);
        assert_int_equal(c.id, 777); /* untouched on failure */
        assert_non_null(strstr(store_errmsg(f->s), "'9'"));

        assert_int_equal(store_alloc_insert(f->s, &a, 10), 0);
        assert_true(a.id > 0);
        assert_int_equal(a.created, 10);
        assert_int_equal(a.updated, 10);
        first = a.id;

        b.id = 777;
        assert_int_equal(store_alloc_insert(f->s, &b, 11), -EEXIST);
        assert_int_equal(b.id, 777);
        /* held still counts */
        assert_int_equal(store_alloc_update(f->s, first, STORE_ALLOC_HELD, 5000, "stopped", 12), 0);
        assert_int_equal(store_alloc_insert(f->s, &b, 13), -EEXIST);
        /* released frees the slot */
        assert_int_equal(store_alloc_update(f->s, first, STORE_ALLOC_RELEASED, 0, NULL, 14), 0);
        assert_int_equal(store_alloc_insert(f->s, &b, 15), 0);
        assert_true(b.id > first);
        /* the released one cannot come back while the slot is taken */
        assert_int_equal(store_alloc_update(f->s, first, STORE_ALLOC_ACTIVE, 0, NULL, 16), -EEXIST);
        /* several released rows on one slot are fine */
        assert_int_equal(store_alloc_update(f->s, b.id, STORE_ALLOC_RELEASED, 0, NULL, 17), 0);
        a.state = STORE_ALLOC_RELEASED;
        assert_int_equal(store_alloc_insert(f->s, &a, 18), 0);

        assert_int_equal(store_alloc_update(f->s, 424242, STORE_ALLOC_ACTIVE, 0, NULL, 19),
                         -ENOENT);
        assert_int_equal(store_alloc_update(f->s, first, (enum store_alloc_state)9, 0, NULL, 19),
                         -EINVAL);
        a.state = (enum store_alloc_state)9;
        assert_int_equal(store_alloc_insert(f->s, &a, 20), -EINVAL);
        a.state = STORE_ALLOC_ACTIVE;
        a.weight = -0.5;
        assert_int_equal(store_alloc_insert(f->s, &a, 20), -EINVAL);
}

static void test_alloc_update_and_list(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {"0", "1", "2", "3"};
        struct store_alloc a[4] = {
            make_alloc("0", "alpha", "alice", STORE_ALLOC_ACTIVE),
            make_alloc("1", "alpha", "alice", STORE_ALLOC_PENDING),
            make_alloc("2", "beta", "bob", STORE_ALLOC_ACTIVE),
            make_alloc("3", "gamma", "alice", STORE_ALLOC_ACTIVE),
        };
        struct store_alloc_filter flt = {0};
        struct store_alloc *l = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        sync_slots(f->s, names, 4);
        strscpy(a[0].reason, sizeof(a[0].reason), "asked");
        a[0].expires = 99;
        for (int i = 0; i < 4; i++)
                assert_int_equal(store_alloc_insert(f->s, &a[i], 100 + i), 0);

        /* round trip of every field */
        assert_int_equal(store_alloc_list(f->s, NULL, &l, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(l[0].id, a[0].id);
        assert_string_equal(l[0].slot, "0");
        assert_string_equal(l[0].container, "alpha");
        assert_string_equal(l[0].container_id, "");
        assert_string_equal(l[0].user, "alice");
        assert_true(l[0].weight == 1.0);
        assert_int_equal(l[0].state, STORE_ALLOC_ACTIVE);
        assert_string_equal(l[0].interface, "docker");
        assert_int_equal(l[0].created, 100);
        assert_int_equal(l[0].updated, 100);
        assert_int_equal(l[0].expires, 99);
        assert_string_equal(l[0].reason, "asked");
        for (size_t i = 1; i < n; i++)
                assert_true(l[i].id > l[i - 1].id);
        free(l);

        /* reason NULL keeps it; a new one replaces it */
        assert_int_equal(store_alloc_update(f->s, a[0].id, STORE_ALLOC_HELD, 500, NULL, 200), 0);
        assert_int_equal(store_alloc_update(f->s, a[2].id, STORE_ALLOC_RELEASED, 0, "removed", 210),
                         0);
        assert_int_equal(store_alloc_set_container_id(f->s, "alpha", "f00dcafe", 220), 2);
        assert_int_equal(store_alloc_set_container_id(f->s, "alpha", "f00dcafe", 230), 0);
        /* released rows keep the id they had */
        assert_int_equal(store_alloc_set_container_id(f->s, "beta", "beef", 240), 0);

        assert_int_equal(store_alloc_list(f->s, NULL, &l, &n), 0);
        assert_int_equal(l[0].state, STORE_ALLOC_HELD);
        assert_int_equal(l[0].expires, 500);
        assert_string_equal(l[0].reason, "asked");
        assert_string_equal(l[0].container_id, "f00dcafe");
        assert_int_equal(l[0].updated, 220);
        assert_string_equal(l[1].container_id, "f00dcafe");
        assert_int_equal(l[2].state, STORE_ALLOC_RELEASED);
        assert_string_equal(l[2].reason, "removed");
        assert_string_equal(l[2].container_id, "");
        free(l);

        flt.user = "alice";
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_int_equal(n, 3);
        free(l);
        flt.container = "f00dcafe"; /* by Docker's id */
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_int_equal(n, 2);
        free(l);
        flt.container = "alpha"; /* by the name asked for */
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_int_equal(n, 2);
        free(l);
        flt = (struct store_alloc_filter){.in_force_only = true};
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++)
                assert_int_not_equal(l[i].state, STORE_ALLOC_RELEASED);
        free(l);
        flt = (struct store_alloc_filter){.since = 210};
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_int_equal(n, 3); /* updated at 210, 220, 220 */
        free(l);
        flt = (struct store_alloc_filter){.limit = 2};
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(l[0].id, a[0].id);
        assert_int_equal(l[1].id, a[1].id);
        free(l);
        flt = (struct store_alloc_filter){.user = "nobody"};
        l = (struct store_alloc *)0x1;
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_null(l);
        assert_int_equal(n, 0);
        /* values with SQL in them are values */
        flt = (struct store_alloc_filter){.user = "' OR 1=1 --"};
        assert_int_equal(store_alloc_list(f->s, &flt, &l, &n), 0);
        assert_int_equal(n, 0);
}

static void test_alloc_long_text(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {"0"};
        struct store_alloc a = make_alloc("0", "c", "u", STORE_ALLOC_ACTIVE);
        struct store_alloc *l = NULL;
        char reason[2000];
        size_t n = 0, len;

        f->s = open_ok(f->path);
        sync_slots(f->s, names, 1);
        /* fields filled to the brim, without a NUL: read to their size only */
        memset(a.container, 'x', sizeof(a.container));
        memset(a.user, 'y', sizeof(a.user));
        assert_int_equal(store_alloc_insert(f->s, &a, 1), 0);
        /* a reason longer than the field, of 2-byte characters */
        for (size_t i = 0; i + 2 < sizeof(reason); i += 2) {
                reason[i] = (char)0xc3;
                reason[i + 1] = (char)0xa9; /* é */
                reason[i + 2] = '\0';
        }
        /* "aa" first: a plain cut at 511 bytes would split a character */
        reason[0] = 'a';
        reason[1] = 'a';
        assert_int_equal(store_alloc_update(f->s, a.id, STORE_ALLOC_ACTIVE, 0, reason, 2), 0);
        assert_int_equal(store_alloc_list(f->s, NULL, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(strlen(l[0].container), sizeof(a.container) - 1);
        len = strlen(l[0].reason);
        assert_true(len < sizeof(l[0].reason));
        assert_true(len >= sizeof(l[0].reason) - 2);
        assert_true(utf8_valid(l[0].reason, len, NULL));
        free(l);
}

/* ---- events ---- */

static int64_t add_event(struct store *s, int64_t time, const char *type, const char *user,
                         const char *container, const char *details)
{
        struct store_event e = {.time = time};
        int64_t id = 0;

        strscpy(e.type, sizeof(e.type), type);
        strscpy(e.user, sizeof(e.user), user);
        strscpy(e.source, sizeof(e.source), "test");
        strscpy(e.container, sizeof(e.container), container);
        e.details = (char *)details;
        assert_int_equal(store_event_insert(s, &e, &id), 0);
        assert_true(id > 0);
        return id;
}

static size_t query(struct store *s, const struct store_event_filter *flt, int64_t *ids, size_t max)
{
        struct store_event *e = NULL;
        size_t n = 0;

        assert_int_equal(store_event_query(s, flt, &e, &n), 0);
        assert_true(n <= max);
        for (size_t i = 0; i < n; i++) {
                ids[i] = e[i].id;
                if (i > 0)
                        assert_true(e[i].id > e[i - 1].id); /* oldest first */
        }
        store_events_free(e, n);
        return n;
}

static void test_events(void **state)
{
        struct fixture *f = *state;
        struct store_event_filter flt = {0};
        struct store_event *e = NULL;
        int64_t id[8], got[16] = {0};
        size_t n = 0;

        f->s = open_ok(f->path);
        id[0] = add_event(f->s, 1000, "gpu.allocated", "alice", "c1", "{\"slot\":\"0\"}");
        id[1] = add_event(f->s, 2000, "gpux.other", "alice", "c1", NULL);
        id[2] = add_event(f->s, 3000, "gpu_x", "bob", "c2", NULL);
        id[3] = add_event(f->s, 4000, "gpu.released", "bob", "c2", "{}");
        id[4] = add_event(f->s, 5000, "container.start", "alice", "c3", NULL);
        id[5] = add_event(f->s, 6000, "gpu.", "", "", NULL);
        id[6] = add_event(f->s, 7000, "gpu", "", "", NULL);
        id[7] = add_event(f->s, 8000, "gpu/x", "", "", NULL);

        /* round trip */
        flt.limit = 1;
        flt.type_prefix = "gpu.allocated";
        assert_int_equal(store_event_query(f->s, &flt, &e, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(e[0].id, id[0]);
        assert_int_equal(e[0].time, 1000);
        assert_string_equal(e[0].type, "gpu.allocated");
        assert_string_equal(e[0].user, "alice");
        assert_string_equal(e[0].source, "test");
        assert_string_equal(e[0].container, "c1");
        assert_string_equal(e[0].details, "{\"slot\":\"0\"}");
        store_events_free(e, n);

        /* all, oldest first; NULL details stay NULL */
        assert_int_equal(store_event_query(f->s, NULL, &e, &n), 0);
        assert_int_equal(n, 8);
        assert_null(e[1].details);
        assert_string_equal(e[3].details, "{}");
        store_events_free(e, n);

        /* prefix "gpu.": not gpux, gpu_x, gpu, gpu/x */
        flt = (struct store_event_filter){.type_prefix = "gpu."};
        assert_int_equal(query(f->s, &flt, got, 16), 3);
        assert_int_equal(got[0], id[0]);
        assert_int_equal(got[1], id[3]);
        assert_int_equal(got[2], id[5]);
        /* '_' is no wildcard */
        flt.type_prefix = "gpu_";
        assert_int_equal(query(f->s, &flt, got, 16), 1);
        assert_int_equal(got[0], id[2]);
        flt.type_prefix = "gpu";
        assert_int_equal(query(f->s, &flt, got, 16), 7);
        flt.type_prefix = "\xff\xff";
        assert_int_equal(query(f->s, &flt, got, 16), 0);
        flt.type_prefix = "";
        assert_int_equal(query(f->s, &flt, got, 16), 8);

        flt = (struct store_event_filter){.user = "alice"};
        assert_int_equal(query(f->s, &flt, got, 16), 3);
        flt = (struct store_event_filter){.container = "c2"};
        assert_int_equal(query(f->s, &flt, got, 16), 2);
        assert_int_equal(got[0], id[2]);
        flt = (struct store_event_filter){.since = 2000, .until = 4000};
        assert_int_equal(query(f->s, &flt, got, 16), 2);
        assert_int_equal(got[0], id[1]);
        assert_int_equal(got[1], id[2]);
        flt = (struct store_event_filter){.after_id = id[5]};
        assert_int_equal(query(f->s, &flt, got, 16), 2);
        assert_int_equal(got[0], id[6]);
        /* newest 3, oldest first */
        flt = (struct store_event_filter){.limit = 3};
        assert_int_equal(query(f->s, &flt, got, 16), 3);
        assert_int_equal(got[0], id[5]);
        assert_int_equal(got[2], id[7]);
        /* together */
        flt = (struct store_event_filter){
            .user = "bob", .type_prefix = "gpu.", .container = "c2", .since = 1, .limit = 10};
        assert_int_equal(query(f->s, &flt, got, 16), 1);
        assert_int_equal(got[0], id[3]);
        flt = (struct store_event_filter){.user = "nobody"};
        e = (struct store_event *)0x1;
        assert_int_equal(store_event_query(f->s, &flt, &e, &n), 0);
        assert_null(e);
        assert_int_equal(n, 0);
        store_events_free(NULL, 0);
}

static int count_type(void *ud, const char *type, long long n)
{
        (void)type;
        (void)n;
        (*(size_t *)ud)++;
        return 0;
}

/* The page cache stays within STORE_CACHE_KIB however large the database
 * grows: ds01d's events table grows for as long as it runs, and SQLite's
 * default cache (2,000 KiB) filled with it page by page (bench/soak). */
static void test_page_cache_bounded(void **state)
{
        struct fixture *f = *state;
        char details[400];
        sqlite3_int64 base, used;
        size_t n = 0;
        struct stat st;

        f->s = open_ok(f->path);
        base = sqlite3_memory_used();
        if (base <= 0)
                skip(); /* this SQLite was built without memory statistics */
        for (int b = 0; b < 100; b++) {
                assert_int_equal(store_begin(f->s), 0);
                for (int i = 0; i < 100; i++) {
                        int k = b * 100 + i;
                        struct store_event e = {.time = k + 1};

                        /* scattered over the type, user and container indexes */
                        snprintf(e.type, sizeof(e.type), "test.t%d", (k * 7919) % 97);
                        snprintf(e.user, sizeof(e.user), "user%d", (k * 104729) % 211);
                        snprintf(e.container, sizeof(e.container), "c-%d-%d", (k * 31) % 1009, k);
                        snprintf(details, sizeof(details), "{\"i\":%d,\"pad\":\"%0300d\"}", k, k);
                        e.details = details;
                        assert_int_equal(store_event_insert(f->s, &e, NULL), 0);
                }
                assert_int_equal(store_commit(f->s), 0);
        }
        assert_int_equal(store_event_type_counts(f->s, 0, INT64_MAX, count_type, &n), 0);
        assert_int_equal(n, 97);
        assert_int_equal(stat(f->path, &st), 0);
        used = sqlite3_memory_used() - base;
        /* the database is far larger than the cache, which is full */
        assert_true(st.st_size > 4 * STORE_CACHE_KIB * 1024);
        if (used > (STORE_CACHE_KIB + 256) * 1024)
                fail_msg("SQLite holds %lld KiB more after filling a %lld KiB database; the cache "
                         "is %d KiB",
                         (long long)used / 1024, (long long)st.st_size / 1024, STORE_CACHE_KIB);
}

static void test_event_details(void **state)
{
        struct fixture *f = *state;
        struct store_event e = {.time = 1};
        int64_t id = -1;
        size_t n = 0;
        struct store_event *l = NULL;

        f->s = open_ok(f->path);
        strscpy(e.type, sizeof(e.type), "test");
        e.details = (char *)"{\"a\":";
        assert_int_equal(store_event_insert(f->s, &e, &id), -EINVAL);
        assert_int_equal(id, -1);
        assert_non_null(strstr(store_errmsg(f->s), "not JSON"));
        e.details = (char *)"[1,2]";
        assert_int_equal(store_event_insert(f->s, &e, &id), -EINVAL);
        e.details = (char *)"{\"a\":1,\"a\":2}";
        assert_int_equal(store_event_insert(f->s, &e, &id), -EINVAL);
        e.details = (char *)"{\"a\":1} trailing";
        assert_int_equal(store_event_insert(f->s, &e, &id), -EINVAL);
        e.details = NULL;
        e.type[0] = '\0';
        assert_int_equal(store_event_insert(f->s, &e, &id), -EINVAL);
        assert_int_equal(store_event_query(f->s, NULL, &l, &n), 0);
        assert_int_equal(n, 0);
        strscpy(e.type, sizeof(e.type), "test");
        e.details = (char *)"{\"k\": \"v\"}"; /* stored as given */
        assert_int_equal(store_event_insert(f->s, &e, NULL), 0);
        assert_int_equal(store_event_query(f->s, NULL, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].details, "{\"k\": \"v\"}");
        store_events_free(l, n);
}

/* ---- containers, queue, reservations, usage ---- */

static void test_containers(void **state)
{
        struct fixture *f = *state;
        struct store_container c = {0}, *l = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        strscpy(c.id, sizeof(c.id), "abc123");
        strscpy(c.name, sizeof(c.name), "alpha");
        strscpy(c.user, sizeof(c.user), "alice");
        strscpy(c.type, sizeof(c.type), "compose");
        strscpy(c.state, sizeof(c.state), "created");
        assert_int_equal(store_container_upsert(f->s, &c, 100), 0);
        strscpy(c.id, sizeof(c.id), "def456");
        strscpy(c.name, sizeof(c.name), "beta");
        strscpy(c.user, sizeof(c.user), "bob");
        assert_int_equal(store_container_upsert(f->s, &c, 150), 0);

        /* update: first_seen kept, unknown user does not wipe a known one */
        memset(&c, 0, sizeof(c));
        strscpy(c.id, sizeof(c.id), "abc123");
        strscpy(c.name, sizeof(c.name), "alpha");
        strscpy(c.state, sizeof(c.state), "running");
        assert_int_equal(store_container_upsert(f->s, &c, 200), 0);

        assert_int_equal(store_container_list(f->s, NULL, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0].id, "abc123");
        assert_string_equal(l[0].user, "alice");
        assert_string_equal(l[0].type, "compose");
        assert_string_equal(l[0].state, "running");
        assert_int_equal(l[0].first_seen, 100);
        assert_int_equal(l[0].last_seen, 200);
        free(l);
        assert_int_equal(store_container_list(f->s, "bob", &l, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].name, "beta");
        free(l);
        c.id[0] = '\0';
        assert_int_equal(store_container_upsert(f->s, &c, 300), -EINVAL);
}

/* Schema 2: the lifecycle columns of containers (a removal keeps what was
 * known), lifecycle state, grants and alerts round-trip. */
static void test_lifecycle_tables(void **state)
{
        struct fixture *f = *state;
        struct store_container c = {0}, *l = NULL;
        struct store_lc lc = {0}, *ll = NULL;
        struct store_grant g = {0}, *gl = NULL;
        struct store_alert a = {0}, *al = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        strscpy(c.id, sizeof(c.id), "abc123");
        strscpy(c.name, sizeof(c.name), "alpha");
        strscpy(c.user, sizeof(c.user), "alice");
        strscpy(c.type, sizeof(c.type), "atomic");
        strscpy(c.state, sizeof(c.state), "running");
        strscpy(c.interface, sizeof(c.interface), "atomic");
        strscpy(c.exempt, sizeof(c.exempt), "ds01.protected");
        c.pid = 4242;
        c.created_s = 1000;
        c.started_s = 1010;
        c.gpu = true;
        assert_int_equal(store_container_upsert(f->s, &c, 100), 0);
        memset(&c, 0, sizeof(c));
        strscpy(c.id, sizeof(c.id), "abc123");
        strscpy(c.state, sizeof(c.state), "removed");
        assert_int_equal(store_container_upsert(f->s, &c, 200), 0);
        assert_int_equal(store_container_list(f->s, NULL, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].state, "removed");
        assert_string_equal(l[0].interface, "atomic");
        assert_string_equal(l[0].exempt, "ds01.protected");
        assert_int_equal(l[0].pid, 0);
        assert_int_equal(l[0].created_s, 1000);
        assert_int_equal(l[0].started_s, 1010);
        assert_true(l[0].gpu);
        free(l);
        l = NULL;
        assert_int_equal(store_container_list_live(f->s, &l, &n), 0);
        assert_int_equal(n, 0);
        assert_null(l);

        strscpy(lc.container, sizeof(lc.container), "abc123");
        lc.started = 1010;
        lc.idle_since = 1500;
        lc.streak = 3;
        lc.warned = 5;
        lc.sent[1] = 1600;
        lc.cpu_ns = UINT64_MAX - 7;
        lc.net_bytes = 1ull << 40;
        lc.counters_at = 123456789;
        assert_int_equal(store_lc_put(f->s, &lc), 0);
        lc.streak = 4;
        assert_int_equal(store_lc_put(f->s, &lc), 0);
        assert_int_equal(store_lc_list(f->s, &ll, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ll[0].streak, 4);
        assert_int_equal(ll[0].warned, 5);
        assert_int_equal(ll[0].sent[1], 1600);
        assert_true(ll[0].cpu_ns == UINT64_MAX - 7);
        assert_true(ll[0].net_bytes == 1ull << 40);
        assert_int_equal(ll[0].counters_at, 123456789);
        free(ll);
        assert_int_equal(store_lc_delete(f->s, "abc123"), 0);
        assert_int_equal(store_lc_delete(f->s, "abc123"), -ENOENT);
        lc.container[0] = '\0';
        assert_int_equal(store_lc_put(f->s, &lc), -EINVAL);

        strscpy(g.user, sizeof(g.user), "bob");
        strscpy(g.granted_by, sizeof(g.granted_by), "erin");
        strscpy(g.reason, sizeof(g.reason), "profiling");
        g.granted_at = 5;
        g.expires = 0;
        assert_int_equal(store_grant_put(f->s, &g), 0);
        g.expires = 99;
        assert_int_equal(store_grant_put(f->s, &g), 0); /* replaces */
        assert_int_equal(store_grant_list(f->s, &gl, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(gl[0].expires, 99);
        assert_string_equal(gl[0].reason, "profiling");
        free(gl);
        assert_int_equal(store_grant_delete(f->s, "bob"), 0);
        assert_int_equal(store_grant_delete(f->s, "bob"), -ENOENT);

        strscpy(a.user, sizeof(a.user), "carol");
        strscpy(a.resource, sizeof(a.resource), "gpu");
        strscpy(a.level, sizeof(a.level), "high");
        a.used = 0.8;
        a.limit = 1.0;
        a.since = 10;
        assert_int_equal(store_alert_put(f->s, &a), 0);
        strscpy(a.level, sizeof(a.level), "reached");
        a.used = 1.0;
        assert_int_equal(store_alert_put(f->s, &a), 0);
        assert_int_equal(store_alert_list(f->s, &al, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(al[0].level, "reached");
        assert_true(al[0].used == 1.0 && al[0].limit == 1.0);
        free(al);
        assert_int_equal(store_alert_delete(f->s, "carol", "gpu"), 0);
        assert_int_equal(store_alert_delete(f->s, "carol", "gpu"), -ENOENT);
}

/* A database at schema 1 with rows migrates to 2 and keeps them. */
static void test_migrate_from_1(void **state)
{
        struct fixture *f = *state;
        struct store_container *l = NULL;
        size_t n = 0;
        char buf[64];

        f->s = open_ok(f->path);
        f->s = store_close(f->s);
        /* take the file back to version 1 */
        raw_exec(f->path, "DROP TABLE lifecycle; DROP TABLE access_grants; DROP TABLE alerts; "
                          "DROP INDEX containers_state; "
                          "ALTER TABLE containers DROP COLUMN interface; "
                          "ALTER TABLE containers DROP COLUMN pid; "
                          "ALTER TABLE containers DROP COLUMN created_s; "
                          "ALTER TABLE containers DROP COLUMN started_s; "
                          "ALTER TABLE containers DROP COLUMN finished_s; "
                          "ALTER TABLE containers DROP COLUMN gpu; "
                          "ALTER TABLE containers DROP COLUMN exempt; "
                          "ALTER TABLE allocations DROP COLUMN origin; "
                          "DELETE FROM schema_version WHERE version > 1; "
                          "INSERT INTO containers (id, name, user, type, state, first_seen, "
                          "last_seen) VALUES ('c1', 'old', 'alice', 'docker', 'running', 1, 2)");
        f->s = open_ok(f->path);
        assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
        raw_text(f->path, "SELECT COUNT(*) FROM schema_version", buf, sizeof(buf));
        assert_int_equal(strtol(buf, NULL, 10), STORE_SCHEMA_VERSION);
        assert_int_equal(store_container_list_live(f->s, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].name, "old");
        assert_int_equal(l[0].pid, 0);
        assert_false(l[0].gpu);
        free(l);
}

/* A database at schema 2 with an allocation migrates to 3: the row keeps
 * everything and has no origin; new rows keep theirs. */
static void test_migrate_from_2(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {"0", "1"};
        struct store_alloc a = make_alloc("0", "c1", "alice", STORE_ALLOC_ACTIVE), *l = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        sync_slots(f->s, names, 2);
        assert_int_equal(store_alloc_insert(f->s, &a, 10), 0);
        f->s = store_close(f->s);
        raw_exec(f->path, "ALTER TABLE allocations DROP COLUMN origin; "
                          "DELETE FROM schema_version WHERE version > 2");
        f->s = open_ok(f->path);
        assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
        a = make_alloc("1", "c2", "bob", STORE_ALLOC_ACTIVE);
        strscpy(a.origin, sizeof(a.origin), "proxy");
        assert_int_equal(store_alloc_insert(f->s, &a, 20), 0);
        assert_int_equal(store_alloc_list(f->s, NULL, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0].container, "c1");
        assert_string_equal(l[0].user, "alice");
        assert_string_equal(l[0].origin, "");
        assert_string_equal(l[1].origin, "proxy");
        free(l);
}

static void test_queue(void **state)
{
        struct fixture *f = *state;
        struct store_queue_entry q = {0}, q2 = {0}, got = {0}, *l = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        strscpy(q.user, sizeof(q.user), "alice");
        strscpy(q.container, sizeof(q.container), "train");
        q.count = -1;
        q.full = true;
        q.priority = 5;
        q.deadline = 9000;
        assert_int_equal(store_queue_insert(f->s, &q, 1000), 0);
        assert_true(q.id > 0);
        assert_int_equal(q.arrival, 1000);
        assert_int_equal(q.updated, 1000);
        q2 = q;
        strscpy(q2.user, sizeof(q2.user), "bob");
        q2.count = 2;
        q2.full = false;
        q2.arrival = 1100;
        assert_int_equal(store_queue_insert(f->s, &q2, 1200), 0);
        assert_true(q2.id > q.id);

        assert_int_equal(store_queue_get(f->s, q.id, &got), 0);
        assert_int_equal(got.id, q.id);
        assert_string_equal(got.user, "alice");
        assert_string_equal(got.container, "train");
        assert_int_equal(got.count, -1);
        assert_true(got.full);
        assert_int_equal(got.priority, 5);
        assert_int_equal(got.arrival, 1000);
        assert_int_equal(got.deadline, 9000);
        assert_int_equal(got.state, STORE_QUEUE_WAITING);

        assert_int_equal(store_queue_update(f->s, q.id, STORE_QUEUE_GRANTED, 2000), 0);
        assert_int_equal(store_queue_update(f->s, 999, STORE_QUEUE_LEFT, 2000), -ENOENT);
        got.id = 4242;
        assert_int_equal(store_queue_get(f->s, 999, &got), -ENOENT);
        assert_int_equal(got.id, 4242);

        assert_int_equal(store_queue_list(f->s, NULL, false, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(l[0].state, STORE_QUEUE_GRANTED);
        assert_int_equal(l[0].updated, 2000);
        assert_int_equal(l[1].arrival, 1100);
        free(l);
        assert_int_equal(store_queue_list(f->s, NULL, true, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].user, "bob");
        free(l);
        assert_int_equal(store_queue_list(f->s, "alice", true, &l, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(store_queue_list(f->s, "alice", false, &l, &n), 0);
        assert_int_equal(n, 1);
        free(l);

        assert_string_equal(store_queue_state_name(STORE_QUEUE_EXPIRED), "expired");
        assert_null(store_queue_state_name((enum store_queue_state)17));
        q.count = -2;
        assert_int_equal(store_queue_insert(f->s, &q, 1), -EINVAL);
}

static void test_reservations(void **state)
{
        struct fixture *f = *state;
        struct store_reservation r = {0}, *l = NULL;
        int64_t first;
        size_t n = 0;

        f->s = open_ok(f->path);
        strscpy(r.user, sizeof(r.user), "alice");
        strscpy(r.slots, sizeof(r.slots), "0,1.2");
        strscpy(r.reason, sizeof(r.reason), "deadline");
        strscpy(r.source, sizeof(r.source), "config");
        r.start = 2000;
        r.end = 3000;
        assert_int_equal(store_reservation_insert(f->s, &r, 42), 0);
        assert_int_equal(r.created, 42);
        first = r.id;
        memset(r.user, 0, sizeof(r.user));
        strscpy(r.group, sizeof(r.group), "lab");
        strscpy(r.source, sizeof(r.source), "admin");
        r.start = 1000;
        r.end = 1500;
        assert_int_equal(store_reservation_insert(f->s, &r, 43), 0);
        r.start = 500;
        r.end = 4000;
        strscpy(r.source, sizeof(r.source), "config");
        assert_int_equal(store_reservation_insert(f->s, &r, 44), 0);

        assert_int_equal(store_reservation_list(f->s, 0, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(l[0].start, 500); /* by start */
        assert_int_equal(l[1].start, 1000);
        assert_string_equal(l[1].group, "lab");
        assert_string_equal(l[1].user, "");
        assert_int_equal(l[2].id, first);
        assert_string_equal(l[2].user, "alice");
        assert_string_equal(l[2].slots, "0,1.2");
        assert_string_equal(l[2].reason, "deadline");
        assert_string_equal(l[2].source, "config");
        assert_int_equal(l[2].end, 3000);
        assert_int_equal(l[2].created, 42);
        free(l);
        /* end > now_s */
        assert_int_equal(store_reservation_list(f->s, 1500, &l, &n), 0);
        assert_int_equal(n, 2);
        free(l);

        assert_int_equal(store_reservation_delete_source(f->s, "config"), 2);
        assert_int_equal(store_reservation_list(f->s, 0, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0].source, "admin");
        assert_int_equal(store_reservation_delete(f->s, l[0].id), 0);
        assert_int_equal(store_reservation_delete(f->s, l[0].id), -ENOENT);
        free(l);

        r.end = r.start;
        assert_int_equal(store_reservation_insert(f->s, &r, 45), -EINVAL);
        r.end = r.start + 1;
        memset(r.group, 0, sizeof(r.group));
        assert_int_equal(store_reservation_insert(f->s, &r, 45), -EINVAL);
}

static void test_usage(void **state)
{
        struct fixture *f = *state;
        struct store_usage u = {0}, *l = NULL;
        size_t n = 0;

        f->s = open_ok(f->path);
        for (int i = 0; i < 6; i++) {
                strscpy(u.user, sizeof(u.user), i % 2 ? "bob" : "alice");
                strscpy(u.slot, sizeof(u.slot), i % 3 ? "1.0" : "0");
                u.time = 600 - i * 100; /* inserted newest first */
                u.gpu_seconds = 60.0 * (i + 1);
                u.used_seconds = 30.0 * (i + 1);
                assert_int_equal(store_usage_add(f->s, &u), 0);
        }
        assert_int_equal(store_usage_list(f->s, NULL, 0, &l, &n), 0);
        assert_int_equal(n, 6);
        for (size_t i = 1; i < n; i++)
                assert_true(l[i].time >= l[i - 1].time);
        assert_int_equal(l[0].time, 100);
        assert_string_equal(l[0].user, "bob");
        assert_string_equal(l[0].slot, "1.0");
        assert_true(l[0].gpu_seconds == 360.0);
        assert_true(l[0].used_seconds == 180.0);
        free(l);
        assert_int_equal(store_usage_list(f->s, "alice", 300, &l, &n), 0);
        assert_int_equal(n, 2); /* 600, 400 */
        assert_int_equal(l[0].time, 400);
        free(l);

        u.gpu_seconds = NAN;
        assert_int_equal(store_usage_add(f->s, &u), -EINVAL);
        u.gpu_seconds = 1;
        u.user[0] = '\0';
        assert_int_equal(store_usage_add(f->s, &u), -EINVAL);
}

static void test_state_names(void **state)
{
        enum store_alloc_state st = STORE_ALLOC_PENDING;

        for (int i = STORE_ALLOC_PENDING; i <= STORE_ALLOC_RELEASED; i++) {
                const char *name = store_alloc_state_name((enum store_alloc_state)i);
                assert_non_null(name);
                assert_int_equal(store_alloc_state_from_name(name, &st), 0);
                assert_int_equal(st, i);
        }
        assert_string_equal(store_alloc_state_name(STORE_ALLOC_HELD), "held");
        assert_null(store_alloc_state_name((enum store_alloc_state)4));
        st = STORE_ALLOC_HELD;
        assert_int_equal(store_alloc_state_from_name("Active", &st), -EINVAL);
        assert_int_equal(store_alloc_state_from_name(NULL, &st), -EINVAL);
        assert_int_equal(st, STORE_ALLOC_HELD);
}

/* ---- durability ---- */

/* The child: one transaction per allocation (insert, release, event), the
 * id written to the pipe only after COMMIT returned, until killed. */
static _Noreturn void writer(const char *path, int fd)
{
        struct store *s = NULL;

        if (store_open(path, &s, NULL, 0) < 0)
                _exit(2);
        for (int i = 0; i < 100000; i++) {
                struct store_alloc a = make_alloc("0", "job", "alice", STORE_ALLOC_ACTIVE);
                struct store_event e = {.time = i + 1};

                strscpy(e.type, sizeof(e.type), "gpu.allocated");
                if (store_begin(s) < 0 || store_alloc_insert(s, &a, i + 1) < 0)
                        _exit(3);
                snprintf(e.container, sizeof(e.container), "a%lld", (long long)a.id);
                if (store_event_insert(s, &e, NULL) < 0 ||
                    store_alloc_update(s, a.id, STORE_ALLOC_RELEASED, 0, "done", i + 1) < 0 ||
                    store_commit(s) < 0)
                        _exit(4);
                if (write(fd, &a.id, sizeof(a.id)) != (ssize_t)sizeof(a.id))
                        _exit(5);
        }
        _exit(0);
}

static void test_killed_writer_loses_nothing(void **state)
{
        struct fixture *f = *state;
        static const char *const names[] = {"0"};
        int64_t acked[4096], id;
        size_t n_acked = 0, n = 0, n_ev = 0;
        struct store_alloc *l = NULL;
        struct store_event *ev = NULL;
        int p[2], status;
        pid_t pid;

        f->s = open_ok(f->path);
        sync_slots(f->s, names, 1);
        f->s = store_close(f->s);

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                writer(f->path, p[1]);
        }
        close(p[1]);
        while (n_acked < 25 && read(p[0], &id, sizeof(id)) == (ssize_t)sizeof(id))
                acked[n_acked++] = id;
        assert_int_equal(n_acked, 25);
        assert_int_equal(kill(pid, SIGKILL), 0);
        /* what was written before the kill was acknowledged too */
        while (n_acked < ELEMENTSOF(acked) && read(p[0], &id, sizeof(id)) == (ssize_t)sizeof(id))
                acked[n_acked++] = id;
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);

        /* reopening runs quick_check: it must pass */
        f->s = open_ok(f->path);
        assert_int_equal(store_alloc_list(f->s, NULL, &l, &n), 0);
        assert_int_equal(store_event_query(f->s, NULL, &ev, &n_ev), 0);
        assert_true(n >= n_acked);
        /* allocation and event went in together, or not at all */
        assert_int_equal(n, n_ev);
        for (size_t i = 0; i < n; i++) {
                char want[32];

                if (i > 0)
                        assert_true(l[i].id > l[i - 1].id); /* no duplicates */
                assert_int_equal(l[i].state, STORE_ALLOC_RELEASED);
                snprintf(want, sizeof(want), "a%lld", (long long)l[i].id);
                assert_string_equal(ev[i].container, want);
        }
        for (size_t j = 0; j < n_acked; j++) {
                bool found = false;

                for (size_t i = 0; i < n && !found; i++)
                        found = l[i].id == acked[j];
                if (!found)
                        fail_msg("acknowledged allocation %lld is lost", (long long)acked[j]);
        }
        free(l);
        store_events_free(ev, n_ev);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        const struct CMUnitTest tests[] = {
            T(test_open_new),
            T(test_open_empty_file),
            T(test_open_garbage),
            T(test_open_truncated),
            T(test_open_damaged_page),
            T(test_open_quick_check_fails),
            T(test_open_foreign_database),
            T(test_open_newer_schema),
            T(test_open_deleted_with_wal_left),
            T(test_open_errors),
            T(test_transactions),
            T(test_second_connection_waits),
            T(test_slots),
            T(test_alloc_unique_slot),
            T(test_alloc_update_and_list),
            T(test_alloc_long_text),
            T(test_events),
            T(test_event_details),
            T(test_page_cache_bounded),
            T(test_containers),
            T(test_lifecycle_tables),
            T(test_migrate_from_1),
            T(test_migrate_from_2),
            T(test_queue),
            T(test_reservations),
            T(test_usage),
            cmocka_unit_test(test_state_names),
            T(test_killed_writer_loses_nothing),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
