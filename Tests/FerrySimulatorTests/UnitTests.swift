import Foundation
import Testing

@testable import FerrySimulator

@Suite("Building blocks")
struct UnitTests {
    /// The digests the simulator reports (swift-crypto underneath) match published test vectors.
    @Test("SHA-256 and MD5 match published test vectors, in memory and read from disk")
    func digests() throws {
        #expect(Digests.sha256Hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digests.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Digests.sha256Hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("digests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func onDisk(_ bytes: [UInt8]) -> StoredContent {
            let path = directory.appendingPathComponent(UUID().uuidString).path
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            return .disk(path)
        }
        func md5(_ bytes: [UInt8]) throws -> String {
            hexString(Data(base64Encoded: try Digests.gcs(onDisk(bytes)).md5) ?? Data())
        }
        #expect(try md5([]) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(try md5(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(try md5(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")

        // Read from disk in chunks, a content hashes as in one piece.
        let data = (0..<2_100_003).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let content = onDisk(data)
        #expect(Digests.sha256Hex(content) == Digests.sha256Hex(data))
        #expect(try Digests.gcs(content).size == Int64(data.count))
    }

    struct Collected: MultipartSink {
        var parts: [(MultipartPartHeaders, [UInt8])] = []
        mutating func beginPart(_ headers: MultipartPartHeaders) throws { parts.append((headers, [])) }
        mutating func partData(_ bytes: UnsafeRawBufferPointer) throws { parts[parts.count - 1].1 += bytes }
        mutating func endPart() throws {}
    }

    func parse(_ body: [UInt8], boundary: String, chunk: Int) throws -> [(MultipartPartHeaders, [UInt8])] {
        var parser = MultipartParser(boundary: boundary)
        var sink = Collected()
        var index = 0
        while index < body.count {
            let end = min(index + chunk, body.count)
            try body[index..<end].withUnsafeBytes { try parser.feed($0, sink: &sink) }
            index = end
        }
        try parser.finish()
        return sink.parts
    }

    @Test("the multipart parser gives the same parts whatever the chunking")
    func multipartChunking() throws {
        let boundary = "XyZ"
        // Data with near-boundaries: partial delimiters, and "--XyZ" without the CRLF before it.
        let tricky = Array("line1\r\n--Xy not\r\n--X\r\n---XyZ".utf8) + [0, 255, 13, 10, 13]
        var body = Array("preamble to ignore\r\n--XyZ\r\n".utf8)
        body += Array("Content-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n".utf8)
        body += Array("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".txt\"\r\n".utf8)
        body += Array("Content-Type: text/plain\r\n\r\n".utf8) + tricky
        body += Array("\r\n--XyZ--\r\nepilogue".utf8)
        for chunk in [1, 2, 3, 5, 7, 64, body.count] {
            let parts = try parse(body, boundary: boundary, chunk: chunk)
            #expect(parts.count == 2, "chunk \(chunk)")
            #expect(parts[0].0.name == "purpose")
            #expect(parts[0].1 == Array("assistants".utf8))
            #expect(parts[1].0 == MultipartPartHeaders(name: "file", filename: "a \"b\".txt", contentType: "text/plain"))
            #expect(parts[1].1 == tricky, "chunk \(chunk)")
        }
    }

    @Test("malformed multipart bodies are refused")
    func multipartErrors() {
        let truncated = Array("--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue".utf8)
        #expect(throws: MultipartError.truncated) { _ = try parse(truncated, boundary: "B", chunk: 4) }
        let garbage = Array("--Bjunk\r\n".utf8)
        #expect(throws: MultipartError.self) { _ = try parse(garbage, boundary: "B", chunk: 100) }
        #expect(MultipartParser.boundary(fromContentType: "multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(MultipartParser.boundary(fromContentType: "Multipart/Form-Data;boundary=abc") == "abc")
        #expect(MultipartParser.boundary(fromContentType: "application/json") == nil)
        #expect(MultipartParser.boundary(fromContentType: "multipart/form-data") == nil)
    }

    @Test("header parameters: quoting, escapes and RFC 5987")
    func headerParameters() {
        let (type, params) = HeaderValue.parse("form-data; name=\"file\"; filename=\"a;b \\\"c\\\".txt\"; x=plain ")
        #expect(type == "form-data")
        #expect(params["name"] == "file")
        #expect(params["filename"] == "a;b \"c\".txt")
        #expect(params["x"] == "plain")
        #expect(HeaderValue.decodeExtended("UTF-8''%E2%9C%93%20ok") == "✓ ok")
        #expect(HeaderValue.decodeExtended("iso-8859-1'en'caf%E9") == "café")
        #expect(HeaderValue.decodeExtended("nonsense") == nil)
    }

    @Test("JSON output escapes strings and keeps key order")
    func json() {
        let value = JSON.object([("b", .int(1)), ("a", .string("q\"\\\n\u{1}é")), ("n", .null), ("l", .array([.bool(true)]))])
        #expect(value.serialized() == "{\"b\":1,\"a\":\"q\\\"\\\\\\n\\u0001é\",\"n\":null,\"l\":[true]}")
    }

    @Test("JSON integers are written as their decimal digits, the extremes and negatives included")
    func jsonIntegers() {
        for value: Int64 in [0, 7, 10, -1, -10, 1_800_000_000, 123_456_789_012, .max, .min, .max - 1, .min + 1] {
            #expect(JSON.int(value).serialized() == String(value))
        }
        #expect(JSON.array([.int(-5), .object([("k", .int(42))])]).serialized() == "[-5,{\"k\":42}]")
    }

    @Test("seeded random ids are reproducible")
    func seededIDs() {
        var a = SimRandom(seed: 9)
        var b = SimRandom(seed: 9)
        #expect(a.alphanumeric(24) == b.alphanumeric(24))
        #expect((0..<100).allSatisfy { _ in (0..<1).contains(a.unit()) })
    }
}
