import Foundation
import Hummingbird

// What the OpenAI, Azure and Anthropic flavors keep: tenants, their files and uploads, counters and the fault plan.

/// One account: a flavor plus the SHA-256 of an API key (keys themselves are never stored).
struct TenantID: Hashable, Sendable {
    let flavor: SimulatorFlavor
    let keyHash: String

    init(flavor: SimulatorFlavor, apiKey: String) {
        self.flavor = flavor
        self.keyHash = String(Digests.sha256Hex(Array(apiKey.utf8)).prefix(32))
    }

    init(flavor: SimulatorFlavor, keyHash: String) {
        self.flavor = flavor
        self.keyHash = keyHash
    }

    /// Folder name under `<storage>/tenants/`.
    var directoryName: String { "\(flavor.rawValue)-\(keyHash)" }
}

/// Position of a file in listings: `created_at`, then id.
struct SortKey: Comparable, Sendable {
    let createdAt: Int64
    let id: String

    static func < (lhs: SortKey, rhs: SortKey) -> Bool {
        lhs.createdAt != rhs.createdAt ? lhs.createdAt < rhs.createdAt : lhs.id < rhs.id
    }
}

/// Metadata of a stored file; persisted as `<id>.json` next to `<id>.bin`.
struct FileRecord: Codable, Sendable {
    var id: String
    var flavor: SimulatorFlavor
    var filename: String
    var bytes: Int64
    var purpose: String
    var createdAt: Int64
    /// Creation time with sub-second precision (drives processing delay and list lag).
    var createdAtPrecise: Double
    var expiresAt: Int64?
    /// Computed when first asked for (see `SimulatorCore.simulatedFile`), not while uploading.
    var sha256: String?
    /// The file part's `Content-Type` (Anthropic's `mime_type`); nil for flavors that do not report it.
    var mimeType: String? = nil
    /// Gemini: why the file is `FAILED` (`Simulator.failGeminiFile`); nil while it processes normally.
    var failure: String? = nil

    var sortKey: SortKey { SortKey(createdAt: createdAt, id: id) }
}

struct PartRecord: Sendable {
    let id: String
    let createdAt: Int64
    let size: Int64
    let content: StoredContent
}

/// An OpenAI Uploads API upload (kept in memory only).
struct UploadRecord: Sendable {
    let id: String
    let filename: String
    let purpose: String
    let mimeType: String
    let bytes: Int64
    let createdAt: Int64
    let expiresAt: Int64
    var status: String  // pending, completed, cancelled, expired
    var parts: [String: PartRecord] = [:]
    var fileID: String?
    /// `expires_after.seconds` of the create: the completed file's lifetime.
    var fileExpiresAfter: Int64? = nil
}

struct Tenant: Sendable {
    var files: [String: FileRecord] = [:] {
        didSet { ordered = nil }
    }
    /// `files` in ascending list order (created_at, id), made by the first listing after a change, so each page of a
    /// listing is a binary search and a walk of one page instead of a sort of every file.
    var ordered: [FileRecord]?
    /// Content of each file when there is no storage directory.
    var contents: [String: StoredContent] = [:]
    /// Sort keys of deleted files, so a listing cursor that names one keeps its place.
    var tombstones: [String: SortKey] = [:]
    var uploads: [String: UploadRecord] = [:]
}

struct SimState: Sendable {
    var tenants: [TenantID: Tenant] = [:]
    /// Ids handed out but not yet committed (a create in flight).
    var reservedIDs: Set<String> = []
    var plan: FaultPlan
    var faultRandom: SimRandom
    var idRandom: SimRandom
    var stats = SimulatorStats()
    /// The latest model calls (`ModelCallRoutes.swift`), oldest first.
    var modelCalls: [ModelCall] = []
}
