#!/usr/bin/env python3
"""Plugin uploads and restarts of a real `kolhost serve` (issue 17), for BENCHMARKS.md.

On a fresh SQLite database: while a slow-to-compile upload runs (from 1 s after it starts until
it is answered, every 0.2 s), the latency of /healthz and of writes (POST /api/v1/brands); then N uploads of distinct builds of one component (upload to
active); the server's resident memory with N-1 inactive versions; a restart's time to listening
and memory. Run it with two binaries to compare:

    python3 host/bench/uploads.py --kolhost path/to/kolhost \\
        --component $CARGO_TARGET_DIR/wasm-plugins/wasm32-wasip2/release/example_platform.wasm
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request


def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n == 0:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def section(sid, content):
    return bytes([sid]) + leb(len(content)) + content


def slow_to_compile(component, functions=1500, live=400):
    """The same bytes as kolhost::plugins::artifacts::slow_to_compile."""
    body = bytearray([0x00])
    for k in range(live):
        body += bytes([0x20, 0x00, 0x41]) + leb(k + 1) + bytes([0x6C])
    body += bytes([0x6A]) * (live - 1) + bytes([0x0B])
    module = b"\0asm\x01\0\0\0" + section(1, bytes([0x01, 0x60, 0x01, 0x7F, 0x01, 0x7F]))
    module += section(3, leb(functions) + bytes(functions))
    code = bytearray(leb(functions))
    for _ in range(functions):
        code += leb(len(body)) + body
    module += section(10, bytes(code))
    return component + section(1, module)


def distinct_build(component, tag):
    name = b"kolhost-test"
    return component + section(0, leb(len(name)) + name + tag.encode())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, kolhost, env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [kolhost, "serve"],
            env={**env, "KOLHOST_LISTEN": f"127.0.0.1:{self.port}"},
            stdout=subprocess.DEVNULL,
        )
        while True:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() - started > 600:
                    raise RuntimeError("kolhost did not come up")
                time.sleep(0.02)
        self.up_after = time.monotonic() - started

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def request(url, token, data=None, content_type=None, method=None):
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if content_type:
        req.add_header("Content-Type", content_type)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=900) as res:
            status, body = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    return status, body, time.monotonic() - started


def upload(base, token, name, version, component):
    boundary = "kolhost-bench-boundary"
    manifest = (
        f'name = "{name}"\nversion = "{version}"\nworld = "platform"\n'
        'grants = ["log", "config", "clock", "kv"]\n'
    )
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\n{manifest}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"component\"; filename=\"p.wasm\"\r\n"
        "Content-Type: application/wasm\r\n\r\n"
    ).encode() + component + f"\r\n--{boundary}--\r\n".encode()
    return request(
        base + "/api/v1/plugins", token, body, f"multipart/form-data; boundary={boundary}"
    )


def during_slow_upload(server, token, component, out):
    slow = {}
    t = threading.Thread(
        target=lambda: slow.update(
            r=upload(server.base, token, "slow", "1.0.0", slow_to_compile(component))
        )
    )
    t.start()
    time.sleep(1.0)
    health, writes = [], []
    i = 0
    while t.is_alive():
        i += 1
        _, _, took = request(server.base + "/healthz", token)
        health.append(took)
        status, _, took = request(
            server.base + "/api/v1/brands", token,
            json.dumps({"name": f"bench {i}", "categories": ["beauty"]}).encode(),
            "application/json",
        )
        writes.append((status, took))
        time.sleep(0.2)
    t.join()
    out["slow upload: status, upload to answer (s)"] = (slow["r"][0], round(slow["r"][2], 2))
    out["during it: /healthz max (ms)"] = round(max(health) * 1000, 1)
    out["during it: writes ok / sent, max (ms)"] = (
        f"{sum(1 for s, _ in writes if s == 201)}/{len(writes)}",
        round(max(w for _, w in writes) * 1000, 1),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kolhost", required=True)
    ap.add_argument("--component", required=True)
    ap.add_argument("--versions", type=int, default=20)
    ap.add_argument(
        "--slow-builds", action="store_true",
        help="upload slow-to-compile builds of the component (bigger compiled code) and skip "
        "the concurrent-upload part",
    )
    args = ap.parse_args()
    component = open(args.component, "rb").read()
    if args.slow_builds:
        component = slow_to_compile(component)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        env = {
            **os.environ,
            "KOLHOST_DATABASE_URL": f"sqlite://{d}/kolhost.db?mode=rwc",
            "KOLHOST_DATA_DIR": d,
            "RUST_LOG": "error",
        }
        subprocess.run([args.kolhost, "migrate"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [args.kolhost, "token", "create", "--role", "admin"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()
        server = Server(args.kolhost, env)
        out["first start to listening (s)"] = round(server.up_after, 2)

        # A slow upload, and meanwhile /healthz and writes.
        if not args.slow_builds:
            during_slow_upload(server, token, component, out)

        rss_before = server.rss_mib()
        times = []
        for i in range(args.versions):
            status, body, took = upload(
                server.base, token, "many", f"1.0.{i}", distinct_build(component, str(i))
            )
            assert status == 201, body
            times.append(took)
        times.sort()
        out[f"upload to active, {args.versions} distinct builds: median / max (ms)"] = (
            round(times[len(times) // 2] * 1000),
            round(times[-1] * 1000),
        )
        out[f"RSS before / after the {args.versions} uploads (MiB)"] = (
            round(rss_before), round(server.rss_mib()),
        )
        server.stop()

        server = Server(args.kolhost, env)
        out["restart to listening (s)"] = round(server.up_after, 2)
        out["RSS after the restart (MiB)"] = round(server.rss_mib())
        server.stop()
    for k, v in out.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
