/* test-config.c - the configuration loader: every kind of value, aliases,
 * side files, and every kind of bad input with its file:line:column. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config-helpers.h"
#include "config/config.h"
#include "config/resolve.h"
#include "config/schema.h"
#include "util/units.h"

static struct config *load(void **state, const char *yaml)
{
        struct config *c = config_test_load(yaml);

        *state = c;
        return c;
}

/* The diagnostic whose message contains text, or fail. */
static const struct cfg_diag *find_diag(const struct config *c, const char *text)
{
        for (size_t i = 0; i < c->n_diags; i++)
                if (strstr(c->diags[i].message, text))
                        return &c->diags[i];
        for (size_t i = 0; i < c->n_diags; i++)
                print_message("diag: %s\n", c->diags[i].message);
        fail_msg("no diagnostic contains '%s'", text);
        return NULL;
}

static void assert_diag_at(const struct config *c, const char *text, enum cfg_severity sev,
                           const char *file_suffix, unsigned line, unsigned column)
{
        const struct cfg_diag *d = find_diag(c, text);
        assert_int_equal(d->severity, sev);
        assert_non_null(d->src.file);
        assert_non_null(strstr(d->src.file, file_suffix));
        assert_int_equal(d->src.line, line);
        assert_int_equal(d->src.column, column);
}

static void test_values_of_every_kind(void **state)
{
        struct config *c = load(state, "defaults:\n"
                                       "  max_gpu_equivalents: 1.5\n"
                                       "  max_gpu_slots_per_container: 2\n"
                                       "  allow_full_gpu: yes\n"
                                       "  max_cpus: 32\n"
                                       "  memory: 32g\n"
                                       "  shm_size: \"16g\"\n"
                                       "  pids_limit: 4096\n"
                                       "  max_runtime_h: 24\n"
                                       "  idle_timeout_h: 0.5\n"
                                       "  gpu_hold_after_stop_h: 15m\n"
                                       "  container_hold_after_stop_h: null\n"
                                       "  max_tasks: ~\n"
                                       "  reservation_start: 2030-01-01T00:00:00Z\n"
                                       "  reservation_end: \"2030-01-08T00:00:00Z\"\n"
                                       "  reserved_gpus: [0, \"1.2\"]\n"
                                       "policies:\n"
                                       "  grace_period_m: 30\n"
                                       "  sigterm_grace_s: 45\n"
                                       "groups:\n"
                                       "  student:\n"
                                       "    aggregate:\n"
                                       "      cpu_quota: \"9600%\"\n"
                                       "      memory_max: 96G\n"
                                       "      tasks_max: 12288\n"
                                       "      gpu_limit: 2.0\n");
        const struct cfg_value *v = c->defaults.v;
        const struct config_group *g;

        assert_int_equal(c->n_errors, 0);
        assert_int_equal(c->n_warnings, 0);
        assert_true(v[LIMIT_MAX_GPU_EQUIVALENTS].f == 1.5);
        assert_int_equal(v[LIMIT_MAX_GPU_SLOTS_PER_CONTAINER].i, 2);
        assert_true(v[LIMIT_ALLOW_FULL_GPU].b);
        assert_true(v[LIMIT_MAX_CPUS].f == 32.0);
        assert_int_equal(v[LIMIT_MEMORY].size, 32ULL << 30);
        assert_string_equal(v[LIMIT_MEMORY].s, "32g");
        assert_int_equal(v[LIMIT_SHM_SIZE].size, 16ULL << 30);
        assert_int_equal(v[LIMIT_MAX_RUNTIME].secs, 86400);
        assert_int_equal(v[LIMIT_IDLE_TIMEOUT].secs, 1800); /* bare 0.5 in an _h key */
        assert_int_equal(v[LIMIT_GPU_HOLD_AFTER_STOP].secs, 900);
        assert_int_equal(v[LIMIT_CONTAINER_HOLD_AFTER_STOP].state, CFG_NULL);
        assert_int_equal(v[LIMIT_MAX_TASKS].state, CFG_NULL);
        assert_int_equal(v[LIMIT_PRIORITY].state, CFG_UNSET);
        assert_int_equal(v[LIMIT_RESERVATION_START].secs, 1893456000);
        assert_int_equal(v[LIMIT_RESERVED_GPUS].n_list, 2);
        assert_string_equal(v[LIMIT_RESERVED_GPUS].list[0], "0");
        assert_string_equal(v[LIMIT_RESERVED_GPUS].list[1], "1.2");
        assert_int_equal(c->policies[POLICY_GRACE_PERIOD].secs, 1800);
        assert_int_equal(c->policies[POLICY_SIGTERM_GRACE].secs, 45);

        g = config_find_group(c, "student");
        assert_non_null(g);
        assert_true(g->layer.has_aggregate);
        assert_true(g->layer.aggregate[AGG_CPU_QUOTA].f == 9600.0);
        assert_int_equal(g->layer.aggregate[AGG_MEMORY_MAX].size, 96ULL << 30);
        assert_int_equal(g->layer.aggregate[AGG_TASKS_MAX].i, 12288);
        assert_true(g->layer.aggregate[AGG_GPU_LIMIT].f == 2.0);
        /* Source positions are 1-based. */
        assert_int_equal(v[LIMIT_MEMORY].src.line, 6);
        assert_int_equal(v[LIMIT_MEMORY].src.column, 11);
}

