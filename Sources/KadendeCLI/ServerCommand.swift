import ArgumentParser
import Foundation
import KadendeCoordinator
import KadendeEC2
import KadendeModel
import KadendeProviders
import KadendeStore
import Logging

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the coordinator.")

    @Option(help: "Directory for the CA, the SQLite store and local nodes.")
    var dataDir: String = "/var/lib/kadende"

    @Option(help: "Address the agent gateway (mutual TLS) listens on.")
    var listenAgents: String = "127.0.0.1:7443"

    @Option(help: "Address the REST API listens on; anything but loopback needs --api-tls.")
    var listenHTTP: String = "127.0.0.1:7080"

    @Option(help: "Serve the API over TLS: off (loopback only), ca (a certificate from the coordinator's CA; clients trust <data-dir>/pki/ca.pem), or files (--api-tls-cert, --api-tls-key).")
    var apiTLS: String = "off"

    @Option(help: "With --api-tls files: the certificate chain (PEM).")
    var apiTLSCert: String?

    @Option(help: "With --api-tls files: the private key (PEM).")
    var apiTLSKey: String?

    @Option(help: "A host name the REST API answers to (repeatable), besides its listen address and, on loopback, 127.0.0.1, ::1 and localhost; requests naming any other Host are refused (DNS rebinding).")
    var apiHost: [String] = []

    @Option(help: "Most agent connections open at once; beyond it the agent port stops accepting until one closes.")
    var maxAgentConnections: Int = 20_000

    @Option(help: "host:port agents should dial (repeatable); defaults to --listen-agents.")
    var advertise: [String] = []

    @Option(help: "kadende-agent binary for the process provider; defaults to the one beside this executable.")
    var agentPath: String?

    @Option(help: "Process nodes' network: shared, or namespaces (one network namespace per node; root only).")
    var processNetwork: String = "shared"

    @Option(help: "With --process-network namespaces: the /16 the nodes' veth pairs are numbered from.")
    var processSubnet: String = "10.213.0.0/16"

    @Option(help: "Port of the HTTPS listener nodes fetch kadende-agent from (on the agent gateway's host); off to disable.")
    var artifactPort: String = "7444"

    @Option(help: "Directory of packaged agents to serve to nodes (scripts/package-agent writes .build/dist).")
    var agentArtifacts: String?

    @Option(help: "Base image directory for the qemu provider (scripts/build-image prints it).")
    var qemuImage: String?

    @Option(help: "qemu provider acceleration: auto, kvm or tcg.")
    var qemuAccel: String = "auto"

    @Option(help: "Memory of each qemu virtual machine, in MiB.")
    var qemuMemory: Int = 256

    @Option(help: "Most qemu virtual machines at a time (each takes a core).")
    var qemuMax: Int = 2

    @Option(help: "Guest TCP port forwarded to 127.0.0.1 for probes (repeatable).")
    var qemuForward: [Int] = []

    @Option(help: "How long an instance tagged for a group but unknown to the store lives before it is destroyed (e.g. 2m).")
    var orphanGrace: String = "2m"

    @Option(help: "After a start, how long nobody is convicted while agents reconnect (e.g. 15s).")
    var restartGrace: String = "15s"

    @Option(help: "How long an enrolment token in user-data stays valid (e.g. 15m).")
    var enrolmentTokenLifetime: String = "15m"

    @Option(help: "Turns on the ec2 provider in this region (credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials).")
    var ec2Region: String?

    @Option(help: "EC2 endpoint URL instead of https://ec2.<region>.amazonaws.com.")
    var ec2Endpoint: String?

    @Option(help: "Creates and destroys in flight at once against one provider (qemu: always 1).")
    var providerConcurrency: Int = 8

    @Option(help: "A provider plugin, NAME=EXECUTABLE (repeatable); groups name it in provider:. See docs/providers.md.")
    var providerPlugin: [String] = []

    @Option(help: "Turns on a provider that runs nodes on this host (repeatable): process (agents as child processes, whose probes, hooks and pushed commands run as this coordinator's user) or qemu (virtual machines). Off unless given: any operator of any cluster may use what is on.")
    var localProvider: [String] = []

    @Option(help: "A command coordinator-side hooks may name, NAME=EXECUTABLE (repeatable); a group's hooks.*: {on: coordinator, run: NAME} runs it on this host with the node's facts in its environment. Nothing else a spec says runs here.")
    var coordinatorHook: [String] = []

    @Option(help: "Turns on the simulated provider: its machines are lines in this file, played by kadende-loadgen (benchmarks only).")
    var simulatedSpool: String?

    @Option(help: "The store: a postgres:// URL shared by replicas (also KADENDE_STORE, which keeps a password out of the process list); default the SQLite file in --data-dir.")
    var store: String?

    @Option(help: "With a shared store: this replica's name in leases and events (default host-pid-random).")
    var replicaID: String?

    @Option(help: "With a shared store: how long a group's lease outlives its last renewal (e.g. 6s); another replica takes the group after it.")
    var leaseDuration: String = "6s"

    @Option(help: "With a shared store: after taking a group over from another replica, how long nobody in it is convicted (e.g. 15s).")
    var failoverGrace: String = "15s"

    @Option(help: "How often a connected agent hears from the coordinator (a keep-alive when there is nothing else); an agent that hears nothing for three times as long tries the next coordinator (e.g. 4s).")
    var agentKeepAlive: String = "4s"

    @Option(help: "How long events are kept (e.g. 30d).")
    var eventRetention: String = "30d"

    @Option(help: "Most events kept; the oldest go first.")
    var eventRetentionCount: Int = 1_000_000

    @Option(help: "How long audit entries are kept (e.g. 400d); at least as long as events.")
    var auditRetention: String = "400d"

    @Option(help: "Most audit entries kept; the oldest go first.")
    var auditRetentionCount: Int = 2_000_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        let (agentHost, agentPort) = try Self.split(listenAgents, option: "--listen-agents")
        let (httpHost, httpPort) = try Self.split(listenHTTP, option: "--listen-http")
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let dataDir = URL(fileURLWithPath: self.dataDir).standardizedFileURL.path
        var config = CoordinatorConfiguration(
            dataDirectory: dataDir, agentPath: agentPath ?? Self.siblingAgent(), logger: Logger(label: "kadende"))
        config.agentHost = agentHost
        config.agentPort = agentPort
        config.httpHost = httpHost
        config.httpPort = httpPort
        config.advertisedEndpoints = advertise
        config.apiHostNames = apiHost
        guard (1...1_000_000).contains(maxAgentConnections) else { throw ValidationError("--max-agent-connections \(maxAgentConnections): expected 1 to 1000000") }
        config.agentLimits.maxConnections = maxAgentConnections
        switch apiTLS {
        case "off":
            // Passwords and tokens cross this API: in the clear only on the loopback interface.
            guard ["127.0.0.1", "::1", "localhost"].contains(httpHost) else {
                throw ValidationError("--listen-http \(listenHTTP) is reachable from other machines: serve it with --api-tls ca (or files), or listen on 127.0.0.1")
            }
        case "ca": config.apiTLS = .coordinatorCA
        case "files":
            guard let cert = apiTLSCert, let key = apiTLSKey else { throw ValidationError("--api-tls files needs --api-tls-cert and --api-tls-key") }
            config.apiTLS = .files(certificateChain: URL(fileURLWithPath: cert).standardizedFileURL.path, key: URL(fileURLWithPath: key).standardizedFileURL.path)
        default: throw ValidationError("--api-tls \(apiTLS): expected off, ca or files")
        }
        // Requests are served only under names the API is known by; a wildcard address is no name.
        if ["0.0.0.0", "::", ""].contains(httpHost), apiHost.isEmpty {
            throw ValidationError("--listen-http \(listenHTTP) listens on every address: name the host names clients use with --api-host (requests under any other Host are refused)")
        }
        guard let grace = Seconds(parsing: restartGrace) else { throw ValidationError("--restart-grace \(restartGrace): expected a duration such as 15s") }
        config.restartGrace = grace.value
        guard let orphans = Seconds(parsing: orphanGrace), orphans.value >= 1 else {
            throw ValidationError("--orphan-grace \(orphanGrace): expected a duration of at least 1s, such as 2m")
        }
        config.orphanGrace = orphans.value
        config.storeURL = store ?? ProcessInfo.processInfo.environment["KADENDE_STORE"].flatMap { $0.isEmpty ? nil : $0 }
        if let replicaID {
            guard ResourceName.isValid(replicaID) else { throw ValidationError("--replica-id \(replicaID): 1-63 lowercase letters, digits or '-'") }
            config.replica.id = replicaID
        }
        guard let lease = Seconds(parsing: leaseDuration), (1...300).contains(lease.value) else {
            throw ValidationError("--lease-duration \(leaseDuration): expected 1s to 5m, such as 6s")
        }
        config.replica.leaseDuration = lease.value
        guard let failover = Seconds(parsing: failoverGrace) else { throw ValidationError("--failover-grace \(failoverGrace): expected a duration such as 15s") }
        config.replica.failoverGrace = failover.value
        guard let keepAlive = Seconds(parsing: agentKeepAlive), (0.1...60).contains(keepAlive.value) else {
            throw ValidationError("--agent-keep-alive \(agentKeepAlive): expected 100ms to 60s, such as 4s")
        }
        config.agentKeepAlive = keepAlive.value
        // Retentions are not timers: up to ten years.
        guard let events = Seconds(parsing: eventRetention, maximum: 3650 * 86_400), events.value >= 3600 else {
            throw ValidationError("--event-retention \(eventRetention): expected a duration of at least 1h, such as 30d")
        }
        guard let audit = Seconds(parsing: auditRetention, maximum: 3650 * 86_400), audit.value >= events.value else {
            throw ValidationError("--audit-retention \(auditRetention): expected a duration at least as long as --event-retention, such as 400d")
        }
        guard (1_000...100_000_000).contains(eventRetentionCount), (eventRetentionCount...1_000_000_000).contains(auditRetentionCount) else {
            throw ValidationError("--event-retention-count is 1000 to 100000000 and --audit-retention-count at least as many")
        }
        config.retention.eventAge = events.value
        config.retention.auditAge = audit.value
        config.retention.eventCount = eventRetentionCount
        config.retention.auditCount = auditRetentionCount
        guard let lifetime = Seconds(parsing: enrolmentTokenLifetime), lifetime.value > 0 else {
            throw ValidationError("--enrolment-token-lifetime \(enrolmentTokenLifetime): expected a duration such as 15m")
        }
        config.enrolmentTokenLifetime = lifetime.value
        switch processNetwork {
        case "shared": config.processNetwork = .shared
        case "namespaces":
            guard let subnet = IPv4Subnet(processSubnet) else { throw ValidationError("--process-subnet \(processSubnet): expected a.b.0.0/16") }
            guard getuid() == 0 else { throw ValidationError("--process-network namespaces needs root") }
            config.processNetwork = .namespaces(subnet: subnet)
        default: throw ValidationError("--process-network \(processNetwork): expected shared or namespaces")
        }
        if artifactPort == "off" {
            config.artifactPort = nil
        } else {
            guard let port = Int(artifactPort), (0...65535).contains(port) else { throw ValidationError("--artifact-port \(artifactPort): expected a port or off") }
            config.artifactPort = port
        }
        config.agentArtifactsDirectory = agentArtifacts.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard let accel = QEMUSettings.Acceleration(rawValue: qemuAccel) else {
            throw ValidationError("--qemu-accel \(qemuAccel): expected auto, kvm or tcg")
        }
        config.qemu.imageDirectory = qemuImage.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        config.qemu.acceleration = accel
        config.qemu.memoryMiB = qemuMemory
        config.qemu.maxMachines = qemuMax
        config.qemu.forwardedPorts = qemuForward
        if let ec2Region {
            config.ec2 = EC2Settings(region: ec2Region, endpoint: ec2Endpoint)
        } else if ec2Endpoint != nil {
            throw ValidationError("--ec2-endpoint needs --ec2-region (the region signs every request)")
        }
        guard (1...256).contains(providerConcurrency) else { throw ValidationError("--provider-concurrency \(providerConcurrency): expected 1 to 256") }
        config.providerConcurrency = providerConcurrency
        for plugin in providerPlugin {
            let parts = plugin.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw ValidationError("--provider-plugin \(plugin): expected NAME=EXECUTABLE")
            }
            let path = URL(fileURLWithPath: parts[1]).standardizedFileURL.path
            guard FileManager.default.isExecutableFile(atPath: path) else { throw ValidationError("--provider-plugin \(parts[0]): \(path) is not executable") }
            guard !["process", "qemu", "ec2", "simulated"].contains(parts[0]) else {
                throw ValidationError("--provider-plugin \(parts[0]): that name belongs to a built-in provider")
            }
            config.plugins[parts[0]] = path
        }
        for name in localProvider {
            guard HostCapabilities.localProviders.contains(name) else {
                throw ValidationError("--local-provider \(name): expected \(HostCapabilities.localProviders.sorted().joined(separator: " or "))")
            }
            config.host.providers.insert(name)
        }
        for hook in coordinatorHook {
            let parts = hook.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ResourceName.isValid(parts[0]) else {
                throw ValidationError("--coordinator-hook \(hook): expected NAME=EXECUTABLE, NAME of lowercase letters, digits and '-'")
            }
            let path = URL(fileURLWithPath: parts[1]).standardizedFileURL.path
            guard FileManager.default.isExecutableFile(atPath: path) else { throw ValidationError("--coordinator-hook \(parts[0]): \(path) is not executable") }
            config.host.coordinatorHooks[parts[0]] = path
        }
        config.simulatedSpool = simulatedSpool.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard !config.host.providers.contains("process") || FileManager.default.isExecutableFile(atPath: config.agentPath) else {
            throw ValidationError("no executable kadende-agent at \(config.agentPath) (set --agent-path)")
        }
        let coordinator = try await Coordinator.build(config)
        async let running: Void = coordinator.run(gracefulShutdownSignals: [.sigterm, .sigint])
        guard let port = await coordinator.httpPort() else {
            try await running  // throws why the API could not start
            return
        }
        let artifactPort = await coordinator.artifactPort()
        var ready = ["pid": Int(getpid()), "agentPort": coordinator.agentPort, "httpPort": port]
        ready["artifactPort"] = artifactPort
        let data = try JSONSerialization.data(withJSONObject: ready, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: dataDir + "/coordinator.json"), options: .atomic)
        // Unbuffered, so that a supervisor or a script reading our output sees it at once.
        FileHandle.standardOutput.write(Data(
            "Kadende coordinator ready: API \(apiTLS == "off" ? "http" : "https")://\(httpHost):\(port), agents \(agentHost):\(coordinator.agentPort), CA pin \(coordinator.ca.pin)\n".utf8))
        try await running
    }

    static func split(_ address: String, option: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("\(option) \(address): expected host:port")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    static func siblingAgent() -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("kadende-agent").path
    }
}
