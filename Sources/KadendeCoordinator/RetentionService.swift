import KadendeStore
import Logging
import ServiceLifecycle
import struct Foundation.Date

/// Prunes events, audit entries and spent tokens beyond the retention, a minute after start and every ten minutes
/// after. Every replica runs it: a prune is a plain delete by age and count, the same whoever makes it.
struct RetentionService: Service {
    let store: any Store
    let policy: RetentionPolicy
    let now: @Sendable () -> Date
    let logger: Logger
    var first: Duration = .seconds(60)
    var every: Duration = .seconds(600)

    func run() async throws {
        var wait = first
        while !Task.isCancelled {
            let pause = wait
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            } catch {
                return  // stopping
            }
            wait = every
            do {
                let removed = try await store.prune(policy, now: now())
                if removed != PruneResult() {
                    logger.info("retention pruned the store", metadata: [
                        "events": "\(removed.events)", "audit": "\(removed.audit)", "tokens": "\(removed.tokens)"])
                }
            } catch {
                logger.warning("retention could not prune the store", metadata: ["error": "\(error)"])
            }
        }
    }
}
