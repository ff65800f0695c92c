#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes secrets and state so that a crash never leaves a half-written file and no other user can read it:
/// create a temporary file with the final mode, write, fsync, rename over the target.
public enum SecureFile {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var errno: Int32
        public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
        public init(path: String, operation: String, errno: Int32) {
            self.path = path
            self.operation = operation
            self.errno = errno
        }
    }

    /// With `owner`, the file is given to that uid and gid before it takes the target's place.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, owner: (uid: uid_t, gid: gid_t)? = nil) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: directory, operation: "open", errno: errno) }
        defer { close(fd) }
        try write(bytes, in: fd, name, mode: mode, owner: owner, shown: path)
    }

    /// The same inside the directory `directory` (a descriptor): the name is never resolved through anything but
    /// that directory, whatever happens to the path that led to it meanwhile.
    public static func write(_ bytes: [UInt8], in directory: Int32, _ name: String, mode: mode_t = 0o600,
                             owner: (uid: uid_t, gid: gid_t)? = nil, shown: String? = nil) throws {
        let shown = shown ?? name
        let temp = "." + name + ".tmp-\(getpid())"
        unlinkat(directory, temp, 0)  // a leftover of a crash; O_EXCL and O_NOFOLLOW then refuse anything planted in its place
        let fd = openat(directory, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(path: shown, operation: "open", errno: errno) }
        func fail(_ operation: String) -> Failure {
            let e = errno
            close(fd)
            unlinkat(directory, temp, 0)
            return Failure(path: shown, operation: operation, errno: e)
        }
        if let owner, fchown(fd, owner.uid, owner.gid) != 0 { throw fail("chown") }
        // The mode passed to open is filtered by the umask; set it exactly (after chown, which clears setuid bits).
        fchmod(fd, mode)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write")
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw fail("fsync") }
        close(fd)
        guard renameat(directory, temp, directory, name) == 0 else {
            let e = errno
            unlinkat(directory, temp, 0)
            throw Failure(path: shown, operation: "rename", errno: e)
        }
        fsync(directory)
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Reads a whole file, or nil when it does not exist.
    public static func read(_ path: String) throws -> [UInt8]? {
        try read(open(path, O_RDONLY | O_CLOEXEC), shown: path)
    }

    /// Reads `name` in the directory `directory` (a descriptor), never through a symlink.
    public static func read(in directory: Int32, _ name: String) throws -> [UInt8]? {
        try read(openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), shown: name)
    }

    private static func read(_ fd: Int32, shown path: String) throws -> [UInt8]? {
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Failure(path: path, operation: "open", errno: errno)
        }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    public static func readText(_ path: String) throws -> String? {
        try read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Creates a directory (and parents) readable only by its owner.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw Failure(path: current, operation: "mkdir", errno: errno)
            }
        }
    }
}

/// The coordinator's data directory holds the CA key, the secret key, the store (password hashes, revisions with
/// their files and environment, the audit log) and its logs: it is its owner's alone, whoever made it and however.
public enum DataDirectory {
    /// Creates `path` if needed; makes it 0700 and every file directly in it 0600 and every directory 0700 (a store,
    /// its `-wal` and `-shm`, a log a shell redirect created); and sets this process's umask to 077, so what it creates
    /// later is private from the start.
    public static func makePrivate(_ path: String) throws {
        umask(0o077)
        try SecureFile.makeDirectory(path)
        guard chmod(path, 0o700) == 0 else { throw SecureFile.Failure(path: path, operation: "chmod", errno: errno) }
        guard let dir = opendir(path) else { throw SecureFile.Failure(path: path, operation: "opendir", errno: errno) }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != ".." else { continue }
            var info = stat()
            // Never through a symlink: only what is in the directory itself.
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG where info.st_mode & 0o077 != 0: fchmodat(fd, name, 0o600, 0)
            case S_IFDIR where info.st_mode & 0o077 != 0: fchmodat(fd, name, 0o700, 0)
            default: break
            }
        }
    }
}
