#!/usr/bin/env python3
"""The dashboard in headless Chromium against a real `kadende server` with real agent processes (process provider):
log in through the form (a wrong password first), see 3 healthy nodes, kill one node's processes, watch the node turn
unhealthy and be replaced in the page without a reload, scale the group from the page, push a configuration
revision and watch its rollout finish. Screenshots of each step go to OUT. Loopback only; every wait is bounded.

Usage: scripts/lib/dashboard_test.py BIN_DIR OUT_DIR"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from cdp import Browser, CDPError  # noqa: E402

SPEC = """name: web
provider: process
size: {desired: 3, min: 1, max: 6}
health:
  heartbeatInterval: 500ms
  heartbeatTimeout: 3s
  startupTimeout: 2m
remediation:
  # The convicted node stays, unhealthy, until its replacement is healthy: the page shows both.
  maxSurge: 1
"""

PUSH = 'files:\n  - {path: /etc/web/site.conf, content: "served by Kadende"}\nrollout: {batch: 2, bake: 1s}\n'

# The node table as the page shows it: id, state, verdict per row.
ROWS = "JSON.stringify([...document.querySelectorAll('#nodes tbody tr.node')].map(r => [r.dataset.id, r.dataset.state, r.dataset.verdict]))"


def rows(browser):
    return json.loads(browser.evaluate(ROWS))


def main():
    bin_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kadende-dashboard-")
    data = os.path.join(work, "data")
    made = subprocess.run([f"{bin_dir}/kadende", "user", "create", "admin", "--admin", "--data-dir", data,
                           "--generate-password", "--print-token"], check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(": ", 1) for line in made.splitlines() if ": " in line)
    password, token = fields["password"], fields["token"]
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([f"{bin_dir}/kadende", "server", "--data-dir", data, "--listen-http", "127.0.0.1:0",
                               "--listen-agents", "127.0.0.1:0", "--agent-path", f"{bin_dir}/kadende-agent",
                               "--artifact-port", "off", "--local-provider", "process"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    browser = None
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(data, "coordinator.json")):
            if server.poll() is not None or time.monotonic() > deadline:
                raise CDPError("the coordinator did not start: see " + log.name)
            time.sleep(0.1)
        with open(os.path.join(data, "coordinator.json")) as f:
            url = f"http://127.0.0.1:{json.load(f)['httpPort']}"
        env = dict(os.environ, KADENDE_COORDINATOR=url, KADENDE_TOKEN=token)
        with open(os.path.join(work, "web.yaml"), "w") as f:
            f.write(SPEC)
        subprocess.run([f"{bin_dir}/kadende", "group", "apply", "-f", os.path.join(work, "web.yaml"), "--wait", "--timeout", "120"],
                       check=True, env=env, capture_output=True)

        browser = Browser()
        browser.navigate(url + "/")
        browser.wait_for("the login form", "!document.getElementById('login').hidden", 30)

        # A wrong password: a clear error, still on the login form.
        browser.evaluate(f"""document.getElementById('user').value = 'admin';
            document.getElementById('password').value = 'not-the-password';
            document.getElementById('login-form').requestSubmit(); true""")
        error = browser.wait_for("the login error", "document.getElementById('login-error').textContent", 30)
        assert "wrong user or password" in error, error
        browser.screenshot(os.path.join(out, "1-login-refused.png"))

        browser.evaluate(f"""document.getElementById('password').value = {json.dumps(password)};
            document.getElementById('login-form').requestSubmit(); true""")
        browser.wait_for("3 healthy nodes", f"(() => {{ const r = {ROWS}; const n = JSON.parse(r);"
                         f" return n.length === 3 && n.every(x => x[1] === 'healthy' && x[2] === 'healthy') }})()", 60)
        browser.wait_for("the live event stream", "document.getElementById('live').textContent === 'live'", 30)
        # A mark in the page's memory: a reload would wipe it.
        browser.evaluate("window.kadendeNoReload = 'same page'; true")
        navigations = sum(1 for e in browser.events if e.get("method") == "Page.frameNavigated")
        browser.screenshot(os.path.join(out, "2-three-healthy.png"))
        print("check passed: dashboard: logged in through the form (a wrong password refused), 3 healthy nodes shown")

        # Kill one node's processes (its session and its agent), as a machine that dies. Every state the page shows
        # for it is recorded as it renders (a node can go from healthy to terminated within a second).
        victim = rows(browser)[1][0]
        browser.evaluate(f"""window.kadendeSeen = [];
            const note = (s) => {{ if (window.kadendeSeen[window.kadendeSeen.length - 1] !== s) window.kadendeSeen.push(s); }};
            new MutationObserver((records) => {{
              // States set one after another within a task arrive together: each record holds the one it replaced.
              for (const r of records) {{
                if (r.type === 'attributes' && r.target.dataset.id === {json.dumps(victim)}) note(r.oldValue);
              }}
              const row = [...document.querySelectorAll('#nodes tbody tr.node')].find(r => r.dataset.id === {json.dumps(victim)});
              note(row ? row.dataset.state : 'gone');
            }}).observe(document.getElementById('nodes'), {{subtree: true, childList: true, attributeFilter: ['data-state'], attributeOldValue: true}}); true""")
        with open(os.path.join(data, "process", "instances.json")) as f:
            instance = next(i for i in json.load(f) if i["nodeID"] == victim)
        os.killpg(instance["pid"], signal.SIGKILL)
        try:
            os.kill(instance["agentPID"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        browser.wait_for(f"{victim} shown unhealthy", "window.kadendeSeen.includes('unhealthy')", 90)
        browser.screenshot(os.path.join(out, "3-node-convicted.png"))
        browser.wait_for("the replacement healthy and the dead node gone",
                         f"(() => {{ const n = JSON.parse({ROWS}); return n.length === 3 && n.every(x => x[1] === 'healthy')"
                         f" && !n.some(x => x[0] === {json.dumps(victim)}) }})()", 120)
        events = browser.evaluate("document.getElementById('events').textContent")
        assert f"{victim}" in events and "→ unhealthy" in events, "the conviction is in the live events"
        browser.screenshot(os.path.join(out, "4-node-replaced.png"))
        assert browser.evaluate("window.kadendeNoReload") == "same page", "the page was reloaded"
        assert sum(1 for e in browser.events if e.get("method") == "Page.frameNavigated") == navigations, "the page navigated"
        seen = browser.evaluate("window.kadendeSeen")
        assert seen[-1] == "gone" and seen.index("unhealthy") < seen.index("gone"), seen
        print(f"check passed: dashboard: node {victim} killed, shown {' → '.join(seen)}; replaced, 3 healthy again, without a reload")

        # Scale from the page: a fourth node appears and turns healthy.
        browser.evaluate("document.getElementById('scale-desired').value = 4; document.getElementById('scale-form').requestSubmit(); true")
        browser.wait_for("4 healthy nodes", f"(() => {{ const n = JSON.parse({ROWS}); return n.length === 4 && n.every(x => x[1] === 'healthy') }})()", 120)
        print("check passed: dashboard: scaled to 4 from the page")

        # Push a revision from the page and watch its rollout to the end.
        browser.evaluate(f"document.getElementById('config-yaml').value = {json.dumps(PUSH)}; document.getElementById('push-form').requestSubmit(); true")
        browser.wait_for("the rollout under way", "['active', 'succeeded'].includes(document.getElementById('rollout-summary').dataset.state)", 30)
        browser.wait_for("the rollout finished", "document.getElementById('rollout-summary').dataset.state === 'succeeded'", 120)
        revisions = browser.evaluate("[...document.querySelectorAll('#node-config tbody tr')].map(r => r.dataset.revision)")
        assert revisions == ["1"] * 4, revisions
        browser.screenshot(os.path.join(out, "5-rollout-finished.png"))
        assert not browser.exceptions, f"errors in the page: {browser.exceptions}"
        print("check passed: dashboard: a revision pushed from the page rolled out to all 4 nodes; no error in the page")
        print(f"screenshots: {out}")
    except Exception:
        if browser:
            try:
                browser.screenshot(os.path.join(out, "failure.png"))
            except Exception:
                pass
            print("page errors:", browser.exceptions, file=sys.stderr)
            try:
                print("victim states seen:", browser.evaluate("window.kadendeSeen"), file=sys.stderr)
            except Exception:
                pass
        log.flush()
        print(open(log.name).read()[-4000:], file=sys.stderr)
        raise
    finally:
        if browser:
            browser.close()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        # Process nodes outlive their coordinator (it adopts them when it starts again): end them with the test.
        try:
            with open(os.path.join(data, "process", "instances.json")) as f:
                for instance in json.load(f):
                    for pid, group in ((instance.get("pid"), True), (instance.get("agentPID"), False)):
                        try:
                            os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
                        except (ProcessLookupError, TypeError, PermissionError):
                            pass
        except (OSError, ValueError):
            pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
