import Foundation
import NIOCore

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

    init(
        head: [UInt8] = [], chunks: Chunks, fileBytes: Int64, tail: [UInt8] = [], progress: BodyProgress,
        sourceChanged: @escaping @Sendable (_ read: Int64) -> any Error
    ) {
        self.head = head
        self.chunks = chunks
        self.fileBytes = fileBytes
        self.tail = tail
        self.progress = progress
        self.sourceChanged = sourceChanged
    }

    /// The file framed as the file part of `form`.
    init(
        form: MultipartForm, chunks: Chunks, fileBytes: Int64, progress: BodyProgress,
        sourceChanged: @escaping @Sendable (_ read: Int64) -> any Error
    ) {
        self.init(
            head: form.preamble, chunks: chunks, fileBytes: fileBytes, tail: form.epilogue, progress: progress,
            sourceChanged: sourceChanged
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
                        fileRead += Int64(chunk.readableBytes)
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
