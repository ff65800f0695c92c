import Foundation
@testable import KadendeAgent
import KadendeProbes
import KadendeWire
import Logging
import Testing

/// The agent's side of configuration on a real filesystem under a temporary root: what it writes, what it
/// refuses before writing anything, and what it remembers across a restart.
struct ConfigApplierTests {
    let dir: String
    let applier: ConfigApplier
    let settings: AgentSettings

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-apply-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/root", withIntermediateDirectories: true)
        settings = try AgentSettings(config: AgentConfig(
            nodeID: "n-0123456789abcdef", endpoints: ["127.0.0.1:1"], caPin: "sha256:" + String(repeating: "a", count: 64), token: "t",
            dataDir: dir + "/data", filesRoot: dir + "/root"))
        applier = Self.makeApplier(settings)
    }

    static func makeApplier(_ settings: AgentSettings) -> ConfigApplier {
        ConfigApplier(settings: settings, nodeID: settings.config.nodeID, probes: ProbeRunner(logger: Logger(label: "test")), logger: Logger(label: "test"))
    }

    /// Fills in what the coordinator computes: file hashes and the digest.
    func sealed(_ config: ConfigRevision) -> ConfigRevision {
        var c = config
        for i in c.files.indices { c.files[i].sha256 = ConfigRevision.sha256(c.files[i].content) }
        c.digest = c.contentDigest()
        return c
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: dir + "/root" + path, encoding: .utf8) }

    @Test func writesFilesRendersTemplatesAndRunsCommandsOnce() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = sealed(ConfigRevision(revision: 2, files: [
            ConfigFile(path: "/etc/app/app.conf", content: "id={{ node.id }} rev={{ revision }}\n", template: true, mode: 0o600),
        ], commands: [ConfigCommand(name: "count", command: ["/bin/sh", "-c", "echo x >> \(dir)/ran"])], environment: ["A": "1 \"q\" $x"]))
        var ack = await applier.apply(config, resuming: nil)
        #expect(ack.outcome == .applied, "\(ack)")
        #expect(read("/etc/app/app.conf") == "id=n-0123456789abcdef rev=2\n")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/root/etc/app/app.conf")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOfFile: dir + "/data/environment", encoding: .utf8) == "A=\"1 \\\"q\\\" \\$x\"\n")
        #expect(ack.steps?.first?.outcome == .changed)
        // Applied again (a rollback to it, say): files unchanged, the command runs again.
        ack = await applier.apply(config, resuming: nil)
        #expect(ack.steps?.first?.outcome == .unchanged)
        #expect(try String(contentsOfFile: dir + "/ran", encoding: .utf8) == "x\nx\n")
        // A restarted agent knows what it applied, digest included.
        let again = Self.makeApplier(settings)
        #expect(again.current?.revision == 2 && again.current?.digest == config.digest && again.current?.outcome == .applied)
    }

    @Test func refusesBeforeWritingAnything() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outside = dir + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/root/etc", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/root/etc/link", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: dir + "/root/etc/file-link", withDestinationPath: outside + "/target")
        try FileManager.default.createDirectory(atPath: dir + "/root/etc/adir", withIntermediateDirectories: true)
        mkfifo(dir + "/root/etc/fifo", 0o644)
        let cases: [(ConfigFile, String)] = [
            (ConfigFile(path: "/etc/link/x.conf", content: "x"), "resolves through a symlink"),
            (ConfigFile(path: "/etc/file-link", content: "x"), "is a symlink"),
            (ConfigFile(path: "/etc/adir", content: "x"), "is a directory"),
            (ConfigFile(path: "/etc/fifo", content: "x"), "is a device, pipe or socket"),
            (ConfigFile(path: "/etc/../etc/shadow", content: "x"), "\"..\" is not allowed"),
            (ConfigFile(path: "/etc/kadende/agent.yaml", content: "x"), "may not be written by a push"),
            (ConfigFile(path: "/etc/x.conf", content: "x", owner: "no-such-user-here"), "owner no-such-user-here does not exist"),
            (ConfigFile(path: "/etc/x.conf", content: "{{ node.nope }}", template: true), "unknown fact"),
        ]
        for (bad, expected) in cases {
            let config = sealed(ConfigRevision(revision: 3, files: [ConfigFile(path: "/etc/first.conf", content: "first"), bad]))
            let ack = await applier.apply(config, resuming: nil)
            #expect(ack.outcome == .failed && (ack.message ?? "").contains(expected) && (ack.message ?? "").contains("nothing applied"),
                    "\(bad.path): \(ack.message ?? "")")
            #expect(read("/etc/first.conf") == nil, "\(bad.path): nothing of the revision is written")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        // Content that does not match its hash (corrupted on the way, or forged) is refused too.
        var forged = sealed(ConfigRevision(revision: 4, files: [ConfigFile(path: "/etc/first.conf", content: "first")]))
        forged.files[0].content = "evil"
        let ack = await applier.apply(forged, resuming: nil)
        #expect(ack.outcome == .failed && read("/etc/first.conf") == nil)
    }

    @Test func aRestartMidCommandReportsTheInterruptionAndSkipsFinishedCommands() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = sealed(ConfigRevision(revision: 5, commands: [
            ConfigCommand(name: "first", command: ["/bin/true"]), ConfigCommand(name: "second", command: ["/bin/true"]),
        ]))
        // What a killed agent leaves: the first command finished, the second started.
        let journal = ConfigJournal(dataDir: settings.dataDir)
        try journal.save(ConfigJournal.Pending(config: config, facts: [:], started: ["command first", "command second"], finished: ["command first"]))
        let restarted = Self.makeApplier(settings)
        #expect(restarted.current?.outcome == .applying && restarted.current?.revision == 5)
        let ack = await restarted.apply(config, resuming: journal.pending())
        #expect(ack.outcome == .failed)
        #expect(ack.steps?.contains(StepResult(step: "command first", outcome: .skipped, output: "finished before the agent restarted")) == true)
        #expect((ack.message ?? "").contains("command second: interrupted by an agent restart"))
        #expect(journal.pending() == nil, "the outcome is journalled and the pending revision cleared")
        #expect(Self.makeApplier(settings).current?.outcome == .failed)
    }

    @Test func aRevisionDeliveredTwiceIsAppliedOnce() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = sealed(ConfigRevision(revision: 6, commands: [ConfigCommand(name: "count", command: ["/bin/sh", "-c", "echo x >> \(dir)/ran"])]))
        let (acks, sink) = AsyncStream.makeStream(of: Ack.self)
        let worker = Task { await applier.run { sink.yield($0) } }
        defer { worker.cancel() }
        applier.enqueue(config)
        applier.enqueue(config)
        var received: [Ack] = []
        for await ack in acks {
            received.append(ack)
            if received.count == 3 { break }
        }
        #expect(received.map(\.outcome) == [.applying, .applied, .applied])
        #expect(received[2] == received[1], "the second delivery repeats the first outcome")
        #expect(try String(contentsOfFile: dir + "/ran", encoding: .utf8) == "x\n")
    }
}
