import Crypto
import Hummingbird
import KadendeAuth
import KadendeEC2
import KadendeGateway
import KadendeHTTP
import KadendeModel
import KadendePKI
import KadendePostgres
import KadendeProviders
import KadendeStore
import KadendeWire
import KadendeSupport
import Logging
import NIOSSL
import ServiceLifecycle
import UnixSignals
import Synchronization
import X509
import struct Foundation.Date
import class Foundation.ProcessInfo

/// The composition root: builds the store, PKI, gateway, reconcile loop and HTTP API, and runs them as one
/// ServiceGroup ordered by dependency (shutdown runs in reverse).
public final class Coordinator: Sendable {
    public let configuration: CoordinatorConfiguration
    public let store: any Store
    public let ca: CertificateAuthority
    public let gateway: AgentGateway
    public let tracker: HeartbeatTracker
    public let reconciler: ReconcileLoop
    public let rollouts: RolloutLoop
    public let providers: ProviderRegistry
    public var metrics: CoordinatorMetrics { reconciler.metrics }
    let credentials: ClusterCredentials
    /// Failed logins per account and address (in memory: a restart forgives, which a lock-out survives anyway).
    let throttle = Mutex(LoginThrottle())
    /// What failed logins may write to the audit log, per address and overall.
    let unauthenticatedWrites = SharedWriteAllowance()
    let passwords = PasswordHasher()
    /// The agent listener's bound port.
    public let agentPort: Int
    public let artifacts: AgentArtifacts
    private let artifactTLS: TLSConfiguration
    private let apiTLS: TLSConfiguration?
    private let artifactPortBox: PortBox
    private let artifactReady = ReadySignal()
    private let httpPortBox = PortBox()
    private let httpReady = ReadySignal()
    private let serviceGroup = Mutex<ServiceGroup?>(nil)

