/// Cross-document checks: models to endpoints, sources to files, names, purposes and secrets.
extension LoadContext {
    /// Largest single file each provider accepts through its files endpoint.
    static func maxBytes(_ kind: ProviderKind) -> Int64 {
        switch kind {
        // Files over 256 MiB go through OpenAI's Uploads API, which accepts up to 8 GB.
        case .openai: return 8_000_000_000
        // Azure OpenAI's files API takes 512 MiB per file.
        case .azure: return 512 * 1024 * 1024
        case .vertex: return 5 * 1024 * 1024 * 1024 * 1024
        // Anthropic's Files API takes 500 MB per file (decimal: the stricter reading of "500 MB").
        case .anthropic: return 500_000_000
        // S3 objects: 5 TiB, through multipart upload (a single PUT takes at most 5 GiB; the client switches).
        case .bedrock: return 5 * 1024 * 1024 * 1024 * 1024
        // Gemini's Files API takes 2 GB per file (decimal, the stricter reading).
        case .gemini: return 2_000_000_000
        }
    }

    mutating func finish(tree: some SourceTree) throws(ValidationFailed) -> LoadedManifests {
        var secrets: [String: Secret] = [:]
        // Resolve only models some declaration targets: a LiteLLM config lists many chat models whose
        // credentials Ferry never needs, and a missing key there must not block a run.
        let targeted = Set(
            declarations.flatMap { $0.targetModels.map(\.0) } + vectorStores.flatMap { $0.targetModels.map(\.0) })
        var resolvedModels: [ModelDefinition] = []
        for raw in models {
            // Untargeted models are resolved quietly: when they resolve, Ferry can still prune files it owns
            // there; when they do not, nothing needs them.
            let mark = diagnostics.count
            let endpoint = resolveEndpoint(raw, secrets: &secrets)
            let rpm = requestsPerMinute(raw)
            if !targeted.contains(raw.name) { diagnostics.removeSubrange(mark...) }
            resolvedModels.append(
                ModelDefinition(
                    name: raw.name, model: raw.model, provider: raw.provider, endpoint: endpoint,
                    origin: raw.place.short, requestsPerMinute: rpm))
        }
        let modelNames = Set(models.map(\.name))

        var files: [DesiredFile] = []
        var names: [String: Place] = [:]
        for declaration in declarations {
            // Targets and purposes.
            var kinds: Set<ProviderKind> = []
            for (model, place) in declaration.targetModels {
                guard modelNames.contains(model) else {
                    let hint = Self.closest(model, in: Array(modelNames)).map { "did you mean '\($0)'?" }
                        ?? (modelNames.isEmpty
                            ? "no model_list was found; add a LiteLLM config with model_list to the manifests"
                            : "known models: \(modelNames.sorted().joined(separator: ", "))")
                    error(place, "unknown model '\(model)'", hint: hint)
                    continue
                }
                for raw in models where raw.name == model {
                    if let kind = ProviderKind.byLiteLLMProvider[raw.provider] {
                        kinds.insert(kind)
                    } else {
                        error(
                            place,
                            "model '\(model)' uses provider '\(raw.provider)', which has no files API Ferry can manage",
                            hint: "target openai, azure, vertex_ai, anthropic, gemini or bedrock models (\(raw.place.short))")
                    }
                }
            }
            if !declaration.purpose.isEmpty {
                for kind in kinds.sorted() {
                    if let accepted = kind.acceptedPurposes, !accepted.contains(declaration.purpose) {
                        error(
                            declaration.purposePlace,
                            "purpose '\(declaration.purpose)' is not accepted by \(kind.rawValue)",
                            hint: "use one of: \(accepted.sorted().joined(separator: ", "))")
                    }
                }
            }
            let maxBytes = kinds.map(Self.maxBytes).min() ?? Int64.max
            if let (_, place) = declaration.expiresAfter, !kinds.isEmpty, !kinds.contains(where: \.acceptsExpiresAfter) {
                error(
                    place, "expiresAfter applies to openai and azure files only, and no target model is one",
                    hint: "remove expiresAfter, or target an openai or azure model")
            }
            if let (seconds, place) = declaration.expiresAfter, kinds.contains(.azure),
                !Expiry.azureExpiresAfterRange.contains(seconds)
            {
                error(
                    place, "expiresAfter \(Expiry.text(seconds: seconds)) is outside Azure OpenAI's 14d..30d",
                    hint: "use between 14d and 30d for files that target azure models")
            }

            // Sources.
            let members = expandSources(declaration, tree: tree)
            // Made once and shared by every member (a FileSet of 100,000 files held 100,000 copies of each).
            let targetModels = DesiredFile.normalizedTargets(declaration.targetModels.map(\.0))
            let declaredBy = "\(declaration.kind)/\(declaration.name)"
            let origin = declaration.place.short
            for member in members {
                // A FileSet's previous names rename its members: `old/a.md` → `new/a.md`.
                let memberPath = member.name == declaration.name ? nil : String(member.name.dropFirst(declaration.name.count))
                let previousNames = declaration.previousNames.map { $0 + (memberPath ?? "") }
                if let previous = names[member.name] {
                    error(
                        declaration.namePlace, "duplicate file name '\(member.name)'",
                        hint: "already declared at \(previous.short); names must be unique")
                    continue
                }
                names[member.name] = declaration.namePlace
                if member.bytes == 0 {
                    error(member.place, "source '\(member.path)' is empty", hint: "providers reject empty files")
                    continue
                }
                if member.bytes > maxBytes {
                    error(
                        member.place,
                        "source '\(member.path)' is \(member.bytes) bytes, over the \(maxBytes)-byte limit of its target providers",
                        hint: "split the file or target a provider that accepts larger files")
                    continue
                }
                let filename = declaration.filename ?? RelativePath.baseName(of: member.path)
                if kinds.contains(.anthropic), let problem = Self.anthropicFilenameProblem(filename) {
                    error(
                        member.place, "file name '\(filename)' is not accepted by anthropic: \(problem)",
                        hint: "set spec.filename to a name without < > : \" | ? * \\ / or control characters")
                    continue
                }
                if kinds.contains(.bedrock), let problem = bedrockKeyProblem(filename, declaration, resolvedModels) {
                    error(
                        member.place, "file name '\(filename)' cannot be an S3 object key for bedrock: \(problem)",
                        hint: "set spec.filename to a shorter name without control characters")
                    continue
                }
                if kinds.contains(.gemini), filename.count > Self.geminiMaxDisplayName {
                    error(
                        member.place,
                        "file name '\(filename.prefix(40))…' is \(filename.count) characters, over gemini's "
                            + "\(Self.geminiMaxDisplayName)-character display name limit",
                        hint: "set spec.filename to a shorter name")
                    continue
                }
                if declaration.purpose == "batch", !member.path.hasSuffix(".jsonl") {
                    error(
                        member.place, "purpose 'batch' needs a .jsonl source, got '\(member.path)'",
                        hint: "batch input files are JSON Lines")
                }
                files.append(
                    DesiredFile(
                        name: member.name, sourcePath: member.path, bytes: member.bytes, purpose: declaration.purpose,
                        filename: filename,
                        targetModels: targetModels, labels: declaration.labels,
                        deletionPolicy: declaration.deletionPolicy, declaredBy: declaredBy, origin: origin))
                files[files.count - 1].previousNames = previousNames
                files[files.count - 1].expiresAfterSeconds = declaration.expiresAfter?.0
            }
        }

        var unifiedIDs: [String: String] = [:]
        for file in files {
            if let other = unifiedIDs[file.unifiedID] {
                error(
                    Place(file: file.origin, line: 0, column: 0),
                    "files '\(other)' and '\(file.name)' map to the same unified id", hint: "rename one of them")
            }
            unifiedIDs[file.unifiedID] = file.name
        }

        var desired = DesiredState(files: files, models: resolvedModels)
        desired.vectorStores = resolveVectorStores(desired)

        let failures = diagnostics.filter { $0.severity == .error }
        if !failures.isEmpty {
            throw ValidationFailed(diagnostics: diagnostics.sorted(by: Self.order))
        }
        let known = Set(desired.knownEndpoints.map(\.id))
        return LoadedManifests(
            desired: desired, secrets: secrets.filter { known.contains($0.key) },
            warnings: diagnostics.sorted(by: Self.order))
    }

