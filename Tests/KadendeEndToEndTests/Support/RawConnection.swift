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
    let channel: any Channel
    private let collector: Collector

    static func tcp(port: Int) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    /// TLS 1.3 as an agent speaks it; returns once the handshake is done.
    static func tls(port: Int, identity: NodeIdentity?) async throws -> RawConnection {
        let context = try NIOSSLContext(configuration: TLSConfigurations.client(identity: identity))
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The tests pin nothing: they speak to the coordinator they started.
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: nil) { _, promise in promise.succeed(.certificateVerified) }
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await collector.handshake.futureResult.get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Waits until the coordinator closes; returns what it sent. `limit` bounds a broken run only.
    func untilClosed(limit: Duration = .seconds(60)) async throws -> [UInt8] {
        let channel = self.channel
        let closed = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await channel.closeFuture.get()
                return true
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        guard closed else {
            channel.close(promise: nil)
            throw RawConnectionStillOpen()
        }
        return collector.received.withLockedValue { $0 }
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(promise: nil) }
}

/// Keeps what arrives, and says when the TLS handshake (if any) is done.
private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received = NIOLockedValueBox<[UInt8]>([])
    let handshakeDone = NIOLockedValueBox<EventLoopPromise<Void>?>(nil)
    var handshake: EventLoopPromise<Void> { handshakeDone.withLockedValue { $0! } }

    func handlerAdded(context: ChannelHandlerContext) {
        handshakeDone.withLockedValue { $0 = context.eventLoop.makePromise(of: Void.self) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received.withLockedValue { $0 += Array(buffer.readableBytesView) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { handshake.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        context.close(promise: nil)
    }
}

struct RawConnectionStillOpen: Error {}
