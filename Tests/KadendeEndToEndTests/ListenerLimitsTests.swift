import Foundation
import KadendeCoordinator
import KadendeModel
import KadendePKI
import KadendeWire
import Testing

/// The three listeners bound what a peer can hold, over real sockets: a TCP connection that never sends a
/// ClientHello, a TLS session without a certificate that never sends a frame, a connection that sends most of a
/// frame and stops, and HTTP requests whose headers or body never end are each closed; certificate-less sessions
/// and bytes in unfinished frames are capped. Once each of these stayed open for as long as the peer liked (32 such
/// peers added 40 MiB). The limits are set short here so the test is quick; a real agent stays connected through
/// all of it.
@Suite(.serialized) struct ListenerLimitsTests {
    static func limited() async throws -> InProcessCoordinator {
        try await InProcessCoordinator(label: "limits") { config in
            // Short, so the test is quick; long enough for a loaded machine's real agent to enrol and say hello.
            // (Every test of the stage shares this machine's two cores: a real agent's handshake can take seconds then.)
            config.agentLimits.handshakeTimeout = .seconds(5)
            config.agentLimits.firstFrameTimeout = .seconds(5)
            config.agentLimits.unauthenticatedLifetime = .seconds(6)
            config.agentLimits.frameTimeout = .seconds(2)
            config.agentLimits.maxUnauthenticated = 2
            config.agentLimits.unfinishedFrameBytes = 3 << 19  // 1.5 MiB: one unfinished frame of 1 MiB, not two
            // A body dribbled a byte every 200 ms keeps the connection from idling (3 s) but not past its deadline (1 s).
            config.httpLimits.idleTimeout = .seconds(3)
            config.httpLimits.bodyTimeout = .seconds(1)
        }
    }

    /// A frame header announcing `length` bytes and all but the last byte of its body.
    static func unfinishedFrame(length: Int) -> [UInt8] {
        var bytes: [UInt8] = withUnsafeBytes(of: UInt32(length).bigEndian, Array.init)
        bytes += [WireProtocol.version, 1, 0, UInt8(MessageType.heartbeat.rawValue)]
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: length - 4 - 1)
        return bytes
    }

    @Test func slowAndSilentPeersAreClosedAndARealAgentStaysConnected() async throws {
        let c = try await Self.limited()
        defer { Task { await c.stop() } }
        let port = c.coordinator.agentPort
        // A real agent, connected before and throughout.
        let node = try await c.healthyProcessNode()

        // TCP that never sends a ClientHello.
        let silent = try await RawConnection.tcp(port: port)
        _ = try await silent.untilClosed()
        // TLS without a certificate that never sends a frame.
        let quiet = try await RawConnection.tls(port: port, identity: nil)
        _ = try await quiet.untilClosed()
        // An enrolled node's connection that sends 1 MiB less one byte of a frame and stops.
        let (nodeID, token) = try await c.makeNode()
        let identity = try await RawAgent(port: port, pin: c.coordinator.ca.pin).enrol(nodeID: nodeID, token: token)
        let hoarder = try await RawConnection.tls(port: port, identity: identity)
        try await hoarder.send(Self.unfinishedFrame(length: 1 << 20))
        _ = try await hoarder.untilClosed()
        try await eventually("the unfinished frame's bytes are given back") { c.coordinator.gateway.unfinishedFrameBytes == 0 }

        // Two unfinished frames of 1 MiB do not fit in the listener's 1.5 MiB: the second is refused at once.
        let first = try await RawConnection.tls(port: port, identity: identity)
        try await first.send(Self.unfinishedFrame(length: 1 << 20))
        try await eventually("the first unfinished frame is held") { c.coordinator.gateway.unfinishedFrameBytes > 1 << 19 }
        let second = try await RawConnection.tls(port: port, identity: identity)
        try await second.send(Self.unfinishedFrame(length: 1 << 20))
        let refusal = try await second.untilClosed()
        #expect(String(decoding: refusal, as: UTF8.self).contains("limit_exceeded"), "\(refusal.count) bytes")
        first.close()

        // Certificate-less sessions beyond the cap are closed; those within it may enrol.
        let held = [try await RawConnection.tls(port: port, identity: nil), try await RawConnection.tls(port: port, identity: nil)]
        let third = try await RawConnection.tls(port: port, identity: nil)
        _ = try await third.untilClosed()
        #expect(held.allSatisfy { $0.isActive }, "the two within the cap stay until their deadline")
        held.forEach { $0.close() }

        // The real agent was never cut by a limit (a machine starved by the other tests running beside this one may
        // still make it reconnect on its own silence watch: not the limits' doing), and its node is the same one.
        #expect(c.coordinator.gateway.welcomedConnectionsCut == 0)
        try await eventually("the real agent is connected") { c.coordinator.tracker.isConnected(node.id) }
        let events = try await c.store.listEvents(cluster: "default", group: "web", after: 0, limit: 1000).filter { $0.nodeID == node.id }
        #expect(!events.contains { $0.kind == .nodeConvicted || $0.reason.contains("unhealthy") }, "\(events.map(\.reason))")
        #expect(try await c.store.node(id: node.id)?.state.isActive == true)
        await c.stop()
    }

    @Test func httpRequestsThatNeverEndAreClosed() async throws {
        let c = try await Self.limited()
        defer { Task { await c.stop() } }
        let http = try #require(await c.coordinator.httpPort())
        // Headers that never end.
        let headers = try await RawConnection.tcp(port: http)
        try await headers.send(Array("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8))
        _ = try await headers.untilClosed()
        // A body sent a byte at a time, each before the idle timeout: the body's own deadline ends it.
        let body = try await RawConnection.tcp(port: http)
        try await body.send(Array("POST /v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".utf8))
        let dribble = Task {
            for _ in 0..<200 where body.isActive {
                try? await body.send([UInt8(ascii: " ")])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        let answer = String(decoding: try await body.untilClosed(), as: UTF8.self)
        dribble.cancel()
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(200))")
        // The artifact listener: TCP that never sends a ClientHello.
        let artifacts = try #require(await c.coordinator.artifactPort())
        let silent = try await RawConnection.tcp(port: artifacts)
        _ = try await silent.untilClosed()
        await c.stop()
    }
}
