import FerryCore
import FerryProviders
import FerryStore
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Engine {
    /// Carries out a plan: state-only actions first, then uploads (create-before-delete for replaces),
    /// then deletes. Each placement's steps run in order; placements run concurrently, bounded per endpoint.
    /// A failure of one placement never stops the others.
    public func apply(_ plan: Plan, inputs: LoadedInputs, run: Int64? = nil) async -> ApplyReport {
        var report = ApplyReport()
        let endpoints = Dictionary(
            inputs.desired.knownEndpoints.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

        // 1. Bookkeeping: no provider calls.
        for action in plan.actions where !action.kind.mutatesProvider {
            do {
                try applyBookkeeping(action, plan: plan)
                logger.info("\(action.kind.rawValue) done", metadata: metadata(action))
                report.applied.append(action)
                self.report(.actionSucceeded(action, remoteID: action.remoteID))
            } catch {
                report.failed.append((action, "\(error)"))
                self.report(.actionFailed(action, message: "\(error)"))
            }
        }

        // 2 and 3. Uploads (with the deletes a replace implies), then prunes and duplicate removals; placements
        // waiting out their backoff are skipped (they were listed and planned as usual).
        var mutations = plan.actions.filter(\.kind.mutatesProvider)
        if let backoff = configuration.backoff {
            (mutations, report.deferred) = deferrals(mutations, backoff: backoff, inputs: inputs)
        }
        // A replace whose new file a vector store attaches keeps its old file until the attach completed (deleting
        // a file also removes it from every store): its deletes run after the vector store phase.
        let attachedUploads = uploadsAttachedByStores(plan)
        var heldReplaces: [PlacementKey: PlannedAction] = [:]
        var heldDeletes: [PlannedAction] = []
        for (index, action) in mutations.enumerated()
        where action.kind == .replace && !action.replaces.isEmpty && attachedUploads.contains(action.placement) {
            heldReplaces[action.placement] = action
            for old in action.replaces {
                heldDeletes.append(
                    PlannedAction(
                        kind: .delete, reason: .superseded, file: action.file, endpointID: action.endpointID,
                        remoteID: old))
            }
            mutations[index].replaces = []
        }
        var phases = [mutations.filter { $0.kind != .delete }, mutations.filter { $0.kind == .delete }]
        if plan.vectorStoreActions?.isEmpty == false { phases.insert([], at: 1) }  // the vector store phase
        let heldIDs = Set(heldDeletes.compactMap(\.remoteID))
        // The file each create or replace uploaded, by placement: what the vector store phase attaches.
        var uploaded: [PlacementKey: String] = [:]
        for number in phases.indices {
            let phase = phases[number]
            if phases.count == 3, number == 1 {
                let failedUploads = Set(report.failed.map(\.action.placement))
                let (storeReport, attached) = await applyVectorStores(
                    plan, inputs: inputs, uploaded: uploaded, failedUploads: failedUploads)
                report.vectorStores = storeReport
                // The old files of replaces whose new file attached are deleted with the other deletes; the others
                // stay (the next plan deletes them as superseded once their successor is attached).
                let released = heldDeletes.filter { attached.contains($0.placement) }
                if released.count < heldDeletes.count {
                    logger.info("\(heldDeletes.count - released.count) replaced file(s) kept until their successor is attached")
                }
                phases[2] += released
                continue
            }
            let byEndpoint = Dictionary(grouping: phase, by: \.endpointID)
            await withTaskGroup(of: [ActionResult].self) { group in
                for (endpointID, actions) in byEndpoint {
                    guard let endpoint = endpoints[endpointID] else {
                        for action in actions {
                            report.failed.append((action, "endpoint \(endpointID) is no longer configured"))
                        }
                        continue
                    }
                    group.addTask {
                        await self.runBounded(actions, endpoint: endpoint, inputs: inputs, run: run)
                    }
                }
                for await results in group {
                    for (action, remoteID, failure) in results {
                        // A held replace is reported as the replace it is; its held deletes only when they fail.
                        let reported =
                            action.kind == .replace ? heldReplaces[action.placement] ?? action : action
                        if let failure {
                            report.failed.append((reported, failure))
                        } else {
                            if action.kind == .create || action.kind == .replace, let remoteID {
                                uploaded[action.placement] = remoteID
                            }
                            if !(action.kind == .delete && heldIDs.contains(action.remoteID ?? "")) {
                                report.applied.append(reported)
                            }
                        }
                    }
                }
            }
        }
        return report
    }

    /// Runs one endpoint's actions with at most `concurrencyPerEndpoint` in flight.
    /// One provider action's outcome: the remote id it created or deleted, or why it failed.
    typealias ActionResult = (action: PlannedAction, remoteID: String?, failure: String?)

    func runBounded(_ actions: [PlannedAction], endpoint: Endpoint, inputs: LoadedInputs, run: Int64?) async
        -> [ActionResult]
    {
        let width = max(1, configuration.concurrencyPerEndpoint)
        return await withTaskGroup(of: ActionResult.self) { group in
            var results: [ActionResult] = []
            var pending = actions.makeIterator()
            func addNext() {
                guard let action = pending.next() else { return }
                group.addTask {
                    self.report(.actionStarted(action))
                    self.logger.debug("starting \(action.kind.rawValue)", metadata: self.metadata(action))
                    do {
                        let remoteID = try await self.applyMutation(action, endpoint: endpoint, inputs: inputs)
                        self.configuration.backoff?.recordSuccess(action.placement)
                        self.report(.actionSucceeded(action, remoteID: remoteID))
                        var metadata = self.metadata(action)
                        metadata["ferry.remote_id"] = .string(remoteID ?? "")
                        self.logger.info("\(action.kind.rawValue) done", metadata: metadata)
                        if let run {
                            try? self.store.recordEvent(
                                run: run, level: "info", file: action.file, endpointID: action.endpointID,
                                action: action.kind.rawValue, message: "\(action.kind.rawValue) ok \(remoteID ?? "")",
                                at: self.clock.now())
                        }
                        return (action, remoteID, nil)
                    } catch {
                        let message = "\(error)"
                        self.recordBackoff(action, error: error, message: message, inputs: inputs)
                        self.report(.actionFailed(action, message: message))
                        var metadata = self.metadata(action)
                        metadata["ferry.error"] = .string(message)
                        self.logger.info("\(action.kind.rawValue) failed", metadata: metadata)
                        try? self.store.recordPlacementError(
                            file: action.file, endpointID: action.endpointID, action: action.kind.rawValue,
                            message: message, at: self.nowSeconds)
                        if let run {
                            try? self.store.recordEvent(
                                run: run, level: "error", file: action.file, endpointID: action.endpointID,
                                action: action.kind.rawValue, message: message, at: self.clock.now())
                        }
                        return (action, nil, message)
                    }
                }
            }
            for _ in 0..<width { addNext() }
            for await result in group {
                results.append(result)
                addNext()
            }
            return results
        }
    }

    /// Log metadata naming an action's placement; ids and names only, never a credential.
    func metadata(_ action: PlannedAction) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "ferry.placement": .string(action.file), "ferry.endpoint": .string(action.endpointID),
            "ferry.action": .string(action.kind.rawValue),
        ]
        if let remoteID = action.remoteID { metadata["ferry.remote_id"] = .string(remoteID) }
        return metadata
    }

    func applyBookkeeping(_ action: PlannedAction, plan: Plan) throws {
        switch action.kind {
        case .adopt, .import:
            // An interrupted run's upload (closing its intent), or a file found for a new or lost state (no intent).
            guard let remoteID = action.remoteID, let digest = action.digest else { return }
            let owned = OwnedFile(
                endpointID: action.endpointID, remoteID: remoteID, file: action.file, digest: digest,
                bytes: action.bytes ?? 0, filename: action.filename ?? "", purpose: action.purpose ?? "",
                createdAt: nowSeconds, deletionPolicy: action.deletionPolicy ?? .delete)
            try store.recordOwned(owned, closingIntent: action.intentID, at: nowSeconds)
        case .forget, .release:
            if let remoteID = action.remoteID { try store.removeOwned(endpointID: action.endpointID, remoteID: remoteID) }
        case .expireIntent:
            if let id = action.intentID { try store.closeIntent(id) }
        case .move:
            guard let remoteID = action.remoteID else { return }
            try store.moveOwned(
                endpointID: action.endpointID, remoteID: remoteID, to: action.file, unifiedID: action.unifiedID,
                at: nowSeconds)
        case .setPolicy:
            try store.setDeletionPolicy(
                endpointID: action.endpointID, file: action.file, policy: action.deletionPolicy ?? .delete)
        case .create, .replace, .delete:
            break
        }
    }

    /// One provider-changing action. Returns the remote id created or deleted.
    func applyMutation(_ action: PlannedAction, endpoint: Endpoint, inputs: LoadedInputs) async throws -> String? {
        let client = try provider(for: endpoint, inputs: inputs)
        switch action.kind {
        case .create, .replace:
            let created = try await upload(action, client: client)
            for old in action.replaces {
                // The new file is recorded; removing the old one is safe (no window without a file).
                try await client.delete(id: old)
                crash(at: .afterDelete)
                try store.removeOwned(endpointID: action.endpointID, remoteID: old)
            }
            return created
        case .delete:
            guard let remoteID = action.remoteID else { return nil }
            try await client.delete(id: remoteID)
            crash(at: .afterDelete)
            try store.removeOwned(endpointID: action.endpointID, remoteID: remoteID)
            return remoteID
        default:
            return nil
        }
    }

    /// Write-ahead intent, upload, record. An ambiguous failure leaves the intent open for a later run to adopt.
    func upload(_ action: PlannedAction, client: any FileProvider) async throws -> String {
        guard let sourcePath = action.sourcePath, let bytes = action.bytes,
            action.digest != nil || action.digestDeferred == true
        else {
            throw EngineError(.internalError, "internal: upload action without a source")
        }
        let digest = action.digest
        let digester = SourceDigester(tree: tree, store: store)
        let before = try digester.stamp(sourcePath)
        guard before.size == bytes else {
            throw EngineError(.sourceChanged, "source \(sourcePath) changed since it was planned (size \(before.size), planned \(bytes)); plan again")
        }
        // A deferred digest is computed from the bytes sent; until then the intent holds the source's stamp.
        let hasher = digest == nil ? UploadHasher(totalBytes: bytes) : nil
        let intentID = try store.beginCreate(
            endpointID: action.endpointID, file: action.file, digest: digest ?? before.intentMarker, bytes: bytes,
            filename: action.filename ?? "", purpose: action.purpose ?? "",
            deletionPolicy: action.deletionPolicy ?? .delete, startedAt: nowSeconds)
        let remote: RemoteFile
        do {
            remote = try await client.create(
                UploadRequest(
                    sourcePath: tree.absolutePath(sourcePath), filename: action.filename ?? "",
                    purpose: action.purpose ?? "", bytes: bytes,
                    metadata: digest.map { [RemoteFile.declaredNameKey: action.file, RemoteFile.sha256Key: $0] }
                        ?? [RemoteFile.declaredNameKey: action.file],
                    progress: UploadProgress(totalBytes: bytes) { sent, total in
                        self.report(.uploadProgress(action, sent: sent, total: total))
                    }, expiresAfterSeconds: action.expiresAfterSeconds, hasher: hasher))
        } catch let error as ProviderError {
            switch error.classification {
            case .terminal, .notFound:
                // Certainly not stored: nothing to adopt later. Clients must say `.ambiguous` instead whenever any
                // attempt of the create may have stored the file (retried Cloud Storage creates: see GCSClient),
                // or closing the intent here would orphan the upload and the next run would upload it again.
                try? store.closeIntent(intentID)
            case .retryable, .ambiguous:
                break  // the intent stays open; the next observation adopts the upload if it landed
            }
            throw error
        }
        crash(at: .afterCreate)
        // If the source changed while it was sent, record an unknown digest so the next plan replaces it.
        // A deferred digest is the one computed from the bytes sent (nil when the source changed meanwhile).
        let recordedDigest: String
        if let hasher {
            recordedDigest = digestOfUpload(sourcePath: sourcePath, before: before, hasher: hasher) ?? "changed-during-upload"
        } else if let digest, (try? digester.stamp(sourcePath)) == before {
            recordedDigest = digest
        } else {
            recordedDigest = "changed-during-upload"
        }
        let owned = OwnedFile(
            endpointID: action.endpointID, remoteID: remote.id, file: action.file, digest: recordedDigest,
            bytes: remote.bytes, filename: action.filename ?? remote.filename, purpose: action.purpose ?? remote.purpose,
            createdAt: remote.createdAt, deletionPolicy: action.deletionPolicy ?? .delete)
        try store.recordOwned(owned, closingIntent: intentID, at: nowSeconds)
        return remote.id
    }

    func crash(at point: CrashPoint) {
        guard configuration.crashPoint == point else { return }
        kill(getpid(), SIGKILL)
    }
}
