import AsyncHTTPClient
import Foundation
import Testing

@testable import FerrySimulator

/// `FaultPlan.echoRequestHeaders`: error answers copy the request's headers, credentials included, like a
/// provider or proxy that echoes `Authorization` in its error body. Ferry's scrubbing is tested against it.
@Suite("Echoed request headers")
struct EchoHeadersTests {
    let openAIKey = "sk-echo-\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
    let azureKey = "az\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"

    /// The message of an error answer, whatever its envelope.
    func message(_ reply: Reply) -> String {
        if let text = reply.error["message"] as? String { return text }
        return reply.json["error_description"] as? String ?? ""
    }

    func echoed(_ reply: Reply) -> [String: String] {
        let object = (reply.error["request_headers"] ?? reply.json["request_headers"]) as? [String: Any] ?? [:]
        return object.compactMapValues { $0 as? String }
    }

    @Test("injected faults on OpenAI, Azure, Cloud Storage and the token endpoint echo the headers")
    func injectedFaultsEcho() async throws {
        var configuration = SimulatorConfiguration()
        configuration.faults = FaultPlan(
            seed: 1, errorRate: ["*": 1.0], errorStatuses: [429], echoRequestHeaders: true)
        try await withGCS(configuration) { sim, auth in
            let token = try #require(auth.first?.1.split(separator: " ").last.map(String.init))

            let openAI = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer(openAIKey))
            #expect(openAI.status == 429)
            #expect(openAI.header("Retry-After") == "1")
            #expect(openAI.error["code"] as? String == "rate_limit_exceeded")
            #expect(message(openAI).hasPrefix("Rate limit reached for requests."))
            #expect(message(openAI).contains("authorization: Bearer \(openAIKey)"))
            #expect(echoed(openAI)["authorization"] == "Bearer \(openAIKey)")

            let azure = try await upload(sim, key: azureKey, filename: "a.txt", data: [1], azureVersion: "2024-10-21")
            #expect(azure.status == 429)
            #expect(azure.error["code"] as? String == "429")
            #expect(message(azure).contains("api-key: \(azureKey)"))
            #expect(echoed(azure)["api-key"] == azureKey)

            let gcs = try await send(.GET, listURL(sim), headers: auth)
            #expect(gcs.status == 429)
            #expect(gcs.reason == "rateLimitExceeded")
            #expect(message(gcs).contains("Bearer \(token)"))
            let detail = (gcs.error["errors"] as? [[String: Any]])?.first?["message"] as? String ?? ""
            #expect(detail.contains("Bearer \(token)"))
            #expect(echoed(gcs)["authorization"] == "Bearer \(token)")

            let upload = try await mediaUpload(sim, auth, name: "ferry/a.md", data: [1, 2])
            #expect(upload.status == 429)
            #expect(echoed(upload)["authorization"] == "Bearer \(token)")

            let oauth = try await send(
                .POST, sim.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Probe", "p1")],
                body: Array("grant_type=x".utf8))
            #expect(oauth.status == 429)
            #expect(oauth.json["error"] as? String == "rate_limit_exceeded")
            #expect(message(oauth).contains("x-probe: p1"))
            #expect(echoed(oauth)["x-probe"] == "p1")

            // 5xx faults echo too.
            sim.setFaults(FaultPlan(errorRate: ["*": 1.0], errorStatuses: [503], echoRequestHeaders: true))
            let busy = try await send(.DELETE, "\(sim.openAIBaseURL)/files/file-x", headers: bearer(openAIKey))
            #expect(busy.status == 503)
            #expect(echoed(busy)["authorization"] == "Bearer \(openAIKey)")
            let gcsBusy = try await send(.DELETE, objectURL(sim, "ferry/a.md"), headers: auth)
            #expect(gcsBusy.status == 503)
            #expect(message(gcsBusy).contains(token))
        }
    }

    @Test("the handlers' own errors and accept-then-fail echo too; successes and a plan without the switch do not")
    func handlerErrorsEcho() async throws {
        var configuration = SimulatorConfiguration()
        configuration.faults = FaultPlan(acceptThenFailRate: 1.0, echoRequestHeaders: true)
        try await withGCS(configuration) { sim, auth in
            let token = try #require(auth.first?.1.split(separator: " ").last.map(String.init))
            let missing = try await send(.GET, "\(sim.openAIBaseURL)/files/file-nope", headers: bearer(openAIKey))
            #expect(missing.status == 404)
            #expect(message(missing).hasPrefix("No such File object: file-nope Request headers: "))
            #expect(echoed(missing)["authorization"] == "Bearer \(openAIKey)")

            let badVersion = try await send(.GET, "\(sim.azureEndpoint)/openai/files", headers: [("api-key", azureKey)])
            #expect(badVersion.status == 400)
            #expect(echoed(badVersion)["api-key"] == azureKey)

            let accepted = try await upload(sim, key: openAIKey, filename: "a.txt", data: [1, 2, 3])
            #expect(accepted.status == 500)
            #expect(echoed(accepted)["authorization"] == "Bearer \(openAIKey)")
            #expect(sim.files(apiKey: openAIKey).count == 1)

            let noObject = try await send(.GET, objectURL(sim, "ferry/none.md"), headers: auth)
            #expect(noObject.status == 404)
            #expect(message(noObject).hasPrefix("The specified bucket does not exist. Request headers: "))
            #expect(echoed(noObject)["authorization"] == "Bearer \(token)")

            let stored = try await mediaUpload(sim, auth, name: "ferry/b.md", data: [4])
            #expect(stored.status == 500)
            #expect(message(stored).contains(token))

            // Successful answers never carry the headers.
            let list = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer(openAIKey))
            #expect(list.status == 200)
            #expect(!list.text.contains(openAIKey))

            // Without the switch, the same errors carry no header.
            sim.setFaults(FaultPlan(acceptThenFailRate: 1.0))
            let quiet = try await send(.GET, "\(sim.openAIBaseURL)/files/file-nope", headers: bearer(openAIKey))
            #expect(quiet.status == 404)
            #expect(message(quiet) == "No such File object: file-nope")
            #expect(!quiet.text.contains(openAIKey))
            #expect(quiet.error["request_headers"] == nil)
            let quietGCS = try await send(.GET, objectURL(sim, "ferry/none.md"), headers: auth)
            #expect(!quietGCS.text.contains(token))
        }
    }

    @Test("PUT /_sim/faults sets, shows and validates the switch")
    func adminRoute() async throws {
        try await withSimulator { sim in
            let base = "http://127.0.0.1:\(sim.port)/_sim/faults"
            let set = try await send(
                .PUT, base, body: Array(#"{"echoRequestHeaders":true,"errorRate":{"list":1}}"#.utf8))
            #expect(set.status == 200)
            #expect(set.json["echoRequestHeaders"] as? Bool == true)
            #expect(sim.faults.echoRequestHeaders)
            let shown = try await send(.GET, base)
            #expect(shown.json["echoRequestHeaders"] as? Bool == true)
            let reply = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer(openAIKey))
            #expect(reply.text.contains(openAIKey))

            for bad in [#"{"echoRequestHeaders":"yes"}"#, #"{"echoRequestHeaders":1}"#, #"{"echoRequestHeaders":null,"seed":-1}"#] {
                let refused = try await send(.PUT, base, body: Array(bad.utf8))
                #expect(refused.status == 400, "\(bad)")
                #expect(sim.faults.echoRequestHeaders, "an invalid plan must leave the current one in force")
            }
            let cleared = try await send(.PUT, base, body: Array("{}".utf8))
            #expect(cleared.json["echoRequestHeaders"] as? Bool == false)
            #expect(!sim.faults.echoRequestHeaders)
            #expect(FaultPlan.none.echoRequestHeaders == false)
            // Admin answers are never faulted or echoed.
            #expect(!(try await send(.GET, base, headers: bearer(openAIKey))).text.contains(openAIKey))
        }
    }
}
