#!/usr/bin/env python3
"""Put stunnel (OpenSSL) between kosoku, which has no TLS, and websock over TLS.

  stunnel_chain.py server --port PORT -- CMD...
      CMD is a TLS server started on 127.0.0.1:{tls_port} (for example
      'websock serve --no-ws --wss 127.0.0.1:{tls_port}'); its start line
      must name the certificate file it made ('... written to FILE').
      stunnel, in client mode, accepts plain connections on PORT and
      connects to CMD with TLS, checking CMD's certificate for 'localhost'.
      Runs until SIGTERM or SIGINT.

  stunnel_chain.py client --port PORT -- CMD...
      stunnel, in server mode, accepts TLS on {tls_port} with a certificate
      for 'localhost' issued by a CA made here ({ca}: its PEM file), and
      connects to the plain server on PORT. Then runs CMD (for example
      'websock autobahn --ca {ca} wss://localhost:{tls_port}') and exits
      with its status.

Each run has its own folder (stunnel's configuration, log and, in client
mode, the CA and the certificate); stunnel runs in the foreground and is
stopped, and the folder removed, whatever happens. stunnel's log is copied
to --log FILE if given.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, procs, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"stunnel_chain: {p.args[0]} exited early with {p.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"stunnel_chain: nothing listened on port {port} within {seconds}s")


def stunnel_bin():
    for name in ("stunnel4", "stunnel"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("stunnel_chain: stunnel is not installed (apt-get install stunnel4)")


def stunnel_config(workdir, service):
    """A foreground stunnel with one service; `service` is a list of lines."""
    lines = [
        "foreground = quiet",
        "pid =",
        f"output = {os.path.join(workdir, 'stunnel.log')}",
        "debug = notice",
        "[websock]",
        # Echoes are small writes that must leave at once.
        "socket = l:TCP_NODELAY=1",
        "socket = r:TCP_NODELAY=1",
        # A failed connection ends with FIN, not RST: a reset would throw
        # away the last frames and make a clean close look unclean.
        "reset = no",
        *service,
    ]
    path = os.path.join(workdir, "stunnel.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca_and_cert(workdir):
    """A private CA and a certificate for localhost signed by it."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=websock test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=workdir)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=workdir)
    with open(os.path.join(workdir, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem",
            cwd=workdir)
    return [os.path.join(workdir, n) for n in ("ca.pem", "server.pem", "server.key")]


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cert_path_from(start_line):
    m = re.search(r"written to (.+)$", start_line.strip())
    if not m:
        raise SystemExit(f"stunnel_chain: no certificate path in the start line {start_line!r}")
    return m.group(1)


def run_server(args, cmd, workdir, procs):
    tls_port = free_port()
    cmd = [c.replace("{tls_port}", str(tls_port)) for c in cmd]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    procs.append(server)
    start_line = server.stdout.readline()
    print(start_line, end="", flush=True)
    cert = cert_path_from(start_line)
    # The rest of its output goes on to ours.
    forward = subprocess.Popen(["cat"], stdin=server.stdout)
    procs.append(forward)
    conf = stunnel_config(workdir, [
        "client = yes",
        f"accept = 127.0.0.1:{args.port}",
        f"connect = 127.0.0.1:{tls_port}",
        # OpenSSL checks our certificate as any TLS client would.
        "verifyChain = yes",
        f"CAfile = {cert}",
        "checkHost = localhost",
        "sni = localhost",
    ])
    stunnel = subprocess.Popen([stunnel_bin(), conf])
    procs.append(stunnel)
    wait_for_port(args.port, [server, stunnel])
    print(f"stunnel_chain: ws://127.0.0.1:{args.port} -> stunnel -> wss://localhost:{tls_port}",
          flush=True)
    while server.poll() is None and stunnel.poll() is None:
        time.sleep(0.2)
    raise SystemExit(f"stunnel_chain: {'server' if server.poll() is not None else 'stunnel'} "
                     "exited before the run ended")


def run_client(args, cmd, workdir, procs):
    tls_port = free_port()
    ca, cert, key = make_ca_and_cert(workdir)
    cmd = [c.replace("{tls_port}", str(tls_port)).replace("{ca}", ca) for c in cmd]
    conf = stunnel_config(workdir, [
        f"accept = 127.0.0.1:{tls_port}",
        f"connect = 127.0.0.1:{args.port}",
        f"cert = {cert}",
        f"key = {key}",
    ])
    stunnel = subprocess.Popen([stunnel_bin(), conf])
    procs.append(stunnel)
    wait_for_port(tls_port, [stunnel])
    print(f"stunnel_chain: wss://localhost:{tls_port} -> stunnel -> ws://127.0.0.1:{args.port}",
          flush=True)
    client = subprocess.Popen(cmd)
    procs.append(client)
    return client.wait()


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        raise SystemExit(__doc__)
    split = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", help="copy stunnel's log here")
    args = ap.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not cmd:
        raise SystemExit("stunnel_chain: missing command after --")

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    workdir = tempfile.mkdtemp(prefix="websock-stunnel-")
    procs = []
    try:
        if args.mode == "server":
            return run_server(args, cmd, workdir, procs)
        return run_client(args, cmd, workdir, procs)
    finally:
        # Ignore further signals while the children stop.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in reversed(procs):
            stop(p)
        log = os.path.join(workdir, "stunnel.log")
        if args.log and os.path.exists(log):
            shutil.copyfile(log, args.log)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
