"""The agent's footprint at rest: binary size, RSS and CPU of idle agents heartbeating once a second.

Starts a real `kadende server` (release build) on loopback with process nodes running the packaged agent, and
reads each agent's /proc for 10 s. Bounded: one group, one window.
"""
import argparse, json, os, signal, statistics, subprocess, sys, tempfile, time
from datetime import datetime

from bench_common import cli, publish, start_server, stop_server


def kib(pid, field, source="status"):
    """A kB figure from /proc/PID/SOURCE, e.g. VmRSS from status or Anonymous (heap, stacks: what the agent itself
    allocated, as opposed to its binary's file pages) from smaps_rollup."""
    with open(f"/proc/{pid}/{source}") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--agent", required=True, help="the packaged (static, stripped) kadende-agent")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="kadende-bench-")
    data = f"{work}/data"
    server, url = start_server(a.bin, work, "--agent-path", a.agent)
    try:
        spec = f"{work}/bench.yaml"
        with open(spec, "w") as f:
            f.write(f"name: bench\nprovider: process\nsize: {a.nodes}\n"
                    "health: {heartbeatInterval: 1s, heartbeatTimeout: 3s}\n")
        subprocess.run([f"{a.bin}/kadende", "group", "apply", "-f", spec, "--wait", "--timeout", "120",
                        "--coordinator", url], check=True, capture_output=True, timeout=150)

        # Idle agents: RSS now, CPU over 10 s.
        with open(f"{data}/process/instances.json") as f:
            pids = [i["agentPID"] for i in json.load(f)]
        rss = [kib(p, "VmRSS") for p in pids]
        anon = [kib(p, "Anonymous", "smaps_rollup") for p in pids]
        t0 = [cpu_ticks(p) for p in pids]
        time.sleep(10)  # a measurement window, not a wait for an outcome
        ticks = [cpu_ticks(p) - b for p, b in zip(pids, t0)]
        hz = os.sysconf("SC_CLK_TCK")
        idle_cpu = [100 * t / hz / 10 for t in ticks]

        stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
        cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
        lines = [
            "# Kadende benchmarks", "",
            f"Measured by `scripts/bench` on {stamp} UTC, {os.cpu_count()} cores ({cpu}), release builds.", "",
            "## Agent at rest", "",
            "The agent as nodes get it: `scripts/package-agent` (static Swift runtime, -Osize, stripped).", "",
            "| figure | value |", "|---|---|",
            f"| binary size (aim: under 25 MB) | {os.path.getsize(a.agent) / 1e6:.1f} MB |",
            f"| RSS per idle agent (aim: under 15 MB) | {statistics.mean(rss) / 1024:.1f} MiB (max {max(rss) / 1024:.1f} MiB) |",
            f"| of which anonymous (heap, stacks) | {statistics.mean(anon) / 1024:.1f} MiB (max {max(anon) / 1024:.1f} MiB) |",
            f"| of which the binary's pages (clean, shared with the page cache) | {statistics.mean(r - x for r, x in zip(rss, anon)) / 1024:.1f} MiB |",
            f"| CPU per idle agent, 1 heartbeat/s, over 10 s | {statistics.mean(idle_cpu):.2f} % (max {max(idle_cpu):.2f} %) |", "",
            "Most of the RSS is the static binary's own code pages, mapped on demand (the kernel maps neighbouring pages",
            "with each fault); what the agent allocates is the anonymous part. The binary links two copies of BoringSSL",
            "(NIOSSL's and swift-crypto's) and FoundationEssentials, which swift-certificates needs.", "",
        ]
        publish(lines, a.out, "w")
    finally:
        stop_server(server)
        try:
            with open(f"{data}/process/instances.json") as f:
                for i in json.load(f):
                    for pid in (-i["pid"], i["pid"], i.get("agentPID", 0)):
                        try:
                            if pid:
                                os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
