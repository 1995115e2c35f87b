import Foundation
import Hummingbird
import NIOConcurrencyHelpers

// OpenAI (`/v1/vector_stores`) and Azure OpenAI (`/openai/vector_stores`) vector stores, in memory: create, list,
// retrieve, modify, delete, and their files (attach, list, retrieve, detach) with asynchronous processing. Shapes
// follow OpenAI's published OpenAPI spec (VectorStoreObject, VectorStoreFileObject and their list/delete answers).

/// One attachment of a file to a store.
struct AttachmentRecord: Sendable {
    var fileID: String
    var createdAt: Int64
    var createdAtPrecise: Double
    var usageBytes: Int64
    var attributes: [String: JSON]
    var chunking: JSON
    /// Set when the file cannot be indexed: `(code, message)`.
    var failure: (code: String, message: String)?
}

struct VectorStoreRecord: Sendable {
    var id: String
    var tenant: TenantID
    var name: String
    var createdAt: Int64
    var lastActiveAt: Int64
    var expiresAfterDays: Int?
    var metadata: [(String, String)]
    /// Attachments by file id, with their order of attachment.
    var files: [String: AttachmentRecord] = [:]

    var sortKey: SortKey { SortKey(createdAt: createdAt, id: id) }
    var expiresAt: Int64? { expiresAfterDays.map { lastActiveAt + Int64($0) * 86_400 } }
}

/// Every tenant's stores.
struct VectorStoreState: Sendable {
    var stores: [String: VectorStoreRecord] = [:]
    /// What changed, in order: `create vs_…`, `attach vs_… file-…`, `detach vs_… file-…`, `delete vs_…`.
    var events: [String] = []
}

/// File types OpenAI's file search indexes (by extension); anything else fails with `unsupported_file`.
enum SearchableTypes {
    static let extensions: Set<String> = [
        "c", "cpp", "cs", "css", "doc", "docx", "go", "html", "java", "js", "json", "md", "pdf", "php", "pptx", "py",
        "rb", "sh", "tex", "ts", "txt",
    ]

    static func accepts(_ filename: String) -> Bool {
        guard let dot = filename.lastIndex(of: ".") else { return false }
        return extensions.contains(filename[filename.index(after: dot)...].lowercased())
    }
}

