@testable import KadendeAgent
import KadendeWire
import Testing

/// A deterministic generator so backoff bounds are checked without randomness deciding the outcome.
struct CountingRNG: RandomNumberGenerator {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
}

@Suite struct AgentUnitTests {
    @Test func backoffGrowsToItsCapWithJitter() {
        var backoff = Backoff(base: 0.5, cap: 10)
        var rng = CountingRNG()
        var ceilings: [Double] = []
        for _ in 0..<8 {
            ceilings.append(backoff.ceiling)
            let delay = backoff.next(using: &rng)
            #expect(delay >= 0 && delay <= ceilings.last!)
        }
        #expect(ceilings == [0.5, 1, 2, 4, 8, 10, 10, 10])
        backoff.reset()
        #expect(backoff.ceiling == 0.5)
    }

    @Test func jitterSpreadsAgents() {
        var rng = CountingRNG()
        let delays = (0..<100).map { _ in
            var b = Backoff(base: 0.5, cap: 10)
            for _ in 0..<5 { _ = b.next(using: &rng) }
            return b.next(using: &rng)
        }
        #expect(Set(delays).count > 90)
    }

    @Test(arguments: [("127.0.0.1:7443", "127.0.0.1", 7443, true), ("coordinator.example:443", "coordinator.example", 443, false), ("[::1]:7443", "::1", 7443, true)])
    func endpoints(text: String, host: String, port: Int, isIP: Bool) throws {
        let endpoint = try #require(Endpoint(text))
        #expect(endpoint.host == host && endpoint.port == port && endpoint.isIPAddress == isIP)
    }

    @Test(arguments: ["127.0.0.1", "host:0", "host:99999", ":80", "[::1]"])
    func badEndpoints(text: String) {
        #expect(Endpoint(text) == nil)
    }

    @Test func settingsAreCheckedBeforeDialling() {
        let pin = "sha256:" + String(repeating: "ab", count: 32)
        #expect(throws: AgentSettings.Invalid.self) {
            try AgentSettings(config: AgentConfig(nodeID: "web-1", endpoints: ["127.0.0.1:1"], caPin: pin, token: "t"))
        }
        #expect(throws: AgentSettings.Invalid.self) {
            try AgentSettings(config: AgentConfig(nodeID: "n-0123456789abcdef", endpoints: [], caPin: pin, token: "t"))
        }
        #expect(throws: AgentSettings.Invalid.self) {
            try AgentSettings(config: AgentConfig(nodeID: "n-0123456789abcdef", endpoints: ["127.0.0.1:1"], caPin: "abc", token: "t"))
        }
        #expect(throws: Never.self) {
            try AgentSettings(config: AgentConfig(nodeID: "n-0123456789abcdef", endpoints: ["127.0.0.1:1"], caPin: pin, token: "t"))
        }
    }
}
