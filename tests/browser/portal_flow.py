"""The customer portal example (examples/portal) in a real browser, against a real gateway:
Chromium signs in as alice, starts pairing, and the QR code is scanned from the page (a
screenshot of the <img>, decoded with zxing-cpp). The SDK's Python wallet connects with
what it read; the page follows the state over the gateway's event stream (status token,
CORS), a wrong code shows the attempts left, the wallet's code connects; the connection is
listed, the bundle downloaded through the page's links and verified, and the wallet revoked
from the page.

Usage (from the repository root, after `cargo test` and `bash mobile-sdk/bindings.sh`):
  python3 tests/browser/portal_flow.py [--screenshots DIR]
"""

import argparse
import asyncio
import datetime
import http.client
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAIT = 20  # seconds for any one thing to happen
WHOLE_RUN = 120  # seconds for everything
results = {"passed": 0, "failed": 0}


class Failed(Exception):
    pass


def check(name, condition, detail=""):
    results["passed" if condition else "failed"] += 1
    print(f"{'ok  ' if condition else 'FAIL'} {name} {'' if condition else detail}", flush=True)
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, method="GET", headers=None, body=None, timeout=WAIT):
    """Answers (status, headers, body) for any status, never raising on 4xx/5xx."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until(what, probe, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise Failed(f"timed out after {timeout} s waiting for {what}")


def sign_in(port, customer):
    """The demo sign-in without a browser; answers the session cookie (urllib would follow
    the redirect and lose it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.request("POST", "/signin", body=f"customer={customer}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        return (response.getheader("Set-Cookie") or "").split(";")[0]
    finally:
        connection.close()


def start_gateway(binary, workdir, portal_origin):
    """The built-in demo organisation with its embedded relay. `serve`, not `demo --serve`:
    only `serve` reads the environment, and the portal's origin must reach [cors]."""
    port = free_port()
    data = Path(workdir) / "gateway"
    data.mkdir(mode=0o700)
    env = {"PATH": "/usr/bin:/bin", "GDPR_GATEWAY_CORS__PORTAL_ORIGINS": json.dumps([portal_origin]),
           "GDPR_GATEWAY_LOG": "warn"}
    log = open(Path(workdir) / "gateway.log", "wb")
    process = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)],
                               cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until("the gateway", lambda: process.poll() is None and fetch(f"{url}/healthz", timeout=2)[0] == 200, 60)
    token = (data / "demo-portal-token").read_text().strip()
    return process, url, token


