import Hummingbird
import NIOCore

/// The request context of Kadende's API: Hummingbird's core plus the peer's address, which login throttling and
/// the audit log need.
public struct KadendeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// `192.0.2.1` (no port): what throttling keys on and the audit log shows.
    public var peer: String { remoteAddress?.ipAddress ?? "unknown" }
}
