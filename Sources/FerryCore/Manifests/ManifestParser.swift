import Yams

/// Parses manifest files into raw declarations and models, collecting diagnostics (cross-checks live in
/// `ManifestLoader+Resolve.swift`).
struct LoadContext {
    let loader: ManifestLoader
    var diagnostics: [Diagnostic] = []
    var models: [RawModel] = []
    var fileSettings: [RawFileSettings] = []
    var declarations: [RawDesired] = []
    var vectorStores: [RawVectorStore] = []

    init(loader: ManifestLoader) { self.loader = loader }

    func display(_ path: String) -> String { loader.displayRoot + path }

    mutating func error(_ place: Place, _ message: String, hint: String? = nil) {
        diagnostics.append(
            Diagnostic(.error, file: place.file, line: place.line, column: place.column, message: message, hint: hint))
    }

    mutating func note(_ place: Place, _ message: String, hint: String? = nil) {
        diagnostics.append(
            Diagnostic(.note, file: place.file, line: place.line, column: place.column, message: message, hint: hint))
    }

    mutating func warning(_ place: Place, _ message: String, hint: String? = nil) {
        diagnostics.append(
            Diagnostic(.warning, file: place.file, line: place.line, column: place.column, message: message, hint: hint)
        )
    }

    // MARK: Files and documents

    /// Whether a file was read as a manifest.
    enum FileVerdict: Equatable {
        case manifest
        case skipped(reason: String)
    }

    /// Parses one file's documents when it is a manifest; a file that is not (see `isFerryDocument`, and
    /// `looksLikeManifest` for a file that cannot be parsed) leaves no diagnostics.
    mutating func parseFile(_ source: ManifestSource) -> FileVerdict {
        let file = display(source.path)
        // A UTF-8 byte-order mark (Windows editors) is not part of the text.
        let bytes = source.bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(source.bytes.dropFirst(3)) : source.bytes
        guard let text = String(validating: bytes, as: UTF8.self) else {
            guard Self.looksLikeManifest(String(decoding: bytes, as: UTF8.self)) else {
                return .skipped(reason: "not UTF-8 text")
            }
            let (line, column) = Self.firstInvalidUTF8(bytes)
            error(
                Place(file: file, line: line, column: column), "the file is not valid UTF-8",
                hint: "save it as UTF-8 text")
            return .manifest
        }
        if text.contains("\u{0}") {
            guard Self.looksLikeManifest(text) else { return .skipped(reason: "contains a NUL byte") }
            error(Place(file: file, line: 0, column: 0), "the file contains a NUL byte", hint: "save it as UTF-8 text")
            return .manifest
        }
        if let excess = YAMLShape.excess(in: text) {
            guard Self.looksLikeManifest(text) else { return .skipped(reason: "too large or deep for a manifest") }
            error(Place(file: file, line: excess.line, column: excess.column), excess.message, hint: excess.hint)
            return .manifest
        }
        var documents: [Node] = []
        do {
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() { documents.append(node) }
        } catch let yamlError as YamlError {
            guard Self.looksLikeManifest(text) else { return .skipped(reason: "not valid YAML") }
            reportYAMLError(yamlError, file: file)
            return .manifest
        } catch {
            guard Self.looksLikeManifest(text) else { return .skipped(reason: "not valid YAML") }
            self.error(Place(file: file, line: 0, column: 0), "cannot parse YAML: \(error)")
            return .manifest
        }
        guard documents.contains(where: Self.isFerryDocument) else {
            return .skipped(reason: documents.isEmpty ? "empty" : "no Ferry or LiteLLM document")
        }
        let directory = RelativePath.directory(of: source.path)
        for document in documents {
            parseDocument(document, file: file, directory: directory)
        }
        return .manifest
    }

