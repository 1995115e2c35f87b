import Foundation

/// Receives how much of an upload's file has been handed to the HTTP client, across every request that carries
/// part of it (the one multipart request, OpenAI Uploads parts sent side by side, Cloud Storage resumable requests)
/// and every attempt: a retried part or request counts again from where it restarts, so the total can go down.
///
/// Attach one to `UploadRequest.progress`; `onUpdate` is called from the client's tasks after every chunk
/// (about 512 KiB), with the bytes sent so far and the file's size.
public final class UploadProgress: @unchecked Sendable, Hashable {
    public let totalBytes: Int64
    private let onUpdate: @Sendable (_ sent: Int64, _ total: Int64) -> Void
    private let lock = NSLock()
    /// Bytes sent per request in flight or done, by the file offset the request starts at.
    private var segments: [Int64: Int64] = [:]

    public init(totalBytes: Int64, onUpdate: @escaping @Sendable (_ sent: Int64, _ total: Int64) -> Void) {
        self.totalBytes = totalBytes
        self.onUpdate = onUpdate
    }

    /// Bytes of the file handed over so far.
    public var sentBytes: Int64 { lock.withLock { segments.values.reduce(0, +) } }

    /// A request starts sending the file's bytes `range`: whatever earlier attempts sent inside it no longer
    /// counts (bytes before it that a resumable session kept still do).
    func begin(_ range: Range<Int64>) -> Attempt {
        let sent: Int64 = lock.withLock {
            for (start, count) in segments {
                if range.contains(start) {
                    segments[start] = nil
                } else if start < range.lowerBound, start + count > range.lowerBound {
                    segments[start] = range.lowerBound - start
                }
            }
            segments[range.lowerBound] = 0
            return segments.values.reduce(0, +)
        }
        onUpdate(sent, totalBytes)
        return Attempt(progress: self, start: range.lowerBound)
    }

    fileprivate func add(_ count: Int, at start: Int64) {
        let sent: Int64 = lock.withLock {
            segments[start, default: 0] += Int64(count)
            return segments.values.reduce(0, +)
        }
        onUpdate(min(sent, totalBytes), totalBytes)
    }

    /// One request's share of the upload, counted by `FileBody` as it hands file chunks over.
    struct Attempt: Sendable {
        let progress: UploadProgress
        let start: Int64

        func add(_ count: Int) { progress.add(count, at: start) }
    }

    public static func == (lhs: UploadProgress, rhs: UploadProgress) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
