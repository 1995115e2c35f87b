/// The list pages read on every pass, read by `JSONPullReader` with the same leniency as their `Decodable`
/// conformances: only the identifying field is required, other fields of an unexpected type read as missing,
/// unknown fields are ignored.

extension OpenAIFileObject: JSONPullDecodable {
    init(id: String) { self.id = id }

    init(pulling reader: inout JSONPullReader) throws {
        var id: String?
        var object = OpenAIFileObject(id: "")
        let isObject = try reader.object { reader, key in
            if key.matches("id") {
                id = try reader.string()
            } else if key.matches("bytes") {
                object.bytes = try reader.lenientInt64()
            } else if key.matches("created_at") {
                object.createdAt = try reader.lenientInt64()
            } else if key.matches("filename") {
                object.filename = try reader.string()
            } else if key.matches("purpose") {
                object.purpose = try reader.string()
            } else if key.matches("status") {
                object.status = try reader.string()
            } else if key.matches("status_details") {
                object.statusDetails = try reader.string()
            } else if key.matches("expires_at") {
                object.expiresAt = try reader.lenientInt64()
            }
        }
        guard isObject else { throw JSONPullReader.Failure(description: "a file is not an object") }
        guard let id else { throw JSONPullReader.Failure(description: "a file has no string 'id'") }
        object.id = id
        self = object
    }
}

extension OpenAIFileList: JSONPullDecodable {
    init(data: [OpenAIFileObject], hasMore: Bool, lastID: String?) {
        self.data = data
        self.hasMore = hasMore
        self.lastID = lastID
    }

    init(pulling reader: inout JSONPullReader) throws {
        var data: [OpenAIFileObject]?
        var hasMore = false
        var lastID: String?
        let isObject = try reader.object { reader, key in
            if key.matches("data") {
                var files: [OpenAIFileObject] = []
                let isArray = try reader.array { reader in
                    files.append(try OpenAIFileObject(pulling: &reader))
                }
                guard isArray else { throw JSONPullReader.Failure(description: "'data' is not an array") }
                data = files
            } else if key.matches("has_more") {
                hasMore = try reader.bool() ?? false
            } else if key.matches("last_id") {
                lastID = try reader.string()
            }
        }
        guard isObject else { throw JSONPullReader.Failure(description: "the answer is not an object") }
        guard let data else { throw JSONPullReader.Failure(description: "the answer has no 'data' array") }
        self.init(data: data, hasMore: hasMore, lastID: lastID)
    }
}

extension GCSObject: JSONPullDecodable {
    init(name: String) { self.name = name }

    /// The object fields `init(pulling:)` reads, for the `fields` parameter of a listing (keep the two in step).
    static let listedFields = "name,bucket,size,timeCreated,generation,metadata"

    init(pulling reader: inout JSONPullReader) throws {
        var name: String?
        var object = GCSObject(name: "")
        let isObject = try reader.object { reader, key in
            if key.matches("name") {
                name = try reader.string()
            } else if key.matches("bucket") {
                object.bucket = try reader.string()
            } else if key.matches("size") {
                object.size = try reader.lenientInt64()
            } else if key.matches("timeCreated") {
                object.timeCreated = try reader.string()
            } else if key.matches("generation") {
                object.generation = try reader.string()
            } else if key.matches("metadata") {
                object.metadata = try reader.stringDictionary()
            }
        }
        guard isObject else { throw JSONPullReader.Failure(description: "an object listed is not a JSON object") }
        guard let name else { throw JSONPullReader.Failure(description: "an object listed has no string 'name'") }
        object.name = name
        self = object
    }
}

extension GCSObjectList: JSONPullDecodable {
    init(items: [GCSObject], nextPageToken: String?) {
        self.items = items
        self.nextPageToken = nextPageToken
    }

    init(pulling reader: inout JSONPullReader) throws {
        var items: [GCSObject] = []
        var nextPageToken: String?
        let isObject = try reader.object { reader, key in
            if key.matches("items") {
                // As `decodeIfPresent`: null is no items, another type is an error.
                if try reader.null() { return }
                var objects: [GCSObject] = []
                let isArray = try reader.array { reader in objects.append(try GCSObject(pulling: &reader)) }
                guard isArray else { throw JSONPullReader.Failure(description: "'items' is not an array") }
                items = objects
            } else if key.matches("nextPageToken") {
                nextPageToken = try reader.string()
            }
        }
        guard isObject else { throw JSONPullReader.Failure(description: "the answer is not an object") }
        self.init(items: items, nextPageToken: nextPageToken.flatMap { $0.isEmpty ? nil : $0 })
    }
}
