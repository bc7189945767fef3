/* SPDX-License-Identifier: MIT */
/*
 * events.c - writing an event: one row in the events table (inside the open
 * transaction, if any) and one line in <log-dir>/events.jsonl in the record
 * format of existing DS01 installations. The file is written after COMMIT, so
 * it never shows a decision the database does not have. Neither can fail a
 * decision: errors are counted in d->event_errors and logged.
 */
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

void daemon_events_flush(struct ds01d *d)
{
        for (size_t i = 0; i < d->n_pending_lines; i++) {
                if (d->eventlog) {
                        int r = eventlog_append(d->eventlog, d->pending_lines[i],
                                                strlen(d->pending_lines[i]));
                        if (r < 0)
                                d->event_errors++;
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
