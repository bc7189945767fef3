/* test-resolve.c - "what may this user have?": the pinned results of the
 * legacy DS01 fixture, and the layering rules (groups, overrides, priority,
 * policies, aggregates, exemptions). */
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
#include "util/units.h"

static struct config *load_fixture(const char *name)
{
        const char *fixtures = getenv("DS01_TEST_FIXTURES");
        char path[4096];
        struct config *c = NULL;

        assert_non_null(fixtures);
        snprintf(path, sizeof(path), "%s/config/%s/resource-limits.yaml", fixtures, name);
        assert_int_equal(config_load(path, &c), 0);
        for (size_t i = 0; i < c->n_diags; i++)
                if (c->diags[i].severity == CFG_ERROR)
                        print_message("unexpected: %s\n", c->diags[i].message);
        assert_int_equal(c->n_errors, 0);
        return c;
}

static struct config *load_str(const char *yaml)
{
        struct config *c = config_test_load(yaml);

        for (size_t i = 0; i < c->n_diags; i++)
                if (c->diags[i].severity == CFG_ERROR)
                        print_message("unexpected: %s\n", c->diags[i].message);
        assert_int_equal(c->n_errors, 0);
        return c;
}

struct pinned {
        const char *user;
        const char *group;
        double gpus; /* INFINITY = unlimited */
        double cpus;
        const char *memory;
        long long priority;
};

/* The pinned results of the issue, from the legacy fixture. */
static const struct pinned legacy[] = {
    {"student1", "students", 1, 8, "32g", 10},
    {"student2", "students", 1, 8, "32g", 10},
    {"testuser", "students", 1, 8, "32g", 10},
    {"researcher1", "researchers", 2, 16, "64g", 50},
    {"admin1", "admins", INFINITY, 32, "128g", 100},
    {"special_user", "students", 4, 8, "32g", 90},
    {"somebody_new", "students", 1, 8, "32g", 10},
};

static void test_legacy_pinned(void **state)
{
        struct config *c = *state = load_fixture("legacy");

        for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
                const struct pinned *p = &legacy[i];
                struct user_limits l;

                assert_int_equal(config_resolve_user(c, p->user, &l), 0);
                assert_string_equal(l.group, p->group);
                if (isinf(p->gpus))
                        assert_true(isinf(l.max_gpu_equivalents));
                else
                        assert_true(fabs(l.max_gpu_equivalents - p->gpus) < 1e-9);
                assert_true(l.max_cpus == p->cpus);
                assert_string_equal(l.memory.text, p->memory);
                assert_int_equal(l.priority, p->priority);
                user_limits_release(&l);
        }
}

static void test_legacy_details(void **state)
{
        struct config *c = *state = load_fixture("legacy");
        struct user_limits l;

        /* A null idle_timeout_h stays unlimited (admins), defaults' values
         * apply elsewhere: 0.01 h = 36 s. */
        assert_int_equal(config_resolve_user(c, "admin1", &l), 0);
        assert_int_equal(l.idle_timeout, DURATION_INFINITY);
        assert_int_equal(l.max_runtime, 72);
        user_limits_release(&l);

        assert_int_equal(config_resolve_user(c, "special_user", &l), 0);
        assert_string_equal(l.override_key, "special_user");
        assert_int_equal(l.max_runtime, 180);
        assert_int_equal(l.idle_timeout, 36);
        assert_string_equal(l.slice, "ds01-students-special_user.slice");
        assert_int_equal(l.group_source, GROUP_FROM_DEFAULT);
        user_limits_release(&l);

        assert_int_equal(config_resolve_user(c, "somebody_new", &l), 0);
        assert_int_equal(l.group_source, GROUP_FROM_DEFAULT);
        assert_int_equal(l.max_containers, 2);
        assert_int_equal(l.pids_limit, 4096);
        assert_string_equal(l.memory_swap.text, "32g"); /* = memory when unset */
        assert_false(l.aggregate.present);
        assert_false(l.has_reservation);
        user_limits_release(&l);
}

