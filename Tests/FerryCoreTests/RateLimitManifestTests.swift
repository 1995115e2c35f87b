import FerryCore
import Testing

/// LiteLLM's `rpm` in `litellm_params`, as the endpoint's request rate limit.
@Suite("Manifest rpm")
struct RateLimitManifestTests {
    static let file = [
        "files.yaml": """
        kind: File
        metadata: {name: handbook}
        spec: {source: docs/a.md, purpose: assistants, targetModels: [mini, big]}
        """
    ]

    /// Models sharing an endpoint share its limit: the strictest `rpm` holds; an endpoint without one has none.
    @Test func strictestRPMPerEndpoint() throws {
        let loaded = try load(
            Self.file.merging([
                "models.yaml": """
                model_list:
                  - model_name: mini
                    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY, rpm: 600}
                  - model_name: big
                    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY, rpm: 90, tpm: 100000}
                  - model_name: eu
                    litellm_params: {model: azure/gpt-4o-eu, api_base: https://eu.openai.azure.com, api_key: os.environ/AZURE_API_KEY}
                """
            ]) { $1 })
        let openai = "openai|https://api.openai.com/v1|env:OPENAI_API_KEY"
        #expect(loaded.desired.requestsPerMinute(endpointID: openai) == 90)
        let azure = try #require(loaded.desired.knownEndpoints.first { $0.kind == .azure })
        #expect(loaded.desired.requestsPerMinute(endpointID: azure.id) == nil)
    }

    /// An `rpm` that is not a positive whole number is an error at its place.
    @Test func invalidRPMIsReported() {
        for value in ["0", "-5", "fast", "1.5"] {
            let found = diagnostics(
                Self.file.merging([
                    "models.yaml": """
                    model_list:
                      - model_name: mini
                        litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY, rpm: \(value)}
                      - model_name: big
                        litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
                    """
                ]) { $1 })
            #expect(found.count == 1, "\(found)")
            #expect(found.first?.contains("models.yaml:3:") == true, "\(found)")
            #expect(found.first?.contains("rpm '\(value)' of model 'mini' is not a positive whole number") == true)
        }
    }
}