    /// Why the S3 key Ferry would write for `filename` on a targeted Bedrock endpoint is not acceptable, or nil.
    func bedrockKeyProblem(_ filename: String, _ declaration: RawDesired, _ models: [ModelDefinition]) -> String? {
        let targets = Set(declaration.targetModels.map(\.0))
        for model in models where targets.contains(model.name) {
            guard let endpoint = model.endpoint, endpoint.kind == .bedrock else { continue }
            let prefix = endpoint.bucket.map { String($0.drop { $0 != "/" }) } ?? ""
            if let problem = Self.s3KeyProblem(filename: filename, purpose: declaration.purpose, prefix: prefix) {
                return problem
            }
        }
        return nil
    }
    /// Longest `displayName` Gemini accepts (the display name carries the file name).
    static let geminiMaxDisplayName = 512

    /// Why Anthropic would refuse a file name (1–255 characters, none of `< > : " | ? * \ /` or control
    /// characters), or nil when it accepts it.
    static func anthropicFilenameProblem(_ name: String) -> String? {
        if name.isEmpty || name.count > 255 { return "it must be 1 to 255 characters long" }
        if let bad = name.unicodeScalars.first(where: { "<>:\"|?*\\/".unicodeScalars.contains($0) || $0.value < 0x20 }) {
            return bad.value < 0x20 ? "it contains a control character" : "it contains '\(bad)'"
        }
        return nil
    }

    static func order(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        (a.file, a.line, a.column, a.message) < (b.file, b.line, b.column, b.message)
    }

