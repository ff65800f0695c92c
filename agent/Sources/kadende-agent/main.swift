#if canImport(Glibc)
import Glibc
#endif
import KadendeAgent
import Logging
import ServiceLifecycle

// kadende-agent [--config /etc/kadende/agent.yaml]
// Argument parsing is by hand: the agent stays free of dependencies it does not need.
var configPath = "/etc/kadende/agent.yaml"
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--config":
        guard let value = arguments.popFirst() else {
            print("kadende-agent: --config needs a path")
            exit(2)
        }
        configPath = value
    case "--version":
        print("kadende-agent \(AgentVersion.current)")
        exit(0)
    case "--help", "-h":
        print("usage: kadende-agent [--config PATH]   (default /etc/kadende/agent.yaml)")
        exit(0)
    default:
        print("kadende-agent: unknown argument \(argument)")
        exit(2)
    }
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .info
    return handler
}
let logger = Logger(label: "kadende-agent")

do {
    let settings = try AgentSettings.load(path: configPath)
    let agent = try Agent(settings: settings, logger: logger)
    let group = ServiceGroup(
        configuration: .init(services: [.init(service: agent)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
} catch {
    logger.critical("kadende-agent cannot run", metadata: ["error": "\(error)"])
    exit(1)
}
