import Foundation
import KadendeModel
@testable import KadendeProviders
import KadendeWire
import Testing

/// The per-provider cap on creates and destroys. The provider behind it is a test double whose creates wait on a
/// gate the test opens: what is checked is the cap, which no real provider here can hold mid-call on command.
@Suite struct LimitedProviderTests {
    actor Gate {
        var entered = 0
        var open = 0
        private var waiters: [CheckedContinuation<Void, Never>] = []
        func enter() async {
            entered += 1
            if open > 0 { open -= 1; return }
            await withCheckedContinuation { waiters.append($0) }
        }
        func release(_ n: Int) {
            for _ in 0..<n {
                if waiters.isEmpty { open += 1 } else { waiters.removeFirst().resume() }
            }
        }
    }

    struct GatedProvider: Provider {
        let name = "gated"
        let gate: Gate
        func validate(_ spec: GroupSpec) throws(ProviderError) {}
        func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
            await gate.enter()
            return Instance(id: "i-\(request.nodeID)", tags: request.tags, status: .pending, address: nil, launchedAt: Date())
        }
        func destroy(instanceID: String, reason: String) async throws(ProviderError) { await gate.enter() }
        func list(tags: [String: String]) async throws(ProviderError) -> [Instance] { [] }
        func describe(instanceID: String) async throws(ProviderError) -> Instance? { nil }
    }

    @Test func noMoreChangesInFlightThanTheCap() async throws {
        let gate = Gate()
        let limited = LimitedProvider(GatedProvider(gate: gate), concurrentChanges: 3)
        let creates = Task {
            try await withThrowingTaskGroup(of: Instance.self) { group in
                for i in 0..<8 {
                    group.addTask { try await limited.create(PluginProviderTests.request(String(format: "n-%016x", i + 1))) }
                }
                group.addTask {
                    try await limited.destroy(instanceID: "i-x", reason: "test")
                    return Instance(id: "destroyed", tags: [:], status: .terminated, address: nil, launchedAt: Date())
                }
                return try await group.reduce(into: 0) { n, _ in n += 1 }
            }
        }
        // Three calls reach the provider; the other six wait on the cap, not on luck.
        try await until { let entered = await gate.entered; let now = await limited.inFlight(); return entered == 3 && now == (3, 6) }
        await gate.release(1)
        try await until { let entered = await gate.entered; let now = await limited.inFlight(); return entered == 4 && now == (3, 5) }
        await gate.release(8)
        #expect(try await creates.value == 9)
        #expect(await gate.entered == 9)
        let after = await limited.inFlight()
        #expect(after == (0, 0))
    }

    @Test func scopingKeepsOneCapPerProvider() async throws {
        let gate = Gate()
        let limited = LimitedProvider(GatedProvider(gate: gate), concurrentChanges: 1)
        let a = limited.scoped(to: "a")
        let b = limited.scoped(to: "b")
        let first = Task { try await a.create(PluginProviderTests.request("n-00000000000000a1")) }
        let second = Task { try await b.create(PluginProviderTests.request("n-00000000000000b1")) }
        try await until { let entered = await gate.entered; let now = await limited.inFlight(); return entered == 1 && now == (1, 1) }
        await gate.release(2)
        _ = try await first.value
        _ = try await second.value
    }

    /// Polls a condition that the system must reach; the limit bounds a broken run only.
    func until(_ condition: () async -> Bool) async throws {
        for _ in 0..<2_000 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("condition never held")
    }
}