static void test_override_merges_over_own_group(void **state)
{
        struct config *c = *state = load_str("defaults:\n"
                                             "  max_cpus: 8\n"
                                             "  memory: 16g\n"
                                             "groups:\n"
                                             "  student: {}\n"
                                             "  researcher:\n"
                                             "    members: [carol]\n"
                                             "    max_cpus: 48\n"
                                             "    memory: 64g\n"
                                             "    priority: 50\n"
                                             "    aggregate:\n"
                                             "      cpu_quota: \"24000%\"\n"
                                             "      gpu_limit: 4\n"
                                             "user_overrides:\n"
                                             "  carol:\n"
                                             "    memory: 128g\n"
                                             "    aggregate:\n"
                                             "      gpu_limit: 6\n");
        struct user_limits l;

        assert_int_equal(config_resolve_user(c, "carol", &l), 0);
        /* Unlike the old scripts: the researcher keeps researcher values. */
        assert_string_equal(l.group, "researcher");
        assert_true(l.max_cpus == 48);
        assert_string_equal(l.memory.text, "128g");
        assert_string_equal(l.slice, "ds01-researcher-carol.slice");
        /* An override without priority gets 100. */
        assert_int_equal(l.priority, 100);
        assert_true(l.aggregate.present);
        assert_true(l.aggregate.cpu_quota_percent == 24000);
        assert_true(l.aggregate.gpu_limit == 6);
        user_limits_release(&l);
}

static void test_sanitized_lookups(void **state)
{
        struct config *c;
        struct user_limits l;

        config_test_put("groups/researcher.members", "h_baker\n");
        c = *state = load_str("groups:\n"
                              "  student: {}\n"
                              "  researcher: {max_cpus: 48}\n"
                              "user_overrides:\n"
                              "  h_baker: {priority: 70}\n"
                              "  j.doe@example.org: {priority: 60}\n"
                              "  j_doe: {priority: 61}\n");
        assert_int_equal(config_resolve_user(c, "h.baker@hertie-school.lan", &l), 0);
        assert_string_equal(l.group, "researcher");
        assert_string_equal(l.sanitized, "h_baker");
        assert_string_equal(l.override_key, "h_baker");
        assert_int_equal(l.priority, 70);
        assert_string_equal(l.slice, "ds01-researcher-h_baker.slice");
        user_limits_release(&l);
        /* The original name is tried first. */
        assert_int_equal(config_resolve_user(c, "j.doe@example.org", &l), 0);
        assert_int_equal(l.priority, 60);
        user_limits_release(&l);
}

static void test_first_group_wins(void **state)
{
        struct config *c = *state = load_str("groups:\n"
                                             "  researcher: {members: [alice], max_cpus: 48}\n"
                                             "  student: {members: [alice], max_cpus: 8}\n");
        struct user_limits l;

        assert_int_equal(config_resolve_user(c, "alice", &l), 0);
        assert_string_equal(l.group, "researcher");
        assert_true(l.max_cpus == 48);
        user_limits_release(&l);
}

static void test_priority_rules(void **state)
{
        struct config *c = *state = load_str("defaults: {priority: 33}\n"
                                             "default_group: student\n"
                                             "groups:\n"
                                             "  student: {}\n"
                                             "  researcher: {members: [r]}\n"
                                             "  admin: {members: [a]}\n"
                                             "  faculty: {members: [f]}\n"
                                             "  lab: {members: [l], priority: 77}\n");
        static const struct {
                const char *user;
                long long priority;
        } cases[] = {
            {"s", 10}, {"r", 50}, {"a", 90}, {"f", 33}, {"l", 77},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct user_limits l;
                assert_int_equal(config_resolve_user(c, cases[i].user, &l), 0);
                assert_int_equal(l.priority, cases[i].priority);
                user_limits_release(&l);
        }
}