    struct Member {
        var name: String
        var path: String
        var bytes: Int64
        var place: Place
    }

    mutating func expandSources(_ declaration: RawDesired, tree: some SourceTree) -> [Member] {
        switch declaration.source {
        case .single(let path, let place):
            guard let member = checkSource(path, base: declaration.manifestDirectory, place: place, tree: tree) else {
                return []
            }
            return [Member(name: declaration.name, path: member.0, bytes: member.1, place: place)]
        case .globs(let include, let exclude):
            var members: [Member] = []
            var seen = Set<String>()
            for (pattern, place) in include {
                guard let prefix = RelativePath.normalize(pattern.literalPrefix, relativeTo: declaration.manifestDirectory)
                else {
                    error(
                        place, "glob '\(pattern.pattern)' leaves the manifest root",
                        hint: "sources must stay inside the repository")
                    continue
                }
                let base = declaration.manifestDirectory
                let candidates = tree.files(under: prefix)
                // Matching and inspecting a file (a `stat`) depend on that file alone: done on every core for a large
                // set, then taken in order here, so members and problems come out as a sequential pass gives them.
                let checked = Parallel.map(candidates.count, minimum: Self.parallelSources) { index in
                    let candidate = candidates[index]
                    guard let relative = Self.relative(candidate, to: base), pattern.matches(relative),
                        !exclude.contains(where: { $0.matches(relative) })
                    else { return nil as (relative: String, check: SourceCheck)? }
                    return (relative, Self.resolveSource(relative, base: base, tree: tree))
                }
                var matched = 0
                for (index, candidate) in candidates.enumerated() {
                    guard let (relative, check) = checked[index] else { continue }
                    matched += 1
                    // (A walk lists each file once: only several patterns can name one twice.)
                    guard include.count == 1 || seen.insert(candidate).inserted else { continue }
                    guard let found = report(check, path: relative, place: place) else { continue }
                    // Members are named by their path below the glob's literal folder: `faq/*.md` → `<set>/billing.md`.
                    let memberPath = Self.relative(candidate, to: prefix) ?? relative
                    members.append(
                        Member(name: declaration.name + "/" + memberPath, path: found.0, bytes: found.1, place: place))
                }
                if matched == 0 {
                    error(
                        place, "glob '\(pattern.pattern)' matches no files",
                        hint: "patterns are relative to the manifest's folder; check the path and extension")
                }
            }
            return members.sorted { $0.name < $1.name }
        }
    }

    /// Sources a FileSet must have before its files are matched and inspected on every core.
    static let parallelSources = 512

    static func relative(_ path: String, to base: String) -> String? {
        if base.isEmpty { return path }
        guard path.hasPrefix(base + "/") else { return nil }
        return String(path.dropFirst(base.count + 1))
    }

    /// What checking a source path found: its normalised path and size, or a problem (message and hint).
    enum SourceCheck {
        case file(path: String, bytes: Int64)
        case problem(String, hint: String)
    }

    /// Checks one source path; returns its normalised path and size.
    mutating func checkSource(_ path: String, base: String, place: Place, tree: some SourceTree) -> (String, Int64)? {
        report(Self.resolveSource(path, base: base, tree: tree), path: path, place: place)
    }

    /// The normalised path and size of a good source; a problem is reported at `place` (nil).
    mutating func report(_ check: SourceCheck, path: String, place: Place) -> (String, Int64)? {
        switch check {
        case .file(let normalized, let bytes): return (normalized, bytes)
        case .problem(let message, let hint):
            error(place, message, hint: hint)
            return nil
        }
    }

    /// Checks one source path (relative to the manifest's folder `base`) against the tree, changing nothing: safe to
    /// call from several threads.
    static func resolveSource(_ path: String, base: String, tree: some SourceTree) -> SourceCheck {
        if path.isEmpty {
            return .problem("source path is empty", hint: "give a path relative to this manifest")
        }
        if path.hasPrefix("/") || path.hasPrefix("~") {
            return .problem(
                "source '\(path)' is an absolute path", hint: "use a path relative to this manifest, inside the repository")
        }
        guard let normalized = RelativePath.normalize(path, relativeTo: base), !normalized.isEmpty else {
            return .problem(
                "source '\(path)' is outside the manifest root",
                hint: "sources must stay inside the repository; move the file under the manifest root")
        }
        switch tree.inspect(normalized) {
        case .file(let bytes):
            return .file(path: normalized, bytes: bytes)
        case .missing:
            return .problem("source '\(path)' does not exist", hint: "check the path; it is relative to this manifest")
        case .notRegularFile:
            return .problem("source '\(path)' is not a regular file", hint: "point source at a file, or use a FileSet glob")
        case .escapesRoot(let resolved):
            return .problem(
                "source '\(path)' is a symlink that leaves the manifest root (to \(resolved))",
                hint: "sources must stay inside the repository")
        case .unreadable(let reason):
            return .problem("source '\(path)' cannot be read: \(reason)", hint: "check its permissions")
        }
    }
}