static void test_aliases(void **state)
{
        struct config *c = load(state, "defaults:\n"
                                       "  max_mig_instances: 3\n"
                                       "  max_mig_per_container: 2\n"
                                       "groups:\n"
                                       "  student:\n"
                                       "    max_gpu_slots: 4\n"
                                       "    max_gpu_equivalents: 2.5\n"
                                       "gpu_allocation:\n"
                                       "  mig_instances_per_gpu: 7\n");
        const struct config_group *g = config_find_group(c, "student");

        assert_int_equal(c->n_errors, 0);
        assert_true(c->defaults.v[LIMIT_MAX_GPU_EQUIVALENTS].f == 3.0);
        assert_string_equal(c->defaults.v[LIMIT_MAX_GPU_EQUIVALENTS].key, "max_mig_instances");
        assert_int_equal(c->defaults.v[LIMIT_MAX_GPU_SLOTS_PER_CONTAINER].i, 2);
        assert_int_equal(c->gpu_allocation[GA_SLOTS_PER_GPU].i, 7);
        /* The new name wins over its alias, whatever the order, with a warning. */
        assert_true(g->layer.v[LIMIT_MAX_GPU_EQUIVALENTS].f == 2.5);
        assert_diag_at(c, "both set 'max_gpu_equivalents'", CFG_WARNING, "resource-limits.yaml", 7,
                       5);
        find_diag(c, "'max_mig_instances' is a legacy name; prefer 'max_gpu_equivalents'");
}

static void test_acceptance_three_errors(void **state)
{
        /* A typo'd key, a wrong type and broken indentation in one file: all
         * three reported with their positions, in file order. */
        struct config *c = load(state, "defaults:\n"
                                       "  max_gpu_equivalnts: 2\n"
                                       "  max_cpus: lots\n"
                                       "groups:\n"
                                       "  student:\n"
                                       "    allow_full_gpu: true\n"
                                       "   memory: 32g\n"
                                       "    max_cpus: 8\n");

        assert_int_equal(c->n_errors, 3);
        assert_diag_at(c,
                       "unknown key 'max_gpu_equivalnts' in defaults; did you mean "
                       "'max_gpu_equivalents'?",
                       CFG_ERROR, "resource-limits.yaml", 2, 3);
        assert_diag_at(c, "'max_cpus' must be a number, got 'lots'", CFG_ERROR,
                       "resource-limits.yaml", 3, 13);
        assert_diag_at(c, "YAML syntax error: did not find expected key", CFG_ERROR,
                       "resource-limits.yaml", 7, 4);
        assert_int_equal(c->diags[0].src.line, 2);
        assert_int_equal(c->diags[2].src.line, 7);
        /* A broken value is not stored: the key stays unconfigured. */
        assert_int_equal(c->defaults.v[LIMIT_MAX_CPUS].state, CFG_UNSET);
        /* What parses after the bad line is still read and checked. */
        assert_true(config_find_group(c, "student")->layer.v[LIMIT_ALLOW_FULL_GPU].b);
}

