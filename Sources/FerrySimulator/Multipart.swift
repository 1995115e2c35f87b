import Foundation
import Hummingbird

/// Header values of one multipart part that the simulator cares about.
struct MultipartPartHeaders: Sendable, Equatable {
    var name: String?
    var filename: String?
    var contentType: String?
}

/// Receives the parts of a multipart body as they stream by.
protocol MultipartSink {
    mutating func beginPart(_ headers: MultipartPartHeaders) throws
    mutating func partData(_ bytes: UnsafeRawBufferPointer) throws
    mutating func endPart() throws
}

enum MultipartError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case truncated
    case headersTooLarge

    var description: String {
        switch self {
        case .malformed(let why): return "Malformed multipart body: \(why)"
        case .truncated: return "Malformed multipart body: it ended before the closing boundary"
        case .headersTooLarge: return "Malformed multipart body: part headers are too large"
        }
    }
}

/// Streaming multipart/form-data parser (RFC 7578 / RFC 2046). Memory use is bounded by the
/// size of the incoming chunks plus the boundary, whatever the size of the parts.
struct MultipartParser {
    private enum State {
        case preamble
        case afterDelimiter
        case headers
        case body
        case epilogue
    }

    static let maxHeaderBytes = 16 * 1024

    private let delimiter: [UInt8]
    private var pending: [UInt8]
    private var start = 0
    private var state = State.preamble

    init(boundary: String) {
        self.delimiter = Array("\r\n--\(boundary)".utf8)
        // A virtual CRLF lets the first boundary (at the very start of the body) match the
        // same delimiter as every later one.
        self.pending = [13, 10]
    }

    /// The boundary from a `Content-Type: multipart/form-data; boundary=…` value, or nil.
    static func boundary(fromContentType contentType: String) -> String? {
        let (type, params) = HeaderValue.parse(contentType)
        guard type.lowercased() == "multipart/form-data", let boundary = params["boundary"], !boundary.isEmpty,
            boundary.utf8.count <= 200
        else { return nil }
        return boundary
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer, sink: inout some MultipartSink) throws {
        if state == .epilogue { return }
        pending.append(contentsOf: chunk)
        try process(sink: &sink)
        if start > 0 {
            pending.removeFirst(start)
            start = 0
        }
    }

    /// Call once the body has ended; throws when the closing boundary was never seen.
    func finish() throws {
        guard state == .epilogue else { throw MultipartError.truncated }
    }

    private mutating func process(sink: inout some MultipartSink) throws {
        while true {
            switch state {
            case .epilogue:
                start = pending.count
                return

            case .preamble:
                if let index = find(delimiter, from: start) {
                    start = index + delimiter.count
                    state = .afterDelimiter
                } else {
                    start = max(start, pending.count - (delimiter.count - 1))
                    return
                }

            case .afterDelimiter:
                // Transport padding (spaces/tabs) may follow a boundary before its CRLF.
                while start < pending.count, pending[start] == 0x20 || pending[start] == 0x09 { start += 1 }
                guard pending.count - start >= 2 else { return }
                if pending[start] == 0x2D, pending[start + 1] == 0x2D {  // "--": closing boundary
                    start += 2
                    state = .epilogue
                } else if pending[start] == 0x0D, pending[start + 1] == 0x0A {
                    start += 2
                    state = .headers
                } else {
                    throw MultipartError.malformed("unexpected bytes after a boundary")
                }

            case .headers:
                guard pending.count - start >= 2 else { return }
                var block: ArraySlice<UInt8> = []
                if pending[start] == 0x0D, pending[start + 1] == 0x0A {
                    start += 2  // a part without headers
                } else if let end = find([13, 10, 13, 10], from: start) {
                    block = pending[start..<end]
                    start = end + 4
                } else {
                    if pending.count - start > MultipartParser.maxHeaderBytes { throw MultipartError.headersTooLarge }
                    return
                }
                if block.count > MultipartParser.maxHeaderBytes { throw MultipartError.headersTooLarge }
                try sink.beginPart(MultipartParser.parseHeaders(block))
                state = .body

            case .body:
                if let index = find(delimiter, from: start) {
                    try emit(from: start, to: index, sink: &sink)
                    try sink.endPart()
                    start = index + delimiter.count
                    state = .afterDelimiter
                } else {
                    let safeEnd = pending.count - (delimiter.count - 1)
                    if safeEnd > start {
                        try emit(from: start, to: safeEnd, sink: &sink)
                        start = safeEnd
                    }
                    return
                }
            }
        }
    }

    private func emit(from: Int, to: Int, sink: inout some MultipartSink) throws {
        guard to > from else { return }
        try pending.withUnsafeBytes { raw in
            try sink.partData(UnsafeRawBufferPointer(rebasing: raw[from..<to]))
        }
    }

