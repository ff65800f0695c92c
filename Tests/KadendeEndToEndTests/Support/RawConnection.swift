import Foundation
import KadendePKI
import KadendeWire
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import NIOConcurrencyHelpers

/// A byte-level peer of a coordinator's listener, plain TCP or TLS (with the coordinator's CA pinned and an
/// optional client certificate): sends exactly what a slow or hostile client would and reports when the
/// coordinator closes the connection.
struct RawConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func tcp(port: Int) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return RawConnection(channel: channel)
    }

    /// TLS 1.3 as an agent speaks it; returns once the handshake is done.
    static func tls(port: Int, identity: NodeIdentity?) async throws -> RawConnection {
        let context = try NIOSSLContext(configuration: TLSConfigurations.client(identity: identity))
        let handshake = NIOLockedValueBox<EventLoopPromise<Void>?>(nil)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The tests pin nothing: they speak to the coordinator they started.
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: nil) { _, promise in promise.succeed(.certificateVerified) }
                    let done = channel.eventLoop.makePromise(of: Void.self)
                    handshake.withLockedValue { $0 = done }
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(done: done))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await handshake.withLockedValue { $0 }?.futureResult.get()
        return RawConnection(channel: channel)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Reads until the coordinator closes; returns what it sent. `limit` bounds a broken run only.
    func untilClosed(limit: Duration = .seconds(60)) async throws -> [UInt8] {
        try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                var received: [UInt8] = []
                do {
                    for try await buffer in channel.inbound { received += Array(buffer.readableBytesView) }
                } catch {
                    // A reset is a close too.
                }
                return received
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let received = first else {
                channel.channel.close(promise: nil)
                throw RawConnectionStillOpen()
            }
            return received
        }
    }

    var isActive: Bool { channel.channel.isActive }

    func close() { channel.channel.close(promise: nil) }
}

struct RawConnectionStillOpen: Error {}

/// Succeeds its promise when the TLS handshake completes (fails it if the connection ends first).
private final class HandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let done: EventLoopPromise<Void>
    init(done: EventLoopPromise<Void>) { self.done = done }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { done.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.fireErrorCaught(error)
    }
}
