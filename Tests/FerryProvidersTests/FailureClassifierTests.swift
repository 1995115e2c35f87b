import Testing

@testable import FerryProviders

@Suite struct FailureClassifierTests {
    typealias Row = (status: Int, operation: ProviderOperation, expected: ProviderError.Classification?)

    static let table: [Row] = [
        // Success, and 404 on delete counts as done.
        (200, .list, nil), (201, .create, nil), (204, .delete, nil), (404, .delete, nil),
        // 404 elsewhere.
        (404, .retrieve, .notFound), (404, .content, .notFound), (404, .create, .terminal), (404, .list, .terminal),
        // Refused before any effect: retryable for every operation, create included.
        (429, .create, .retryable(after: .seconds(3))), (503, .create, .retryable(after: .seconds(3))),
        (429, .list, .retryable(after: .seconds(3))), (503, .delete, .retryable(after: .seconds(3))),
        // Anthropic's 529 overloaded_error is a refusal too.
        (529, .create, .retryable(after: .seconds(3))), (529, .list, .retryable(after: .seconds(3))),
        // Reached the provider: retryable when idempotent, ambiguous for create.
        (500, .list, .retryable(after: .seconds(3))), (502, .retrieve, .retryable(after: .seconds(3))),
        (504, .delete, .retryable(after: .seconds(3))), (408, .content, .retryable(after: .seconds(3))),
        (500, .create, .ambiguous), (502, .create, .ambiguous), (504, .create, .ambiguous), (408, .create, .ambiguous),
        // Terminal whatever the operation.
        (400, .create, .terminal), (401, .list, .terminal), (403, .delete, .terminal), (409, .create, .terminal),
        (413, .create, .terminal), (415, .create, .terminal), (422, .create, .terminal), (401, .content, .terminal),
    ]

    /// Every status of the documented table classifies as documented.
    @Test(arguments: table.indices)
    func statusTable(index: Int) {
        let row = Self.table[index]
        let actual = FailureClassifier.classify(status: row.status, operation: row.operation, retryAfter: .seconds(3))
        #expect(actual == row.expected, "HTTP \(row.status) on \(row.operation)")
    }

    /// Upload steps: only the completion can create a file, so only it is ambiguous; the rest retry.
    @Test func uploadSteps() {
        #expect(
            FailureClassifier.classify(status: 500, operation: .uploadStart, retryAfter: nil) == .retryable(after: nil))
        #expect(
            FailureClassifier.classify(status: 502, operation: .uploadPart, retryAfter: nil) == .retryable(after: nil))
        #expect(FailureClassifier.classify(status: 500, operation: .uploadComplete, retryAfter: nil) == .ambiguous)
        #expect(FailureClassifier.classify(status: 404, operation: .uploadPart, retryAfter: nil) == .terminal)
        #expect(FailureClassifier.classify(status: 500, operation: .token, retryAfter: nil) == .retryable(after: nil))
    }

    /// A create made idempotent by a precondition (Cloud Storage `ifGenerationMatch=0`) retries instead.
    @Test func idempotentOverride() {
        #expect(
            FailureClassifier.classify(status: 500, operation: .create, retryAfter: nil, idempotent: true)
                == .retryable(after: nil))
        #expect(
            FailureClassifier.classifyTransport(operation: .create, requestFullySent: true, idempotent: true)
                == .retryable(after: nil))
        #expect(
            FailureClassifier.classify(status: 400, operation: .create, retryAfter: nil, idempotent: true) == .terminal)
    }

    /// Transport failures: idempotent calls retry; a create retries only if its body never fully left.
    @Test func transportFailures() {
        for operation in ProviderOperation.allCases where operation.isIdempotent {
            #expect(
                FailureClassifier.classifyTransport(operation: operation, requestFullySent: true)
                    == .retryable(after: nil))
        }
        #expect(
            FailureClassifier.classifyTransport(operation: .create, requestFullySent: false) == .retryable(after: nil))
        #expect(FailureClassifier.classifyTransport(operation: .create, requestFullySent: true) == .ambiguous)
    }
}
