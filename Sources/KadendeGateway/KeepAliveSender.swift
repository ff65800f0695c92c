import KadendeWire
import NIOCore

/// Writes a `keepAlive` to a welcomed agent when the connection has carried nothing from the coordinator for the
/// keep-alive interval (an `IdleStateHandler` in front of it says when). The agent closes a connection that stays
/// silent for three intervals: without a word now and then, it could not tell a stopped or cut-off coordinator from
/// a quiet one, and would keep writing heartbeats that nobody reads. Armed by the welcome it sees go out, so an
/// agent waiting for its welcome or enrolling never gets one first.
final class KeepAliveSender: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    /// One encoded frame for every connection (a payload of `{}`).
    static let frame: Frame? = try? WireCodec.encode(.keepAlive(KeepAlive()))
    private var armed = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !armed, unwrapOutboundIn(data).type == MessageType.welcome.rawValue { armed = true }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case IdleStateHandler.IdleStateEvent.write? = event as? IdleStateHandler.IdleStateEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        if armed, let frame = Self.frame { context.writeAndFlush(wrapOutboundOut(frame), promise: nil) }
    }
}
