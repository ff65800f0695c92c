import Foundation
import KadendeProbes
import KadendeWire
import Testing

@Suite struct ProbeCounterTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func replay(_ outcomes: [ProbeCounter.Outcome], rise: Int = 2, fall: Int = 3) -> [ProbeResult.Status] {
        var counter = ProbeCounter(rise: rise, fall: fall, start: start)
        return outcomes.enumerated().map { i, outcome in
            counter.record(outcome, output: nil, at: start + Double(i))
            return counter.status
        }
    }

    @Test func firstSuccessPassesAtOnce() {
        #expect(replay([.success]) == [.passing])
    }

    @Test func failuresWithinTheThresholdChangeNothing() {
        // Flapping: never three failures in a row.
        let flapping: [ProbeCounter.Outcome] = [.success, .failure, .failure, .success, .failure, .success, .failure, .failure, .success]
        #expect(replay(flapping).allSatisfy { $0 == .passing })
    }

    @Test func fallFailuresInARowMakeItCritical() {
        #expect(replay([.success, .failure, .failure, .failure]) == [.passing, .passing, .passing, .critical])
    }

    @Test func aCriticalProbeNeedsRiseSuccessesToPassAgain() {
        let statuses = replay([.failure, .failure, .failure, .success, .failure, .success, .success])
        #expect(statuses == [.unknown, .unknown, .critical, .critical, .critical, .critical, .passing])
    }

    @Test func warningsShowButDoNotCount() {
        #expect(replay([.success, .warning, .failure, .warning, .failure, .failure]) == [.passing, .warning, .warning, .warning, .warning, .warning])
        #expect(replay([.warning, .success]) == [.warning, .passing])
    }

    @Test func sinceMovesOnlyOnAChange() {
        var counter = ProbeCounter(rise: 1, fall: 1, start: start)
        let first = counter.record(.success, output: "ok", at: start + 1)
        let second = counter.record(.success, output: "ok", at: start + 2)
        #expect(first && !second)
        #expect(counter.since == start + 1)
        let third = counter.record(.failure, output: "exit 2", at: start + 3)
        #expect(third)
        #expect(counter.result(name: "x") == ProbeResult(name: "x", status: .critical, output: "exit 2", since: start + 3))
    }

    @Test func summaryDigestIsOrderFreeAndStatusSensitive() {
        let a = [ProbeResult(name: "a", status: .passing), ProbeResult(name: "b", status: .critical)]
        let b = [ProbeResult(name: "b", status: .critical, output: "other output"), ProbeResult(name: "a", status: .passing)]
        #expect(ProbeSummary(a) == ProbeSummary(b))
        #expect(ProbeSummary(a).critical == 1 && ProbeSummary(a).passing == 1)
        let c = [ProbeResult(name: "a", status: .passing), ProbeResult(name: "b", status: .passing)]
        #expect(ProbeSummary(a).digest != ProbeSummary(c).digest)
    }
}
