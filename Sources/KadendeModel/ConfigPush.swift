import KadendeWire
import Foundation

/// What `kadende config push -f FILE` sends: the content of a new revision, which nodes it is for and how it
/// rolls out. The content becomes an immutable numbered revision; target and rollout belong to this push only.
public struct ConfigPush: Codable, Sendable, Hashable {
    public var cluster: String?
    public var group: String?
    /// A line for `config history`.
    public var message: String?
    public var target: ConfigTarget
    public var rollout: RolloutPolicy
    /// Revision number and digests are filled in by the store.
    public var content: ConfigRevision

    public init(cluster: String? = nil, group: String? = nil, message: String? = nil, target: ConfigTarget = ConfigTarget(),
                rollout: RolloutPolicy = RolloutPolicy(), content: ConfigRevision) {
        self.cluster = cluster
        self.group = group
        self.message = message
        self.target = target
        self.rollout = rollout
        self.content = content
    }
}

/// The nodes of a group a rollout is for: all of them, those a label selector matches, or named ones.
public struct ConfigTarget: Codable, Sendable, Hashable {
    public var selector: LabelSelector?
    public var nodes: [String]

    public init(selector: LabelSelector? = nil, nodes: [String] = []) {
        self.selector = selector
        self.nodes = nodes
    }

    public var isWholeGroup: Bool { selector == nil && nodes.isEmpty }

    public func matches(nodeID: String, labels: [String: String]) -> Bool {
        if !nodes.isEmpty && !nodes.contains(nodeID) { return false }
        return selector?.matches(labels) ?? true
    }

    public var description: String {
        if isWholeGroup { return "the whole group" }
        var parts: [String] = []
        if let selector { parts.append("nodes matching \(selector)") }
        if !nodes.isEmpty { parts.append("nodes \(nodes.joined(separator: ", "))") }
        return parts.joined(separator: " among ")
    }
}

/// How a revision reaches the nodes: all at once, or in batches that must each stay healthy for `bake` before
/// the next starts; more than `maxFailures` failed nodes stop the rollout and, with `autoRollback`, put every
/// node it touched back on the last good revision.
public struct RolloutPolicy: Codable, Sendable, Hashable {
    public enum Strategy: String, Codable, Sendable, CaseIterable {
        case rolling
        case allAtOnce = "all-at-once"
    }

    /// A count of nodes or a percentage of the targeted nodes (rounded up, at least 1).
    public enum Amount: Codable, Sendable, Hashable, CustomStringConvertible {
        case count(Int)
        case percent(Double)

        public func resolve(of total: Int) -> Int {
            switch self {
            case .count(let n): return n
            case .percent(let p): return max(1, Int((Double(total) * p / 100).rounded(.up)))
            }
        }

        public var description: String {
            switch self {
            case .count(let n): "\(n)"
            case .percent(let p): "\(p == p.rounded() && abs(p) < 1e15 ? "\(Int(p))" : "\(p)")%"
            }
        }
    }

    public var strategy: Strategy
    public var batch: Amount
    /// Nodes of the target that may be unavailable at once (being changed, or not healthy).
    public var maxUnavailable: Amount
    public var pause: Seconds
    public var bake: Seconds
    public var maxFailures: Int
    /// How long a node may take to acknowledge before it counts as failed.
    public var applyTimeout: Seconds
    public var autoRollback: Bool

    public init(strategy: Strategy = .rolling, batch: Amount = .percent(25), maxUnavailable: Amount = .percent(25),
                pause: Seconds = Seconds(0), bake: Seconds = Seconds(10), maxFailures: Int = 0,
                applyTimeout: Seconds = Seconds(300), autoRollback: Bool = true) {
        self.strategy = strategy
        self.batch = batch
        self.maxUnavailable = maxUnavailable
        self.pause = pause
        self.bake = bake
        self.maxFailures = maxFailures
        self.applyTimeout = applyTimeout
        self.autoRollback = autoRollback
    }
}

/// `role=web,zone!=b,canary,!draining`: every term must hold.
public struct LabelSelector: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Term: Codable, Sendable, Hashable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case absent(String)
    }

    public var terms: [Term]

    public init(terms: [Term]) { self.terms = terms }

    /// Parses the text form; nil with a reason when it is not one.
    public static func parse(_ text: String) -> Result<LabelSelector, SpecError> {
        var terms: [Term] = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let part = raw.trimmingCharacters(in: .whitespaces)
            let term: Term
            if let range = part.range(of: "!=") {
                term = .notEquals(String(part[..<range.lowerBound]), String(part[range.upperBound...]))
            } else if let eq = part.firstIndex(of: "=") {
                term = .equals(String(part[..<eq]), String(part[part.index(after: eq)...]))
            } else if part.hasPrefix("!") {
                term = .absent(String(part.dropFirst()))
            } else {
                term = .exists(part)
            }
            guard term.key.isLabelKey, term.value.map(\.isLabelValue) ?? true else {
                return .failure(SpecError(.badValue, path: "target.selector",
                                          "\"\(part.prefix(80))\" is not a selector term (key=value, key!=value, key or !key; keys and values letters, digits, '.', '-', '_', '/')"))
            }
            terms.append(term)
        }
        return .success(LabelSelector(terms: terms))
    }

    public func matches(_ labels: [String: String]) -> Bool {
        terms.allSatisfy { term in
            switch term {
            case .equals(let k, let v): labels[k] == v
            case .notEquals(let k, let v): labels[k] != v
            case .exists(let k): labels[k] != nil
            case .absent(let k): labels[k] == nil
            }
        }
    }

    public var description: String {
        terms.map { term in
            switch term {
            case .equals(let k, let v): "\(k)=\(v)"
            case .notEquals(let k, let v): "\(k)!=\(v)"
            case .exists(let k): k
            case .absent(let k): "!\(k)"
            }
        }.joined(separator: ",")
    }
}

extension LabelSelector.Term {
    var key: String {
        switch self {
        case .equals(let k, _), .notEquals(let k, _), .exists(let k), .absent(let k): k
        }
    }

    var value: String? {
        switch self {
        case .equals(_, let v), .notEquals(_, let v): v
        case .exists, .absent: nil
        }
    }
}

extension String {
    /// Label keys: 1–63 characters of letters, digits, '.', '-', '_', '/'.
    public var isLabelKey: Bool {
        (1...63).contains(count) && allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-/".contains($0)) }
    }

    /// Label values: the same characters, possibly empty.
    public var isLabelValue: Bool {
        count <= 63 && allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-/".contains($0)) }
    }
}

