import Foundation
import Testing

@testable import FerryProviders

/// The list pages read by `JSONPullReader` read exactly as their `Decodable` conformances read them through
/// `JSONDecoder`, and malformed text is refused.
@Suite("JSON pull reader")
struct JSONPullReaderTests {
    static func pull<T: JSONPullDecodable>(_ type: T.Type, _ text: String) throws -> T {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBytes { buffer in
            try JSONPullReader.read(UnsafeRawBufferPointer(buffer)) { reader in try T(pulling: &reader) }
        }
    }

    static func summary(_ list: OpenAIFileList) -> String {
        let files = list.data.map {
            "\($0.id)|\($0.bytes.map(String.init) ?? "-")|\($0.createdAt.map(String.init) ?? "-")|"
                + "\($0.filename ?? "-")|\($0.purpose ?? "-")|\($0.status ?? "-")|\($0.statusDetails ?? "-")|"
                + "\($0.expiresAt.map(String.init) ?? "-")"
        }
        return "\(files) more=\(list.hasMore) last=\(list.lastID ?? "-")"
    }

    static func summary(_ list: GCSObjectList) -> String {
        let objects = list.items.map {
            let metadata = $0.metadata.map { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } }
            return "\($0.name)|\($0.bucket ?? "-")|\($0.size.map(String.init) ?? "-")|\($0.timeCreated ?? "-")|"
                + "\($0.generation ?? "-")|\(metadata.map { "\($0)" } ?? "-")"
        }
        return "\(objects) next=\(list.nextPageToken ?? "-")"
    }

    static let openAIPages = [
        #"{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}"#,
        #"""
        {
          "object": "list",
          "data": [
            {"id": "file-1", "object": "file", "bytes": 120, "created_at": 1700000000, "expires_at": null,
             "filename": "a \"quoted\" name\\with\/escapes\u00e9\ud83d\ude00.md", "purpose": "assistants",
             "status": "processed", "status_details": null, "extra": {"nested": [1, 2.5e3, {"x": [true, false, null]}]}},
            {"id": "file-2", "bytes": 12.0, "created_at": "1700000001", "filename": "b.jsonl", "purpose": "batch",
             "status": "error", "status_details": "bad line 3\n\ttab", "expires_at": 1.7e9},
            {"id": "file-3", "bytes": "not a number", "created_at": -5, "filename": 7, "purpose": ["x"],
             "status": {"a": 1}, "expires_at": true},
            {"id": "file-4", "bytes": 9007199254740993}
          ],
          "has_more": true,
          "last_id": "file-4"
        }
        """#,
        #"{"data":[{"id":"x"}],"has_more":"yes","last_id":42}"#,
        #"{"last_id":"k","data":[{"status":"uploaded","id":"\u0066ile-5"}]}"#,
        " \n\t{\"data\" : [ { \"id\" : \"spaced\" , \"bytes\" : 0 } ] , \"has_more\" : false } \r\n",
    ]

    @Test(arguments: openAIPages)
    func openAIPagesReadAsJSONDecoderReadsThem(_ text: String) throws {
        let expected = try JSONDecoder().decode(OpenAIFileList.self, from: Data(text.utf8))
        let pulled = try Self.pull(OpenAIFileList.self, text)
        #expect(Self.summary(pulled) == Self.summary(expected))
    }

    static let gcsPages = [
        #"{"kind":"storage#objects"}"#,
        #"{"kind":"storage#objects","items":null,"nextPageToken":""}"#,
        #"""
        {"kind": "storage#objects", "nextPageToken": "CgR0b2tlbg==",
         "items": [
           {"kind": "storage#object", "name": "ferry/assistants/abc/doc.md", "bucket": "b", "size": "4096",
            "timeCreated": "2026-11-30T10:00:00.123Z", "generation": "1732960800123456",
            "metadata": {"ferry-name": "doc", "ferry-sha256": "0f"}},
           {"name": "ferry/x", "size": 12, "metadata": {"ferry-name": "doc", "count": 3}},
           {"name": "ferry/y", "metadata": null, "size": null, "acl": [{"entity": "allUsers"}]}
         ]}
        """#,
    ]

    @Test(arguments: gcsPages)
    func gcsPagesReadAsJSONDecoderReadsThem(_ text: String) throws {
        let expected = try JSONDecoder().decode(GCSObjectList.self, from: Data(text.utf8))
        let pulled = try Self.pull(GCSObjectList.self, text)
        #expect(Self.summary(pulled) == Self.summary(expected))
    }

    static let refused = [
        "",
        "   ",
        "[]",
        #"{"data":{}}"#,
        #"{"data":[{"bytes":1}]}"#,
        #"{"data":[{"id":1}]}"#,
        #"{"data":[],}"#,
        #"{"data":[] "has_more":false}"#,
        #"{"data":[1,]}"#,
        #"{"data":[{"id":"a"}]} trailing"#,
        #"{"data":[{"id":"a\q"}]}"#,
        #"{"data":[{"id":"a\u12"}]}"#,
        "{\"data\":[{\"id\":\"a\u{01}b\"}]}",
        #"{"data":[{"id":"unterminated}]}"#,
        #"{"data":[],"x":01}"#,
        #"{"data":[],"x":1.}"#,
        #"{"data":[],"x":-}"#,
        #"{"data":[],"x":1e}"#,
        #"{"data":[],"x":tru}"#,
        #"{"data":[],"x":nul}"#,
        #"{'data':[]}"#,
        #"{"data":[]"#,
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ]

    @Test(arguments: refused)
    func malformedOrIncompletePagesAreRefused(_ text: String) {
        // Stricter than Foundation's decoder, which lets trailing commas and leading zeros pass.
        #expect(throws: (any Error).self) { _ = try Self.pull(OpenAIFileList.self, text) }
    }

    /// Foundation refuses a lone surrogate escape; the reader reads it as U+FFFD, as invalid UTF-8 is read.
    @Test func loneSurrogateReadsAsReplacementCharacter() throws {
        let list = try Self.pull(OpenAIFileList.self, #"{"data":[{"id":"a\ud800b","filename":"\udc00"}]}"#)
        #expect(list.data.first?.id == "a\u{FFFD}b")
        #expect(list.data.first?.filename == "\u{FFFD}")
    }

    @Test func gcsItemsOfAnotherTypeAreRefused() {
        for text in [#"{"items":{}}"#, #"{"items":[{"size":"1"}]}"#, #"{"items":"x"}"#] {
            #expect(throws: (any Error).self) { _ = try Self.pull(GCSObjectList.self, text) }
            #expect(throws: (any Error).self) { _ = try JSONDecoder().decode(GCSObjectList.self, from: Data(text.utf8)) }
        }
    }

    @Test func errorsNameTheByteOffset() {
        let error = #expect(throws: JSONPullReader.Failure.self) {
            _ = try Self.pull(OpenAIFileList.self, #"{"data":[], "x": @}"#)
        }
        #expect(error?.description == "unexpected '@' at byte 17")
    }

    /// A large page (10,000 files, as OpenAI sends at most) reads whole and in order.
    @Test func largePage() throws {
        let files = (0..<10_000).map {
            #"{"id":"file-\#($0)","object":"file","bytes":\#($0),"created_at":\#(1_700_000_000 + $0),"#
                + #""filename":"doc\#($0).md","purpose":"assistants","status":"processed"}"#
        }
        let text = #"{"object":"list","data":["# + files.joined(separator: ",") + #"],"has_more":true,"last_id":"file-9999"}"#
        let pulled = try Self.pull(OpenAIFileList.self, text)
        #expect(pulled.data.count == 10_000)
        #expect(pulled.data.map(\.bytes) == (0..<10_000).map { Int64($0) })
        #expect(Self.summary(pulled) == Self.summary(try JSONDecoder().decode(OpenAIFileList.self, from: Data(text.utf8))))
    }
}
