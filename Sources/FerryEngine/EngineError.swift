/// An engine failure with a message fit for users (never a secret). Callers match on `code`, not on the text:
/// `catch let error as EngineError where error.code == .lockHeld`.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case lockHeld = "lock held"
            case stalePlan = "stale plan"
            case endpointsNotListed = "endpoints not listed"
            case sourceChanged = "source changed"
            case sourceUnreadable = "source unreadable"
            case invalidRoot = "invalid root"
            case notConfirmed = "not confirmed"
            case attachmentFailed = "attachment failed"
            case internalError = "internal error"
        }

        fileprivate let base: Base

        /// Another run holds the state lock and did not release it within the wait.
        public static let lockHeld = Code(base: .lockHeld)
        /// A saved plan no longer matches the manifests, sources or providers.
        public static let stalePlan = Code(base: .stalePlan)
        /// Some endpoints could not be listed, so nothing was applied.
        public static let endpointsNotListed = Code(base: .endpointsNotListed)
        /// A source file changed between planning and uploading.
        public static let sourceChanged = Code(base: .sourceChanged)
        /// A source or manifest file could not be read (or leaves the root).
        public static let sourceUnreadable = Code(base: .sourceUnreadable)
        /// The manifest root is missing or not a directory.
        public static let invalidRoot = Code(base: .invalidRoot)
        /// An apply that needed confirmation did not get it.
        public static let notConfirmed = Code(base: .notConfirmed)
        /// A vector store attachment that the provider reports failed or cancelled.
        public static let attachmentFailed = Code(base: .attachmentFailed)
        /// A broken internal expectation (a bug).
        public static let internalError = Code(base: .internalError)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The message for users.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