static void test_wrong_type_in_group(void **state)
{
        struct config *c = load(state, "groups:\n"
                                       "  student:\n"
                                       "    allow_full_gpu: maybe\n");
        assert_diag_at(c, "'allow_full_gpu' must be true or false, got 'maybe'", CFG_ERROR,
                       "resource-limits.yaml", 3, 21);
}

static void test_encoding_error_recovers(void **state)
{
        static const char bad[] = "defaults:\n  reason: caf\xe9\n  max_cpus: lots\n";
        char path[256];
        struct config *c = NULL;

        config_test_write("resource-limits.yaml", bad, sizeof(bad) - 1);
        snprintf(path, sizeof(path), "%s/resource-limits.yaml", config_test_dir);
        assert_int_equal(config_load(path, &c), 0);
        *state = c;
        assert_diag_at(c, "the file must be UTF-8 text", CFG_ERROR, "", 2, 14);
        assert_diag_at(c, "'max_cpus' must be a number", CFG_ERROR, "", 3, 13);
}

static void test_bad_indentation(void **state)
{
        struct config *c = load(state, "defaults:\n"
                                       "  max_cpus: 8\n"
                                       "   memory: 32g\n");
        assert_int_equal(c->n_errors, 1);
        assert_int_equal(c->diags[0].severity, CFG_ERROR);
        assert_non_null(strstr(c->diags[0].message, "YAML syntax error"));
        assert_int_equal(c->diags[0].src.line, 3);
}

static void test_tab_indentation(void **state)
{
        struct config *c = load(state, "defaults:\n\tmax_cpus: 8\n");
        assert_int_equal(c->n_errors, 1);
        assert_diag_at(c, "tab character", CFG_ERROR, "resource-limits.yaml", 2, 1);
}

static void test_wrong_types(void **state)
{
        struct config *c = load(state, "defaults:\n"
                                       "  max_gpu_slots_per_container: 1.5\n"
                                       "  pids_limit: \"4096\"\n"
                                       "  memory: lots\n"
                                       "  max_runtime_h: -3\n"
                                       "  max_cpus: -1\n"
                                       "  shm_size: null\n"
                                       "  members: [a]\n"
                                       "  reserved_gpus: [gpu0]\n"
                                       "  priority: [1, 2]\n"
                                       "default_group: [a]\n"
                                       "enforcement:\n"
                                       "  cgroup_driver: cgroupv3\n"
                                       "groups: [student]\n");
        assert_diag_at(c, "must be a whole number, got 1.5", CFG_ERROR, "", 2, 32);
        assert_diag_at(c, "remove the quotes", CFG_ERROR, "", 3, 15);
        assert_diag_at(c, "'memory' is not a size: 'lots'", CFG_ERROR, "", 4, 11);
        assert_diag_at(c, "'max_runtime_h' is not a duration: '-3'", CFG_ERROR, "", 5, 18);
        assert_diag_at(c, "'max_cpus' must be between", CFG_ERROR, "", 6, 13);
        assert_diag_at(c, "'shm_size' cannot be null", CFG_ERROR, "", 7, 13);
        assert_diag_at(c, "'members' is not allowed in defaults", CFG_ERROR, "", 8, 3);
        assert_diag_at(c, "'gpu0' is not a GPU slot", CFG_ERROR, "", 9, 19);
        assert_diag_at(c, "'priority' must be a single value, not a list", CFG_ERROR, "", 10, 13);
        assert_diag_at(c, "'default_group' must be a single value", CFG_ERROR, "", 11, 16);
        assert_diag_at(c, "'cgroup_driver' must be one of systemd|cgroupfs", CFG_ERROR, "", 13, 18);
        assert_diag_at(c, "groups must be a mapping", CFG_ERROR, "", 14, 9);
        assert_int_equal(c->n_errors, 12);
}

