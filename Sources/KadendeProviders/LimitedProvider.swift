import KadendeModel
import KadendeSupport

/// Caps the creates and destroys in flight against one provider: a cloud throttles an account that asks for a
/// hundred machines at once, and a plugin's host has only so many cores. Lists and describes are not capped; they
/// are what shows the fleet's state.
public struct LimitedProvider: ClusterScopedProvider {
    let base: any Provider
    let slots: AsyncSemaphore

    public init(_ base: any Provider, concurrentChanges: Int) {
        self.base = base
        self.slots = AsyncSemaphore(max(concurrentChanges, 1))
    }

    private init(base: any Provider, slots: AsyncSemaphore) {
        self.base = base
        self.slots = slots
    }

    public var name: String { base.name }
    public var coordinatorHost: String? { base.coordinatorHost }

    public func scoped(to cluster: String) -> any Provider {
        // One cap per provider, whichever cluster a call serves.
        LimitedProvider(base: (base as? any ClusterScopedProvider)?.scoped(to: cluster) ?? base, slots: slots)
    }

    public func validate(_ spec: GroupSpec) async throws(ProviderError) { try await base.validate(spec) }

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        await slots.wait()
        defer { Task { await slots.signal() } }
        return try await base.create(request)
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        await slots.wait()
        defer { Task { await slots.signal() } }
        try await base.destroy(instanceID: instanceID, reason: reason)
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] { try await base.list(tags: tags) }
    public func describe(instanceID: String) async throws(ProviderError) -> Instance? { try await base.describe(instanceID: instanceID) }
    public func restartAgent(instanceID: String) async throws(ProviderError) -> Bool { try await base.restartAgent(instanceID: instanceID) }

    /// Changes in flight, and changes waiting for a slot (for tests and metrics).
    public func inFlight() async -> (running: Int, waiting: Int) { (await slots.taken, await slots.waiting) }
}
