import Foundation
import Hummingbird

/// Where the bytes of a file (or an upload part) live.
enum StoredContent: Sendable {
    case memory(ByteBuffer)
    /// Absolute path of a file owned by the simulator.
    case disk(String)
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
    private var sha: SHA256Hasher?
    private var md5: MD5Hasher?

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
        if computeSHA256 { sha = SHA256Hasher() }
        if computeMD5 { md5 = MD5Hasher() }
    }

    deinit {
        discard()
    }

    func write(_ raw: UnsafeRawBufferPointer) throws {
        guard raw.count > 0 else { return }
        sha?.update(raw)
        md5?.update(raw)
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
        let digest = sha?.finalizeHex()
        let md5Digest = md5?.finalizeHex()
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

    /// SHA-256 of a content, reading a file one chunk at a time.
    static func sha256(_ content: StoredContent) -> String? {
        var hasher = SHA256Hasher()
        switch content {
        case .memory(let buffer):
            buffer.withUnsafeReadableBytes { hasher.update($0) }
        case .disk(let path):
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var chunk = [UInt8](repeating: 0, count: 1024 * 1024)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return nil }
                if n == 0 { break }
                chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        }
        return hasher.finalizeHex()
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
