import Foundation
import Hummingbird

/// Files of the OpenAI and Azure flavors: status, storage layout and loading, commit, lookup, delete, listing.
///
/// With a storage directory a file lives in `<storage>/tenants/<flavor>-<key hash>/<id>.bin` with its metadata in
/// `<id>.json`; otherwise its bytes stay in memory.
extension SimulatorCore {
    // MARK: Status

    func status(of record: FileRecord, now: Double) -> String {
        // Anthropic files have no processing state: usable as soon as the upload answers.
        if record.flavor == .anthropic { return "processed" }
        if record.flavor == .gemini { return geminiState(of: record, now: now) }
        if now - record.createdAtPrecise < processingDelaySeconds {
            return record.flavor == .azure ? "pending" : "uploaded"
        }
        return "processed"
    }

    func simulatedFile(_ record: FileRecord, now: Double) -> SimulatedFile {
        SimulatedFile(
            id: record.id, filename: record.filename, bytes: record.bytes, purpose: record.purpose,
            createdAt: record.createdAt, expiresAt: record.expiresAt, status: status(of: record, now: now),
            sha256: sha256(of: record), flavor: record.flavor
        )
    }

    /// The content's SHA-256, computed (and remembered) on first use.
    func sha256(of record: FileRecord) -> String {
        if let known = record.sha256 { return known }
        guard let owner = state.withLockedValue({ state in state.tenants.first { $0.value.files[record.id] != nil }?.key }),
            let content = content(of: owner, id: record.id), let digest = Digests.sha256Hex(content)
        else { return "" }
        state.withLockedValue { $0.tenants[owner]?.files[record.id]?.sha256 = digest }
        return digest
    }

    // MARK: Storage layout

    var tempDirectory: String? { storageRoot.map { $0 + "/tmp" } }

    func tenantDirectory(_ tenant: TenantID) -> String? {
        storageRoot.map { "\($0)/tenants/\(tenant.directoryName)" }
    }

    /// A fresh path for streaming an incoming body to disk (nil: keep it in memory).
    func newTempPath() -> String? {
        guard let temp = tempDirectory else { return nil }
        return "\(temp)/\(UUID().uuidString).part"
    }

    /// Creates the storage folders and loads every persisted file. Called by `Simulator.run()`.
    func loadStorage() throws {
        guard let root = storageRoot else { return }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/tenants", withIntermediateDirectories: true)
        // In-flight uploads and upload parts do not survive a restart.
        try? fm.removeItem(atPath: root + "/tmp")
        try fm.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)

