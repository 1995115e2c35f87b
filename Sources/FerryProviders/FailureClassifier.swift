import AsyncHTTPClient

/// Classifies every failure once, so the retry loop and the engine never look at status codes or error types.
enum FailureClassifier {
    /// The classification of an HTTP answer; `nil` means the call succeeded (404 on delete included).
    /// - Parameter idempotent: whether repeating this request cannot create a second file; by default the
    ///   operation's own answer (a Cloud Storage create guarded by `ifGenerationMatch=0` is idempotent).
    static func classify(
        status: Int, operation: ProviderOperation, retryAfter: Duration?, idempotent: Bool? = nil
    ) -> ProviderError.Classification? {
        switch status {
        case 200..<300:
            return nil
        case 404:
            switch operation {
            case .delete, .vectorStoreDelete, .detach: return nil
            case .retrieve, .content, .attachmentRetrieve: return .notFound
            case .list, .create, .uploadStart, .uploadPart, .uploadComplete, .uploadCancel, .token, .vectorStoreList,
                .vectorStoreCreate, .vectorStoreUpdate, .attach:
                return .terminal
            }
        case 429, 503, 529:
            // The provider refused before doing anything: safe to repeat, even a create. (529 is Anthropic's
            // `overloaded_error`.)
            return .retryable(after: retryAfter)
        case 408, 500...599:
            // The request reached the provider; a create may have been stored before the failure.
            return idempotent ?? operation.isIdempotent ? .retryable(after: retryAfter) : .ambiguous
        default:
            // 400, 401, 403, 409, 413, 415, 422 and anything else unexpected.
            return .terminal
        }
    }

    /// The classification of a failure with no HTTP answer (refused, reset, timed out, closed early).
    /// - Parameter requestFullySent: whether the whole request body left Ferry. A create whose body was
    ///   not completely produced cannot have been accepted, because the provider never saw the end of it.
    static func classifyTransport(
        operation: ProviderOperation, requestFullySent: Bool, idempotent: Bool? = nil
    ) -> ProviderError.Classification {
        if idempotent ?? operation.isIdempotent || !requestFullySent { return .retryable(after: nil) }
        return .ambiguous
    }

    /// HTTPClient errors that are Ferry's own mistakes (bad URL, bad configuration): repeating cannot help.
    /// Schemes and header values are validated when a client is made, so the cases with payloads cannot occur.
    static func isLocalMisuse(_ error: HTTPClientError) -> Bool {
        let misuse: [HTTPClientError] = [
            .invalidURL, .emptyHost, .missingSocketPath, .alreadyShutdown, .emptyScheme,
            .traceRequestWithBody, .redirectLimitReached, .redirectCycleDetected,
            .invalidRedirectConfiguration, .invalidHTTPVersionConfiguration, .invalidDNSOverridesConfiguration,
            .invalidLocalAddress, .invalidProxyConfiguration,
        ]
        return misuse.contains(error)
    }

    /// HTTPClient errors that mean a deadline passed.
    static func isTimeout(_ error: HTTPClientError) -> Bool {
        [
            .connectTimeout, .readTimeout, .writeTimeout, .deadlineExceeded, .getConnectionFromPoolTimeout,
            .tlsHandshakeTimeout, .socksHandshakeTimeout, .httpProxyHandshakeTimeout,
        ].contains(error)
    }
}
