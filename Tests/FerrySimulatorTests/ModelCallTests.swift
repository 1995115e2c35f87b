import Foundation
import Testing

@testable import FerrySimulator

/// Model calls: enough of chat completions and Responses to prove which file ids reach a provider.
@Suite("Model calls (chat completions, Responses)")
struct ModelCallTests {
    static func json(_ object: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object))
    }

    static func chat(model: String, fileID: String) -> [UInt8] {
        json([
            "model": model,
            "messages": [
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": "Summarise"], ["type": "file", "file": ["file_id": fileID]],
                    ],
                ]
            ],
        ])
    }

    @Test("OpenAI chat completions: known ids are echoed, an unknown or another account's id is refused")
    func openAIChat() async throws {
        try await withSimulator { sim in
            let own = sim.seedFile(apiKey: "key-a", filename: "a.md", purpose: "user_data", data: Array("a".utf8))
            let other = sim.seedFile(apiKey: "key-b", filename: "b.md", purpose: "user_data", data: Array("b".utf8))
            let url = sim.openAIBaseURL + "/chat/completions"
            let ok = try await send(
                .POST, url, headers: [("Authorization", "Bearer key-a")], body: Self.chat(model: "gpt-4o", fileID: own.id))
            #expect(ok.status == 200, "\(ok.text)")
            #expect(ok.json["object"] as? String == "chat.completion")
            #expect(ok.json["model"] as? String == "gpt-4o")
            let choice = try #require((ok.json["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["content"] as? String == "Received files: \(own.id)")
            #expect(choice["finish_reason"] as? String == "stop")

            let foreign = try await send(
                .POST, url, headers: [("Authorization", "Bearer key-a")],
                body: Self.chat(model: "gpt-4o", fileID: other.id))
            #expect(foreign.status == 400)
            #expect(foreign.error["type"] as? String == "invalid_request_error")
            #expect(foreign.error["code"] as? String == "invalid_value")
            #expect((foreign.error["message"] as? String ?? "").contains(other.id))

            let unified = try await send(
                .POST, url, headers: [("Authorization", "Bearer key-a")],
                body: Self.chat(model: "gpt-4o", fileID: "file-ferry-0123456789abcdef01234567"))
            #expect(unified.status == 400)

            let unauthorized = try await send(.POST, url, body: Self.chat(model: "gpt-4o", fileID: own.id))
            #expect(unauthorized.status == 401)
            let streaming = try await send(
                .POST, url, headers: [("Authorization", "Bearer key-a")],
                body: Self.json(["model": "gpt-4o", "messages": [], "stream": true]))
            #expect(streaming.status == 400)
            #expect(streaming.error["param"] as? String == "stream")

            let calls = sim.modelCalls()
            #expect(calls.map(\.fileIDs) == [[own.id], [other.id], ["file-ferry-0123456789abcdef01234567"]])
            #expect(calls.map(\.status) == [200, 400, 400])
            #expect(calls.allSatisfy { $0.api == "chat.completions" && $0.flavor == .openai && $0.model == "gpt-4o" })
            #expect(sim.stats().requests["POST /v1/chat/completions"] == 5)
        }
    }

    @Test("Azure deployment chat route and Responses API input_file parts")
    func azureAndResponses() async throws {
        try await withSimulator { sim in
            let azure = sim.seedFile(
                apiKey: "az", flavor: .azure, filename: "a.md", purpose: "assistants", data: Array("a".utf8))
            let openAI = sim.seedFile(apiKey: "oa", filename: "b.md", purpose: "user_data", data: Array("b".utf8))
            let chatURL = sim.azureEndpoint + "/openai/deployments/gpt-4o-eu/chat/completions"
            let noVersion = try await send(
                .POST, chatURL, headers: [("api-key", "az")], body: Self.chat(model: "x", fileID: azure.id))
            #expect(noVersion.status == 400)
            let ok = try await send(
                .POST, chatURL + "?api-version=2024-10-21", headers: [("api-key", "az")],
                body: Self.chat(model: "ignored", fileID: azure.id))
            #expect(ok.status == 200, "\(ok.text)")
            #expect(ok.json["model"] as? String == "gpt-4o-eu")
            // An OpenAI file id means nothing to the Azure resource.
            let wrong = try await send(
                .POST, chatURL + "?api-version=2024-10-21", headers: [("api-key", "az")],
                body: Self.chat(model: "ignored", fileID: openAI.id))
            #expect(wrong.status == 400)
            #expect((wrong.error["message"] as? String ?? "").contains(openAI.id))

            let responses = try await send(
                .POST, sim.openAIBaseURL + "/responses", headers: [("Authorization", "Bearer oa")],
                body: Self.json([
                    "model": "gpt-4o-mini",
                    "input": [
                        [
                            "role": "user",
                            "content": [
                                ["type": "input_text", "text": "Summarise"],
                                ["type": "input_file", "file_id": openAI.id],
                            ],
                        ]
                    ],
                ]))
            #expect(responses.status == 200, "\(responses.text)")
            #expect(responses.json["object"] as? String == "response")
            #expect(responses.json["status"] as? String == "completed")
            let output = try #require((responses.json["output"] as? [[String: Any]])?.first)
            let content = try #require((output["content"] as? [[String: Any]])?.first)
            #expect(content["text"] as? String == "Received files: \(openAI.id)")

            let calls = sim.modelCalls()
            #expect(calls.map(\.flavor) == [.azure, .azure, .openai])
            #expect(calls.map(\.api) == ["chat.completions", "chat.completions", "responses"])
            let admin = try await send(.GET, sim.azureEndpoint + "/_sim/model-calls")
            let logged = try JSONSerialization.jsonObject(with: Data(admin.body)) as? [[String: Any]]
            #expect(logged?.count == 3)
            _ = try await send(.POST, sim.azureEndpoint + "/_sim/stats/reset")
            #expect(sim.modelCalls().isEmpty)
        }
    }
}
