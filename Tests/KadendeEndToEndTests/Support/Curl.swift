import Foundation

/// The real `curl`, run on a thread of its own. Tests run on the cooperative pool, which has one thread per core;
/// a `curl` blocking one of them while it waits for a coordinator in the same process can leave that coordinator
/// no thread to answer with (two such tests at once did exactly that).
enum Curl {
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: Data) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                    process.arguments = ["--silent", "--show-error", "--max-time", "60"] + arguments
                    let out = Pipe()
                    process.standardOutput = out
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    return (process.terminationStatus, data)
                })
            }
        }
    }

    /// The status code and body of an HTTP request (`-w` appends the code).
    static func http(_ url: String, _ arguments: [String]) async throws -> (status: Int, body: String) {
        let (_, data) = try await run(["-w", "\n%{http_code}"] + arguments + [url])
        let text = String(decoding: data, as: UTF8.self)
        let status = Int(text.split(separator: "\n").last ?? "") ?? 0
        return (status, String(text.dropLast(String(status).count + 1)))
    }
}
