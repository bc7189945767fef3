/* config-helpers.h - what the configuration tests share: a private config
 * folder (with groups/) per test, files written into it, and loading. */
#pragma once

#include <stddef.h>

struct config;

/* The folder of the current test, made by config_test_setup(). */
extern char config_test_dir[64];

/* cmocka setup/teardown: make the folder; free *state (a struct config) and
 * remove the folder. */
int config_test_setup(void **state);
int config_test_teardown(void **state);

/* Writes len bytes (or a NUL-terminated string) to NAME inside the folder. */
void config_test_write(const char *name, const void *content, size_t len);
void config_test_put(const char *name, const char *content);

/* Writes yaml as resource-limits.yaml in the folder and loads it. */
struct config *config_test_load(const char *yaml);
