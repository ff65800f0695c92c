import KadendeWire
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// How long a peer of the agent port may take at each step, and how many may be where at once. A real agent
/// completes its handshake and sends its first frame within milliseconds and then speaks at least every heartbeat
/// interval; these bounds are far above that and far below "as long as the peer likes".
public struct AdmissionLimits: Sendable {
    /// TCP accepted → TLS handshake done.
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// Handshake done → first complete frame (hello, or enrol).
    public var firstFrameTimeout: TimeAmount = .seconds(10)
    /// A connection without a client certificate may only enrol: its frame must arrive within this.
    public var unauthenticatedLifetime: TimeAmount = .seconds(30)
    /// A frame's first byte → its last.
    public var frameTimeout: TimeAmount = .seconds(60)
    /// With nothing read for this long a connection is closed; once an agent is welcomed its group's heartbeat
    /// timeout sets it (twice the timeout and 10 s more, so the connection never speaks before the health judge).
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Open connections; beyond it the listener stops accepting until one closes (the kernel's backlog waits).
    public var maxConnections = 20_000
    /// Connections whose handshake ended without a client certificate (enrolments) at once; more are closed.
    public var maxUnauthenticated = 256
    /// The largest frame a peer without a certificate may send (an enrolment is well under 4 KiB).
    public var unauthenticatedFrameSize = 16 * 1024
    /// Bytes held in unfinished frames across all connections.
    public var unfinishedFrameBytes = 64 << 20

    public init() {}
}

/// Asks a connection's guard to close the connection after this much silence (sent by the session once the
/// agent is welcomed, as a user outbound event).
struct ReadIdleLimit: Sendable {
    var limit: TimeAmount
}

/// Counts shared by every connection of the listener.
final class AdmissionCounters: Sendable {
    let unauthenticated = Atomic<Int>(0)
    /// Welcomed connections a limit closed (read idle past twice the heartbeat ceiling, the frame budget spent):
    /// what a real agent must never see.
    let welcomedCut = Atomic<Int>(0)
    let budget: FrameBudget

    init(limits: AdmissionLimits) {
        budget = FrameBudget(limit: limits.unfinishedFrameBytes)
    }
}

/// One connection's deadlines, in the pipeline right after TLS and the frame decoder: the handshake, the first
/// frame, the lifetime of a connection without a certificate, and read idleness. A deadline missed closes the
/// connection; nothing about it reaches the store or the log beyond a debug line, so a crowd of slow peers costs
/// only the memory its connections hold until their deadlines.
final class ConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    private let limits: AdmissionLimits
    private let counters: AdmissionCounters
    private let allowance: FrameAllowance
    private var deadline: Scheduled<Void>?
    private var lifetime: Scheduled<Void>?
    private var idle: Scheduled<Void>?
    private var idleLimit: TimeAmount
    private var lastRead = NIODeadline.now()
    private var handshakeDone = false
    private var sawFrame = false
    private var countedUnauthenticated = false
    private var welcomed = false

    init(limits: AdmissionLimits, counters: AdmissionCounters, allowance: FrameAllowance) {
        self.limits = limits
        self.counters = counters
        self.allowance = allowance
        self.idleLimit = limits.idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.handshakeTimeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        for task in [deadline, lifetime, idle] { task?.cancel() }
        if countedUnauthenticated {
            counters.unauthenticated.wrappingSubtract(1, ordering: .relaxed)
            countedUnauthenticated = false
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent, !handshakeDone {
            handshakeDone = true
            handshakeCompleted(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func handshakeCompleted(context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        let loop = context.eventLoop.assumeIsolated()
        let hasCertificate = ((try? context.pipeline.syncOperations.nioSSL_peerCertificate()) ?? nil) != nil
        if !hasCertificate {
            let count = counters.unauthenticated.wrappingAdd(1, ordering: .relaxed).newValue
            countedUnauthenticated = true
            guard count <= limits.maxUnauthenticated else {
                context.close(promise: nil)
                return
            }
            allowance.maxFrameSize = min(allowance.maxFrameSize, limits.unauthenticatedFrameSize)
            lifetime = loop.scheduleTask(in: limits.unauthenticatedLifetime) { channel.close(promise: nil) }
        }
        if !sawFrame {
            deadline = loop.scheduleTask(in: limits.firstFrameTimeout) { channel.close(promise: nil) }
        }
        lastRead = .now()
        scheduleIdleCheck(context: context, at: lastRead + idleLimit)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        if !sawFrame {
            sawFrame = true
            if handshakeDone { deadline?.cancel() }
            // The peer has said what it came for: from here the coordinator takes its time (an enrolment writes to
            // the store), and cutting it now could lose an `enrolled` whose token is already spent. The session ends
            // the connection after its one exchange; the idle timeout bounds a peer that sends nothing more.
            lifetime?.cancel()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if welcomed, let error = error as? WireError, error.code == .limitExceeded || error.code == .frameTooLarge {
            counters.welcomedCut.wrappingAdd(1, ordering: .relaxed)
        }
        context.fireErrorCaught(error)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let limit = event as? ReadIdleLimit else {
            return context.triggerUserOutboundEvent(event, promise: promise)
        }
        idleLimit = limit.limit
        welcomed = true
        idle?.cancel()
        scheduleIdleCheck(context: context, at: lastRead + idleLimit)
        promise?.succeed()
    }

    /// One timer per connection, moved forward only when it fires: heartbeats cost no rescheduling.
    private func scheduleIdleCheck(context: ChannelHandlerContext, at when: NIODeadline) {
        let channel = context.channel
        idle = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [weak self] in
            guard let self else { return }
            let due = self.lastRead + self.idleLimit
            if NIODeadline.now() >= due {
                if self.welcomed { self.counters.welcomedCut.wrappingAdd(1, ordering: .relaxed) }
                channel.close(promise: nil)
            } else {
                self.scheduleIdleCheck(context: context, at: due)
            }
        }
    }
}

/// On the listening socket: stops accepting while `maxConnections` are open and starts again when one closes, so
/// excess peers wait in the kernel's backlog instead of taking the coordinator's memory.
final class ConnectionCap: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never
    typealias OutboundOut = Never

    private let limit: Int
    private var open = 0
    private var waiting = false

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        open += 1
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        child.closeFuture.hop(to: context.eventLoop).whenComplete { _ in
            let (cap, context) = loopBound.value
            cap.open -= 1
            if cap.waiting, cap.open < cap.limit {
                cap.waiting = false
                context.read()
            }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        guard open < limit else {
            waiting = true
            return
        }
        context.read()
    }
}
