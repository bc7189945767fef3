/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * notify.h - telling a user something on every terminal they are logged in
 * on, like write(1): the USER_PROCESS entries of utmp whose ut_user is the
 * user; each /dev/<ut_line> is opened O_WRONLY | O_NOCTTY | O_NONBLOCK |
 * O_CLOEXEC | O_NOFOLLOW and written only when it is a character device
 * owned by the user's uid (a stale utmp line never reaches someone else's
 * terminal). Writes never block: a full terminal loses the message.
 */
#include <stddef.h>
#include <sys/types.h>

/* utmp_path NULL: the system's (/run/utmp). The text is framed as
 *   "\r\n\a*** ds01: message for <user> at HH:MM UTC ***\r\n<text>\r\n"
 * with every '\n' in text written as "\r\n" and control characters other
 * than '\n' and '\t' replaced by '?'. Returns the number of terminals
 * written (0 when the user has none), or -errno when utmp cannot be read
 * (-ENOENT when it does not exist). dev_root (NULL: "/dev") is where
 * ut_line is looked up, for tests. */
int notify_terminals(const char *utmp_path, const char *dev_root, const char *user, uid_t uid,
                     const char *text);
