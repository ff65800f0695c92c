"""What Kadende's benchmarks share: a real `kadende server` on loopback ports, the CLI, and the report."""
import json, socket, subprocess, sys
from datetime import datetime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(bin_dir, url, *args):
    out = subprocess.run([f"{bin_dir}/kadende", *args, "--coordinator", url, "-o", "json"],
                         check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)


def start_server(bin_dir, work, *extra):
    """Starts `kadende server` with its data in WORK/data and returns (process, API URL) once it says it is ready."""
    http, agents = free_port(), free_port()
    server = subprocess.Popen([f"{bin_dir}/kadende", "server", "--data-dir", f"{work}/data",
                               "--listen-http", f"127.0.0.1:{http}", "--listen-agents", f"127.0.0.1:{agents}",
                               "--log-level", "warning", *extra],
                              stdout=subprocess.PIPE, stderr=open(f"{work}/server.log", "w"), text=True)
    if "ready" not in server.stdout.readline():
        server.kill()
        sys.exit(f"server did not start, see {work}/server.log")
    return server, f"http://127.0.0.1:{http}"


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
