// Rows the state store reads and writes, shared by every backend.

/// One recorded run of plan, apply or reconcile.
public struct RunRecord: Hashable, Codable, Sendable {
    public var id: Int64
    public var command: String
    /// Unix seconds (fractional).
    public var startedAt: Double
    public var finishedAt: Double?
    /// `converged`, `applied`, `failed`, `not-converged`, `refused`, or nil while running.
    public var outcome: String?
    public var summary: String?
    public var applied: Int
    public var failed: Int
    public var requests: Int
    /// The manifests' revision the run worked from (git HEAD or `FERRY_REVISION`), when known.
    public var revision: String?
}

/// A declared file renamed without a new upload: its old unified id, kept so the status view can say where it went.
public struct MovedFile: Hashable, Codable, Sendable {
    public var oldUnifiedID: String
    public var oldName: String
    public var newName: String
    public var newUnifiedID: String
    /// Unix seconds.
    public var movedAt: Int64

    public init(oldUnifiedID: String, oldName: String, newName: String, newUnifiedID: String, movedAt: Int64) {
        self.oldUnifiedID = oldUnifiedID
        self.oldName = oldName
        self.newName = newName
        self.newUnifiedID = newUnifiedID
        self.movedAt = movedAt
    }
}

/// The last failure of a placement, shown until it succeeds.
public struct PlacementError: Hashable, Codable, Sendable {
    public var file: String
    public var endpointID: String
    public var action: String
    public var message: String
    public var at: Int64
    public var attempts: Int
}

/// Accumulated provider requests of one operation on one endpoint, across runs.
public struct RequestStatsRow: Hashable, Codable, Sendable {
    public var endpointID: String
    public var operation: String
    public var requests: Int
    public var failures: Int
    public var retries: Int
    public var latencySeconds: Double

    public init(endpointID: String, operation: String, requests: Int, failures: Int, retries: Int, latencySeconds: Double) {
        self.endpointID = endpointID
        self.operation = operation
        self.requests = requests
        self.failures = failures
        self.retries = retries
        self.latencySeconds = latencySeconds
    }
}

/// Who holds the writer lease.
public struct LeaseHolder: Hashable, Sendable {
    /// The holder's name, unique per run: `HOST pid PID #RANDOM[ COMMAND]` (`WriterLease.makeHolderName`).
    public var holder: String
    /// Unix seconds when this holder took the lease.
    public var acquiredAt: Double
    /// Unix seconds when the lease expires unless renewed.
    public var expiresAt: Double

    public init(holder: String, acquiredAt: Double, expiresAt: Double) {
        self.holder = holder
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
    }

    /// The host named in `holder`, when it has the `HOST pid PID …` form.
    public var host: String? { parts.map { String($0[0]) } }

    /// The process id named in `holder`, when it has the `HOST pid PID …` form.
    public var pid: Int32? { parts.flatMap { Int32($0[2]) } }

    /// The command named in `holder` after its random suffix (`apply`, `reconcile`), when there is one.
    public var command: String? {
        guard let parts, parts.count >= 5 else { return nil }
        return parts[4...].joined(separator: " ")
    }

    private var parts: [Substring]? {
        let parts = holder.split(separator: " ")
        guard parts.count >= 3, parts[1] == "pid" else { return nil }
        return parts
    }
}

/// What identifies a source file's content without reading it.
public struct FileStamp: Hashable, Sendable {
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var inode: Int64

    public init(size: Int64, mtimeNanoseconds: Int64, inode: Int64) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
    }
}
