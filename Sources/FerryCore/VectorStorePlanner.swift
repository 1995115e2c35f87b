/// Plans vector stores: a pure function of the declared stores, the stores listed on each endpoint, the file plan
/// (which file serves each placement now, and which placements this plan uploads anew) and the owned files.
///
/// Rules:
/// - A declared store exists once per endpoint of its target models. Ferry's stores carry `ferry-vector-store:
///   <name>` in their metadata, so a store created by a run whose answer was lost is found, not created again; a
///   second store with the same mark is deleted (the oldest is kept).
/// - Every declared member is attached by the id of the file serving its placement. A member this plan uploads
///   (create or replace) is attached once uploaded; its old file stays attached until then (detaches run after the
///   attaches, and the engine skips the detach of a file whose successor did not attach).
/// - Any other attachment of an owned store is detached (detach is not delete); an owned store no longer declared
///   on an endpoint is deleted.
public enum VectorStorePlanner {
    public static func plan(
        desired: DesiredState, observations: [String: VectorStoreObservation], filePlan: Plan, owned: [OwnedFile],
        scope: PlanScope = .everything
    ) -> (actions: [VectorStoreAction], statuses: [VectorStoreStatus]) {
        var actions: [VectorStoreAction] = []
        var statuses: [VectorStoreStatus] = []
        let serving = Dictionary(
            filePlan.placements.compactMap { status in status.remoteID.map { (status.placementKey, $0) } },
            uniquingKeysWith: { a, _ in a })
        let uploading = Set(
            filePlan.actions.filter { $0.kind == .create || $0.kind == .replace }.map(\.placement))
        // Which declared file an owned file id belongs to, per endpoint.
        var ownerOf: [String: [String: String]] = [:]
        for record in owned { ownerOf[record.endpointID, default: [:]][record.remoteID] = record.file }

        var declaredOn: [String: Set<String>] = [:]
        for store in desired.vectorStores {
            for endpoint in desired.endpoints(of: store) {
                declaredOn[endpoint.id, default: []].insert(store.name)
                guard let observation = observations[endpoint.id], let listed = observation.stores else {
                    statuses.append(
                        VectorStoreStatus(
                            store: store.name, endpointID: endpoint.id, state: .unknown,
                            attachments: store.files.map { .init(file: $0, fileID: nil, status: nil) },
                            detail: "vector stores could not be listed: \(observations[endpoint.id]?.error ?? "not observed")"))
                    continue
                }
                let mine = listed.filter { $0.declaredName == store.name }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
                for duplicate in mine.dropFirst() {
                    actions.append(
                        VectorStoreAction(
                            kind: .deleteStore, reason: .duplicate, store: store.name, endpointID: endpoint.id,
                            storeID: duplicate.id))
                }
                let existing = mine.first
                var stepActions: [VectorStoreAction] = []
                if let existing {
                    if existing.name != store.displayName || existing.expiresAfterDays != store.expiresAfterDays
                        || existing.metadata != store.providerMetadata
                    {
                        stepActions.append(
                            VectorStoreAction(
                                kind: .updateStore, reason: .changed, store: store.name, endpointID: endpoint.id,
                                storeID: existing.id, displayName: store.displayName,
                                expiresAfterDays: store.expiresAfterDays, metadata: store.providerMetadata))
                    }
                } else {
                    stepActions.append(
                        VectorStoreAction(
                            kind: .createStore, reason: .new, store: store.name, endpointID: endpoint.id,
                            displayName: store.displayName, expiresAfterDays: store.expiresAfterDays,
                            metadata: store.providerMetadata))
                }
                let attached = Dictionary(
                    (existing?.attachments ?? []).map { ($0.fileID, $0) }, uniquingKeysWith: { a, _ in a })
                var wantedIDs = Set<String>()
                var rows: [VectorStoreStatus.Attachment] = []
                for file in store.files {
                    let placement = PlacementKey(file: file, endpointID: endpoint.id)
                    let current = serving[placement]
                    if uploading.contains(placement) {
                        // The new upload is attached once it exists; the file serving now stays attached meanwhile.
                        stepActions.append(
                            VectorStoreAction(
                                kind: .attach, reason: current == nil ? .new : .replaced, store: store.name,
                                endpointID: endpoint.id, storeID: existing?.id, file: file, chunking: store.chunking))
                        // The file serving now is detached (below) once its successor is attached.
                        rows.append(.init(file: file, fileID: current, status: current.flatMap { attached[$0]?.status }))
                        continue
                    }
                    guard let current else {
                        // Not uploaded and no upload planned (the placement is unknown or waits for `ferry import`).
                        rows.append(.init(file: file, fileID: nil, status: nil))
                        continue
                    }
                    wantedIDs.insert(current)
                    if let attachment = attached[current] {
                        rows.append(
                            .init(file: file, fileID: current, status: attachment.status, lastError: attachment.lastError))
                    } else {
                        stepActions.append(
                            VectorStoreAction(
                                kind: .attach, reason: .new, store: store.name, endpointID: endpoint.id,
                                storeID: existing?.id, file: file, fileID: current, chunking: store.chunking))
                        rows.append(.init(file: file, fileID: current, status: nil))
                    }
                }
                let members = Set(store.files)
                for attachment in (existing?.attachments ?? []) where !wantedIDs.contains(attachment.fileID) {
                    let file = ownerOf[endpoint.id]?[attachment.fileID]
                    let replaced = file.map { members.contains($0) && uploading.contains(PlacementKey(file: $0, endpointID: endpoint.id)) } ?? false
                    stepActions.append(
                        VectorStoreAction(
                            kind: .detach, reason: replaced ? .replaced : .removed, store: store.name,
                            endpointID: endpoint.id, storeID: existing?.id, file: file, fileID: attachment.fileID))
                    if !replaced {
                        rows.append(.init(file: file, fileID: attachment.fileID, status: attachment.status, lastError: attachment.lastError))
                    }
                }
                // Scope (--target/--exclude) limits attach and detach to the named files; store-level changes follow
                // the store's own name.
                stepActions.removeAll { action in
                    guard !scope.isEverything else { return false }
                    if let file = action.file { return !scope.includes(file) }
                    return action.kind == .detach ? false : !scope.includes(store.name)
                }
                actions += stepActions
                let failed = rows.contains { $0.status == .failed || $0.status == .cancelled }
                let processing = existing?.status == "in_progress" || rows.contains { $0.status == .inProgress }
                let state: VectorStoreStatus.State =
                    !stepActions.isEmpty ? .outOfSync : failed ? .failed : processing ? .processing : .inSync
                let failures = rows.filter { $0.status == .failed || $0.status == .cancelled }
                statuses.append(
                    VectorStoreStatus(
                        store: store.name, endpointID: endpoint.id, storeID: existing?.id, state: state,
                        providerStatus: existing?.status, usageBytes: existing?.usageBytes,
                        expiresAfterDays: existing?.expiresAfterDays, expiresAt: existing?.expiresAt,
                        lastActiveAt: existing?.lastActiveAt, attachments: rows,
                        detail: failures.isEmpty
                            ? (existing?.status == "expired" ? "the store expired after \(existing?.expiresAfterDays ?? 0) day(s) without use" : nil)
                            : failures.map { "\($0.file ?? $0.fileID ?? "?"): \($0.lastError ?? "failed")" }.joined(separator: "; ")))
            }
        }
        // Owned stores no declaration wants on their endpoint.
        for (endpointID, observation) in observations.sorted(by: { $0.key < $1.key }) {
            for store in observation.stores ?? [] {
                guard let name = store.declaredName, !(declaredOn[endpointID]?.contains(name) ?? false) else { continue }
                guard scope.isEverything || scope.includes(name) else { continue }
                actions.append(
                    VectorStoreAction(
                        kind: .deleteStore, reason: .pruned, store: name, endpointID: endpointID, storeID: store.id))
                statuses.append(
                    VectorStoreStatus(
                        store: name, endpointID: endpointID, storeID: store.id, state: .outOfSync,
                        providerStatus: store.status, usageBytes: store.usageBytes,
                        expiresAfterDays: store.expiresAfterDays, expiresAt: store.expiresAt,
                        lastActiveAt: store.lastActiveAt, detail: "no longer declared: to be deleted"))
            }
        }
        actions.sort(by: VectorStoreAction.sortKey)
        statuses.sort { ($0.store, $0.endpointID, $0.storeID ?? "") < ($1.store, $1.endpointID, $1.storeID ?? "") }
        return (actions, statuses)
    }
}

extension PlacementStatus {
    /// The placement this status describes.
    public var placementKey: PlacementKey { PlacementKey(file: file, endpointID: endpointID) }
}
