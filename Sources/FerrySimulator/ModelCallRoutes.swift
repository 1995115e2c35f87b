import Foundation
import Hummingbird

/// One model call the simulator answered: which route, which account and which file ids it named. Gateways that
/// rewrite ids (Ferry's LiteLLM callback) are checked against these: each upstream must see its own ids.
public struct ModelCall: Sendable, Codable, Equatable {
    /// `chat.completions` or `responses`.
    public var api: String
    public var flavor: SimulatorFlavor
    /// The body's `model`, or for Azure the deployment in the path.
    public var model: String
    /// Every `file_id` / `input_file_id` the body named, in order, known or not.
    public var fileIDs: [String]
    /// The HTTP status the call was answered with (400 when an id is unknown to the account).
    public var status: Int
}

/// Model calls, just enough to prove file ids: OpenAI `POST /v1/chat/completions` and `POST /v1/responses`, Azure
/// `POST /openai/deployments/{deployment}/chat/completions` and `POST /openai/responses` (also under `/openai/v1/`).
/// Each checks that every referenced file id exists for the caller's account (400 in OpenAI's error shape if not)
/// and answers a fixed assistant message that lists the ids it received. No model runs; streaming is refused.
extension SimulatorRoutes {
    func addModelCallRoutes(_ router: Router<SimRequestContext>) {
        router.post("/v1/chat/completions") { request, context in
            await self.provider(.openai, "chat", "POST /v1/chat/completions", request, context) { tenant in
                try await self.modelCall(.chat, tenant, request, deployment: nil)
            }
        }
        router.post("/v1/responses") { request, context in
            await self.provider(.openai, "responses", "POST /v1/responses", request, context) { tenant in
                try await self.modelCall(.responses, tenant, request, deployment: nil)
            }
        }
        router.post("/openai/deployments/:deployment/chat/completions") { request, context in
            let deployment = context.parameters.get("deployment") ?? ""
            return await self.provider(
                .azure, "chat", "POST /openai/deployments/{deployment}/chat/completions", request, context
            ) { tenant in
                try await self.modelCall(.chat, tenant, request, deployment: deployment)
            }
        }
        for path in ["/openai/responses", "/openai/v1/responses"] {
            router.post(RouterPath(path)) { request, context in
                await self.provider(.azure, "responses", "POST \(path)", request, context) { tenant in
                    try await self.modelCall(.responses, tenant, request, deployment: nil)
                }
            }
        }
    }

    enum ModelAPI: String {
        case chat = "chat.completions"
        case responses
    }

