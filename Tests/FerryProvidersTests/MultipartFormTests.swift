import FerryCore
import NIOCore
import Testing

@testable import FerryProviders

@Suite struct MultipartFormTests {
    private func collect(_ body: FileBody<ChunkSequence>) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body { bytes += chunk.readableBytesView }
        return bytes
    }

    private func sourceChanged(_ read: Int64) -> any Error {
        ProviderError(.sourceChanged, .terminal, operation: .create, endpoint: "test", detail: "read \(read)")
    }

    /// The body is exactly the documented framing, and its length is the announced Content-Length.
    @Test func framingAndContentLength() async throws {
        // Given a two-chunk, eleven-byte file
        let form = MultipartForm(
            fields: [("purpose", "batch")], fileField: "file", filename: "input.jsonl", boundary: "BOUNDARY"
        )
        let progress = BodyProgress()
        let body = FileBody(
            form: form, chunks: ChunkSequence(chunks: [Array("hello ".utf8), Array("world".utf8)]), fileBytes: 11,
            progress: progress, sourceChanged: sourceChanged
        )
        // When the body is streamed
        let bytes = try await collect(body)
        // Then it is the exact multipart text
        let expected =
            "--BOUNDARY\r\n"
            + "Content-Disposition: form-data; name=\"purpose\"\r\n\r\n"
            + "batch\r\n"
            + "--BOUNDARY\r\n"
            + "Content-Disposition: form-data; name=\"file\"; filename=\"input.jsonl\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n"
            + "hello world"
            + "\r\n--BOUNDARY--\r\n"
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
        #expect(Int64(bytes.count) == form.contentLength(fileBytes: 11))
        #expect(form.contentType == "multipart/form-data; boundary=BOUNDARY")
        #expect(progress.isComplete)
        #expect(progress.bytesProduced == Int64(bytes.count))
    }

    /// A file that yields fewer bytes than announced fails the body before the epilogue is sent.
    @Test func shortSourceFails() async throws {
        let form = MultipartForm(fields: [], fileField: "file", filename: "a", boundary: "B")
        let progress = BodyProgress()
        let body = FileBody(
            form: form, chunks: ChunkSequence(chunks: [[1, 2, 3]]), fileBytes: 10, progress: progress,
            sourceChanged: sourceChanged
        )
        await #expect(throws: ProviderError.self) { _ = try await collect(body) }
        #expect(!progress.isComplete)
    }

    /// A file that yields more than announced is cut at the announced size, keeping Content-Length true.
    @Test func longSourceIsCut() async throws {
        let form = MultipartForm(fields: [], fileField: "file", filename: "a", boundary: "B")
        let body = FileBody(
            form: form, chunks: ChunkSequence(chunks: [[1, 2, 3, 4], [5, 6]]), fileBytes: 5, progress: BodyProgress(),
            sourceChanged: sourceChanged
        )
        let bytes = try await collect(body)
        #expect(Int64(bytes.count) == form.contentLength(fileBytes: 5))
    }

    /// Quotes, backslashes and line breaks cannot end the quoted name, the header line or the part.
    @Test func filenameEscaping() {
        #expect(MultipartForm.quoted("plain.txt") == "\"plain.txt\"")
        #expect(MultipartForm.quoted("say \"hi\".txt") == "\"say %22hi%22.txt\"")
        #expect(MultipartForm.quoted("a\\b.txt") == "\"a\\\\b.txt\"")
        #expect(
            MultipartForm.quoted("evil\r\nContent-Type: text/html.txt") == "\"evil%0D%0AContent-Type: text/html.txt\"")
        #expect(MultipartForm.quoted("tab\there\u{7F}") == "\"tab%09here%7F\"")
        #expect(MultipartForm.quoted("naïve.txt") == "\"naïve.txt\"")
    }

    /// Non-ASCII and escaped names also travel verbatim as an RFC 8187 `filename*`; plain names do not.
    @Test func extendedFilename() {
        #expect(MultipartForm.extendedValue("naïve résumé.pdf") == "UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf")
        #expect(MultipartForm.extendedValue("a\"b") == "UTF-8''a%22b")

        func disposition(_ name: String) -> String {
            let form = MultipartForm(fields: [], fileField: "file", filename: name, boundary: "B")
            let text = String(decoding: form.preamble, as: UTF8.self)
            return String(text.split(separator: "\r\n")[1])
        }
        #expect(disposition("plain.txt") == "Content-Disposition: form-data; name=\"file\"; filename=\"plain.txt\"")
        #expect(
            disposition("日本.txt")
                == "Content-Disposition: form-data; name=\"file\"; filename=\"日本.txt\"; "
                + "filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"
        )
        #expect(disposition("q\".txt").hasSuffix("filename=\"q%22.txt\"; filename*=UTF-8''q%22.txt"))
    }

    /// A field value with a line break cannot inject a part header.
    @Test func fieldValuesLoseLineBreaks() {
        let form = MultipartForm(
            fields: [("purpose", "batch\r\nX: y")], fileField: "file", filename: "f", boundary: "B")
        #expect(String(decoding: form.preamble, as: UTF8.self).contains("\r\n\r\nbatchX: y\r\n"))
    }

    /// Random boundaries are long, distinct and header-safe.
    @Test func randomBoundary() {
        let a = MultipartForm.randomBoundary()
        let b = MultipartForm.randomBoundary()
        #expect(a != b)
        #expect(a.count == 6 + 64)
        #expect(a.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
    }

    /// Media types follow the extension; unknown (and `.jsonl`) go as octet-stream.
    @Test func mediaTypes() {
        #expect(MediaType.guess(filename: "doc.PDF") == "application/pdf")
        #expect(MediaType.guess(filename: "batch.jsonl") == "application/octet-stream")
        #expect(MediaType.guess(filename: "noextension") == "application/octet-stream")
    }
}
