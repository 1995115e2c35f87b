import Foundation
import Testing

@testable import FerrySimulator

@Suite("OpenAI Uploads API")
struct UploadsTests {
    func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object))
    }

    func createUpload(_ sim: Simulator, bytes: Int, filename: String = "big.jsonl") async throws -> String {
        let reply = try await send(
            .POST, "\(sim.openAIBaseURL)/uploads", headers: bearer("k") + [("Content-Type", "application/json")],
            body: try json(["filename": filename, "purpose": "batch", "bytes": bytes, "mime_type": "text/jsonl"]))
        #expect(reply.status == 200)
        #expect(reply.json["object"] as? String == "upload")
        #expect(reply.json["status"] as? String == "pending")
        #expect(reply.json["bytes"] as? Int == bytes)
        #expect(reply.json["file"] is NSNull)
        let created = try #require(reply.json["created_at"] as? Int)
        #expect(reply.json["expires_at"] as? Int == created + 3600)
        let id = try #require(reply.json["id"] as? String)
        #expect(matches(id, "^upload_[A-Za-z0-9]{24}$"))
        return id
    }

    func addPart(_ sim: Simulator, _ upload: String, _ data: [UInt8]) async throws -> Reply {
        var form = Multipart()
        form.file("data", filename: "blob", data: data)
        return try await send(
            .POST, "\(sim.openAIBaseURL)/uploads/\(upload)/parts",
            headers: bearer("k") + [("Content-Type", form.contentType)], body: form.finished())
    }

    func complete(_ sim: Simulator, _ upload: String, _ parts: [String], md5: String? = nil) async throws -> Reply {
        var body: [String: Any] = ["part_ids": parts]
        if let md5 { body["md5"] = md5 }
        return try await send(
            .POST, "\(sim.openAIBaseURL)/uploads/\(upload)/complete",
            headers: bearer("k") + [("Content-Type", "application/json")], body: try json(body))
    }

    @Test("parts are joined in the order given at completion")
    func completeInOrder() async throws {
        try await withSimulator { sim in
            let upload = try await createUpload(sim, bytes: 10)
            let first = try await addPart(sim, upload, Array("hello".utf8))
            #expect(first.status == 200)
            #expect(first.json["object"] as? String == "upload.part")
            #expect(first.json["upload_id"] as? String == upload)
            let p1 = try #require(first.json["id"] as? String)
            #expect(matches(p1, "^part_[A-Za-z0-9]{24}$"))
            let p2 = try #require(try await addPart(sim, upload, Array("world".utf8)).json["id"] as? String)

            // md5 of "worldhello" is checked when given.
            let wrongMD5 = try await complete(sim, upload, [p2, p1], md5: "00000000000000000000000000000000")
            #expect(wrongMD5.status == 400)
            #expect(wrongMD5.error["param"] as? String == "md5")

            let done = try await complete(sim, upload, [p2, p1], md5: "5acd1fb6f07255681a2f6187123c0d39")
            #expect(done.status == 200)
            #expect(done.json["status"] as? String == "completed")
            let file = try #require(done.json["file"] as? [String: Any])
            let fileID = try #require(file["id"] as? String)
            #expect(file["bytes"] as? Int == 10)
            #expect(file["filename"] as? String == "big.jsonl")
            #expect(file["purpose"] as? String == "batch")
            #expect(sim.fileContent(apiKey: "k", id: fileID) == Array("worldhello".utf8))
            let list = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(list.ids == [fileID])

            let twice = try await complete(sim, upload, [p2, p1])
            #expect(twice.status == 400)
            #expect(sim.stats().requests["POST /v1/uploads/{id}/parts"] == 2)
            #expect(sim.stats().requests["POST /v1/uploads/{id}/complete"] == 3)
        }
    }

    @Test("completion fails when the bytes differ from the declared total")
    func byteMismatch() async throws {
        try await withSimulator { sim in
            let upload = try await createUpload(sim, bytes: 6)
            let part = try #require(try await addPart(sim, upload, [1, 2, 3]).json["id"] as? String)
            let short = try await complete(sim, upload, [part])
            #expect(short.status == 400)
            #expect(short.error["type"] as? String == "invalid_request_error")
            let unknown = try await complete(sim, upload, [part, "part_nope"])
            #expect(unknown.status == 400)
            let twice = try await complete(sim, upload, [part, part])
            #expect(twice.status == 400)
            // Still pending: one more part completes it.
            let more = try #require(try await addPart(sim, upload, [4, 5, 6]).json["id"] as? String)
            let done = try await complete(sim, upload, [part, more])
            #expect(done.status == 200)
            #expect(sim.files(apiKey: "k").first?.sha256 == Digests.sha256Hex([1, 2, 3, 4, 5, 6]))
        }
    }

    @Test("cancel, unknown uploads and invalid creates")
    func cancelAndErrors() async throws {
        try await withSimulator { sim in
            let upload = try await createUpload(sim, bytes: 3)
            let part = try #require(try await addPart(sim, upload, [1, 2, 3]).json["id"] as? String)
            let cancelled = try await send(.POST, "\(sim.openAIBaseURL)/uploads/\(upload)/cancel", headers: bearer("k"))
            #expect(cancelled.status == 200)
            #expect(cancelled.json["status"] as? String == "cancelled")
            #expect(try await complete(sim, upload, [part]).status == 400)
            #expect(try await addPart(sim, upload, [1]).status == 400)
            #expect(sim.files(apiKey: "k").isEmpty)

            let missing = try await send(.POST, "\(sim.openAIBaseURL)/uploads/upload_nope/cancel", headers: bearer("k"))
            #expect(missing.status == 404)
            #expect(missing.error["message"] as? String == "No such Upload object: upload_nope")

            let badPurpose = try await send(
                .POST, "\(sim.openAIBaseURL)/uploads", headers: bearer("k"),
                body: try json(["filename": "a", "purpose": "nope", "bytes": 1, "mime_type": "text/plain"]))
            #expect(badPurpose.status == 400)
            #expect(badPurpose.error["param"] as? String == "purpose")
            let noBytes = try await send(
                .POST, "\(sim.openAIBaseURL)/uploads", headers: bearer("k"),
                body: try json(["filename": "a", "purpose": "batch", "mime_type": "text/plain"]))
            #expect(noBytes.error["param"] as? String == "bytes")
            let notJSON = try await send(.POST, "\(sim.openAIBaseURL)/uploads", headers: bearer("k"), body: Array("{".utf8))
            #expect(notJSON.status == 400)
            // Another tenant cannot see the upload.
            let other = try await send(.POST, "\(sim.openAIBaseURL)/uploads/\(upload)/cancel", headers: bearer("other"))
            #expect(other.status == 404)
        }
    }

    @Test("uploads work with a storage directory")
    func uploadsOnDisk() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withSimulator(SimulatorConfiguration(storageDirectory: directory)) { sim in
            let a = [UInt8](repeating: 0xAB, count: 200_000)
            let b = [UInt8](repeating: 0xCD, count: 100_001)
            let upload = try await createUpload(sim, bytes: a.count + b.count)
            let pa = try #require(try await addPart(sim, upload, a).json["id"] as? String)
            let pb = try #require(try await addPart(sim, upload, b).json["id"] as? String)
            let done = try await complete(sim, upload, [pa, pb])
            let fileID = try #require((done.json["file"] as? [String: Any])?["id"] as? String)
            #expect(sim.fileContent(apiKey: "k", id: fileID) == a + b)
            // Part files are gone once the upload is complete.
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/tmp")
            #expect(leftovers.isEmpty)
        }
    }
}
