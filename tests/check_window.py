#!/usr/bin/env python3
"""Checks with the system's zlib (through Python) that websock honours
server_max_window_bits: a stream made for a 9-bit window must inflate with
wbits=-9, and, as a control that the check can fail, a stream made with a
15-bit window must NOT (its back-references reach past 512 bytes).

usage: check_window.py EXAMPLE_BINARY WORKDIR
"""
import os
import subprocess
import sys
import zlib


def make(binary, bits, workdir):
    d = os.path.join(workdir, f"bits{bits}")
    os.makedirs(d, exist_ok=True)
    subprocess.run([binary, str(bits), d], check=True, stderr=subprocess.DEVNULL, timeout=60)
    with open(os.path.join(d, "plain"), "rb") as f:
        plain = f.read()
    with open(os.path.join(d, "deflate"), "rb") as f:
        stream = f.read()
    return plain, stream


def inflates(stream, plain, wbits):
    try:
        return zlib.decompressobj(wbits=wbits).decompress(stream) == plain
    except zlib.error:
        return False


def main():
    binary, workdir = sys.argv[1], sys.argv[2]
    passed = failed = 0
    for bits in range(9, 16):
        plain, stream = make(binary, bits, workdir)
        ok = inflates(stream, plain, -bits)
        print(f"{'ok' if ok else 'FAILED'}: window {bits}: {len(plain)} -> {len(stream)} bytes, inflates with wbits=-{bits}")
        passed, failed = passed + ok, failed + (not ok)
    plain, stream = make(binary, 15, workdir)
    control = not inflates(stream, plain, -9)
    print(f"{'ok' if control else 'FAILED'}: control: a 15-bit stream does not inflate with wbits=-9")
    passed, failed = passed + control, failed + (not control)
    print(f"window check: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