static void test_priority_without_any_config(void **state)
{
        struct config *c = *state = load_str("groups:\n  faculty: {members: [f]}\n");
        struct user_limits l;

        assert_int_equal(config_resolve_user(c, "f", &l), 0);
        assert_int_equal(l.priority, 10);
        /* Built-in defaults when nothing is configured. */
        assert_true(l.max_gpu_equivalents == 1.0);
        assert_int_equal(l.max_gpu_slots_per_container, 1);
        assert_false(l.allow_full_gpu);
        assert_true(l.max_cpus == 16);
        assert_string_equal(l.memory.text, "32g");
        assert_string_equal(l.shm_size.text, "16g");
        assert_int_equal(l.max_containers, 3);
        assert_int_equal(l.max_runtime, DURATION_INFINITY);
        assert_int_equal(l.max_tasks, LIMIT_UNLIMITED);
        assert_false(l.storage_tmp.set);
        user_limits_release(&l);
}

static void test_policies_layer_key_by_key(void **state)
{
        struct config *c = *state = load_str("policies:\n"
                                             "  gpu_idle_threshold: 7\n"
                                             "  idle_detection_window: 5\n"
                                             "groups:\n"
                                             "  student:\n"
                                             "    policies:\n"
                                             "      idle_detection_window: 4\n"
                                             "      cpu_idle_threshold: 3.5\n"
                                             "user_overrides:\n"
                                             "  bob:\n"
                                             "    policies: {cpu_idle_threshold: 9}\n");
        struct user_limits l;

        assert_int_equal(config_resolve_user(c, "alice", &l), 0);
        assert_true(l.policies.gpu_idle_threshold == 7);
        assert_int_equal(l.policies.idle_detection_window, 4);
        assert_true(l.policies.cpu_idle_threshold == 3.5);
        assert_int_equal(l.policies.network_idle_threshold, 1048576);
        assert_int_equal(l.policies.sigterm_grace, 60);
        user_limits_release(&l);

        assert_int_equal(config_resolve_user(c, "bob", &l), 0);
        assert_true(l.policies.gpu_idle_threshold == 7);
        assert_int_equal(l.policies.idle_detection_window, 4);
        assert_true(l.policies.cpu_idle_threshold == 9);
        user_limits_release(&l);
}

static void test_policy_builtin_defaults(void **state)
{
        struct config *c = *state = load_str("defaults: {}\n");
        struct user_limits l;

        assert_int_equal(config_resolve_user(c, "x", &l), 0);
        assert_true(l.policies.gpu_idle_threshold == 5);
        assert_true(l.policies.cpu_idle_threshold == 2.0);
        assert_int_equal(l.policies.network_idle_threshold, 1048576);
        assert_int_equal(l.policies.idle_detection_window, 3);
        assert_int_equal(l.policies.sigterm_grace, 60);
        assert_string_equal(l.group, "student");
        assert_false(l.group_defined);
        user_limits_release(&l);
}

static void test_aggregate_null_at_override(void **state)
{
        struct config *c = *state = load_str("groups:\n"
                                             "  student:\n"
                                             "    aggregate: {gpu_limit: 2, memory_max: 96G}\n"
                                             "user_overrides:\n"
                                             "  alice: {aggregate: null}\n");
        struct user_limits l;

        assert_int_equal(config_resolve_user(c, "bob", &l), 0);
        assert_true(l.aggregate.present);
        assert_int_equal(l.aggregate.memory_max, 96ULL << 30);
        assert_string_equal(l.aggregate.memory_max_text, "96G");
        user_limits_release(&l);
        assert_int_equal(config_resolve_user(c, "alice", &l), 0);
        assert_false(l.aggregate.present);
        user_limits_release(&l);
}

static void test_reservation(void **state)
{
        struct config *c = *state = load_str("user_overrides:\n"
                                             "  alice:\n"
                                             "    reservation_start: 2030-01-01T00:00:00Z\n"
                                             "    reservation_end: 2030-01-08T00:00:00Z\n"
                                             "    reserved_gpus: [0, \"2.1\"]\n");
        struct user_limits l;

        assert_int_equal(config_resolve_user(c, "alice", &l), 0);
        assert_true(l.has_reservation);
        assert_int_equal(l.reservation_start, 1893456000);
        assert_int_equal(l.reservation_end, 1893456000 + 7 * 86400);
        assert_int_equal(l.n_reserved_gpus, 2);
        assert_string_equal(l.reserved_gpus[1], "2.1");
        user_limits_release(&l);
}

