import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

/// Timeouts and caps of Kadende's HTTP listeners (the REST API and the artifact listener). A connection that sends
/// nothing, never finishes its headers or never finishes its TLS handshake is closed after `idleTimeout`; a request
/// body must arrive within `bodyTimeout`; at most `maxConnections` are open, and beyond that the listener stops
/// accepting until one closes. Responses in progress (a long poll, the event stream, an agent download) are never
/// cut by the idle timeout.
public struct ListenerLimits: Sendable {
    public var idleTimeout: TimeAmount = .seconds(30)
    public var bodyTimeout: Duration = .seconds(30)
    public var maxConnections = 1024
    public var maxHeaderBytes = 32 * 1024
    public var maxHeaderCount = 100

    public init() {}

    func server(tls: TLSConfiguration?) throws -> HTTPServerBuilder {
        let http = HTTPServerBuilder.http1(configuration: .init(
            idleTimeout: idleTimeout,
            httpDecoderConfiguration: .init(maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes, maxHeaderFieldCount: maxHeaderCount)))
        return try tls.map { try .tls(http, tlsConfiguration: $0) } ?? http
    }

    func configuration(host: String, port: Int) -> ApplicationConfiguration {
        .init(address: .hostname(host, port: port), serverName: "kadende",
              availableConnectionsDelegate: MaximumAvailableConnections(maxConnections))
    }
}

extension Request {
    /// The body, at most `limit` bytes and within `timeout`: a client that sends its body a byte at a time cannot
    /// hold a request open for as long as it likes.
    func collectBody(upTo limit: Int, within timeout: Duration) async throws -> ByteBuffer {
        let request = self
        return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask {
                var request = request
                return try await request.collectBody(upTo: limit)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw HTTPError(.requestTimeout, message: "the request body did not arrive within \(timeout)")
            }
            defer { group.cancelAll() }
            guard let body = try await group.next() else { throw CancellationError() }
            return body
        }
    }
}
