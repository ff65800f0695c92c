"""Detection latency of dead nodes, and false convictions under packet loss and agent stalls.

A real `kadende server` (release build) runs in a network namespace this script creates; each process node gets a
namespace of its own (veth pair), serves HTTP on 8080 (the workload) and is probed there by the coordinator.
Every address belongs to a namespace made here. Needs root.

1. Detection: kill one whole node (its session: agent and workload) at a time, KILLS times; detection is kill →
   the node's `→ unhealthy` event. Each kill waits at most 60 s for its replacement.
2. False convictions: for SOAK seconds, nft drops LOSS % of the packets into and out of every node's namespace,
   and each agent is paused (SIGSTOP) for 2 s once a minute, staggered; every `→ unhealthy` event is a false
   conviction.
"""
import argparse, json, os, signal, subprocess, sys, tempfile, time, uuid
from datetime import datetime

from bench_common import make_admin, free_port, parse_time, percentile, publish


class Cluster:
    def __init__(self, bin_dir, agent, work):
        self.bin, self.work = bin_dir, work
        self.ns = f"kadende-bench-{uuid.uuid4().hex[:8]}"
        self.data = f"{work}/data"
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.http = free_port()
        make_admin(bin_dir, self.data)
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, f"{bin_dir}/kadende", "server", "--data-dir", self.data,
             "--listen-http", f"127.0.0.1:{self.http}", "--listen-agents", f"0.0.0.0:{free_port()}",
             "--agent-path", agent, "--artifact-port", "off", "--log-level", "notice", "--local-provider", "process",
             "--process-network", "namespaces", "--process-subnet", "10.214.0.0/16"],
            stdout=subprocess.PIPE, stderr=open(f"{work}/server.log", "w"), text=True)
        if "ready" not in self.server.stdout.readline():
            self.close()
            sys.exit(f"server did not start, see {work}/server.log")

    def cli(self, *args):
        out = subprocess.run(["ip", "netns", "exec", self.ns, f"{self.bin}/kadende", *args,
                              "--coordinator", f"http://127.0.0.1:{self.http}", "-o", "json"],
                             check=True, capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout) if out.stdout.strip() else None

    def in_node(self, node, *command):
        """Runs a command inside a node's namespace (whose name lives in the server's mount namespace)."""
        subprocess.run(["nsenter", "-t", str(self.server.pid), "-m", "ip", "netns", "exec", f"kadende-{node}", *command],
                       check=True, capture_output=True, timeout=30)

    def instances(self):
        with open(f"{self.data}/process/instances.json") as f:
            return {i["nodeID"]: i for i in json.load(f)}

    def events(self, after):
        return self.cli("events", "--group", "bench", "--after", str(after))

    def last_seq(self):
        return max([e["seq"] for e in self.cli("events", "--group", "bench")] or [0])

    def wait_serving(self, count, limit=90):
        deadline = time.time() + limit
        while time.time() < deadline:
            nodes = self.cli("node", "list", "--group", "bench")
            if len(nodes) == count and all(n["state"] == "healthy" and n["connected"] for n in nodes):
                if all(d["external"] and d["external"][0]["status"] == "passing"
                       for d in (self.cli("node", "get", n["id"]) for n in nodes)):
                    return nodes
            time.sleep(0.3)
        sys.exit(f"the group did not come back to {count} serving nodes within {limit} s")

    def close(self):
        try:
            self.server.terminate()
            self.server.wait(timeout=30)
        except Exception:
            self.server.kill()
        try:
            for i in self.instances().values():
                for pid in (-i["pid"], i["pid"], i.get("agentPID") or 0):
                    try:
                        if pid:
                            os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                subprocess.run(["ip", "netns", "del", f"kadende-{i['nodeID']}"], capture_output=True)
        except FileNotFoundError:
            pass
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


SPEC = """name: bench
provider: process
size: {nodes}
health:
  heartbeatInterval: 1s
  external:
    - name: http
      http: {{port: 8080, path: /}}
      interval: 1s
      timeout: 1s
      fall: 2
remediation:
  maxUnhealthy: 100%
  budget: {{replacements: 1000, per: 10m}}
  crashLoop: {{minUptime: 1s}}
bootstrap:
  commands: ["exec python3 -m http.server 8080"]
"""


def kill_node(instance):
    for pid in (-instance["pid"], instance.get("agentPID") or 0):
        try:
            if pid:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_grace(c, limit=60):
    """After a start the coordinator convicts nobody for its grace (15 s): detection is measured after it."""
    deadline = time.time() + limit
    while time.time() < deadline:
        safety = c.cli("group", "get", "bench").get("safety") or {}
        if safety and not safety.get("held"):
            return
        time.sleep(0.5)
    sys.exit("the coordinator's start-up grace did not end")