static void test_exemptions(void **state)
{
        struct config *c;
        const struct config_exemption *e;

        config_test_put("lifecycle-exemptions.yaml", "exemptions:\n"
                                                     "  - username: alice\n"
                                                     "    exempt_from: [idle_timeout]\n"
                                                     "    expires_on: null\n"
                                                     "    reason: continuous training\n"
                                                     "  - username: bob\n"
                                                     "    exempt_from: [max_runtime]\n"
                                                     "    expires_on: \"2030-01-01T00:00:00Z\"\n"
                                                     "  - username: h_baker\n"
                                                     "    exempt_from: [max_runtime_h]\n"
                                                     "    expires_on: 2030-01-01\n");
        c = *state = load_str("defaults: {}\n");

        e = config_find_exemption(c, "alice", EXEMPT_IDLE_TIMEOUT, 2000000000);
        assert_non_null(e);
        assert_true(e->permanent);
        assert_string_equal(e->reason, "continuous training");
        assert_null(config_find_exemption(c, "alice", EXEMPT_MAX_RUNTIME, 0));
        /* Before expiry it applies, at and after it does not. */
        assert_non_null(config_find_exemption(c, "bob", EXEMPT_MAX_RUNTIME, 1893455999));
        assert_null(config_find_exemption(c, "bob", EXEMPT_MAX_RUNTIME, 1893456000));
        assert_non_null(config_find_exemption(c, "h.baker@x.org", EXEMPT_MAX_RUNTIME, 0));
        assert_null(config_find_exemption(c, "carol", EXEMPT_IDLE_TIMEOUT, 0));
        assert_int_equal(exempt_type_from_name("idle_timeout_h"), EXEMPT_IDLE_TIMEOUT);
        assert_int_equal(exempt_type_from_name("max_runtime"), EXEMPT_MAX_RUNTIME);
        assert_int_equal(exempt_type_from_name("naps"), 0);
}

static void test_bad_user_names(void **state)
{
        struct config *c = *state = load_str("defaults: {}\n");
        struct user_limits l = {0};

        assert_int_equal(config_resolve_user(c, "", &l), -EINVAL);
        assert_int_equal(config_resolve_user(c, "@example.org", &l), -EINVAL);
        assert_null(l.user); /* untouched on failure */
        /* Not UTF-8: still a name (bytes outside [A-Za-z0-9_:] become _). */
        assert_int_equal(config_resolve_user(c,
                                             "al\xff"
                                             "ice",
                                             &l),
                         0);
        assert_string_equal(l.sanitized, "al_ice");
        user_limits_release(&l);
}

static void test_user_group_helper(void **state)
{
        struct config *c = *state = load_fixture("legacy");
        enum group_source src;

        assert_string_equal(config_user_group(c, "researcher1", &src), "researchers");
        assert_int_equal(src, GROUP_FROM_MEMBERSHIP);
        assert_string_equal(config_user_group(c, "whoever", &src), "students");
        assert_int_equal(src, GROUP_FROM_DEFAULT);
}

static void test_global_settings_defaults(void **state)
{
        struct config *c = *state = load_str("defaults: {}\n");
        struct global_settings g;
        struct ctype_limits t;

        config_global_settings(c, &g);
        assert_true(g.high_demand_threshold == 0.8);
        assert_true(g.high_demand_idle_reduction == 0.5);
        assert_int_equal(g.grace_period, 1800);
        assert_int_equal(g.keepalive_max_duration, 86400);
        assert_int_equal(g.gpu_hold_after_manual_stop, 900);
        assert_int_equal(g.created_container_timeout, 1800);
        assert_true(g.aggregate_limits);
        assert_string_equal(g.cgroup_driver, "systemd");
        assert_false(g.allow_multi_mig);
        assert_string_equal(g.admin_group, "ds01-admin");
        assert_int_equal(g.n_admin_users, 0);
        assert_string_equal(g.bare_metal_admin_group, "ds01-admin");
        assert_int_equal(g.default_grant_duration, 86400);
        assert_string_equal(g.infrastructure_label, "ds01.protected");
        config_ctype_limits(c, "devcontainer", &t);
        assert_int_equal(t.idle_timeout, DURATION_INFINITY);
        assert_int_equal(t.sigterm_grace, 60);
}

