import KadendeModel
import KadendeWire
import KadendeSupport
import Logging
import NIOPosix
import Foundation

/// A provider written in any language: an executable called once per operation as `PLUGIN OPERATION`, with one
/// versioned JSON request on stdin and one JSON answer on stdout (see docs/providers.md). Its stderr is kept with
/// the error it explains; an answer that is not the documented JSON is refused, never guessed at.
public struct PluginProvider: ClusterScopedProvider {
    public static let protocolVersion = 1
    public let name: String
    public let executable: String
    public var timeouts: Timeouts
    let logger: Logger
    /// The cluster served, and where its stored credentials for this provider come from; they travel in each
    /// request (except `validate`, which serves no cluster yet).
    var cluster: String?
    var credentials: (@Sendable (String) async throws -> [String: String]?)?

    public struct Timeouts: Sendable {
        public var validate: Double = 10
        public var create: Double = 300
        public var destroy: Double = 120
        public var list: Double = 30
        public var describe: Double = 30
        public init() {}
    }

    public init(name: String, executable: String, timeouts: Timeouts = Timeouts(), logger: Logger,
                credentials: (@Sendable (String) async throws -> [String: String]?)? = nil) {
        self.name = name
        self.executable = executable
        self.timeouts = timeouts
        self.logger = logger
        self.credentials = credentials
    }

    public func scoped(to cluster: String) -> any Provider {
        var copy = self
        copy.cluster = cluster
        return copy
    }

    public func validate(_ spec: GroupSpec) async throws(ProviderError) {
        // Validation runs inside a request to the API; the plugin gets a short leash.
        _ = try await call("validate", PluginRequest(version: Self.protocolVersion, provider: name, spec: spec),
                           timeout: timeouts.validate, code: .invalidSpec)
    }

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        let userData: String?
        switch request.userData {
        case .success(let data): userData = data
        case .failure: userData = nil
        }
        let answer = try await call("create", PluginRequest(version: Self.protocolVersion, provider: name, nodeID: request.nodeID,
                                                            spec: request.spec, tags: request.tags, userData: userData, agent: request.agent),
                                    timeout: timeouts.create, code: .createFailed)
        guard let instance = answer.instance else { throw garbage("create", "the answer has no instance") }
        guard instance.tags[InstanceTag.node] == request.nodeID else {
            throw garbage("create", "the instance \(instance.id) does not carry the tag \(InstanceTag.node)=\(request.nodeID)")
        }
        return try instance.model(provider: name)
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        _ = try await call("destroy", PluginRequest(version: Self.protocolVersion, provider: name, instanceID: instanceID, reason: reason),
                           timeout: timeouts.destroy, code: .destroyFailed)
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] {
        let answer = try await call("list", PluginRequest(version: Self.protocolVersion, provider: name, tags: tags),
                                    timeout: timeouts.list, code: .listFailed)
        guard let instances = answer.instances else { throw garbage("list", "the answer has no instances") }
        return try instances.map { instance throws(ProviderError) in try instance.model(provider: name) }
            .filter { instance in tags.allSatisfy { instance.tags[$0.key] == $0.value } }
    }

    public func describe(instanceID: String) async throws(ProviderError) -> Instance? {
        let answer = try await call("describe", PluginRequest(version: Self.protocolVersion, provider: name, instanceID: instanceID),
                                    timeout: timeouts.describe, code: .listFailed)
        return try answer.instance.map { instance throws(ProviderError) in try instance.model(provider: name) }
    }

    // MARK: running the plugin

    private func call(_ operation: String, _ request: PluginRequest, timeout: Double, code: ProviderError.Code) async throws(ProviderError) -> PluginAnswer {
        var request = request
        request.cluster = cluster
        if let cluster, let credentials {
            do { request.credentials = try await credentials(cluster) } catch {
                throw ProviderError(code, provider: name, "\(operation): the cluster's credentials for \(name) cannot be read: \(error)")
            }
        }
        let exchange: Exchange
        let sent = request
        do {
            exchange = try await NIOThreadPool.singleton.runIfActive { [self] in try self.exchangeBlocking(operation, sent, timeout: timeout) }
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(code, provider: name, "\(operation): \(error)")
        }
        return try answer(exchange, operation: operation, code: code)
    }

    private func exchangeBlocking(_ operation: String, _ request: PluginRequest, timeout: Double) throws(ProviderError) -> Exchange {
        let input: Data
        do { input = try JSONEncoder.plugin.encode(request) } catch {
            throw ProviderError(.createFailed, provider: name, "\(operation): cannot encode the request: \(error)")
        }
        do {
            // The operator's plugin runs with the coordinator's environment (its PATH, its cloud's credentials).
            var environment = ProcessInfo.processInfo.environment
            environment["KADENDE_PLUGIN_PROTOCOL"] = "\(Self.protocolVersion)"
            return try Spawn.exchange([executable, operation], input: Array(input), environment: environment, timeout: timeout)
        } catch {
            throw ProviderError(.unknownProvider, provider: name, "\(operation): cannot run plugin \(executable): \(error)")
        }
    }

    private func answer(_ exchange: Exchange, operation: String, code: ProviderError.Code) throws(ProviderError) -> PluginAnswer {
        let stderr = exchange.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        let said = stderr.isEmpty ? "" : "; stderr: \(stderr.suffix(2000))"
        if exchange.outcome.timedOut {
            throw ProviderError(.timeout, provider: name, "\(operation): plugin \(executable) gave no answer within its timeout and was killed\(said)")
        }
        if !stderr.isEmpty { logger.notice("plugin said", metadata: ["provider": "\(name)", "operation": "\(operation)", "stderr": "\(stderr.prefix(2000))"]) }
        guard !exchange.stdoutTruncated else { throw garbage(operation, "its answer is over 4 MiB") }
        let parsed: PluginAnswer
        do {
            parsed = try JSONDecoder.plugin.decode(PluginAnswer.self, from: Data(exchange.stdout))
        } catch {
            let excerpt = String(decoding: exchange.stdout.prefix(120), as: UTF8.self)
            if !exchange.outcome.succeeded {
                throw ProviderError(code, provider: name, "\(operation): plugin exited with \(exchange.outcome)\(said)")
            }
            throw garbage(operation, "its answer is not the plugin protocol's JSON (\(Self.decodingProblem(error))): \"\(excerpt)\"\(said)")
        }
        guard parsed.version == Self.protocolVersion else {
            throw garbage(operation, "it speaks protocol version \(parsed.version), Kadende speaks \(Self.protocolVersion)")
        }
        if let error = parsed.error {
            throw ProviderError(Self.code(error.code) ?? code, provider: name, "\(operation): \(error.code): \(error.message)\(said)")
        }
        guard exchange.outcome.succeeded else {
            throw ProviderError(code, provider: name, "\(operation): plugin exited with \(exchange.outcome) without an error object\(said)")
        }
        return parsed
    }

    private func garbage(_ operation: String, _ why: String) -> ProviderError {
        ProviderError(.badAnswer, provider: name, "\(operation): plugin \(executable) answered badly: \(why)")
    }

    static func code(_ raw: String) -> ProviderError.Code? {
        ProviderError.Code(rawValue: raw)
    }

    static func decodingProblem(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: "missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default: "\(error)"
        }
    }
}

