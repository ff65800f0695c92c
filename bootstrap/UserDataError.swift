/// Why user-data could not be made. Raised before any machine exists.
public struct UserDataError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case tooLarge = "user_data_too_large"
        case invalidBootstrap = "invalid_bootstrap"
        case invalidArtifact = "invalid_artifact"
        /// Neither the coordinator nor the group offers an agent for the node to install.
        case noArtifact = "no_agent_artifact"
    }

    public var code: Code
    public var path: String
    public var message: String

    public init(_ code: Code, path: String = "bootstrap", _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(path): \(message)" }
}
