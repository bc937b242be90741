#!/usr/bin/env python3
"""The conformance job: Schemathesis with every check against the gateway as `serve` runs
it (the built-in demo on SQLite), for the gateway's own operations, with the exceptions
in schemathesis.toml. Exits non-zero on any failure.

    python3 tests/conformance/run.py target/debug/gdpr-gateway

The relay's operations (under /relay) need DPoP proofs and sealed envelopes signed per
request; they are not covered here yet (docs/security.md, known gaps)."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GATEWAY_PATHS = r"^/(v1|\.well-known|healthz|readyz|metrics)"


def main() -> None:
    binary = Path(sys.argv[1]).resolve()
    work = Path(tempfile.mkdtemp())
    server = subprocess.Popen(
        [str(binary), "serve", "--listen", "127.0.0.1:0"], cwd=work, stderr=subprocess.PIPE, text=True
    )
    try:
        url = None
        for line in server.stderr:
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                url = match.group(1)
                break
        if not url:
            sys.exit("the gateway did not start")
        token = (work / "gdpr-gateway-data" / "demo-portal-token").read_text().strip()
        result = subprocess.run(
            [
                "st", "--config-file", str(HERE / "schemathesis.toml"),
                "run", str(ROOT / "openapi" / "gateway.json"),
                "--url", url,
                "--checks", "all",
                # DELETE ends a pairing or connection, it does not erase it (schemathesis.toml).
                "--exclude-checks", "use_after_free",
                "--include-path-regex", GATEWAY_PATHS,
                "-H", f"Authorization: Bearer {token}",
                "--seed", os.environ.get("CONFORMANCE_SEED", "1"),
            ],
            cwd=work,
        )
        sys.exit(result.returncode)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
