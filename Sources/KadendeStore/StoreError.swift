import KadendeModel

/// Errors the store reports to its callers, matched by code. Database failures are wrapped with the operation.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound = "not_found"
        case illegalTransition = "illegal_transition"
        case conflict
        case invalidToken = "invalid_token"
        case tokenExpired = "token_expired"
        case tokenUsed = "token_used"
        case database
        /// A write under a group lease that is no longer held (see `Fence`).
        case fenced
        /// A certificate the store does not know for that node, or one it revoked.
        case revoked
        /// The node is being terminated or is gone.
        case nodeFinished = "node_finished"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension StoreError {
    /// What every store says of a cluster nobody created.
    public static func noSuchCluster(_ name: String) -> StoreError {
        StoreError(.notFound, "cluster \(name) does not exist (an admin creates it: kadende cluster create \(name))")
    }
}
