import FerryCore

/// A failed provider call, already classified. Messages carry the operation, endpoint, HTTP status and the
/// provider's own message, and never a credential: every text taken from the wire is scrubbed first.
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    /// What the caller should do about a failure. The engine switches on this and on nothing else.
    public enum Classification: Sendable, Hashable, CustomStringConvertible {
        /// Transient: try again later (after at least the given delay, when the provider named one).
        case retryable(after: Duration?)
        /// Will fail the same way until something changes (credentials, manifest, source, configuration).
        case terminal
        /// The file does not exist on the provider (retrieve, content).
        case notFound
        /// The request may have taken effect (a create that failed after its body was sent). Do not
        /// repeat it blindly: list the endpoint and adopt what the create left behind.
        case ambiguous

        public var description: String {
            switch self {
            case .retryable(let after?): return "retryable after \(after)"
            case .retryable(nil): return "retryable"
            case .terminal: return "terminal"
            case .notFound: return "not found"
            case .ambiguous: return "ambiguous: the request may have taken effect"
            }
        }
    }

    /// The kind of failure, for callers that match on it (`error.code == .paginationStalled`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case httpStatus = "HTTP error"
            case transport = "transport failure"
            case timeout = "timeout"
            case malformedResponse = "malformed response"
            case paginationStalled = "pagination stalled"
            case sourceChanged = "source changed"
            case localFile = "local file error"
            case invalidConfiguration = "invalid configuration"
            case authentication = "authentication failure"
            case deleteRefused = "delete refused"
        }

        fileprivate let base: Base

        /// The provider answered with a non-success HTTP status.
        public static let httpStatus = Code(base: .httpStatus)
        /// The connection failed, was refused, reset or closed early.
        public static let transport = Code(base: .transport)
        /// A connect, read or request deadline passed.
        public static let timeout = Code(base: .timeout)
        /// A success status with a body Ferry could not understand.
        public static let malformedResponse = Code(base: .malformedResponse)
        /// A list cursor that never advanced (a provider bug that would otherwise loop forever).
        public static let paginationStalled = Code(base: .paginationStalled)
        /// The source file on disk is not the size that was hashed.
        public static let sourceChanged = Code(base: .sourceChanged)
        /// Reading the source or writing a download failed locally.
        public static let localFile = Code(base: .localFile)
        /// The endpoint or client configuration cannot work (missing api-version, bad URL, bad key file).
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// Obtaining a credential (an OAuth2 token) failed.
        public static let authentication = Code(base: .authentication)
        /// The provider answered a delete with `"deleted": false`.
        public static let deleteRefused = Code(base: .deleteRefused)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What the caller should do about it.
    public let classification: Classification
    /// The call that failed; `nil` for a configuration problem found before any call.
    public let operation: ProviderOperation?
    /// `Endpoint.displayName` of the endpoint called; contains no secret.
    public let endpoint: String
    /// The HTTP status, when the provider answered.
    public let status: Int?
    /// The provider's error message (scrubbed, at most about 300 characters).
    public let providerMessage: String?
    /// The provider's machine-readable error code or type (`rate_limit_exceeded`, `invalid_request_error`), if any.
    public let providerCode: String?
    /// Ferry's own explanation of the cause (scrubbed).
    public let detail: String?
    /// How many attempts were made before giving up (1 when the failure was not retried).
    public internal(set) var attempts: Int

    init(
        _ code: Code, _ classification: Classification, operation: ProviderOperation?, endpoint: String,
        status: Int? = nil, providerMessage: String? = nil, providerCode: String? = nil, detail: String? = nil,
        attempts: Int = 1
    ) {
        self.code = code
        self.classification = classification
        self.operation = operation
        self.endpoint = endpoint
        self.status = status
        self.providerMessage = providerMessage
        self.providerCode = providerCode
        self.detail = detail
        self.attempts = attempts
    }

    /// True when the failure says nothing about the file's existence and a later attempt may succeed.
    public var isRetryable: Bool {
        if case .retryable = classification { return true }
        return false
    }

    public var description: String {
        var text = operation.map { "\($0) on \(endpoint) failed: \(code)" } ?? "\(endpoint): \(code)"
        if let status { text += " (HTTP \(status))" }
        if let providerMessage, !providerMessage.isEmpty { text += ": \(providerMessage)" }
        if let providerCode, !providerCode.isEmpty { text += " [\(providerCode)]" }
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        text += "; \(classification)"
        return text
    }
}

extension ProviderError {
    /// The same failure under another code (a token endpoint's 400 is an authentication failure).
    func recoded(_ code: Code) -> ProviderError {
        ProviderError(
            code, classification, operation: operation, endpoint: endpoint, status: status,
            providerMessage: providerMessage, providerCode: providerCode, detail: detail, attempts: attempts
        )
    }

    /// A configuration problem found before any request is made.
    static func invalidConfiguration(_ detail: String, endpoint: Endpoint) -> ProviderError {
        ProviderError(.invalidConfiguration, .terminal, operation: nil, endpoint: endpoint.displayName, detail: detail)
    }
}
