import FerryCore
import FerryStore
import Hummingbird

/// How a declared file looks through the OpenAI-compatible `GET /v1/files` routes: one file object per unified
/// id, whatever the number of providers it is placed on.
enum UnifiedFile {
    /// OpenAI's `status` (`processed`, `uploaded` or `error`) and `status_details` for a declared file:
    /// `processed` when every placement is in sync, `error` when a placement not in sync failed its last attempt,
    /// `uploaded` otherwise (still being placed, still processing, or an endpoint could not be listed).
    static func status(_ rollUp: PlacementRollUp) -> (status: String, details: String?) {
        if rollUp.placements == 0 {
            return ("uploaded", "no placement: none of the target models has a files endpoint Ferry manages")
        }
        if rollUp.inSync == rollUp.placements { return ("processed", nil) }
        var details = "\(rollUp.inSync) of \(rollUp.placements) placements in sync"
        if rollUp.failed > 0 { details += ", \(rollUp.failed) failed" }
        if rollUp.processing > 0 { details += ", \(rollUp.processing) processing" }
        return (rollUp.failed > 0 ? "error" : "uploaded", details)
    }

    /// When the file was first placed: the earliest provider `created_at` of its owned remote files, else when the
    /// latest snapshot was taken (declared, not yet uploaded).
    static func createdAt(_ file: ListedFile, snapshotAt: Double?) -> Int64 {
        file.firstCreatedAt ?? Int64(snapshotAt ?? 0)
    }

    /// Each target model's provider file id: the remote file serving the placement that covers the model, or
    /// the newest owned file on that endpoint; nil when the model has no file yet. Sorted by model.
    static func providerFiles(targetModels: [String], placements: [PlacementRecord], owned: [OwnedFile])
        -> [(model: String, remoteID: String?)]
    {
        var byModel: [String: String?] = [:]
        for model in targetModels { byModel[model] = .some(nil) }
        for placement in placements {
            let newestOwned = owned.filter { $0.endpointID == placement.status.endpointID }
                .max { ($0.createdAt, $0.remoteID) < ($1.createdAt, $1.remoteID) }
            let remoteID = placement.status.remoteID ?? newestOwned?.remoteID
            for model in placement.status.models {
                if let existing = byModel[model], existing != nil { continue }
                byModel[model] = .some(remoteID)
            }
        }
        return byModel.map { (model: $0.key, remoteID: $0.value) }.sorted { $0.model < $1.model }
    }

    /// The members of a declared file's OpenAI file object, written without braces (a page of 100 files is 900
    /// values: written as they go, not built as a `JSONValue` tree first).
    static func writeMembers(_ file: ListedFile, snapshotAt: Double?, into out: inout ByteWriter) {
        let (status, details) = self.status(file.rollUp)
        out.member(#""id":"#, file.unifiedID)
        out.member(#","object":"file","bytes":"#, file.bytes)
        out.member(#","created_at":"#, createdAt(file, snapshotAt: snapshotAt))
        out.member(#","expires_at":null,"filename":"#, file.filename)
        out.member(#","purpose":"#, file.purpose)
        out.member(#","status":"#, status)
        out.member(#","status_details":"#, details)
    }
}

/// The query of `GET /v1/files`, as OpenAI defines it.
struct FileListQuery: Equatable {
    var limit = 10_000
    var after: String?
    var ascending = false
    var purpose: String?

    /// - Throws: `APIError` (400) naming the parameter that is out of range.
    init(_ parameters: Parameters) throws {
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...10_000).contains(value) else {
                throw APIError.badRequest(
                    "Invalid 'limit': expected an integer from 1 to 10000, got '\(text)'.", param: "limit")
            }
            limit = value
        }
        if let text = parameters.get("order") {
            guard text == "asc" || text == "desc" else {
                throw APIError.badRequest("Invalid 'order': expected 'asc' or 'desc', got '\(text)'.", param: "order")
            }
            ascending = text == "asc"
        }
        after = parameters.get("after").flatMap { $0.isEmpty ? nil : $0 }
        purpose = parameters.get("purpose").flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension StatusView {
    /// `GET /v1/files`: declared files by unified id, in OpenAI's list shape.
    func listFiles(_ parameters: Parameters) async throws -> Payload {
        let query = try FileListQuery(parameters)
        let found = try await read { store -> (page: [ListedFile], hasMore: Bool, snapshotAt: Double?)? in
            let snapshotAt = try store.snapshotUpdatedAt()
            guard
                let (page, hasMore) = try store.desiredFilePage(
                    ascending: query.ascending, after: query.after, purpose: query.purpose, limit: query.limit)
            else { return nil }
            return (page, hasMore, snapshotAt)
        }
        guard let (page, hasMore, snapshotAt) = found else {
            throw APIError.badRequest("Invalid 'after': no file has id '\(query.after ?? "")'.", param: "after")
        }
        var out = ByteWriter(capacity: 250 * page.count + 256)
        out.append(#"{"object":"list","data":["# as StaticString)
        for index in page.indices {
            out.append(index > 0 ? ",{" : "{" as StaticString)
            UnifiedFile.writeMembers(page[index], snapshotAt: snapshotAt, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.member(#"],"first_id":"#, page.first?.unifiedID)
        out.member(#","last_id":"#, page.last?.unifiedID)
        out.append(#","has_more":"# as StaticString)
        out.append(hasMore ? "true}" : "false}" as StaticString)
        return out.jsonPayload()
    }

    /// `GET /v1/files/{unified_id}`: the file object plus `provider_files` (model name → provider file id).
    func retrieveFile(_ id: String) async throws -> Payload {
        let found = try await read { store -> (DesiredFileStatus, [PlacementRecord], [OwnedFile], Double?)? in
            guard let file = try store.desiredFileStatus(unifiedID: id) else { return nil }
            return (
                file, try store.placementRecords(file: file.file.name), try store.ownedFiles(file: file.file.name),
                try store.snapshotUpdatedAt()
            )
        }
        guard let (file, placements, owned, snapshotAt) = found else {
            // A renamed file's old id: say where it went.
            if let moved = try await read({ try $0.movedFile(unifiedID: id) }) {
                throw APIError.notFound(
                    "No such File object: \(id). It was renamed from '\(moved.oldName)' to '\(moved.newName)'; "
                        + "use \(moved.newUnifiedID).", param: "id")
            }
            throw APIError.notFound("No such File object: \(id)", param: "id")
        }
        let providerFiles = UnifiedFile.providerFiles(
            targetModels: file.file.targetModels, placements: placements, owned: owned)
        var out = ByteWriter(capacity: 1_024)
        out.append(UInt8(ascii: "{"))
        UnifiedFile.writeMembers(file.listed, snapshotAt: snapshotAt, into: &out)
        out.member(#","provider_files":"#, .object(providerFiles.map { ($0.model, .string($0.remoteID)) }))
        out.append(UInt8(ascii: "}"))
        return out.jsonPayload()
    }
}