extension SimulatorCore {
    var attachmentDelaySeconds: Double {
        let parts = configuration.attachmentDelay.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    func newVectorStoreID() -> String { state.withLockedValue { "vs_" + $0.idRandom.alphanumeric(24) } }

    /// Attachment status at `now`: `in_progress` for `attachmentDelay` after attaching, then `completed` or `failed`.
    func attachmentStatus(_ record: AttachmentRecord, now: Double) -> String {
        if now < record.createdAtPrecise + attachmentDelaySeconds { return "in_progress" }
        return record.failure == nil ? "completed" : "failed"
    }

    /// Removes a deleted file from every store of its tenant (deleting a file detaches it everywhere).
    func detachEverywhere(_ tenant: TenantID, fileID: String) {
        vectorStores.withLockedValue { state in
            for (id, store) in state.stores where store.tenant == tenant && store.files[fileID] != nil {
                state.stores[id]?.files[fileID] = nil
                state.events.append("detach \(id) \(fileID) (file deleted)")
            }
        }
    }
}

extension SimulatorRoutes {
    func addVectorStoreRoutes(_ router: Router<SimRequestContext>) {
        for (flavor, root) in [(SimulatorFlavor.openai, "/v1"), (.azure, "/openai")] {
            router.get("\(root)/vector_stores") { request, context in
                await self.provider(flavor, "vector-store-list", "GET \(root)/vector_stores", request, context) { tenant in
                    try self.listStores(flavor, tenant, request)
                }
            }
            router.post("\(root)/vector_stores") { request, context in
                await self.provider(flavor, "vector-store-create", "POST \(root)/vector_stores", request, context) { tenant in
                    try await self.createStore(flavor, tenant, request)
                }
            }
            router.get("\(root)/vector_stores/:id") { request, context in
                let id = context.parameters.get("id") ?? ""
                return await self.provider(flavor, "vector-store-retrieve", "GET \(root)/vector_stores/{id}", request, context) { tenant in
                    jsonResponse(self.storeObject(try self.store(flavor, tenant, id), now: SimulatorCore.now()))
                }
            }
            router.post("\(root)/vector_stores/:id") { request, context in
                let id = context.parameters.get("id") ?? ""
                return await self.provider(flavor, "vector-store-update", "POST \(root)/vector_stores/{id}", request, context) { tenant in
                    try await self.modifyStore(flavor, tenant, id, request)
                }
            }
            router.delete("\(root)/vector_stores/:id") { request, context in
                let id = context.parameters.get("id") ?? ""
                return await self.provider(flavor, "vector-store-delete", "DELETE \(root)/vector_stores/{id}", request, context) { tenant in
                    _ = try self.store(flavor, tenant, id)
                    self.core.vectorStores.withLockedValue {
                        _ = $0.stores.removeValue(forKey: id)
                        $0.events.append("delete \(id)")
                    }
                    return jsonResponse(
                        .object([("id", .string(id)), ("object", .string("vector_store.deleted")), ("deleted", .bool(true))]))
                }
            }
            router.get("\(root)/vector_stores/:id/files") { request, context in
                let id = context.parameters.get("id") ?? ""
                return await self.provider(flavor, "attachment-list", "GET \(root)/vector_stores/{id}/files", request, context) { tenant in
                    try self.listAttachments(flavor, tenant, id, request)
                }
            }
            router.post("\(root)/vector_stores/:id/files") { request, context in
                let id = context.parameters.get("id") ?? ""
                return await self.provider(flavor, "attach", "POST \(root)/vector_stores/{id}/files", request, context) { tenant in
                    try await self.attach(flavor, tenant, id, request)
                }
            }
            router.get("\(root)/vector_stores/:id/files/:file") { request, context in
                let id = context.parameters.get("id") ?? ""
                let file = context.parameters.get("file") ?? ""
                return await self.provider(flavor, "attachment-retrieve", "GET \(root)/vector_stores/{id}/files/{file_id}", request, context) { tenant in
                    let store = try self.store(flavor, tenant, id)
                    guard let attachment = store.files[file] else {
                        throw ProviderError.notFound(file, flavor: flavor, kind: "vector store file")
                    }
                    return jsonResponse(self.attachmentObject(attachment, storeID: id, now: SimulatorCore.now()))
                }
            }
            router.delete("\(root)/vector_stores/:id/files/:file") { request, context in
                let id = context.parameters.get("id") ?? ""
                let file = context.parameters.get("file") ?? ""
                return await self.provider(flavor, "detach", "DELETE \(root)/vector_stores/{id}/files/{file_id}", request, context) { tenant in
                    _ = try self.store(flavor, tenant, id)
                    let removed = self.core.vectorStores.withLockedValue { state in
                        let removed = state.stores[id]?.files.removeValue(forKey: file)
                        if removed != nil { state.events.append("detach \(id) \(file)") }
                        return removed
                    }
                    guard removed != nil else { throw ProviderError.notFound(file, flavor: flavor, kind: "vector store file") }
                    return jsonResponse(
                        .object([("id", .string(file)), ("object", .string("vector_store.file.deleted")), ("deleted", .bool(true))]))
                }
            }
        }
    }

    // MARK: Objects

