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
        if (info.st_mode & S_IFMT) == S_IFREG, let slash = relativePath.lastIndex(of: "/"),
            !relativePath.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        {
            let directory = String(relativePath[..<slash])
            guard let resolvedDirectory = resolvedDirectories.resolve(directory, { Self.realPath(absolutePath(directory)) })
            else { return .missing }
            resolved = resolvedDirectory + "/" + relativePath[relativePath.index(after: slash)...]
        } else {
            guard let real = Self.realPath(path) else { return .missing }
            resolved = real
            guard stat(resolved, &info) == 0 else { return .missing }
        }
        guard resolved == root || resolved.hasPrefix(root + "/") else { return .escapesRoot(resolved: resolved) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .notRegularFile }
        guard access(resolved, R_OK) == 0 else { return .unreadable(reason: "permission denied") }
        return .file(bytes: Int64(info.st_size))
    }

    public func files(under directory: String) -> [String] {
        var result: [String] = []
        walk(directory, into: &result, depth: 0)
        return result.sorted()
    }

    private func walk(_ relative: String, into result: inout [String], depth: Int) {
        guard depth < 64 else { return }
        let path = absolutePath(relative)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for entry in entries where !entry.hasPrefix(".") {
            let child = relative.isEmpty ? entry : relative + "/" + entry
            var info = stat()
            guard lstat(absolutePath(child), &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: walk(child, into: &result, depth: depth + 1)
            case S_IFREG, S_IFLNK: result.append(child)  // symlinks are checked by inspect()
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
