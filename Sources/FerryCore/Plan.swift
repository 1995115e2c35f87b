/// What the planner decided to do for one placement (or one bookkeeping fact).
public struct PlannedAction: Hashable, Codable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Upload a file that is not on the endpoint.
        case create
        /// Upload new content, then delete the old file(s); the unified id stays the same.
        case replace
        /// Delete a file Ferry owns.
        case delete
        /// Record as owned an upload found for a pending write-ahead intent.
        case adopt
        /// Drop the record of an owned file that is no longer on the provider.
        case forget
        /// Stop managing a file whose declaration was removed with `deletionPolicy: Retain`.
        case release
        /// Drop a write-ahead intent whose upload never appeared.
        case expireIntent = "expire-intent"
        /// Record as owned a file found on the provider that the state has no record of (`ferry import`).
        case `import`
        /// Give an owned file a new declared name (a rename): no upload, no delete; the unified id follows the name.
        case move
        /// Record a declaration's new deletion policy (protect, unprotect, retain) in the state.
        case setPolicy = "set-policy"

        /// Whether the action calls the provider (as opposed to only updating the state store).
        public var mutatesProvider: Bool { self == .create || self == .replace || self == .delete }

        var order: Int { Kind.allCases.firstIndex(of: self)! }
    }

    /// Why a delete happens; only `pruned` counts against the deletion budget.
    public enum Reason: String, Codable, Sendable {
        case new, changed, failedRemotely = "failed-remotely", missingRemotely = "missing-remotely"
        case pruned, superseded, duplicate, retained, crashedUpload = "crashed-upload", expired
        /// A rename: the same content under a new name, or a name listed in `previousNames`.
        case renamed
        /// A delete turned into a release because the file is protected.
        case protected
        /// The declaration's deletion policy differs from the one recorded.
        case policyChanged = "policy-changed"
        /// An import whose content was proven the same (SHA-256 of the remote bytes, or Ferry's own metadata).
        case contentMatch = "content-match"
        /// An import matched by file name, size and purpose only: the provider would not show the content.
        case nameMatch = "name-match"
        /// A replace of a copy the provider deletes by itself within the refresh margin (same content).
        case expiring
    }

    public var kind: Kind
    public var reason: Reason
    public var file: String
    public var unifiedID: String
    public var endpointID: String
    /// The remote file acted on: deleted, adopted, forgotten or released.
    public var remoteID: String?
    /// Remote files a replace deletes once the new upload is recorded.
    public var replaces: [String]
    /// Upload details for create and replace.
    public var sourcePath: String?
    /// The source's SHA-256; nil on a create whose digest is computed from the bytes it sends (`digestDeferred`).
    public var digest: String?
    /// For a create: true when the source was not hashed before planning and the upload computes its digest
    /// (`DigestDeferral`); nil otherwise. Saved plans never defer.
    public var digestDeferred: Bool?
    public var bytes: Int64?
    public var filename: String?
    public var purpose: String?
    public var deletionPolicy: DeletionPolicy?
    /// The write-ahead intent an adopt or expire-intent resolves.
    public var intentID: Int64?
    /// For a move: the name the file had.
    public var previousName: String?
    /// For a replace or delete of a copy that expires: when the provider deletes it by itself (Unix seconds).
    public var expiresAt: Int64?
    /// For a create or replace: `expiresAfter` to send (OpenAI, Azure).
    public var expiresAfterSeconds: Int64?

    public init(
        kind: Kind, reason: Reason, file: String, endpointID: String, remoteID: String? = nil, replaces: [String] = [],
        sourcePath: String? = nil, digest: String? = nil, bytes: Int64? = nil, filename: String? = nil,
        purpose: String? = nil, deletionPolicy: DeletionPolicy? = nil, intentID: Int64? = nil
    ) {
        self.init(
            kind: kind, reason: reason, file: file, unifiedID: UnifiedID.make(for: file), endpointID: endpointID,
            remoteID: remoteID, replaces: replaces, sourcePath: sourcePath, digest: digest, bytes: bytes,
            filename: filename, purpose: purpose, deletionPolicy: deletionPolicy, intentID: intentID)
    }

    /// With the file's unified id already known (`UnifiedID.make(for: file)`), so the planner does not hash it again.
    init(
        kind: Kind, reason: Reason, file: String, unifiedID: String, endpointID: String, remoteID: String? = nil,
        replaces: [String] = [], sourcePath: String? = nil, digest: String? = nil, bytes: Int64? = nil,
        filename: String? = nil, purpose: String? = nil, deletionPolicy: DeletionPolicy? = nil, intentID: Int64? = nil
    ) {
        self.kind = kind
        self.reason = reason
        self.file = file
        self.unifiedID = unifiedID
        self.endpointID = endpointID
        self.remoteID = remoteID
        self.replaces = replaces
        self.sourcePath = sourcePath
        self.digest = digest
        self.bytes = bytes
        self.filename = filename
        self.purpose = purpose
        self.deletionPolicy = deletionPolicy
        self.intentID = intentID
    }

    public var placement: PlacementKey { PlacementKey(file: file, endpointID: endpointID) }

    static func sortKey(_ a: PlannedAction, _ b: PlannedAction) -> Bool {
        (a.file, a.endpointID, a.kind.order, a.remoteID ?? "", a.intentID ?? 0)
            < (b.file, b.endpointID, b.kind.order, b.remoteID ?? "", b.intentID ?? 0)
    }
}

