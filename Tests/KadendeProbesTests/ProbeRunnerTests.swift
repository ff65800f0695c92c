import Foundation
import KadendeProbes
import KadendeWire
import Logging
import Testing

/// The agent's probe schedule with real commands: heartbeats carry what changed, plus a summary of all.
@Suite struct ProbeRunnerTests {
    @Test func heartbeatsCarryChangesAndASummary() async throws {
        let runner = ProbeRunner(logger: Logger(label: "test"))
        let specs = [
            ProbeSpec(name: "ok", check: .exec(command: ["/bin/true"], environment: [:], user: nil, shell: false), interval: 0.1, fall: 1),
            ProbeSpec(name: "bad", check: .exec(command: ["/bin/sh", "-c", "exit 2"], environment: [:], user: nil, shell: false), interval: 0.1, fall: 1),
        ]
        #expect(runner.install(specs))
        #expect(!runner.install(specs), "the same set is not reinstalled")
        let task = Task { await runner.supervise() }
        defer { task.cancel() }
        var seen: [String: ProbeResult.Status] = [:]
        for _ in 0..<500 where seen["ok"] != .passing || seen["bad"] != .critical {  // bounded: 5 s at most
            for result in runner.drain(full: false).results { seen[result.name] = result.status }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(seen == ["ok": .passing, "bad": .critical])
        // Nothing changed since: no results, but the summary still covers both.
        let quiet = runner.drain(full: false)
        #expect(quiet.results.isEmpty)
        #expect(quiet.summary.passing == 1 && quiet.summary.critical == 1)
        // A full set (first heartbeat of a connection) carries every result.
        #expect(runner.drain(full: true).results.map(\.name) == ["bad", "ok"])
    }
}
