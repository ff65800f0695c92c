import KadendeSupport
import KadendeWire
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Runs one check of an agent-side probe once. Commands run on NIO's blocking thread pool, never on the
/// cooperative executor; their output is capped so a chatty probe cannot fill a heartbeat.
public enum ProbeExecutor {
    public static let outputLimit = 512

    public static func run(_ check: ProbeSpec.Check, timeout: Double, now: @Sendable () -> Double = { wallClock() }) async -> NetworkCheck.Answer {
        switch check {
        case .tcp(let host, let port):
            return await NetworkCheck.tcp(host: host, port: port, timeout: timeout)
        case .http(let url, let status):
            return await NetworkCheck.http(url: url, expect: status, timeout: timeout)
        case .exec(let command, let environment, let user, let shell):
            guard let argv = CommandRunner.argv(command, shell: shell, user: user) else {
                return .init(outcome: .failure, output: "no such user: \(user?.prefix(64) ?? "")")
            }
            return await runCommand(argv, environment: environment, timeout: timeout) { outcome in
                switch outcome.exitStatus {
                case 0 where !outcome.timedOut: .success
                case 1 where !outcome.timedOut: .warning
                default: .failure
                }
            }
        case .systemd(let unit):
            return await runCommand(["systemctl", "is-active", "--", unit], environment: [:], timeout: timeout) {
                $0.succeeded ? .success : .failure
            }
        case .file(let path, let maxAge):
            var info = stat()
            guard stat(path, &info) == 0 else {
                return .init(outcome: .failure, output: "\(path): \(String(cString: strerror(errno)))")
            }
            guard let maxAge else { return .init(outcome: .success, output: "\(path) exists") }
            let age = now() - (Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
            let shown = (age * 10).rounded() / 10
            return .init(outcome: age <= maxAge ? .success : .failure,
                         output: "\(path) modified \(shown)s ago" + (age <= maxAge ? "" : " (older than \(maxAge)s)"))
        }
    }

    static func runCommand(_ argv: [String], environment: [String: String], timeout: Double,
                        judge: @escaping @Sendable (CommandOutcome) -> ProbeCounter.Outcome) async -> NetworkCheck.Answer {
        do {
            let outcome = try await CommandRunner.run(argv, environment: environment, timeout: timeout, outputLimit: outputLimit)
            let text = outcome.output.trimmingSuffixWhitespace
            return .init(outcome: judge(outcome), output: text.isEmpty ? "\(outcome)" : "\(outcome): \(text)")
        } catch {
            return .init(outcome: .failure, output: "\(error)")
        }
    }

    public static func wallClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension String {
    public var trimmingSuffixWhitespace: String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

