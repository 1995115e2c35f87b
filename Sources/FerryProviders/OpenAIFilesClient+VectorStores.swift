import AsyncHTTPClient
import FerryCore
import Foundation
import NIOCore

/// What Ferry asks of an endpoint with vector stores (OpenAI and Azure OpenAI).
public protocol VectorStoreProvider: Sendable {
    /// Every vector store on the endpoint, following pagination to the end; the attachments of the stores for which
    /// `listFiles` answers true are listed too (to the end), the others' are left nil.
    func listVectorStores(listFiles: @Sendable (RemoteVectorStore) -> Bool) async throws -> [RemoteVectorStore]
    /// Creates a store with no files.
    func createVectorStore(_ settings: VectorStoreSettings) async throws -> RemoteVectorStore
    /// Changes a store's name, expiry and metadata.
    func updateVectorStore(id: String, _ settings: VectorStoreSettings) async throws -> RemoteVectorStore
    /// Deletes a store (its files stay); a store already gone counts as deleted.
    func deleteVectorStore(id: String) async throws
    /// Attaches a file; attaching a file that is already attached answers the existing attachment.
    func attach(storeID: String, fileID: String, chunking: ChunkingStrategy, attributes: [String: String])
        async throws -> RemoteAttachment
    /// One attachment's state; nil when the file is not attached.
    func attachment(storeID: String, fileID: String) async throws -> RemoteAttachment?
    /// Detaches a file (it is not deleted); a file already detached counts as done.
    func detach(storeID: String, fileID: String) async throws
}

/// A store's settings as sent on create and update.
public struct VectorStoreSettings: Sendable, Hashable {
    public var name: String
    /// nil: the store never expires (an update sends `expires_after: null`).
    public var expiresAfterDays: Int?
    public var metadata: [String: String]

    public init(name: String, expiresAfterDays: Int?, metadata: [String: String]) {
        self.name = name
        self.expiresAfterDays = expiresAfterDays
        self.metadata = metadata
    }
}

extension OpenAIFilesClient: VectorStoreProvider {
    /// `{base}/vector_stores` (OpenAI) or `{endpoint}/openai/vector_stores` (Azure).
    var storesURL: String { String(filesURL.dropLast("/files".count)) + "/vector_stores" }

    public func listVectorStores(listFiles: @Sendable (RemoteVectorStore) -> Bool) async throws -> [RemoteVectorStore] {
        var stores = try await listPages(storesURL, OpenAIVectorStoreObject.self).map(\.remote)
        for index in stores.indices where listFiles(stores[index]) {
            let url = storesURL + "/" + stores[index].id.percentEncodedComponent + "/files"
            stores[index].attachments = try await listPages(url, OpenAIVectorStoreFileObject.self).map(\.remote)
        }
        return stores
    }

    public func createVectorStore(_ settings: VectorStoreSettings) async throws -> RemoteVectorStore {
        try await sendJSON(storesURL, body: settings.json(forUpdate: false), .vectorStoreCreate, OpenAIVectorStoreObject.self)
            .remote
    }

    public func updateVectorStore(id: String, _ settings: VectorStoreSettings) async throws -> RemoteVectorStore {
        try await sendJSON(
            storesURL + "/" + id.percentEncodedComponent, body: settings.json(forUpdate: true), .vectorStoreUpdate,
            OpenAIVectorStoreObject.self
        ).remote
    }

    public func deleteVectorStore(id: String) async throws {
        try await sendDelete(storesURL + "/" + id.percentEncodedComponent, .vectorStoreDelete)
    }

