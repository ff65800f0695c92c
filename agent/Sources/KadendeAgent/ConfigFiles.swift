import KadendeProbes
import KadendeSupport
import KadendeWire
#if canImport(Glibc)
import Glibc
#endif

/// Places pushed files on the node. A path is checked twice: by its text (`ConfigPaths`), then on disk, where the
/// existing part of it is resolved through any symlinks and must still lie under an allowed root. Targets that
/// are symlinks, directories or devices are refused. Writes go through a temporary file and a rename.
struct ConfigFiles: Sendable {
    /// Absolute directory that revision paths are relative to ("/" on a real machine).
    let root: String
    let allowedRoots: [String]

    struct Placement: Sendable {
        /// Where the file goes once every existing directory on the way is resolved.
        var resolved: String
        var uid: uid_t?
        var gid: gid_t?
    }

    /// Everything that can be known before writing: the path's text and what is on disk, the owner and group.
    func check(_ file: ConfigFile) throws(ConfigPaths.Refusal) -> Placement {
        try ConfigPaths.check(file.path, allowedRoots: allowedRoots)
        guard file.mode >= 0, file.mode <= 0o7777 else { throw ConfigPaths.Refusal(message: "\(file.path): mode \(file.mode) is not a file mode") }
        let realRoot = try resolvedRoot()
        let physical = root == "/" ? file.path : root + file.path
        // The deepest directory on the way that exists, resolved; the rest will be created as real directories.
        var existing = physical
        var rest: [Substring] = []
        repeat {
            let parent = Self.parent(of: existing)
            let slash = existing.lastIndex(of: "/") ?? existing.startIndex
            rest.insert(existing[existing.index(after: slash)...], at: 0)
            existing = parent
        } while !Self.exists(existing) && existing != "/"
        guard let realExisting = Self.realpath(existing) else {
            throw ConfigPaths.Refusal(message: "\(file.path): cannot resolve \(existing)")
        }
        let resolved = (realExisting == "/" ? "" : realExisting) + "/" + rest.joined(separator: "/")
        let logical = realRoot == "/" ? resolved : (ConfigPaths.isWithin(resolved, realRoot) ? String(resolved.dropFirst(realRoot.count)) : "")
        guard !logical.isEmpty, allowedRoots.contains(where: { ConfigPaths.isWithin(logical, $0) }),
              !ConfigPaths.denied.contains(where: { ConfigPaths.isWithin(logical, $0) }) else {
            throw ConfigPaths.Refusal(message: "\(file.path): resolves through a symlink to \(resolved.prefix(200)), outside the allowed roots")
        }
        var info = stat()
        if lstat(resolved, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFLNK: throw ConfigPaths.Refusal(message: "\(file.path): is a symlink; a push replaces regular files only")
            case S_IFDIR: throw ConfigPaths.Refusal(message: "\(file.path): is a directory")
            default: throw ConfigPaths.Refusal(message: "\(file.path): is a device, pipe or socket")
            }
        }
        var placement = Placement(resolved: resolved)
        if let owner = file.owner {
            guard let account = Account(owner) else { throw ConfigPaths.Refusal(message: "\(file.path): owner \(owner.prefix(64)) does not exist on this node") }
            placement.uid = account.uid
            placement.gid = account.gid
        }
        if let group = file.group {
            guard let gid = Self.groupID(group) else { throw ConfigPaths.Refusal(message: "\(file.path): group \(group.prefix(64)) does not exist on this node") }
            placement.gid = gid
            if placement.uid == nil { placement.uid = getuid() }
        }
        return placement
    }

    /// Writes `bytes` unless the file already holds them with the same mode and owner. Returns whether it wrote.
    func place(_ bytes: [UInt8], mode: Int, at placement: Placement) throws -> Bool {
        var info = stat()
        if lstat(placement.resolved, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_mode & 0o7777) == mode,
           placement.uid.map({ $0 == info.st_uid }) ?? true, placement.gid.map({ $0 == info.st_gid }) ?? true,
           Int(info.st_size) == bytes.count, (try? SecureFile.read(placement.resolved)) == bytes {
            return false
        }
        try Self.makeParents(of: placement.resolved)
        let owner = placement.uid.map { (uid: $0, gid: placement.gid ?? getgid()) }
        try SecureFile.write(bytes, to: placement.resolved, mode: mode_t(mode), owner: owner)
        return true
    }

    private func resolvedRoot() throws(ConfigPaths.Refusal) -> String {
        if !Self.exists(root) { try? SecureFile.makeDirectory(root, mode: 0o755) }
        guard let real = Self.realpath(root) else { throw ConfigPaths.Refusal(message: "files root \(root) does not exist") }
        return real
    }

    static func makeParents(of path: String) throws {
        let parent = parent(of: path)
        guard !exists(parent) else { return }
        try makeParents(of: parent)
        if mkdir(parent, 0o755) != 0 && errno != EEXIST {
            throw SecureFile.Failure(path: parent, operation: "mkdir", errno: errno)
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func realpath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func groupID(_ name: String) -> gid_t? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}