/// What Kadende sends a plugin. Only the fields of the operation are present.
struct PluginRequest: Encodable, Sendable {
    var version: Int
    var provider: String
    var nodeID: String?
    var spec: GroupSpec?
    var tags: [String: String]?
    var userData: String?
    /// What user-data tells the agent, for plugins that start agents themselves (as the example does).
    var agent: AgentConfig?
    var instanceID: String?
    var reason: String?
    /// The cluster served, and its stored credentials for this provider (`kadende credentials set`).
    var cluster: String?
    var credentials: [String: String]?
}

/// What a plugin answers: `{"version": 1, …}` with `instance`, `instances`, or `error`.
struct PluginAnswer: Decodable, Sendable {
    var version: Int
    var instance: PluginInstance?
    var instances: [PluginInstance]?
    var error: PluginError?

    struct PluginError: Decodable, Sendable {
        var code: String
        var message: String
    }
}

struct PluginInstance: Decodable, Sendable {
    var id: String
    var tags: [String: String]
    var status: String
    var address: String?
    var launchedAt: Date?

    func model(provider: String) throws(ProviderError) -> Instance {
        guard !id.isEmpty, id.count <= 256 else { throw ProviderError(.badAnswer, provider: provider, "an instance id is empty or over 256 characters") }
        guard let status = InstanceStatus(rawValue: status) else {
            throw ProviderError(.badAnswer, provider: provider,
                                "instance \(id) has status \"\(status)\"; expected one of pending, running, stopped, impaired, terminated")
        }
        return Instance(id: id, tags: tags, status: status, address: address, launchedAt: launchedAt ?? Date())
    }
}

extension JSONEncoder {
    static let plugin: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }()
}

extension JSONDecoder {
    static let plugin: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()
}
