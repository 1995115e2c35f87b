import Crypto
import FerryCore
import FerryStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Computes SHA-256 digests of sources, skipping files whose size, mtime and inode match the cache.
public struct SourceDigester: Sendable {
    public let tree: FileSystemSourceTree
    public let store: any StateStore
    /// Whether fresh digests are written to the cache (not with a read-only state).
    public let persist: Bool

    /// What one digest pass did, for reporting and benchmarks.
    public struct Report: Sendable, Hashable {
        public var hashed = 0
        public var cached = 0
        public var bytesRead: Int64 = 0
    }

    public init(tree: FileSystemSourceTree, store: any StateStore, persist: Bool = true) {
        self.tree = tree
        self.store = store
        self.persist = persist
    }

    /// The stamp of a source now.
    public func stamp(_ relativePath: String) throws -> FileStamp {
        var info = stat()
        let path = tree.absolutePath(relativePath)
        guard stat(path, &info) == 0 else { throw EngineError(.sourceUnreadable, "cannot stat source \(relativePath)") }
        #if canImport(Darwin)
            let nanos = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        #else
            let nanos = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        #endif
        return FileStamp(size: Int64(info.st_size), mtimeNanoseconds: nanos, inode: Int64(info.st_ino))
    }

    /// Digests of every path, by path.
    public func digests(for paths: [String]) async throws -> ([String: String], Report) {
        let wanted = Set(paths)
        let cache = try store.cachedDigests(for: wanted)
        var result = [String: String](minimumCapacity: wanted.count)
        var fresh: [String: (FileStamp, String)] = [:]
        var report = Report()
        var toHash: [(String, FileStamp)] = []
        for path in wanted.sorted() {
            let stamp = try stamp(path)
            if let (cachedStamp, digest) = cache[path], cachedStamp == stamp {
                result[path] = digest
                report.cached += 1
            } else {
                toHash.append((path, stamp))
            }
        }
        // Hash on as many threads as there are cores, off the cooperative pool's hot path.
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        try await withThrowingTaskGroup(of: (String, FileStamp, String).self) { group in
            var iterator = toHash.makeIterator()
            func addNext() {
                guard let (path, stamp) = iterator.next() else { return }
                let absolute = tree.absolutePath(path)
                group.addTask { (path, stamp, try Self.sha256(file: absolute)) }
            }
            for _ in 0..<width { addNext() }
            while let (path, stamp, digest) = try await group.next() {
                result[path] = digest
                fresh[path] = (stamp, digest)
                report.hashed += 1
                report.bytesRead += stamp.size
                addNext()
            }
        }
        // Only cache a digest if the file did not change while it was read.
        var stable: [String: (FileStamp, String)] = [:]
        for (path, entry) in fresh where (try? stamp(path)) == entry.0 { stable[path] = entry }
        if persist { try store.storeDigests(stable) }
        return (result, report)
    }

    /// Streams a file through SHA-256 in 1 MiB reads.
    public static func sha256(file path: String) throws -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw EngineError(.sourceUnreadable, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var hasher = SHA256()
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, size)
            if count < 0 {
                if errno == EINTR { continue }
                throw EngineError(.sourceUnreadable, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
