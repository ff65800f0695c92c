import Foundation
import Testing

/// The agent binary as systemd and the process provider run it.
@Suite struct AgentProcessTests {
    func run(config: String, signal: Bool) throws -> (status: Int32, reason: Process.TerminationReason, log: String) {
        let dir = try Paths.temporaryDirectory("agent")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try config.replacingOccurrences(of: "DATADIR", with: dir + "/data").write(toFile: dir + "/agent.yaml", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.agent)
        process.arguments = ["--config", dir + "/agent.yaml"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        if signal {
            // Wait until it is working (its first connection attempt is logged), then ask it to stop.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("reconnecting") {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
            }
            process.terminate()
            process.waitUntilExit()
            return (process.terminationStatus, process.terminationReason, String(decoding: seen, as: UTF8.self))
        }
        let log = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason, String(decoding: log, as: UTF8.self))
    }

    static let pin = "sha256:" + String(repeating: "ab", count: 32)

    @Test func stopsCleanlyOnSIGTERM() throws {
        // Port 1 refuses: the agent keeps retrying until told to stop.
        let result = try run(config: "nodeID: n-0123456789abcdef\nendpoints: [127.0.0.1:1]\ncaPin: \(Self.pin)\ntoken: kdt_x\ndataDir: DATADIR\n", signal: true)
        #expect(result.reason == .exit && result.status == 0, "agent must exit on SIGTERM, not crash: \(result)")
    }

    @Test func badConfigIsAClearErrorAndExitCode() throws {
        let result = try run(config: "nodeID: n-0123456789abcdef\nendpoint: [127.0.0.1:1]\n", signal: false)
        #expect(result.reason == .exit && result.status == 1)
        #expect(result.log.contains("unknown key \"endpoint\""), "\(result.log)")
    }
}
