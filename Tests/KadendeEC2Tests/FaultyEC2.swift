import Foundation
import KadendeEC2
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small EC2 on 127.0.0.1 that keeps instances in memory and fails on command: it answers the few Query API
/// actions the provider uses, and a test's `behaviour` decides per call whether to answer, throttle, fail, stall
/// after doing the work, or answer garbage. moto cannot do this (it ignores ClientToken and never times out), so
/// idempotency and faults are tested here; the real API shape is tested against moto in the end-to-end tests.
final class FaultyEC2: @unchecked Sendable {
    enum Reply {
        case normal
        /// Do the work, then never answer (the caller times out after EC2 acted).
        case stallAfterWork
        /// Answer nothing and do nothing.
        case stall
        case error(status: Int, code: String, message: String)
        case raw(status: Int, body: String)
    }

    struct Call { var action: String; var parameters: [String: String]; var authorization: String? }

    struct FakeInstance { var id: String; var tags: [String: String]; var state: String; var userData: String? }

    private let lock = NIOLock()
    private var _calls: [Call] = []
    private var _instances: [FakeInstance] = []
    private var behaviour: @Sendable (Call, Int) -> Reply
    private var channel: Channel?
    private(set) var port = 0

    init(_ behaviour: @escaping @Sendable (Call, Int) -> Reply = { _, _ in .normal }) {
        self.behaviour = behaviour
    }

    var calls: [Call] { lock.withLock { _calls } }
    var instances: [FakeInstance] { lock.withLock { _instances } }
    func calls(_ action: String) -> [Call] { calls.filter { $0.action == action } }
    var url: String { "http://127.0.0.1:\(port)" }

    func start() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(Handler(ec2: self)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.channel = channel
        port = channel.localAddress?.port ?? 0
    }

    func stop() async {
        try? await channel?.close()
    }

    /// What the fake answers to one request, or nil to stay silent.
    fileprivate func handle(_ body: String, authorization: String?) -> (Int, String)? {
        var parameters: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            parameters[parts[0].removingPercentEncoding ?? parts[0]] = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
        }
        let call = Call(action: parameters["Action"] ?? "", parameters: parameters, authorization: authorization)
        let reply = lock.withLock { () -> Reply in
            _calls.append(call)
            return behaviour(call, _calls.filter { $0.action == call.action }.count)
        }
        switch reply {
        case .stall: return nil
        case .error(let status, let code, let message):
            return (status, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>\(code)</Code><Message>\(message)</Message></Error></Errors><RequestID>r-1</RequestID></Response>")
        case .raw(let status, let body): return (status, body)
        case .normal: return (200, work(call))
        case .stallAfterWork:
            _ = work(call)
            return nil
        }
    }

    private func work(_ call: Call) -> String {
        let p = call.parameters
        let ns = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\""
        switch call.action {
        case "RunInstances":
            var tags: [String: String] = [:]
            var i = 1
            while let key = p["TagSpecification.1.Tag.\(i).Key"] { tags[key] = p["TagSpecification.1.Tag.\(i).Value"]; i += 1 }
            let instance = lock.withLock { () -> FakeInstance in
                let made = FakeInstance(id: "i-\(String(format: "%017x", _instances.count + 1))", tags: tags, state: "pending", userData: p["UserData"])
                _instances.append(made)
                return made
            }
            return "<RunInstancesResponse \(ns)><instancesSet>\(Self.xml(instance))</instancesSet></RunInstancesResponse>"
        case "DescribeInstances":
            var filters: [(String, String)] = []
            var i = 1
            while let name = p["Filter.\(i).Name"] { filters.append((String(name.dropFirst(4)), p["Filter.\(i).Value.1"] ?? "")); i += 1 }
            let ids = p.filter { $0.key.hasPrefix("InstanceId.") }.map(\.value)
            let found = instances.filter { instance in
                filters.allSatisfy { instance.tags[$0.0] == $0.1 } && (ids.isEmpty || ids.contains(instance.id))
            }
            return "<DescribeInstancesResponse \(ns)><reservationSet><item><instancesSet>\(found.map(Self.xml).joined())</instancesSet></item></reservationSet></DescribeInstancesResponse>"
        case "TerminateInstances":
            lock.withLock {
                for i in _instances.indices where _instances[i].id == p["InstanceId.1"] { _instances[i].state = "terminated" }
            }
            return "<TerminateInstancesResponse \(ns)><instancesSet/></TerminateInstancesResponse>"
        case "DescribeInstanceStatus":
            return "<DescribeInstanceStatusResponse \(ns)><instanceStatusSet/></DescribeInstanceStatusResponse>"
        default:
            return "<Response><Errors><Error><Code>InvalidAction</Code><Message>\(call.action)</Message></Error></Errors></Response>"
        }
    }

    static func xml(_ i: FakeInstance) -> String {
        "<item><instanceId>\(i.id)</instanceId><instanceState><code>0</code><name>\(i.state)</name></instanceState>"
            + "<privateIpAddress>10.0.0.1</privateIpAddress><launchTime>2026-11-26T10:00:00.000Z</launchTime><tagSet>"
            + i.tags.map { "<item><key>\($0.key)</key><value>\($0.value)</value></item>" }.joined() + "</tagSet></item>"
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let ec2: FaultyEC2
        var body = ""
        var authorization: String?

        init(ec2: FaultyEC2) { self.ec2 = ec2 }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                body = ""
                authorization = head.headers.first(name: "Authorization")
            case .body(var buffer):
                body += buffer.readString(length: buffer.readableBytes) ?? ""
            case .end:
                guard let (status, text) = ec2.handle(body, authorization: authorization) else { return }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "\(text.utf8.count)")
                headers.add(name: "Content-Type", value: "text/xml")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
