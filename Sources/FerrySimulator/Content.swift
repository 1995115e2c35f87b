import Crypto
import Foundation
import Hummingbird

/// Where the bytes of a file (or an upload part) live.
enum StoredContent: Sendable {
    case memory(ByteBuffer)
    /// Absolute path of a file owned by the simulator.
    case disk(String)
}

extension StoredContent {
    /// Moves (a file) or writes (memory) the bytes to `path`, whose folder must exist.
    func place(at path: String) throws {
        switch self {
        case .disk(let source):
            guard rename(source, path) == 0 else { throw SimIOError("cannot move upload to", path: path) }
        case .memory(let buffer):
            guard FileManager.default.createFile(atPath: path, contents: Data(buffer.readableBytesView)) else {
                throw SimIOError("cannot write", path: path)
            }
        }
    }
}

/// Writes `value` as sorted-key JSON to `path`, atomically (through `path.tmp` and a rename). False when that
/// failed; the temporary file is removed.
func writeJSONAtomically(_ value: some Encodable, to path: String) -> Bool {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let tmp = path + ".tmp"
    guard let data = try? encoder.encode(value), FileManager.default.createFile(atPath: tmp, contents: data),
        rename(tmp, path) == 0
    else {
        unlink(tmp)
        return false
    }
    return true
}

struct SimIOError: Error, CustomStringConvertible {
    let description: String
    init(_ what: String, path: String) {
        self.description = "\(what) \(path): \(String(cString: strerror(errno)))"
    }
}

/// Accumulates streamed bytes either in memory or in a file, hashing and counting as it goes.
/// Never holds more than one chunk when writing to disk.
final class ContentWriter {
    /// The most `expectedBytes` reserves; larger contents grow the buffer as usual.
    static let maxReservedBytes: Int64 = 1 << 30
    private enum Backing {
        case memory(ByteBuffer)
        case disk(fd: Int32, path: String)
        /// Counts (and hashes, when asked) but keeps nothing: `SimulatorContentMode.discard`.
        case discarding
        case closed
    }

    /// The SHA-256 recorded for a file whose bytes were discarded (never computed, so never a real digest).
    static let discardedDigest = ""

    private var backing: Backing
    private(set) var size: Int64 = 0
    private var sha: SHA256?
    private var md5: Insecure.MD5?

    /// - Parameters:
    ///   - path: nil keeps the bytes in memory; otherwise they are written to this (new) file.
    ///   - expectedBytes: in memory, capacity reserved up front (a request's `Content-Length`, capped), so a large
    ///     upload is not copied again each time the buffer doubles; the pages are only touched as bytes arrive.
    /// Digests are only computed when asked for (hashing is the costliest part of an upload).
    ///   - keepBytes: false reads and counts the bytes but keeps none; `finish()` then hands over an empty buffer.
    init(
        path: String?, expectedBytes: Int64? = nil, computeSHA256: Bool = false, computeMD5: Bool = false,
        keepBytes: Bool = true
    ) throws {
        if !keepBytes {
            backing = .discarding
        } else if let path {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw SimIOError("cannot create", path: path) }
            backing = .disk(fd: fd, path: path)
        } else {
            let reserve = Int(min(max(expectedBytes ?? 0, 0), ContentWriter.maxReservedBytes))
            backing = .memory(ByteBufferAllocator().buffer(capacity: reserve))
        }
        if computeSHA256 { sha = SHA256() }
        if computeMD5 { md5 = Insecure.MD5() }
    }

    deinit {
        discard()
    }

    func write(_ raw: UnsafeRawBufferPointer) throws {
        guard raw.count > 0 else { return }
        sha?.update(bufferPointer: raw)
        md5?.update(bufferPointer: raw)
        size += Int64(raw.count)
        switch backing {
        case .memory(var buffer):
            backing = .closed  // keep the buffer uniquely referenced while appending
            buffer.writeBytes(raw)
            backing = .memory(buffer)
        case .disk(let fd, let path):
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SimIOError("cannot write", path: path)
                }
                offset += written
            }
        case .discarding, .closed:
            break
        }
    }

    /// Stops writing and hands over the content with its SHA-256 (and MD5 when asked for).
    func finish() throws -> (content: StoredContent, sha256: String?, md5: String?) {
        let digest = sha.map { hexString($0.finalize()) }
        let md5Digest = md5.map { hexString($0.finalize()) }
        switch backing {
        case .memory(let buffer):
            backing = .closed
            return (.memory(buffer), digest, md5Digest)
        case .disk(let fd, let path):
            backing = .closed
            guard close(fd) == 0 else { throw SimIOError("cannot close", path: path) }
            return (.disk(path), digest, md5Digest)
        case .discarding:
            backing = .closed
            return (.memory(ByteBuffer()), digest, md5Digest)
        case .closed:
            throw SimIOError("already finished", path: "")
        }
    }

    /// Drops whatever was written (removes the file).
    func discard() {
        if case .disk(let fd, let path) = backing {
            close(fd)
            unlink(path)
        }
        backing = .closed
    }
}

enum ContentReader {
    static let chunkSize = 64 * 1024

    /// A response body that streams the content, reading one chunk at a time from disk.
    static func responseBody(_ content: StoredContent, length: Int64) -> ResponseBody {
        switch content {
        case .memory(let buffer):
            return ResponseBody(byteBuffer: buffer)
        case .disk(let path):
            return ResponseBody(contentLength: Int(length)) { writer in
                let fd = open(path, O_RDONLY)
                guard fd >= 0 else { throw SimIOError("cannot open", path: path) }
                defer { close(fd) }
                while true {
                    var buffer = ByteBuffer()
                    let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunkSize) { raw in
                        while true {
                            let n = read(fd, raw.baseAddress!, min(raw.count, chunkSize))
                            if n < 0 && errno == EINTR { continue }
                            if n < 0 { throw SimIOError("cannot read", path: path) }
                            return n
                        }
                    }
                    if count == 0 { break }
                    try await writer.write(buffer)
                }
                try await writer.finish(nil)
            }
        }
    }

    /// Appends a content to an open writer (used to join upload parts).
    static func copy(_ content: StoredContent, into writer: ContentWriter) throws {
        switch content {
        case .memory(let buffer):
            try buffer.withUnsafeReadableBytes { try writer.write($0) }
        case .disk(let path):
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw SimIOError("cannot open", path: path) }
            defer { close(fd) }
            var chunk = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, chunkSize) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw SimIOError("cannot read", path: path) }
                if n == 0 { break }
                try chunk.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        }
    }

    /// Calls `body` with the content's bytes, one chunk (at most 1 MiB) at a time.
    static func forEachChunk(_ content: StoredContent, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        switch content {
        case .memory(let buffer):
            buffer.withUnsafeReadableBytes { body($0) }
        case .disk(let path):
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw SimIOError("cannot open", path: path) }
            defer { close(fd) }
            var chunk = [UInt8](repeating: 0, count: 1024 * 1024)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw SimIOError("cannot read", path: path) }
                if n == 0 { break }
                chunk.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        }
    }

    /// All bytes of a content (for small inspections only).
    static func readAll(_ content: StoredContent) -> [UInt8]? {
        switch content {
        case .memory(let buffer):
            return Array(buffer.readableBytesView)
        case .disk(let path):
            return FileManager.default.contents(atPath: path).map { Array($0) }
        }
    }
}
