import Foundation
import NIOCore
import _NIOFileSystem

/// Tracks how much of a request body has been handed to the HTTP client, to tell "certainly not received"
/// (the body never reached its end) from "maybe received" after a failure.
final class BodyProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var produced: Int64 = 0
    private var finished = false

    /// Whether the last byte of the body left Ferry.
    var isComplete: Bool { lock.withLock { finished } }

    var bytesProduced: Int64 { lock.withLock { produced } }

    func add(_ count: Int) { lock.withLock { produced += Int64(count) } }
    func complete() { lock.withLock { finished = true } }
}

/// A request body made of a fixed head, a file's chunks as they are read, and a fixed tail (the multipart
/// framing, or nothing for a raw upload). Memory stays at about one chunk whatever the file's size; a file that
/// yields fewer bytes than announced fails the body before its end, and one that yields more is cut.
struct FileBody<Chunks: AsyncSequence & Sendable>: AsyncSequence, Sendable where Chunks.Element == ByteBuffer {
    typealias Element = ByteBuffer

    let head: [UInt8]
    let chunks: Chunks
    let fileBytes: Int64
    let tail: [UInt8]
    let progress: BodyProgress
    /// Thrown when the file yields fewer bytes than announced.
    let sourceChanged: @Sendable (_ read: Int64) -> any Error
    /// Told of every file chunk handed over (the upload's progress), if anyone listens.
    let transfer: UploadProgress.Attempt?
    /// Fed every file chunk handed over, in order (the digest of the bytes sent), if the upload hashes as it goes.
    let hashing: UploadHasher.Attempt?

    init(
        head: [UInt8] = [], chunks: Chunks, fileBytes: Int64, tail: [UInt8] = [], progress: BodyProgress,
        transfer: UploadProgress.Attempt? = nil, hashing: UploadHasher.Attempt? = nil,
        sourceChanged: @escaping @Sendable (_ read: Int64) -> any Error
    ) {
        self.head = head
        self.chunks = chunks
        self.fileBytes = fileBytes
        self.tail = tail
        self.progress = progress
        self.transfer = transfer
        self.hashing = hashing
        self.sourceChanged = sourceChanged
    }

    /// The file framed as the file part of `form`.
    init(
        form: MultipartForm, chunks: Chunks, fileBytes: Int64, progress: BodyProgress,
        transfer: UploadProgress.Attempt? = nil, hashing: UploadHasher.Attempt? = nil,
        sourceChanged: @escaping @Sendable (_ read: Int64) -> any Error
    ) {
        self.init(
            head: form.preamble, chunks: chunks, fileBytes: fileBytes, tail: form.epilogue, progress: progress,
            transfer: transfer, hashing: hashing, sourceChanged: sourceChanged
        )
    }

    /// The exact number of bytes the body yields.
    var length: Int64 { Int64(head.count) + fileBytes + Int64(tail.count) }

    struct AsyncIterator: AsyncIteratorProtocol {
        private enum Stage {
            case preamble
            case file
            case epilogue
            case done
        }

        private let body: FileBody
        private var iterator: Chunks.AsyncIterator
        private var stage = Stage.preamble
        private var fileRead: Int64 = 0

        init(_ body: FileBody) {
            self.body = body
            self.iterator = body.chunks.makeAsyncIterator()
        }

        mutating func next() async throws -> ByteBuffer? {
            while true {
                switch stage {
                case .preamble:
                    stage = .file
                    return emit(ByteBuffer(bytes: body.head))
                case .file:
                    if fileRead < body.fileBytes, var chunk = try await iterator.next() {
                        let wanted = body.fileBytes - fileRead
                        if Int64(chunk.readableBytes) > wanted {
                            chunk = chunk.getSlice(at: chunk.readerIndex, length: Int(wanted)) ?? chunk
                        }
                        guard chunk.readableBytes > 0 else { continue }
                        body.hashing?.add(chunk, offset: fileRead)
                        fileRead += Int64(chunk.readableBytes)
                        body.transfer?.add(chunk.readableBytes)
                        return emit(chunk)
                    }
                    guard fileRead == body.fileBytes else { throw body.sourceChanged(fileRead) }
                    stage = .epilogue
                case .epilogue:
                    stage = .done
                    let buffer = emit(ByteBuffer(bytes: body.tail))
                    body.progress.complete()
                    return buffer
                case .done:
                    return nil
                }
            }
        }

