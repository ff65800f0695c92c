import KadendeWire
import Logging
import NIOCore

/// Closes a welcomed connection on which the coordinator has said nothing for its silence limit. A coordinator
/// that is stopped (SIGSTOP), hung, or cut off keeps the TCP connection open, and the heartbeats written into it go
/// nowhere while the node looks silent to whoever owns its group; closed, the agent tries the next endpoint. Any
/// bytes count, so it sits in front of TLS.
enum SilenceWatch {
    static func install(on channel: any Channel, limit: TimeAmount, endpoint: Endpoint, logger: Logger) async throws {
        // Made on the channel's event loop: an IdleStateHandler may not cross from the task.
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandlers(
                [IdleStateHandler(readTimeout: limit), Closer(limit: limit, endpoint: endpoint, logger: logger)], position: .first)
        }.get()
    }

    final class Closer: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        let limit: TimeAmount
        let endpoint: Endpoint
        let logger: Logger

        init(limit: TimeAmount, endpoint: Endpoint, logger: Logger) {
            self.limit = limit
            self.endpoint = endpoint
            self.logger = logger
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard case IdleStateHandler.IdleStateEvent.read? = event as? IdleStateHandler.IdleStateEvent else {
                return context.fireUserInboundEventTriggered(event)
            }
            logger.warning("coordinator silent; trying the next endpoint", metadata: [
                "endpoint": "\(endpoint)", "silent_ms": "\(limit.nanoseconds / 1_000_000)"])
            context.close(promise: nil)
        }
    }
}
