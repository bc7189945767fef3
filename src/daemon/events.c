/* SPDX-License-Identifier: MIT */
/*
 * events.c - writing an event: one row in the events table (inside the open
 * transaction, if any) and one line in <log-dir>/events.jsonl in the record
 * format of existing DS01 installations. The file is written after COMMIT, so
 * it never shows a decision the database does not have. Neither can fail a
 * decision: errors are counted in d->event_errors and logged. A full disk
 * under the log folder loses lines of the file only (the database has them);
 * writing resumes by itself when space returns, and a file that could not be
 * opened is opened again.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "store/event-record.h"
#include "store/eventlog.h"
#include "util/log.h"
#include "util/strutil.h"

#define PENDING_LINES_MAX 4096

static void count_error(struct ds01d *d, const char *what, int r)
{
        d->event_errors++;
        log_warning_errno(r, "cannot write an event to %s: %m", what);
}

void daemon_event(struct ds01d *d, const char *type, const char *user, json_t *details)
{
        struct event_record rec = {0};
        struct store_event row = {0};
        char *line = NULL, **v;
        size_t len = 0;
        int r;

        rec.time_us = now_us();
        (void)strscpy(rec.type, sizeof(rec.type), type);
        rec.user = (char *)(user ? user : "");
        rec.source = (char *)"ds01d";
        rec.details = details;

        row.time = rec.time_us;
        (void)strscpy(row.type, sizeof(row.type), type);
        (void)strscpy(row.user, sizeof(row.user), user ? user : "");
        (void)strscpy(row.source, sizeof(row.source), "ds01d");
        if (details) {
                json_t *c = json_object_get(details, "container");
                if (json_is_string(c))
                        (void)strscpy(row.container, sizeof(row.container), json_string_value(c));
                if (json_object_size(details) > 0)
                        row.details = json_dumps(details, JSON_COMPACT | JSON_PRESERVE_ORDER);
        }
        r = store_event_insert(d->store, &row, NULL);
        if (r < 0)
                count_error(d, "the database", r);
        d->event_db_failing = r < 0;
        free(row.details);

        r = event_record_format(&rec, &line, &len);
        json_decref(details);
        if (r < 0) {
                count_error(d, "events.jsonl", r);
                return;
        }
        if (d->n_pending_lines >= PENDING_LINES_MAX) {
                free(line);
                count_error(d, "events.jsonl", -ENOBUFS);
                return;
        }
        v = reallocarray(d->pending_lines, d->n_pending_lines + 1, sizeof(*v));
        if (!v) {
                free(line);
                count_error(d, "events.jsonl", -ENOMEM);
                return;
        }
        d->pending_lines = v;
        d->pending_lines[d->n_pending_lines++] = line;
}

/* The event log; when it could not be opened (at start, say, with the disk
 * full or the folder missing), opened again, at most once a second, so
 * logging resumes by itself. Under d->lock. */
static struct eventlog *event_log(struct ds01d *d)
{
        static int64_t last_try;
        char path[4200];
        int64_t now;
        int r;

        if (d->eventlog)
                return d->eventlog;
        now = now_us();
        if (last_try != 0 && now - last_try < 1000000)
                return NULL;
        last_try = now;
        (void)snprintf(path, sizeof(path), "%s/events.jsonl", d->opt.log_dir);
        r = eventlog_open(path, &d->eventlog);
        if (r < 0) {
                d->eventlog = NULL;
                return NULL;
        }
        log_info("writing events to %s again", path);
        return d->eventlog;
}

void daemon_events_flush(struct ds01d *d)
{
        bool *failing = &d->event_file_failing; /* the last line could not be written */

        for (size_t i = 0; i < d->n_pending_lines; i++) {
                struct eventlog *l = event_log(d);
                int r = l ? eventlog_append(l, d->pending_lines[i], strlen(d->pending_lines[i]))
                          : -EBADF;
                /* counted each, logged once per failing run */
                if (r < 0) {
                        d->event_errors++;
                        if (!*failing)
                                log_warning_errno(r,
                                                  "cannot write to %s/events.jsonl (disk full?); "
                                                  "events are kept in the database until it can "
                                                  "be written again",
                                                  d->opt.log_dir);
                        *failing = true;
                } else if (*failing) {
                        *failing = false;
                        log_info("events are written to %s/events.jsonl again", d->opt.log_dir);
                }
                free(d->pending_lines[i]);
        }
        d->pending_lines = mfree(d->pending_lines);
        d->n_pending_lines = 0;
}

void daemon_events_drop(struct ds01d *d)
{
        for (size_t i = 0; i < d->n_pending_lines; i++)
                free(d->pending_lines[i]);
        d->pending_lines = mfree(d->pending_lines);
        d->n_pending_lines = 0;
}

void daemon_event_now(struct ds01d *d, const char *type, const char *user, json_t *details)
{
        daemon_event(d, type, user, details);
        daemon_events_flush(d);
}
