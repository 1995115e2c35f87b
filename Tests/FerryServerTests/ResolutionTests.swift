import FerryCore
import FerryStore
import FerryTestSupport
import Foundation
import Hummingbird
import HummingbirdCore
import Testing

@testable import FerryServer

/// `GET /api/v1/resolve/{unified_id}`: a unified id and a deployment's provider parameters to the provider file id.
@Suite("Status server: resolution API for gateways")
struct ResolutionTests {
    static let handbookID = UnifiedID.make(for: "employee-handbook")
    static let openAIBase = "http://127.0.0.1:8089/v1"
    static let azureBase = "http://127.0.0.1:8090"

    static func path(
        _ id: String, provider: String? = "openai", apiBase: String? = openAIBase, bucket: String? = nil,
        model: String? = nil
    ) -> String {
        var items: [URLQueryItem] = []
        if let provider { items.append(URLQueryItem(name: "provider", value: provider)) }
        if let apiBase { items.append(URLQueryItem(name: "api_base", value: apiBase)) }
        if let bucket { items.append(URLQueryItem(name: "bucket", value: bucket)) }
        if let model { items.append(URLQueryItem(name: "model", value: model)) }
        var components = URLComponents()
        components.path = "/api/v1/resolve/\(id)"
        components.queryItems = items
        // URLComponents leaves `+`, `:` and `/` alone in queries; the server decodes them all the same.
        return components.string!
    }

    /// Each placement state of the fixture gives its own answer, on both backends, behind the token.
    @Test(arguments: StateBackend.all) func answersEachState(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        let token = "resolve-token"
        try await withServer(database, token: token) { port in
            func get(_ path: String) async throws -> Reply { try await send(port: port, path, headers: bearer(token)) }

            let openAI = try await get(Self.path(Self.handbookID))
            #expect(openAI.status == 200, "\(openAI.text)")
            #expect(same(openAI.json["provider_file_id"], "file-aaa"))
            #expect(same(openAI.json["object"], "ferry.file_resolution"))
            #expect(same(openAI.json["name"], "employee-handbook"))
            #expect(same(openAI.json["provider"], "openai"))
            #expect(same(openAI.json["models"], ["gpt-4o", "gpt-4o-mini"]))
            #expect(same(openAI.json["endpoint"], "openai \(Self.openAIBase)"))
            // Spelled as LiteLLM users write it: trailing slash, upper-case host.
            let spelled = try await get(Self.path(Self.handbookID, apiBase: "HTTP://127.0.0.1:8089/v1/"))
            #expect(same(spelled.json["provider_file_id"], "file-aaa"), "\(spelled.text)")

            for base in [Self.azureBase, Self.azureBase + "/", Self.azureBase + "/openai", Self.azureBase + "/openai/"] {
                let azure = try await get(Self.path(Self.handbookID, provider: "azure", apiBase: base))
                #expect(same(azure.json["provider_file_id"], "assistant-bbb"), "\(base): \(azure.text)")
            }

            let stale = try await get(Self.path(UnifiedID.make(for: Fixture.hostileName)))
            #expect(stale.status == 409)
            #expect(same(stale.error["code"], "out_of_sync"))
            #expect(same(stale.json["stale_file_id"], "file-ccc"))
            #expect((stale.error["message"] as? String ?? "").contains("replace is pending"), "\(stale.text)")

            let processing = try await get(Self.path(UnifiedID.make(for: "faq/billing.md")))
            #expect(processing.status == 409)
            #expect(same(processing.error["code"], "processing"))

            let pending = try await get(
                Self.path(UnifiedID.make(for: "pending-file"), provider: "azure", apiBase: Self.azureBase))
            #expect(pending.status == 409)
            #expect(same(pending.error["code"], "not_uploaded"))
            #expect((pending.error["message"] as? String ?? "").contains("pending: create"), "\(pending.text)")

            let notPlaced = try await get(
                Self.path(UnifiedID.make(for: Fixture.quotedName), provider: "azure", apiBase: Self.azureBase))
            #expect(notPlaced.status == 404)
            #expect(same(notPlaced.error["code"], "not_placed"))
            #expect((notPlaced.error["message"] as? String ?? "").contains("it targets gpt-4o-mini"), "\(notPlaced.text)")

            let unknownEndpoint = try await get(Self.path(Self.handbookID, apiBase: "http://127.0.0.1:9999/v1"))
            #expect(unknownEndpoint.status == 404)
            #expect(same(unknownEndpoint.error["code"], "unknown_endpoint"))
            #expect((unknownEndpoint.error["message"] as? String ?? "").contains("openai \(Self.openAIBase)"))

            let unknownID = try await get(Self.path("file-ferry-000000000000000000000000"))
            #expect(unknownID.status == 404)
            #expect(same(unknownID.error["code"], "file_not_found"))

            // Bedrock has files now (S3), but this state has no Bedrock endpoint; cohere has none at all.
            let bedrock = try await get(Self.path(Self.handbookID, provider: "bedrock"))
            #expect(bedrock.status == 404)
            #expect(same(bedrock.error["code"], "unknown_endpoint"))
            let cohere = try await get(Self.path(Self.handbookID, provider: "cohere"))
            #expect(cohere.status == 400)
            #expect(same(cohere.error["code"], "unsupported_provider"))
            let noProvider = try await get(Self.path(Self.handbookID, provider: nil))
            #expect(noProvider.status == 400)
            #expect(same(noProvider.error["param"], "provider"))
            #expect(same(noProvider.error["code"], "invalid_parameter"))
            let azureWithoutBase = try await get(Self.path(Self.handbookID, provider: "azure", apiBase: nil))
            #expect(azureWithoutBase.status == 400)
            #expect(same(azureWithoutBase.error["param"], "api_base"))

            // Read-only like the rest: the token is required, and writes are refused.
            #expect(try await send(port: port, Self.path(Self.handbookID)).status == 401)
            #expect(try await send(.POST, port: port, Self.path(Self.handbookID), headers: bearer(token)).status == 405)
        }
    }

