#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import KadendeAgent
import Logging
import NIOCore

// kadende-agent [--config /etc/kadende/agent.yaml]
// Argument parsing and signal handling are by hand: every library the agent links ships to every node.
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

// One connection needs one event loop, and the agent does no blocking I/O on NIO's pool: fewer threads, less memory.
NIOSingletons.groupLoopCountSuggestion = 1
NIOSingletons.blockingPoolThreadCountSuggestion = 1

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .info
    return handler
}
let logger = Logger(label: "kadende-agent")

do {
    let agent = try Agent(settings: try AgentSettings.load(path: configPath), logger: logger)
    let running = Task { try await agent.run() }
    // SIGTERM (systemd, the process provider) and SIGINT stop the agent by cancelling its task.
    var sources: [any DispatchSourceSignal] = []
    for number in [SIGTERM, SIGINT] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { @Sendable in running.cancel() }  // @Sendable: runs on a dispatch queue, not the main actor
        source.resume()
        sources.append(source)
    }
    try await running.value
    withExtendedLifetime(sources) {}
} catch {
    logger.critical("kadende-agent cannot run", metadata: ["error": "\(error)"])
    exit(1)
}
