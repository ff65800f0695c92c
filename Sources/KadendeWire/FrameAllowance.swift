import NIOCore
import Synchronization

/// Bytes held in frames not yet complete, across every connection of a listener. A peer that sends most of a
/// large frame and stops keeps those bytes buffered; many such peers together could take the coordinator's
/// memory. Each connection reserves what it holds here, and the one that would pass the limit is closed.
public final class FrameBudget: Sendable {
    public let limit: Int
    private let used = Atomic<Int>(0)

    public init(limit: Int) { self.limit = limit }

    public var bytesHeld: Int { used.load(ordering: .relaxed) }

    /// Moves a connection's reservation by `delta`; false (and nothing reserved) when growing it passes the limit.
    func adjust(by delta: Int) -> Bool {
        guard delta > 0 else {
            used.wrappingSubtract(-delta, ordering: .relaxed)
            return true
        }
        let after = used.wrappingAdd(delta, ordering: .relaxed).newValue
        guard after <= limit else {
            used.wrappingSubtract(delta, ordering: .relaxed)
            return false
        }
        return true
    }
}

/// What one connection may hold of a frame it has not finished: at most `maxFrameSize` bytes (smaller before the
/// peer is authenticated), a share of the listener's `FrameBudget`, and no longer than `frameTimeout` from a
/// frame's first byte to its last. Lives on the connection's event loop, shared by its decoder and its guard.
public final class FrameAllowance {
    public var maxFrameSize: Int
    let budget: FrameBudget?
    let frameTimeout: TimeAmount?
    private var reserved = 0
    private var generation = 0
    private var partial = false

    public init(maxFrameSize: Int, budget: FrameBudget? = nil, frameTimeout: TimeAmount? = nil) {
        self.maxFrameSize = maxFrameSize
        self.budget = budget
        self.frameTimeout = frameTimeout
    }

    /// Called with what the decoder holds after each step: reserves it, and starts the frame's clock when a frame
    /// has begun. Throws when the listener's budget is spent.
    func holding(_ bytes: Int, context: ChannelHandlerContext) throws(WireError) {
        if let budget, bytes != reserved {
            guard budget.adjust(by: bytes - reserved) else {
                throw WireError(.limitExceeded, "the coordinator holds too many unfinished frames now; try again")
            }
            reserved = bytes
        }
        switch (partial, bytes > 0) {
        case (false, true):
            partial = true
            generation += 1
            guard let frameTimeout else { return }
            let started = generation
            let channel = context.channel
            context.eventLoop.assumeIsolated().scheduleTask(in: frameTimeout) { [weak self] in
                // Still the same unfinished frame: the peer began it and stopped.
                if let self, self.partial, self.generation == started { channel.close(promise: nil) }
            }
        case (true, false):
            partial = false
        default:
            break
        }
    }

    /// Gives back what the connection held (it closed, or its decoder went).
    func release() {
        if let budget, reserved > 0 { _ = budget.adjust(by: -reserved) }
        reserved = 0
        partial = false
    }
}
