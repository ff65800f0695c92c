#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A health check the agent runs on its node, as the group declares it. The coordinator sends the group's set in
/// `Welcome`, so a probe change reaches every node on its next connection without a new agent.
public struct ProbeSpec: Codable, Sendable, Hashable {
    public enum Check: Codable, Sendable, Hashable {
        /// Runs `command[0]` with the rest as arguments, no shell unless `shell` (then `command[0]` is a script
        /// for `/bin/sh -c`). Exit 0 passes, 1 warns, anything else (or a timeout) is critical, as Nagios and
        /// Consul read exit codes.
        case exec(command: [String], environment: [String: String], user: String?, shell: Bool)
        /// GET on the node itself; `status` is the one expected (any 2xx when nil).
        case http(url: String, status: Int?)
        /// A TCP connect to `host:port` (127.0.0.1 when no host is named).
        case tcp(host: String, port: Int)
        /// `systemctl is-active UNIT` says active.
        case systemd(unit: String)
        /// The file exists and, with `maxAge`, was modified within that many seconds (a heartbeat file a
        /// worker touches).
        case file(path: String, maxAge: Double?)
    }

    public var name: String
    public var check: Check
    public var interval: Double
    public var timeout: Double
    /// Consecutive successes before a failing probe passes again.
    public var rise: Int
    /// Consecutive failures before a passing probe turns critical.
    public var fall: Int

    public init(name: String, check: Check, interval: Double = 5, timeout: Double = 2, rise: Int = 1, fall: Int = 3) {
        self.name = name
        self.check = check
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
    }

    public var kind: String {
        switch check {
        case .exec: "exec"
        case .http: "http"
        case .tcp: "tcp"
        case .systemd: "systemd"
        case .file: "file"
        }
    }
}

/// How many of a node's probes are in each state, and a digest of every (name, status) pair: the coordinator
/// compares it with what it rebuilt from the changes it received and asks for the full set when they differ.
public struct ProbeSummary: Codable, Sendable, Hashable {
    public var passing: Int
    public var warning: Int
    public var critical: Int
    public var unknown: Int
    public var digest: UInt64

    public init(passing: Int = 0, warning: Int = 0, critical: Int = 0, unknown: Int = 0, digest: UInt64 = 0) {
        self.passing = passing
        self.warning = warning
        self.critical = critical
        self.unknown = unknown
        self.digest = digest
    }

    public init(_ results: some Collection<ProbeResult>) {
        self.init()
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for result in results.sorted(by: { $0.name < $1.name }) {
            switch result.status {
            case .passing: passing += 1
            case .warning: warning += 1
            case .critical: critical += 1
            case .unknown: unknown += 1
            }
            // FNV-1a over "name=status;": stable across processes, unlike Hasher.
            for byte in "\(result.name)=\(result.status.rawValue);".utf8 {
                digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        self.digest = digest
    }
}
