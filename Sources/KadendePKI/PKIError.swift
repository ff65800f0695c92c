/// Why a certificate, key or CSR was refused. Codes are matched by callers; messages are for people.
public struct PKIError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unreadable
        case invalidCSR = "invalid_csr"
        case subjectMismatch = "subject_mismatch"
        case pinMismatch = "pin_mismatch"
        case untrusted
        case expired
        case wrongUsage = "wrong_usage"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
