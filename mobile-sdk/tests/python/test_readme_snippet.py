"""The README's Python wallet snippet, run exactly as printed against `gdpr-gateway demo
--serve`: the code it prints is typed into the portal, and it must pair, download, forward
to the second organisation and file a request.

Usage: python3 test_readme_snippet.py <path to gdpr-gateway>   (from the repository root)
"""

import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def main():
    binary = str(Path(sys.argv[1]).resolve())
    readme = (ROOT / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "wallet.py"
        script.write_text(snippet)
        demo = subprocess.Popen([binary, "demo", "--serve"], cwd=work, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env={"PATH": "/usr/bin:/bin"})
        try:
            organisation = json.loads(demo.stdout.readline())["organisations"][0]

            def portal(path, body):
                request = urllib.request.Request(organisation["url"] + path, data=json.dumps(body).encode(),
                                                 method="POST", headers={
                                                     "Authorization": "Bearer " + organisation["portal_token"],
                                                     "Content-Type": "application/json"})
                return json.loads(urllib.request.urlopen(request, timeout=30).read())

            pairing = portal("/v1/pairings", {"subject_ref": "alice"})
            wallet = subprocess.Popen([sys.executable, str(script), pairing["connect_uri"]], cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            first = wallet.stdout.readline()
            code = re.search(r"\b(\d{6})\b", first)
            if code is None:
                wallet.kill()
                sys.exit(f"readme snippet: no code shown: {first!r}")
            portal(f"/v1/pairings/{pairing['pairing_id']}/confirm", {"code": code.group(1)})
            out, _ = wallet.communicate(timeout=120)
        finally:
            demo.terminate()
            demo.wait(timeout=10)
    ok = wallet.returncode == 0 and re.search(r"\d{4}-\d{6} \d{4}-\d{2}-\d{2}\s*$", out) is not None
    print(f"{'ok  ' if ok else 'FAIL'} the README's Python snippet pairs, downloads, forwards and files a request")
    if not ok:
        print(out)
    print(f"readme snippet: {int(ok)} passed, {int(not ok)} failed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