static void test_unknown_sections_and_ignored_keys(void **state)
{
        struct config *c = load(state, "defualts:\n"
                                       "  max_cpus: 8\n"
                                       "wizard:\n"
                                       "  default_mig_count: 1\n"
                                       "policies:\n"
                                       "  auto_stop_idle: true\n"
                                       "  gpu_idle_treshold: 5\n"
                                       "container_types:\n"
                                       "  devcontainers:\n"
                                       "    idle_timeout_h: 1\n"
                                       "  docker:\n"
                                       "    default_mig_count: {student: 1}\n");
        assert_diag_at(c, "unknown key 'defualts' in the top level; did you mean 'defaults'?",
                       CFG_ERROR, "", 1, 1);
        assert_diag_at(c, "'wizard' has no effect", CFG_WARNING, "", 3, 1);
        assert_diag_at(c, "'auto_stop_idle' has no effect", CFG_WARNING, "", 6, 3);
        assert_diag_at(c, "did you mean 'gpu_idle_threshold'?", CFG_ERROR, "", 7, 3);
        assert_diag_at(c, "unknown container type 'devcontainers'; did you mean 'devcontainer'?",
                       CFG_ERROR, "", 9, 3);
        assert_diag_at(c, "'default_mig_count' has no effect", CFG_WARNING, "", 12, 5);
        assert_int_equal(c->n_errors, 3);
}

static void test_default_group_must_exist(void **state)
{
        struct config *c = load(state, "default_group: students\n"
                                       "groups:\n"
                                       "  student: {}\n");
        assert_diag_at(c, "default_group 'students' is not defined under groups", CFG_ERROR, "", 1,
                       16);
}

static void test_global_only_policy_in_group(void **state)
{
        struct config *c = load(state, "groups:\n"
                                       "  student:\n"
                                       "    policies:\n"
                                       "      high_demand_threshold: 0.5\n"
                                       "      idle_detection_window: 4\n");
        const struct config_group *g = config_find_group(c, "student");
        assert_diag_at(c, "'high_demand_threshold' can only be set in the global policies",
                       CFG_ERROR, "", 4, 7);
        assert_int_equal(g->layer.policy[POLICY_IDLE_DETECTION_WINDOW].i, 4);
}

static void test_members_files(void **state)
{
        struct config *c;
        const struct config_group *g;

        config_test_put("groups/student.members",
                        "# students\nalice\n  bob  # the second\n\nalice\n");
        config_test_put("groups/archived.members", "oldtimer\n");
        config_test_put("groups/phantom.members", "ghost\n");
        static const char odd[] = "carol\nbad\xff\xfeuser\nx y\n\x01\n";
        config_test_write("groups/researcher.members", odd, sizeof(odd) - 1);
        c = load(state, "groups:\n"
                        "  student:\n"
                        "    members: [zed, alice]\n"
                        "  researcher: {}\n");
        g = config_find_group(c, "student");
        assert_int_equal(g->n_members, 3);
        assert_string_equal(g->members[0], "zed");
        assert_string_equal(g->members[1], "alice");
        assert_string_equal(g->members[2], "bob");
        assert_true(g->has_members_file);
        g = config_find_group(c, "researcher");
        assert_int_equal(g->n_members, 1);
        assert_string_equal(g->members[0], "carol");
        assert_diag_at(c, "not valid UTF-8; the line is skipped", CFG_ERROR, "researcher.members",
                       2, 4);
        assert_diag_at(c, "contains a space", CFG_ERROR, "researcher.members", 3, 1);
        assert_diag_at(c, "control character", CFG_ERROR, "researcher.members", 4, 1);
        assert_diag_at(c, "members file of group 'phantom'", CFG_ERROR, "phantom.members", 1, 1);
        /* archived.members is never read. */
        for (size_t i = 0; i < c->n_groups; i++)
                for (size_t j = 0; j < c->groups[i].n_members; j++)
                        assert_string_not_equal(c->groups[i].members[j], "oldtimer");
}

static void test_user_in_two_groups(void **state)
{
        struct config *c = load(state, "groups:\n"
                                       "  student:\n"
                                       "    members: [alice]\n"
                                       "  researcher:\n"
                                       "    members: [alice]\n");
        assert_diag_at(c, "user 'alice' is in groups 'student' and 'researcher'; the first",
                       CFG_WARNING, "", 4, 3);
        assert_int_equal(c->n_errors, 0);
}

