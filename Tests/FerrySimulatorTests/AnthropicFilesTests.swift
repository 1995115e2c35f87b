import Foundation
import Testing

@testable import FerrySimulator

/// The headers every Anthropic Files call needs.
func anthropicHeaders(_ key: String) -> [(String, String)] {
    [("x-api-key", key), ("anthropic-version", "2023-06-01"), ("anthropic-beta", "files-api-2025-04-14")]
}

/// POST /anthropic/v1/files with one `file` part.
func anthropicUpload(
    _ simulator: Simulator, key: String, filename: String, data: [UInt8], headers: [(String, String)]? = nil
) async throws -> Reply {
    var form = Multipart()
    form.file("file", dispositionFilename: "\"\(filename)\"", data: data, type: "text/plain")
    return try await send(
        .POST, "\(simulator.anthropicBaseURL)/v1/files",
        headers: (headers ?? anthropicHeaders(key)) + [("Content-Type", form.contentType)], body: form.finished())
}

@Suite("Anthropic Files API")
struct AnthropicFilesTests {
    /// Create, list, retrieve and delete answer Anthropic's FileMetadata and deletion shapes under /anthropic.
    @Test func roundTrip() async throws {
        try await withSimulator { sim in
            #expect(sim.anthropicBaseURL.hasSuffix("/anthropic"))
            let data = Array("# Handbook\n".utf8)
            let created = try await anthropicUpload(sim, key: "ant-a", filename: "handbook.md", data: data)
            #expect(created.status == 200)
            let file = created.json
            let id = try #require(file["id"] as? String)
            #expect(matches(id, "^file_011[A-Za-z0-9]{21}$"))
            #expect(file["type"] as? String == "file")
            #expect(file["filename"] as? String == "handbook.md")
            #expect(file["mime_type"] as? String == "text/plain")
            #expect(file["size_bytes"] as? Int == data.count)
            #expect(file["downloadable"] as? Bool == false)
            #expect(file["purpose"] == nil && file["object"] == nil && file["status"] == nil)
            let createdAt = try #require(file["created_at"] as? String)
            #expect(matches(createdAt, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))

            let list = try await send(.GET, "\(sim.anthropicBaseURL)/v1/files", headers: anthropicHeaders("ant-a"))
            #expect(list.status == 200)
            #expect(list.ids == [id])
            #expect(list.json["has_more"] as? Bool == false)
            #expect(list.json["first_id"] as? String == id)
            #expect(list.json["last_id"] as? String == id)
            #expect(list.json["object"] == nil)

            let retrieved = try await send(
                .GET, "\(sim.anthropicBaseURL)/v1/files/\(id)", headers: anthropicHeaders("ant-a"))
            #expect(retrieved.status == 200)
            #expect(retrieved.json["size_bytes"] as? Int == data.count)
            #expect(sim.files(apiKey: "ant-a", flavor: .anthropic).map(\.id) == [id])
            #expect(sim.fileContent(apiKey: "ant-a", flavor: .anthropic, id: id) == data)

            let deleted = try await send(
                .DELETE, "\(sim.anthropicBaseURL)/v1/files/\(id)", headers: anthropicHeaders("ant-a"))
            #expect(deleted.status == 200)
            #expect(deleted.text == "{\"id\":\"\(id)\",\"type\":\"file_deleted\"}")
            let gone = try await send(.GET, "\(sim.anthropicBaseURL)/v1/files/\(id)", headers: anthropicHeaders("ant-a"))
            #expect(gone.status == 404)
            #expect(gone.json["type"] as? String == "error")
            #expect(gone.error["type"] as? String == "not_found_error")
            #expect(gone.json["request_id"] is String)
        }
    }

