import FerryCore

/// A coding key made from any string, for reading objects whose fields vary between providers.
struct AnyCodingKey: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
    init(stringLiteral value: String) { self.stringValue = value }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// A string, or `nil` when the field is missing, null or of another type.
    func lenientString(_ key: AnyCodingKey) -> String? {
        (try? decodeIfPresent(String.self, forKey: key)) ?? nil
    }

    /// An integer given as a number (integral or not) or a numeric string; `nil` otherwise.
    func lenientInt64(_ key: AnyCodingKey) -> Int64? {
        if let value = try? decodeIfPresent(Int64.self, forKey: key) { return value }
        if let value = try? decodeIfPresent(Double.self, forKey: key), value.isFinite,
            abs(value) < 9.2e18
        {
            return Int64(value)
        }
        return lenientString(key).flatMap { Int64($0) }
    }

    /// A boolean, or `nil` when missing, null or of another type.
    func lenientBool(_ key: AnyCodingKey) -> Bool? {
        (try? decodeIfPresent(Bool.self, forKey: key)) ?? nil
    }
}

/// OpenAI's file object (`id, object, bytes, created_at, expires_at, filename, purpose, status, status_details`),
/// read tolerantly: only `id` is required, unknown fields are ignored, Azure's extra statuses are understood.
struct OpenAIFileObject: Decodable, Sendable {
    var id: String
    var bytes: Int64?
    var createdAt: Int64?
    var filename: String?
    var purpose: String?
    var status: String?
    var statusDetails: String?
    var expiresAt: Int64?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.id = try container.decode(String.self, forKey: "id")
        self.expiresAt = container.lenientInt64("expires_at")
        self.bytes = container.lenientInt64("bytes")
        self.createdAt = container.lenientInt64("created_at")
        self.filename = container.lenientString("filename")
        self.purpose = container.lenientString("purpose")
        self.status = container.lenientString("status")
        self.statusDetails = container.lenientString("status_details")
    }

    /// The file as Ferry records it; `fallback` fills what the provider left out (the upload's own values).
    func remoteFile(fallback: UploadRequest? = nil) -> RemoteFile {
        RemoteFile(
            id: id,
            filename: filename ?? fallback?.filename ?? "",
            bytes: bytes ?? fallback?.bytes ?? 0,
            purpose: purpose ?? fallback?.purpose ?? "",
            createdAt: createdAt ?? 0,
            status: RemoteFileStatus(providerValue: status),
            statusDetails: statusDetails,
            expiresAt: expiresAt
        )
    }
}

/// One page of `GET /files`: `{object: "list", data, first_id, last_id, has_more}`. Servers that do not paginate
/// (older Azure api-versions) omit `has_more`; that reads as the last page.
struct OpenAIFileList: Decodable, Sendable {
    var data: [OpenAIFileObject]
    var hasMore: Bool
    var lastID: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.data = try container.decode([OpenAIFileObject].self, forKey: "data")
        self.hasMore = container.lenientBool("has_more") ?? false
        self.lastID = container.lenientString("last_id")
    }
}

/// `DELETE /files/{id}`: `{id, object: "file", deleted}`.
struct OpenAIDeleteResult: Decodable, Sendable {
    var deleted: Bool?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.deleted = container.lenientBool("deleted")
    }
}

/// A `Content-Type` for the file part, from the name's extension, as curl and the OpenAI SDK would send it
/// (`.jsonl` has no registered type and goes as `application/octet-stream`).
enum MediaType {
    private static let byExtension: [String: String] = [
        "json": "application/json", "txt": "text/plain", "md": "text/markdown",
        "csv": "text/csv", "html": "text/html", "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg",
        "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]

    static func guess(filename: String) -> String {
        guard let dot = filename.lastIndex(of: ".") else { return "application/octet-stream" }
        return byExtension[filename[filename.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }
}

/// `POST /uploads` body.
struct OpenAIUploadStart: Encodable, Sendable {
    var filename: String
    var purpose: String
    var bytes: Int64
    var mimeType: String
    /// The created file's lifetime; omitted when nil.
    var expiresAfter: OpenAIExpiresAfter? = nil

    enum CodingKeys: String, CodingKey {
        case filename, purpose, bytes
        case mimeType = "mime_type"
        case expiresAfter = "expires_after"
    }
}

/// `{"anchor": "created_at", "seconds": N}` (OpenAI's `FileExpirationAfter`).
struct OpenAIExpiresAfter: Encodable, Sendable {
    var anchor = "created_at"
    var seconds: Int64
}

/// `POST /uploads/{id}/complete` body: the part ids in file order.
struct OpenAIUploadCompletion: Encodable, Sendable {
    var partIDs: [String]

    enum CodingKeys: String, CodingKey {
        case partIDs = "part_ids"
    }
}

/// The Upload object (`id, object: "upload", bytes, filename, purpose, status, expires_at, file`).
struct OpenAIUploadObject: Decodable, Sendable {
    var id: String
    var status: String?
    /// The created file, once `status` is `completed`.
    var file: OpenAIFileObject?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.id = try container.decode(String.self, forKey: "id")
        self.status = container.lenientString("status")
        self.file = (try? container.decodeIfPresent(OpenAIFileObject.self, forKey: "file")) ?? nil
    }
}

/// The Upload Part object (`id, object: "upload.part", created_at, upload_id`).
struct OpenAIUploadPart: Decodable, Sendable {
    var id: String
}
