"""Agents per coordinator: one `kadende server` (release) on the PostgreSQL store, `kadende-loadgen` playing N
agents of the simulated provider over real mutual TLS with 1 heartbeat/s. At each size: the coordinator's CPU and
RSS over a window, memory per agent (RSS above the idle coordinator's, over N), PostgreSQL's CPU and the store's
writes per second (pg_stat_database). Then a reconnect storm at the largest size: the coordinator killed with -9
and started again, every agent reconnecting at once; time until all are back, and convictions (there must be none).
Loopback only; every wait is bounded."""
import argparse, json, os, signal, subprocess, sys, time
from bench_common import api, free_port, publish, stop, wait

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def postgres_pids():
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/status") as f:
                    name = next(line.split()[1] for line in f if line.startswith("Name:"))
            except OSError:
                continue
            if name == "postgres":
                out.append(int(pid))
    return out


def pg_cpu():
    """PostgreSQL's CPU seconds so far: its live processes, plus the backends that have exited, which the postmaster
    has reaped into its children's time (cutime, cstime). Pooled connections come and go; counting only the live
    ones would lose the time of those that closed during the window."""
    pids = set(postgres_pids())
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK
        if int(fields[1]) not in pids:  # the postmaster: its parent is not PostgreSQL
            total += (int(fields[13]) + int(fields[14])) / CLK
    return total


def pg_stats(url):
    out = subprocess.run(["psql", url, "-Atc",
                          "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()"],
                         check=True, capture_output=True, text=True, timeout=30).stdout.strip().split("|")
    return int(out[0]), int(out[1])


