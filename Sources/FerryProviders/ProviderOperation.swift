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
    /// `GET /vector_stores` and `GET /vector_stores/{id}/files` (pages).
    case vectorStoreList = "vector-store-list"
    /// `POST /vector_stores`: a repeat would make a second store (found by its mark and deleted later).
    case vectorStoreCreate = "vector-store-create"
    /// `POST /vector_stores/{id}`.
    case vectorStoreUpdate = "vector-store-update"
    /// `DELETE /vector_stores/{id}` (404 counts as done).
    case vectorStoreDelete = "vector-store-delete"
    /// `POST /vector_stores/{id}/files`: attaching the same file again is harmless.
    case attach
    /// `GET /vector_stores/{id}/files/{file_id}`, while awaiting an attachment.
    case attachmentRetrieve = "attachment-retrieve"
    /// `DELETE /vector_stores/{id}/files/{file_id}` (404 counts as done).
    case detach

    /// Whether repeating the call cannot create a second file (safe to retry after any transport failure).
    public var isIdempotent: Bool {
        switch self {
        case .create, .uploadComplete, .vectorStoreCreate: return false
        case .list, .retrieve, .delete, .content, .uploadStart, .uploadPart, .uploadCancel, .token, .vectorStoreList,
            .vectorStoreUpdate, .vectorStoreDelete, .attach, .attachmentRetrieve, .detach:
            return true
        }
    }

    public var description: String { rawValue }
}
