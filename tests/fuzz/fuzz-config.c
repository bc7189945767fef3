/* fuzz-config.c - libFuzzer target for the configuration loader.
 *
 * The input is split at the first line "#--members--": what comes before is
 * written as resource-limits.yaml, what comes after as groups/student.members,
 * in a private folder; then the whole loader runs (YAML, schema walk, members
 * file, checks) and every user named in the config is resolved. The corpus in
 * tests/fuzz/corpus/config also runs under plain gcc through replay.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char yaml_path[256];
static char members_path[256];

static void cleanup(void)
{
        char groups[160];

        unlink(yaml_path);
        unlink(members_path);
        snprintf(groups, sizeof(groups), "%s/groups", dir);
        rmdir(groups);
        rmdir(dir);
}

static int setup(void)
{
        char groups[160];

        if (dir[0])
                return 0;
        snprintf(dir, sizeof(dir), "/tmp/ds01-fuzz-XXXXXX");
        if (!mkdtemp(dir))
                return -errno;
        snprintf(groups, sizeof(groups), "%s/groups", dir);
        if (mkdir(groups, 0700) < 0)
                return -errno;
        snprintf(yaml_path, sizeof(yaml_path), "%s/resource-limits.yaml", dir);
        snprintf(members_path, sizeof(members_path), "%s/student.members", groups);
        atexit(cleanup);
        return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t size)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        while (size > 0) {
                ssize_t n = write(fd, data, size);
                if (n < 0) {
                        close(fd);
                        return -errno;
                }
                data += n;
                size -= (size_t)n;
        }
        close(fd);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char marker[] = "\n#--members--\n";
        const uint8_t *split = NULL;
        struct config *c = NULL;
        size_t yaml_size = size;

        if (setup() < 0)
                abort();
        for (size_t i = 0; i + sizeof(marker) - 1 <= size; i++)
                if (memcmp(data + i, marker, sizeof(marker) - 1) == 0) {
                        split = data + i + sizeof(marker) - 1;
                        yaml_size = i;
                        break;
                }
        if (write_file(yaml_path, data, yaml_size) < 0)
                abort();
        if (split) {
                if (write_file(members_path, split, size - (size_t)(split - data)) < 0)
                        abort();
        } else {
                unlink(members_path);
        }

        if (config_load(yaml_path, &c) < 0 && !c)
                return 0;
        if (c && c->n_errors == 0) {
                const char *probe[] = {"alice", "h.baker@example.org", "", "student1"};
                for (size_t g = 0; g < c->n_groups; g++)
                        for (size_t m = 0; m < c->groups[g].n_members; m++) {
                                struct user_limits l;
                                if (config_resolve_user(c, c->groups[g].members[m], &l) >= 0)
                                        user_limits_release(&l);
                        }
                for (size_t i = 0; i < c->n_overrides; i++) {
                        struct user_limits l;
                        if (config_resolve_user(c, c->overrides[i].user, &l) >= 0)
                                user_limits_release(&l);
                }
                for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
                        struct user_limits l;
                        if (config_resolve_user(c, probe[i], &l) >= 0)
                                user_limits_release(&l);
                }
        }
        for (size_t i = 0; c && i < c->n_diags; i++)
                free(cfg_diag_format(&c->diags[i]));
        config_free(c);
        return 0;
}
