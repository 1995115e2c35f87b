import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import FerrySimulator

private let granule = 256 * 1024

/// Starts a resumable session; returns the session URI.
private func startSession(
    _ sim: Simulator, _ auth: [(String, String)], name: String, total: Int?, bucket: String = testBucket,
    metadata: String = "", contentType: String = "text/markdown"
) async throws -> String {
    var headers = auth + [("X-Upload-Content-Type", contentType)]
    if let total { headers.append(("X-Upload-Content-Length", String(total))) }
    if !metadata.isEmpty { headers.append(("Content-Type", "application/json; charset=UTF-8")) }
    let reply = try await send(
        .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(bucket)/o?uploadType=resumable&name=\(enc(name))",
        headers: headers, body: Array(metadata.utf8))
    #expect(reply.status == 200)
    #expect(reply.body.isEmpty)
    let location = try #require(reply.header("Location"))
    #expect(reply.header("X-GUploader-UploadID").map { location.hasSuffix("&upload_id=\($0)") } == true)
    return location
}

private func put(
    _ session: String, range: String?, _ body: [UInt8], headers: [(String, String)] = []
) async throws -> Reply {
    try await send(.PUT, session, headers: headers + (range.map { [("Content-Range", $0)] } ?? []), body: body)
}

/// Asks a session what it holds, waiting out a 503 while a broken request is still being wound up.
private func status(_ session: String, total: Int) async throws -> Reply {
    for _ in 0..<100 {
        let reply = try await put(session, range: "bytes */\(total)", [])
        if reply.status != 503 { return reply }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("the session stayed busy")
    return try await put(session, range: "bytes */\(total)", [])
}

/// An upload body that sends `bytes`, waits, then fails: the client drops the connection mid-request.
private func droppedBody(_ bytes: [UInt8]) -> AsyncThrowingStream<ByteBuffer, any Error> {
    AsyncThrowingStream { continuation in
        continuation.yield(ByteBuffer(bytes: bytes))
        Task {
            try? await Task.sleep(for: .milliseconds(300))
            continuation.finish(throwing: CancellationError())
        }
    }
}

@Suite("Cloud Storage resumable uploads")
struct GCSResumableTests {
    @Test("three chunks with status queries, a resent chunk, a gap, a short chunk and a dropped connection")
    func threeChunks() async throws {
        try await withGCS { sim, auth in
            let total = 2 * granule + 5000
            let data = pattern(total, seed: 9)
            let session = try await startSession(
                sim, auth, name: "ferry/batch/input file.jsonl", total: total, metadata: "{\"metadata\":{\"k\":\"v\"}}")
            #expect(matches(
                session,
                "^http://127\\.0\\.0\\.1:\(sim.port)/upload/storage/v1/b/\(testBucket)/o\\?uploadType=resumable&name=ferry%2Fbatch%2Finput%20file\\.jsonl&upload_id=[A-Za-z0-9]+$"))

            // Nothing yet: 308 without Range.
            let empty = try await put(session, range: "bytes */\(total)", [])
            #expect(empty.status == 308)
            #expect(empty.header("Range") == nil)

            // Chunk 1.
            let first = try await put(session, range: "bytes 0-\(granule - 1)/\(total)", Array(data[0..<granule]))
            #expect(first.status == 308)
            #expect(first.header("Range") == "bytes=0-262143")
            // The same chunk again (a retry whose first answer was lost): nothing changes.
            let resent = try await put(session, range: "bytes 0-\(granule - 1)/\(total)", Array(data[0..<granule]))
            #expect(resent.status == 308)
            #expect(resent.header("Range") == "bytes=0-262143")
            // A gap: nothing kept, the Range says where to continue.
            let gap = try await put(session, range: "bytes \(2 * granule)-\(total - 1)/\(total)", Array(data[(2 * granule)...]))
            #expect(gap.status == 308)
            #expect(gap.header("Range") == "bytes=0-262143")
            // A non-final chunk shorter than 256 KiB: kept only in whole 256 KiB units, so none of it.
            let short = try await put(session, range: "bytes \(granule)-\(granule + 99_999)/\(total)", Array(data[granule..<(granule + 100_000)]))
            #expect(short.status == 308)
            #expect(short.header("Range") == "bytes=0-262143")
            let queried = try await status(session, total: total)
            #expect(queried.status == 308)
            #expect(queried.header("Range") == "bytes=0-262143")

            // Chunk 2 (and the rest) with the connection dropped after 256 KiB + 1000 bytes.
            var request = HTTPClientRequest(url: session)
            request.method = .PUT
            request.headers.add(name: "Content-Range", value: "bytes \(granule)-\(total - 1)/\(total)")
            request.body = .stream(droppedBody(Array(data[granule..<(2 * granule + 1000)])), length: .known(Int64(total - granule)))
            await #expect(throws: (any Error).self) {
                _ = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            }
            // Ask what survived and continue from there.
            let afterDrop = try await status(session, total: total)
            #expect(afterDrop.status == 308)
            let range = try #require(afterDrop.header("Range"))
            #expect(range == "bytes=0-524287" || range == "bytes=0-262143")
            let next = Int(range.split(separator: "-").last!)! + 1
            let last = try await put(session, range: "bytes \(next)-\(total - 1)/\(total)", Array(data[next...]))
            #expect(last.status == 200)
            #expect(last.json["name"] as? String == "ferry/batch/input file.jsonl")
            #expect(last.json["size"] as? String == String(total))
            #expect(last.json["contentType"] as? String == "text/markdown")
            #expect(last.json["metadata"] as? [String: String] == ["k": "v"])
            #expect(sim.objectContent(bucket: testBucket, name: "ferry/batch/input file.jsonl") == data)
            let media = try await send(.GET, objectURL(sim, "ferry/batch/input file.jsonl") + "?alt=media", headers: auth)
            #expect(media.body == data)

            // The finished session keeps answering with the object.
            let again = try await status(session, total: total)
            #expect(again.status == 200)
            #expect(again.json["generation"] as? String == last.json["generation"] as? String)

            let stats = sim.stats()
            #expect(stats.requests["POST /upload/storage/v1/b/{bucket}/o"] == 1)
            // Ten PUTs, plus the status queries that met the session still busy with the dropped request.
            #expect(stats.requests["PUT /upload/storage/v1/b/{bucket}/o"] == 10 + (stats.responses["503"] ?? 0))
            #expect(stats.bytesUploaded == Int64(total))
        }
    }

    @Test("cancel: DELETE on the session answers 499, later requests 410, nothing is stored")
    func cancel() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withGCS(SimulatorConfiguration(storageDirectory: directory)) { sim, auth in
            let session = try await startSession(sim, auth, name: "doomed.bin", total: 2 * granule)
            #expect(try await put(session, range: "bytes 0-\(granule - 1)/\(2 * granule)", pattern(granule)).status == 308)
            // The session streams to the storage folder's tmp/.
            let parts = try FileManager.default.contentsOfDirectory(atPath: directory + "/tmp")
            #expect(parts.count == 1)
            let size = try FileManager.default.attributesOfItem(atPath: directory + "/tmp/" + parts[0])[.size] as? Int
            #expect(size == granule)

            let cancelled = try await send(.DELETE, session)
            #expect(cancelled.status == 499)
            #expect(cancelled.body.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/tmp").isEmpty)
            let after = try await put(session, range: "bytes \(granule)-\(2 * granule - 1)/\(2 * granule)", pattern(granule))
            #expect(after.status == 410)
            #expect(
                after.text
                    == "{\"error\":{\"code\":410,\"message\":\"The upload session was cancelled; start a new one.\",\"errors\":[{\"message\":\"The upload session was cancelled; start a new one.\",\"domain\":\"global\",\"reason\":\"gone\"}]}}")
            #expect(try await send(.DELETE, session).status == 499)
            let unknown = try await send(
                .PUT, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=resumable&upload_id=nope",
                headers: [("Content-Range", "bytes */1")], body: [])
            #expect(unknown.status == 404)
            #expect(sim.objects(bucket: testBucket).isEmpty)
            #expect(sim.stats().requests["DELETE /upload/storage/v1/b/{bucket}/o"] == 2)
        }
    }

    @Test("streams to the storage folder and survives a restart; uploads of unknown size finish on a status query")
    func persisted() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = SimulatorConfiguration(storageDirectory: directory)
        let data = pattern(2 * granule, seed: 3)
        let resource = try await withGCS(configuration) { sim, auth -> [String: Any] in
            let session = try await startSession(sim, auth, name: "big/one.bin", total: nil)
            #expect(try await put(session, range: "bytes 0-\(granule - 1)/*", Array(data[0..<granule])).status == 308)
            let second = try await put(session, range: "bytes \(granule)-\(2 * granule - 1)/*", Array(data[granule...]))
            #expect(second.status == 308)
            #expect(second.header("Range") == "bytes=0-524287")
            #expect(sim.objects(bucket: testBucket).isEmpty)
            let done = try await put(session, range: "bytes */\(2 * granule)", [])
            #expect(done.status == 200)
            #expect(done.json["size"] as? String == String(2 * granule))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/tmp").isEmpty)
            let generation = try #require(done.json["generation"] as? String)
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/gcs/buckets/\(testBucket)").sorted()
            #expect(files == ["bucket.json", "g\(generation).bin", "g\(generation).json"])
            #expect(try await mediaUpload(sim, auth, name: "small.txt", data: [1, 2]).status == 200)
            #expect(try await send(.DELETE, objectURL(sim, "small.txt"), headers: auth).status == 204)
            return done.json
        }
        try await withGCS(configuration) { sim, auth in
            let got = try await send(.GET, objectURL(sim, "big/one.bin"), headers: auth)
            #expect(got.status == 200)
            for key in ["generation", "md5Hash", "crc32c", "size", "timeCreated", "id"] {
                #expect(got.json[key] as? String == resource[key] as? String, "\(key)")
            }
            #expect(sim.objectContent(bucket: testBucket, name: "big/one.bin") == data)
            #expect(sim.objects(bucket: testBucket).map(\.filename) == ["big/one.bin"])
        }
    }

    @Test("protocol details: empty objects, X-GUploader-No-308, POST chunks, mismatched sizes, no token needed")
    func details() async throws {
        try await withGCS { sim, auth in
            // An empty object: the status query with the total completes it.
            let empty = try await startSession(sim, auth, name: "empty", total: 0)
            let done = try await put(empty, range: "bytes */0", [])
            #expect(done.status == 200)
            #expect(done.json["size"] as? String == "0")
            #expect(done.json["md5Hash"] as? String == "1B2M2Y8AsgTpgAmY7PhCfg==")
            #expect(done.json["crc32c"] as? String == "AAAAAA==")

            let total = granule + 10
            let session = try await startSession(sim, auth, name: "no308", total: total)
            // The session URI needs no Authorization header.
            let quiet = try await put(session, range: "bytes 0-\(granule - 1)/\(total)", pattern(granule), headers: [("X-GUploader-No-308", "yes")])
            #expect(quiet.status == 200)
            #expect(quiet.header("X-HTTP-Status-Code-Override") == "308")
            #expect(quiet.header("Range") == "bytes=0-262143")
            // Declared total and Content-Range must agree.
            let wrongTotal = try await put(session, range: "bytes \(granule)-\(granule + 9)/\(total + 1)", pattern(10))
            #expect(wrongTotal.status == 400)
            // The body must be as long as the range says.
            let wrongLength = try await put(session, range: "bytes \(granule)-\(granule + 9)/\(total)", pattern(5))
            #expect(wrongLength.status == 400)
            let bad = try await put(session, range: "bytes 9-3/\(total)", [])
            #expect(bad.status == 400)
            #expect(bad.error["message"] as? String == "Failed to parse Content-Range header: 'bytes 9-3/\(total)'.")
            // Go's client sends chunks with POST.
            let posted = try await send(
                .POST, session, headers: [("Content-Range", "bytes \(granule)-\(total - 1)/\(total)")],
                body: Array(pattern(total)[granule...]))
            #expect(posted.status == 200)
            #expect(sim.objectContent(bucket: testBucket, name: "no308") == pattern(total))

            // No Content-Range at all: the body is the whole object.
            let whole = try await startSession(sim, auth, name: "whole", total: nil)
            let wholeReply = try await put(whole, range: nil, pattern(1000))
            #expect(wholeReply.status == 200)
            #expect(wholeReply.json["size"] as? String == "1000")

            // Too large for the simulator's limit.
            let tooBig = try await send(
                .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=resumable&name=huge",
                headers: auth + [("X-Upload-Content-Length", String(sim.configuration.maxUploadBytes + 1))])
            #expect(tooBig.status == 413)
        }
    }
}
