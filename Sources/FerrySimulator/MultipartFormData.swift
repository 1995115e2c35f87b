import Foundation
import Hummingbird

/// `multipart/form-data` bodies of Files API creates and upload parts: text fields plus one streamed file part.
extension SimulatorRoutes {
    struct Form {
        var fields: [String: String]
        var file: ContentWriter?
        var filename: String?
        var fileContentType: String?
    }

    /// Streams a multipart body: the part named `fileField` goes to disk (or memory), other parts
    /// are small text fields. Always consumes the whole body before answering.
    /// `keepBytes: false` counts the file part's bytes and drops them (`SimulatorContentMode.discard`).
    func readForm(_ request: Request, fileField: String, maxFileBytes: Int64, keepBytes: Bool = true) async throws
        -> Form
    {
        guard let contentType = request.headers[.contentType],
            let boundary = MultipartParser.boundary(fromContentType: contentType)
        else {
            await drain(request)
            throw ProviderError.invalidRequest(
                "Invalid Content-Type header (\(request.headers[.contentType] ?? "none")), expected multipart/form-data with a boundary.",
                param: nil)
        }
        let core = self.core
        // The file part is at most the body: reserving that much in memory saves copying it as the buffer grows.
        let expected = request.headers[.contentLength].flatMap { Int64($0) }.map { min($0, maxFileBytes) }
        var sink = FormSink(fileField: fileField, maxFileBytes: maxFileBytes) {
            try keepBytes
                ? ContentWriter(path: core.newTempPath(), expectedBytes: expected)
                : ContentWriter(path: nil, keepBytes: false)
        }
        var parser = MultipartParser(boundary: boundary)
        var total: Int64 = 0
        let maxBody = maxFileBytes + 1024 * 1024
        let failure: (any Error)?
        do {
            failure = try await parser.parse(request.body, into: &sink) { sink, count in
                total += Int64(count)
                if sink.tooLarge { return false }
                if total > maxBody {
                    sink.tooLarge = true
                    return false
                }
                return true
            }
        } catch {
            sink.file?.discard()
            throw error
        }
        if sink.tooLarge {
            sink.file?.discard()
            throw ProviderError.tooLarge(
                "File is too large: the maximum size is \(maxFileBytes) bytes.", param: fileField)
        }
        if let failure {
            sink.file?.discard()
            throw ProviderError.invalidRequest("\(failure)", param: nil)
        }
        if sink.fileParts > 1 || sink.fieldTooLarge {
            sink.file?.discard()
            throw ProviderError.invalidRequest(
                sink.fileParts > 1 ? "Only one '\(fileField)' part is allowed." : "A form field is too large.",
                param: sink.fileParts > 1 ? fileField : nil)
        }
        return Form(fields: sink.fields, file: sink.file, filename: sink.filename, fileContentType: sink.contentType)
    }
}

/// Collects text fields and streams the file part of a multipart body.
struct FormSink: MultipartSink {
    static let maxFieldBytes = 64 * 1024

    let fileField: String
    let maxFileBytes: Int64
    let makeWriter: () throws -> ContentWriter

    var fields: [String: String] = [:]
    var file: ContentWriter?
    var filename: String?
    var contentType: String?
    var fileParts = 0
    var tooLarge = false
    var fieldTooLarge = false

    private var inFile = false
    private var fieldName: String?
    private var fieldBytes: [UInt8] = []

    init(fileField: String, maxFileBytes: Int64, makeWriter: @escaping () throws -> ContentWriter) {
        self.fileField = fileField
        self.maxFileBytes = maxFileBytes
        self.makeWriter = makeWriter
    }

    mutating func beginPart(_ headers: MultipartPartHeaders) throws {
        inFile = false
        fieldName = nil
        fieldBytes = []
        guard let name = headers.name else { return }
        if name == fileField {
            fileParts += 1
            guard fileParts == 1 else { return }
            filename = headers.filename
            contentType = headers.contentType
            file = try makeWriter()
            inFile = true
        } else {
            fieldName = name
        }
    }

    mutating func partData(_ bytes: UnsafeRawBufferPointer) throws {
        if inFile, let file {
            if tooLarge { return }
            if file.size + Int64(bytes.count) > maxFileBytes {
                tooLarge = true
                file.discard()
                return
            }
            try file.write(bytes)
        } else if fieldName != nil {
            if fieldBytes.count + bytes.count > FormSink.maxFieldBytes {
                fieldTooLarge = true
                return
            }
            fieldBytes.append(contentsOf: bytes)
        }
    }

    mutating func endPart() throws {
        if let fieldName, fields[fieldName] == nil {
            fields[fieldName] = String(decoding: fieldBytes, as: UTF8.self)
        }
        inFile = false
        fieldName = nil
        fieldBytes = []
    }
}
