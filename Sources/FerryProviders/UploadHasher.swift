import Crypto
import Foundation
import NIOCore

/// Computes the SHA-256 of an upload's file from the very chunks its requests send, so one read of the source feeds
/// both the HTTP body and the digest, and the digest is that of the bytes sent.
///
/// Attach one to `UploadRequest.hasher`; every request body that carries the file (`FileBody`) feeds it in file
/// order. A request for the whole file (one multipart request) starts the digest afresh, so a retried create is
/// hashed once, from its own bytes. Requests for ranges (resumable chunks, parts) continue it: bytes a retried range
/// sends again are not fed twice. Ranges sent side by side (OpenAI Uploads parts) arrive out of order and leave no
/// digest (`digest` is nil): the caller hashes the source itself then.
public final class UploadHasher: @unchecked Sendable, Hashable {
    public let totalBytes: Int64
    private let lock = NSLock()
    private var hasher = SHA256()
    /// File offset up to which bytes were fed.
    private var position: Int64 = 0
    /// Whether a request sent bytes past `position`, which the digest then never saw.
    private var gap = false
    /// Counts whole-file restarts, so chunks of an abandoned attempt still in flight are not fed.
    private var generation = 0

    public init(totalBytes: Int64) {
        self.totalBytes = totalBytes
    }

    /// The SHA-256 (lowercase hex) of the bytes sent, once every byte of the file was fed in order exactly once;
    /// nil otherwise.
    public var digest: String? {
        lock.withLock {
            guard !gap, position == totalBytes else { return nil }
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Bytes fed so far (in file order).
    public var hashedBytes: Int64 { lock.withLock { position } }

    /// A request starts sending the file's bytes `range`.
    func begin(_ range: Range<Int64>) -> Attempt {
        lock.withLock {
            if range.lowerBound == 0, range.upperBound == totalBytes {
                hasher = SHA256()
                position = 0
                gap = false
                generation += 1
            } else if range.lowerBound > position {
                gap = true
            }
            return Attempt(hasher: self, start: range.lowerBound, generation: generation)
        }
    }

    fileprivate func feed(_ chunk: ByteBuffer, at offset: Int64, generation: Int) {
        lock.withLock {
            guard generation == self.generation, !gap else { return }
            let end = offset + Int64(chunk.readableBytes)
            guard offset <= position else {
                gap = true
                return
            }
            guard end > position else { return }  // already fed by an earlier attempt of this range
            let skip = Int(position - offset)
            chunk.withUnsafeReadableBytes { bytes in
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[skip...]))
            }
            position = end
        }
    }

    /// One request's share of the file, fed by `FileBody` as it hands chunks over.
    struct Attempt: Sendable {
        let hasher: UploadHasher
        let start: Int64
        let generation: Int

        /// `chunk` holds the file's bytes from `offset` bytes after the start of this request's range.
        func add(_ chunk: ByteBuffer, offset: Int64) {
            hasher.feed(chunk, at: start + offset, generation: generation)
        }
    }

    public static func == (lhs: UploadHasher, rhs: UploadHasher) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