    func storeObject(_ store: VectorStoreRecord, now: Double) -> JSON {
        var counts = ["in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0]
        var usage: Int64 = 0
        for attachment in store.files.values {
            let status = core.attachmentStatus(attachment, now: now)
            counts[status, default: 0] += 1
            if status == "completed" { usage += attachment.usageBytes }
        }
        let expired = store.expiresAt.map { Double($0) <= now } ?? false
        let status = expired ? "expired" : (counts["in_progress", default: 0] > 0 ? "in_progress" : "completed")
        var pairs: [(String, JSON)] = [
            ("id", .string(store.id)), ("object", .string("vector_store")), ("created_at", .int(store.createdAt)),
            ("name", .string(store.name)), ("usage_bytes", .int(usage)),
            (
                "file_counts",
                .object([
                    ("in_progress", .int(counts["in_progress"]!)), ("completed", .int(counts["completed"]!)),
                    ("failed", .int(counts["failed"]!)), ("cancelled", .int(counts["cancelled"]!)),
                    ("total", .int(store.files.count)),
                ])
            ),
            ("status", .string(status)),
        ]
        if let days = store.expiresAfterDays {
            pairs.append(("expires_after", .object([("anchor", .string("last_active_at")), ("days", .int(days))])))
        }
        pairs += [
            ("expires_at", .optionalInt(store.expiresAt)), ("last_active_at", .int(store.lastActiveAt)),
            ("metadata", .object(store.metadata.map { ($0.0, .string($0.1)) })),
        ]
        return .object(pairs)
    }

    func attachmentObject(_ attachment: AttachmentRecord, storeID: String, now: Double) -> JSON {
        let status = core.attachmentStatus(attachment, now: now)
        let lastError: JSON =
            status == "failed"
            ? .object([
                ("code", .string(attachment.failure?.code ?? "server_error")),
                ("message", .string(attachment.failure?.message ?? "")),
            ]) : .null
        return .object([
            ("id", .string(attachment.fileID)), ("object", .string("vector_store.file")),
            ("usage_bytes", .int(status == "completed" ? attachment.usageBytes : 0)),
            ("created_at", .int(attachment.createdAt)), ("vector_store_id", .string(storeID)),
            ("status", .string(status)), ("last_error", lastError), ("chunking_strategy", attachment.chunking),
            ("attributes", .object(attachment.attributes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
        ])
    }

    // MARK: Handlers

    func store(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ id: String) throws -> VectorStoreRecord {
        guard let store = core.vectorStores.withLockedValue({ $0.stores[id] }), store.tenant == tenant else {
            throw ProviderError.notFound(id, flavor: flavor, kind: "vector store")
        }
        return store
    }

    func listStores(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ request: Request) throws -> Response {
        let paging = try ListPaging(request)
        let stores = core.vectorStores.withLockedValue { $0.stores.values.filter { $0.tenant == tenant } }
        let now = SimulatorCore.now()
        let page = try paging.page(stores.map { ($0.sortKey, $0) }, kind: "vector store")
        return paging.response(page.items.map { storeObject($0, now: now) }, ids: page.items.map(\.id), hasMore: page.hasMore)
    }

    func listAttachments(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ id: String, _ request: Request) throws -> Response {
        let store = try store(flavor, tenant, id)
        let paging = try ListPaging(request)
        let now = SimulatorCore.now()
        var attachments = Array(store.files.values)
        if let filter = request.uri.queryParameters.get("filter").map({ String($0) }) {
            guard ["in_progress", "completed", "failed", "cancelled"].contains(filter) else {
                throw ProviderError.invalidRequest(
                    "Invalid value for 'filter': expected one of 'in_progress', 'completed', 'failed' or 'cancelled'.",
                    param: "filter", code: "invalid_value")
            }
            attachments.removeAll { core.attachmentStatus($0, now: now) != filter }
        }
        let page = try paging.page(
            attachments.map { (SortKey(createdAt: $0.createdAt, id: $0.fileID), $0) }, kind: "vector store file")
        return paging.response(
            page.items.map { attachmentObject($0, storeID: id, now: now) }, ids: page.items.map(\.fileID),
            hasMore: page.hasMore)
    }

    func createStore(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ request: Request) async throws -> Response {
        let body = try await readObject(request)
        let allowed: Set<String> = ["file_ids", "name", "description", "expires_after", "chunking_strategy", "metadata"]
        if let unknown = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ProviderError.invalidRequest("Unrecognized request argument supplied: \(unknown)", param: unknown)
        }
        let now = SimulatorCore.now()
        var store = VectorStoreRecord(
            id: core.newVectorStoreID(), tenant: tenant, name: try optionalString(body, "name") ?? "",
            createdAt: Int64(now), lastActiveAt: Int64(now), expiresAfterDays: try expiresAfter(body["expires_after"]),
            metadata: try metadata(body["metadata"]))
        let chunking = try chunkingStrategy(body["chunking_strategy"])
        if let ids = body["file_ids"] {
            guard let list = ids as? [String], list.count <= 500 else {
                throw ProviderError.invalidRequest("'file_ids' must be a list of at most 500 file ids.", param: "file_ids")
            }
            for fileID in list { store.files[fileID] = try newAttachment(flavor, tenant, fileID, [:], chunking, now: now) }
        }
        core.vectorStores.withLockedValue {
            $0.stores[store.id] = store
            $0.events.append("create \(store.id)")
        }
        return jsonResponse(storeObject(store, now: now))
    }

    func modifyStore(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ id: String, _ request: Request) async throws -> Response {
        _ = try store(flavor, tenant, id)
        let body = try await readObject(request)
        let allowed: Set<String> = ["name", "expires_after", "metadata"]
        if let unknown = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ProviderError.invalidRequest("Unrecognized request argument supplied: \(unknown)", param: unknown)
        }
        let name = try optionalString(body, "name")
        let expiry: Int?? = body.keys.contains("expires_after") ? .some(try expiresAfter(body["expires_after"])) : nil
        let metadata = body["metadata"] == nil ? nil : try metadata(body["metadata"])
        let now = SimulatorCore.now()
        let updated = try core.vectorStores.withLockedValue { state -> VectorStoreRecord in
            guard var store = state.stores[id] else { throw ProviderError.notFound(id, flavor: flavor, kind: "vector store") }
            if let name { store.name = name }
            if let expiry { store.expiresAfterDays = expiry }
            if let metadata { store.metadata = metadata }
            store.lastActiveAt = Int64(now)
            state.stores[id] = store
            return store
        }
        return jsonResponse(storeObject(updated, now: now))
    }

    func attach(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ id: String, _ request: Request) async throws -> Response {
        _ = try store(flavor, tenant, id)
        let body = try await readObject(request)
        let allowed: Set<String> = ["file_id", "attributes", "chunking_strategy"]
        if let unknown = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ProviderError.invalidRequest("Unrecognized request argument supplied: \(unknown)", param: unknown)
        }
        guard let fileID = body["file_id"] as? String, !fileID.isEmpty else {
            throw ProviderError.invalidRequest("Missing required parameter: 'file_id'.", param: "file_id")
        }
        let attributes = try self.attributes(body["attributes"])
        let chunking = try chunkingStrategy(body["chunking_strategy"])
        let now = SimulatorCore.now()
        let fresh = try newAttachment(flavor, tenant, fileID, attributes, chunking, now: now)
        let attachment = core.vectorStores.withLockedValue { state -> AttachmentRecord in
            // Attaching an attached file answers the attachment there is.
            if let existing = state.stores[id]?.files[fileID] { return existing }
            state.stores[id]?.files[fileID] = fresh
            state.stores[id]?.lastActiveAt = Int64(now)
            state.events.append("attach \(id) \(fileID)")
            return fresh
        }
        return jsonResponse(attachmentObject(attachment, storeID: id, now: now))
    }