/// Where one desired placement stands.
public struct PlacementStatus: Hashable, Codable, Sendable {
    public enum State: String, Codable, Sendable {
        case inSync = "in-sync"
        case outOfSync = "out-of-sync"
        /// The file is in place but the provider is still processing it.
        case processing
        /// The endpoint could not be listed, so nothing is known.
        case unknown
    }

    // (The one-byte fields last: 96 bytes a status instead of 104, and a large plan holds 300,000.)
    public var file: String
    public var unifiedID: String
    public var endpointID: String
    public var models: [String]
    /// The remote file serving this placement now, if any.
    public var remoteID: String?
    public var detail: String?
    public var state: State
    /// The pending action's kind, when out of sync.
    public var pendingAction: PlannedAction.Kind?

    public init(
        file: String, endpointID: String, models: [String], state: State, remoteID: String? = nil,
        pendingAction: PlannedAction.Kind? = nil, detail: String? = nil
    ) {
        self.init(
            file: file, unifiedID: UnifiedID.make(for: file), endpointID: endpointID, models: models, state: state,
            remoteID: remoteID, pendingAction: pendingAction, detail: detail)
    }

    /// With the file's unified id already known: it must be `UnifiedID.make(for: file)` (the planner has it for each
    /// declared file, the state store in the declared file's row).
    public init(
        file: String, unifiedID: String, endpointID: String, models: [String], state: State, remoteID: String? = nil,
        pendingAction: PlannedAction.Kind? = nil, detail: String? = nil
    ) {
        self.file = file
        self.unifiedID = unifiedID
        self.endpointID = endpointID
        self.models = models
        self.state = state
        self.remoteID = remoteID
        self.pendingAction = pendingAction
        self.detail = detail
    }
}

/// Per-endpoint facts shown with a plan.
public struct EndpointSummary: Hashable, Codable, Sendable {
    public var endpointID: String
    public var displayName: String
    public var kind: ProviderKind
    /// Files listed on the endpoint; nil when the listing failed.
    public var listed: Int?
    public var owned: Int
    /// Files on the endpoint Ferry does not own; reported, never touched.
    public var unmanaged: [RemoteFile]
    public var error: String?

    public init(
        endpointID: String, displayName: String, kind: ProviderKind, listed: Int?, owned: Int, unmanaged: [RemoteFile],
        error: String?
    ) {
        self.endpointID = endpointID
        self.displayName = displayName
        self.kind = kind
        self.listed = listed
        self.owned = owned
        self.unmanaged = unmanaged
        self.error = error
    }
}

/// The planner's output: sorted, deterministic, and self-contained enough to be saved and applied later.
public struct Plan: Hashable, Codable, Sendable {
    /// Version of the JSON schema (docs/plan-json.md).
    public var formatVersion: Int = 1
    public var actions: [PlannedAction]
    public var placements: [PlacementStatus]
    public var endpoints: [EndpointSummary]
    /// Reasons the plan must not be applied as is (deletion budget, empty manifests). Empty when applicable.
    public var blocked: [String]
    /// Non-fatal notes (unreachable endpoints, owned files left behind).
    public var warnings: [String]
    /// SHA-256 over the desired inputs (manifests and source digests); a saved plan is refused if they changed.
    public var desiredFingerprint: String
    /// Declared placements with a file on the provider that looks like Ferry's upload of it but that the state has
    /// no record of (a new or lost state). No create is planned for them; `ferry import` adopts them. Nil when none.
    public var untracked: [UntrackedFile]?
    /// What applying the plan does: nil for a plan of `ferry plan`, `import` for one of `ferry import`.
    public var mode: Mode?
    /// The names the plan was limited to (`--target`/`--exclude`); nil when it covers every name. Applying a saved
    /// plan plans again within the same scope.
    public var scope: PlanScope?
    /// Vector store changes (create, update, attach, detach, delete), in order; nil when no store is declared or
    /// owned.
    public var vectorStoreActions: [VectorStoreAction]?
    /// Where each declared (or owned) vector store stands; nil when none is declared or owned.
    public var vectorStores: [VectorStoreStatus]?

    /// The kind of run a plan belongs to.
    public enum Mode: String, Codable, Sendable {
        /// `ferry import`: only `import` actions, adopting files the state has no record of.
        case `import`
    }

    public init(
        actions: [PlannedAction], placements: [PlacementStatus], endpoints: [EndpointSummary], blocked: [String],
        warnings: [String], desiredFingerprint: String
    ) {
        self.actions = actions
        self.placements = placements
        self.endpoints = endpoints
        self.blocked = blocked
        self.warnings = warnings
        self.desiredFingerprint = desiredFingerprint
    }

    /// True when nothing at all would change.
    public var isEmpty: Bool { actions.isEmpty && (vectorStoreActions ?? []).isEmpty }

    /// Counts per action kind.
    public var counts: [PlannedAction.Kind: Int] {
        actions.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
    }

    /// Whether any endpoint could not be listed.
    public var hasUnknownEndpoints: Bool { endpoints.contains { $0.error != nil } }
}

/// A file on a provider that matches a declared placement by file name, size and purpose, but that the state has no
/// record of: most likely Ferry uploaded it under a state that is now lost (a fresh CI runner, a deleted file).
public struct UntrackedFile: Hashable, Codable, Sendable {
    /// The declared file it matches.
    public var file: String
    public var endpointID: String
    public var remote: RemoteFile

    public init(file: String, endpointID: String, remote: RemoteFile) {
        self.file = file
        self.endpointID = endpointID
        self.remote = remote
    }
}