    func modelCall(_ api: ModelAPI, _ tenant: TenantID, _ request: Request, deployment: String?) async throws
        -> Response
    {
        let bytes = try await readModelCallBody(request)
        guard let body = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw ProviderError.invalidRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
                param: nil)
        }
        let model = deployment ?? (body["model"] as? String ?? "")
        guard !model.isEmpty else {
            throw ProviderError.invalidRequest("Missing required parameter: 'model'.", param: "model")
        }
        if body["stream"] as? Bool == true {
            throw ProviderError.invalidRequest(
                "The Ferry simulator does not stream model calls; send stream: false.", param: "stream")
        }
        var ids: [String] = []
        Self.collectFileIDs(body, into: &ids)
        let now = SimulatorCore.now()
        let unknown = ids.filter { core.file(tenant, id: $0, now: now) == nil }
        core.recordModelCall(
            ModelCall(
                api: api.rawValue, flavor: tenant.flavor, model: model, fileIDs: ids, status: unknown.isEmpty ? 200 : 400)
        )
        if let first = unknown.first {
            throw ProviderError.invalidRequest(
                "Invalid file id '\(first)': no such file for this account. Files must be uploaded to the same "
                    + (tenant.flavor == .azure ? "Azure OpenAI resource" : "project") + " the request is sent to.",
                param: api == .chat ? "messages" : "input", code: "invalid_value")
        }
        let text = ids.isEmpty ? "Received no files." : "Received files: " + ids.joined(separator: ", ")
        let created = Int64(now)
        let usage = (prompt: Int64(bytes.count / 4), completion: Int64(text.utf8.count / 4))
        switch api {
        case .chat:
            return jsonResponse(
                .object([
                    ("id", .string("chatcmpl-" + core.newRequestID())),
                    ("object", .string("chat.completion")),
                    ("created", .int(created)),
                    ("model", .string(model)),
                    (
                        "choices",
                        .array([
                            .object([
                                ("index", .int(0)),
                                (
                                    "message",
                                    .object([
                                        ("role", .string("assistant")), ("content", .string(text)),
                                        ("refusal", .null), ("annotations", .array([])),
                                    ])
                                ),
                                ("logprobs", .null),
                                ("finish_reason", .string("stop")),
                            ])
                        ])
                    ),
                    (
                        "usage",
                        .object([
                            ("prompt_tokens", .int(usage.prompt)), ("completion_tokens", .int(usage.completion)),
                            ("total_tokens", .int(usage.prompt + usage.completion)),
                        ])
                    ),
                    ("system_fingerprint", .null),
                ]))
        case .responses:
            return jsonResponse(
                .object([
                    ("id", .string("resp_" + core.newRequestID())),
                    ("object", .string("response")),
                    ("created_at", .int(created)),
                    ("status", .string("completed")),
                    ("error", .null),
                    ("incomplete_details", .null),
                    ("instructions", .null),
                    ("model", .string(model)),
                    (
                        "output",
                        .array([
                            .object([
                                ("type", .string("message")),
                                ("id", .string("msg_" + core.newRequestID())),
                                ("status", .string("completed")),
                                ("role", .string("assistant")),
                                (
                                    "content",
                                    .array([
                                        .object([
                                            ("type", .string("output_text")), ("text", .string(text)),
                                            ("annotations", .array([])),
                                        ])
                                    ])
                                ),
                            ])
                        ])
                    ),
                    ("parallel_tool_calls", .bool(true)),
                    ("tool_choice", .string("auto")),
                    ("tools", .array([])),
                    ("text", .object([("format", .object([("type", .string("text"))]))])),
                    (
                        "usage",
                        .object([
                            ("input_tokens", .int(usage.prompt)),
                            ("input_tokens_details", .object([("cached_tokens", .int(0))])),
                            ("output_tokens", .int(usage.completion)),
                            ("output_tokens_details", .object([("reasoning_tokens", .int(0))])),
                            ("total_tokens", .int(usage.prompt + usage.completion)),
                        ])
                    ),
                ]))
        }
    }

    /// The body of a model call, up to 32 MiB (inline file data can be large).
    func readModelCallBody(_ request: Request) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        var tooLarge = false
        for try await chunk in request.body {
            if tooLarge { continue }
            if bytes.count + chunk.readableBytes > 32 * 1024 * 1024 {
                tooLarge = true
                continue
            }
            bytes += chunk.readableBytesView
        }
        if tooLarge { throw ProviderError.tooLarge("The request body is too large.", param: "body") }
        return bytes
    }

    /// Every string under a `file_id` or `input_file_id` key, depth first (object keys in sorted order): chat file parts
    /// (`{"type": "file", "file": {"file_id": …}}`), Responses `input_file` parts, and anything else that names one.
    static func collectFileIDs(_ value: Any, into ids: inout [String]) {
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() {
                if key == "file_id" || key == "input_file_id", let id = object[key] as? String {
                    ids.append(id)
                } else if let child = object[key] {
                    collectFileIDs(child, into: &ids)
                }
            }
        } else if let array = value as? [Any] {
            for element in array { collectFileIDs(element, into: &ids) }
        }
    }
}

extension SimulatorCore {
    /// Keeps the latest 1,000 model calls.
    func recordModelCall(_ call: ModelCall) {
        state.withLockedValue { state in
            state.modelCalls.append(call)
            if state.modelCalls.count > 1000 { state.modelCalls.removeFirst(state.modelCalls.count - 1000) }
        }
    }

    func modelCalls() -> [ModelCall] { state.withLockedValue { $0.modelCalls } }
}

extension Simulator {
    /// The model calls answered so far (the latest 1,000), oldest first; `POST /_sim/stats/reset` clears them.
    public func modelCalls() -> [ModelCall] { core.modelCalls() }
}
