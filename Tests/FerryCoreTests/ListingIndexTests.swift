@testable import FerryCore
import Testing

@Suite("Listing index")
struct ListingIndexTests {
    /// Positions by id match a dictionary that keeps each id's first position, on listings with repeats, for ids
    /// listed and not.
    @Test(arguments: [0, 1, 7, 8, 9, 100, 5_000])
    func positionsMatchFirstOccurrences(count: Int) {
        var generator = SystemRandomNumberGenerator()
        let ids = (0..<count).map { _ in "file-\(Int.random(in: 0..<max(1, count), using: &generator))" }
        let listing = ids.map { RemoteFile(id: $0, filename: "f", bytes: 1, purpose: "p", createdAt: 0) }
        var first: [String: Int] = [:]
        for (position, id) in ids.enumerated() where first[id] == nil { first[id] = position }
        let index = ListingIndex(listing)
        for id in Set(ids) { #expect(index.position(of: id) == first[id]) }
        for missing in ["", "file--1", "file-\(count)", "other"] { #expect(index.position(of: missing) == nil) }
        for (position, id) in ids.enumerated() { #expect(index.firstPosition(of: position) == first[id]) }
    }
}
