import ArgumentParser
import Foundation
import KadendeAPI

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Push configuration revisions to a group and follow their rollouts.",
        subcommands: [Push.self, History.self, Diff.self, Status.self, Rollback.self, Pause.self, Resume.self, Abort.self])

    struct GroupOptions: ParsableArguments {
        @OptionGroup var client: ClientOptions
        @Option(help: "The group.")
        var group: String

        var base: String { "/v1/groups/\(APIClient.escape(group))/config" }
        var cluster: String { "cluster=\(APIClient.escape(client.cluster))" }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a new revision from a YAML file and start rolling it out.")
        @OptionGroup var options: GroupOptions
        @Option(name: .shortAndLong, help: "Revision file (YAML); - for standard input.")
        var file: String
        @Flag(help: "Follow the rollout until it ends (as config status --watch).")
        var watch = false

        func run() async throws {
            let yaml: String
            if file == "-" {
                yaml = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                yaml = String(decoding: data, as: UTF8.self)
            }
            let result: APIPushResult = try await options.client.client.post("\(options.base)?\(options.cluster)", yaml: yaml)
            if options.client.output == .table {
                let p = result.rollout.policy
                Output.emit("revision \(result.revision.revision) of \(result.revision.cluster)/\(result.revision.group) stored (digest \(result.revision.digest.prefix(12)))" + "\n")
                Output.emit("rollout \(result.rollout.id) \(result.rollout.state): \(result.rollout.target), \(p.strategy.rawValue), batch \(p.batch), maxUnavailable \(p.maxUnavailable), bake \(p.bake), maxFailures \(p.maxFailures)" + "\n")
            } else {
                try Output.print(result, format: options.client.output) { [] }
            }
            if watch { try await Status.follow(options, rolloutID: result.rollout.id) }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a group's revisions and rollouts.")
        @OptionGroup var options: GroupOptions

        func run() async throws {
            let revisions: [APIConfigRevision] = try await options.client.client.get("\(options.base)/revisions?\(options.cluster)")
            let rollouts: [APIRollout] = try await options.client.client.get("\(options.base)/rollouts?\(options.cluster)")
            try Output.print(HistoryView(revisions: revisions, rollouts: rollouts), format: options.client.output) {
                [["REV", "CREATED", "DIGEST", "FILES", "COMMANDS", "SERVICES", "MESSAGE"]] + revisions.reversed().map { r in
                    [String(r.revision), Output.time(r.createdAt), String(r.digest.prefix(12)), "\(r.config.files.count)",
                     "\(r.config.commands.count)", "\(r.config.services.count)", r.message ?? "-"]
                } + [[""], ["ROLLOUT", "REV", "KIND", "STATE", "UPDATED", "REASON"]] + rollouts.map { r in
                    [String(r.id), String(r.revision), r.kind, r.state, Output.time(r.updatedAt), r.reason]
                }
            }
        }
    }

    struct HistoryView: Codable {
        var revisions: [APIConfigRevision]
        var rollouts: [APIRollout]
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what changed between two revisions.")
        @OptionGroup var options: GroupOptions
        @Argument var from: Int
        @Argument var to: Int

        func run() async throws {
            let a: APIConfigRevision = try await options.client.client.get("\(options.base)/revisions/\(from)?\(options.cluster)")
            let b: APIConfigRevision = try await options.client.client.get("\(options.base)/revisions/\(to)?\(options.cluster)")
            Output.emit(ConfigDiff.render(a.config, b.config, fromName: "revision \(from)", toName: "revision \(to)"))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each node's revision, state and error, and the rollout's progress.")
        @OptionGroup var options: GroupOptions
        @Flag(help: "Keep showing progress until the rollout ends; exits non-zero unless it succeeded.")
        var watch = false

        func run() async throws {
            if watch {
                try await Self.follow(options, rolloutID: nil)
                return
            }
            let status: APIConfigStatus = try await options.client.client.get("\(options.base)/status?\(options.cluster)")
            try Output.print(status, format: options.client.output) { Output.configRows(status) }
        }

        /// Prints the rollout's progress each time something happens to the group, until the rollout ends.
        static func follow(_ options: GroupOptions, rolloutID: Int64?) async throws {
            let client = options.client.client
            var lastLine = ""
            var after: Int64 = 0
            let latest: [APIEvent] = try await client.get("/v1/events?\(options.cluster)&group=\(APIClient.escape(options.group))&after=0&limit=1&wait=0")
            after = latest.last?.seq ?? 0
            while true {
                let status: APIConfigStatus = try await client.get("\(options.base)/status?\(options.cluster)")
                guard let rollout = status.rollout else { throw ValidationError("group \(options.group) has no rollout") }
                let line = Output.rolloutLine(rollout)
                if line != lastLine {
                    Output.emit("\(Output.time(Date()))  \(Output.clean(line))" + "\n")
                    lastLine = line
                }
                if !rollout.isActive && (rolloutID == nil || rollout.id >= rolloutID!) {
                    if options.client.output == .table { Output.emit(Output.render(Output.configRows(status))) }
                    if rollout.state != "succeeded" { throw ExitCode(1) }
                    return
                }
                let events: [APIEvent] = try await client.get(
                    "/v1/events?\(options.cluster)&group=\(APIClient.escape(options.group))&after=\(after)&limit=500&wait=2")
                after = events.last?.seq ?? after
            }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Roll the whole group out to an earlier revision.")
        @OptionGroup var options: GroupOptions
        @Option(help: "The revision to go back to.")
        var to: Int
        @Flag(help: "Every node at once instead of the last push's batches.")
        var allAtOnce = false
        @Option(help: "Seconds each batch must stay healthy (default: the last push's bake).")
        var bake: Int?
        @Flag(help: "Follow the rollout until it ends.")
        var watch = false

        func run() async throws {
            var query = "to=\(to)&\(options.cluster)"
            if allAtOnce { query += "&strategy=all-at-once" }
            if let bake { query += "&bake=\(bake)" }
            let rollout: APIRollout = try await options.client.client.post("\(options.base)/rollback?\(query)")
            try Output.print(rollout, format: options.client.output) { [["ROLLOUT", "REV", "STATE", "REASON"], [String(rollout.id), String(rollout.revision), rollout.state, rollout.reason]] }
            if watch { try await Status.follow(options, rolloutID: rollout.id) }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start no new batch; nodes already applying finish.")
        @OptionGroup var options: GroupOptions
        func run() async throws { try await control(options, "pause") }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused rollout.")
        @OptionGroup var options: GroupOptions
        func run() async throws { try await control(options, "resume") }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the rollout where it is, without rolling back.")
        @OptionGroup var options: GroupOptions
        func run() async throws { try await control(options, "abort") }
    }

    static func control(_ options: GroupOptions, _ action: String) async throws {
        let rollout: APIRollout = try await options.client.client.post("\(options.base)/rollout/\(action)?\(options.cluster)")
        try Output.print(rollout, format: options.client.output) { [["ROLLOUT", "REV", "STATE", "REASON"], [String(rollout.id), String(rollout.revision), rollout.state, rollout.reason]] }
    }
}

extension Output {
    static func rolloutLine(_ r: APIRollout) -> String {
        var line = "rollout \(r.id) (\(r.kind)) revision \(r.revision): \(r.state)"
        if let p = r.progress {
            line += " — \(p.done)/\(p.targeted) done, \(p.applying) applying, \(p.baking) baking, \(p.failed) failed, \(p.pending) pending"
        }
        if let status = r.status, r.isActive { line += "; \(status)" } else { line += "; \(r.reason)" }
        return line
    }

    static func configRows(_ s: APIConfigStatus) -> [[String]] {
        var rows: [[String]] = [
            ["group \(s.cluster)/\(s.group): current revision \(s.currentRevision.map(String.init) ?? "none"), latest \(s.latestRevision.map(String.init) ?? "none")"],
            [s.rollout.map(rolloutLine) ?? "no rollout yet"], [""],
        ]
        rows.append(["NODE", "STATE", "DESIRED", "REVISION", "OUTCOME", "ROLLOUT", "LABELS", "MESSAGE"])
        for n in s.nodes {
            let labels = n.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            rows.append([n.id, n.state.rawValue, n.desired.map(String.init) ?? "-", n.revision.map(String.init) ?? "-", n.outcome ?? "-",
                         n.rollout ?? "-", labels.isEmpty ? "-" : labels, n.message ?? ""])
        }
        // Failures of the latest rollout's revision, still shown after a rollback put the node back.
        let failed = s.nodes.compactMap { n in n.lastFailure.map { (n.id, $0) } }.filter { $0.1.revision == s.rollout?.revision }
        if !failed.isEmpty {
            rows.append([""])
            rows.append(["FAILED NODE", "REVISION", "STEP", "OUTPUT"])
            for (id, ack) in failed {
                for step in ack.steps ?? [] where step.outcome == .failed {
                    rows.append([id, "\(ack.revision)", step.step, (step.output ?? "").replacingOccurrences(of: "\n", with: " ⏎ ")])
                }
            }
        }
        return rows
    }
}
