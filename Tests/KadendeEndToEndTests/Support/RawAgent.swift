import Crypto
import Foundation
@testable import KadendeAgent
import KadendePKI
import KadendeWire
import Logging
import NIOCore
import X509

/// A hand-driven agent: speaks frames over a real TLS connection so tests can send exactly what a broken or
/// hostile agent would, and read what the coordinator answers.
struct RawAgent {
    let port: Int
    let pin: CAPin

    /// Connects (with `identity`'s client certificate, if any), sends `frames` and returns every message the
    /// coordinator sends, keep-alives aside, until it closes the connection or `expect` messages arrived. A handshake the
    /// coordinator rejects yields an error.
    func exchange(_ frames: [Frame], identity: NodeIdentity?, expect: Int = 1) async throws -> [WireMessage] {
        var logger = Logger(label: "raw-agent")
        logger.logLevel = .critical
        let channel = try await CoordinatorConnection.connect(
            to: Endpoint("127.0.0.1:\(port)")!, pin: pin, identity: identity, maxFrameSize: 4 << 20, logger: logger)
        return try await withThrowingTaskGroup(of: [WireMessage].self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    for frame in frames { try await outbound.write(frame) }
                    var received: [WireMessage] = []
                    do {
                        for try await frame in inbound {
                            let message = try WireCodec.decode(frame)
                            // A keep-alive says nothing about the exchange: the coordinator sends one whenever a
                            // welcomed connection has been quiet for its interval (as under a loaded test run).
                            if case .keepAlive = message { continue }
                            received.append(message)
                            if received.count >= expect { break }
                        }
                    } catch where !received.isEmpty {
                        // The coordinator closed right after its last word; what it said is what counts.
                    }
                    return received
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw RawAgentTimeout()
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }

    func send(_ messages: [WireMessage], identity: NodeIdentity?, expect: Int = 1) async throws -> [WireMessage] {
        try await exchange(messages.map { try WireCodec.encode($0) }, identity: identity, expect: expect)
    }

    /// Enrols `nodeID` with `token` and returns its identity.
    func enrol(nodeID: String, token: String) async throws -> NodeIdentity {
        let key = P256.Signing.PrivateKey()
        let csr = try NodeIdentity.makeCSR(nodeID: nodeID, key: key)
        let replies = try await send([.enrol(Enrol(nodeID: nodeID, token: token, csrDER: csr))], identity: nil)
        guard case .enrolled(let enrolled)? = replies.first else { throw UnexpectedReply(replies: replies) }
        return NodeIdentity(key: key, certificate: try Certificate(pemEncoded: enrolled.certificatePEM),
                            ca: try Certificate(pemEncoded: enrolled.caPEM))
    }
}

struct RawAgentTimeout: Error {}
struct UnexpectedReply: Error { var replies: [WireMessage] }