    func newAttachment(
        _ flavor: SimulatorFlavor, _ tenant: TenantID, _ fileID: String, _ attributes: [String: JSON], _ chunking: JSON,
        now: Double
    ) throws -> AttachmentRecord {
        guard let file = core.file(tenant, id: fileID, now: now) else {
            throw ProviderError.notFound(fileID, flavor: flavor, kind: "File")
        }
        var record = AttachmentRecord(
            fileID: fileID, createdAt: Int64(now), createdAtPrecise: now, usageBytes: file.bytes, attributes: attributes,
            chunking: chunking)
        if !SearchableTypes.accepts(file.filename) {
            record.failure = (
                "unsupported_file",
                "The file type of \(file.filename) is not supported for retrieval; supported extensions: "
                    + SearchableTypes.extensions.sorted().joined(separator: ", ")
            )
        }
        return record
    }

    // MARK: Body fields

    func readObject(_ request: Request) async throws -> [String: Any] {
        let bytes = try await readSmallBody(request, limit: 1024 * 1024)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes.isEmpty ? Array("{}".utf8) : bytes)) as? [String: Any]
        else {
            throw ProviderError.invalidRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
                param: nil)
        }
        return object
    }

    func optionalString(_ body: [String: Any], _ key: String) throws -> String? {
        guard let value = body[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else {
            throw ProviderError.invalidRequest("Invalid type for '\(key)': expected a string.", param: key, code: "invalid_type")
        }
        return text
    }

    /// `{"anchor": "last_active_at", "days": 1...365}`; null or absent: never.
    func expiresAfter(_ value: Any?) throws -> Int? {
        guard let value, !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any], object["anchor"] as? String == "last_active_at",
            let days = (object["days"] as? NSNumber)?.intValue, (1...365).contains(days)
        else {
            throw ProviderError.invalidRequest(
                "Invalid 'expires_after': expected {\"anchor\": \"last_active_at\", \"days\": 1-365}.",
                param: "expires_after")
        }
        return days
    }

    /// At most 16 pairs, keys up to 64 characters, string values up to 512.
    func metadata(_ value: Any?) throws -> [(String, String)] {
        guard let value, !(value is NSNull) else { return [] }
        guard let object = value as? [String: Any], object.count <= 16 else {
            throw ProviderError.invalidRequest("Invalid 'metadata': at most 16 key-value pairs.", param: "metadata")
        }
        return try object.sorted { $0.key < $1.key }.map { key, value in
            guard let text = value as? String, key.count <= 64, text.count <= 512 else {
                throw ProviderError.invalidRequest(
                    "Invalid 'metadata': keys are strings of at most 64 characters, values strings of at most 512.",
                    param: "metadata")
            }
            return (key, text)
        }
    }

    /// At most 16 keys; values are strings (up to 512), numbers or booleans.
    func attributes(_ value: Any?) throws -> [String: JSON] {
        guard let value, !(value is NSNull) else { return [:] }
        guard let object = value as? [String: Any], object.count <= 16 else {
            throw ProviderError.invalidRequest("Invalid 'attributes': at most 16 keys.", param: "attributes")
        }
        var result: [String: JSON] = [:]
        for (key, value) in object {
            guard key.count <= 64 else {
                throw ProviderError.invalidRequest("Invalid 'attributes': keys are at most 64 characters.", param: "attributes")
            }
            if let text = value as? String, text.count <= 512 {
                result[key] = .string(text)
            } else if let number = value as? NSNumber {
                result[key] =
                    String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .double(number.doubleValue)
            } else {
                throw ProviderError.invalidRequest(
                    "Invalid 'attributes.\(key)': expected a string of at most 512 characters, a number or a boolean.",
                    param: "attributes")
            }
        }
        return result
    }

    /// `{"type": "auto"}` (800/400) or `{"type": "static", "static": {max_chunk_size_tokens, chunk_overlap_tokens}}`;
    /// answered as the static strategy it amounts to.
    func chunkingStrategy(_ value: Any?) throws -> JSON {
        func fixed(_ size: Int, _ overlap: Int) -> JSON {
            .object([
                ("type", .string("static")),
                ("static", .object([("max_chunk_size_tokens", .int(size)), ("chunk_overlap_tokens", .int(overlap))])),
            ])
        }
        guard let value, !(value is NSNull) else { return fixed(800, 400) }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw ProviderError.invalidRequest("Invalid 'chunking_strategy': expected an object with a type.", param: "chunking_strategy")
        }
        switch type {
        case "auto": return fixed(800, 400)
        case "static":
            guard let settings = object["static"] as? [String: Any],
                let size = (settings["max_chunk_size_tokens"] as? NSNumber)?.intValue,
                let overlap = (settings["chunk_overlap_tokens"] as? NSNumber)?.intValue,
                (100...4096).contains(size), overlap >= 0, overlap <= size / 2
            else {
                throw ProviderError.invalidRequest(
                    "Invalid 'chunking_strategy.static': max_chunk_size_tokens 100-4096, chunk_overlap_tokens at most half of it.",
                    param: "chunking_strategy")
            }
            return fixed(size, overlap)
        default:
            throw ProviderError.invalidRequest(
                "Invalid value for 'chunking_strategy.type': expected 'auto' or 'static'.", param: "chunking_strategy")
        }
    }
}

