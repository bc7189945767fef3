/* log.h - level-checked logging. Messages below the level are not formatted.
 *
 * DS01_LOG_LEVEL = debug|info|notice|warning|error (default info);
 * DS01_LOG_FORMAT = text (default) | json. Text lines look like
 *   ds01d[123]: warning: config reload refused: ... user=alice
 * JSON lines are
 * {"ts":"2026-11-22T12:00:00.123Z","level":"warning","prog":"ds01d","pid":123,"msg":"..."}. Output
 * goes to stderr (the journal when run by systemd). */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

#include "util/macro.h"

enum log_level {
        LOG_LEVEL_DEBUG = 0,
        LOG_LEVEL_INFO,
        LOG_LEVEL_NOTICE,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_ERROR,
};

enum log_format {
        LOG_FORMAT_TEXT = 0,
        LOG_FORMAT_JSON,
};

/* Reads DS01_LOG_LEVEL and DS01_LOG_FORMAT; unknown values keep the defaults
 * and return -EINVAL (the caller may warn). prog names the program in lines. */
int log_setup(const char *prog);
void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
enum log_level log_get_level(void);
/* "debug" ... "error" -> level; -EINVAL if unknown. */
int log_level_from_string(const char *s);
const char *log_level_to_string(enum log_level level);

/* Writes one line; returns -abs(error) when error != 0, else 0. */
int log_internal(enum log_level level, int error, const char *file, int line, const char *fmt, ...)
    _printf_(5, 6);

#define log_full_errno(level, error, ...)                                                          \
        ({                                                                                         \
                int _e_ = (error);                                                                 \
                (level) >= log_get_level()                                                         \
                    ? log_internal((level), _e_, __FILE__, __LINE__, __VA_ARGS__)                  \
                    : (_e_ < 0 ? _e_ : -_e_);                                                      \
        })

#define log_debug(...)   ((void)log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__))
#define log_info(...)    ((void)log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__))
#define log_notice(...)  ((void)log_full_errno(LOG_LEVEL_NOTICE, 0, __VA_ARGS__))
#define log_warning(...) ((void)log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__))
#define log_error(...)   ((void)log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__))

/* These log "msg: strerror(r)" and evaluate to -abs(r). */
#define log_debug_errno(r, ...)   log_full_errno(LOG_LEVEL_DEBUG, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_LEVEL_WARNING, (r), __VA_ARGS__)
#define log_error_errno(r, ...)   log_full_errno(LOG_LEVEL_ERROR, (r), __VA_ARGS__)
