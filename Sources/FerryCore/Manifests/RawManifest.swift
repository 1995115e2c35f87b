import Yams

// MARK: - Parsed documents before cross-checks

struct Place: Hashable {
    var file: String
    var line: Int
    var column: Int

    init(file: String, node: Node?) {
        self.file = file
        self.line = node?.mark?.line ?? 0
        self.column = node?.mark?.column ?? 0
    }

    init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    var short: String { line > 0 ? "\(file):\(line)" : file }
}

struct RawModel {
    var name: String
    var model: String
    var provider: String
    var params: [String: (value: String, place: Place)]
    var place: Place
}

struct RawFileSettings {
    var provider: String
    var params: [String: (value: String, place: Place)]
    var place: Place
}

struct RawDesired {
    enum Source {
        case single(path: String, place: Place)
        case globs(include: [(GlobPattern, Place)], exclude: [GlobPattern])
    }

    var kind: String
    var name: String
    var namePlace: Place
    var manifestDirectory: String
    var source: Source
    var purpose: String
    var purposePlace: Place
    var targetModels: [(String, Place)]
    var filename: String?
    var labels: [String: String]
    var deletionPolicy: DeletionPolicy
    var place: Place
    /// `metadata.previousNames`: names (of the File, or of the FileSet) it was declared under before.
    var previousNames: [String] = []
    /// `spec.expiresAfter` in seconds, where it was written.
    var expiresAfter: (Int64, Place)? = nil
}
