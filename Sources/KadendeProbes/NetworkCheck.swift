import KadendeSupport
import KadendeWire
import NIOCore
import NIOPosix

/// TCP and HTTP checks over SwiftNIO, shared by the agent (probes on its own node) and the coordinator (external
/// probes against nodes' addresses): many in flight at once cost no thread each.
public enum NetworkCheck {
    public struct Answer: Sendable, Hashable {
        public var outcome: ProbeCounter.Outcome
        public var output: String
    }

    /// Connects and closes.
    public static func tcp(host: String, port: Int, timeout: Double,
                           group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async -> Answer {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(Int64(Clamp.milliseconds(timeout))))
                .connect(host: host, port: port).get()
            try? await channel.close()
            return Answer(outcome: .success, output: "connected to \(display(host)):\(port)")
        } catch {
            return Answer(outcome: .failure, output: "tcp \(display(host)):\(port): \(describe(error))")
        }
    }

    /// `GET` with `Connection: close`; reads only the status line. `expect` nil accepts any 2xx.
    public static func http(url: String, expect: Int?, timeout: Double,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async -> Answer {
        guard let target = HTTPTarget(url) else {
            return Answer(outcome: .failure, output: "not an http:// URL: \(url.prefix(200))")
        }
        let loop = group.next()
        let statusLine = loop.makePromise(of: String.self)
        do {
            let channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(Int64(Clamp.milliseconds(timeout))))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StatusLineHandler(promise: statusLine))
                    }
                }
                .connect(host: target.host, port: target.port).get()
            let deadline = loop.scheduleTask(in: .milliseconds(Int64(Clamp.milliseconds(timeout)))) {
                statusLine.fail(ProbeTimeout())
                channel.close(promise: nil)
            }
            defer { deadline.cancel() }
            let hostHeader = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
            let request = "GET \(target.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: kadende-probe\r\nConnection: close\r\n\r\n"
            try await channel.writeAndFlush(ByteBuffer(string: request))
            let line = try await statusLine.futureResult.get()
            channel.close(promise: nil)
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
                return Answer(outcome: .failure, output: "not an HTTP response: \(line.prefix(100))")
            }
            let ok = expect.map { code == $0 } ?? (200..<300).contains(code)
            return Answer(outcome: ok ? .success : .failure,
                          output: "HTTP \(code) from \(url.prefix(200))" + (ok ? "" : expect.map { " (expected \($0))" } ?? " (expected 2xx)"))
        } catch {
            statusLine.fail(error)
            return Answer(outcome: .failure, output: "GET \(url.prefix(200)): \(describe(error))")
        }
    }

    static func display(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    static func describe(_ error: any Error) -> String {
        if error is ProbeTimeout { return "timed out" }
        if case ChannelError.connectTimeout = error { return "connect timed out" }
        if let io = error as? IOError { return io.description }
        if let nio = error as? NIOConnectionError {
            return nio.connectionErrors.first.map { "\($0.error)" } ?? "\(nio)"
        }
        return "\(error)"
    }
}

struct ProbeTimeout: Error {}

/// `http://host[:port][/path]`, with `[v6]` hosts.
struct HTTPTarget: Equatable {
    var host: String
    var port: Int
    var path: String

    init?(_ url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        guard !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else { return nil }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let tail = authority[authority.index(after: close)...]
            if tail.isEmpty { port = 80 } else if tail.hasPrefix(":"), let p = Int(tail.dropFirst()) { port = p } else { return nil }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else { return nil }
            host = String(parts[0])
            if parts.count == 2 { guard let p = Int(parts[1]) else { return nil }; port = p } else { port = 80 }
        }
        guard (1...65535).contains(port) else { return nil }
    }
}

/// Collects bytes up to the first CRLF (at most 1 KiB) and hands that line on.
final class StatusLineHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<String>
    private let buffer: NIOLoopBoundBox<ByteBuffer>

    init(promise: EventLoopPromise<String>) {
        self.promise = promise
        self.buffer = NIOLoopBoundBox(ByteBuffer(), eventLoop: promise.futureResult.eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.value.writeBuffer(&incoming)
        let view = buffer.value.readableBytesView
        if let cr = view.firstIndex(of: UInt8(ascii: "\r")) {
            promise.succeed(String(decoding: view[view.startIndex..<cr], as: UTF8.self))
            context.close(promise: nil)
        } else if view.count > 1024 {
            promise.succeed(String(decoding: view.prefix(100), as: UTF8.self))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
