import Dispatch

/// Work split over every core, for the pure steps of a large pass (matching sources, indexing listings).
public enum Parallel {
    /// `body` for each index in `0..<count`, results in index order; on every core when `count` reaches `minimum`
    /// (below it, in order on the calling thread). Iterations run in chunks of `chunk` consecutive indices.
    public static func map<Result>(
        _ count: Int, minimum: Int, chunk: Int = 256, _ body: @escaping @Sendable (Int) -> Result
    ) -> [Result] {
        guard count >= minimum, count > 1 else { return (0..<count).map(body) }
        return [Result](unsafeUninitializedCapacity: count) { buffer, initialized in
            let slots = Slots(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { job in
                for index in job * chunk..<min(count, (job + 1) * chunk) {
                    (slots.base + index).initialize(to: body(index))
                }
            }
            initialized = count
        }
    }

    /// Where parallel iterations write: each element by exactly one iteration, before any is read.
    public struct Slots<Element>: @unchecked Sendable {
        public let base: UnsafeMutablePointer<Element>

        public init(base: UnsafeMutablePointer<Element>) { self.base = base }
    }
}

extension Parallel {
    /// Frees `value` on another thread: the caller goes on while a large pass's records (hundreds of thousands of
    /// strings) are released, and a process that ends meanwhile does not wait for it. Pass the last reference: what
    /// is still referenced elsewhere is freed there, later, as usual.
    public static func release<Value: Sendable>(_ value: consuming Value) {
        let box = ReleaseBox(value)
        DispatchQueue.global(qos: .utility).async { box.value = nil }
    }

    private final class ReleaseBox<Value>: @unchecked Sendable {
        // Written once by the thread that frees it; nothing reads it.
        var value: Value?

        init(_ value: consuming Value) { self.value = value }
    }
}
