/// The positions of a listing's files by id: an open-addressing table of 32-bit positions that compares ids in the
/// listing itself. Four bytes a slot, where a `[String: Int32]` takes twenty: the planner keeps one per endpoint
/// while it plans, 1 MB instead of 5 MB for 100,000 files. An id listed more than once keeps its first position.
struct ListingIndex: Sendable {
    let files: [RemoteFile]
    /// -1 for an empty slot; at most half of them are taken.
    private var slots: [Int32]
    private let mask: Int
    /// Positions of ids listed before, with their first position (empty for a listing without repeats).
    private(set) var repeats: [Int: Int32] = [:]

    init(_ files: [RemoteFile]) {
        precondition(files.count < Int(Int32.max), "a listing of \(files.count) files")
        self.files = files
        var size = 8
        while size < files.count * 2 { size <<= 1 }
        mask = size - 1
        slots = [Int32](repeating: -1, count: size)
        // By index: `enumerated()` would copy each file (retaining and releasing its strings).
        for position in files.indices {
            var slot = files[position].id.hashValue & mask
            while true {
                let taken = slots[slot]
                if taken < 0 {
                    slots[slot] = Int32(position)
                    break
                }
                if files[Int(taken)].id == files[position].id {
                    repeats[position] = taken
                    break
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The first position of `id` in the listing; nil when it is not listed.
    func position(of id: String) -> Int? {
        var slot = id.hashValue & mask
        while true {
            let taken = slots[slot]
            if taken < 0 { return nil }
            if files[Int(taken)].id == id { return Int(taken) }
            slot = (slot + 1) & mask
        }
    }

    /// The first position of the id listed at `position`.
    func firstPosition(of position: Int) -> Int {
        repeats.isEmpty ? position : repeats[position].map(Int.init) ?? position
    }
}
