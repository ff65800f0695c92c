import KadendePKI
import Logging
import KadendeWire
import NIOCore
import NIOPosix
import NIOSSL
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// Dials a coordinator over TLS 1.3. The server is trusted only if its chain contains the pinned CA and its leaf
/// is signed by that CA for server use; the system trust store plays no part.
public enum CoordinatorConnection {
    public static func connect(
        to endpoint: Endpoint, pin: CAPin, identity: NodeIdentity?, maxFrameSize: Int, logger: Logger,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> NIOAsyncChannel<Frame, Frame> {
        let context = try NIOSSLContext(configuration: TLSConfigurations.client(identity: identity))
        let serverHostname = endpoint.isIPAddress ? nil : endpoint.host
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: serverHostname) { chain, promise in
                        do {
                            _ = try pin.verifyServerChain(try chain.map { try $0.toDERBytes() }, now: Date())
                            promise.succeed(.certificateVerified)
                        } catch {
                            logger.error("coordinator is not the one pinned", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                            promise.succeed(.failed)
                        }
                    }
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(tls)
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                    try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                    return try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: channel)
                }
            }
        return channel
    }
}
