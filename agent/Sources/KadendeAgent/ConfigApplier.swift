import KadendeProbes
import KadendeSupport
import KadendeWire
import Logging
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Applies configuration revisions one at a time, beside the session (a command may run for minutes while
/// heartbeats go on). Everything that can be checked is checked before the first write; then files, environment,
/// commands, service actions and probes, in that order, stopping at the first failure. The outcome is journalled
/// before it is acknowledged, so a lost ack is repeated in the next `Hello`.
final class ConfigApplier: Sendable {
    private let journal: ConfigJournal
    private let files: ConfigFiles
    private let environmentFile: String
    private let probes: ProbeRunner
    private let logger: Logger
    private let nodeID: String
    private let jobs: AsyncStream<ConfigRevision>
    private let submit: AsyncStream<ConfigRevision>.Continuation
    private struct State {
        var facts: [String: String] = [:]
        var groupProbes: [ProbeSpec] = []
        var applied: ConfigJournal.Applied?
        var applying: (revision: Int, digest: String)?
    }
    private let state: Mutex<State>

    static let outputLimit = 2048

    init(settings: AgentSettings, nodeID: String, probes: ProbeRunner, logger: Logger) {
        journal = ConfigJournal(dataDir: settings.dataDir)
        files = ConfigFiles(root: settings.config.filesRoot ?? "/", allowedRoots: settings.config.allowedRoots ?? ConfigPaths.defaultAllowedRoots)
        environmentFile = settings.dataDir + "/environment"
        self.probes = probes
        self.logger = logger
        self.nodeID = nodeID
        (jobs, submit) = AsyncStream.makeStream()
        var initial = State()
        initial.applied = journal.applied()
        initial.applying = journal.pending().map { ($0.config.revision, $0.config.digest) }
        state = Mutex(initial)
        var facts = ["node.id": nodeID, "node.arch": Architecture.current]
        var host = [CChar](repeating: 0, count: 256)
        if gethostname(&host, host.count) == 0 { facts["node.hostname"] = String(cString: host) }
        state.withLock { $0.facts = facts }
    }

    /// What the agent tells a coordinator in `Hello`: the revision being applied, or the last outcome.
    var current: Ack? {
        state.withLock { s in
            if let (revision, digest) = s.applying { return Ack(revision: revision, outcome: .applying, digest: digest) }
            return s.applied?.ack
        }
    }

    /// Facts from `Welcome` and the group's probes; returns the probe set the node runs now (the applied
    /// revision's own, when it has one).
    func welcomed(facts: [String: String], groupProbes: [ProbeSpec]) -> [ProbeSpec] {
        state.withLock { s in
            s.facts.merge(facts) { mine, _ in mine }  // the node's own facts are not the coordinator's to change
            s.groupProbes = groupProbes
            return s.applied?.config?.probes ?? groupProbes
        }
    }

    func enqueue(_ config: ConfigRevision) { submit.yield(config) }

    /// Works through pushed revisions until cancelled, after finishing one an earlier agent left half-applied.
    func run(send: @escaping @Sendable (Ack) async -> Void) async {
        if let pending = journal.pending() {
            logger.warning("finishing a revision interrupted by an agent restart", metadata: ["revision": "\(pending.config.revision)"])
            await send(await apply(pending.config, resuming: pending))
        }
        for await config in jobs {
            if let done = duplicate(config) {
                logger.info("revision delivered again; already applied", metadata: ["revision": "\(config.revision)"])
                await send(done)
                continue
            }
            await send(Ack(revision: config.revision, outcome: .applying, digest: config.digest))
            await send(await apply(config, resuming: nil))
        }
    }

    private func duplicate(_ config: ConfigRevision) -> Ack? {
        state.withLock { s in
            guard let last = s.applied?.ack, last.revision == config.revision, last.digest == config.digest,
                  last.outcome == .applied else { return nil }
            return last
        }
    }

    // MARK: Applying

    func apply(_ config: ConfigRevision, resuming: ConfigJournal.Pending?) async -> Ack {
        var pending = resuming ?? ConfigJournal.Pending(config: config, facts: state.withLock { $0.facts })
        pending.facts["revision"] = "\(config.revision)"
        state.withLock { $0.applying = (config.revision, config.digest) }
        var steps: [StepResult] = []
        let outcome: Ack.Outcome
        let message: String?
        do {
            let prepared = try preflight(config, facts: pending.facts, steps: &steps)
            try journal.save(pending)
            try place(prepared, config: config, steps: &steps)
            try await runCommands(config, pending: &pending, steps: &steps)
            let probeSet = state.withLock { config.probes ?? $0.groupProbes }
            if probes.install(probeSet) { steps.append(StepResult(step: "probes", outcome: .changed, output: probeSet.map(\.name).joined(separator: ","))) }
            outcome = .applied
            message = nil
        } catch let failure as StepFailure {
            steps.append(StepResult(step: failure.step, outcome: .failed, output: String(failure.message.prefix(Self.outputLimit))))
            outcome = .failed
            message = "\(failure.step): \(failure.message.prefix(400))"
        } catch {
            outcome = .failed
            message = "\(error)"
        }
        let ack = Ack(revision: config.revision, outcome: outcome, message: message, digest: config.digest, steps: steps, at: Date())
        let applied = ConfigJournal.Applied(ack: ack, config: outcome == .applied ? config : state.withLock { $0.applied?.config })
        do {
            try journal.save(applied)
        } catch {
            logger.error("cannot journal a configuration outcome", metadata: ["revision": "\(config.revision)", "error": "\(error)"])
        }
        state.withLock { s in
            s.applied = applied
            s.applying = nil
        }
        logger.info("configuration revision \(outcome.rawValue)", metadata: ["revision": "\(config.revision)", "message": "\(message ?? "")"])
        return ack
    }

    struct StepFailure: Error {
        var step: String
        var message: String
    }

    struct Prepared {
        var files: [(file: ConfigFile, bytes: [UInt8], placement: ConfigFiles.Placement)]
        var environment: [UInt8]
    }

    /// Every check that needs no write: digests, paths on disk, owners, templates, users of commands.
    private func preflight(_ config: ConfigRevision, facts: [String: String], steps: inout [StepResult]) throws -> Prepared {
        do {
            try config.validate()
        } catch {
            throw StepFailure(step: "revision", message: "\(error.message); nothing applied")
        }
        guard config.contentDigest() == config.digest else {
            throw StepFailure(step: "revision", message: "content does not match its digest \(config.digest.prefix(12)); nothing applied")
        }
        var prepared = Prepared(files: [], environment: Array(Self.environmentFile(config.environment).utf8))
        for file in config.files {
            let step = "file \(file.path.prefix(200))"
            guard ConfigRevision.sha256(file.content) == file.sha256 else {
                throw StepFailure(step: step, message: "content does not match its sha256; nothing applied")
            }
            guard file.content.utf8.count <= ConfigPaths.maxFileSize else {
                throw StepFailure(step: step, message: "larger than \(ConfigPaths.maxFileSize) bytes; nothing applied")
            }
            let placement: ConfigFiles.Placement
            do {
                placement = try files.check(file)
            } catch {
                throw StepFailure(step: step, message: "\(error.message); nothing applied")
            }
            let text: String
            do {
                text = file.template ? try ConfigTemplate.render(file.content, facts: facts) : file.content
            } catch {
                throw StepFailure(step: step, message: "template: \(error.message); nothing applied")
            }
            prepared.files.append((file, Array(text.utf8), placement))
        }
        for command in config.commands {
            guard let user = command.user, Account(user) == nil else { continue }
            throw StepFailure(step: "command \(command.name)", message: "user \(user.prefix(64)) does not exist on this node; nothing applied")
        }
        return prepared
    }

    private func place(_ prepared: Prepared, config: ConfigRevision, steps: inout [StepResult]) throws {
        for (file, bytes, placement) in prepared.files {
            let step = "file \(file.path)"
            do {
                let wrote = try files.place(bytes, mode: file.mode, at: placement)
                steps.append(StepResult(step: step, outcome: wrote ? .changed : .unchanged,
                                        output: file.template ? "rendered sha256 \(ConfigRevision.sha256(Data(bytes)).prefix(16))" : nil))
            } catch {
                throw StepFailure(step: step, message: "\(error)")
            }
        }
        let current = (try? SecureFile.read(environmentFile)) ?? nil
        if current != prepared.environment {
            do {
                try SecureFile.write(prepared.environment, to: environmentFile, mode: 0o644)
            } catch {
                throw StepFailure(step: "environment", message: "\(error)")
            }
            steps.append(StepResult(step: "environment", outcome: .changed, output: environmentFile))
        }
    }

    /// Commands, then service actions: each at most once per application. One that had started but not finished
    /// when an earlier agent died is not run again: it may have done half its work, and the operator decides.
    private func runCommands(_ config: ConfigRevision, pending: inout ConfigJournal.Pending, steps: inout [StepResult]) async throws {
        var environment = config.environment
        environment["KADENDE_NODE_ID"] = nodeID
        environment["KADENDE_REVISION"] = "\(config.revision)"
        let work: [(step: String, argv: [String]?, timeout: Double)] =
            config.commands.map { ("command \($0.name)", CommandRunner.argv($0.command, shell: $0.shell, user: $0.user), $0.timeout) }
            + config.services.map { ("service \($0.name)", $0.argv, $0.timeout) }
        for (step, argv, timeout) in work {
            if pending.finished.contains(step) {
                steps.append(StepResult(step: step, outcome: .skipped, output: "finished before the agent restarted"))
                continue
            }
            if pending.started.contains(step) {
                throw StepFailure(step: step, message: "interrupted by an agent restart while it ran; not run again")
            }
            guard let argv else { throw StepFailure(step: step, message: "its user does not exist on this node") }
            pending.started.append(step)
            try? journal.save(pending)
            let outcome: CommandOutcome
            do {
                outcome = try await CommandRunner.run(argv, environment: environment, timeout: min(max(timeout, 0.001), 3600), outputLimit: Self.outputLimit)
            } catch {
                throw StepFailure(step: step, message: "\(error)")
            }
            guard outcome.succeeded else {
                let output = outcome.output.trimmingSuffixWhitespace
                throw StepFailure(step: step, message: output.isEmpty ? "\(outcome)" : "\(outcome): \(output)")
            }
            pending.finished.append(step)
            try? journal.save(pending)
            let output = outcome.output.trimmingSuffixWhitespace
            steps.append(StepResult(step: step, outcome: .ran, output: output.isEmpty ? nil : String(output.prefix(Self.outputLimit))))
        }
    }

    /// `KEY="value"` lines, as systemd's `EnvironmentFile=` and a shell's `.` both read them.
    static func environmentFile(_ environment: [String: String]) -> String {
        environment.sorted { $0.key < $1.key }.map { key, value in
            var escaped = ""
            for c in value {
                if c == "\\" || c == "\"" || c == "$" || c == "`" { escaped.append("\\") }
                escaped.append(c)
            }
            return "\(key)=\"\(escaped)\"\n"
        }.joined()
    }
}

#if canImport(Glibc)
import Glibc
#endif
