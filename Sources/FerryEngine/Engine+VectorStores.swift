import FerryCore
import FerryProviders
import Foundation
import Logging

/// How long an apply waits for the provider to process an attachment, and how often it asks.
public struct AttachmentWait: Sendable, Hashable {
    /// Seconds an attach is awaited before the apply moves on (the attachment is then shown as processing).
    public var timeout: Double
    /// Seconds between two looks at an attachment's status.
    public var interval: Double

    public init(timeout: Double = 600, interval: Double = 1) {
        self.timeout = timeout
        self.interval = interval
    }
}

/// What an apply did to vector stores.
public struct VectorStoreApplyReport: Sendable {
    public var applied: [VectorStoreAction] = []
    public var failed: [(action: VectorStoreAction, message: String)] = []
    /// Attachments still `in_progress` when the wait ran out (not failures: the next pass shows them).
    public var stillProcessing: [VectorStoreAction] = []
}

extension Engine {
    // MARK: Observe

    /// Endpoints whose vector stores are listed: those of declared stores, and those where the last listing found a
    /// store carrying Ferry's mark (so a store whose declaration was removed is still found and deleted).
    func vectorStoreEndpoints(_ inputs: LoadedInputs) throws -> [Endpoint] {
        var ids = Set(inputs.desired.vectorStores.flatMap { inputs.desired.endpoints(of: $0).map(\.id) })
        for (endpointID, observation) in try store.vectorStoreObservations()
        where (observation.stores ?? []).contains(where: { $0.declaredName != nil }) {
            ids.insert(endpointID)
        }
        return inputs.desired.knownEndpoints.filter { ids.contains($0.id) && ($0.kind == .openai || $0.kind == .azure) }
    }

    /// Lists the vector stores of `endpoints` (and the files of Ferry's stores), storing each listing unless `record`
    /// is false.
    func observeVectorStores(_ inputs: LoadedInputs, endpoints: [Endpoint], record: Bool) async throws
        -> [String: VectorStoreObservation]
    {
        var result: [String: VectorStoreObservation] = [:]
        await withTaskGroup(of: VectorStoreObservation.self) { group in
            for endpoint in endpoints {
                group.addTask {
                    do {
                        guard let client = try self.provider(for: endpoint, inputs: inputs) as? any VectorStoreProvider
                        else {
                            throw EngineError(.internalError, "\(endpoint.displayName) has no vector stores")
                        }
                        let stores = try await client.listVectorStores { $0.declaredName != nil }
                        return VectorStoreObservation(endpointID: endpoint.id, stores: stores, observedAt: self.nowSeconds)
                    } catch {
                        return VectorStoreObservation(
                            endpointID: endpoint.id, stores: nil, error: "\(error)", observedAt: self.nowSeconds)
                    }
                }
            }
            for await observation in group { result[observation.endpointID] = observation }
        }
        if record {
            for observation in result.values where observation.stores != nil {
                try store.recordVectorStores(observation)
            }
        }
        for observation in result.values {
            if let error = observation.error {
                logger.info(
                    "cannot list vector stores",
                    metadata: ["ferry.endpoint": .string(observation.endpointID), "ferry.error": .string(error)])
            }
        }
        return result
    }

    // MARK: Apply

    /// Placements whose new upload a vector store attaches in this plan: the file they replace is deleted only once
    /// the new one is attached, so search never loses the file.
    func uploadsAttachedByStores(_ plan: Plan) -> Set<PlacementKey> {
        Set(
            (plan.vectorStoreActions ?? []).filter { $0.kind == .attach && $0.fileID == nil }.compactMap { action in
                action.file.map { PlacementKey(file: $0, endpointID: action.endpointID) }
            })
    }