static void test_overrides_file_wins(void **state)
{
        struct config *c;

        config_test_put("user-overrides.yaml",
                        "# overrides\nalice:\n  max_cpus: 4\nbob: {priority: 3}\n");
        c = load(state, "user_overrides:\n"
                        "  alice:\n"
                        "    max_cpus: 2\n"
                        "    memory: 8g\n");
        assert_int_equal(c->n_overrides, 2);
        assert_string_equal(c->overrides[0].user, "alice");
        /* The file's entry replaces the inline one whole. */
        assert_true(c->overrides[0].layer.v[LIMIT_MAX_CPUS].f == 4.0);
        assert_int_equal(c->overrides[0].layer.v[LIMIT_MEMORY].state, CFG_UNSET);
        assert_diag_at(c, "user 'alice' is overridden twice", CFG_WARNING, "user-overrides.yaml", 2,
                       1);
}

static void test_exemptions(void **state)
{
        struct config *c;

        config_test_put("lifecycle-exemptions.yaml",
                        "exemptions:\n"
                        "  - username: alice\n"
                        "    exempt_from: [idle_timeout, max_runtime]\n"
                        "    expires_on: null\n"
                        "    reason: thesis\n"
                        "  - username: bob\n"
                        "    exempt_from: [idle_timeout_h]\n"
                        "    expires_on: \"2030-06-30T23:59:59Z\"\n"
                        "  - username: carol\n"
                        "    exempt_from: [idle_timeout]\n"
                        "    expires_on: next tuesday\n"
                        "  - username: dave\n"
                        "    exempt_from: [naps]\n"
                        "    expires_on: null\n");
        c = load(state, "defaults: {}\n");
        assert_int_equal(c->n_errors, 0); /* problems in this file are warnings */
        assert_true(c->exemptions_loaded);
        assert_int_equal(c->n_exemptions, 4);
        assert_true(c->exemptions[0].valid && c->exemptions[0].permanent);
        assert_int_equal(c->exemptions[0].exempt_from, EXEMPT_IDLE_TIMEOUT | EXEMPT_MAX_RUNTIME);
        assert_int_equal(c->exemptions[1].expires, 1909094399);
        assert_int_equal(c->exemptions[1].exempt_from, EXEMPT_IDLE_TIMEOUT);
        assert_false(c->exemptions[2].valid);
        assert_diag_at(c, "expires_on 'next tuesday' is not a date", CFG_WARNING,
                       "lifecycle-exemptions.yaml", 11, 17);
        assert_diag_at(c, "unknown enforcement 'naps'", CFG_WARNING, "lifecycle-exemptions.yaml",
                       13, 18);
}

static void test_exemptions_malformed_file(void **state)
{
        struct config *c;

        config_test_put("lifecycle-exemptions.yaml", "exemptions:\n  - username: [\n");
        c = load(state, "defaults: {}\n");
        assert_int_equal(c->n_errors, 0);
        assert_false(c->exemptions_loaded);
        assert_int_equal(c->n_exemptions, 0);
        find_diag(c, "nobody is exempt");
}

static void test_missing_exemptions_file_is_a_note(void **state)
{
        struct config *c = load(state, "defaults: {}\n");
        assert_int_equal(c->n_errors, 0);
        assert_int_equal(c->n_warnings, 0);
        assert_int_equal(find_diag(c, "no lifecycle exemptions file")->severity, CFG_NOTE);
}

static void test_duplicate_keys(void **state)
{
        struct config *c = load(state, "defaults:\n  max_cpus: 4\n  max_cpus: 8\n");
        assert_true(c->defaults.v[LIMIT_MAX_CPUS].f == 8.0); /* as PyYAML: the last one */
        assert_diag_at(c, "duplicate key 'max_cpus' (also at line 2)", CFG_WARNING, "", 3, 3);
}

