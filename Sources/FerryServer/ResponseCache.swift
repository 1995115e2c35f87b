import Foundation
import Hummingbird
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the database files look like on disk. Every commit changes it: in WAL mode a commit appends to the
/// `-wal` file (its size grows) or, after a checkpoint, rewrites it (its modification time changes).
struct DatabaseStamp: Equatable, Sendable {
    private var parts: [Int64]

    /// nil when the database cannot be inspected (then nothing is cached).
    init?(path: String) {
        var parts: [Int64] = []
        for file in [path, path + "-wal"] {
            var info = stat()
            if stat(file, &info) == 0 {
                #if canImport(Darwin)
                    let modified = info.st_mtimespec
                #else
                    let modified = info.st_mtim
                #endif
                parts += [Int64(info.st_ino), Int64(info.st_size), Int64(modified.tv_sec), Int64(modified.tv_nsec)]
            } else if file == path {
                return nil
            } else {
                parts += [0, 0, 0, 0]
            }
        }
        self.parts = parts
    }
}

/// Answers of the data routes, reused while the database files are unchanged, so a busy scraper or SDK client does
/// not recompute a 10,000-file listing per request.
///
/// - A commit changes the files' stamp, and the next request computes a fresh answer (one computation per route,
///   however many requests wait for it).
/// - An answer older than `ttl` whose stamp is unchanged is still served, while one background computation
///   replaces it: this bounds how stale an answer can be in the rare case a commit leaves the stamp unchanged
///   (two rewrites within one clock tick), without making every client wait once per `ttl`.
final class ResponseCache: Sendable {
    private struct Entry {
        var stamp: DatabaseStamp
        var storedAt: ContinuousClock.Instant
        var payload: Payload
        var lastUse: UInt64
    }

    private struct Storage {
        var entries: [String: Entry] = [:]
        var computing: [String: (DatabaseStamp, Task<Payload, any Error>)] = [:]
        var bytes = 0
        var uses: UInt64 = 0
    }

    let ttl: Duration
    /// Most bytes kept; the least recently used answers go first.
    let capacity: Int
    private let storage = Mutex(Storage())

    init(ttl: Duration, capacity: Int = 64 * 1024 * 1024) {
        self.ttl = ttl
        self.capacity = capacity
    }

    var isEnabled: Bool { ttl > .zero }

    /// The answer for `key`: cached, or computed by `produce` (once for all concurrent callers).
    func answer(
        _ key: String, stamp: DatabaseStamp, produce: @escaping @Sendable () async throws -> Payload
    ) async throws -> Payload {
        enum Step {
            case hit(Payload)
            case wait(Task<Payload, any Error>)
        }
        let now = ContinuousClock.now
        let step = storage.withLock { storage -> Step in
            if var entry = storage.entries[key], entry.stamp == stamp {
                storage.uses += 1
                entry.lastUse = storage.uses
                storage.entries[key] = entry
                if now - entry.storedAt >= ttl, storage.computing[key] == nil {
                    storage.computing[key] = (stamp, computation(key, stamp: stamp, produce: produce))
                }
                return .hit(entry.payload)
            }
            if let (computingStamp, task) = storage.computing[key], computingStamp == stamp { return .wait(task) }
            let task = computation(key, stamp: stamp, produce: produce)
            storage.computing[key] = (stamp, task)
            return .wait(task)
        }
        switch step {
        case .hit(let payload): return payload
        case .wait(let task): return try await task.value
        }
    }

    /// Unstructured, so a caller that goes away does not cancel the answer others wait for.
    private func computation(
        _ key: String, stamp: DatabaseStamp, produce: @escaping @Sendable () async throws -> Payload
    ) -> Task<Payload, any Error> {
        Task {
            defer {
                storage.withLock { storage in
                    if let (computingStamp, _) = storage.computing[key], computingStamp == stamp {
                        storage.computing[key] = nil
                    }
                }
            }
            let payload = try await produce()
            if payload.status == .ok { store(key, payload, stamp: stamp) }
            return payload
        }
    }

    private func store(_ key: String, _ payload: Payload, stamp: DatabaseStamp) {
        let size = payload.body.readableBytes
        guard size <= capacity / 4 else { return }
        storage.withLock { storage in
            if let old = storage.entries.removeValue(forKey: key) { storage.bytes -= old.payload.body.readableBytes }
            while storage.bytes + size > capacity,
                let oldest = storage.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                storage.bytes -= oldest.value.payload.body.readableBytes
                storage.entries[oldest.key] = nil
            }
            storage.uses += 1
            storage.entries[key] = Entry(stamp: stamp, storedAt: .now, payload: payload, lastUse: storage.uses)
            storage.bytes += size
        }
    }
}
