import FerryCore
import Foundation
import Testing

@testable import FerryProviders

@Suite struct WireFormatTests {
    private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    /// A full OpenAI file object maps field by field; unknown fields are ignored.
    @Test func openAIFileObject() throws {
        let object = try decode(
            OpenAIFileObject.self,
            """
            {"id":"file-abc","object":"file","bytes":120000,"created_at":1677610602,"expires_at":null,
             "filename":"mydata.jsonl","purpose":"fine-tune","status":"processed","status_details":null,
             "brand_new_field":{"nested":[1,2]}}
            """
        )
        #expect(
            object.remoteFile()
                == RemoteFile(
                    id: "file-abc", filename: "mydata.jsonl", bytes: 120_000, purpose: "fine-tune",
                    createdAt: 1_677_610_602, status: .processed, statusDetails: nil
                )
        )
    }

    /// Azure statuses and string details are kept; odd types are tolerated instead of failing the listing.
    @Test func tolerantFields() throws {
        let object = try decode(
            OpenAIFileObject.self,
            #"{"id":"file-1","bytes":"42","created_at":1.7e9,"status":"error","status_details":"bad line 3"}"#
        )
        let file = object.remoteFile()
        #expect(file.bytes == 42)
        #expect(file.createdAt == 1_700_000_000)
        #expect(file.status == .error)
        #expect(file.statusDetails == "bad line 3")

        let odd = try decode(OpenAIFileObject.self, #"{"id":"f","status":"frobnicated","status_details":{"x":1}}"#)
        #expect(odd.remoteFile().status == .unknown)
        #expect(odd.remoteFile().statusDetails == nil)
        // No status at all reads as processed.
        #expect(try decode(OpenAIFileObject.self, #"{"id":"f"}"#).remoteFile().status == .processed)
    }

    /// A create answer that leaves fields out is completed from the upload itself.
    @Test func createFallback() throws {
        let upload = UploadRequest(sourcePath: "/x", filename: "a.txt", purpose: "assistants", bytes: 9)
        let file = try decode(OpenAIFileObject.self, #"{"id":"file-9"}"#).remoteFile(fallback: upload)
        #expect(file.filename == "a.txt" && file.purpose == "assistants" && file.bytes == 9)
    }

    /// A file object without an id cannot be tracked and fails decoding.
    @Test func idIsRequired() {
        #expect(throws: DecodingError.self) { try decode(OpenAIFileObject.self, #"{"filename":"x"}"#) }
    }

    /// A list without `has_more` (older Azure api-versions) is the last page.
    @Test func listWithoutHasMore() throws {
        let page = try decode(OpenAIFileList.self, #"{"object":"list","data":[{"id":"a"},{"id":"b"}]}"#)
        #expect(page.data.map(\.id) == ["a", "b"])
        #expect(!page.hasMore)
        #expect(page.lastID == nil)
    }
}

@Suite struct ListPagerTests {
    private func page(_ ids: [String], hasMore: Bool, lastID: String? = nil) throws -> OpenAIFileList {
        let data = ids.map { #"{"id":"\#($0)","bytes":1}"# }.joined(separator: ",")
        let last = lastID.map { #","last_id":"\#($0)""# } ?? ""
        let json = #"{"object":"list","data":[\#(data)],"has_more":\#(hasMore)\#(last)}"#
        return try JSONDecoder().decode(OpenAIFileList.self, from: Data(json.utf8))
    }

    /// Cursor pages are followed with `last_id` (or the last item) until `has_more` is false.
    @Test func followsCursors() throws {
        var pager = ListPager(maxPages: 10)
        #expect(pager.nextCursor == .some(nil))
        try pager.absorb(page(["a", "b"], hasMore: true, lastID: "b"))
        #expect(pager.nextCursor == .some("b"))
        try pager.absorb(page(["c", "d"], hasMore: true))
        #expect(pager.nextCursor == .some("d"))
        try pager.absorb(page(["e"], hasMore: false))
        #expect(pager.nextCursor == nil)
        #expect(pager.files.map(\.id) == ["a", "b", "c", "d", "e"])
        #expect(pager.pages == 3)
    }

    /// A finished listing is handed over in an array of its own size, not the one grown by doubling.
    @Test func listingIsRightSized() throws {
        var pager = ListPager(maxPages: 100)
        for start in stride(from: 0, to: 1_100, by: 100) {
            try pager.absorb(page((start..<start + 100).map { "f\($0)" }, hasMore: start < 1_000))
        }
        #expect(pager.files.capacity >= 1_100 + 1_100 / 16)  // (the doubling left spare room; else nothing to show)
        let files = pager.exactFiles
        #expect(files == pager.files)
        #expect(files.capacity < 1_100 + 1_100 / 16)
    }

    /// A server that hands back the same cursor twice (ignores `after`) is stopped, not followed forever.
    @Test func repeatedCursorStalls() throws {
        var pager = ListPager(maxPages: 100)
        try pager.absorb(page(["a", "b"], hasMore: true, lastID: "b"))
        #expect(throws: ListPager.Stall.self) { try pager.absorb(page(["a", "b"], hasMore: true, lastID: "b")) }
    }

    /// A cycle of cursors (A → B → A) is caught too.
    @Test func cursorCycleStalls() throws {
        var pager = ListPager(maxPages: 100)
        try pager.absorb(page(["a"], hasMore: true))
        try pager.absorb(page(["b"], hasMore: true))
        #expect(throws: ListPager.Stall.self) { try pager.absorb(page(["a"], hasMore: true)) }
    }

    /// `has_more` with an empty page cannot advance.
    @Test func emptyPageWithMoreStalls() throws {
        var pager = ListPager(maxPages: 100)
        #expect(throws: ListPager.Stall.self) { try pager.absorb(page([], hasMore: true, lastID: "z")) }
    }

    /// Endless fresh cursors end at `maxPages`.
    @Test func pageBound() throws {
        var pager = ListPager(maxPages: 3)
        try pager.absorb(page(["a"], hasMore: true))
        try pager.absorb(page(["b"], hasMore: true))
        #expect(throws: ListPager.Stall.self) { try pager.absorb(page(["c"], hasMore: true)) }
    }

    /// A file seen on two pages (the boundary moved) is listed once, with its latest metadata.
    @Test func duplicatesKeptOnce() throws {
        var pager = ListPager(maxPages: 10)
        try pager.absorb(page(["a", "b"], hasMore: true))
        try pager.absorb(page(["b", "c"], hasMore: false))
        #expect(pager.files.map(\.id) == ["a", "b", "c"])
    }
}
