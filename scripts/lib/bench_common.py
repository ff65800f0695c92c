"""What Kadende's benchmarks share: a real `kadende server` on loopback ports, the CLI, and the report."""
import json, os, socket, subprocess, sys, time, urllib.request
from datetime import datetime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(bin_dir, url, *args):
    out = subprocess.run([f"{bin_dir}/kadende", *args, "--coordinator", url, "-o", "json"],
                         check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)


def make_admin(bin_dir, data_dir):
    """The benchmark's admin, made in the store before the server starts; its token goes to every CLI call and
    API request through KADENDE_TOKEN."""
    os.makedirs(data_dir, exist_ok=True)
    out = subprocess.run([f"{bin_dir}/kadende", "user", "create", "bench", "--admin", "--data-dir", data_dir,
                          "--generate-password", "--print-token"], check=True, capture_output=True, text=True, timeout=60)
    token = next(line[len("token: "):] for line in out.stdout.splitlines() if line.startswith("token: "))
    os.environ["KADENDE_TOKEN"] = token
    return token


def api_request(url):
    """A GET of the API with the benchmark's token."""
    return urllib.request.Request(url, headers={"Authorization": f"Bearer {os.environ.get('KADENDE_TOKEN', '')}"})


def api(url, path):
    """The API's JSON answer to a GET."""
    with urllib.request.urlopen(api_request(url + path), timeout=30) as r:
        return json.load(r)


def events_after(url, group, after):
    """Every event of a group after a sequence number, page by page."""
    out = []
    while True:
        page = api(url, f"/v1/events?group={group}&after={after}&limit=5000")
        out += page
        if len(page) < 5000:
            return out
        after = page[-1]["seq"]


def wait(what, limit, condition, every=0.2):
    """Waits for a condition, at most `limit` seconds; returns when it held. A condition that cannot be read yet
    (a server restarting, a status file being replaced) counts as not yet."""
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            if condition():
                return time.time()
        except (OSError, ValueError, KeyError, IndexError):
            pass
        time.sleep(every)
    sys.exit(f"{os.path.basename(sys.argv[0])}: never happened within {limit}s: {what}")


def start_server(bin_dir, work, *extra):
    """Starts `kadende server` with its data in WORK/data and returns (process, API URL) once it says it is ready."""
    make_admin(bin_dir, f"{work}/data")
    http, agents = free_port(), free_port()
    server = subprocess.Popen([f"{bin_dir}/kadende", "server", "--data-dir", f"{work}/data",
                               "--listen-http", f"127.0.0.1:{http}", "--listen-agents", f"127.0.0.1:{agents}",
                               "--log-level", "warning", "--local-provider", "process", "--local-provider", "qemu", *extra],
                              stdout=subprocess.PIPE, stderr=open(f"{work}/server.log", "w"), text=True)
    if "ready" not in server.stdout.readline():
        server.kill()
        sys.exit(f"server did not start, see {work}/server.log")
    return server, f"http://127.0.0.1:{http}"


def stop(proc):
    """Asks a process to stop; kills it after 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def stop_server(server):
    server.terminate()
    server.wait(timeout=30)


def publish(lines, out, mode):
    """Writes (mode "w") or appends (mode "a") a section of docs/benchmarks.md and prints it."""
    with open(out, mode) as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]
