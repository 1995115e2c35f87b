import FerryCore
import Foundation

/// Anthropic's `FileMetadata` (`id, type: "file", filename, mime_type, size_bytes, created_at, downloadable`), read
/// tolerantly: only `id` is required. Anthropic files carry no purpose and no processing state: they are usable
/// as soon as the upload answers.
struct AnthropicFileMetadata: Decodable, Sendable {
    var id: String
    var filename: String?
    var sizeBytes: Int64?
    /// RFC 3339, e.g. `2025-04-14T18:11:19.117Z`.
    var createdAt: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.id = try container.decode(String.self, forKey: "id")
        self.filename = container.lenientString("filename")
        self.sizeBytes = container.lenientInt64("size_bytes")
        self.createdAt = container.lenientString("created_at")
    }

    /// The file as Ferry records it: no purpose (Anthropic keeps none), always processed; `fallback` fills what
    /// the provider left out (the upload's own values).
    func remoteFile(fallback: UploadRequest? = nil) -> RemoteFile {
        RemoteFile(
            id: id,
            filename: filename ?? fallback?.filename ?? "",
            bytes: sizeBytes ?? fallback?.bytes ?? 0,
            purpose: "",
            createdAt: createdAt.flatMap(AnthropicTimestamp.unixSeconds) ?? 0,
            status: .processed
        )
    }
}

/// One page of `GET /v1/files`: `{data, has_more, first_id, last_id}`.
struct AnthropicFileList: Decodable, Sendable {
    var data: [AnthropicFileMetadata]
    var hasMore: Bool
    var lastID: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.data = try container.decode([AnthropicFileMetadata].self, forKey: "data")
        self.hasMore = container.lenientBool("has_more") ?? false
        self.lastID = container.lenientString("last_id")
    }
}

/// RFC 3339 timestamps as Anthropic writes them, with or without fractional seconds.
enum AnthropicTimestamp {
    static func unixSeconds(_ text: String) -> Int64? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let date = (try? withFraction.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
        return date.map { Int64($0.timeIntervalSince1970.rounded(.down)) }
    }
}

extension ListPager {
    /// Takes one page of Anthropic's `GET /v1/files`: the cursor (`after_id`) is `last_id`, or the last item's id.
    mutating func absorb(_ page: AnthropicFileList) throws(Stall) {
        let next = page.hasMore ? (page.lastID ?? page.data.last?.id ?? "") : nil
        try absorb(page.data.map { $0.remoteFile() }, next: next)
    }
}
