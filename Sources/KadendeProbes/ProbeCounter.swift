import KadendeWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One probe's status from its results over time: `fall` failures in a row make it critical, `rise` successes in
/// a row make it pass again, so a probe that fails now and then within its thresholds changes nothing. Exit 1
/// style warnings are shown at once but never count as failures. Pure, so the agent and the coordinator's
/// external prober share it and tests drive it result by result.
public struct ProbeCounter: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable { case success, warning, failure }

    public let rise: Int
    public let fall: Int
    public private(set) var status: ProbeResult.Status = .unknown
    public private(set) var since: Date
    public private(set) var output: String?
    private var successes = 0
    private var failures = 0

    public init(rise: Int, fall: Int, start: Date) {
        self.rise = max(rise, 1)
        self.fall = max(fall, 1)
        self.since = start
    }

    /// Records one result; returns true when the status changed.
    @discardableResult
    public mutating func record(_ outcome: Outcome, output: String?, at now: Date) -> Bool {
        self.output = output
        let next: ProbeResult.Status
        switch outcome {
        case .success:
            successes += 1
            failures = 0
            // The first result of a new probe decides at once; a failing one must prove itself `rise` times.
            next = status == .unknown || status == .warning || successes >= rise ? .passing : status
        case .warning:
            successes = 0
            failures = 0
            next = status == .critical ? .critical : .warning
        case .failure:
            failures += 1
            successes = 0
            next = failures >= fall ? .critical : status
        }
        guard next != status else { return false }
        status = next
        since = now
        return true
    }

    public func result(name: String) -> ProbeResult {
        ProbeResult(name: name, status: status, output: output, since: since)
    }
}
