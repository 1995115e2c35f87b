import Testing

@testable import FerryProviders

@Suite struct SecretScrubberTests {
    private let key = "sk-test-SECRET123456"

    /// The key disappears wherever it appears, raw or percent-encoded.
    @Test func keyIsRemoved() {
        let scrubber = SecretScrubber(secrets: ["sk+key/with=chars"])
        #expect(scrubber.scrub("a sk+key/with=chars b") == "a <redacted> b")
        #expect(scrubber.scrub("q=sk%2Bkey%2Fwith%3Dchars") == "q=<redacted>")
    }

    /// Echoed credential headers are masked even when the value is some other key.
    @Test func echoedHeadersAreMasked() {
        let scrubber = SecretScrubber(secrets: [key])
        #expect(scrubber.scrub("got Authorization: Bearer \(key)") == "got Authorization: Bearer <redacted>")
        #expect(scrubber.scrub("got Authorization: bearer other-token-99.") == "got Authorization: bearer <redacted>")
        #expect(
            scrubber.scrub("{\"api-key\": \"abc\"} api-key: 0123abcd, next")
                == "{\"api-key\": \"abc\"} api-key: <redacted>, next")
        #expect(scrubber.scrub("nothing to hide") == "nothing to hide")
    }

    /// The OpenAI error envelope yields message and code; the key is gone even from echoed text.
    @Test func envelopeIsReadAndScrubbed() {
        let body = """
            {"error": {"message": "Incorrect API key provided: \(key). You can find your API key at ...",
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}
            """
        let parsed = ProviderErrorBody(body: Array(body.utf8), scrubber: SecretScrubber(secrets: [key]))
        #expect(parsed.message == "Incorrect API key provided: <redacted>. You can find your API key at ...")
        #expect(parsed.code == "invalid_api_key")
    }

    /// Other shapes: `{"error": "text"}`, `{"detail": "text"}`, plain text.
    @Test func otherErrorShapes() {
        let scrubber = SecretScrubber(secrets: [])
        #expect(ProviderErrorBody(body: Array(#"{"error":"boom"}"#.utf8), scrubber: scrubber).message == "boom")
        #expect(ProviderErrorBody(body: Array(#"{"detail":"nope"}"#.utf8), scrubber: scrubber).message == "nope")
        #expect(ProviderErrorBody(body: Array("Bad Gateway\n".utf8), scrubber: scrubber).message == "Bad Gateway")
        #expect(ProviderErrorBody(body: [], scrubber: scrubber).message == nil)
    }

    /// Long messages are cut to about 300 characters, after scrubbing, so no half key survives the cut.
    @Test func truncationHappensAfterScrubbing() {
        let padding = String(repeating: "x", count: 290)
        let body = #"{"error":{"message":"\#(padding) \#(key) tail"}}"#
        let parsed = ProviderErrorBody(body: Array(body.utf8), scrubber: SecretScrubber(secrets: [key]))
        let message = parsed.message ?? ""
        #expect(message.count <= ProviderErrorBody.maxMessageCharacters + 1)
        #expect(!message.contains("sk-test"))
        #expect(message.hasSuffix("…"))
    }
}
