/* tracker.c - the two-scan tracker of GPU processes (pure, no I/O): a process
 * becomes an entry when a scan first shows it (pending), is reported when
 * the next scan shows it again (confirmed), and leaves when a scan no longer
 * shows it (reported as exited if it was confirmed).
 *
 * Every update builds the new entry array next to the old one: all memory is
 * taken first, so a failure leaves the tracker as it was, and what follows
 * cannot fail. Entries are looked up by identity (pid, start time, slot) in
 * two small open-addressing hash tables, one over the old entries and one
 * over the new ones (a scan may name the same process twice; the later
 * sighting wins). The new array is in the order of the scan. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostproc/hostproc.h"
#include "util/macro.h"

#define NO_INDEX SIZE_MAX

static size_t slot_len(const struct hp_seen *s)
{
        return strnlen(s->slot, sizeof(s->slot));
}

static bool same_identity(const struct hp_seen *a, const struct hp_seen *b)
{
        size_t la = slot_len(a);

        return a->pid == b->pid && a->start_time == b->start_time && la == slot_len(b) &&
               memcmp(a->slot, b->slot, la) == 0;
}

/* FNV-1a over the identity. */
static uint64_t identity_hash(const struct hp_seen *s)
{
        const uint64_t prime = 0x100000001b3ULL;
        uint64_t h = 0xcbf29ce484222325ULL;
        uint64_t words[2] = {(uint64_t)(int64_t)s->pid, s->start_time};
        size_t n = slot_len(s);

        for (size_t w = 0; w < ELEMENTSOF(words); w++)
                for (unsigned k = 0; k < 64; k += 8)
                        h = (h ^ ((words[w] >> k) & 0xff)) * prime;
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s->slot[i]) * prime;
        return h;
}

/* An open-addressing table of indexes into an array of entries; cap is a
 * power of two, at least twice the number of keys. */
struct table {
        size_t *slots;
        size_t cap;
};

static size_t table_cap(size_t keys)
{
        size_t cap = 8;

        while (cap < keys * 2)
                cap *= 2;
        return cap;
}

static size_t table_find(const struct table *tb, const struct hp_entry *e,
                         const struct hp_seen *key)
{
        size_t mask = tb->cap - 1;

        for (size_t i = (size_t)identity_hash(key) & mask;; i = (i + 1) & mask) {
                size_t v = tb->slots[i];

                if (v == NO_INDEX || same_identity(&e[v].p, key))
                        return i;
        }
}

void hp_changes_release(struct hp_changes *ch)
{
        if (!ch)
                return;
        free(ch->discovered);
        free(ch->exited);
        *ch = (struct hp_changes){0};
}

void hp_tracker_release(struct hp_tracker *t)
{
        if (!t)
                return;
        free(t->e);
        *t = (struct hp_tracker){0};
}

int hp_tracker_update(struct hp_tracker *t, const struct hp_seen *seen, size_t n, int64_t now,
                      struct hp_changes *ch)
{
        struct hp_entry *ne = NULL, *exited = NULL;
        size_t *discovered = NULL, *scratch = NULL;
        bool *kept = NULL;
        struct table old_tb, new_tb;
        size_t cnt = 0, n_disc = 0, n_exit = 0;

        if (!t || (n > 0 && !seen))
                return -EINVAL;
        if (n > SIZE_MAX / 4 / sizeof(struct hp_entry) ||
            t->n > SIZE_MAX / 4 / sizeof(struct hp_entry))
                return -ENOMEM;

        /* Everything this update needs, before anything changes. */
        old_tb.cap = table_cap(t->n);
        new_tb.cap = table_cap(n);
        if (n > 0)
                ne = malloc(n * sizeof(*ne));
        scratch = malloc((old_tb.cap + new_tb.cap) * sizeof(size_t));
        kept = calloc(t->n + 1, sizeof(*kept));
        if (ch) {
                discovered = malloc((n + 1) * sizeof(*discovered));
                exited = malloc((t->n + 1) * sizeof(*exited));
        }
        if ((n > 0 && !ne) || !scratch || !kept || (ch && (!discovered || !exited))) {
                free(ne);
                free(scratch);
                free(kept);
                free(discovered);
                free(exited);
                return -ENOMEM;
        }
        old_tb.slots = scratch;
        new_tb.slots = scratch + old_tb.cap;
        for (size_t i = 0; i < old_tb.cap + new_tb.cap; i++)
                scratch[i] = NO_INDEX;
        for (size_t j = 0; j < t->n; j++) {
                size_t s = table_find(&old_tb, t->e, &t->e[j].p);

                /* Entries are unique by identity; keep the first if not. */
                if (old_tb.slots[s] == NO_INDEX)
                        old_tb.slots[s] = j;
        }

        for (size_t i = 0; i < n; i++) {
                const struct hp_seen *s = &seen[i];
                size_t ns = table_find(&new_tb, ne, s);
                size_t os;
                struct hp_entry *e;

                if (new_tb.slots[ns] != NO_INDEX) {
                        /* Twice in one scan: the later sighting refreshes. */
                        ne[new_tb.slots[ns]].p = *s;
                        continue;
                }
                e = &ne[cnt];
                os = table_find(&old_tb, t->e, s);
                if (old_tb.slots[os] == NO_INDEX) {
                        *e = (struct hp_entry){
                            .state = HP_PENDING,
                            .first_seen = now,
                            .last_seen = now,
                        };
                } else {
                        size_t j = old_tb.slots[os];

                        *e = t->e[j];
                        kept[j] = true;
                        if (e->state == HP_PENDING) {
                                e->state = HP_CONFIRMED;
                                e->confirmed_at = now;
                                if (discovered)
                                        discovered[n_disc++] = cnt;
                        }
                }
                /* Identity is equal; memory, users, cmdline and container
                 * are the newest scan's. */
                e->p = *s;
                e->last_seen = now;
                new_tb.slots[ns] = cnt++;
        }

        for (size_t j = 0; j < t->n; j++)
                if (!kept[j] && t->e[j].state == HP_CONFIRMED && exited)
                        exited[n_exit++] = t->e[j];

        free(scratch);
        free(kept);
        free(t->e);
        t->e = ne;
        t->n = cnt;
        t->cap = ne ? n : 0;

        if (ch) {
                if (n_disc == 0)
                        discovered = mfree(discovered);
                if (n_exit == 0)
                        exited = mfree(exited);
                *ch = (struct hp_changes){
                    .discovered = discovered,
                    .n_discovered = n_disc,
                    .exited = exited,
                    .n_exited = n_exit,
                };
        }
        return 0;
}