static void test_merge_keys(void **state)
{
        struct config *c = load(state, "groups:\n"
                                       "  student: {}\n"
                                       "  researcher: &research\n"
                                       "    max_cpus: 16\n"
                                       "    memory: 64g\n"
                                       "  faculty:\n"
                                       "    <<: *research\n"
                                       "    max_cpus: 32\n");
        const struct config_group *g = config_find_group(c, "faculty");
        assert_int_equal(c->n_errors, 0);
        assert_int_equal(c->n_warnings, 0);
        assert_true(g->layer.v[LIMIT_MAX_CPUS].f == 32.0);
        assert_int_equal(g->layer.v[LIMIT_MEMORY].size, 64ULL << 30);
}

static void test_merge_loop_refused(void **state)
{
        /* r merges itself, twice over: walked as written it never ends (found
         * by tests/fuzz/fuzz-config: 8 levels of 7 merges, minutes) */
        struct config *c = load(state, "groups:\n"
                                       "  research: &r\n"
                                       "    max_cpus: 16\n"
                                       "    <<: [*r, {memory: 8g}]\n"
                                       "    <<: *r\n");
        const struct config_group *g = config_find_group(c, "research");
        const char *msg = "the merge key (<<) in groups.research names a mapping that contains "
                          "it (a loop); remove that alias";
        unsigned lines = 0;

        assert_diag_at(c, msg, CFG_ERROR, "", 4, 5); /* the first */
        for (size_t i = 0; i < c->n_diags; i++)
                if (strstr(c->diags[i].message, msg))
                        lines = lines * 10 + c->diags[i].src.line;
        assert_int_equal(lines, 45); /* once for each key: lines 4 and 5 */
        assert_non_null(g);
        assert_true(g->layer.v[LIMIT_MAX_CPUS].f == 16.0);
}

static void test_merge_fanout_is_bounded(void **state)
{
        /* Each level merges the one below nine times: 9^8 mappings walked if
         * merge keys cost nothing from the walk budget. */
        char yaml[8192];
        size_t n = 0;

        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                              "x-l0: &l0 {max_cpus: 1}\ngroups:\n  g0: {}\n");
        for (int i = 1; i < 9; i++)
                n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                                      "  g%d: &l%d {<<: [*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,"
                                      "*l%d,*l%d]}\n",
                                      i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                                      i - 1);
        struct config *c = load(state, yaml);
        assert_non_null(c); /* it returns at all (within the test's time) */
}

static void test_alias_bomb_is_bounded(void **state)
{
        /* Each level names the one below nine times: 9^8 entries if expanded. */
        char yaml[4096];
        size_t n = 0;

        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "monitoring:\n  l0: &l0 [a]\n");
        for (int i = 1; i < 9; i++)
                n += (size_t)snprintf(
                    yaml + n, sizeof(yaml) - n,
                    "  l%d: &l%d [*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d]\n", i, i, i - 1,
                    i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        struct config *c = load(state, yaml);
        assert_true(c->n_errors > 0); /* unknown keys; and it returns at all */
}

static void test_big_file_refused(void **state)
{
        size_t len = 10u * 1024 * 1024;
        char *big = malloc(len);
        char path[256];
        struct config *c = NULL;

        assert_non_null(big);
        memset(big, '#', len);
        for (size_t i = 80; i < len; i += 81)
                big[i] = '\n';
        config_test_write("resource-limits.yaml", big, len);
        free(big);
        snprintf(path, sizeof(path), "%s/resource-limits.yaml", config_test_dir);
        assert_int_equal(config_load(path, &c), -EFBIG);
        *state = c;
        assert_non_null(c);
        assert_int_equal(c->n_errors, 1);
        find_diag(c, "file too large (the limit is 4 MiB)");
}

static void test_missing_file(void **state)
{
        struct config *c = NULL;
        assert_int_equal(config_load("/nonexistent/ds01/resource-limits.yaml", &c), -ENOENT);
        *state = c;
        assert_non_null(c);
        find_diag(c, "cannot read: No such file or directory");
}

static void test_not_utf8_and_empty(void **state)
{
        struct config *c;

        static const char bad[] = "groups:\n  student:\n    members: [al\xc3\x28ice]\n";
        config_test_write("resource-limits.yaml", bad, sizeof(bad) - 1);
        {
                char path[256];
                snprintf(path, sizeof(path), "%s/resource-limits.yaml", config_test_dir);
                assert_int_equal(config_load(path, &c), 0);
        }
        *state = c;
        assert_int_equal(c->n_errors, 1);
        assert_int_equal(c->diags[0].src.line, 3);
        config_free(c);
        *state = NULL;
        c = load(state, "# nothing but a comment\n");
        find_diag(c, "the file is empty");
}

