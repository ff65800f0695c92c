import Foundation
import KadendeProbes
import KadendeSupport
import KadendeWire
import NIOCore
import NIOPosix
import Testing

/// Checks run for real: commands through posix_spawn, TCP and HTTP against listeners on 127.0.0.1.
@Suite struct ProbeExecutorTests {
    func exec(_ command: [String], env: [String: String] = [:], shell: Bool = false, timeout: Double = 5) async -> NetworkCheck.Answer {
        await ProbeExecutor.run(.exec(command: command, environment: env, user: nil, shell: shell), timeout: timeout)
    }

    @Test func exitCodesMapToOutcomes() async {
        #expect(await exec(["/bin/true"]).outcome == .success)
        #expect(await exec(["/bin/sh", "-c", "exit 1"]).outcome == .warning)
        let failed = await exec(["/bin/sh", "-c", "echo disk full >&2; exit 2"])
        #expect(failed.outcome == .failure)
        #expect(failed.output == "exit 2: disk full")
    }

    @Test func noShellUnlessAsked() async {
        // Without a shell the metacharacters are one literal argument to echo.
        let literal = await exec(["echo", "$HOME;", "x"])
        #expect(literal.output == "exit 0: $HOME; x")
        let shell = await exec(["echo $((2+3))"], shell: true)
        #expect(shell.output == "exit 0: 5")
    }

    @Test func environmentIsTheDeclaredOneOnTopOfAMinimalPath() async {
        let answer = await exec(["/bin/sh", "-c", "echo $KADENDE_TEST:$PATH:${HOME:-none}"], env: ["KADENDE_TEST": "yes"])
        #expect(answer.output == "exit 0: yes:\(Spawn.defaultPath):none")
    }

    @Test func aCommandPastItsTimeoutIsKilledWithItsChildren() async throws {
        let dir = NSTemporaryDirectory() + "kadende-probe-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The child writes its pid, then outlives the timeout unless the whole group is killed.
        let answer = await exec(["/bin/sh", "-c", "sleep 30 & echo $! > \(dir)/child; wait"], timeout: 0.5)
        #expect(answer.outcome == .failure)
        #expect(answer.output.hasPrefix("timed out"))
        let child = try #require(Int32(String(contentsOfFile: dir + "/child", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        var gone = false
        for _ in 0..<500 where !gone {  // bounded: the kill was sent before run returned; reaping may lag a little
            gone = kill(child, 0) != 0 || (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8))?.contains(") Z ") == true
            if !gone { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(gone, "the probe's child was killed with it")
    }

    @Test(.enabled(if: getuid() == 0)) func aProbeRunsAsTheUserItNames() async {
        let answer = await ProbeExecutor.run(.exec(command: ["/bin/sh", "-c", "id -un; id -u"], environment: [:], user: "nobody", shell: false), timeout: 5)
        #expect(answer.outcome == .success, "\(answer.output)")
        #expect(answer.output == "exit 0: nobody\n65534", "\(answer.output)")
        let unknown = await ProbeExecutor.run(.exec(command: ["/bin/true"], environment: [:], user: "no-such-user-here", shell: false), timeout: 5)
        #expect(unknown.outcome == .failure && unknown.output == "no such user: no-such-user-here")
    }

    @Test func outputIsCapped() async {
        let answer = await exec(["/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\\\0' a"])
        #expect(answer.outcome == .success)
        #expect(answer.output.count <= ProbeExecutor.outputLimit + 20)
    }

    @Test func aMissingCommandIsAFailureWithItsName() async {
        let answer = await exec(["/nonexistent/probe"])
        #expect(answer.outcome == .failure)
        #expect(answer.output.contains("/nonexistent/probe"))
    }

    @Test func fileProbeChecksExistenceAndAge() async throws {
        let path = NSTemporaryDirectory() + "kadende-beat-\(UUID().uuidString.prefix(8))"
        #expect(await ProbeExecutor.run(.file(path: path, maxAge: nil), timeout: 1).outcome == .failure)
        FileManager.default.createFile(atPath: path, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(await ProbeExecutor.run(.file(path: path, maxAge: 60), timeout: 1).outcome == .success)
        let old = Date().addingTimeInterval(-120)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        let stale = await ProbeExecutor.run(.file(path: path, maxAge: 60), timeout: 1)
        #expect(stale.outcome == .failure)
        #expect(stale.output.contains("older than 60"))
    }

    @Test func tcpProbeConnectsOrSaysWhy() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        #expect(await ProbeExecutor.run(.tcp(host: "127.0.0.1", port: port), timeout: 1).outcome == .success)
        try await server.close()
        let refused = await ProbeExecutor.run(.tcp(host: "127.0.0.1", port: port), timeout: 1)
        #expect(refused.outcome == .failure)
        #expect(refused.output.contains("127.0.0.1:\(port)"))
    }

    @Test func httpProbeReadsTheStatusLine() async throws {
        let (port, close) = try await TinyHTTPServer.start(responses: ["/ok": "HTTP/1.1 200 OK", "/down": "HTTP/1.1 503 Service Unavailable"])
        defer { close() }
        #expect(await ProbeExecutor.run(.http(url: "http://127.0.0.1:\(port)/ok", status: nil), timeout: 1).outcome == .success)
        #expect(await ProbeExecutor.run(.http(url: "http://127.0.0.1:\(port)/ok", status: 204), timeout: 1).outcome == .failure)
        let down = await ProbeExecutor.run(.http(url: "http://127.0.0.1:\(port)/down", status: nil), timeout: 1)
        #expect(down.outcome == .failure)
        #expect(down.output.contains("HTTP 503"))
        let silent = await ProbeExecutor.run(.http(url: "http://127.0.0.1:\(port)/silent", status: nil), timeout: 0.3)
        #expect(silent.outcome == .failure)
        #expect(silent.output.contains("timed out"))
        #expect(await ProbeExecutor.run(.http(url: "https://127.0.0.1/", status: nil), timeout: 1).output.contains("not an http:// URL"))
    }
}

/// Answers each request with the status line mapped to its path; unknown paths get no answer at all.
enum TinyHTTPServer {
    static func start(responses: [String: String]) async throws -> (port: Int, close: @Sendable () -> Void) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Responder(responses: responses)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        return (port, { channel.close(promise: nil) })
    }

    final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let responses: [String: String]
        init(responses: [String: String]) { self.responses = responses }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data))
            let path = text.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            guard let line = responses[path] else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "\(line)\r\nContent-Length: 0\r\n\r\n")), promise: nil)
        }
    }
}