    /// Index of the first occurrence of `needle` in `pending` at or after `from`.
    private func find(_ needle: [UInt8], from: Int) -> Int? {
        let count = pending.count
        guard count - from >= needle.count, let first = needle.first else { return nil }
        return pending.withUnsafeBytes { haystack -> Int? in
            needle.withUnsafeBytes { needleBytes -> Int? in
                let base = haystack.baseAddress!
                var position = from
                let last = count - needle.count
                while position <= last {
                    guard let hit = memchr(base + position, Int32(first), last - position + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + index, needleBytes.baseAddress!, needle.count) == 0 { return index }
                    position = index + 1
                }
                return nil
            }
        }
    }

    static func parseHeaders(_ block: ArraySlice<UInt8>) throws -> MultipartPartHeaders {
        let text = String(decoding: block, as: UTF8.self)
        var headers = MultipartPartHeaders()
        for line in text.components(separatedBy: "\r\n") where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw MultipartError.malformed("a part header line has no ':'")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-disposition":
                let (type, params) = HeaderValue.parse(value)
                guard type.lowercased() == "form-data" else {
                    throw MultipartError.malformed("Content-Disposition of a part must be form-data")
                }
                headers.name = params["name"]
                if let extended = params["filename*"], let decoded = HeaderValue.decodeExtended(extended) {
                    headers.filename = decoded
                } else {
                    headers.filename = params["filename"]
                }
            case "content-type":
                headers.contentType = value
            default:
                break
            }
        }
        return headers
    }
}

/// Parsing of header values like `form-data; name="file"; filename="a \"b\".txt"`.
enum HeaderValue {
    /// Returns the leading value and the parameters (names lowercased, quoted strings unescaped).
    static func parse(_ value: String) -> (String, [String: String]) {
        let scalars = Array(value.unicodeScalars)
        var index = 0
        var head = String.UnicodeScalarView()
        while index < scalars.count, scalars[index] != ";" {
            head.append(scalars[index])
            index += 1
        }
        var params: [String: String] = [:]
        while index < scalars.count {
            index += 1  // skip ';'
            while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
            var name = String.UnicodeScalarView()
            while index < scalars.count, scalars[index] != "=", scalars[index] != ";" {
                name.append(scalars[index])
                index += 1
            }
            let key = String(name).trimmingCharacters(in: .whitespaces).lowercased()
            guard index < scalars.count, scalars[index] == "=" else {
                if !key.isEmpty { params[key] = "" }
                continue
            }
            index += 1  // skip '='
            while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
            var parsed = String.UnicodeScalarView()
            var quoted = false
            if index < scalars.count, scalars[index] == "\"" {
                quoted = true
                index += 1
                while index < scalars.count, scalars[index] != "\"" {
                    if scalars[index] == "\\", index + 1 < scalars.count {
                        index += 1
                    }
                    parsed.append(scalars[index])
                    index += 1
                }
                index += 1  // closing quote
                while index < scalars.count, scalars[index] != ";" { index += 1 }
            } else {
                while index < scalars.count, scalars[index] != ";" {
                    parsed.append(scalars[index])
                    index += 1
                }
            }
            let text = quoted ? String(parsed) : String(parsed).trimmingCharacters(in: .whitespaces)
            if !key.isEmpty, params[key] == nil { params[key] = text }
        }
        return (String(head).trimmingCharacters(in: .whitespaces), params)
    }

    /// Decodes an RFC 5987/8187 extended value such as `UTF-8''na%C3%AFve.txt`.
    static func decodeExtended(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        let charset = pieces[0].lowercased()
        var bytes: [UInt8] = []
        var utf8 = Array(pieces[2].utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2,
                    let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        switch charset {
        case "utf-8":
            return String(bytes: bytes, encoding: .utf8)
        case "iso-8859-1":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default:
            return nil
        }
    }
}

extension MultipartParser {
    /// Feeds a whole request body to `sink`, then checks that the closing boundary came. Parsing stops at the first
    /// malformed byte, or once `accept` (called with each chunk's size) refuses; the rest of the body is still read,
    /// so an early answer arrives cleanly. A malformed body is returned, not thrown, for the caller to answer in its
    /// own wire format. Throws only when reading the body fails.
    mutating func parse<Sink: MultipartSink>(
        _ body: RequestBody, into sink: inout Sink, accept: (inout Sink, Int) -> Bool
    ) async throws -> (any Error)? {
        var failure: (any Error)?
        var refused = false
        for try await chunk in body {
            if failure != nil || refused { continue }
            guard accept(&sink, chunk.readableBytes) else {
                refused = true
                continue
            }
            do {
                try chunk.withUnsafeReadableBytes { try feed($0, sink: &sink) }
            } catch {
                failure = error
            }
        }
        if failure == nil, !refused {
            do { try finish() } catch { failure = error }
        }
        return failure
    }
}