    public func attach(storeID: String, fileID: String, chunking: ChunkingStrategy, attributes: [String: String])
        async throws -> RemoteAttachment
    {
        var body: [String: Any] = ["file_id": fileID]
        if !attributes.isEmpty { body["attributes"] = attributes }
        switch chunking {
        case .auto: body["chunking_strategy"] = ["type": "auto"]
        case .fixed(let size, let overlap):
            body["chunking_strategy"] = [
                "type": "static", "static": ["max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap],
            ]
        }
        return try await sendJSON(
            storesURL + "/" + storeID.percentEncodedComponent + "/files", body: body, .attach,
            OpenAIVectorStoreFileObject.self
        ).remote
    }

    public func attachment(storeID: String, fileID: String) async throws -> RemoteAttachment? {
        let url = self.url(
            storesURL + "/" + storeID.percentEncodedComponent + "/files/" + fileID.percentEncodedComponent)
        do {
            return try await transport.withRetries(.attachmentRetrieve) {
                let response = try await send(storeRequest(url), .attachmentRetrieve)
                return try await transport.decode(OpenAIVectorStoreFileObject.self, from: response, .attachmentRetrieve)
                    .remote
            }
        } catch let error as ProviderError where error.classification == .notFound {
            return nil
        }
    }

    public func detach(storeID: String, fileID: String) async throws {
        try await sendDelete(
            storesURL + "/" + storeID.percentEncodedComponent + "/files/" + fileID.percentEncodedComponent, .detach)
    }

    // MARK: Requests

    /// A request with the credentials plus `OpenAI-Beta: assistants=v2`, which OpenAI's vector-store examples send.
    func storeRequest(_ url: String) -> HTTPClientRequest {
        var request = makeRequest(url)
        request.headers.replaceOrAdd(name: "OpenAI-Beta", value: "assistants=v2")
        return request
    }

    /// Every page of a `{object: list, data, has_more, last_id}` listing, `limit=100` each, oldest first.
    private func listPages<Item: Decodable & Sendable & Identified>(_ base: String, _ item: Item.Type) async throws
        -> [Item]
    {
        var items: [Item] = []
        var after: String?
        var seen = Set<String>()
        for _ in 0..<transport.configuration.maxListPages {
            var query = [("limit", "100"), ("order", "asc")]
            if let after { query.append(("after", after)) }
            let url = self.url(base, query: query)
            let page = try await transport.withRetries(.vectorStoreList) {
                let response = try await send(storeRequest(url), .vectorStoreList)
                return try await transport.decode(OpenAIListPage<Item>.self, from: response, .vectorStoreList)
            }
            items += page.data
            guard page.hasMore, let next = page.lastID ?? page.data.last?.id else { return items }
            guard seen.insert(next).inserted else {
                throw transport.malformed(.vectorStoreList, "the listing repeated its cursor \(next)")
            }
            after = next
        }
        throw transport.malformed(
            .vectorStoreList, "the listing did not end within \(transport.configuration.maxListPages) pages")
    }

    private func sendJSON<T: Decodable & Sendable>(
        _ base: String, body: [String: Any], _ operation: ProviderOperation, _ type: T.Type
    ) async throws -> T {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let url = self.url(base)
        return try await transport.withRetries(operation) {
            var request = storeRequest(url)
            request.method = .POST
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
            let response = try await send(request, operation)
            return try await transport.decode(T.self, from: response, operation)
        }
    }

    private func sendDelete(_ base: String, _ operation: ProviderOperation) async throws {
        let url = self.url(base)
        try await transport.withRetries(operation) {
            var request = storeRequest(url)
            request.method = .DELETE
            let response = try await send(request, operation)
            _ = try await transport.collect(response, operation)
        }
    }
}

extension VectorStoreSettings {
    /// The request body: `name`, `metadata`, and `expires_after` (null on an update to stop expiring).
    func json(forUpdate: Bool) -> [String: Any] {
        var body: [String: Any] = ["name": name, "metadata": metadata]
        if let days = expiresAfterDays {
            body["expires_after"] = ["anchor": "last_active_at", "days": days]
        } else if forUpdate {
            body["expires_after"] = NSNull()
        }
        return body
    }
}

/// Objects with an `id`, for list cursors.
protocol Identified {
    var id: String { get }
}

/// One page of an OpenAI list: `{object: "list", data, first_id, last_id, has_more}`.
struct OpenAIListPage<Item: Decodable & Sendable>: Decodable, Sendable {
    var data: [Item]
    var hasMore: Bool
    var lastID: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.data = try container.decode([Item].self, forKey: "data")
        self.hasMore = container.lenientBool("has_more") ?? false
        self.lastID = container.lenientString("last_id")
    }
}

/// `VectorStoreObject`, read tolerantly (only `id` is required).
struct OpenAIVectorStoreObject: Decodable, Sendable, Identified {
    var id: String
    var remote: RemoteVectorStore

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.id = try container.decode(String.self, forKey: "id")
        struct Expiry: Decodable { var days: Int? }
        let expiry = (try? container.decodeIfPresent(Expiry.self, forKey: "expires_after")) ?? nil
        let metadata = (try? container.decodeIfPresent([String: String].self, forKey: "metadata")) ?? nil
        self.remote = RemoteVectorStore(
            id: id, name: container.lenientString("name") ?? "", status: container.lenientString("status") ?? "completed",
            createdAt: container.lenientInt64("created_at") ?? 0, usageBytes: container.lenientInt64("usage_bytes") ?? 0,
            expiresAfterDays: expiry?.days, expiresAt: container.lenientInt64("expires_at"),
            lastActiveAt: container.lenientInt64("last_active_at"), metadata: metadata ?? [:])
    }
}

/// `VectorStoreFileObject`: the attachment of a file (its `id` is the file's id).
struct OpenAIVectorStoreFileObject: Decodable, Sendable, Identified {
    var id: String
    var remote: RemoteAttachment

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.id = try container.decode(String.self, forKey: "id")
        struct LastError: Decodable {
            var code: String?
            var message: String?
        }
        let lastError = (try? container.decodeIfPresent(LastError.self, forKey: "last_error")) ?? nil
        let status = container.lenientString("status").flatMap(AttachmentStatus.init(rawValue:)) ?? .inProgress
        self.remote = RemoteAttachment(
            fileID: id, status: status,
            lastError: lastError.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") },
            createdAt: container.lenientInt64("created_at") ?? 0)
    }
}
