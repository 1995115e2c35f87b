import Foundation
import Testing

@testable import FerrySimulator

@Suite("OpenAI Files API")
struct OpenAIFilesTests {
    @Test("create, list, retrieve, content, delete round trip")
    func roundTrip() async throws {
        try await withSimulator { sim in
            let data = Array("{\"prompt\":\"hi\"}\n".utf8)
            let created = try await upload(sim, key: "sk-a", filename: "train.jsonl", purpose: "fine-tune", data: data)
            #expect(created.status == 200)
            let file = created.json
            let id = try #require(file["id"] as? String)
            #expect(matches(id, "^file-[A-Za-z0-9]{24}$"))
            #expect(file["object"] as? String == "file")
            #expect(file["bytes"] as? Int == data.count)
            #expect(file["filename"] as? String == "train.jsonl")
            #expect(file["purpose"] as? String == "fine-tune")
            #expect(file["status"] as? String == "processed")
            #expect(file["expires_at"] is NSNull)
            #expect(file["status_details"] is NSNull)
            let createdAt = try #require(file["created_at"] as? Int)
            #expect(abs(createdAt - Int(Date().timeIntervalSince1970)) <= 5)
            #expect(created.header("x-request-id")?.hasPrefix("req_") == true)

            let list = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("sk-a"))
            #expect(list.status == 200)
            #expect(list.json["object"] as? String == "list")
            #expect(list.ids == [id])
            #expect(list.json["first_id"] as? String == id)
            #expect(list.json["last_id"] as? String == id)
            #expect(list.json["has_more"] as? Bool == false)

            let retrieved = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-a"))
            #expect(retrieved.status == 200)
            #expect(retrieved.json["id"] as? String == id)
            #expect(retrieved.json["bytes"] as? Int == data.count)

            let content = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)/content", headers: bearer("sk-a"))
            #expect(content.status == 200)
            #expect(content.body == data)
            #expect(content.header("Content-Type") == "application/octet-stream")

            let inspected = sim.files(apiKey: "sk-a")
            #expect(inspected.count == 1)
            #expect(inspected.first?.sha256 == Digests.sha256Hex(data))
            #expect(inspected.first?.bytes == Int64(data.count))
            #expect(sim.fileContent(apiKey: "sk-a", id: id) == data)