    /// Binds the agent listener, so its port is known before `run`.
    public static func build(_ configuration: CoordinatorConfiguration) async throws -> Coordinator {
        try DataDirectory.makePrivate(configuration.dataDirectory)
        let now = configuration.now()
        let store: any Store
        if let url = configuration.storeURL {
            store = try await PostgresStore.open(url: url, logger: configuration.logger)
        } else {
            store = try SQLiteStore(path: configuration.dataDirectory + "/kadende.sqlite")
        }
        let ca = try CertificateAuthority.loadOrCreate(in: configuration.dataDirectory + "/pki", now: now)
        let serverKey = try loadOrCreateKey(configuration.dataDirectory + "/pki/server-key.pem")
        var logger = configuration.logger
        logger[metadataKey: "coordinator"] = "\(configuration.dataDirectory.split(separator: "/").last ?? "")"
        let credentials = ClusterCredentials(
            store: store, box: try SecretBox.load(dataDirectory: configuration.dataDirectory, environment: ProcessInfo.processInfo.environment))
        let metrics = CoordinatorMetrics()
        // Local providers run code on this host: built only when whoever runs the coordinator turned them on.
        let host = configuration.host
        var local: [any Provider] = []
        if host.providers.contains("process") {
            local.append(try ProcessProvider(root: configuration.dataDirectory + "/process", agentPath: configuration.agentPath,
                                             network: configuration.processNetwork, logger: logger))
        }
        if host.providers.contains("qemu") {
            local.append(try QEMUProvider(root: configuration.dataDirectory + "/qemu", settings: configuration.qemu, logger: logger))
        }
        let disabled = Dictionary(uniqueKeysWithValues: HostCapabilities.localProviders.subtracting(host.providers).map {
            ($0, "the \($0) provider runs nodes on the coordinator's own host and is off on this coordinator; "
                + "whoever runs it may turn it on with kadende server --local-provider \($0)")
        })
        let offered: [any Provider] = local + (configuration.simulatedSpool.map { [SimulatedProvider(spool: $0)] } ?? [])
            + (configuration.ec2.map { settings -> [any Provider] in
                [EC2Provider(client: EC2Client(settings: settings, credentials: { try await credentials.ec2(cluster: $0) }, logger: logger), logger: logger)]
            } ?? [])
            + configuration.plugins.sorted { $0.key < $1.key }.map { plugin -> any Provider in
                PluginProvider(name: plugin.key, executable: plugin.value, logger: logger,
                               credentials: { try await credentials.values(cluster: $0, provider: plugin.key) })
            }
        let providers = ProviderRegistry(offered.map { provider -> any Provider in
            // QEMU counts the VMs running before it starts one: one change at a time keeps that count true.
            // Timed inside the cap, so the histogram shows the provider's latency and not the queue's.
            LimitedProvider(MeteredProvider(base: provider, metrics: metrics), concurrentChanges: provider.name == "qemu" ? 1 : configuration.providerConcurrency)
        }, disabled: disabled)
        let artifacts = try configuration.agentArtifactsDirectory.map(AgentArtifacts.load(directory:)) ?? .empty
        // Every address a node may dial is in the certificate, so the installer's curl can check it.
        let hosts = [configuration.agentHost, configuration.httpHost] + configuration.advertisedEndpoints.compactMap { Endpoint($0)?.host }
            + providers.all.compactMap(\.coordinatorHost)
        // The server certificate is reissued at every start: it is cheap and always names the current addresses.
        let serverCertificate = try ca.issueServerCertificate(hosts: hosts, key: serverKey, lifetime: 90 * 86_400, now: now)
        let tls = try TLSConfigurations.server(ca: ca.certificate, certificate: serverCertificate, key: serverKey)
        let artifactTLS = try TLSConfigurations.artifactServer(ca: ca.certificate, certificate: serverCertificate, key: serverKey)
        let apiTLS: TLSConfiguration?
        switch configuration.apiTLS {
        case .off: apiTLS = nil
        case .coordinatorCA: apiTLS = artifactTLS  // the same chain: issued by the CA, naming every address served
        case .files(let chain, let key):
            apiTLS = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(chain).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        }
        let tracker = HeartbeatTracker()
        let gateway = try AgentGateway(
            configuration: GatewayConfiguration(host: configuration.agentHost, port: configuration.agentPort,
                                                maxFrameSize: configuration.maxFrameSize, coordinatorID: "kadende-\(ProcessID.current)",
                                                keepAlive: .milliseconds(Int64(configuration.agentKeepAlive * 1000)),
                                                admission: configuration.agentLimits),
            tls: tls, store: store,
            enrolment: EnrolmentService(store: store, ca: ca, certificateLifetime: configuration.certificateLifetime),
            tracker: tracker, now: configuration.now, logger: logger)
        let agentPort = try await gateway.bind()
        let endpoints = configuration.advertisedEndpoints.isEmpty
            ? ["\(configuration.agentHost):\(agentPort)"] : configuration.advertisedEndpoints
        let artifactPortBox = PortBox()
        let reconciler = ReconcileLoop(
            store: store, providers: providers, tracker: tracker, gateway: gateway,
            prober: ExternalProber(now: configuration.now, logger: logger),
            enrolment: .init(endpoints: endpoints, caPin: ca.pin.description, tokenLifetime: configuration.enrolmentTokenLifetime,
                             agentPort: agentPort, artifactPort: { artifactPortBox.value }, artifacts: artifacts,
                             caCertificatePEM: try CertificateTools.pem(ca.certificate), arch: Architecture.current),
            restartGrace: configuration.restartGrace, orphanGrace: configuration.orphanGrace, metrics: metrics,
            replica: configuration.replica, coordinatorHooks: host.coordinatorHooks, now: configuration.now, logger: logger)
        if artifacts.available().isEmpty {
            logger.notice("no agent artifacts to serve: machines booted by cloud-init need --agent-artifacts or bootstrap.agent")
        }
        let rollouts = RolloutLoop(store: store, gateway: gateway, reconciler: reconciler, now: configuration.now, logger: logger)
        gateway.setConfigDelivery(rollouts)
        return Coordinator(configuration: configuration, store: store, ca: ca, gateway: gateway, tracker: tracker,
                           reconciler: reconciler, rollouts: rollouts, providers: providers, credentials: credentials, agentPort: agentPort, artifacts: artifacts,
                           artifactTLS: artifactTLS, apiTLS: apiTLS, artifactPortBox: artifactPortBox)
    }

