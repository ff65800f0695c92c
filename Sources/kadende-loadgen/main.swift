import Foundation
import KadendePKI
import KadendeWire
import Logging

// kadende-loadgen: plays the agents of the simulated provider's machines (`kadende server --simulated-spool`).
//   kadende-loadgen --spool FILE --count N --duration SECONDS [--status FILE] [--handshakes K]
// Reads agent configurations from the spool as the coordinator writes them, runs one simulated agent per line
// (at most --count, at most 20 000), and exits after --duration (at most 1 800 s). Loopback only: every endpoint
// it dials comes from the coordinator's own configuration and must be on 127.0.0.0/8.

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

guard let spool = option("--spool"), let count = option("--count").flatMap(Int.init), let duration = option("--duration").flatMap(Double.init),
      (1...20_000).contains(count), (1...1800).contains(duration) else {
    FileHandle.standardError.write(Data("usage: kadende-loadgen --spool FILE --count 1...20000 --duration 1...1800 [--status FILE] [--handshakes K]\n".utf8))
    exit(2)
}
let statusFile = option("--status")
let handshakes = option("--handshakes").flatMap(Int.init) ?? 64

// Each simulated agent holds one socket; the default soft limit of 1 024 would stop at a thousand.
var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

var logger = Logger(label: "kadende-loadgen")
logger.logLevel = .critical
let stats = Stats()
let gate = Gate(handshakes)
let deadline = Date().addingTimeInterval(duration)

func readSpool(from offset: inout UInt64, into configs: inout [AgentConfig]) {
    guard let handle = FileHandle(forReadingAtPath: spool) else { return }
    defer { try? handle.close() }
    try? handle.seek(toOffset: offset)
    let data = handle.readDataToEndOfFile()
    guard let end = data.lastIndex(of: UInt8(ascii: "\n")) else { return }
    for line in data[..<end].split(separator: UInt8(ascii: "\n")) {
        if let config = try? JSONDecoder().decode(AgentConfig.self, from: Data(line)) { configs.append(config) }
    }
    offset += UInt64(end - data.startIndex + 1)
}

await withTaskGroup(of: Void.self) { group in
    group.addTask {
        while Date() < deadline {
            try? await Task.sleep(for: .seconds(1))
            let line = stats.json
            if let statusFile { try? line.write(toFile: statusFile, atomically: true, encoding: .utf8) }
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
    var offset: UInt64 = 0
    var started = 0
    var configs: [AgentConfig] = []
    while started < count && Date() < deadline {
        readSpool(from: &offset, into: &configs)
        for config in configs.prefix(count - started) {
            let endpoints = config.endpoints.compactMap(Endpoint.init)
            guard let pin = CAPin(config.caPin), !endpoints.isEmpty, endpoints.allSatisfy({ $0.host.hasPrefix("127.") }) else {
                stats.failed(LoadError("\(config.nodeID): an endpoint that is not on loopback"))
                continue
            }
            let agent = SimulatedAgent(config: config, pin: pin, endpoints: endpoints, stats: stats, gate: gate, logger: logger)
            group.addTask {
                await withTaskGroup(of: Void.self) { inner in
                    inner.addTask { await agent.run() }
                    inner.addTask { try? await Task.sleep(for: .seconds(max(0, deadline.timeIntervalSinceNow))) }
                    await inner.next()
                    inner.cancelAll()
                }
            }
            started += 1
        }
        configs = []
        if started < count { try? await Task.sleep(for: .milliseconds(200)) }
    }
    await group.waitForAll()
}
print("done: \(stats.json) last error: \(stats.lastError.withLock { $0 })")