    /// A new snapshot is seen by the next request: the index follows the database.
    @Test(arguments: StateBackend.all) func followsNewSnapshots(_ backend: StateBackend) async throws {
        let database = try populatedDatabase(backend)
        let pendingID = UnifiedID.make(for: "pending-file")
        try await withServer(database) { port in
            let path = Self.path(pendingID, provider: "azure", apiBase: Self.azureBase)
            #expect(try await send(port: port, path).status == 409)
            var placements = Fixture.placements
            let index = try #require(placements.firstIndex { $0.file == "pending-file" })
            placements[index].state = .inSync
            placements[index].remoteID = "assistant-new"
            var plan = Fixture.plan
            plan.placements = placements
            try database.writer.saveSnapshot(
                desired: DesiredState(files: Fixture.files, models: Fixture.models), digests: [:], plan: plan,
                at: Fixture.now.timeIntervalSince1970 + 60)
            let after = try await send(port: port, path)
            #expect(after.status == 200, "\(after.text)")
            #expect(same(after.json["provider_file_id"], "assistant-new"))
        }
    }

    /// The matching rules, without a server: buckets, load-balanced groups and endpoints that differ only by key.
    @Test func matching() throws {
        let keyA = Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("KEY_A"))
        let keyB = Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("KEY_B"))
        let vertex = Endpoint(
            kind: .vertex, baseURL: "https://storage.googleapis.com", bucket: Endpoint.bucketSetting("gs://docs/"),
            credential: .none)
        let file = DesiredFileRecord(
            name: "guide", unifiedID: UnifiedID.make(for: "guide"), sourcePath: "guide.md", bytes: 1, digest: "",
            purpose: "user_data", filename: "guide.md", targetModels: ["team-a", "team-b", "gemini"], labels: [:],
            deletionPolicy: "Delete", declaredBy: "File")
        let index = ResolutionIndex(
            files: [file],
            placements: [
                PlacementStatus(file: "guide", endpointID: keyA.id, models: ["team-a"], state: .inSync, remoteID: "file-a"),
                PlacementStatus(file: "guide", endpointID: keyB.id, models: ["team-b"], state: .inSync, remoteID: "file-b"),
                PlacementStatus(
                    file: "guide", endpointID: vertex.id, models: ["gemini"], state: .inSync,
                    remoteID: "gs://docs/ferry/guide-1"),
            ], endpointIDs: [], snapshotAt: 1)
        func query(_ provider: String, apiBase: String? = nil, bucket: String? = nil, model: String? = nil) throws
            -> ResolutionQuery
        {
            var parameters: [String] = ["provider=\(provider)"]
            if let apiBase { parameters.append("api_base=\(apiBase)") }
            if let bucket { parameters.append("bucket=\(bucket)") }
            if let model { parameters.append("model=\(model)") }
            return try ResolutionQuery(
                unifiedID: file.unifiedID, URI("/?" + parameters.joined(separator: "&")).queryParameters)
        }
        // OpenAI's default base when the deployment has none; two keys on it need the model group.
        guard case .refused(409, "ambiguous_endpoint", _, _) = index.resolve(try query("openai")) else {
            Issue.record("two endpoints on one base must be ambiguous without a model")
            return
        }
        #expect(index.resolve(try query("openai", model: "team-b")).remoteID == "file-b")
        #expect(index.resolve(try query("text-completion-openai", model: "team-a")).remoteID == "file-a")
        // Buckets as LiteLLM writes them: with or without gs:// and Ferry's prefix.
        #expect(index.resolve(try query("vertex_ai", bucket: "docs")).remoteID == "gs://docs/ferry/guide-1")
        #expect(index.resolve(try query("vertex_ai", bucket: "gs://docs/ferry")).remoteID == "gs://docs/ferry/guide-1")
        #expect(index.resolve(try query("vertex_ai")).remoteID == "gs://docs/ferry/guide-1")
        guard case .refused(404, "unknown_endpoint", _, _) = index.resolve(try query("vertex_ai", bucket: "other"))
        else {
            Issue.record("another bucket is not Ferry's endpoint")
            return
        }
    }
}

