#!/usr/bin/env python3
"""Drive a command through a pseudo-terminal, as an operator at a keyboard.

usage: pty_drive.py SCRIPT LOG -- COMMAND [ARGS...]

SCRIPT holds one instruction per line:
  expect REGEX   wait (at most the timeout) until the output since the last
                 match contains REGEX
  send TEXT      type TEXT and Enter
  send-group N   type group N of the last expect's match and Enter
  run COMMAND    run a shell command (e.g. a comparison) and fail if it fails
  timeout SECS   the timeout for the following expects (default 120)
Everything the command prints goes to LOG. Exits with the command's exit
status, or 90 + a message on stderr when an instruction fails.
"""
import os
import pty
import re
import select
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    script, log_path, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    log = open(log_path, "wb")
    buf = b""
    timeout = 120.0
    last = None

    def pump(deadline):
        nonlocal buf
        r, _, _ = select.select([fd], [], [], max(0.0, min(0.2, deadline - time.time())))
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        log.write(data)
        log.flush()
        buf += data
        return True

    for lineno, line in enumerate(open(script), 1):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        word, _, arg = line.partition(" ")
        if word == "timeout":
            timeout = float(arg)
        elif word == "expect":
            rx = re.compile(arg.encode())
            deadline = time.time() + timeout
            while True:
                m = rx.search(buf)
                if m:
                    last = m
                    buf = buf[m.end():]
                    break
                if time.time() > deadline or not pump(deadline):
                    print("pty_drive: %s:%d: did not see /%s/" % (script, lineno, arg),
                          file=sys.stderr)
                    os.kill(pid, 9)
                    return 90
        elif word == "send":
            os.write(fd, arg.encode() + b"\r")
        elif word == "send-group":
            os.write(fd, last.group(int(arg)) + b"\r")
        elif word == "run":
            if subprocess.call(arg, shell=True) != 0:
                print("pty_drive: %s:%d: command failed: %s" % (script, lineno, arg),
                      file=sys.stderr)
                os.kill(pid, 9)
                return 91
        else:
            print("pty_drive: %s:%d: unknown instruction %r" % (script, lineno, word),
                  file=sys.stderr)
            os.kill(pid, 9)
            return 92
    while pump(time.time() + timeout):
        pass
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
