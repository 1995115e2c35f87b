import CYaml
import Yams

/// One manifest file's bytes, as read by the caller.
public struct ManifestSource: Sendable, Hashable {
    /// Path relative to the manifest root (`files/handbook.yaml`).
    public var path: String
    public var bytes: [UInt8]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }
}

/// The result of loading manifests: the validated desired state plus the secrets it references.
public struct LoadedManifests: Sendable {
    public var desired: DesiredState
    /// Resolved credentials per endpoint id. In memory only; never stored or printed.
    public var secrets: [String: Secret]
    /// Non-fatal findings.
    public var warnings: [Diagnostic]
}

/// Loads and validates manifests: LiteLLM model lists and Ferry's `File` and `FileSet` documents.
/// Pure: takes bytes, an environment and a source tree; collects every problem before failing.
public struct ManifestLoader: Sendable {
    /// Prefix shown before manifest paths in diagnostics (e.g. `manifests/`).
    public var displayRoot: String
    public var environment: [String: String]

    public init(displayRoot: String = "", environment: [String: String]) {
        self.displayRoot = displayRoot.isEmpty || displayRoot.hasSuffix("/") ? displayRoot : displayRoot + "/"
        self.environment = environment
    }

    /// The apiVersion Ferry's own documents use.
    public static let apiVersion = "ferry.dev/v1alpha1"
    /// Largest accepted `metadata.name`.
    static let maxNameLength = 253

    /// - Throws: `ValidationFailed` with every error found.
    public func load(_ sources: [ManifestSource], tree: some SourceTree) throws(ValidationFailed) -> LoadedManifests {
        var context = LoadContext(loader: self)
        for source in sources.sorted(by: { $0.path < $1.path }) {
            context.parseFile(source)
        }
        return try context.finish(tree: tree)
    }
}

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
}

struct LoadContext {
    let loader: ManifestLoader
    var diagnostics: [Diagnostic] = []
    var models: [RawModel] = []
    var fileSettings: [RawFileSettings] = []
    var declarations: [RawDesired] = []

    init(loader: ManifestLoader) { self.loader = loader }

    func display(_ path: String) -> String { loader.displayRoot + path }

    mutating func error(_ place: Place, _ message: String, hint: String? = nil) {
        diagnostics.append(
            Diagnostic(.error, file: place.file, line: place.line, column: place.column, message: message, hint: hint))
    }

    mutating func warning(_ place: Place, _ message: String, hint: String? = nil) {
        diagnostics.append(
            Diagnostic(.warning, file: place.file, line: place.line, column: place.column, message: message, hint: hint)
        )
    }

    // MARK: Files and documents