def loadgen_status(path):
    with open(path) as f:
        return json.load(f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--store", required=True, help="postgres:// URL of an empty database")
    p.add_argument("--sizes", default="1000,5000,10000")
    p.add_argument("--window", type=int, default=30)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    work = subprocess.run(["mktemp", "-d", "/tmp/kadende-bench-scale-XXXXXX"], capture_output=True, text=True).stdout.strip()
    spool, status = f"{work}/spool", f"{work}/loadgen.json"
    http, agents = free_port(), free_port()
    token_out = subprocess.run([f"{a.bin}/kadende", "user", "create", "bench", "--admin", "--store", a.store, "--generate-password",
                                "--print-token"], check=True, capture_output=True, text=True, timeout=60).stdout
    os.environ["KADENDE_TOKEN"] = next(l[len("token: "):] for l in token_out.splitlines() if l.startswith("token: "))
    url = f"http://127.0.0.1:{http}"
    args = [f"{a.bin}/kadende", "server", "--data-dir", f"{work}/data", "--store", a.store, "--listen-http", f"127.0.0.1:{http}",
            "--listen-agents", f"127.0.0.1:{agents}", "--log-level", "warning", "--simulated-spool", spool,
            "--agent-path", a.agent, "--artifact-port", "off", "--restart-grace", "30s"]

    # KADENDE_BENCH_WRAP runs the coordinator under a profiler, e.g. "heaptrack -o /tmp/kadende-heap".
    wrap = os.environ.get("KADENDE_BENCH_WRAP", "").split()

    def start():
        server = subprocess.Popen(wrap + args, stdout=subprocess.PIPE, stderr=open(f"{work}/server.log", "a"), text=True)
        # A profiler may speak first; the coordinator's own first line says ready.
        if not any("ready" in server.stdout.readline() for _ in range(10)):
            sys.exit(f"bench_scale: the server did not start, see {work}/server.log")
        return server

    def coordinator(server):
        """The coordinator's own pid, measured and killed: a profiler may run it as its child."""
        if not wrap:
            return server.pid
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"/kadende") and argv[1:2] == [b"server"] and f"{work}/data".encode() in argv:
                return int(pid)
        sys.exit("bench_scale: cannot find the coordinator under " + " ".join(wrap))

    server = start()
    pid = coordinator(server)
    time.sleep(3)  # settle: the idle coordinator's RSS is the baseline
    baseline = rss_kib(pid)
    loadgen = subprocess.Popen([f"{a.bin}/kadende-loadgen", "--spool", spool, "--count", str(max(sizes)), "--duration", "1700",
                                "--status", status], stdout=open(f"{work}/loadgen.log", "w"), stderr=subprocess.STDOUT)
    rows = []
    storm = None
    try:
        for size in sizes:
            with open(f"{work}/sim.yaml", "w") as f:
                f.write(f"name: sim\nprovider: simulated\nsize: {{desired: {size}, min: 1, max: 10000}}\n"
                        "health: {heartbeatInterval: 1s, heartbeatTimeout: 10s}\n")
            applied = subprocess.run([f"{a.bin}/kadende", "group", "apply", "-f", f"{work}/sim.yaml", "--coordinator", url],
                                     capture_output=True, text=True, timeout=60)
            if applied.returncode != 0:
                sys.exit(f"bench_scale: apply failed: {applied.stderr.strip()}")
            wait(f"{size} agents connected", 1200, lambda: loadgen_status(status)["connected"] >= size)
            wait(f"{size} nodes healthy", 600, lambda: api(url, "/v1/groups")[0]["healthy"] >= size)
            time.sleep(5)  # past the burst of enrolments
            c0, p0, w0, t0 = cpu_seconds(pid), pg_cpu(), pg_stats(a.store), time.time()
            l0 = cpu_seconds(loadgen.pid)
            time.sleep(a.window)
            elapsed = time.time() - t0
            c1, p1, w1, l1 = cpu_seconds(pid), pg_cpu(), pg_stats(a.store), cpu_seconds(loadgen.pid)
            rss = rss_kib(pid)
            row = dict(size=size, cpu=(c1 - c0) / elapsed * 100, rss=rss / 1024, per_agent=(rss - baseline) / size,
                       pg_cpu=(p1 - p0) / elapsed * 100, tx=(w1[0] - w0[0]) / elapsed, rows=(w1[1] - w0[1]) / elapsed,
                       loadgen=(l1 - l0) / elapsed * 100)
            rows.append(row)
            print(f"{size} agents: coordinator {row['cpu']:.0f} % CPU, RSS {row['rss']:.0f} MiB, {row['per_agent']:.1f} KiB/agent; "
                  f"PostgreSQL {row['pg_cpu']:.0f} % CPU, {row['tx']:.0f} transactions/s, {row['rows']:.0f} rows written/s", flush=True)

        # The storm: the coordinator dies and comes back; every agent reconnects at once.
        size = sizes[-1]
        os.kill(pid, signal.SIGKILL)
        server.wait()
        wait("every agent noticed", 120, lambda: loadgen_status(status)["connected"] == 0, every=0.5)
        restarted = time.time()
        server = start()
        pid = coordinator(server)
        back = wait(f"{size} agents reconnected", 900, lambda: loadgen_status(status)["connected"] >= size, every=0.5)
        healthy = wait(f"{size} nodes healthy again", 600, lambda: api(url, "/v1/groups")[0]["healthy"] >= size)
        time.sleep(40)  # past the restart grace (30 s): convictions would show now
        convictions, after = 0, 0
        while True:
            page = api(url, f"/v1/events?group=sim&after={after}&limit=5000")
            convictions += sum(1 for e in page if "→ unhealthy" in e["reason"] or e["kind"] == "node.convicted")
            if len(page) < 5000:
                break
            after = page[-1]["seq"]
        storm = dict(size=size, back=back - restarted, healthy=healthy - restarted, convictions=convictions,
                     alive=server.poll() is None, rss=rss_kib(pid) / 1024)
        print(f"storm: {size} agents back {storm['back']:.0f} s after the restart, healthy {storm['healthy']:.0f} s; "
              f"{convictions} convictions; coordinator alive: {storm['alive']}", flush=True)
    finally:
        stop(loadgen)
        stop(server)

    lines = ["", "## Agents per coordinator, on PostgreSQL (`scripts/lib/bench_scale.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')}: one `kadende server` (release) on the PostgreSQL store (a private PostgreSQL 15",
             "on the same machine), `kadende-loadgen` playing every agent in one process on the same 2 cores over real mutual",
             "TLS, 1 heartbeat/s each. CPU is a share of one core over a {}-second window after every agent is connected and".format(a.window),
             "healthy; memory per agent is the coordinator's RSS above its idle RSS ({:.0f} MiB), divided by the agents.".format(baseline / 1024),
             "Store writes are PostgreSQL's own counters (pg_stat_database) for the coordinator's database.", "",
             "| agents | coordinator CPU | coordinator RSS | memory per agent (goal < 50 KB = 48.8 KiB) | PostgreSQL CPU | store transactions/s | rows written/s | load generator CPU |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['size']:,} | {r['cpu']:.0f} % | {r['rss']:.0f} MiB | {r['per_agent']:.1f} KiB | {r['pg_cpu']:.0f} % | "
                     f"{r['tx']:.0f} | {r['rows']:.0f} | {r['loadgen']:.0f} % |")
    if storm:
        lines += ["", f"Reconnect storm: the coordinator killed with -9 with {storm['size']:,} agents connected, started again at once;",
                  "every agent reconnects (the load generator's agents retry after 0.5–1.5 s, 64 handshakes at a time).", "",
                  "| figure | value |", "|---|---|",
                  f"| restart → every agent reconnected | {storm['back']:.0f} s |",
                  f"| restart → every node healthy | {storm['healthy']:.0f} s |",
                  f"| convictions (goal 0) | {storm['convictions']} |",
                  f"| coordinator still running after | {'yes' if storm['alive'] else 'no'} (RSS {storm['rss']:.0f} MiB) |"]
    lines.append("")
    publish(lines, a.out, "a")


if __name__ == "__main__":
    main()