    /// Ferry's documents: `apiVersion: ferry.dev/…`, a kind of Ferry's (or one letter from it: a typo is reported,
    /// not skipped), or a LiteLLM config's `model_list`/`files_settings`. Kubernetes objects, OpenAPI specs and other
    /// YAML are not.
    static func isFerryDocument(_ node: Node) -> Bool {
        guard let mapping = node.mapping else { return false }
        if let version = mapping["apiVersion"]?.string, version.hasPrefix("ferry.dev/") { return true }
        if mapping["model_list"] != nil || mapping["files_settings"] != nil { return true }
        guard let kind = mapping["kind"]?.string else { return false }
        return ["File", "FileSet", "VectorStore"].contains { editDistance(kind.lowercased(), $0.lowercased()) <= 1 }
    }

    /// For a file that cannot be parsed: whether its text names a Ferry kind or apiVersion, or a LiteLLM key, so a
    /// broken manifest is reported rather than skipped.
    static func looksLikeManifest(_ text: String) -> Bool {
        text.contains(/(^|[\s{,])kind\s*:\s*["']?(File(Set)?|VectorStore)\b/) || text.contains(/apiVersion\s*:\s*["']?ferry\.dev\//)
            || text.contains(/(^|[\s{,])(model_list|files_settings)\s*:/)
    }

    static func firstInvalidUTF8(_ bytes: [UInt8]) -> (Int, Int) {
        var line = 1
        var lineStart = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let width: Int
            switch byte {
            case 0x00...0x7F: width = 1
            case 0xC2...0xDF: width = 2
            case 0xE0...0xEF: width = 3
            case 0xF0...0xF4: width = 4
            default: return (line, index - lineStart + 1)
            }
            if index + width > bytes.count { return (line, index - lineStart + 1) }
            let slice = Array(bytes[index..<(index + width)])
            if String(validating: slice, as: UTF8.self) == nil { return (line, index - lineStart + 1) }
            if byte == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += width
        }
        return (line, 1)
    }

    mutating func reportYAMLError(_ yamlError: YamlError, file: String) {
        switch yamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            error(
                Place(file: file, line: mark.line, column: mark.column), "YAML syntax error: \(problem)",
                hint: "check indentation and quoting near this point")
        case .duplicatedKeysInMapping(let duplicates, let context):
            error(
                Place(file: file, line: context.mark.line, column: context.mark.column),
                "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping",
                hint: "each key may appear once; remove or merge the duplicates")
        case .reader(let problem, _, _, _):
            error(Place(file: file, line: 0, column: 0), "cannot read YAML: \(problem)", hint: "save it as UTF-8 text")
        default:
            error(Place(file: file, line: 0, column: 0), "cannot parse YAML: \(yamlError)")
        }
    }

    mutating func parseDocument(_ node: Node, file: String, directory: String) {
        guard let mapping = node.mapping else {
            if node.scalar != nil, node.null != nil { return }  // an empty document (`---` alone)
            error(
                Place(file: file, node: node), "a manifest document must be a mapping",
                hint: "start it with 'kind: File', 'kind: FileSet' or a LiteLLM 'model_list:'")
            return
        }
        if let kindNode = mapping["kind"] {
            guard let kind = string(kindNode, file: file, what: "kind") else { return }
            switch kind {
            case "File", "FileSet":
                parseDeclaration(mapping, kind: kind, node: node, file: file, directory: directory)
            case "VectorStore":
                parseVectorStore(mapping, node: node, file: file)
            default:
                error(
                    Place(file: file, node: kindNode), "unknown kind '\(kind)'",
                    hint: Self.closest(kind, in: ["File", "FileSet", "VectorStore"]).map { "did you mean '\($0)'?" }
                        ?? "Ferry understands kind: File, FileSet and VectorStore, plus LiteLLM config documents")
            }
            return
        }
        if mapping["model_list"] != nil || mapping["files_settings"] != nil {
            parseLiteLLMConfig(mapping, file: file)
            return
        }
        error(
            Place(file: file, node: node), "a manifest document needs 'kind' or 'model_list'",
            hint: "add 'kind: File' (see docs/manifests.md) or put the LiteLLM model list under 'model_list:'")
    }

    // MARK: Scalars

    static func tag(_ node: Node) -> String { node.tag.rawValue }

    mutating func string(_ node: Node, file: String, what: String) -> String? {
        guard let scalar = node.scalar, Self.tag(node) == Tag.Name.str.rawValue || Self.tag(node) == Tag.Name.nonSpecific.rawValue else {
            let found = typeName(node)
            error(Place(file: file, node: node), "\(what) must be a string, found \(found)", hint: hintForType(node))
            return nil
        }
        return scalar.string
    }

    func typeName(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar:
            switch Self.tag(node) {
            case Tag.Name.int.rawValue: return "a number"
            case Tag.Name.float.rawValue: return "a number"
            case Tag.Name.bool.rawValue: return "a boolean"
            case Tag.Name.null.rawValue: return "nothing (null)"
            default: return "a scalar"
            }
        }
    }

    func hintForType(_ node: Node) -> String? {
        if node.scalar != nil, Self.tag(node) != Tag.Name.null.rawValue { return "quote the value to make it a string" }
        return nil
    }

    mutating func checkKeys(_ mapping: Node.Mapping, allowed: [String], file: String, section: String) {
        for (key, _) in mapping {
            guard let name = key.scalar?.string else {
                error(Place(file: file, node: key), "keys in \(section) must be strings")
                continue
            }
            if !allowed.contains(name) {
                let suggestion = Self.closest(name, in: allowed)
                error(
                    Place(file: file, node: key), "unknown key '\(name)' in \(section)",
                    hint: suggestion.map { "did you mean '\($0)'?" }
                        ?? "allowed keys: \(allowed.joined(separator: ", "))")
            }
        }
    }

    static func closest(_ word: String, in candidates: [String]) -> String? {
        let best = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    /// Edit distance counting an insertion, a deletion, a substitution or a swap of neighbours as one edit
    /// (optimal string alignment): `Fiel` is one edit from `File`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    // MARK: LiteLLM config

    mutating func parseLiteLLMConfig(_ mapping: Node.Mapping, file: String) {
        // Other top-level keys (litellm_settings, router_settings, general_settings, …) belong to LiteLLM.
        if let list = mapping["model_list"] {
            guard let sequence = list.sequence else {
                error(Place(file: file, node: list), "model_list must be a list, found \(typeName(list))")
                return
            }
            for entry in sequence { parseModelEntry(entry, file: file) }
        }
        if let settings = mapping["files_settings"] {
            guard let sequence = settings.sequence else {
                error(Place(file: file, node: settings), "files_settings must be a list, found \(typeName(settings))")
                return
            }
            for entry in sequence {
                guard let map = entry.mapping else {
                    error(Place(file: file, node: entry), "each files_settings entry must be a mapping")
                    continue
                }
                let params = scalarParams(map, file: file)
                guard let provider = params["custom_llm_provider"]?.value else {
                    error(
                        Place(file: file, node: entry), "files_settings entry has no custom_llm_provider",
                        hint: "add custom_llm_provider: openai, azure, vertex_ai, anthropic or gemini")
                    continue
                }
                fileSettings.append(
                    RawFileSettings(provider: provider, params: params, place: Place(file: file, node: entry)))
            }
        }
    }

    mutating func scalarParams(_ map: Node.Mapping, file: String) -> [String: (value: String, place: Place)] {
        var params: [String: (value: String, place: Place)] = [:]
        for (key, value) in map {
            guard let name = key.scalar?.string, let scalar = value.scalar, Self.tag(value) != Tag.Name.null.rawValue else {
                continue
            }
            params[name] = (scalar.string, Place(file: file, node: value))
        }
        return params
    }

    mutating func parseModelEntry(_ entry: Node, file: String) {
        guard let map = entry.mapping else {
            error(Place(file: file, node: entry), "each model_list entry must be a mapping")
            return
        }
        guard let nameNode = map["model_name"] else {
            error(Place(file: file, node: entry), "model_list entry has no model_name", hint: "add model_name: <name>")
            return
        }
        guard let name = string(nameNode, file: file, what: "model_name") else { return }
        guard let paramsNode = map["litellm_params"], let paramsMap = paramsNode.mapping else {
            error(
                Place(file: file, node: map["litellm_params"] ?? entry),
                "model '\(name)' needs a litellm_params mapping", hint: "add litellm_params: {model: provider/model}")
            return
        }
        let params = scalarParams(paramsMap, file: file)
        guard let model = params["model"]?.value, !model.isEmpty else {
            error(
                Place(file: file, node: paramsNode), "model '\(name)' has no litellm_params.model",
                hint: "e.g. model: openai/gpt-4o-mini or azure/<deployment>")
            return
        }
        let provider: String
        if let explicit = params["custom_llm_provider"]?.value {
            provider = explicit
        } else if let slash = model.firstIndex(of: "/") {
            provider = String(model[..<slash])
        } else {
            provider = "openai"
        }
        models.append(
            RawModel(name: name, model: model, provider: provider, params: params, place: Place(file: file, node: entry)))
    }

    // MARK: File and FileSet

    /// A Ferry document's top-level keys (`apiVersion`, `kind`, `metadata`, `spec`) and its apiVersion.
    mutating func checkDocumentHeader(_ mapping: Node.Mapping, kind: String, file: String) {
        checkKeys(mapping, allowed: ["apiVersion", "kind", "metadata", "spec"], file: file, section: kind)
        if let versionNode = mapping["apiVersion"], let version = string(versionNode, file: file, what: "apiVersion"),
            version != ManifestLoader.apiVersion
        {
            error(
                Place(file: file, node: versionNode), "unsupported apiVersion '\(version)'",
                hint: "use apiVersion: \(ManifestLoader.apiVersion)")
        }
    }

    mutating func parseDeclaration(_ mapping: Node.Mapping, kind: String, node: Node, file: String, directory: String) {
        checkDocumentHeader(mapping, kind: kind, file: file)
        guard let metadataNode = mapping["metadata"], let metadata = metadataNode.mapping else {
            error(
                Place(file: file, node: mapping["metadata"] ?? node), "\(kind) needs a metadata mapping",
                hint: "add metadata: {name: my-file}")
            return
        }
        checkKeys(metadata, allowed: ["name", "labels", "annotations", "previousNames"], file: file, section: "metadata")
        guard let nameNode = metadata["name"] else {
            error(Place(file: file, node: metadataNode), "\(kind) has no metadata.name", hint: "add name: my-file")
            return
        }
        guard let name = string(nameNode, file: file, what: "metadata.name") else { return }
        if !Self.isValidName(name) {
            error(
                Place(file: file, node: nameNode), "invalid name '\(name)'",
                hint: "use lowercase letters, digits, '-', '.', '_' and '/', starting and ending with a letter or digit")
        }
        var labels: [String: String] = [:]
        if let labelsNode = metadata["labels"] {
            if let labelMap = labelsNode.mapping {
                for (key, value) in labelMap {
                    guard let labelKey = string(key, file: file, what: "a label key"),
                        let labelValue = string(value, file: file, what: "label '\(key.scalar?.string ?? "")'")
                    else { continue }
                    labels[labelKey] = labelValue
                }
            } else {
                error(Place(file: file, node: labelsNode), "metadata.labels must be a mapping of strings")
            }
        }
        guard let specNode = mapping["spec"], let spec = specNode.mapping else {
            error(
                Place(file: file, node: mapping["spec"] ?? node), "\(kind) needs a spec mapping",
                hint: "add spec: {source: …, purpose: …, targetModels: […]}")
            return
        }
        let allowed =
            kind == "File"
            ? ["source", "purpose", "targetModels", "filename", "deletionPolicy", "protect", "expiresAfter"]
            : ["sources", "exclude", "purpose", "targetModels", "deletionPolicy", "protect", "expiresAfter"]
        checkKeys(spec, allowed: allowed, file: file, section: "\(kind) spec")

        var source: RawDesired.Source?
        var filename: String?
        if kind == "File" {
            if let sourceNode = spec["source"] {
                if let path = string(sourceNode, file: file, what: "spec.source") {
                    source = .single(path: path, place: Place(file: file, node: sourceNode))
                }
            } else {
                error(
                    Place(file: file, node: specNode), "File '\(name)' has no spec.source",
                    hint: "add source: <path relative to this manifest>")
            }
            if let filenameNode = spec["filename"], let value = string(filenameNode, file: file, what: "spec.filename") {
                if value.isEmpty || value.contains("/") || value.contains("\u{0}") || value == "." || value == ".." {
                    error(
                        Place(file: file, node: filenameNode), "invalid filename '\(value)'",
                        hint: "a file name without '/', e.g. handbook.pdf")
                } else {
                    filename = value
                }
            }
        } else {
            source = parseGlobs(spec, specNode: specNode, name: name, file: file)
        }

        var purpose = ""
        var purposePlace = Place(file: file, node: specNode)
        if let purposeNode = spec["purpose"] {
            purpose = string(purposeNode, file: file, what: "spec.purpose") ?? ""
            purposePlace = Place(file: file, node: purposeNode)
        } else {
            error(
                Place(file: file, node: specNode), "\(kind) '\(name)' has no spec.purpose",
                hint: "add purpose: user_data (or assistants, batch, fine-tune, vision, evals)")
        }

        var targets: [(String, Place)] = []
        if let targetsNode = spec["targetModels"] {
            if let sequence = targetsNode.sequence {
                for item in sequence {
                    if let model = string(item, file: file, what: "a targetModels entry") {
                        targets.append((model, Place(file: file, node: item)))
                    }
                }
                if sequence.isEmpty {
                    error(
                        Place(file: file, node: targetsNode), "targetModels is empty",
                        hint: "list at least one model_name from the model list")
                }
            } else {
                error(
                    Place(file: file, node: targetsNode), "targetModels must be a list, found \(typeName(targetsNode))",
                    hint: "write targetModels: [gpt-4o-mini]")
            }
        } else {
            error(
                Place(file: file, node: specNode), "\(kind) '\(name)' has no spec.targetModels",
                hint: "add targetModels: [<model_name>, …]")
        }

        var policy = DeletionPolicy.delete
        if let policyNode = spec["deletionPolicy"], let value = string(policyNode, file: file, what: "deletionPolicy") {
            if let parsed = DeletionPolicy(rawValue: value), parsed != .protect {
                policy = parsed
            } else {
                error(
                    Place(file: file, node: policyNode), "unknown deletionPolicy '\(value)'",
                    hint: "use Delete (remove the remote file when the declaration goes) or Retain (leave it)")
            }
        }

        if let protectNode = spec["protect"] {
            if protectNode.bool == true && Self.tag(protectNode) != Tag.Name.str.rawValue {
                policy = .protect
            } else if !(protectNode.bool == false && Self.tag(protectNode) != Tag.Name.str.rawValue) {
                error(
                    Place(file: file, node: protectNode), "protect must be true or false, found \(typeName(protectNode))",
                    hint: "write protect: true (Ferry never deletes the remote file) or leave it out")
            }
        }
        var expiresAfter: (Int64, Place)?
        // A number of seconds (an int scalar) or a duration string.
        if let expiryNode = spec["expiresAfter"],
            let value = expiryNode.scalar?.string ?? string(expiryNode, file: file, what: "spec.expiresAfter")
        {
            let place = Place(file: file, node: expiryNode)
            let range = Expiry.openAIExpiresAfterRange
            if let seconds = Expiry.seconds(value) {
                if range.contains(seconds) {
                    expiresAfter = (seconds, place)
                } else {
                    error(
                        place, "expiresAfter '\(value)' is \(seconds) seconds, outside OpenAI's \(range.lowerBound)..\(range.upperBound)",
                        hint: "use between 1h and 30d (e.g. expiresAfter: 7d)")
                }
            } else {
                error(
                    place, "expiresAfter '\(value)' is not a duration",
                    hint: "write seconds (86400) or a number with s, m, h or d (e.g. 30d)")
            }
        }
        var previousNames: [String] = []
        if let previousNode = metadata["previousNames"] {
            let items = previousNode.sequence.map(Array.init) ?? (previousNode.scalar != nil ? [previousNode] : [])
            if items.isEmpty && previousNode.sequence == nil {
                error(
                    Place(file: file, node: previousNode), "metadata.previousNames must be a list of names",
                    hint: "write previousNames: [old-name]")
            }
            for item in items {
                guard let previous = string(item, file: file, what: "a previous name") else { continue }
                if !Self.isValidName(previous) || previous == name {
                    error(
                        Place(file: file, node: item), "invalid previous name '\(previous)'",
                        hint: "list the names this \(kind) was declared under before, other than its name")
                } else {
                    previousNames.append(previous)
                }
            }
        }

        guard let source else { return }
        declarations.append(
            RawDesired(
                kind: kind, name: name, namePlace: Place(file: file, node: nameNode), manifestDirectory: directory,
                source: source, purpose: purpose, purposePlace: purposePlace, targetModels: targets, filename: filename,
                labels: labels, deletionPolicy: policy, place: Place(file: file, node: node),
                previousNames: previousNames, expiresAfter: expiresAfter))
    }

    mutating func parseGlobs(_ spec: Node.Mapping, specNode: Node, name: String, file: String) -> RawDesired.Source? {
        func patterns(_ node: Node, what: String) -> [(String, Place)] {
            if node.scalar != nil {
                return string(node, file: file, what: what).map { [($0, Place(file: file, node: node))] } ?? []
            }
            guard let sequence = node.sequence else {
                error(Place(file: file, node: node), "\(what) must be a glob or a list of globs")
                return []
            }
            return sequence.compactMap { item in
                string(item, file: file, what: "a \(what) entry").map { ($0, Place(file: file, node: item)) }
            }
        }
        guard let sourcesNode = spec["sources"] else {
            error(
                Place(file: file, node: specNode), "FileSet '\(name)' has no spec.sources",
                hint: "add sources: 'docs/**/*.md' (globs relative to this manifest)")
            return nil
        }
        var include: [(GlobPattern, Place)] = []
        var valid = true
        for (pattern, place) in patterns(sourcesNode, what: "spec.sources") {
            do throws(GlobError) {
                include.append((try GlobPattern(pattern), place))
            } catch {
                valid = false
                self.error(place, "bad glob '\(pattern)': \(error.message)", hint: "e.g. 'docs/**/*.md'")
            }
        }
        var exclude: [GlobPattern] = []
        if let excludeNode = spec["exclude"] {
            for (pattern, place) in patterns(excludeNode, what: "spec.exclude") {
                do throws(GlobError) {
                    exclude.append(try GlobPattern(pattern))
                } catch {
                    valid = false
                    self.error(place, "bad glob '\(pattern)': \(error.message)", hint: "e.g. '**/draft-*'")
                }
            }
        }
        return valid && !include.isEmpty ? .globs(include: include, exclude: exclude) : nil
    }

    static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= ManifestLoader.maxNameLength else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-._/")
        guard name.allSatisfy({ allowed.contains($0) }) else { return false }
        let alnum = Set("abcdefghijklmnopqrstuvwxyz0123456789")
        guard let first = name.first, let last = name.last, alnum.contains(first), alnum.contains(last) else {
            return false
        }
        return !name.contains("//") && !name.split(separator: "/").contains("..")
    }
}
