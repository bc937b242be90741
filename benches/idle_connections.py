#!/usr/bin/env python3
"""Scripted load run (issue 12): a gateway holding many idle and slow connections still
answers /healthz quickly. Starts `gdpr-gateway serve` (the binary given, or
target/release/gdpr-gateway) on a free port in a temporary directory, opens N connections
that send nothing or half a request line, then times GET /healthz on a fresh connection.

    python3 benches/idle_connections.py [BINARY] [N]

Prints one JSON line: connections held, healthz latencies (ms) and how many of the held
connections the server had closed after its header deadline."""

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/gdpr-gateway"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    work = tempfile.mkdtemp()
    server = subprocess.Popen(
        [os.path.abspath(binary), "serve", "--listen", "127.0.0.1:0"],
        cwd=work,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        for line in server.stderr:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
                break
        assert port, "the gateway did not start"
        held = []
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            if i % 2:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # slow: headers never end
            held.append(s)
        latencies = []
        for _ in range(50):
            started = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port)) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = probe.recv(4096)
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.startswith(b"HTTP/1.1 200"), answer
        time.sleep(25)  # past the default header deadline (20 s)
        closed = 0
        for s in held:
            s.settimeout(0.1)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except OSError:
                pass
            s.close()
        print(json.dumps({
            "held": count,
            "healthz_ms_median": round(statistics.median(latencies), 2),
            "healthz_ms_max": round(max(latencies), 2),
            "closed_after_deadline": closed,
        }))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
