import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Talks to qemu-guest-agent inside a VM over its virtio-serial socket (QMP-style JSON lines), to run commands in
/// the guest the way an operator would, without a network login.
struct GuestAgent {
    let socketPath: String

    struct Failure: Error, CustomStringConvertible { var description: String }

    struct Result {
        var exitCode: Int
        var output: String
    }

    /// Runs `command` with `sh -c` in the guest and returns its exit code and combined output.
    func run(_ command: String, limit: Duration = .seconds(300)) async throws -> Result {
        let started = try await call("guest-exec", ["path": "/bin/sh", "arg": ["-c", command + " 2>&1"], "capture-output": true])
        guard let pid = (started as? [String: Any])?["pid"] as? Int else { throw Failure(description: "guest-exec gave no pid: \(String(describing: started))") }
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            let status = try await call("guest-exec-status", ["pid": pid]) as? [String: Any] ?? [:]
            if status["exited"] as? Bool == true {
                let out = (status["out-data"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
                return Result(exitCode: status["exitcode"] as? Int ?? -1, output: String(decoding: out, as: UTF8.self))
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw Failure(description: "guest command did not finish: \(command)")
    }

    /// Whether the guest agent answers at all (it starts late in boot, and not while the guest reboots).
    func isUp() async -> Bool {
        (try? await call("guest-ping", [:], timeout: 3)) != nil
    }

    /// One request, after a `guest-sync` that discards whatever an earlier, abandoned exchange left unread.
    func call(_ command: String, _ arguments: [String: Any], timeout: Int = 30) async throws -> Any? {
        var object: [String: Any] = ["execute": command]
        if !arguments.isEmpty { object["arguments"] = arguments }
        let request = try JSONSerialization.data(withJSONObject: object)
        let path = socketPath
        let line = try await Task.detached { try Self.exchange(path: path, request: request, timeout: timeout) }.value
        let reply = try JSONSerialization.jsonObject(with: line) as? [String: Any] ?? [:]
        if let error = reply["error"] { throw Failure(description: "\(command): \(error)") }
        return reply["return"]
    }

    private static func exchange(path: String, request: Data, timeout: Int) throws -> Data {
        let fd = try connect(path, timeout: timeout)
        defer { close(fd) }
        let syncID = Int.random(in: 1..<Int(Int32.max))
        let sync: [String: Any] = ["execute": "guest-sync", "arguments": ["id": syncID]]
        try send(fd, try JSONSerialization.data(withJSONObject: sync))
        while true {
            let reply = try readLine(fd)
            let object = try? JSONSerialization.jsonObject(with: reply)
            if let dict = object as? [String: Any], let value = dict["return"] as? Int, value == syncID { break }
        }
        try send(fd, request)
        return try readLine(fd)
    }

    private static func connect(_ path: String, timeout: Int) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { close(fd); throw Failure(description: "socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { close(fd); throw Failure(description: "connect \(path): errno \(errno)") }
        return fd
    }

    private static func send(_ fd: Int32, _ request: Data) throws {
        var data = request
        data.append(UInt8(ascii: "\n"))
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw Failure(description: "write: \(errno)") }
    }

    private static func readLine(_ fd: Int32) throws -> Data {
        var line = Data()
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            guard n == 1 else { throw Failure(description: "guest agent did not answer (read \(n), errno \(errno))") }
            if byte == UInt8(ascii: "\n") {
                if line.isEmpty { continue }
                break
            }
            // A sync delimiter (0xFF) may precede a reply after a reset of the channel.
            if byte != 0xFF { line.append(byte) }
        }
        return line
    }
}