static void test_nul_in_scalar(void **state)
{
        struct config *c = load(state, "default_group: \"stu\\0dent\"\n");
        find_diag(c, "contains a NUL byte");
}

static void test_user_names_checked(void **state)
{
        struct config *c = load(state, "groups:\n"
                                       "  student:\n"
                                       "    members: [\"a b\", \"\"]\n"
                                       "  bad-name: {}\n"
                                       "user_overrides:\n"
                                       "  \"x\\ty\": {}\n");
        find_diag(c, "contains a space");
        find_diag(c, "empty user name");
        assert_diag_at(c, "group name 'bad-name' may contain only", CFG_ERROR, "", 4, 3);
        find_diag(c, "control character");
}

static void test_reservation_checks(void **state)
{
        struct config *c = load(state, "user_overrides:\n"
                                       "  alice:\n"
                                       "    reservation_start: 2030-01-02\n"
                                       "    reservation_end: 2030-01-01\n"
                                       "    reserved_gpus: [0]\n"
                                       "  bob:\n"
                                       "    reserved_gpus: [1]\n"
                                       "defaults:\n"
                                       "  memory: 32g\n"
                                       "  memory_swap: 16g\n");
        find_diag(c, "user_overrides.alice: reservation_end (2030-01-01) is not after");
        find_diag(c, "user_overrides.bob: a reservation needs reservation_start");
        find_diag(c, "memory_swap (16g) is smaller than memory (32g");
}

static void test_memory_swap_across_layers(void **state)
{
        /* Each layer alone is fine; a member of student gets 64g with 32g swap. */
        struct config *c = load(state, "defaults:\n"
                                       "  memory: 32g\n"
                                       "  memory_swap: 32g\n"
                                       "groups:\n"
                                       "  student:\n"
                                       "    memory: 64g\n"
                                       "  researcher:\n"
                                       "    memory: 16g\n");
        assert_int_equal(c->n_errors, 1);
        assert_diag_at(c, "memory_swap (32g) is smaller than memory (64g", CFG_ERROR, "", 3, 16);
}

static void test_global_only_policy_reported_once(void **state)
{
        struct config *c = load(state, "groups:\n"
                                       "  student:\n"
                                       "    policies:\n"
                                       "      grace_period_m: 5\n"
                                       "      auto_stop_idle: true\n");
        assert_int_equal(c->n_errors, 1);
        assert_diag_at(c, "'grace_period_m' can only be set in the global policies", CFG_ERROR, "",
                       4, 7);
        assert_diag_at(c, "'auto_stop_idle' has no effect", CFG_WARNING, "", 5, 7);
}

/* proxy: connection limits and timeouts; defaults, values, null, errors */
static void test_proxy_section(void **state)
{
        struct global_settings g;
        struct config *c = load(state, "proxy:\n"
                                       "  head_timeout_s: 5\n"
                                       "  idle_timeout_s: 2m\n"
                                       "  body_timeout_s: null\n"
                                       "  max_connections_per_user: 16\n"
                                       "  max_connections: null\n");

        assert_int_equal(c->n_errors, 0);
        config_global_settings(c, &g);
        assert_int_equal(g.proxy_head_timeout, 5);
        assert_int_equal(g.proxy_idle_timeout, 120);
        assert_true(g.proxy_body_timeout == DURATION_INFINITY);
        assert_int_equal(g.proxy_max_connections_per_user, 16);
        assert_int_equal(g.proxy_max_connections, 0); /* null: no cap */
        config_free(c);

        c = load(state, "proxy:\n  head_timeout_s: 0\n");
        assert_int_equal(c->n_errors, 0);
        config_global_settings(c, &g);
        assert_int_equal(g.proxy_head_timeout, 1); /* at least a second */
        assert_int_equal(g.proxy_idle_timeout, DEFAULT_PROXY_IDLE_TIMEOUT);
        assert_int_equal(g.proxy_body_timeout, DEFAULT_PROXY_BODY_TIMEOUT);
        assert_int_equal(g.proxy_max_connections_per_user, DEFAULT_PROXY_MAX_CONNECTIONS_USER);
        assert_int_equal(g.proxy_max_connections, DEFAULT_PROXY_MAX_CONNECTIONS);
        config_free(c);

        c = load(state, "proxy:\n"
                        "  head_timeout_s: soon\n"
                        "  max_connections_per_user: 0\n"
                        "  max_connection: 5\n");
        assert_diag_at(c, "'head_timeout_s' is not a duration: 'soon'", CFG_ERROR, "", 2, 19);
        assert_diag_at(c, "'max_connections_per_user' must be between", CFG_ERROR, "", 3, 29);
        assert_diag_at(c, "did you mean 'max_connections'", CFG_ERROR, "", 4, 3);
        assert_int_equal(c->n_errors, 3);
}

