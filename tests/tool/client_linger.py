"""`websock client` never loses the replies to its last lines.

Pipes lines into `websock client` against python-websockets' echo server
(which answers a close at once, dropping echoes still in flight) RUNS
times, while a CPU hog keeps both cores busy, and checks that every run
printed every echo and exited 0. The hog runs only while the runs do.

    client_linger.py WEBSOCK VENV_PYTHON [--runs 50] [--at-once 5]
"""

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
LINES = [f"line {i}: {'x' * i}" for i in range(1, 21)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("websock")
    p.add_argument("python")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--at-once", type=int, default=5)
    a = p.parse_args()

    server = subprocess.Popen(
        [a.python, os.path.join(HERE, "echo_server.py")],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    hogs = []
    try:
        port = int(server.stdout.readline())
        url = f"ws://127.0.0.1:{port}/"
        # One busy loop per core, for this test's few seconds only.
        hogs = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 2)
        ]
        want = "".join(line + "\n" for line in LINES)
        stdin = want.encode()

        def one(i):
            r = subprocess.run(
                [a.websock, "client", url],
                input=stdin,
                capture_output=True,
                timeout=30,
            )
            return i, r

        start = time.monotonic()
        failures = []
        with ThreadPoolExecutor(a.at_once) as pool:
            for i, r in pool.map(one, range(a.runs)):
                got = r.stdout.decode(errors="replace")
                if got != want or r.returncode != 0:
                    missing = len(LINES) - len(got.splitlines())
                    failures.append(
                        f"run {i}: exit {r.returncode}, {missing} echoes missing, "
                        f"stderr {r.stderr.decode(errors='replace')!r}"
                    )
        elapsed = time.monotonic() - start
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    ok = a.runs - len(failures)
    print(
        f"{ok} of {a.runs} runs got all {len(LINES)} echoes and exit 0 "
        f"({len(hogs)} CPU hogs, {a.at_once} runs at a time, {elapsed:.1f} s)"
    )
    for f in failures:
        print("FAILED", f)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
