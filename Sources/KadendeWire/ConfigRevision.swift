#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// One numbered, immutable configuration bundle for a group, as the agent applies it: files, commands run once
/// per application, environment, service actions and (optionally) the node's probe set. The coordinator fills
/// `digest` and every file's `sha256`; the agent checks both before it writes anything.
public struct ConfigRevision: Codable, Sendable, Hashable {
    public var revision: Int
    public var files: [ConfigFile]
    public var commands: [ConfigCommand]
    public var environment: [String: String]
    public var services: [ServiceAction]
    /// Replaces the group's probes on the node while this revision is applied; nil keeps the group's.
    public var probes: [ProbeSpec]?
    /// SHA-256 (hex) of the content, revision number excluded: two revisions with one digest are the same bundle.
    public var digest: String

    public init(revision: Int, files: [ConfigFile] = [], commands: [ConfigCommand] = [], environment: [String: String] = [:],
                services: [ServiceAction] = [], probes: [ProbeSpec]? = nil, digest: String = "") {
        self.revision = revision
        self.files = files
        self.commands = commands
        self.environment = environment
        self.services = services
        self.probes = probes
        self.digest = digest
    }
}

public struct ConfigFile: Codable, Sendable, Hashable {
    /// Absolute path on the node, under one of the agent's allowed roots.
    public var path: String
    public var content: String
    /// `content` is a template over node facts (`{{ node.id }}`), rendered by the agent.
    public var template: Bool
    public var mode: Int
    public var owner: String?
    public var group: String?
    /// SHA-256 (hex) of `content` as the coordinator stored it.
    public var sha256: String

    public init(path: String, content: String, template: Bool = false, mode: Int = 0o644, owner: String? = nil,
                group: String? = nil, sha256: String = "") {
        self.path = path
        self.content = content
        self.template = template
        self.mode = mode
        self.owner = owner
        self.group = group
        self.sha256 = sha256
    }
}

/// A command run once each time a node moves to the revision (not again when the same revision is delivered
/// twice), after the files are in place.
public struct ConfigCommand: Codable, Sendable, Hashable {
    public var name: String
    public var command: [String]
    public var shell: Bool
    public var timeout: Double
    public var user: String?

    public init(name: String, command: [String], shell: Bool = false, timeout: Double = 60, user: String? = nil) {
        self.name = name
        self.command = command
        self.shell = shell
        self.timeout = timeout
        self.user = user
    }
}

/// What makes the node's services pick the revision up: restart or reload a systemd unit, or run a command.
/// Runs after files and commands, each time the node moves to the revision.
public struct ServiceAction: Codable, Sendable, Hashable {
    public enum Kind: Codable, Sendable, Hashable {
        case restart(unit: String)
        case reload(unit: String)
        case command([String], shell: Bool)
    }

    public var name: String
    public var kind: Kind
    public var timeout: Double

    public init(name: String, kind: Kind, timeout: Double = 60) {
        self.name = name
        self.kind = kind
        self.timeout = timeout
    }

    /// What the agent runs for it.
    public var argv: [String] {
        switch kind {
        case .restart(let unit): ["systemctl", "restart", "--", unit]
        case .reload(let unit): ["systemctl", "reload", "--", unit]
        case .command(let command, let shell): shell ? ["/bin/sh", "-c", command.joined(separator: " ")] : command
        }
    }
}

/// Coordinator → agent: apply this revision. The same frame goes to every node of a batch.
public struct Push: Codable, Sendable, Hashable {
    public var revision: Int
    public var config: ConfigRevision
    public init(config: ConfigRevision) {
        self.revision = config.revision
        self.config = config
    }
}

/// How one step of an application ended.
public struct StepResult: Codable, Sendable, Hashable {
    public enum Outcome: String, Codable, Sendable { case changed, unchanged, ran, failed, skipped }
    /// `file /etc/app.conf`, `command migrate`, `service nginx`, `environment`, `probes`.
    public var step: String
    public var outcome: Outcome
    public var output: String?

    public init(step: String, outcome: Outcome, output: String? = nil) {
        self.step = step
        self.outcome = outcome
        self.output = output
    }
}

/// Agent → coordinator: how an application of a revision ended, step by step. Also sent in `Hello` (as the
/// agent's last known state) so that an ack lost with a connection is never lost for good.
public struct Ack: Codable, Sendable, Hashable {
    public enum Outcome: String, Codable, Sendable { case applied, failed, applying }
    public var revision: Int
    public var outcome: Outcome
    public var message: String?
    public var digest: String?
    public var steps: [StepResult]?
    public var at: Date?

    public init(revision: Int, outcome: Outcome, message: String? = nil, digest: String? = nil, steps: [StepResult]? = nil, at: Date? = nil) {
        self.revision = revision
        self.outcome = outcome
        self.message = message
        self.digest = digest
        self.steps = steps
        self.at = at
    }
}

import Crypto

extension ConfigRevision {
    /// SHA-256 over the content's canonical JSON (sorted keys), with the revision number and digest left out.
    public func contentDigest() -> String {
        var content = self
        content.revision = 0
        content.digest = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(content)) ?? Data()
        return Self.sha256(bytes)
    }

    public static func sha256(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { String($0, radix: 16).leftPadded }.joined()
    }

    public static func sha256(_ text: String) -> String { sha256(Data(text.utf8)) }
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}