/// `limit` (1–100, default 20), `order` (default desc), `after`, `before` of OpenAI's list endpoints.
struct ListPaging {
    var limit = 20
    var descending = true
    var after: String?
    var before: String?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let raw = query.get("limit") {
            guard let value = Int(raw), (1...100).contains(value) else {
                throw ProviderError.invalidRequest(
                    "Invalid 'limit': expected an integer between 1 and 100, but got '\(raw)' instead.", param: "limit",
                    code: "invalid_value")
            }
            limit = value
        }
        let order = query.get("order").map { String($0) } ?? "desc"
        guard order == "asc" || order == "desc" else {
            throw ProviderError.invalidRequest(
                "Invalid value for 'order': expected one of 'asc' or 'desc', but got '\(order)' instead.", param: "order",
                code: "invalid_value")
        }
        descending = order == "desc"
        after = query.get("after").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        before = query.get("before").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    func page<Item>(_ items: [(SortKey, Item)], kind: String) throws -> (items: [Item], hasMore: Bool) {
        var sorted = items.sorted { $0.0 < $1.0 }
        if descending { sorted.reverse() }
        var start = sorted.startIndex
        var end = sorted.endIndex
        if let after {
            guard let index = sorted.firstIndex(where: { $0.0.id == after }) else {
                throw ProviderError.invalidRequest("Invalid 'after': no such \(kind) object: \(after)", param: "after")
            }
            start = index + 1
        }
        if let before {
            guard let index = sorted.firstIndex(where: { $0.0.id == before }) else {
                throw ProviderError.invalidRequest("Invalid 'before': no such \(kind) object: \(before)", param: "before")
            }
            end = index
        }
        guard start < end else { return ([], false) }
        let slice = sorted[start..<min(end, start + limit)]
        return (slice.map(\.1), start + limit < end)
    }

