import FerryCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The manifest root on disk. Resolves symlinks so nothing outside the root can be named as a source.
public struct FileSystemSourceTree: SourceTree {
    /// Absolute, symlink-free path of the root.
    public let root: String
    /// Symlink-free paths of directories already resolved (a FileSet of 10,000 files lives in a few folders).
    private let resolvedDirectories = DirectoryCache()
    /// Set by `walkingOnce()`.
    private var walks: WalkCache?

    /// - Throws: when the root does not exist or is not a directory.
    public init(root: String) throws {
        guard let resolved = Self.realPath(root) else {
            throw EngineError(.invalidRoot, "manifest root \(root) does not exist")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EngineError(.invalidRoot, "manifest root \(root) is not a directory")
        }
        self.root = resolved
    }

    public func absolutePath(_ relativePath: String) -> String {
        relativePath.isEmpty ? root : root + "/" + relativePath
    }

    public func inspect(_ relativePath: String) -> SourceInspection {
        let path = absolutePath(relativePath)
        var info = stat()
        guard lstat(path, &info) == 0 else {
            return errno == ENOENT || errno == ENOTDIR ? .missing : .unreadable(reason: String(cString: strerror(errno)))
        }
        // Resolve every symlink on the way (in the path's directories too) and require the result inside the root.
        // A regular file (not a symlink) resolves to its resolved directory plus its name; each directory is resolved
        // once.
        let resolved: String
        if (info.st_mode & S_IFMT) == S_IFREG, let slash = relativePath.utf8.lastIndex(of: UInt8(ascii: "/")),
            RelativePath.isNormal(relativePath)
        {
            let directory = String(relativePath[..<slash])
            guard let resolvedDirectory = resolvedDirectories.resolve(directory, { Self.realPath(absolutePath(directory)) })
            else { return .missing }
            resolved = resolvedDirectory + "/" + relativePath[relativePath.utf8.index(after: slash)...]
        } else {
            guard let real = Self.realPath(path) else { return .missing }
            resolved = real
            guard stat(resolved, &info) == 0 else { return .missing }
        }
        guard isInsideRoot(resolved) else { return .escapesRoot(resolved: resolved) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .notRegularFile }
        guard Self.readable(info) || access(resolved, R_OK) == 0 else { return .unreadable(reason: "permission denied") }
        return .file(bytes: Int64(info.st_size))
    }

    /// Whether an absolute, symlink-free path is the root or below it (compared as bytes, without making
    /// `root + "/"` for each source).
    func isInsideRoot(_ path: String) -> Bool {
        path.utf8.starts(with: root.utf8)
            && (path.utf8.count == root.utf8.count || path.utf8.dropFirst(root.utf8.count).first == UInt8(ascii: "/"))
    }

    /// Whether a file is readable by this process from its stat alone, without an `access` call per source: always
    /// for root (as `access` answers), and for the file's owner exactly when the owner may read it (the owner's bits
    /// are the only ones that apply to the owner, ACLs included). Otherwise `access` decides.
    static func readable(_ info: stat) -> Bool {
        let user = geteuid()
        return user == 0 || (info.st_uid == user && info.st_mode & S_IRUSR != 0)
    }

    public func files(under directory: String) -> [String] {
        if let walks {
            return walks.files(under: directory) { self.walkSorted($0) }
        }
        return walkSorted(directory).files
    }

    /// The files under `directory`, sorted, and the folders the walk entered.
    private func walkSorted(_ directory: String) -> (files: [String], folders: Set<String>) {
        var result: [String] = []
        var folders: Set<String> = [directory]
        walk(directory, into: &result, folders: &folders, depth: 0)
        return (result.sorted(), folders)
    }

    /// A copy that walks each folder once: later `files(under:)` calls for the same folder or one below a folder
    /// already walked are answered from that walk. For one validation (manifest discovery, then every FileSet glob),
    /// not for a tree kept across passes.
    public func walkingOnce() -> FileSystemSourceTree {
        var copy = self
        copy.walks = WalkCache()
        return copy
    }

    /// Reads directories with `readdir`, whose entries carry their type: no `lstat` per file (`inspect` checks the
    /// sources that match).
    private func walk(_ relative: String, into result: inout [String], folders: inout Set<String>, depth: Int) {
        guard depth < 64, let directory = opendir(absolutePath(relative)) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard !name.hasPrefix(".") else { continue }
            let child = relative.isEmpty ? name : relative + "/" + name
            var type = Int32(entry.pointee.d_type)
            if type == Int32(DT_UNKNOWN) {
                // File systems that do not fill in the type: ask.
                var info = stat()
                guard lstat(absolutePath(child), &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: type = Int32(DT_DIR)
                case S_IFREG: type = Int32(DT_REG)
                case S_IFLNK: type = Int32(DT_LNK)
                default: continue
                }
            }
            switch type {
            case Int32(DT_DIR):
                folders.insert(child)
                walk(child, into: &result, folders: &folders, depth: depth + 1)
            case Int32(DT_REG), Int32(DT_LNK): result.append(child)  // symlinks are checked by inspect()
            default: continue
            }
        }
    }

    /// Manifest documents: every `.yaml`/`.yml` file under `directory` (relative to the root), sorted.
    public func manifestFiles(under directory: String) throws -> [ManifestSource] {
        try files(under: directory).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.map { relative in
            guard case .file = inspect(relative) else {
                throw EngineError(.sourceUnreadable, "manifest \(relative) cannot be read or leaves the manifest root")
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: absolutePath(relative)))
            return ManifestSource(path: relative, bytes: Array(data))
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}

/// Resolved directory paths by relative path, shared by copies of one `FileSystemSourceTree`.
final class DirectoryCache: @unchecked Sendable {
    private let lock = NSLock()
    private var resolved: [String: String?] = [:]

    func resolve(_ directory: String, _ make: () -> String?) -> String? {
        if let known = lock.withLock({ resolved[directory] }) { return known }
        let value = make()
        lock.withLock { resolved[directory] = .some(value) }
        return value
    }
}

/// Sorted walks by folder (relative path), shared by copies of one `walkingOnce()` tree.
final class WalkCache: @unchecked Sendable {
    private let lock = NSLock()
    private var walked: [String: (files: [String], folders: Set<String>)] = [:]

    func files(under directory: String, _ walk: (String) -> (files: [String], folders: Set<String>)) -> [String] {
        let known: [String]? = lock.withLock {
            if let exact = walked[directory] { return exact.files }
            // A walk that entered this folder (not hidden, not through a symlink, which a walk does not follow):
            // its files under `directory`, still sorted.
            for (_, walk) in walked where walk.folders.contains(directory) {
                let prefix = directory + "/"
                return walk.files.filter { $0.hasPrefix(prefix) }
            }
            return nil
        }
        if let known { return known }
        let result = walk(directory)
        lock.withLock { walked[directory] = result }
        return result.files
    }
}
