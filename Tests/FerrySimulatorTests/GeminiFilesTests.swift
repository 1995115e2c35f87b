import Foundation
import Testing

@testable import FerrySimulator

/// Starts a resumable Gemini upload; returns the session URL.
func geminiStart(_ simulator: Simulator, key: String, name: String, bytes: Int) async throws -> Reply {
    try await send(
        .POST, "\(simulator.geminiBaseURL)/upload/v1beta/files",
        headers: [
            ("x-goog-api-key", key), ("X-Goog-Upload-Protocol", "resumable"), ("X-Goog-Upload-Command", "start"),
            ("X-Goog-Upload-Header-Content-Length", String(bytes)),
            ("X-Goog-Upload-Header-Content-Type", "text/markdown"), ("Content-Type", "application/json"),
        ],
        body: Array(#"{"file":{"display_name":"\#(name)"}}"#.utf8))
}

func geminiChunk(_ session: String, command: String, offset: Int, _ data: [UInt8]) async throws -> Reply {
    try await send(
        .POST, session, headers: [("X-Goog-Upload-Command", command), ("X-Goog-Upload-Offset", String(offset))],
        body: data)
}

@Suite("Gemini files")
struct GeminiFilesTests {
    /// The resumable protocol: start, chunks at the session's offset (a wrong one refused), query, finalize; the
    /// File carries Google's fields; get, list and delete; a missing file answers 403 in Google's envelope.
    @Test func resumableProtocolAndFileShape() async throws {
        try await withSimulator { sim in
            let data = Array("0123456789".utf8)
            let start = try await geminiStart(sim, key: "gk-a", name: "notes.md", bytes: data.count)
            #expect(start.status == 200)
            #expect(start.header("X-Goog-Upload-Status") == "active")
            let session = try #require(start.header("X-Goog-Upload-URL"))
            #expect(session.hasPrefix(sim.geminiBaseURL + "/upload/v1beta/files?upload_id="))

            let first = try await geminiChunk(session, command: "upload", offset: 0, Array(data[0..<4]))
            #expect(first.status == 200 && first.header("X-Goog-Upload-Status") == "active")
            let wrong = try await geminiChunk(session, command: "upload", offset: 2, Array(data[4...]))
            #expect(wrong.status == 400)
            #expect(wrong.error["status"] as? String == "INVALID_ARGUMENT")
            let query = try await send(.POST, session, headers: [("X-Goog-Upload-Command", "query")])
            #expect(query.header("X-Goog-Upload-Size-Received") == "4")
            let final = try await geminiChunk(session, command: "upload, finalize", offset: 4, Array(data[4...]))
            #expect(final.status == 200 && final.header("X-Goog-Upload-Status") == "final")
            let file = try #require(final.json["file"] as? [String: Any])
            let name = try #require(file["name"] as? String)
            #expect(matches(name, "^files/[a-z0-9]{12}$"))
            #expect(file["displayName"] as? String == "notes.md")
            #expect(file["mimeType"] as? String == "text/markdown")
            #expect(file["sizeBytes"] as? String == "10")
            #expect(file["state"] as? String == "ACTIVE")
            #expect(file["source"] as? String == "UPLOADED")
            #expect(file["sha256Hash"] as? String == Data(SHA256Reference.digest(data)).base64EncodedString())
            let created = try #require(file["createTime"] as? String)
            let expires = try #require(file["expirationTime"] as? String)
            let parse = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            #expect(try parse.parse(expires).timeIntervalSince(parse.parse(created)) == 172_800)
            // The finished session answers its file again.
            let again = try await send(.POST, session, headers: [("X-Goog-Upload-Command", "query")])
            #expect(again.header("X-Goog-Upload-Status") == "final")

            let key = [("x-goog-api-key", "gk-a")]
            let get = try await send(.GET, "\(sim.geminiBaseURL)/v1beta/\(name)", headers: key)
            #expect(get.json["name"] as? String == name)
            let list = try await send(.GET, "\(sim.geminiBaseURL)/v1beta/files", headers: key)
            #expect((list.json["files"] as? [[String: Any]])?.count == 1 && list.json["nextPageToken"] == nil)
            let other = try await send(.GET, "\(sim.geminiBaseURL)/v1beta/\(name)", headers: [("x-goog-api-key", "gk-b")])
            #expect(other.status == 403)
            #expect(other.error["status"] as? String == "PERMISSION_DENIED")
            #expect(other.error["code"] as? Int == 403)
            let delete = try await send(.DELETE, "\(sim.geminiBaseURL)/v1beta/\(name)", headers: key)
            #expect(delete.status == 200 && delete.text == "{}")
            #expect(try await send(.DELETE, "\(sim.geminiBaseURL)/v1beta/\(name)", headers: key).status == 403)
            #expect(try await send(.GET, "\(sim.geminiBaseURL)/v1beta/files", headers: key).text == "{}")
        }
    }

    /// No key: 403 PERMISSION_DENIED; the finalize must match the announced length; pageSize is coerced to 100.
    @Test func refusals() async throws {
        try await withSimulator { sim in
            let bare = try await send(.GET, "\(sim.geminiBaseURL)/v1beta/files")
            #expect(bare.status == 403 && bare.error["status"] as? String == "PERMISSION_DENIED")
            let start = try await geminiStart(sim, key: "gk", name: "a.md", bytes: 5)
            let session = try #require(start.header("X-Goog-Upload-URL"))
            let short = try await geminiChunk(session, command: "upload, finalize", offset: 0, [1, 2, 3])
            #expect(short.status == 400)
            for index in 0..<120 {
                sim.seedFile(apiKey: "gk", flavor: .gemini, filename: "f\(index)", purpose: "", data: [1])
            }
            let page = try await send(.GET, "\(sim.geminiBaseURL)/v1beta/files?pageSize=500", headers: [("x-goog-api-key", "gk")])
            #expect((page.json["files"] as? [[String: Any]])?.count == 100)
            #expect(page.json["nextPageToken"] is String)
        }
    }

    /// Injected 429s use Google's RESOURCE_EXHAUSTED envelope.
    @Test func rateLimitEnvelope() async throws {
        var plan = FaultPlan()
        plan.failNext = ["list": [429]]
        try await withSimulator(SimulatorConfiguration(faults: plan)) { sim in
            let reply = try await send(.GET, "\(sim.geminiBaseURL)/v1beta/files", headers: [("x-goog-api-key", "gk")])
            #expect(reply.status == 429)
            #expect(reply.error["status"] as? String == "RESOURCE_EXHAUSTED")
            #expect(reply.error["code"] as? Int == 429)
        }
    }
}

/// SHA-256 through the simulator's own helper (hex), as raw bytes.
enum SHA256Reference {
    static func digest(_ data: [UInt8]) -> [UInt8] {
        let hex = Array(Digests.sha256Hex(data).utf8)
        return stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}
