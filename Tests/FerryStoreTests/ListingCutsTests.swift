import FerryCore
import Foundation
import FerryStore
import FerryTestSupport
import Testing

/// Where the next listing of a large endpoint is cut into ranges listed at once: ids of the last listing at equal
/// steps, in byte order (as Cloud Storage compares names), whatever the database's collation.
@Suite("Listing cuts")
struct ListingCutsTests {
    static let endpoint = Endpoint(
        kind: .vertex, baseURL: "https://us-central1-aiplatform.googleapis.com", bucket: "b/ferry", credential: .none)

    static func record(_ store: any StateStore, ids: [String]) throws {
        let files = ids.map { RemoteFile(id: $0, filename: "f", bytes: 1, purpose: "assistants", createdAt: 1) }
        try store.recordObservation(
            EndpointObservation(endpointID: endpoint.id, files: files, observedAt: 10), endpoint: endpoint, pages: 1)
    }

    @Test(arguments: StateBackend.all) func cutsAtEqualStepsInByteOrder(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        #expect(try store.listingCuts(endpointID: Self.endpoint.id, parts: 4, minimumPerPart: 1).isEmpty)
        // 100 ids, given out of order; uppercase sorts before lowercase and "é" after "z" by bytes, not by a locale.
        var ids = (0..<97).map { "gs://b/ferry/a/\(String(format: "%03d", $0))" }
        ids += ["gs://b/ferry/Z", "gs://b/ferry/z", "gs://b/ferry/é"]
        try Self.record(store, ids: ids.reversed())
        let sorted = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(sorted.first == "gs://b/ferry/Z" && sorted.last == "gs://b/ferry/é")
        #expect(
            try store.listingCuts(endpointID: Self.endpoint.id, parts: 4, minimumPerPart: 10)
                == [sorted[25], sorted[50], sorted[75]])
        // Fewer parts when they would be too small; none when there are not two.
        #expect(
            try store.listingCuts(endpointID: Self.endpoint.id, parts: 4, minimumPerPart: 40) == [sorted[50]])
        #expect(try store.listingCuts(endpointID: Self.endpoint.id, parts: 4, minimumPerPart: 51).isEmpty)
        #expect(try store.listingCuts(endpointID: "openai|other", parts: 4, minimumPerPart: 1).isEmpty)
    }
}
