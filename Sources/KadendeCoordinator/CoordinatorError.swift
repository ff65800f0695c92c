/// A coordinator that cannot start as configured says which part and why.
public struct CoordinatorError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case artifacts = "agent_artifacts"
        case configuration
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
