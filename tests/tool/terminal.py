"""`websock client` on a terminal, as a person meets it: run under a
pseudo-terminal against `websock serve`, it prints a "connected" line, a
`> ` prompt and `< ` before what it receives; typed /ping is a command; the
terminal's Ctrl-C (sent as the interrupt character, so the line discipline
raises SIGINT) closes with 1000 and exits 0. With stdout not a terminal
the same session prints the echoes alone (checked in host/tests/tool.rs).

    terminal.py WEBSOCK
"""

import os
import pty
import select
import subprocess
import sys
import time

TIMEOUT = 15


def read_until(fd, needle, seen):
    deadline = time.monotonic() + TIMEOUT
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {needle!r} within {TIMEOUT} s; screen so far: {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child has gone
                chunk = b""
            if not chunk:
                raise AssertionError(f"terminal closed before {needle!r}; screen: {seen!r}")
            seen += chunk
    return seen


def main():
    websock = sys.argv[1]
    server = subprocess.Popen(
        [websock, "serve", "--ws", "127.0.0.1:0", "--no-wss"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        addr = next(w for w in line.split() if w.startswith("ws://"))
        url = addr + "/"
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(websock, [websock, "client", "--show-ping-pong", url])
        try:
            screen = read_until(fd, b"connected to " + url.encode(), b"")
            screen = read_until(fd, b"permessage-deflate", screen)
            screen = read_until(fd, b"> ", screen)
            os.write(fd, b"hello terminal\r")
            screen = read_until(fd, b"< hello terminal\r\n> ", screen)
            os.write(fd, b"/ping knock\r")
            screen = read_until(fd, b"< [pong] knock\r\n> ", screen)
            os.write(fd, b"\x03")  # Ctrl-C
            deadline = time.monotonic() + TIMEOUT
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    raise AssertionError(f"no exit after Ctrl-C; screen: {screen!r}")
                try:
                    if select.select([fd], [], [], 0.05)[0]:
                        screen += os.read(fd, 4096)
                except OSError:
                    pass
            code = os.waitstatus_to_exitcode(status)
            assert code == 0, f"exit {code} after one Ctrl-C; screen: {screen!r}"
            assert b"hello terminal" in screen
        finally:
            os.close(fd)
    finally:
        server.terminate()
        server.wait(10)
    print("terminal: connected line, '> ' prompt, '< ' echoes, /ping, Ctrl-C closes with exit 0")
    print("screen:", screen.decode(errors="replace").replace("\r", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