    /// Carries out the plan's vector store actions after its uploads: store changes, then attaches (each awaited until
    /// the provider processed it), then detaches. A detach that gives way to a new upload runs only when that upload
    /// attached. Returns the report and the placements whose new file is attached and completed.
    func applyVectorStores(_ plan: Plan, inputs: LoadedInputs, failedUploads: Set<PlacementKey>) async
        -> (report: VectorStoreApplyReport, attached: Set<PlacementKey>)
    {
        var report = VectorStoreApplyReport()
        var attached = Set<PlacementKey>()
        let actions = plan.vectorStoreActions ?? []
        guard !actions.isEmpty else { return (report, attached) }
        let endpoints = Dictionary(inputs.desired.knownEndpoints.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // The newest owned file of each placement: the upload this plan made, or the file serving it.
        var newest: [PlacementKey: OwnedFile] = [:]
        for record in (try? store.ownedFiles()) ?? [] {
            let key = PlacementKey(file: record.file, endpointID: record.endpointID)
            if let known = newest[key], (known.createdAt, known.remoteID) >= (record.createdAt, record.remoteID) { continue }
            newest[key] = record
        }
        for (endpointID, endpointActions) in Dictionary(grouping: actions, by: \.endpointID).sorted(by: { $0.key < $1.key }) {
            guard let endpoint = endpoints[endpointID],
                let client = try? provider(for: endpoint, inputs: inputs) as? any VectorStoreProvider
            else {
                for action in endpointActions { report.failed.append((action, "endpoint \(endpointID) has no vector stores")) }
                continue
            }
            var storeIDs: [String: String] = [:]
            var failedStores = Set<String>()
            // 1. Store changes.
            for action in endpointActions where action.kind == .createStore || action.kind == .updateStore || action.kind == .deleteStore {
                do {
                    let settings = VectorStoreSettings(
                        name: action.displayName ?? action.store, expiresAfterDays: action.expiresAfterDays,
                        metadata: action.metadata ?? [RemoteVectorStore.ownerKey: action.store])
                    switch action.kind {
                    case .createStore: storeIDs[action.store] = try await client.createVectorStore(settings).id
                    case .updateStore: _ = try await client.updateVectorStore(id: action.storeID ?? "", settings)
                    default: try await client.deleteVectorStore(id: action.storeID ?? "")
                    }
                    succeeded(action, &report)
                } catch {
                    if action.kind == .createStore { failedStores.insert(action.store) }
                    failed(action, "\(error)", &report)
                }
            }
            // 2. Attaches, awaited concurrently (bounded like uploads).
            var attaches: [(VectorStoreAction, storeID: String, fileID: String)] = []
            for action in endpointActions where action.kind == .attach {
                let placement = PlacementKey(file: action.file ?? "", endpointID: endpointID)
                guard let storeID = action.storeID ?? storeIDs[action.store] else {
                    failed(
                        action, failedStores.contains(action.store) ? "the store could not be created" : "the store is unknown",
                        &report)
                    continue
                }
                if action.fileID == nil, failedUploads.contains(placement) {
                    failed(action, "the file's upload failed", &report)
                    continue
                }
                guard let fileID = action.fileID ?? newest[placement]?.remoteID else {
                    failed(action, "no uploaded file to attach", &report)
                    continue
                }
                attaches.append((action, storeID, fileID))
            }
            let width = max(1, configuration.concurrencyPerEndpoint)
            let results = await withTaskGroup(of: (VectorStoreAction, String, Result<AttachmentStatus, any Error>).self) { group in
                var pending = attaches.makeIterator()
                var out: [(VectorStoreAction, String, Result<AttachmentStatus, any Error>)] = []
                func addNext() {
                    guard let (action, storeID, fileID) = pending.next() else { return }
                    group.addTask {
                        do {
                            return (action, fileID, .success(try await self.attachAndWait(action, storeID: storeID, fileID: fileID, client: client)))
                        } catch {
                            return (action, fileID, .failure(error))
                        }
                    }
                }
                for _ in 0..<width { addNext() }
                for await result in group {
                    out.append(result)
                    addNext()
                }
                return out
            }
            for (action, fileID, result) in results {
                var done = action
                done.fileID = fileID
                switch result {
                case .success(.completed):
                    succeeded(done, &report)
                    if let file = action.file { attached.insert(PlacementKey(file: file, endpointID: endpointID)) }
                case .success(.inProgress):
                    report.stillProcessing.append(done)
                    succeeded(done, &report)
                    logger.info(
                        "attachment still processing",
                        metadata: ["ferry.store": .string(action.store), "ferry.remote_id": .string(fileID)])
                case .success(let status):
                    failed(done, "the provider reports the attachment \(status.rawValue)", &report)
                case .failure(let error):
                    failed(done, "\(error)", &report)
                }
            }
            // 3. Detaches: a replaced file's only after its successor attached.
            for action in endpointActions where action.kind == .detach {
                if action.reason == .replaced, let file = action.file,
                    !attached.contains(PlacementKey(file: file, endpointID: endpointID))
                {
                    logger.info(
                        "detach deferred: the new file did not attach",
                        metadata: ["ferry.store": .string(action.store), "ferry.remote_id": .string(action.fileID ?? "")])
                    continue
                }
                do {
                    try await client.detach(storeID: action.storeID ?? storeIDs[action.store] ?? "", fileID: action.fileID ?? "")
                    succeeded(action, &report)
                } catch {
                    failed(action, "\(error)", &report)
                }
            }
        }
        return (report, attached)
    }

    /// Attaches and polls until the attachment leaves `in_progress` or the wait runs out; a failure carries the
    /// provider's `last_error`.
    func attachAndWait(_ action: VectorStoreAction, storeID: String, fileID: String, client: any VectorStoreProvider)
        async throws -> AttachmentStatus
    {
        var attributes = [RemoteFile.declaredNameKey: action.file ?? ""]
        if let file = action.file { attributes["ferry-unified-id"] = UnifiedID.make(for: file) }
        var attachment = try await client.attach(
            storeID: storeID, fileID: fileID, chunking: action.chunking ?? .auto, attributes: attributes)
        let wait = configuration.attachmentWait
        let deadline = clock.now() + wait.timeout
        while attachment.status == .inProgress, clock.now() < deadline {
            try await clock.sleep(for: .milliseconds(Int64(wait.interval * 1000)))
            guard let current = try await client.attachment(storeID: storeID, fileID: fileID) else {
                throw EngineError(.internalError, "\(fileID) was detached from \(storeID) while it was processed")
            }
            attachment = current
        }
        if attachment.status == .failed || attachment.status == .cancelled {
            throw EngineError(
                .attachmentFailed, "attaching \(fileID) to \(storeID) \(attachment.status.rawValue): \(attachment.lastError ?? "no reason given")")
        }
        return attachment.status
    }

    private func succeeded(_ action: VectorStoreAction, _ report: inout VectorStoreApplyReport) {
        report.applied.append(action)
        logger.info(
            "\(action.kind.rawValue) done",
            metadata: [
                "ferry.store": .string(action.store), "ferry.endpoint": .string(action.endpointID),
                "ferry.remote_id": .string(action.fileID ?? action.storeID ?? ""),
            ])
    }

    private func failed(_ action: VectorStoreAction, _ message: String, _ report: inout VectorStoreApplyReport) {
        report.failed.append((action, message))
        logger.info(
            "\(action.kind.rawValue) failed",
            metadata: [
                "ferry.store": .string(action.store), "ferry.endpoint": .string(action.endpointID),
                "ferry.error": .string(message),
            ])
    }
}
