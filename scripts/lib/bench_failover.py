"""Failover between coordinator replicas: two `kadende server` replicas (release) on one PostgreSQL database, two
groups of simulated agents (`kadende-loadgen`, real mutual TLS, 1 heartbeat/s, every agent told both replicas'
endpoints), one group owned by each replica. The owner of one group is killed with -9, several times, alternating
which replica dies (each comes back before the next round). Per round: kill → the survivor's `group.owner_changed`
(the lease runs out, by PostgreSQL's clock), kill → every agent connected again, and false replacements: nodes
requested, convicted or turned unhealthy in either group after the kill, counted past the failover grace.
Loopback only; every wait is bounded."""
import argparse, json, os, shutil, signal, subprocess, sys, time
from bench_common import api, events_after, free_port, percentile, publish, stop, wait








def owner(url, group):
    changes = [e for e in events_after(url, group, 0) if e["kind"] == "group.owner_changed"]
    return changes[-1]["reason"].split(" ")[1] if changes else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--store", required=True, help="postgres:// URL of an empty database")
    p.add_argument("--agents", type=int, default=2000, help="split between two groups")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    work = subprocess.run(["mktemp", "-d", "/tmp/kadende-bench-failover-XXXXXX"], capture_output=True, text=True).stdout.strip()
    spool, status = f"{work}/spool", f"{work}/loadgen.json"
    token_out = subprocess.run([f"{a.bin}/kadende", "user", "create", "bench", "--admin", "--store", a.store, "--generate-password",
                                "--print-token"], check=True, capture_output=True, text=True, timeout=60).stdout
    os.environ["KADENDE_TOKEN"] = next(l[len("token: "):] for l in token_out.splitlines() if l.startswith("token: "))
    names = ["replica-1", "replica-2"]
    http = {n: free_port() for n in names}
    agent_ports = {n: free_port() for n in names}
    url = {n: f"http://127.0.0.1:{http[n]}" for n in names}
    advertise = [x for n in names for x in ("--advertise", f"127.0.0.1:{agent_ports[n]}")]
    procs = {}

    def start(name):
        data = f"{work}/{name}"
        if name != names[0] and not os.path.exists(f"{data}/pki"):
            # Replicas share the CA and the secret key (docs/ha.md): copied from the first.
            os.makedirs(data, exist_ok=True)
            shutil.copytree(f"{work}/{names[0]}/pki", f"{data}/pki")
            shutil.copy(f"{work}/{names[0]}/secret.key", f"{data}/secret.key")
        args = [f"{a.bin}/kadende", "server", "--data-dir", data, "--store", a.store, "--replica-id", name,
                "--listen-http", f"127.0.0.1:{http[name]}", "--listen-agents", f"127.0.0.1:{agent_ports[name]}", *advertise,
                "--log-level", "warning", "--simulated-spool", spool, "--agent-path", a.agent, "--artifact-port", "off"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(f"{work}/{name}.log", "a"), text=True)
        if "ready" not in proc.stdout.readline():
            sys.exit(f"bench_failover: {name} did not start, see {work}/{name}.log")
        procs[name] = proc

    for name in names:
        start(name)
    half = a.agents // 2
    groups = ["fa", "fb"]
    for g in groups:
        with open(f"{work}/{g}.yaml", "w") as f:
            f.write(f"name: {g}\nprovider: simulated\nsize: {{desired: {half}, min: 1, max: 10000}}\n"
                    "health: {heartbeatInterval: 1s, heartbeatTimeout: 10s}\n")
        applied = subprocess.run([f"{a.bin}/kadende", "group", "apply", "-f", f"{work}/{g}.yaml", "--coordinator", url[names[0]]],
                                 capture_output=True, text=True, timeout=60)
        if applied.returncode != 0:
            sys.exit(f"bench_failover: apply failed: {applied.stderr.strip()}")
    # Room for replacements, should there be any: they are counted, not waited for forever.
    loadgen = subprocess.Popen([f"{a.bin}/kadende-loadgen", "--spool", spool, "--count", str(2 * half + 200), "--duration", "1700",
                                "--status", status], stdout=open(f"{work}/loadgen.log", "w"), stderr=subprocess.STDOUT)

    def connected():
        with open(status) as f:
            return json.load(f)["connected"]

    def healthy(via):
        return sum(g["healthy"] for g in api(url[via], "/v1/groups") if g["name"] in groups)

    rounds = []
    try:
        wait(f"{2 * half} agents connected", 900, lambda: connected() >= 2 * half, every=1)
        wait(f"{2 * half} nodes healthy", 600, lambda: healthy(names[0]) >= 2 * half, every=1)
        wait("each replica owns one group", 120, lambda: {owner(url[names[0]], g) for g in groups} == set(names), every=1)
        for r in range(a.rounds):
            group = groups[r % 2]
            victim = owner(url[names[0]], group)
            survivor = next(n for n in names if n != victim)
            cursor = {g: max([e["seq"] for e in events_after(url[survivor], g, 0)] or [0]) for g in groups}
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            killed = time.time()
            # The load generator's count is written every second: first see the victim's agents gone from it. After
            # the first round every agent may be on the other replica (agents stay where they are), and none moves.
            lowest, seen_until = connected(), time.time() + 3
            while time.time() < seen_until:
                lowest = min(lowest, connected())
                time.sleep(0.1)
            moved = 2 * half - lowest if lowest < 2 * half else 0
            took = None
            back = None if moved else 0.0
            deadline = killed + 300
            while (took is None or back is None) and time.time() < deadline:
                if took is None and owner(url[survivor], group) == survivor:
                    took = time.time() - killed
                if back is None and connected() >= 2 * half:
                    back = time.time() - killed
                time.sleep(0.1)
            if took is None or back is None:
                sys.exit(f"bench_failover: round {r + 1}: {survivor} owned {group}: {took}; every agent back: {back}")
            # Past the failover grace (15 s) and the heartbeat timeout: a false conviction would have happened by now.
            time.sleep(max(0, killed + 40 - time.time()))
            false = 0
            for g in groups:
                false += sum(1 for e in events_after(url[survivor], g, cursor[g])
                             if e["kind"] in ("node.requested", "node.convicted") or "→ unhealthy" in e["reason"])
            rounds.append(dict(victim=victim, group=group, takeover=took, back=back, moved=moved, false=false))
            print(f"round {r + 1}: killed {victim} (owner of {group}, {moved} agents connected to it); {survivor} owned it after "
                  f"{took:.1f} s; every agent back after {back:.1f} s; false replacements {false}", flush=True)
            # The killed replica comes back and takes its fair share again before the next round.
            start(victim)
            wait("each replica owns one group again", 120, lambda: {owner(url[survivor], g) for g in groups} == set(names), every=1)
            wait("every node healthy", 300, lambda: healthy(survivor) >= 2 * half, every=1)
    finally:
        stop(loadgen)
        for proc in procs.values():
            stop(proc)

    takeovers = [r["takeover"] for r in rounds]
    backs = [r["back"] for r in rounds if r["moved"]] or [0.0]
    lines = ["", "## Failover between replicas (`scripts/lib/bench_failover.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')}: two `kadende server` replicas (release, default lease 6 s, failover grace 15 s) on",
             f"one PostgreSQL 15; {2 * half:,} simulated agents over real mutual TLS at 1 heartbeat/s in two groups, one owned by",
             "each replica; every agent knows both endpoints. Each round kills the owner of one group with -9 (alternating",
             "replicas; the killed one is started again before the next round). Agents stay with the replica they reach,",
             "so after the first round they are all on one: a later round kills either that one (every agent moves) or the",
             "other, an owner whose agents all talk to the replica that survives. False replacements: nodes requested,",
             "convicted or turned unhealthy in either group from the kill until 40 s after it.", "",
             "| figure | median | worst | goal |", "|---|---|---|---|",
             f"| kill → the survivor owns the group | {percentile(takeovers, 50):.1f} s | {max(takeovers):.1f} s | ≤ 10 s |",
             f"| kill → every agent connected again, in the {sum(1 for r in rounds if r['moved'])} rounds where agents were on the victim "
             f"(±1 s: the load generator counts every second) | {percentile(backs, 50):.1f} s | {max(backs):.1f} s | |",
             f"| false replacements ({len(rounds)} rounds) | | {sum(r['false'] for r in rounds)} | 0 |", ""]
    publish(lines, a.out, "a")


if __name__ == "__main__":
    main()
