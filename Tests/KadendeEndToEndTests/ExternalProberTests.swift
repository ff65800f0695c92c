import Foundation
@testable import KadendeCoordinator
import KadendeModel
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The coordinator's external probes keep a bound on checks in flight: a partition that makes every check wait
/// for its timeout must not open a connection per node at once. The "nodes" here are one listener on 127.0.0.1
/// that accepts and never answers, so every HTTP check waits for its timeout.
@Suite struct ExternalProberTests {
    final class Counter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let open = Mutex((now: 0, max: 0, total: 0))
        func channelActive(context: ChannelHandlerContext) {
            open.withLock { $0.now += 1; $0.total += 1; $0.max = max($0.max, $0.now) }
            context.fireChannelActive()
        }
        func channelInactive(context: ChannelHandlerContext) {
            open.withLock { $0.now -= 1 }
            context.fireChannelInactive()
        }
    }

    @Test func checksInFlightStayUnderTheBound() async throws {
        let counter = Counter()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(counter) } }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let prober = ExternalProber(maxInFlight: 3, now: { Date() }, logger: logger)
        let nodes = Dictionary(uniqueKeysWithValues: (0..<20).map { ("n-\(String(format: "%016x", $0))", "127.0.0.1") })
        prober.watch(group: "default/web", nodes: nodes, probes: [
            GroupSpec.ExternalProbe(name: "http", check: .http(port: port, path: "/", status: nil), interval: Seconds(0.2), timeout: Seconds(0.3)),
        ])
        let task = Task { try await prober.run() }
        defer { task.cancel() }
        for _ in 0..<1000 where counter.open.withLock({ $0.total }) < 30 {  // bounded: 10 s at most
            try await Task.sleep(for: .milliseconds(10))
        }
        let seen = counter.open.withLock { $0 }
        #expect(seen.total >= 30, "checks kept coming: \(seen.total)")
        // Counted where the checks start and end: the listener sees a check's close only when its own loop gets to
        // it, which on a loaded machine is after the next check has connected.
        #expect(prober.inFlightHighWater == 3, "at most 3 checks in flight, saw \(prober.inFlightHighWater) (the listener saw \(seen.max))")
        let outputs = nodes.keys.compactMap { prober.results($0).first?.output }
        #expect(outputs.contains { $0.contains("timed out") }, "\(outputs)")
    }
}
