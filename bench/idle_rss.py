#!/usr/bin/env python3
"""Peak RSS of an echo server holding many idle connections (not a test).

Starts each server named on the command line, opens --conns WebSocket
connections to it, sends one message of --size bytes on each and waits for
every echo (checked byte for byte), then reads the server's VmHWM and VmRSS
from /proc while all connections are open and idle. Prints one line per
server with the figures and the growth per connection over the server's
own VmHWM before the first connection.

    python3 bench/idle_rss.py [--conns 1000] [--size 20] [--runs 3] \\
        'NAME=COMMAND {addr}' ...

Every run uses a fresh server process; the smallest peak of --runs is
reported. Loopback only.
"""

import argparse
import os
import resource
import select
import socket
import subprocess
import sys
import time

MASK = bytes([0x37, 0xFA, 0x21, 0x3D])
REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


def frame(payload):
    n = len(payload)
    head = bytes([0x82])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return head + MASK + masked


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen")


def recv_until(sock, n, deadline):
    """Reads until n bytes arrived (blocking with a deadline)."""
    data = b""
    while len(data) < n:
        left = deadline - time.time()
        if left <= 0:
            raise RuntimeError("timed out")
        ready, _, _ = select.select([sock], [], [], left)
        if ready:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("connection closed")
            data += chunk
    return data


def read_response(sock, deadline):
    data = b""
    while b"\r\n\r\n" not in data:
        data += recv_until(sock, 1, deadline)
    if not data.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no 101: {data[:60]!r}")
    return data[data.index(b"\r\n\r\n") + 4 :]


def measure(command, conns, size):
    port = free_port()
    addr = f"127.0.0.1:{port}"
    argv = command.replace("{addr}", addr).replace("{port}", str(port)).split()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socks = []
    try:
        wait_listening(port, proc)
        # The probe connection of wait_listening has been served and closed.
        time.sleep(0.2)
        base = status_kb(proc.pid, "VmHWM")
        payload = bytes((i * 7) % 251 for i in range(size))
        message = frame(payload)
        deadline = time.time() + 60
        for _ in range(conns):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(REQUEST)
            socks.append(s)
        leftovers = [read_response(s, deadline) for s in socks]
        for s in socks:
            s.sendall(message)
        header = 2 if size < 126 else 4 if size < 65536 else 10
        for s, early in zip(socks, leftovers):
            echo = early + recv_until(s, header + size - len(early), deadline)
            if echo[header:] != payload:
                raise RuntimeError("echo differs")
        time.sleep(0.5)
        hwm = status_kb(proc.pid, "VmHWM")
        rss = status_kb(proc.pid, "VmRSS")
        return base, hwm, rss
    finally:
        for s in socks:
            s.close()
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--size", type=int, default=20)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("servers", nargs="+")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * args.conns + 100))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    results = {}
    for _ in range(args.runs):
        # Interleaved: one run of each server in turn.
        for entry in args.servers:
            name, command = entry.split("=", 1)
            base, hwm, rss = measure(command, args.conns, args.size)
            best = results.get(name)
            if best is None or hwm < best[1]:
                results[name] = (base, hwm, rss)
    for entry in args.servers:
        name = entry.split("=", 1)[0]
        base, hwm, rss = results[name]
        per = (hwm - base) * 1024 / args.conns
        print(
            f"{name}: conns={args.conns} size={args.size} base_hwm_kb={base} "
            f"hwm_kb={hwm} rss_kb={rss} per_conn_bytes={per:.0f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
