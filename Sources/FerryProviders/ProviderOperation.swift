/// The calls a provider client makes; used for classification, statistics and error messages.
public enum ProviderOperation: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case list
    case create
    case retrieve
    case delete
    case content

    /// Whether repeating the call can never change the outcome (safe to retry after any transport failure).
    public var isIdempotent: Bool {
        switch self {
        case .create: return false
        case .list, .retrieve, .delete, .content: return true
        }
    }

    public var description: String { rawValue }
}
