import KadendeWire
import KadendeSupport
import Logging
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agent's probes: each runs on its own schedule; the heartbeat takes the results whose status changed since
/// the last one, plus a summary of all. Replacing the set (a new `Welcome`) restarts the schedules and keeps the
/// status of probes whose definition did not change.
public final class ProbeRunner: Sendable {
    private struct State {
        var specs: [ProbeSpec] = []
        var counters: [String: ProbeCounter] = [:]
        var changed: Set<String> = []
        var generation = 0
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let installed: AsyncStream<Void>
    private let installs: AsyncStream<Void>.Continuation

    public init(logger: Logger) {
        self.logger = logger
        (installed, installs) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs the installed set, restarting the schedules whenever another set is installed, until cancelled.
    /// Probes keep running while the coordinator is unreachable: the first heartbeat after a reconnect says how
    /// the node fared meanwhile.
    public func supervise() async {
        var current: Task<Void, Never>?
        for await _ in installed {
            current?.cancel()
            current = Task { await self.run() }
        }
        current?.cancel()
    }

    /// Installs a probe set; returns false when it is the one already running.
    @discardableResult
    public func install(_ specs: [ProbeSpec], now: Date = Date()) -> Bool {
        state.withLock { s in
            guard s.specs != specs else { return false }
            let old = Dictionary(s.specs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var counters: [String: ProbeCounter] = [:]
            for spec in specs {
                if old[spec.name] == spec, let kept = s.counters[spec.name] {
                    counters[spec.name] = kept
                } else {
                    counters[spec.name] = ProbeCounter(rise: spec.rise, fall: spec.fall, start: now)
                    s.changed.insert(spec.name)
                }
            }
            s.changed.formIntersection(counters.keys)
            s.specs = specs
            s.counters = counters
            s.generation += 1
            installs.yield()
            return true
        }
    }

    /// Runs every installed probe on its interval until cancelled or until the set is replaced.
    func run() async {
        let (specs, generation) = state.withLock { ($0.specs, $0.generation) }
        await withTaskGroup(of: Void.self) { group in
            for spec in specs {
                group.addTask { await self.loop(spec, generation: generation) }
            }
        }
    }

    private func loop(_ spec: ProbeSpec, generation: Int) async {
        while !Task.isCancelled, state.withLock({ $0.generation }) == generation {
            let answer = await ProbeExecutor.run(spec.check, timeout: spec.timeout)
            let changed: ProbeResult? = state.withLock { s in
                guard s.generation == generation, var counter = s.counters[spec.name] else { return nil }
                let changed = counter.record(answer.outcome, output: answer.output, at: Date())
                s.counters[spec.name] = counter
                if changed { s.changed.insert(spec.name) }
                return changed ? counter.result(name: spec.name) : nil
            }
            if let changed {
                logger.info("probe changed status", metadata: [
                    "probe": "\(spec.name)", "status": "\(changed.status.rawValue)", "output": "\(answer.output.prefix(200))"])
            }
            try? await Task.sleep(for: .milliseconds(Clamp.milliseconds(spec.interval)))
        }
    }

    /// Results to send with the next heartbeat: every one when `full`, else those that changed since the last
    /// drain; and the summary of all.
    public func drain(full: Bool) -> (results: [ProbeResult], summary: ProbeSummary) {
        state.withLock { s in
            let all = s.counters.map { $0.value.result(name: $0.key) }
            let results = full ? all : all.filter { s.changed.contains($0.name) }
            s.changed.removeAll(keepingCapacity: true)
            return (results.sorted { $0.name < $1.name }, ProbeSummary(all))
        }
    }
}
