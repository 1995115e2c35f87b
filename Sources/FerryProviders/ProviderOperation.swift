/// The calls a provider client makes; used for classification, statistics and error messages.
public enum ProviderOperation: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case list
    case create
    case retrieve
    case delete
    case content
    /// OpenAI Uploads API, for large files: `POST /uploads` (a repeat only leaves an unused upload that expires).
    case uploadStart
    /// `POST /uploads/{id}/parts` (a repeated part is never referenced, so it is harmless).
    case uploadPart
    /// `POST /uploads/{id}/complete`: this is what creates the file.
    case uploadComplete
    /// `POST /uploads/{id}/cancel`, after a failed part.
    case uploadCancel
    /// An OAuth2 token exchange (Google service accounts).
    case token

    /// Whether repeating the call cannot create a second file (safe to retry after any transport failure).
    public var isIdempotent: Bool {
        switch self {
        case .create, .uploadComplete: return false
        case .list, .retrieve, .delete, .content, .uploadStart, .uploadPart, .uploadCancel, .token: return true
        }
    }

    public var description: String { rawValue }
}