    private init(configuration: CoordinatorConfiguration, store: any Store, ca: CertificateAuthority, gateway: AgentGateway,
                 tracker: HeartbeatTracker, reconciler: ReconcileLoop, rollouts: RolloutLoop, providers: ProviderRegistry, credentials: ClusterCredentials, agentPort: Int,
                 artifacts: AgentArtifacts, artifactTLS: TLSConfiguration, apiTLS: TLSConfiguration?, artifactPortBox: PortBox) {
        self.artifacts = artifacts
        self.artifactTLS = artifactTLS
        self.apiTLS = apiTLS
        self.artifactPortBox = artifactPortBox
        self.configuration = configuration
        self.store = store
        self.ca = ca
        self.gateway = gateway
        self.tracker = tracker
        self.reconciler = reconciler
        self.rollouts = rollouts
        self.providers = providers
        self.credentials = credentials
        self.agentPort = agentPort
    }

    /// The HTTP port once the API listens, or nil if the coordinator stopped before it did.
    public func httpPort() async -> Int? {
        await httpReady.wait()
        return httpPortBox.value
    }

    /// The artifact listener's port once it listens; nil when it is off or the coordinator stopped first.
    public func artifactPort() async -> Int? {
        await artifactReady.wait()
        return artifactPortBox.value
    }

    /// Runs until cancelled or, with `signals`, until one of them arrives; then shuts down gracefully.
    public func run(gracefulShutdownSignals signals: [UnixSignal] = []) async throws {
        // Whoever waits for the API must not wait forever if it never comes up.
        defer { httpReady.signal(); artifactReady.signal() }
        let api = CoordinatorAPI(coordinator: self)
        let http = try HTTPServer.makeApplication(
            controlPlane: api, host: configuration.httpHost, port: configuration.httpPort, tls: apiTLS,
            hostNames: configuration.apiHostNames, limits: configuration.httpLimits, logger: configuration.logger
        ) { port in
            self.httpPortBox.value = port
            self.httpReady.signal()
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: gateway)]
        if let port = configuration.artifactPort {
            services.append(.init(service: try ArtifactServer.makeApplication(
                artifacts: artifacts, host: configuration.agentHost, port: port, tls: artifactTLS, limits: configuration.httpLimits,
                logger: configuration.logger
            ) { port in
                self.artifactPortBox.value = port
                self.artifactReady.signal()
            }))
        } else {
            artifactReady.signal()
        }
        services += [.init(service: reconciler.prober), .init(service: reconciler), .init(service: rollouts),
                     .init(service: RetentionService(store: store, policy: configuration.retention, now: configuration.now, logger: configuration.logger)),
                     .init(service: http)]
        var lifecycle = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: configuration.logger)
        // A stop always ends: a service still busy 30 s after SIGTERM is cancelled, and one that ignores that for
        // 10 s more ends the process with a crash report, instead of leaving a coordinator that answers nobody.
        lifecycle.maximumGracefulShutdownDuration = .seconds(30)
        lifecycle.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: lifecycle)
        serviceGroup.withLock { $0 = group }
        try await group.run()
    }

    /// Stops every service gracefully, in reverse order of start.
    public func shutdown() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
    }

    private static func loadOrCreateKey(_ path: String) throws -> P256.Signing.PrivateKey {
        if let pem = try SecureFile.readText(path) { return try P256.Signing.PrivateKey(pemRepresentation: pem) }
        let key = P256.Signing.PrivateKey()
        try SecureFile.write(key.pemRepresentation, to: path)
        return key
    }
}

enum ProcessID {
    static var current: Int32 { getpid() }
}

/// A port learned once a listener binds, read from other tasks.
final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)
    var value: Int? {
        get { port.withLock { $0 } }
        set { port.withLock { $0 = newValue } }
    }
}

/// A one-shot latch: `wait` returns once `signal` has been called, however the two are ordered.
final class ReadySignal: Sendable {
    private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func signal() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.done = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { s -> Bool in
                if s.done { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
