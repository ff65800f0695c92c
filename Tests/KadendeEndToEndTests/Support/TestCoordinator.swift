import Foundation
import KadendeCoordinator
import KadendeModel
import KadendePKI
import KadendeStore
import Logging
import Synchronization

/// A clock the test moves by hand: decisions that depend on time (token expiry) are tested without waiting.
final class ManualClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date()) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

enum Paths {
    /// The package root, found from this file's location.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Where `swift build` put the executables (override with KADENDE_BIN_DIR).
    static var binaries: URL {
        if let dir = ProcessInfo.processInfo.environment["KADENDE_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return root.appendingPathComponent(".build/debug")
    }
    static var agent: String { binaries.appendingPathComponent("kadende-agent").path }
    static var kadende: String { binaries.appendingPathComponent("kadende").path }

    static func temporaryDirectory(_ label: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// A coordinator running in the test process on loopback ports chosen by the kernel.
final class InProcessCoordinator: Sendable {
    let coordinator: Coordinator
    let clock: ManualClock?
    let directory: String
    private let task: Task<Void, any Error>

    init(clock: ManualClock? = nil, label: String = "gateway",
         configure: (inout CoordinatorConfiguration) -> Void = { _ in }) async throws {
        directory = try Paths.temporaryDirectory(label)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        var config = CoordinatorConfiguration(dataDirectory: directory, agentPath: Paths.agent, logger: logger)
        config.agentPort = 0
        config.httpPort = 0
        config.artifactPort = 0
        config.host = .all
        configure(&config)
        if let clock { config.now = { clock.now } }
        self.clock = clock
        let coordinator = try await Coordinator.build(config)
        self.coordinator = coordinator
        task = Task { try await coordinator.run() }
        _ = await coordinator.httpPort()
    }

    var store: any Store { coordinator.store }
    var now: Date { clock?.now ?? Date() }

    /// Records a node intent as the reconcile loop would, returning the raw token user-data would carry.
    func makeNode(group: String = "probe", tokenLifetime: Double = 900) async throws -> (nodeID: String, token: String) {
        let nodeID = NodeID.make()
        let minted = EnrolmentToken.mint()
        let record = NodeRecord(id: nodeID, cluster: "default", group: group, revision: 1, state: .requested,
                                stateReason: "test", stateSince: now, createdAt: now)
        try await store.recordNodeIntent(record, tokenHash: minted.hash, tokenExpiry: now.addingTimeInterval(tokenLifetime), at: now)
        return (nodeID, minted.token)
    }

    /// A group `web` of one process node, its real agent connected: returns the node once it is healthy. A generous
    /// ceiling: these tests load the machine, and their point is what the coordinator's limits do, not its judge.
    func healthyProcessNode() async throws -> NodeRecord {
        let spec = try GroupSpec(yaml: "name: web\nprovider: process\nsize: 1\nhealth: {heartbeatInterval: 1s, heartbeatTimeout: 1m}\n")
        _ = try await store.applyGroup(spec, at: now)
        coordinator.reconciler.wake()
        var healthy: NodeRecord?
        try await eventually("the real agent is healthy") {
            healthy = try await store.nodes(cluster: "default", group: "web").first { $0.state == .healthy }
            return healthy != nil
        }
        guard let healthy else { throw CLIError(message: "no healthy node") }
        return healthy
    }

    func stop() async {
        await coordinator.shutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(atPath: directory)
    }
}