    mutating func parseFile(_ source: ManifestSource) {
        let file = display(source.path)
        guard let text = String(validating: source.bytes, as: UTF8.self) else {
            let (line, column) = Self.firstInvalidUTF8(source.bytes)
            error(
                Place(file: file, line: line, column: column), "the file is not valid UTF-8",
                hint: "save it as UTF-8 text")
            return
        }
        if text.contains("\u{0}") {
            error(Place(file: file, line: 0, column: 0), "the file contains a NUL byte", hint: "save it as UTF-8 text")
            return
        }
        if let excess = YAMLShape.excess(in: text) {
            error(Place(file: file, line: excess.line, column: excess.column), excess.message, hint: excess.hint)
            return
        }
        var documents: [Node] = []
        do {
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() { documents.append(node) }
        } catch let yamlError as YamlError {
            reportYAMLError(yamlError, file: file)
            return
        } catch {
            self.error(Place(file: file, line: 0, column: 0), "cannot parse YAML: \(error)")
            return
        }
        let directory = RelativePath.directory(of: source.path)
        for document in documents {
            parseDocument(document, file: file, directory: directory)
        }
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
            default:
                error(
                    Place(file: file, node: kindNode), "unknown kind '\(kind)'",
                    hint: "Ferry understands kind: File and kind: FileSet, plus LiteLLM config documents")
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
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a.lowercased()), b = Array(b.lowercased())
            var row = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let old = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = old
                }
            }
            return row[b.count]
        }
        let best = candidates.map { ($0, distance(word, $0)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
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
                        hint: "add custom_llm_provider: openai, azure or vertex_ai")
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

    mutating func parseDeclaration(_ mapping: Node.Mapping, kind: String, node: Node, file: String, directory: String) {
        checkKeys(mapping, allowed: ["apiVersion", "kind", "metadata", "spec"], file: file, section: kind)
        if let versionNode = mapping["apiVersion"], let version = string(versionNode, file: file, what: "apiVersion"),
            version != ManifestLoader.apiVersion
        {
            error(
                Place(file: file, node: versionNode), "unsupported apiVersion '\(version)'",
                hint: "use apiVersion: \(ManifestLoader.apiVersion)")
        }
        guard let metadataNode = mapping["metadata"], let metadata = metadataNode.mapping else {
            error(
                Place(file: file, node: mapping["metadata"] ?? node), "\(kind) needs a metadata mapping",
                hint: "add metadata: {name: my-file}")
            return
        }
        checkKeys(metadata, allowed: ["name", "labels", "annotations"], file: file, section: "metadata")
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
            ? ["source", "purpose", "targetModels", "filename", "deletionPolicy"]
            : ["sources", "exclude", "purpose", "targetModels", "deletionPolicy"]
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
            if let parsed = DeletionPolicy(rawValue: value) {
                policy = parsed
            } else {
                error(
                    Place(file: file, node: policyNode), "unknown deletionPolicy '\(value)'",
                    hint: "use Delete (remove the remote file when the declaration goes) or Retain (leave it)")
            }
        }

        guard let source else { return }
        declarations.append(
            RawDesired(
                kind: kind, name: name, namePlace: Place(file: file, node: nameNode), manifestDirectory: directory,
                source: source, purpose: purpose, purposePlace: purposePlace, targetModels: targets, filename: filename,
                labels: labels, deletionPolicy: policy, place: Place(file: file, node: node)))
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

// MARK: - Shape limits checked before Yams builds nodes

/// Limits on a YAML stream's shape, checked on libyaml's event stream (flat, no recursion, no node built) before
/// Yams composes it. Found with the manifest fuzz target (docs/reliability.md, "Fuzzing"); libyaml is Yams's own
/// parser, imported here as `CYaml` because Yams exposes no event API:
/// - Yams composes nodes recursively, so nesting depth is stack depth; libyaml alone stops only at 1,000 levels.
/// - Aliases share one node, but Yams hashes every mapping key to find duplicates, walking an aliased key in full:
///   ten lines of `&a1 [*a0, *a0, …]` make a key of 10^9 nodes and the load never ends ("billion laughs").
/// Manifests need neither: a few levels of nesting, and at most a handful of anchors (`<<: *defaults`).
enum YAMLShape {
    /// Deepest nesting of sequences and mappings accepted.
    static let maxDepth = 64
    /// Most nodes that aliases may stand for in one file, counting each alias as the nodes it repeats.
    static let maxAliasedNodes = 100_000

    struct Excess {
        var message: String
        var hint: String
        var line: Int
        var column: Int
    }

    /// The first limit `text` exceeds, or nil. A syntax error also gives nil: Yams reports it with its position.
    static func excess(in text: String) -> Excess? {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Excess? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            return scan(&parser)
        }
    }

    private static func scan(_ parser: inout yaml_parser_t) -> Excess? {
        // Nodes each anchor stands for, kept across documents as Yams keeps them.
        var anchored: [String: Int] = [:]
        // Open collections: their anchor and the nodes they hold so far (aliases expanded).
        var open: [(anchor: String?, nodes: Int)] = []
        var aliased = 0
        func close(_ nodes: Int, anchor: String?) {
            if let anchor { anchored[anchor] = nodes }
            if !open.isEmpty { open[open.count - 1].nodes = min(open[open.count - 1].nodes + nodes, Int.max / 2) }
        }
        func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: UnsafePointer($0)) }
        }
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                // libyaml's own limit (1,000 levels) can trip first, as its scanner reads ahead of the events.
                guard let problem = parser.problem, String(cString: problem).contains("nesting level") else { return nil }
                return Excess(
                    message: "YAML nesting deeper than \(maxDepth) levels", hint: "flatten the document",
                    line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
            }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            let column = Int(event.start_mark.column) + 1
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return nil
            case YAML_SCALAR_EVENT:
                close(1, anchor: name(event.data.scalar.anchor))
            case YAML_ALIAS_EVENT:
                let nodes = name(event.data.alias.anchor).flatMap { anchored[$0] } ?? 1
                aliased = min(aliased + nodes, Int.max / 2)
                if aliased > maxAliasedNodes {
                    return Excess(
                        message: "YAML aliases here repeat more than \(maxAliasedNodes) nodes",
                        hint: "write the values out, or use fewer nested anchors and aliases", line: line,
                        column: column)
                }
                close(nodes, anchor: nil)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let anchor =
                    event.type == YAML_SEQUENCE_START_EVENT
                    ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                open.append((anchor, 1))
                if open.count > maxDepth {
                    return Excess(
                        message: "YAML nesting deeper than \(maxDepth) levels", hint: "flatten the document",
                        line: line, column: column)
                }
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let collection = open.popLast() else { return nil }
                close(collection.nodes, anchor: collection.anchor)
            default:
                continue
            }
        }
    }
}