    /// Each key is its own workspace, and Anthropic's files never show up in OpenAI's listing on the same port.
    @Test func tenantsAndFlavorsAreApart() async throws {
        try await withSimulator { sim in
            _ = try await anthropicUpload(sim, key: "ant-a", filename: "a.md", data: [1])
            let other = try await send(.GET, "\(sim.anthropicBaseURL)/v1/files", headers: anthropicHeaders("ant-b"))
            #expect(other.ids.isEmpty)
            let openAI = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("ant-a"))
            #expect(openAI.ids.isEmpty)
        }
    }

    /// A missing x-api-key is 401, a missing anthropic-version or Files beta 400, all in Anthropic's error shape.
    @Test func requiredHeaders() async throws {
        try await withSimulator { sim in
            let url = "\(sim.anthropicBaseURL)/v1/files"
            let noKey = try await send(.GET, url, headers: Array(anthropicHeaders("k").dropFirst()))
            #expect(noKey.status == 401)
            #expect(noKey.json["type"] as? String == "error")
            #expect(noKey.error["type"] as? String == "authentication_error")
            let bearerOnly = try await send(.GET, url, headers: bearer("k") + Array(anthropicHeaders("k").dropFirst()))
            #expect(bearerOnly.status == 401)

            let noVersion = try await send(.GET, url, headers: anthropicHeaders("k").filter { $0.0 != "anthropic-version" })
            #expect(noVersion.status == 400)
            #expect(noVersion.error["type"] as? String == "invalid_request_error")
            #expect((noVersion.error["message"] as? String ?? "").contains("anthropic-version"))

            let noBeta = try await send(.GET, url, headers: anthropicHeaders("k").filter { $0.0 != "anthropic-beta" })
            #expect(noBeta.status == 400)
            #expect((noBeta.error["message"] as? String ?? "").contains("files-api-2025-04-14"))
            let otherBetas = try await send(
                .GET, url,
                headers: anthropicHeaders("k").filter { $0.0 != "anthropic-beta" }
                    + [("anthropic-beta", "some-beta-2025-01-01, files-api-2025-04-14")])
            #expect(otherBetas.status == 200)

            let refused = try await anthropicUpload(
                sim, key: "k", filename: "a.md", data: [1], headers: anthropicHeaders("k").filter { $0.0 != "anthropic-beta" })
            #expect(refused.status == 400)
            #expect(sim.files(apiKey: "k", flavor: .anthropic).isEmpty)
        }
    }

    /// Pages run newest first: after_id walks to older files, before_id back to newer ones, with has_more,
    /// first_id and last_id; limit is 1…1000.
    @Test func pagination() async throws {
        try await withSimulator { sim in
            let ids = (0..<5).map { n in
                sim.seedFile(
                    apiKey: "k", flavor: .anthropic, filename: "f\(n).md", purpose: "", data: [UInt8(n)],
                    createdAt: 1_700_000_000 + Int64(n)
                ).id
            }
            let newestFirst = Array(ids.reversed())
            let base = "\(sim.anthropicBaseURL)/v1/files"
            let first = try await send(.GET, base + "?limit=2", headers: anthropicHeaders("k"))
            #expect(first.ids == Array(newestFirst[0..<2]))
            #expect(first.json["has_more"] as? Bool == true)
            #expect(first.json["last_id"] as? String == newestFirst[1])
            let second = try await send(.GET, base + "?limit=2&after_id=\(newestFirst[1])", headers: anthropicHeaders("k"))
            #expect(second.ids == Array(newestFirst[2..<4]))
            #expect(second.json["has_more"] as? Bool == true)
            let last = try await send(.GET, base + "?limit=2&after_id=\(newestFirst[3])", headers: anthropicHeaders("k"))
            #expect(last.ids == [newestFirst[4]])
            #expect(last.json["has_more"] as? Bool == false)

            let back = try await send(.GET, base + "?limit=2&before_id=\(newestFirst[3])", headers: anthropicHeaders("k"))
            #expect(back.ids == Array(newestFirst[1..<3]))
            #expect(back.json["has_more"] as? Bool == true)
            #expect(back.json["first_id"] as? String == newestFirst[1])
            let top = try await send(.GET, base + "?limit=2&before_id=\(newestFirst[1])", headers: anthropicHeaders("k"))
            #expect(top.ids == [newestFirst[0]])
            #expect(top.json["has_more"] as? Bool == false)

            let defaultPage = try await send(.GET, base, headers: anthropicHeaders("k"))
            #expect(defaultPage.ids == newestFirst)
            for bad in ["0", "1001", "x"] {
                let reply = try await send(.GET, base + "?limit=\(bad)", headers: anthropicHeaders("k"))
                #expect(reply.status == 400)
            }
            let both = try await send(
                .GET, base + "?after_id=\(ids[0])&before_id=\(ids[1])", headers: anthropicHeaders("k"))
            #expect(both.status == 400)
        }
    }

    /// Files over the per-file limit answer 413 request_too_large; names Anthropic forbids answer 400.
    @Test func limits() async throws {
        try await withSimulator(SimulatorConfiguration(maxUploadBytes: 1000)) { sim in
            let big = try await anthropicUpload(sim, key: "k", filename: "big.bin", data: [UInt8](repeating: 7, count: 1001))
            #expect(big.status == 413)
            #expect(big.error["type"] as? String == "request_too_large")
            let badName = try await anthropicUpload(sim, key: "k", filename: "a:b.md", data: [1])
            #expect(badName.status == 400)
            #expect(sim.files(apiKey: "k", flavor: .anthropic).isEmpty)
        }
        #expect(SimulatorRoutes.anthropicMaxFileBytes == 500_000_000)
    }

    /// The shared fault pipeline applies: scripted 529 overloaded_error with retry-after, and accept-then-fail.
    @Test func faults() async throws {
        var plan = FaultPlan()
        plan.failNext = ["list": [529], "create": [429]]
        plan.retryAfterSeconds = 3
        try await withSimulator(SimulatorConfiguration(faults: plan)) { sim in
            let base = "\(sim.anthropicBaseURL)/v1/files"
            let overloaded = try await send(.GET, base, headers: anthropicHeaders("k"))
            #expect(overloaded.status == 529)
            #expect(overloaded.error["type"] as? String == "overloaded_error")
            #expect(overloaded.header("Retry-After") == "3")
            let limited = try await anthropicUpload(sim, key: "k", filename: "a.md", data: [1])
            #expect(limited.status == 429)
            #expect(limited.error["type"] as? String == "rate_limit_error")
            #expect(sim.files(apiKey: "k", flavor: .anthropic).isEmpty)

            var accepting = FaultPlan()
            accepting.acceptThenFailRate = 1
            sim.setFaults(accepting)
            let failed = try await anthropicUpload(sim, key: "k", filename: "a.md", data: [1])
            #expect(failed.status == 500)
            #expect(failed.error["type"] as? String == "api_error")
            #expect(sim.files(apiKey: "k", flavor: .anthropic).count == 1)
            #expect(sim.stats().requests["POST /anthropic/v1/files"] == 2)
        }
    }
}
