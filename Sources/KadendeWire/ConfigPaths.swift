/// Where pushed files may go. Both ends check a path by its text (absolute, normalised, under an allowed root,
/// not one of the denied paths); the agent also resolves it on the node, where symlinks live.
public enum ConfigPaths {
    /// Roots an agent writes under unless its configuration names others.
    public static let defaultAllowedRoots = ["/etc", "/opt", "/srv", "/usr/local", "/var/lib"]
    /// Paths no push may write, whatever the roots: the system's credentials and the agent's own identity.
    public static let denied = ["/etc/shadow", "/etc/gshadow", "/etc/passwd", "/etc/group", "/etc/sudoers", "/etc/sudoers.d",
                                "/etc/kadende", "/var/lib/kadende-agent"]
    /// Largest file content a revision may carry; a revision must also fit in one frame.
    public static let maxFileSize = 256 * 1024
    public static let maxFiles = 256

    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// Checks a path's text; returns its components.
    @discardableResult
    public static func check(_ path: String, allowedRoots: [String] = defaultAllowedRoots, denied: [String] = denied) throws(Refusal) -> [Substring] {
        let shown = String(path.prefix(200))
        guard path.hasPrefix("/") else { throw Refusal(message: "\(shown): must be an absolute path") }
        guard !path.utf8.contains(0), path.utf8.count <= 4096 else { throw Refusal(message: "\(shown): not a usable path") }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for component in components {
            if component == ".." { throw Refusal(message: "\(shown): \"..\" is not allowed in a path") }
            if component == "." || component.isEmpty { throw Refusal(message: "\(shown): not a normalised path (\"//\", \"/./\" or a trailing \"/\")") }
        }
        guard allowedRoots.contains(where: { isWithin(path, $0) }) else {
            throw Refusal(message: "\(shown): outside the allowed roots (\(allowedRoots.joined(separator: ", ")))")
        }
        if let root = denied.first(where: { isWithin(path, $0) }) {
            throw Refusal(message: "\(shown): \(root) may not be written by a push")
        }
        return Array(components)
    }

    /// Whether `path` is `root` or below it (component-wise: `/etcetera` is not under `/etc`).
    public static func isWithin(_ path: String, _ root: String) -> Bool {
        if root == "/" { return true }
        return path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}