    func response(_ data: [JSON], ids: [String], hasMore: Bool) -> Response {
        jsonResponse(
            .object([
                ("object", .string("list")), ("data", .array(data)), ("first_id", .optionalString(ids.first)),
                ("last_id", .optionalString(ids.last)), ("has_more", .bool(hasMore)),
            ]))
    }
}

/// A vector store as a test sees it.
public struct SimulatedVectorStore: Sendable, Hashable {
    public var id: String
    public var name: String
    public var metadata: [String: String]
    public var expiresAfterDays: Int?
    /// Attached file ids and their status now (`in_progress`, `completed`, `failed`).
    public var files: [String: String]
}

extension Simulator {
    /// A tenant's vector stores, oldest first.
    public func vectorStores(apiKey: String, flavor: SimulatorFlavor = .openai) -> [SimulatedVectorStore] {
        let tenant = TenantID(flavor: flavor, apiKey: apiKey)
        let now = SimulatorCore.now()
        return core.vectorStores.withLockedValue { state in
            state.stores.values.filter { $0.tenant == tenant }.sorted { $0.sortKey < $1.sortKey }.map { store in
                SimulatedVectorStore(
                    id: store.id, name: store.name, metadata: Dictionary(store.metadata, uniquingKeysWith: { a, _ in a }),
                    expiresAfterDays: store.expiresAfterDays,
                    files: store.files.mapValues { core.attachmentStatus($0, now: now) })
            }
        }
    }

    /// Adds a vector store as if someone (or an earlier run whose answer was lost) had created it.
    @discardableResult
    public func seedVectorStore(
        apiKey: String, flavor: SimulatorFlavor = .openai, name: String, metadata: [String: String], createdAt: Int64? = nil
    ) -> String {
        let now = SimulatorCore.now()
        let store = VectorStoreRecord(
            id: core.newVectorStoreID(), tenant: TenantID(flavor: flavor, apiKey: apiKey), name: name,
            createdAt: createdAt ?? Int64(now), lastActiveAt: Int64(now), expiresAfterDays: nil,
            metadata: metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        core.vectorStores.withLockedValue { $0.stores[store.id] = store }
        return store.id
    }

    /// Every change made to vector stores through the API, in order (`create vs_…`, `attach vs_… file-…`,
    /// `detach vs_… file-…`, with ` (file deleted)` when a file delete detached it, `delete vs_…`).
    public func vectorStoreEvents() -> [String] { core.vectorStores.withLockedValue { $0.events } }
}
