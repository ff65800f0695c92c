import KadendeModel
import KadendeProviders
import Prometheus
import Synchronization

/// The coordinator's Prometheus metrics. Events as they happen (convictions, provider calls) are counters and
/// histograms; the fleet's state (nodes, verdicts, rollouts) is gauges set at each scrape from the store and the
/// reconciler, with the series of groups that went away removed, so a dashboard never shows a ghost.
public final class CoordinatorMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Detection latency: seconds between a node's last good signal and its conviction.
    static let detectionBuckets: [Duration] = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600].map { .seconds($0) }
    static let providerBuckets: [Duration] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60].map { .milliseconds(Int($0 * 1000)) }

    private let scraped = Mutex<[String: Gauge]>([:])

    public init() {}

    /// A node convicted by the reconciler; `latency` from its last good signal when it ever had one.
    func convicted(cluster: String, group: String, latency: Duration?) {
        let labels = [("cluster", cluster), ("group", group)]
        registry.makeCounter(descriptor: .init(metricName: "kadende_replacements", unitName: "total",
                                               helpText: "Nodes convicted by the health judge and replaced."), labels: labels).increment()
        if let latency {
            registry.makeDurationHistogram(
                descriptor: .init(metricName: "kadende_detection_latency", unitName: "seconds",
                                  helpText: "From a node's last good signal (a heartbeat while judged healthy) to its conviction."),
                labels: labels, buckets: Self.detectionBuckets).record(latency)
        }
    }

    /// One provider call, timed; `error` is the provider error's code when it failed.
    func providerCall(provider: String, operation: String, duration: Duration, error: String?) {
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "kadende_provider_call_duration", unitName: "seconds", helpText: "Provider calls by provider and operation."),
            labels: [("provider", provider), ("operation", operation)], buckets: Self.providerBuckets).record(duration)
        if let error {
            registry.makeCounter(descriptor: .init(metricName: "kadende_provider_errors", unitName: "total",
                                                   helpText: "Failed provider calls by provider, operation and error code."),
                                 labels: [("provider", provider), ("operation", operation), ("code", error)]).increment()
        }
    }

    /// One scrape's gauges: name, help, and each series' labels and value.
    struct Scrape {
        var series: [(name: String, help: String, labels: [(String, String)], value: Double)] = []
        mutating func add(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Double) {
            series.append((name, help, labels, value))
        }
    }

    /// Sets this scrape's gauges and removes the ones the previous scrape had that this one does not.
    func publish(_ scrape: Scrape) -> String {
        scraped.withLock { previous in
            var current: [String: Gauge] = [:]
            for s in scrape.series {
                let key = s.name + "{" + s.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
                let gauge = previous[key] ?? registry.makeGauge(descriptor: .init(metricName: s.name, unitName: "", helpText: s.help), labels: s.labels)
                gauge.set(s.value)
                current[key] = gauge
            }
            for (key, gauge) in previous where current[key] == nil { registry.unregisterGauge(gauge) }
            previous = current
        }
        return registry.emitToString()
    }
}

/// Times every call of a provider and counts its failures in the coordinator's metrics.
struct MeteredProvider: ClusterScopedProvider {
    let base: any Provider
    let metrics: CoordinatorMetrics

    var name: String { base.name }
    var coordinatorHost: String? { base.coordinatorHost }

    func scoped(to cluster: String) -> any Provider {
        MeteredProvider(base: (base as? any ClusterScopedProvider)?.scoped(to: cluster) ?? base, metrics: metrics)
    }

    private func timed<T>(_ operation: String, _ body: () async throws(ProviderError) -> T) async throws(ProviderError) -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            metrics.providerCall(provider: name, operation: operation, duration: ContinuousClock.now - start, error: nil)
            return value
        } catch {
            metrics.providerCall(provider: name, operation: operation, duration: ContinuousClock.now - start, error: error.code.rawValue)
            throw error
        }
    }

    func validate(_ spec: GroupSpec) async throws(ProviderError) { try await base.validate(spec) }
    func create(_ request: CreateRequest) async throws(ProviderError) -> Instance { try await timed("create") { () async throws(ProviderError) in try await base.create(request) } }
    func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        try await timed("destroy") { () async throws(ProviderError) in try await base.destroy(instanceID: instanceID, reason: reason) }
    }
    func list(tags: [String: String]) async throws(ProviderError) -> [Instance] { try await timed("list") { () async throws(ProviderError) in try await base.list(tags: tags) } }
    func describe(instanceID: String) async throws(ProviderError) -> Instance? {
        try await timed("describe") { () async throws(ProviderError) in try await base.describe(instanceID: instanceID) }
    }
    func restartAgent(instanceID: String) async throws(ProviderError) -> Bool {
        try await timed("restart_agent") { () async throws(ProviderError) in try await base.restartAgent(instanceID: instanceID) }
    }
}
