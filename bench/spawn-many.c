/* SPDX-License-Identifier: MIT */
/*
 * spawn-many.c - benchmark helper: start many commands at once and report how
 * long each took, from its spawn to its exit as the parent sees it, without a
 * shell or `date` in the measurement.
 *
 * Reads lines "OUTFILE ARG0 ARG1 ..." (words separated by single spaces) from
 * stdin, spawns them all (stdout to OUTFILE, stderr to /dev/null), and prints
 * "OUTFILE EXITCODE MICROSECONDS" per command as they finish.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 10000
#define MAX_ARGS 32

extern char **environ;

struct cmd {
        char *line;
        char *out;
        char *argv[MAX_ARGS + 1];
        pid_t pid;
        long long start_us;
};

static long long mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(void)
{
        static struct cmd cmds[MAX_CMDS];
        char buf[4096];
        size_t n = 0, running = 0;

        while (n < MAX_CMDS && fgets(buf, sizeof(buf), stdin)) {
                struct cmd *c = &cmds[n];
                char *save = NULL, *w;
                int k = 0;
                buf[strcspn(buf, "\n")] = '\0';
                c->line = strdup(buf);
                if (!c->line)
                        return 1;
                c->out = strtok_r(c->line, " ", &save);
                while (k < MAX_ARGS && (w = strtok_r(NULL, " ", &save)))
                        c->argv[k++] = w;
                c->argv[k] = NULL;
                if (c->out && k > 0)
                        n++;
        }
        for (size_t i = 0; i < n; i++) {
                posix_spawn_file_actions_t fa;
                posix_spawn_file_actions_init(&fa);
                posix_spawn_file_actions_addopen(&fa, 1, cmds[i].out, O_WRONLY | O_CREAT | O_TRUNC,
                                                 0644);
                posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
                cmds[i].start_us = mono_us();
                if (posix_spawn(&cmds[i].pid, cmds[i].argv[0], &fa, NULL, cmds[i].argv, environ) !=
                    0)
                        cmds[i].pid = -1;
                else
                        running++;
                posix_spawn_file_actions_destroy(&fa);
        }
        while (running > 0) {
                int st;
                pid_t p = waitpid(-1, &st, 0);
                long long now = mono_us();
                if (p < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (size_t i = 0; i < n; i++)
                        if (cmds[i].pid == p) {
                                printf("%s %d %lld\n", cmds[i].out,
                                       WIFEXITED(st) ? WEXITSTATUS(st) : 128,
                                       now - cmds[i].start_us);
                                running--;
                        }
        }
        return 0;
}