extension Resolution {
    var remoteID: String? {
        if case .found(_, let remoteID, _, _) = self { return remoteID }
        return nil
    }
}

extension ResolutionTests {
    /// LiteLLM's provider `anthropic` names Anthropic endpoints: Anthropic's public base when the deployment has no
    /// api_base, and an api_base with or without `/v1`.
    @Test func anthropicMatching() throws {
        let public_ = Endpoint(
            kind: .anthropic, baseURL: "https://api.anthropic.com", credential: .environment("ANTHROPIC_API_KEY"))
        let gateway = Endpoint(
            kind: .anthropic, baseURL: "http://127.0.0.1:8089/anthropic", credential: .environment("ANTHROPIC_API_KEY"))
        let file = DesiredFileRecord(
            name: "guide", unifiedID: UnifiedID.make(for: "guide"), sourcePath: "guide.md", bytes: 1, digest: "",
            purpose: "user_data", filename: "guide.md", targetModels: ["claude", "claude-gw"], labels: [:],
            deletionPolicy: "Delete", declaredBy: "File")
        let index = ResolutionIndex(
            files: [file],
            placements: [
                PlacementStatus(file: "guide", endpointID: public_.id, models: ["claude"], state: .inSync, remoteID: "file_1"),
                PlacementStatus(
                    file: "guide", endpointID: gateway.id, models: ["claude-gw"], state: .inSync, remoteID: "file_2"),
            ], endpointIDs: [], snapshotAt: 1)
        func query(_ apiBase: String?) throws -> ResolutionQuery {
            var parameters = ["provider=anthropic"]
            if let apiBase { parameters.append("api_base=\(apiBase)") }
            return try ResolutionQuery(
                unifiedID: file.unifiedID, URI("/?" + parameters.joined(separator: "&")).queryParameters)
        }
        #expect(try query(nil).kind == .anthropic)
        #expect(index.resolve(try query(nil)).remoteID == "file_1")
        #expect(index.resolve(try query("https://API.anthropic.com/v1/")).remoteID == "file_1")
        #expect(index.resolve(try query("http://127.0.0.1:8089/anthropic")).remoteID == "file_2")
        #expect(index.resolve(try query("http://127.0.0.1:8089/anthropic/v1")).remoteID == "file_2")
    }
}

extension ResolutionTests {
    /// LiteLLM's provider `gemini` names Gemini endpoints: the public base when the deployment has no api_base, and
    /// an api_base with or without `/v1beta`.
    @Test func geminiMatching() throws {
        let public_ = Endpoint(
            kind: .gemini, baseURL: "https://generativelanguage.googleapis.com", credential: .environment("GEMINI_API_KEY"))
        let gateway = Endpoint(
            kind: .gemini, baseURL: "http://127.0.0.1:8089/gemini", credential: .environment("GEMINI_API_KEY"))
        let file = DesiredFileRecord(
            name: "guide", unifiedID: UnifiedID.make(for: "guide"), sourcePath: "guide.md", bytes: 1, digest: "",
            purpose: "user_data", filename: "guide.md", targetModels: ["flash", "flash-gw"], labels: [:],
            deletionPolicy: "Delete", declaredBy: "File")
        let index = ResolutionIndex(
            files: [file],
            placements: [
                PlacementStatus(
                    file: "guide", endpointID: public_.id, models: ["flash"], state: .inSync, remoteID: "files/a1"),
                PlacementStatus(
                    file: "guide", endpointID: gateway.id, models: ["flash-gw"], state: .inSync, remoteID: "files/b2"),
            ], endpointIDs: [], snapshotAt: 1)
        func query(_ apiBase: String?) throws -> ResolutionQuery {
            var parameters = ["provider=gemini"]
            if let apiBase { parameters.append("api_base=\(apiBase)") }
            return try ResolutionQuery(
                unifiedID: file.unifiedID, URI("/?" + parameters.joined(separator: "&")).queryParameters)
        }
        #expect(try query(nil).kind == .gemini)
        #expect(index.resolve(try query(nil)).remoteID == "files/a1")
        #expect(index.resolve(try query("https://generativelanguage.googleapis.com/v1beta/")).remoteID == "files/a1")
        #expect(index.resolve(try query("http://127.0.0.1:8089/gemini")).remoteID == "files/b2")
        #expect(index.resolve(try query("http://127.0.0.1:8089/gemini/v1beta")).remoteID == "files/b2")
    }
}
