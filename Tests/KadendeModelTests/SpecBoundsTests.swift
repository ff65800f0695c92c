import KadendeModel
import Testing

/// Every duration, count and string a spec holds has an upper bound checked at apply. Defends against a spec that
/// stores a number no conversion can take: `heartbeatInterval: 1e17s` once stopped the coordinator at the first hello
/// of the group's nodes, and again after every restart while the group existed.
@Suite struct SpecBoundsTests {
    static let base = """
        name: web
        provider: process
        size: {desired: 1, min: 0, max: 3}
        """

    /// A spec with `extra` appended; the error it must get, by key path.
    static let rows: [(why: String, extra: String, path: String)] = [
        ("a heartbeat interval no timer can hold", "health: {heartbeatInterval: 1e17s, heartbeatTimeout: 2e17s}", "health.heartbeatInterval"),
        ("a duration past the year-and-a-day bound of any span", "health: {startupTimeout: 400d}", "health.startupTimeout"),
        ("heartbeats rarer than every 5 minutes", "health: {heartbeatInterval: 10m, heartbeatTimeout: 1h}", "health.heartbeatInterval"),
        ("a ceiling past an hour", "health: {heartbeatTimeout: 2h}", "health.heartbeatTimeout"),
        ("a start-up timeout past a day", "health: {startupTimeout: 2d}", "health.startupTimeout"),
        ("an agent grace past a day", "health: {agentGrace: 30h}", "health.agentGrace"),
        ("a probe run less than hourly", "health:\n  probes: [{name: p, tcp: {port: 80}, interval: 2h}]", "health.probes[0].interval"),
        ("an external probe run less than hourly", "health:\n  external: [{name: p, tcp: {port: 80}, interval: 90m}]", "health.external[0].interval"),
        ("a file probe's age past a year", "health:\n  probes: [{name: p, file: {path: /x, maxAge: 400d}}]", "health.probes[0].file.maxAge"),
        ("a probe command too long for a frame", "health:\n  probes: [{name: p, exec: {command: [\(String(repeating: "a", count: 20_000))]}}]",
         "health.probes[0]"),
        ("a replacement budget window past a week", "remediation: {budget: {replacements: 3, per: 8d}}", "remediation.budget.per"),
        ("a budget no fleet needs", "remediation: {budget: {replacements: 100000, per: 1h}}", "remediation.budget.replacements"),
        ("a crash-loop backoff past a day", "remediation: {crashLoop: {backoff: 1s, maxBackoff: 2d}}", "remediation.crashLoop.maxBackoff"),
        ("a breaker settle past a day", "remediation: {breakerSettle: 25h}", "remediation.breakerSettle"),
        ("a hook past an hour", "hooks: {preTerminate: {on: node, command: [x], timeout: 2h}}", "hooks.preTerminate.timeout"),
        ("a tag value longer than any provider takes", "machine: {tags: {team: \(String(repeating: "t", count: 300))}}", "machine.tags.team"),
        ("a machine image name of a kilobyte", "machine: {image: \(String(repeating: "i", count: 1024))}", "machine.image"),
        ("more bootstrap commands than a machine should run", "bootstrap: {commands: [\(Array(repeating: "x", count: 300).joined(separator: ", "))]}",
         "bootstrap.commands"),
        ("a coordinator hook that spells out a command", "hooks: {postReady: {on: coordinator, command: [/bin/sh, -c, id]}}", "hooks.postReady.command"),
        ("a coordinator hook without a name", "hooks: {postReady: {on: coordinator}}", "hooks.postReady.run"),
        ("a node hook naming a coordinator command", "hooks: {postReady: {on: node, run: drain, command: [x]}}", "hooks.postReady.run"),
    ]

    @Test(arguments: 0..<rows.count) func outOfBoundsIsRefusedWithItsPath(row: Int) {
        let (why, extra, path) = Self.rows[row]
        let error = #expect(throws: SpecError.self, "\(why)") { try GroupSpec(yaml: Self.base + "\n" + extra) }
        #expect(error?.path == path, "\(why): \(String(describing: error))")
    }

    @Test func theLargestValuesAllowedAreAccepted() throws {
        let spec = try GroupSpec(yaml: Self.base + """

            health:
              heartbeatInterval: 5m
              heartbeatTimeout: 1h
              startupTimeout: 1d
              agentGrace: 1d
              probes: [{name: p, tcp: {port: 80}, interval: 1h, timeout: 5m}]
            remediation: {budget: {replacements: 10000, per: 7d}, crashLoop: {minUptime: 7d, backoff: 1d, maxBackoff: 1d}}
            hooks: {preTerminate: {on: node, command: [drain], timeout: 1h}, postReady: {on: coordinator, run: label-node}}
            """)
        #expect(spec.health.heartbeatInterval == Seconds(300))
        #expect(spec.hooks.postReady?.run == "label-node" && spec.hooks.postReady?.command == [])
    }

    @Test func durationsBeyondTheGlobalBoundDoNotParseAndNeverTrapWhenShown() {
        #expect(Seconds(parsing: "1e17s") == nil)
        #expect(Seconds(parsing: "367d") == nil)
        #expect(Seconds(parsing: "366d")?.value == Double(366 * 86_400))
        // A value read back from a row written before the bound: described, not converted.
        #expect(Seconds(1e300).description == "1e+300s")
        #expect(Seconds(.infinity).description == "infs")
    }
}