        var loaded: [TenantID: Tenant] = [:]
        let decoder = JSONDecoder()
        for folder in (try? fm.contentsOfDirectory(atPath: root + "/tenants")) ?? [] {
            guard let dash = folder.firstIndex(of: "-"),
                let flavor = SimulatorFlavor(rawValue: String(folder[..<dash]))
            else { continue }
            let tenantID = TenantID(flavor: flavor, keyHash: String(folder[folder.index(after: dash)...]))
            let directory = "\(root)/tenants/\(folder)"
            var tenant = Tenant()
            for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] {
                let path = "\(directory)/\(name)"
                if name.hasSuffix(".json") {
                    let id = String(name.dropLast(5))
                    guard let data = fm.contents(atPath: path),
                        let record = try? decoder.decode(FileRecord.self, from: data), record.id == id,
                        fm.fileExists(atPath: "\(directory)/\(id).bin")
                    else {
                        try? fm.removeItem(atPath: path)
                        continue
                    }
                    tenant.files[id] = record
                } else if name.hasSuffix(".tmp") {
                    try? fm.removeItem(atPath: path)
                }
            }
            // A .bin without metadata is an interrupted create: drop it.
            for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".bin") {
                if tenant.files[String(name.dropLast(4))] == nil { try? fm.removeItem(atPath: "\(directory)/\(name)") }
            }
            loaded[tenantID] = tenant
        }
        state.withLockedValue { state in
            // Keep tombstones and uploads of tenants seen before a restart of the same instance.
            var merged = loaded
            for (id, tenant) in state.tenants {
                merged[id, default: Tenant()].tombstones = tenant.tombstones
            }
            state.tenants = merged
        }
        try loadGCSStorage()
    }

    /// Where the content of a committed file lives.
    func content(of tenant: TenantID, id: String) -> StoredContent? {
        if let directory = tenantDirectory(tenant) {
            return .disk("\(directory)/\(id).bin")
        }
        return state.withLockedValue { $0.tenants[tenant]?.contents[id] }
    }

    // MARK: Files

    /// Stores a finished content as a new file. `id` must come from `reserveFileID`. When storing fails, a content
    /// on disk is removed: the caller has nothing left to clean up.
    func commitFile(
        tenant: TenantID, id: String, filename: String, purpose: String, content: StoredContent,
        size: Int64, sha256: String?, createdAt: Int64? = nil, expiresAfterSeconds: Int64? = nil,
        mimeType: String? = nil
    ) throws -> FileRecord {
        defer { releaseReservation(id) }
        let now = SimulatorCore.now()
        let created = createdAt ?? Int64(now)
        let record = FileRecord(
            id: id, flavor: tenant.flavor, filename: filename, bytes: size, purpose: purpose,
            createdAt: created, createdAtPrecise: createdAt.map(Double.init) ?? now,
            expiresAt: expiresAfterSeconds.map { created + $0 }, sha256: sha256, mimeType: mimeType
        )
        var memoryContent: StoredContent?
        if let directory = tenantDirectory(tenant) {
            let fm = FileManager.default
            let binPath = "\(directory)/\(id).bin"
            do {
                try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try content.place(at: binPath)
            } catch {
                if case .disk(let path) = content { unlink(path) }
                throw error
            }
            guard writeJSONAtomically(record, to: "\(directory)/\(id).json") else {
                try? fm.removeItem(atPath: binPath)
                throw SimIOError("cannot write metadata", path: directory)
            }
        } else {
            memoryContent = content
        }
        state.withLockedValue { state in
            state.tenants[tenant, default: Tenant()].files[id] = record
            if let memoryContent { state.tenants[tenant, default: Tenant()].contents[id] = memoryContent }
        }
        return record
    }

    /// The file, unless it is unknown or expired (expired files are removed on the way).
    func file(_ tenant: TenantID, id: String, now: Double) -> FileRecord? {
        guard let record = state.withLockedValue({ $0.tenants[tenant]?.files[id] }) else { return nil }
        if let expires = record.expiresAt, now >= Double(expires) {
            _ = deleteFile(tenant, id: id)
            return nil
        }
        return record
    }

    /// Removes a file; returns false when there was none.
    @discardableResult
    func deleteFile(_ tenant: TenantID, id: String) -> Bool {
        let removed = state.withLockedValue { state -> FileRecord? in
            guard let record = state.tenants[tenant]?.files.removeValue(forKey: id) else { return nil }
            state.tenants[tenant]?.contents.removeValue(forKey: id)
            state.tenants[tenant]?.tombstones[id] = record.sortKey
            return record
        }
        guard removed != nil else { return false }
        detachEverywhere(tenant, fileID: id)
        if let directory = tenantDirectory(tenant) {
            unlink("\(directory)/\(id).json")
            unlink("\(directory)/\(id).bin")
        }
        return true
    }

    enum ListError: Error { case unknownCursor }

    /// One page of a listing: files sorted by (created_at, id), newest first for `descending`.
    func list(
        _ tenant: TenantID, purpose: String?, descending: Bool, after: String?, before: String? = nil, limit: Int,
        now: Double
    ) throws -> (page: [FileRecord], hasMore: Bool) {
        let (ordered, cursor) = try state.withLockedValue { state -> ([FileRecord], SortKey?) in
            var cursor: SortKey?
            if let name = after ?? before {
                guard let t = state.tenants[tenant], let key = t.files[name]?.sortKey ?? t.tombstones[name] else {
                    throw ListError.unknownCursor
                }
                cursor = key
            }
            guard state.tenants[tenant] != nil else { return ([], cursor) }
            if let ordered = state.tenants[tenant]?.ordered { return (ordered, cursor) }
            let ordered = state.tenants[tenant]!.files.values.sorted { $0.sortKey < $1.sortKey }
            state.tenants[tenant]!.ordered = ordered
            return (ordered, cursor)
        }
        let lag = currentPlan().listLagSeconds
        var expired: [String] = []
        func visible(_ record: FileRecord) -> Bool {
            if let expires = record.expiresAt, now >= Double(expires) {
                expired.append(record.id)
                return false
            }
            if let purpose, record.purpose != purpose { return false }
            if lag > 0, now - record.createdAtPrecise < lag { return false }
            return true
        }
        // The first index whose key is after the cursor (`strictly`) or at or after it.
        func lowerBound(_ key: SortKey, strictly: Bool) -> Int {
            var low = 0
            var high = ordered.count
            while low < high {
                let mid = (low + high) / 2
                if strictly ? !(key < ordered[mid].sortKey) : ordered[mid].sortKey < key { low = mid + 1 } else { high = mid }
            }
            return low
        }
        // `after` (or no cursor) walks away from the cursor in list order and keeps the first `limit` files; `before`
        // walks from the cursor against list order and keeps the `limit` files nearest to it, in list order. One file
        // more than the page tells whether there are more.
        let upward = before == nil ? !descending : descending
        var index: Int
        switch (cursor, upward) {
        case (nil, true): index = 0
        case (nil, false): index = ordered.count - 1
        case (let key?, true): index = lowerBound(key, strictly: true)
        case (let key?, false): index = lowerBound(key, strictly: false) - 1
        }
        var page: [FileRecord] = []
        page.reserveCapacity(min(limit + 1, ordered.count))
        while index >= 0, index < ordered.count, page.count <= limit {
            if visible(ordered[index]) { page.append(ordered[index]) }
            index += upward ? 1 : -1
        }
        for id in expired { deleteFile(tenant, id: id) }
        let hasMore = page.count > limit
        if hasMore { page.removeLast() }
        if before != nil { page.reverse() }
        return (page, hasMore)
    }

    func allFiles(_ tenant: TenantID) -> [FileRecord] {
        state.withLockedValue { Array(($0.tenants[tenant] ?? Tenant()).files.values) }.sorted { $0.sortKey < $1.sortKey }
    }
}
