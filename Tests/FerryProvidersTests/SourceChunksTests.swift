import Foundation
import NIOCore
import Testing
import _NIOFileSystem

@testable import FerryProviders

/// The read path of every upload body: a source range read in chunks into a ring of reused buffers, a buffer read
/// into again only once the reader let go of it (docs/profile.md, "Memory of large uploads").
@Suite struct SourceChunksTests {
    private static func withSource<T: Sendable>(
        bytes: [UInt8], _ body: (ReadFileHandle) async throws -> T
    ) async throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-chunks-\(UUID().uuidString)")
            .path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { try await body($0) }
    }

    private static func address(_ buffer: ByteBuffer) -> UInt {
        buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }

    /// A reader that lets go of every chunk gets the range's bytes in order, read into no more buffers than the ring.
    @Test func readsTheRangeIntoTheRing() async throws {
        // Given a 100,000-byte file and a range that starts and ends mid-chunk
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let range: Range<Int64> = 1_000..<97_001
        let (read, addresses) = try await Self.withSource(bytes: bytes) { handle in
            // When it is read in 4 KiB chunks, each dropped before the next is asked for
            var read: [UInt8] = []
            var addresses = Set<UInt>()
            for try await chunk in SourceChunks(handle: handle, range: range, chunkBytes: 4096) {
                read += chunk.readableBytesView
                addresses.insert(Self.address(chunk))
            }
            return (read, addresses)
        }
        // Then the bytes are the range's, and 24 chunks went through the ring's buffers only
        #expect(read == Array(bytes[1_000..<97_001]))
        #expect(addresses.count == SourceChunks.reusedBuffers)
    }

    /// A reader that still holds every buffer of the ring gets no further chunk (no fresh storage) until it lets go
    /// of one; the next chunk then reuses that buffer.
    @Test func waitsForAHeldBuffer() async throws {
        let bytes = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try await Self.withSource(bytes: bytes) { handle in
            let (chunks, handOver) = AsyncStream.makeStream(of: ByteBuffer.self)
            let delivered = Flag()
            // The iterator lives in this task alone: a copy elsewhere would share its ring (and hold its buffers).
            let reader = Task {
                var iterator = SourceChunks(handle: handle, range: 0..<65_536, chunkBytes: 4096).makeAsyncIterator()
                for _ in 0..<SourceChunks.reusedBuffers { handOver.yield(try #require(try await iterator.next())) }
                let chunk = try await iterator.next()
                delivered.set()
                return chunk
            }
            // Given a reader holding the ring's three buffers (as an HTTP client's queued writes do)
            var held: [ByteBuffer] = []
            for await chunk in chunks {
                held.append(chunk)
                if held.count == SourceChunks.reusedBuffers { break }
            }
            let first = Self.address(held[0])
            // When it asks for the next chunk, none comes while the buffers are held
            try await Task.sleep(for: .milliseconds(300))
            #expect(!delivered.isSet)
            // Then once the oldest is let go, the next chunk arrives in that very buffer with the bytes that follow
            held.removeFirst()
            let next = try #require(try await reader.value)
            #expect(delivered.isSet)
            #expect(Self.address(next) == first)
            #expect(Array(next.readableBytesView) == Array(bytes[12_288..<16_384]))
            #expect(held.count == 2)
        }
    }
}

private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