static void test_diag_format(void **state)
{
        struct cfg_diag d = {CFG_ERROR, {"/etc/ds01/resource-limits.yaml", 3, 7}, "boom"};
        char *s = cfg_diag_format(&d);
        assert_string_equal(s, "/etc/ds01/resource-limits.yaml:3:7: error: boom");
        free(s);
}

static void test_every_schema_key_documented(void **state)
{
        /* docs/CONFIG.md names every key as `key`. */
        const char *src = getenv("DS01_SOURCE_DIR");
        char path[4096];
        FILE *f;
        char *doc;
        long len;

        assert_non_null(src);
        snprintf(path, sizeof(path), "%s/docs/CONFIG.md", src);
        f = fopen(path, "re");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        doc = calloc(1, (size_t)len + 1);
        assert_int_equal(fread(doc, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        for (size_t s = 0; s < cfg_n_sections; s++)
                for (size_t k = 0; k < cfg_sections[s]->n_keys; k++) {
                        char needle[128];
                        snprintf(needle, sizeof(needle), "`%s`", cfg_sections[s]->keys[k].name);
                        if (!strstr(doc, needle))
                                fail_msg("docs/CONFIG.md does not document %s (section %s)", needle,
                                         cfg_sections[s]->path);
                }
        free(doc);
}

#define setup    config_test_setup
#define teardown config_test_teardown

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_values_of_every_kind, setup, teardown),
            cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
            cmocka_unit_test_setup_teardown(test_acceptance_three_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_wrong_type_in_group, setup, teardown),
            cmocka_unit_test_setup_teardown(test_encoding_error_recovers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_indentation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tab_indentation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unknown_sections_and_ignored_keys, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_default_group_must_exist, setup, teardown),
            cmocka_unit_test_setup_teardown(test_global_only_policy_in_group, setup, teardown),
            cmocka_unit_test_setup_teardown(test_members_files, setup, teardown),
            cmocka_unit_test_setup_teardown(test_user_in_two_groups, setup, teardown),
            cmocka_unit_test_setup_teardown(test_overrides_file_wins, setup, teardown),
            cmocka_unit_test_setup_teardown(test_exemptions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_exemptions_malformed_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_missing_exemptions_file_is_a_note, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_duplicate_keys, setup, teardown),
            cmocka_unit_test_setup_teardown(test_merge_keys, setup, teardown),
            cmocka_unit_test_setup_teardown(test_merge_loop_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_merge_fanout_is_bounded, setup, teardown),
            cmocka_unit_test_setup_teardown(test_alias_bomb_is_bounded, setup, teardown),
            cmocka_unit_test_setup_teardown(test_big_file_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_not_utf8_and_empty, setup, teardown),
            cmocka_unit_test_setup_teardown(test_nul_in_scalar, setup, teardown),
            cmocka_unit_test_setup_teardown(test_user_names_checked, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reservation_checks, setup, teardown),
            cmocka_unit_test_setup_teardown(test_memory_swap_across_layers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_global_only_policy_reported_once, setup, teardown),
            cmocka_unit_test_setup_teardown(test_proxy_section, setup, teardown),
            cmocka_unit_test(test_diag_format),
            cmocka_unit_test(test_every_schema_key_documented),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