def detection(c, nodes, kills):
    wait_grace(c)
    detect, reasons = [], {}
    for k in range(kills):
        serving = c.wait_serving(nodes)
        victim = serving[k % nodes]["id"]
        cursor = c.last_seq()
        killed_at = time.time()
        kill_node(c.instances()[victim])
        deadline = killed_at + 60
        convicted = None
        while time.time() < deadline and convicted is None:
            time.sleep(0.1)
            for e in c.events(cursor):
                cursor = e["seq"]
                if e.get("nodeID") == victim and "→ unhealthy" in e["reason"]:
                    convicted = parse_time(e["at"])
                    kind = "closed connection + external probe" if "external probe" in e["reason"] else \
                        "provider: stopped" if "provider reports" in e["reason"] else e["reason"][:60]
                    reasons[kind] = reasons.get(kind, 0) + 1
        if convicted is None:
            sys.exit(f"kill {k + 1}: {victim} was not convicted within 60 s")
        detect.append(convicted - killed_at)
    return detect, reasons


def soak(c, nodes, seconds, loss):
    serving = c.wait_serving(nodes)
    ids = [n["id"] for n in serving]
    for node in ids:
        c.in_node(node, "nft", "add table inet kadende_loss")
        for chain, hook in (("in", "input"), ("out", "output")):
            c.in_node(node, "nft", f"add chain inet kadende_loss {chain} {{ type filter hook {hook} priority 0 ; }}")
            c.in_node(node, "nft", f"add rule inet kadende_loss {chain} numgen random mod 100 < {loss} drop")
    cursor = c.last_seq()
    agents = {n: c.instances()[n]["agentPID"] for n in ids}
    start = time.time()
    pauses = 0
    next_pause = {n: start + 5 + i * 60 / len(ids) for i, n in enumerate(ids)}
    while time.time() - start < seconds:
        now = time.time()
        for n, due in next_pause.items():
            if now >= due:
                os.kill(agents[n], signal.SIGSTOP)
                time.sleep(2)  # the stall itself, not a wait for an outcome
                os.kill(agents[n], signal.SIGCONT)
                pauses += 1
                next_pause[n] = due + 60
        time.sleep(0.2)
    events = c.events(cursor)
    convictions = [e for e in events if "→ unhealthy" in e["reason"]]
    suspects = [e for e in events if "→ suspect" in e["reason"]]
    restarts = [e for e in events if e["kind"] == "node.agent_restarted"]
    return convictions, suspects, restarts, pauses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--soak", type=int, default=600, help="seconds under loss and stalls")
    ap.add_argument("--loss", type=int, default=20, help="percent of packets dropped each way")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if os.getuid() != 0:
        sys.exit("bench_health needs root (network namespaces, nft)")
    work = tempfile.mkdtemp(prefix="kadende-bench-health-")
    c = Cluster(a.bin, a.agent, work)
    try:
        with open(f"{work}/bench.yaml", "w") as f:
            f.write(SPEC.format(nodes=a.nodes))
        c.cli("group", "apply", "-f", f"{work}/bench.yaml", "--wait", "--timeout", "120")
        detect, reasons = detection(c, a.nodes, a.kills)
        convictions, suspects, restarts, pauses = soak(c, a.nodes, a.soak, a.loss)
        lines = [
            "", "## Dead node detection (network namespaces, external probes)", "",
            f"{a.nodes} process nodes, each in its own network namespace serving HTTP on 8080; heartbeat every 1 s, the",
            "coordinator's HTTP probe every 1 s (timeout 1 s, 2 failures), φ threshold 8, ceiling 10 s. One whole node",
            f"(agent and workload) killed with SIGKILL at a time, {a.kills} times. Detection: kill → the node's `→ unhealthy` event.", "",
            "| figure | p50 | p99 | max | goal |", "|---|---|---|---|---|",
            f"| detection | {percentile(detect, 50):.2f} s | {percentile(detect, 99):.2f} s | {max(detect):.2f} s | p99 ≤ 3 s |", "",
            "Convicted on: " + ", ".join(f"{k} ({v})" for k, v in sorted(reasons.items())) + ".", "",
            "## False convictions under packet loss and stalls", "",
            f"The same {a.nodes} nodes for {a.soak} s with nft dropping {a.loss} % of the packets into and out of every node's",
            f"namespace, and every agent paused (SIGSTOP) for 2 s once a minute ({pauses} pauses).", "",
            "| figure | value | goal |", "|---|---|---|",
            f"| false convictions | {len(convictions)} | 0 |",
            f"| suspect transitions (shown, not acted on) | {len(suspects)} | |",
            f"| agent restarts asked of the provider | {len(restarts)} | |", "",
        ] + [f"- convicted: {e['nodeID']}: {e['reason']}" for e in convictions] + [""]
        publish(lines, a.out, "a")
    finally:
        c.close()


if __name__ == "__main__":
    main()
