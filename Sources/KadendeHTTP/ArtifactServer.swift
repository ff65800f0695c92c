import Hummingbird
import HummingbirdTLS
import KadendeAPI
import Logging
import NIOCore
import NIOSSL

/// The agent binaries a coordinator offers its nodes, by version and architecture.
public protocol ArtifactSource: Sendable {
    func artifact(version: String, arch: String) -> (bytes: ByteBuffer, sha256: String)?
    func available() -> [APIAgentArtifact]
}

/// The HTTPS listener nodes fetch `kadende-agent` from during cloud-init. Separate from the REST API: nodes reach
/// it from their network, while the API stays on the operator's side. Its certificate is issued by the
/// coordinator's CA, which user-data carries, so a node's `curl` checks it without any other trust store.
public enum ArtifactServer {
    public static func makeApplication(
        artifacts: any ArtifactSource, host: String, port: Int, tls: TLSConfiguration, limits: ListenerLimits = ListenerLimits(), logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void
    ) throws -> some ApplicationProtocol {
        let router = Router()
        router.middlewares.add(ErrorMiddleware())
        router.get("/v1/agent") { _, _ in try HTTPServer.json(artifacts.available()) }
        router.get("/v1/agent/:version/:arch") { _, context in
            let version = try context.parameters.require("version")
            let arch = try context.parameters.require("arch")
            guard let artifact = artifacts.artifact(version: version, arch: arch) else {
                throw APIError.notFound("no kadende-agent \(version.prefix(40)) for \(arch.prefix(20)) here; see GET /v1/agent")
            }
            return Response(status: .ok, headers: [
                .contentType: "application/octet-stream",
                .init("x-kadende-sha256")!: artifact.sha256,
            ], body: .init(byteBuffer: artifact.bytes))
        }
        return Application(
            router: router,
            server: try limits.server(tls: tls),
            configuration: limits.configuration(host: host, port: port),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }
}
