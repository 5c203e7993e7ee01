#!/usr/bin/env python3
"""Run Autobahn cases with kosoku against a server or a client under test.

  autobahn.py server NAME -- CMD...   CMD serves on 127.0.0.1:{port}
  autobahn.py client NAME -- CMD...   CMD connects to ws://127.0.0.1:{port}

'{port}' in CMD is replaced by a free port. Cases are chosen with
--include/--exclude (kosoku globs, repeatable; default sections 1 to 10).

A case passes only when its behaviour is OK, NON-STRICT or INFORMATIONAL
*and* its closing behaviour is OK or INFORMATIONAL. The script prints every
failing case with both verdicts, then 'autobahn NAME: N passed, N failed',
and exits non-zero if any case failed or the run did not complete.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD_BEHAVIOR = {"OK", "NON-STRICT", "INFORMATIONAL"}
GOOD_CLOSE = {"OK", "INFORMATIONAL"}
# Autobahn has no section 8.
DEFAULT_CASES = [f"{n}.*" for n in (1, 2, 3, 4, 5, 6, 7, 9, 10)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listened on port {port} within {seconds}s")


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def kosoku_bin():
    venv = os.environ.get("WEBSOCK_VENV", os.path.join(HERE, "..", ".venv"))
    return os.path.join(venv, "bin", "kosoku")


def judge(index_path, name, expected_min):
    with open(index_path) as f:
        index = json.load(f)
    results = {}
    for agent_cases in index.values():
        results.update(agent_cases)
    failed = []
    for case, r in sorted(results.items(), key=lambda kv: [int(x) for x in kv[0].split(".")]):
        b, c = r.get("behavior"), r.get("behaviorClose")
        if b not in GOOD_BEHAVIOR or c not in GOOD_CLOSE:
            failed.append((case, b, c))
    for case, b, c in failed:
        print(f"  FAILED {case}: behavior={b} close={c}")
    passed = len(results) - len(failed)
    if len(results) < expected_min:
        print(f"autobahn {name}: only {len(results)} cases reported, expected at least {expected_min}")
        failed.append(("missing", None, None))
    print(f"autobahn {name}: {passed} passed, {len(failed)} failed")
    return not failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("name")
    ap.add_argument("-i", "--include", action="append")
    ap.add_argument("-x", "--exclude", action="append", default=[])
    ap.add_argument("-p", "--parallel", type=int, default=1, help="server mode only")
    ap.add_argument("--min-cases", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=900, help="seconds for the whole run")
    ap.add_argument("--outdir", default=None)
    # Options may come before or after MODE NAME; the command follows '--'.
    argv = sys.argv[1:]
    if "--" not in argv:
        ap.parse_args(argv)  # answers --help
        ap.error("missing '-- CMD...' (the program under test)")
    split = argv.index("--")
    args = ap.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not cmd:
        ap.error("missing command after --")
    port = free_port()
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    outdir = args.outdir or os.path.join(HERE, "reports", args.name)
    os.makedirs(outdir, exist_ok=True)
    index = os.path.join(outdir, "index.json")
    if os.path.exists(index):
        os.remove(index)
    selection = []
    for c in args.include or DEFAULT_CASES:
        selection += ["-i", c]
    for c in args.exclude:
        selection += ["-x", c]

    log = open(os.path.join(outdir, "under-test.log"), "w")
    if args.mode == "server":
        under_test = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(port, under_test)
            k = subprocess.run(
                [kosoku_bin(), "-p", str(args.parallel), *selection, "-o", outdir, f"ws://127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL, timeout=args.timeout,
            )
            print(f"kosoku exited with {k.returncode}")
            alive = under_test.poll() is None
        finally:
            stop(under_test)
        if not alive:
            print(f"autobahn {args.name}: the server under test died (see {outdir}/under-test.log)")
            return 1
    else:
        kosoku = subprocess.Popen(
            [kosoku_bin(), "-m", "fuzzingserver", *selection, "-o", outdir, f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            wait_for_port(port, kosoku)
            client = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=args.timeout)
            print(f"client exited with {client.returncode}")
            kosoku.wait(timeout=60)
            if client.returncode != 0:
                print(f"autobahn {args.name}: the client under test failed (see {outdir}/under-test.log)")
                return 1
        finally:
            stop(kosoku)
    if not os.path.exists(index):
        print(f"autobahn {args.name}: no report written")
        return 1
    return 0 if judge(index, args.name, args.min_cases) else 1


if __name__ == "__main__":
    sys.exit(main())
