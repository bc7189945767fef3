#!/usr/bin/env python3
"""pty-run.py - runs a command on a new pseudo-terminal (80x24), as a user at
a terminal would, for the tests of `docker exec -it` and `docker run -it`.

usage: pty-run.py [--timeout S] [--expect REGEX --send TEXT]... -- CMD [ARG...]

Each --expect waits until REGEX (Python re, on the output decoded as UTF-8
with errors replaced) appears in what the command wrote after the previous
match, then the following --send writes TEXT to the terminal (backslash
escapes such as \\n, \\r, \\x04 are decoded). After the last step it reads
until the command closes the terminal.

Prints everything the command wrote to the terminal on stdout and exits with
the command's status (128+N when signal N ended it); 124 when S seconds
(default 30) pass (the command is killed), 125 when the command ended before
an --expect matched (the message on stderr).
"""
import codecs
import errno
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def usage(msg):
    sys.stderr.write("pty-run.py: %s\nusage: pty-run.py [--timeout S] "
                     "[--expect REGEX --send TEXT]... -- CMD [ARG...]\n" % msg)
    sys.exit(2)


def main():
    args = sys.argv[1:]
    timeout = 30.0
    steps = []  # [regex, text] pairs; text None until --send
    while args and args[0] != "--":
        opt = args.pop(0)
        if not args:
            usage("%s needs a value" % opt)
        val = args.pop(0)
        if opt == "--timeout":
            timeout = float(val)
        elif opt == "--expect":
            steps.append([re.compile(val), None])
        elif opt == "--send":
            if not steps or steps[-1][1] is not None:
                usage("--send must follow an --expect")
            steps[-1][1] = codecs.decode(val, "unicode_escape").encode()
        else:
            usage("unknown option %s" % opt)
    if not args or len(args) < 2:
        usage("no command")
    cmd = args[1:]
    for s in steps:
        if s[1] is None:
            usage("--expect without --send")

    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("pty-run.py: %s: %s\n" % (cmd[0], e.strerror)).encode())
        os._exit(127)

    deadline = time.monotonic() + timeout
    out = bytearray()
    pos = 0  # where the current --expect starts looking
    step = 0
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:  # the last holder of the terminal closed it
                break
            raise
        if not data:
            break
        out += data
        while step < len(steps):
            text = out[pos:].decode("utf-8", "replace")
            m = steps[step][0].search(text)
            if not m:
                break
            pos += len(text[:m.end()].encode("utf-8", "replace"))
            os.write(fd, steps[step][1])
            step += 1

    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    sys.stdout.write(out.decode("utf-8", "replace"))
    sys.stdout.flush()
    if timed_out:
        sys.stderr.write("pty-run.py: timed out after %gs\n" % timeout)
        sys.exit(124)
    if step < len(steps):
        sys.stderr.write("pty-run.py: the command ended before /%s/ appeared\n"
                         % steps[step][0].pattern)
        sys.exit(125)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
