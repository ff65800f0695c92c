"""Push to acknowledgement for thousands of agents: a real `kadende server` on loopback with the simulated
provider, `kadende-loadgen` playing its machines' agents over real mutual TLS (real enrolment, hello, heartbeats,
acks), and configuration revisions pushed to the whole group at once. Push and acknowledgement times are the
coordinator's own (the `config.pushed` event and each `node.config_applied` event, stamped on arrival)."""
import argparse, json, subprocess, sys, time
from bench_common import api, cli, events_after, parse_time, publish, start_server, stop_server, wait








def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--sizes", default="1000,10000")
    # The simulated provider starts no agent; the server still wants one to exist for the process provider.
    p.add_argument("--agent", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    work = subprocess.run(["mktemp", "-d", "/tmp/kadende-bench-push-XXXXXX"], capture_output=True, text=True).stdout.strip()
    spool, status = f"{work}/spool", f"{work}/loadgen.json"
    server, url = start_server(a.bin, work, "--simulated-spool", spool, "--restart-grace", "1s", "--agent-path", a.agent)
    loadgen = subprocess.Popen([f"{a.bin}/kadende-loadgen", "--spool", spool, "--count", str(max(sizes)), "--duration", "1500",
                                "--status", status], stdout=open(f"{work}/loadgen.log", "w"), stderr=subprocess.STDOUT)
    results = []
    try:
        for size in sizes:
            spec = f"{work}/sim.yaml"
            with open(spec, "w") as f:
                # Heartbeats every 5 s: this measures configuration, not the heartbeat path (issue 8 measures that).
                f.write(f"name: sim\nprovider: simulated\nsize: {{desired: {size}, min: 1, max: 10000}}\n"
                        "health: {heartbeatInterval: 5s, heartbeatTimeout: 60s}\n")
            started = time.time()
            cli(a.bin, url, "group", "apply", "-f", spec)

            def connected():
                try:
                    with open(status) as f:
                        return json.load(f)["connected"] >= size
                except (FileNotFoundError, json.JSONDecodeError):
                    return False
            wait(f"{size} simulated agents connected", 900, connected, every=1)
            # The group list carries counts only: polling it does not make the coordinator encode every node.
            wait(f"{size} nodes healthy", 300, lambda: api(url, "/v1/groups")[0]["healthy"] >= size, every=1)
            ready = time.time() - started
            times = []
            for r in range(a.rounds):
                path = f"{work}/rev.yaml"
                with open(path, "w") as f:
                    f.write(f"message: bench {size} round {r}\nrollout: {{strategy: all-at-once, bake: 0s}}\n"
                            f"files:\n  - {{path: /etc/bench.conf, content: \"size {size} round {r}\"}}\n")
                last = events_after(url, "sim", 0)[-1]["seq"]
                pushed = cli(a.bin, url, "config", "push", "--group", "sim", "-f", path)
                revision = pushed["revision"]["revision"]
                wait(f"revision {revision} acknowledged by {size} agents", 120,
                     lambda: api(url, "/v1/groups/sim/config/rollouts")[0]["state"] == "succeeded")
                events = events_after(url, "sim", last)
                t0 = min(parse_time(e["at"]) for e in events if e["kind"] == "config.pushed")
                acks = {e["nodeID"]: parse_time(e["at"]) for e in events
                        if e["kind"] == "node.config_applied" and e["reason"].startswith(f"revision {revision} applied")}
                if len(acks) < size:
                    sys.exit(f"bench_push: revision {revision}: only {len(acks)} of {size} acknowledgements recorded")
                times.append(max(acks.values()) - t0)
                print(f"size {size} round {r}: revision {revision} pushed → last of {len(acks)} acks in {times[-1]:.3f} s", flush=True)
            results.append((size, ready, times))
    finally:
        loadgen.terminate()
        stop_server(server)
        try:
            loadgen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            loadgen.kill()
    lines = ["", "## Configuration push to acknowledgement (`scripts/lib/bench_push.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')}: one `kadende server` (release, SQLite) on this 2-core machine; `kadende-loadgen`",
             "plays every agent of the simulated provider's machines in one process on the same 2 cores, over real mutual TLS",
             "(enrolment with the single-use token and a CSR, hello, heartbeats every 5 s, an ack for every push). Each round",
             "pushes a new revision to the whole group all at once; the time is from the coordinator's `config.pushed` event to",
             "the last `node.config_applied` (stamped when the ack arrives).", "",
             "| agents | push → last ack (each round) | worst | goal | set-up (create, enrol, connect) |", "|---|---|---|---|---|"]
    for size, ready, times in results:
        goal = "≤ 1 s" if size <= 1000 else "≤ 5 s"
        lines.append(f"| {size:,} | {', '.join(f'{t:.2f} s' for t in times)} | {max(times):.2f} s | {goal} | {ready:.0f} s |")
    lines.append("")
    publish(lines, a.out, "a")


if __name__ == "__main__":
    main()