static void test_global_settings_configured(void **state)
{
        struct config *c = *state = load_str("policies:\n"
                                             "  high_demand_threshold: 0.9\n"
                                             "  grace_period_m: 10\n"
                                             "  keepalive_max_duration_h: null\n"
                                             "  sigterm_grace_s: 45\n"
                                             "enforcement: {aggregate_limits: false, "
                                             "cgroup_driver: cgroupfs}\n"
                                             "gpu_allocation: {allow_multi_mig: true}\n"
                                             "access_control: {admin_users: [erin], "
                                             "admin_group: gpu-admins}\n"
                                             "bare_metal_access: {default_grant_duration_h: 2}\n"
                                             "container_types:\n"
                                             "  devcontainer: {idle_timeout_h: null, "
                                             "max_runtime_h: 168}\n"
                                             "  unknown: {idle_timeout_h: 0.25, "
                                             "sigterm_grace_s: 30}\n");
        struct global_settings g;
        struct ctype_limits t;

        config_global_settings(c, &g);
        assert_true(g.high_demand_threshold == 0.9);
        assert_int_equal(g.grace_period, 600);
        assert_int_equal(g.keepalive_max_duration, DURATION_INFINITY);
        assert_false(g.aggregate_limits);
        assert_string_equal(g.cgroup_driver, "cgroupfs");
        assert_true(g.allow_multi_mig);
        assert_int_equal(g.n_admin_users, 1);
        assert_string_equal(g.admin_users[0], "erin");
        assert_string_equal(g.admin_group, "gpu-admins");
        assert_string_equal(g.bare_metal_admin_group, "gpu-admins");
        assert_int_equal(g.default_grant_duration, 7200);

        config_ctype_limits(c, "devcontainer", &t);
        assert_int_equal(t.idle_timeout, DURATION_INFINITY);
        assert_int_equal(t.max_runtime, 168 * 3600);
        assert_int_equal(t.sigterm_grace, 45); /* from the global policies */
        /* A type the file does not list gets "unknown"'s settings. */
        config_ctype_limits(c, "compose", &t);
        assert_int_equal(t.idle_timeout, 900);
        assert_int_equal(t.sigterm_grace, 30);
        assert_int_equal(t.max_runtime, DURATION_INFINITY);
}

#define setup    config_test_setup
#define teardown config_test_teardown

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_legacy_pinned, setup, teardown),
            cmocka_unit_test_setup_teardown(test_legacy_details, setup, teardown),
            cmocka_unit_test_setup_teardown(test_override_merges_over_own_group, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sanitized_lookups, setup, teardown),
            cmocka_unit_test_setup_teardown(test_first_group_wins, setup, teardown),
            cmocka_unit_test_setup_teardown(test_priority_rules, setup, teardown),
            cmocka_unit_test_setup_teardown(test_priority_without_any_config, setup, teardown),
            cmocka_unit_test_setup_teardown(test_policies_layer_key_by_key, setup, teardown),
            cmocka_unit_test_setup_teardown(test_policy_builtin_defaults, setup, teardown),
            cmocka_unit_test_setup_teardown(test_aggregate_null_at_override, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reservation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_exemptions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_user_names, setup, teardown),
            cmocka_unit_test_setup_teardown(test_user_group_helper, setup, teardown),
            cmocka_unit_test_setup_teardown(test_global_settings_defaults, setup, teardown),
            cmocka_unit_test_setup_teardown(test_global_settings_configured, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
