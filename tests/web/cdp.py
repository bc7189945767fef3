#!/usr/bin/env python3
"""cdp.py - a tiny headless-Chromium driver for the dashboard test, speaking
the DevTools protocol over --remote-debugging-pipe (JSON messages ended by a
NUL byte on fds 3 and 4), with the standard library only.

Loads URL in a window of --width x --height CSS pixels, waits until the page
says it has drawn (--ready, a JavaScript expression), then:
  --facts FILE       writes what extract.js returns (JSON) to FILE
  --screenshot PNG   saves a full-page screenshot
  --step CMD EXPR    (repeatable, in order) runs the shell command CMD, then
                     waits until EXPR is true in the page
Console errors, uncaught exceptions and Content-Security-Policy violations
are written to --log FILE (one per line). Chromium gets a private
--user-data-dir in a temp dir, removed afterwards, and everything is bounded
by --timeout seconds. Exit status: 0 done, 1 a wait timed out or the
protocol failed, 2 usage.
"""
import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, chromium, width, height, deadline):
        self.deadline = deadline
        self.profile = tempfile.mkdtemp(prefix="ds01-dashboard-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Move the child's ends out of the way before placing them on 3 and 4.
        a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def child_fds():
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.setsid()

        args = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--mute-audio",
            "--window-size=%d,%d" % (width, height), "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     close_fds=False, preexec_fn=child_fds)
        os.close(a)
        os.close(b)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", timeout=3)
                except CDPError:
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        finally:
            for fd in (self.to_chrome, self.from_chrome):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, until):
        while b"\0" not in self.buf:
            left = until - time.monotonic()
            if left <= 0:
                raise CDPError("no answer from Chromium in time")
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if not r:
                continue
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise CDPError("Chromium closed the pipe (did it crash?)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=15):
        self.next_id += 1
        mid = self.next_id
        m = {"id": mid, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        data = json.dumps(m).encode() + b"\0"
        while data:
            n = os.write(self.to_chrome, data)
            data = data[n:]
        until = min(time.monotonic() + timeout, self.deadline)
        while True:
            r = self._read_message(until)
            if r.get("id") == mid:
                if "error" in r:
                    raise CDPError("%s: %s" % (method, r["error"].get("message")))
                return r.get("result", {})
            if "method" in r:
                self.events.append(r)


class Page:
    def __init__(self, browser, width, height):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget",
                                    {"targetId": target, "flatten": True})["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 600})
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")

    def call(self, method, params=None, timeout=15):
        return self.b.send(method, params, session=self.session, timeout=timeout)

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CDPError("evaluate failed: %s" % json.dumps(r["exceptionDetails"])[:500])
        return r.get("result", {}).get("value")

    def wait_true(self, expr, seconds):
        until = min(time.monotonic() + seconds, self.b.deadline)
        while time.monotonic() < until:
            try:
                if self.evaluate("!!(%s)" % expr):
                    return True
            except CDPError:
                pass  # the page is still loading
            time.sleep(0.1)
        return False

    def screenshot(self, path):
        m = self.call("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        vp = m.get("cssLayoutViewport") or m["layoutViewport"]
        clip = {"x": 0, "y": 0, "width": max(vp["clientWidth"], 1),
                "height": max(min(size["height"], 16384), 1), "scale": 1}
        r = self.call("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                 "captureBeyondViewport": True}, timeout=30)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def problems(self):
        out = []
        for e in self.b.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + (d.get("exception", {}).get("description")
                                            or d.get("text", "?")))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
            elif e["method"] == "Log.entryAdded":
                en = p.get("entry", {})
                if en.get("level") == "error":
                    out.append("log(%s): %s %s" % (en.get("source"), en.get("text"),
                                                    en.get("url", "")))
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--ready", default="document.documentElement.dataset.rendered >= 1")
    ap.add_argument("--extract", help="a JavaScript file whose value (JSON) --facts saves")
    ap.add_argument("--facts")
    ap.add_argument("--screenshot")
    ap.add_argument("--log")
    ap.add_argument("--step", nargs=2, action="append", default=[], metavar=("CMD", "EXPR"))
    ap.add_argument("--ready-timeout", type=float, default=30)
    ap.add_argument("--step-timeout", type=float, default=20)
    ap.add_argument("--timeout", type=float, default=90)
    a = ap.parse_args()
    if a.facts and not a.extract:
        ap.error("--facts needs --extract")

    deadline = time.monotonic() + a.timeout
    b = Browser(a.chromium, a.width, a.height, deadline)
    rc = 0
    page = None
    try:
        page = Page(b, a.width, a.height)
        page.call("Page.navigate", {"url": a.url})
        if not page.wait_true(a.ready, a.ready_timeout):
            print("cdp: the page did not become ready (%s)" % a.ready, file=sys.stderr)
            rc = 1
        if rc == 0 and a.facts:
            with open(a.extract) as f:
                facts = page.evaluate(f.read())
            with open(a.facts, "w") as f:
                json.dump(facts, f, indent=1)
        if rc == 0 and a.screenshot:
            page.screenshot(a.screenshot)
        for cmd, expr in a.step if rc == 0 else []:
            if subprocess.call(cmd, shell=True) != 0:
                print("cdp: step command failed: %s" % cmd, file=sys.stderr)
                rc = 1
                break
            if not page.wait_true(expr, a.step_timeout):
                print("cdp: timed out after %gs waiting for %s" % (a.step_timeout, expr),
                      file=sys.stderr)
                rc = 1
                break
    except (CDPError, OSError, KeyError, ValueError) as e:
        print("cdp: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        if page and a.log:
            with open(a.log, "w") as f:
                for line in page.problems():
                    f.write(line.replace("\n", " ") + "\n")
        b.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