        private func emit(_ buffer: ByteBuffer) -> ByteBuffer {
            body.progress.add(buffer.readableBytes)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(self) }
}

/// A byte range of an open source file, read one chunk at a time as the HTTP client asks for the next one. Larger
/// chunks than NIO's `readChunks` default mean fewer thread hops per megabyte, and no chunk costs a hop to NIO's
/// thread pool; the sequence ends early if the file is shorter than the range (`FileBody` reports that).
///
/// Memory is bounded by construction: chunks are read with `pread` into a ring of `reusedBuffers` buffers, and a
/// buffer is read into again only once the HTTP client has written it and let go of it; until then `next()` waits.
/// The HTTP client's back-pressure alone does not bound it: AsyncHTTPClient hands each body part to the connection's
/// event loop with `execute` and keeps asking for parts until the event loop, having found the socket unwritable,
/// pauses the stream. While the event loop waits for a core, nothing stopped the reads, and every part still queued
/// held its own chunk: heaptrack found 60 MB of chunks alive at once in a 2 GiB apply (7,000 fresh 512 KiB buffers),
/// the run-to-run spread of its peak RSS (docs/profile.md, "Memory of large uploads"). With the ring an upload holds
/// at most `reusedBuffers × chunkBytes` of the file whatever the scheduling.
struct SourceChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    static let defaultChunkBytes: Int64 = 512 << 10
    /// Buffers per upload: one being written to the socket, one queued behind it, one being read into.
    static let reusedBuffers = 3
    /// How long `next()` waits for the client to let go of a buffer before reading into fresh storage instead: a
    /// safety valve only, since a client that holds a part that long is stalled and its own timeouts end the request.
    static let releaseWait: Duration = .seconds(30)

    let handle: ReadFileHandle
    let range: Range<Int64>
    let chunkBytes: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: ReadFileHandle
        var offset: Int64
        let end: Int64
        let chunkBytes: Int64
        private var descriptor: CInt?
        /// The buffers read into so far; `slot` is the one the last chunk went to.
        private var ring: [ByteBuffer] = []
        private var slot = 0

        init(handle: ReadFileHandle, offset: Int64, end: Int64, chunkBytes: Int64) {
            self.handle = handle
            self.offset = offset
            self.end = end
            self.chunkBytes = chunkBytes
        }

        mutating func next() async throws -> ByteBuffer? {
            guard offset < end else { return nil }
            let length = Int(Swift.min(chunkBytes, end - offset))
            if descriptor == nil {
                // The descriptor stays open for as long as the handle (the upload's `withSource` scope).
                descriptor = try await handle.withUnsafeDescriptor { $0.rawValue }
            }
            let fd = descriptor!
            if ring.count < SourceChunks.reusedBuffers {
                ring.append(ByteBufferAllocator().buffer(capacity: length))
                slot = ring.count - 1
            } else {
                slot = (slot + 1) % SourceChunks.reusedBuffers
                try await reclaim(slot)
            }
            let position = offset
            let count = try ring[slot].writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
                while true {
                    let n = pread(fd, raw.baseAddress!, length, off_t(position))
                    if n >= 0 { return n }
                    if errno == EINTR { continue }
                    throw FileSystemError(
                        code: .io, message: "cannot read the source: \(String(cString: strerror(errno)))",
                        cause: nil, location: .init(function: #function, file: #fileID, line: #line))
                }
            }
            guard count > 0 else {
                offset = end
                return nil
            }
            offset += Int64(count)
            return ring[slot]
        }

        /// Empties ring buffer `index` for the next read once the client has let go of it (the ring then holds the
        /// only reference), polling with a growing pause: a queued chunk is released as soon as it is written.
        private mutating func reclaim(_ index: Int) async throws {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: SourceChunks.releaseWait)
            var pause = Duration.microseconds(50)
            while ring[index].modifyIfUniquelyOwned({ $0.clear() }) == nil {
                try Task.checkCancellation()
                guard clock.now < deadline else {
                    ring[index] = ByteBufferAllocator().buffer(capacity: Int(chunkBytes))
                    return
                }
                try await Task.sleep(for: pause)
                pause = Swift.min(pause * 2, .milliseconds(2))
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: handle, offset: range.lowerBound, end: range.upperBound, chunkBytes: chunkBytes)
    }
}
