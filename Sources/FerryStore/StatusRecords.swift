import FerryCore

// What the status view (`ferry serve`) reads from the state store (`StateStore+StatusQueries.swift`).

/// One declared file as stored by the latest snapshot.
public struct DesiredFileRecord: Hashable, Codable, Sendable {
    public var name: String
    public var unifiedID: String
    /// Relative to the manifest root.
    public var sourcePath: String
    public var bytes: Int64
    /// SHA-256 of the source when the snapshot was taken; empty when unknown.
    public var digest: String
    public var purpose: String
    public var filename: String
    public var targetModels: [String]
    public var labels: [String: String]
    public var deletionPolicy: String
    public var declaredBy: String

    public init(
        name: String, unifiedID: String, sourcePath: String, bytes: Int64, digest: String, purpose: String,
        filename: String, targetModels: [String], labels: [String: String], deletionPolicy: String, declaredBy: String
    ) {
        self.name = name
        self.unifiedID = unifiedID
        self.sourcePath = sourcePath
        self.bytes = bytes
        self.digest = digest
        self.purpose = purpose
        self.filename = filename
        self.targetModels = targetModels
        self.labels = labels
        self.deletionPolicy = deletionPolicy
        self.declaredBy = declaredBy
    }
}

/// How a declared file's placements stand: how many there are, how many are in sync or processing, and how many
/// are not in sync after a failed last attempt.
public struct PlacementRollUp: Hashable, Sendable {
    public var placements: Int
    public var inSync: Int
    public var processing: Int
    /// Placements not in sync whose last attempt failed.
    public var failed: Int

    public init(placements: Int = 0, inSync: Int = 0, processing: Int = 0, failed: Int = 0) {
        self.placements = placements
        self.inSync = inSync
        self.processing = processing
        self.failed = failed
    }

    /// Adds one placement: its planner state, and whether its last attempt failed.
    mutating func count(placementState state: String, lastAttemptFailed: Bool) {
        placements += 1
        if state == PlacementStatus.State.inSync.rawValue {
            inSync += 1
        } else if lastAttemptFailed {
            failed += 1
        }
        if state == PlacementStatus.State.processing.rawValue { processing += 1 }
    }
}

/// A declared file with a roll-up of its placements.
public struct DesiredFileStatus: Hashable, Sendable {
    public var file: DesiredFileRecord
    /// Earliest provider `created_at` among the file's owned remote files; nil when none is owned.
    public var firstCreatedAt: Int64?
    public var rollUp: PlacementRollUp

    public init(file: DesiredFileRecord, firstCreatedAt: Int64?, rollUp: PlacementRollUp) {
        self.file = file
        self.firstCreatedAt = firstCreatedAt
        self.rollUp = rollUp
    }

    /// The file as a file list shows it.
    public var listed: ListedFile {
        ListedFile(
            name: file.name, unifiedID: file.unifiedID, bytes: file.bytes, purpose: file.purpose,
            filename: file.filename, firstCreatedAt: firstCreatedAt, rollUp: rollUp)
    }
}

/// A declared file as an OpenAI-style file list shows it (`GET /v1/files`): the fields of its file object and the
/// roll-up of its placements, without the manifest details (models, labels, source) a list page does not show, so
/// a page reads five columns instead of eleven and parses no JSON.
public struct ListedFile: Hashable, Sendable {
    public var name: String
    public var unifiedID: String
    public var bytes: Int64
    public var purpose: String
    public var filename: String
    /// Earliest provider `created_at` among the file's owned remote files; nil when none is owned.
    public var firstCreatedAt: Int64?
    public var rollUp: PlacementRollUp

    public init(
        name: String, unifiedID: String, bytes: Int64, purpose: String, filename: String, firstCreatedAt: Int64?,
        rollUp: PlacementRollUp = PlacementRollUp()
    ) {
        self.name = name
        self.unifiedID = unifiedID
        self.bytes = bytes
        self.purpose = purpose
        self.filename = filename
        self.firstCreatedAt = firstCreatedAt
        self.rollUp = rollUp
    }
}

/// One placement from the latest snapshot, with its last failure if any.
public struct PlacementRecord: Hashable, Sendable {
    /// A placement's models as the stores keep them, comma-separated: split byte by byte (a comma is one byte in
    /// UTF-8), not character by character, which was a tenth of a placement page's CPU.
    static func models(stored text: String) -> [String] {
        guard text.utf8.contains(UInt8(ascii: ",")) else { return text.isEmpty ? [] : [text] }
        var copy = text
        return copy.withUTF8 { bytes in
            bytes.split(separator: UInt8(ascii: ",")).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    public var status: PlacementStatus
    /// The last failure recorded for this placement; kept until it succeeds.
    public var error: PlacementError?
    /// The declared file's upload name; nil when the file is no longer declared.
    public var filename: String?
    /// Unix seconds when the provider will delete the remote file serving the placement by itself (from the last
    /// listing); nil when it does not expire or is not listed.
    public var expiresAt: Int64? = nil

    /// `failed` when the placement is not in sync and its last attempt failed, else the planner's state.
    public var displayState: String {
        if error != nil && status.state != .inSync { return "failed" }
        return status.state.rawValue
    }
}

/// An endpoint as last observed, with counts of owned and unmanaged files.
public struct EndpointRecord: Hashable, Codable, Sendable {
    public var id: String
    public var kind: String
    public var displayName: String
    public var baseURL: String
    /// Unix seconds of the last listing attempt.
    public var observedAt: Int64?
    /// Files in the last successful listing.
    public var listed: Int?
    public var pages: Int?
    /// Why the last listing failed; nil when it succeeded.
    public var error: String?
    /// Unix seconds of the last successful listing.
    public var lastSuccessAt: Int64?
    /// Remote files Ferry owns on this endpoint.
    public var owned: Int
    /// Listed files Ferry does not own.
    public var unmanaged: Int
}

/// Totals over the recorded runs (the store keeps the last 1,000).
public struct RunTotals: Hashable, Sendable {
    public var runs: Int
    public var applied: Int
    public var failed: Int
    /// `finished_at` of the latest run whose outcome was `converged`.
    public var lastConvergedAt: Double?
}
