/// A protocol violation by a peer. The code travels back to the peer in a `Refused` message, so it is stable
/// text; the message is for humans and logs.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: RefusalCode
    public var message: String

    public init(_ code: RefusalCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Reasons a coordinator or agent refuses a peer. Append-only: agents of other versions read these.
public enum RefusalCode: String, Codable, Sendable, Hashable {
    case frameTooLarge = "frame_too_large"
    case malformedFrame = "malformed_frame"
    case unsupportedVersion = "unsupported_version"
    case unknownMessage = "unknown_message"
    case unexpectedMessage = "unexpected_message"
    case clientCertificateRequired = "client_certificate_required"
    case identityMismatch = "identity_mismatch"
    case certificateRevoked = "certificate_revoked"
    case nodeTerminated = "node_terminated"
    case unknownNode = "unknown_node"
    case invalidToken = "invalid_token"
    case tokenExpired = "token_expired"
    case tokenUsed = "token_used"
    case invalidCSR = "invalid_csr"
    case internalError = "internal_error"
    /// A field beyond its bound (`WireLimits`): too long, too many, or a number out of range.
    case limitExceeded = "limit_exceeded"
    /// The peer took too long (a handshake, a first frame, a frame begun and not finished) or the listener is full.
    case timeout = "timeout"
    /// A code this build does not know (from a newer peer).
    case other = "other"

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        self = RefusalCode(rawValue: raw) ?? .other
    }
}
