import Foundation
import KadendeCoordinator
import Testing

/// The coordinator checks itself before it convicts anyone; time comes from a manual clock.
@Suite struct SelfCheckTests {
    @Test func graceAfterStartThenClockJumpsHoldConvictions() async throws {
        let clock = ManualClock()
        let c = try await InProcessCoordinator(clock: clock, label: "selfcheck") { $0.restartGrace = 15 }
        defer { Task { await c.stop() } }
        let loop = c.coordinator.reconciler
        let started = try await loop.selfCheck([])
        #expect(started?.contains("nobody is convicted before") == true, "\(String(describing: started))")
        clock.advance(by: 16)
        #expect(try await loop.selfCheck([]) == nil, "the grace is over")
        clock.advance(by: 5)
        #expect(try await loop.selfCheck([]) == nil)
        // The coordinator was stopped (SIGSTOP, a suspended VM) for a minute: nobody's silence meanwhile counts.
        clock.advance(by: 60)
        let jumped = try await loop.selfCheck([])
        #expect(jumped?.contains("passed between two passes") == true, "\(String(describing: jumped))")
        clock.advance(by: 16)
        #expect(try await loop.selfCheck([]) == nil)
        // A clock that goes back is as suspect.
        clock.advance(by: -30)
        #expect(try await loop.selfCheck([])?.contains("the clock went back") == true)
    }
}