def start_portal(binary, gateway, token, port):
    process = subprocess.Popen([binary, "--gateway", gateway, "--listen", f"127.0.0.1:{port}"],
                               env={"PATH": "/usr/bin:/bin", "PORTAL_TOKEN": token},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        raise Failed(f"the portal did not start: {line!r}")
    return process, f"http://127.0.0.1:{port}"


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1000,1300", "--hide-scrollbars", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    # An explicit driver: selenium-manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


class Wallet(threading.Thread):
    """The SDK's Python wallet on its own event loop: connects with the scanned URI, hands
    the code it shows to the test, then waits until the portal confirmed it."""

    def __init__(self, module, uri):
        super().__init__(daemon=True)
        self.module, self.uri = module, uri
        self.code = queue.Queue()
        self.outcome = queue.Queue()

    def run(self):
        try:
            asyncio.run(self.flow())
        except Exception as error:  # noqa: BLE001 - reported to the test
            self.code.put(None)
            self.outcome.put(repr(error))

    async def flow(self):
        gw = self.module

        class Keys(gw.KeyStore):
            def __init__(self):
                self.entries = {}

            def load(self, name):
                return self.entries.get(name)

            def save(self, name, value):
                self.entries[name] = bytes(value)

            def delete(self, name):
                self.entries.pop(name, None)

            def names(self):
                return sorted(self.entries)

        wallet = gw.Wallet(Keys())
        pending = await wallet.connect(self.uri)
        self.code.put(pending.code)
        await wallet.wait_connected(pending.connection_id, datetime.timedelta(seconds=WAIT * 3))
        states = [c.state for c in wallet.connections()]
        self.outcome.put("connected" if states == [gw.ConnectionState.CONNECTED] else f"states {states}")


def run(args, workdir):
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    import zxingcpp

    sys.path.insert(0, str(Path(args.bindings).resolve()))
    import gdpr_wallet

    shots = Path(args.screenshots) if args.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    processes = []
    driver = None
    try:
        portal_port = free_port()
        portal_origin = f"http://127.0.0.1:{portal_port}"
        gateway, gateway_url, token = start_gateway(args.gateway_bin, workdir, portal_origin)
        processes.append(gateway)
        portal, portal_url = start_portal(args.portal_bin, gateway_url, token, portal_port)
        processes.append(portal)
        driver = browser()
        wait = WebDriverWait(driver, WAIT)

        def shot(name):
            if shots:
                path = shots / f"{name}.png"
                driver.save_screenshot(str(path))
                # A 64-colour palette keeps each committed screenshot near 30 KB.
                Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)

        def state():
            return driver.find_element(By.ID, "pairing-status").get_attribute("data-state")

        status, _, body = fetch(f"{portal_url}/api/connections")
        check("the backend refuses /api without a session", status == 401
              and json.loads(body).get("error_code") == "not_signed_in", (status, body))

        # A rights request filed as the portal would, so the page has one to list.
        filed = json.loads(fetch(f"{gateway_url}/v1/subjects/alice/requests", "POST",
                                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                json.dumps({"type": "access", "details": "browser test"}).encode())[2])

        driver.get(portal_url)
        check("the sign-in page says it is a demo sign-in", "demo sign-in" in driver.page_source)
        driver.find_element(By.ID, "customer-alice").click()
        shot("01-sign-in")
        driver.find_element(By.ID, "sign-in").click()
        wait.until(lambda d: d.find_element(By.ID, "who").text == "Signed in as Alice")
        cookie = driver.get_cookie("portal_session")
        check("the session cookie is HttpOnly and SameSite=Strict",
              cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", cookie)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#requests-rows tr"))
        check("the customer's rights request is listed with its number and state",
              filed.get("number", "?") in driver.find_element(By.ID, "requests").text
              and "open" in driver.find_element(By.ID, "requests").text, filed)
        shot("02-account")

        driver.find_element(By.ID, "connect").click()
        wait.until(lambda d: state() == "pending")
        qr = driver.find_element(By.ID, "qr")
        wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", qr))
        started = driver.execute_script("return current.pairing")
        check("the browser got a status token and no portal token or connect URI",
              len(started.get("status_token", "")) == 43 and "connect_uri" not in started
              and token not in driver.page_source, sorted(started))
        check("the QR code comes straight from the gateway with the status token",
              qr.get_attribute("src").startswith(f"{gateway_url}/v1/pairings/") and "status_token=" in qr.get_attribute("src"))
        check("while pairing, only the QR code and Cancel are offered",
              not driver.find_element(By.ID, "connect").is_displayed() and driver.find_element(By.ID, "cancel").is_displayed())
        shot("03-qr")

        image = Image.open(io.BytesIO(qr.screenshot_as_png))
        decoded = zxingcpp.read_barcodes(image)
        uri = decoded[0].text if decoded else ""
        check("the QR code on the page decodes", bool(uri), decoded)

        status, _, body = fetch(f"{started['status_url']}?status_token={started['status_token']}")
        check("the status token reads its pairing",
              status == 200 and json.loads(body).get("state") == "pending",
              (status, body[:300]))
        status, _, _ = fetch(f"{started['status_url']}?status_token={'A' * 43}")
        check("another status token reads nothing (refused as a credential)", status == 401, status)
        confirm = f"{gateway_url}/v1/pairings/{started['pairing_id']}/confirm?status_token={started['status_token']}"
        status, _, _ = fetch(confirm, "POST", {"Content-Type": "application/json"}, b'{"code":"000000"}')
        check("the status token cannot confirm a pairing", status == 401, status)

        bob = {"Cookie": sign_in(portal_port, "bob"), "Content-Type": "application/json"}
        status, _, body = fetch(f"{portal_url}/api/pairings/{started['pairing_id']}/confirm", "POST", bob,
                               b'{"code":"000000"}')
        check("another customer's session cannot confirm alice's pairing", status == 404, (status, body))

        wallet = Wallet(gdpr_wallet, uri)
        wallet.start()
        code = wallet.code.get(timeout=WAIT)
        if not check("the wallet connects with the scanned URI and shows a code", code is not None and re.fullmatch(r"\d{6}", code),
                     wallet.outcome.queue):
            raise Failed("no code")
        wait.until(lambda d: state() == "scanned")
        check("the page shows the scan live, over the gateway's event stream",
              driver.find_element(By.ID, "pairing-status").get_attribute("data-live") == "events",
              driver.find_element(By.ID, "pairing-status").get_attribute("data-live"))
        check("the code field has focus", driver.switch_to.active_element.get_attribute("id") == "code")
        shot("04-scanned")

        wrong = f"{(int(code) + 1) % 1000000:06d}"
        field = driver.find_element(By.ID, "code")
        field.send_keys(wrong)
        driver.find_element(By.ID, "confirm").click()
        wait.until(lambda d: "attempts left" in d.find_element(By.ID, "code-error").text)
        check("a wrong code shows the attempts left", "2 attempts left" in driver.find_element(By.ID, "code-error").text,
              driver.find_element(By.ID, "code-error").text)
        shot("05-wrong-code")
        field.clear()
        field.send_keys(code + Keys.ENTER)  # the keyboard alone submits it
        wait.until(lambda d: state() == "connected")
        check("the page says connected", "Connected" in driver.find_element(By.ID, "pairing-status").text)
        outcome = wallet.outcome.get(timeout=WAIT * 3)
        check("the wallet is connected", outcome == "connected", outcome)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#connections li[data-state=active]"))
        check("the connection is listed", len(driver.find_elements(By.CSS_SELECTOR, "#connections li")) == 1)
        shot("06-connected")

        session = {"Cookie": f"portal_session={cookie['value']}"}
        for link, kind, media in (("download-jwt", "jwt", "application/jwt"), ("download-zip", "zip", "application/zip")):
            href = driver.find_element(By.ID, link).get_attribute("href")
            status, headers, body = fetch(href, headers=session, timeout=60)
            check(f"the {kind} download streams with the gateway's type and an attachment name",
                  status == 200 and headers.get("Content-Type", "").startswith(media)
                  and f'filename="alice-data.{kind}"' in headers.get("Content-Disposition", ""),
                  (status, dict(headers), body[:200]))
            path = Path(workdir) / f"alice.{kind}"
            path.write_bytes(body)
            verified = subprocess.run([args.gateway_bin, "verify", str(path), "--jwks", f"{gateway_url}/.well-known/jwks.json"],
                                      capture_output=True, text=True, timeout=60)
            check(f"gdpr-gateway verify accepts the downloaded {kind}", verified.returncode == 0, verified.stderr)

        revoke = driver.find_element(By.CSS_SELECTOR, "#connections li[data-state=active] button")
        check("the revoke button names the wallet", (revoke.get_attribute("aria-label") or "").startswith("Revoke Wallet "))
        revoke.click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#connections li[data-state=revoked]"))
        check("revoking is announced", "revoked" in driver.find_element(By.ID, "announce").get_attribute("textContent"))
        shot("07-revoked")
        check("nothing went wrong on the page", driver.find_element(By.ID, "page-error").text == "",
              driver.find_element(By.ID, "page-error").text)

        gateway.terminate()
        gateway.wait(timeout=10)
        status, _, body = fetch(f"{portal_url}/api/connections", headers=session)
        check("with the gateway down the backend answers 502 gateway_unavailable",
              status == 502 and json.loads(body).get("error_code") == "gateway_unavailable", (status, body))
    except Failed as failure:
        check("the flow ran to its end", False, str(failure))
    except Exception as error:  # noqa: BLE001 - a failing test, with the reason
        shown = ""
        if driver is not None:
            try:
                shown = driver.find_element(By.ID, "page-error").text
            except Exception:  # noqa: BLE001 - the page may not be there
                pass
        check("the flow ran to its end", False, f"{error!r} {'page says: ' + shown if shown else ''}")
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # noqa: BLE001 - the browser may be gone already
                pass
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if results["failed"]:
            log = Path(workdir) / "gateway.log"
            if log.exists():
                print("gateway log (tail):", *log.read_text(errors="replace").splitlines()[-20:], sep="\n  ")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bindings", default=str(ROOT / "target/bindings/python"))
    parser.add_argument("--gateway-bin", default=str(ROOT / "target/debug/gdpr-gateway"))
    parser.add_argument("--portal-bin", default=str(ROOT / "target/debug/examples/portal"))
    parser.add_argument("--screenshots", help="save a PNG of the page at each step into this directory")
    args = parser.parse_args()

    def too_long(*_):
        raise Failed(f"the whole run took over {WHOLE_RUN} s")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(WHOLE_RUN)
    with tempfile.TemporaryDirectory() as workdir:
        run(args, workdir)
    signal.alarm(0)
    print(f"browser: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] or not results["passed"] else 0)


if __name__ == "__main__":
    main()