            let deleted = try await send(.DELETE, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-a"))
            #expect(deleted.status == 200)
            #expect(deleted.text == "{\"id\":\"\(id)\",\"object\":\"file\",\"deleted\":true}")

            let gone = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-a"))
            #expect(gone.status == 404)
            let again = try await send(.DELETE, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-a"))
            #expect(again.status == 404)
            let empty = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("sk-a"))
            #expect(empty.ids == [])
            #expect(empty.json["first_id"] is NSNull)
            #expect(empty.json["last_id"] is NSNull)
            #expect(sim.files(apiKey: "sk-a").isEmpty)
        }
    }

    @Test("pagination with limit and after, both orders, ties broken by id")
    func pagination() async throws {
        try await withSimulator { sim in
            // Two files share created_at 1000: they are ordered by id.
            let stamps: [Int64] = [1003, 1000, 1005, 1000, 1001, 1004, 1002]
            var seeded: [SimulatedFile] = []
            for (index, stamp) in stamps.enumerated() {
                seeded.append(
                    sim.seedFile(
                        apiKey: "k", filename: "f\(index).txt", purpose: "assistants", data: [UInt8(index)],
                        createdAt: stamp))
            }
            let ascending = seeded.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map(\.id)
            let descending = Array(ascending.reversed())

            func walk(_ order: String?) async throws -> ([String], [Bool]) {
                var ids: [String] = []
                var flags: [Bool] = []
                var after: String?
                repeat {
                    var url = "\(sim.openAIBaseURL)/files?limit=3"
                    if let order { url += "&order=\(order)" }
                    if let after { url += "&after=\(after)" }
                    let page = try await send(.GET, url, headers: bearer("k"))
                    #expect(page.status == 200)
                    ids += page.ids
                    flags.append(page.json["has_more"] as? Bool ?? false)
                    #expect(page.json["last_id"] as? String == page.ids.last)
                    after = page.json["has_more"] as? Bool == true ? page.ids.last : nil
                } while after != nil
                return (ids, flags)
            }

            let (asc, ascFlags) = try await walk("asc")
            #expect(asc == ascending)
            #expect(ascFlags == [true, true, false])
            let (desc, descFlags) = try await walk("desc")
            #expect(desc == descending)
            #expect(descFlags == [true, true, false])
            let (defaultOrder, _) = try await walk(nil)
            #expect(defaultOrder == descending)

            // A cursor whose file was deleted meanwhile keeps its place.
            sim.removeFile(apiKey: "k", id: ascending[2])
            let afterDeleted = try await send(
                .GET, "\(sim.openAIBaseURL)/files?order=asc&after=\(ascending[2])", headers: bearer("k"))
            #expect(afterDeleted.ids == Array(ascending[3...]))

            // The purpose filter applies before the limit.
            sim.seedFile(apiKey: "k", filename: "b.jsonl", purpose: "batch", data: [1], createdAt: 999)
            let batch = try await send(.GET, "\(sim.openAIBaseURL)/files?purpose=batch&limit=1", headers: bearer("k"))
            #expect(batch.data.map { $0["filename"] as? String } == ["b.jsonl"])
            #expect(batch.json["has_more"] as? Bool == false)
        }
    }

    @Test("list parameters out of range answer 400 with the parameter named")
    func listValidation() async throws {
        try await withSimulator { sim in
            for (query, param) in [
                ("limit=0", "limit"), ("limit=10001", "limit"), ("limit=ten", "limit"), ("order=up", "order"),
                ("after=file-unknown", "after"),
            ] {
                let reply = try await send(.GET, "\(sim.openAIBaseURL)/files?\(query)", headers: bearer("k"))
                #expect(reply.status == 400, "\(query)")
                #expect(reply.error["type"] as? String == "invalid_request_error", "\(query)")
                #expect(reply.error["param"] as? String == param, "\(query)")
            }
            let max = try await send(.GET, "\(sim.openAIBaseURL)/files?limit=10000", headers: bearer("k"))
            #expect(max.status == 200)
        }
    }

    @Test("purpose is required and must be one OpenAI accepts")
    func purposeValidation() async throws {
        try await withSimulator { sim in
            for purpose in Purposes.openai {
                let ok = try await upload(sim, key: "k", filename: "\(purpose).txt", purpose: purpose, data: [1, 2])
                #expect(ok.status == 200, "\(purpose)")
            }
            let bad = try await upload(sim, key: "k", filename: "x.txt", purpose: "fine-tune-results", data: [1])
            #expect(bad.status == 400)
            #expect(bad.error["type"] as? String == "invalid_request_error")
            #expect(bad.error["param"] as? String == "purpose")

            var noPurpose = Multipart()
            noPurpose.file(filename: "x.txt", data: [1])
            let missing = try await send(
                .POST, "\(sim.openAIBaseURL)/files", headers: bearer("k") + [("Content-Type", noPurpose.contentType)],
                body: noPurpose.finished())
            #expect(missing.status == 400)
            #expect(missing.error["param"] as? String == "purpose")

            var noFile = Multipart()
            noFile.field("purpose", "assistants")
            let missingFile = try await send(
                .POST, "\(sim.openAIBaseURL)/files", headers: bearer("k") + [("Content-Type", noFile.contentType)],
                body: noFile.finished())
            #expect(missingFile.status == 400)
            #expect(missingFile.error["param"] as? String == "file")

            let notMultipart = try await send(
                .POST, "\(sim.openAIBaseURL)/files", headers: bearer("k") + [("Content-Type", "application/json")],
                body: Array("{}".utf8))
            #expect(notMultipart.status == 400)
            #expect(sim.files(apiKey: "k").count == Purposes.openai.count)
        }
    }

    @Test("unknown ids answer 404 with OpenAI's exact envelope")
    func notFoundEnvelope() async throws {
        try await withSimulator { sim in
            let expected =
                "{\"error\":{\"message\":\"No such File object: file-nope\",\"type\":\"invalid_request_error\",\"param\":\"id\",\"code\":null}}"
            for (method, path) in [(Method.GET, "/files/file-nope"), (.DELETE, "/files/file-nope"), (.GET, "/files/file-nope/content")] {
                let reply = try await send(method, sim.openAIBaseURL + path, headers: bearer("k"))
                #expect(reply.status == 404)
                #expect(reply.text == expected)
                #expect(reply.header("Content-Type") == "application/json")
            }
        }
    }

    @Test("a missing or empty key answers 401")
    func unauthorized() async throws {
        try await withSimulator { sim in
            for headers in [[], [("Authorization", "Bearer ")], [("Authorization", "Basic abc")], [("api-key", "k")]] {
                let reply = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: headers)
                #expect(reply.status == 401)
                #expect(reply.error["type"] as? String == "invalid_request_error")
                #expect((reply.error["message"] as? String)?.contains("API key") == true)
                #expect(reply.error["code"] is NSNull)
            }
            let post = try await upload(sim, key: "", filename: "a.txt", data: [1])
            #expect(post.status == 401)
            #expect(sim.stats().responses["401"] == 5)
        }
    }

    @Test("each key is its own account")
    func tenantIsolation() async throws {
        try await withSimulator { sim in
            let created = try await upload(sim, key: "sk-alice", filename: "a.txt", data: [1, 2, 3])
            let id = try #require(created.json["id"] as? String)
            let bobList = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("sk-bob"))
            #expect(bobList.ids == [])
            #expect(try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-bob")).status == 404)
            #expect(try await send(.DELETE, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("sk-bob")).status == 404)
            #expect(
                try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)/content", headers: bearer("sk-bob")).status == 404)
            // The same key on Azure is another namespace.
            let azure = try await send(
                .GET, "\(sim.azureEndpoint)/openai/files?api-version=2024-10-21", headers: [("api-key", "sk-alice")])
            #expect(azure.ids == [])
            #expect(sim.files(apiKey: "sk-alice").map(\.id) == [id])
            #expect(sim.files(apiKey: "sk-bob").isEmpty)
            #expect(sim.files(apiKey: "sk-alice", flavor: .azure).isEmpty)
        }
    }

    @Test("filenames with quotes, backslashes and Unicode survive")
    func awkwardFilenames() async throws {
        try await withSimulator { sim in
            let name = "he said \"hi\" \\ ünïcødé ✓ 文件.txt"
            let created = try await upload(sim, key: "k", filename: name, data: Array("x".utf8))
            #expect(created.status == 200)
            #expect(created.json["filename"] as? String == name)
            let listed = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(listed.data.first?["filename"] as? String == name)
            #expect(sim.files(apiKey: "k").first?.filename == name)

            // RFC 5987 filename* wins over filename.
            var form = Multipart()
            form.field("purpose", "assistants")
            form.file("file", dispositionFilename: "\"fallback.txt\"; filename*=UTF-8''na%C3%AFve%20%22q%22.txt", data: [1])
            let extended = try await send(
                .POST, "\(sim.openAIBaseURL)/files", headers: bearer("k") + [("Content-Type", form.contentType)],
                body: form.finished())
            #expect(extended.json["filename"] as? String == "naïve \"q\".txt")
        }
    }

    @Test("uploads over maxUploadBytes answer 413 and store nothing")
    func tooLarge() async throws {
        var configuration = SimulatorConfiguration()
        configuration.maxUploadBytes = 1000
        try await withSimulator(configuration) { sim in
            let ok = try await upload(sim, key: "k", filename: "ok.bin", data: [UInt8](repeating: 7, count: 1000))
            #expect(ok.status == 200)
            let big = try await upload(sim, key: "k", filename: "big.bin", data: [UInt8](repeating: 7, count: 5000))
            #expect(big.status == 413)
            #expect(big.error["param"] as? String == "file")
            #expect(sim.files(apiKey: "k").map(\.filename) == ["ok.bin"])
        }
    }

    @Test("status is uploaded until the processing delay has passed")
    func processingDelay() async throws {
        var configuration = SimulatorConfiguration()
        configuration.processingDelay = .milliseconds(600)
        try await withSimulator(configuration) { sim in
            let created = try await upload(sim, key: "k", filename: "a.txt", data: [1])
            #expect(created.json["status"] as? String == "uploaded")
            let id = try #require(created.json["id"] as? String)
            try await Task.sleep(for: .milliseconds(900))
            let later = try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("k"))
            #expect(later.json["status"] as? String == "processed")
        }
    }

    @Test("expires_after sets expires_at")
    func expiresAfter() async throws {
        try await withSimulator { sim in
            var form = Multipart()
            form.field("purpose", "batch")
            form.field("expires_after[anchor]", "created_at")
            form.field("expires_after[seconds]", "3600")
            form.file(filename: "b.jsonl", data: [1])
            let reply = try await send(
                .POST, "\(sim.openAIBaseURL)/files", headers: bearer("k") + [("Content-Type", form.contentType)],
                body: form.finished())
            #expect(reply.status == 200)
            let created = try #require(reply.json["created_at"] as? Int)
            #expect(reply.json["expires_at"] as? Int == created + 3600)

            var bad = Multipart()
            bad.field("purpose", "batch")
            bad.field("expires_after[anchor]", "created_at")
            bad.field("expires_after[seconds]", "10")
            bad.file(filename: "b.jsonl", data: [1])
            let rejected = try await send(
                .POST, "\(sim.openAIBaseURL)/files", headers: bearer("k") + [("Content-Type", bad.contentType)],
                body: bad.finished())
            #expect(rejected.status == 400)
            #expect(rejected.error["param"] as? String == "expires_after")
        }
    }

    @Test("restrictDownloads refuses assistants content like OpenAI")
    func restrictedDownloads() async throws {
        var configuration = SimulatorConfiguration()
        configuration.restrictDownloads = true
        try await withSimulator(configuration) { sim in
            let a = try await upload(sim, key: "k", filename: "a.txt", purpose: "assistants", data: [1])
            let b = try await upload(sim, key: "k", filename: "b.jsonl", purpose: "batch", data: [2])
            let idA = try #require(a.json["id"] as? String)
            let idB = try #require(b.json["id"] as? String)
            let refused = try await send(.GET, "\(sim.openAIBaseURL)/files/\(idA)/content", headers: bearer("k"))
            #expect(refused.status == 400)
            #expect(refused.error["message"] as? String == "Not allowed to download files of purpose: assistants")
            let allowed = try await send(.GET, "\(sim.openAIBaseURL)/files/\(idB)/content", headers: bearer("k"))
            #expect(allowed.body == [2])
        }
    }
}
