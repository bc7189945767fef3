/* config-helpers.c - private config folders for the configuration tests. */
#include "config-helpers.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

char config_test_dir[64];

int config_test_setup(void **state)
{
        char groups[128];

        snprintf(config_test_dir, sizeof(config_test_dir), "/tmp/ds01-test-config-XXXXXX");
        assert_non_null(mkdtemp(config_test_dir));
        snprintf(groups, sizeof(groups), "%s/groups", config_test_dir);
        assert_int_equal(mkdir(groups, 0755), 0);
        return 0;
}

int config_test_teardown(void **state)
{
        char cmd[256];

        config_free(*state);
        *state = NULL;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", config_test_dir);
        assert_int_equal(WEXITSTATUS(system(cmd)), 0);
        return 0;
}

void config_test_write(const char *name, const void *content, size_t len)
{
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", config_test_dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, len), (ssize_t)len);
        close(fd);
}

void config_test_put(const char *name, const char *content)
{
        config_test_write(name, content, strlen(content));
}

struct config *config_test_load(const char *yaml)
{
        char path[256];
        struct config *c = NULL;

        config_test_put("resource-limits.yaml", yaml);
        snprintf(path, sizeof(path), "%s/resource-limits.yaml", config_test_dir);
        assert_int_equal(config_load(path, &c), 0);
        assert_non_null(c);
        return c;
}
