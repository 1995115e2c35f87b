extension LoadContext {
    /// Checks each `kind: VectorStore` against the models and the declared files: its models must be OpenAI or Azure
    /// OpenAI ones (the providers with vector stores), its files must be declared, and each file must be uploaded to
    /// every endpoint the store lives on.
    mutating func resolveVectorStores(_ desired: DesiredState) -> [DesiredVectorStore] {
        guard !vectorStores.isEmpty else { return [] }
        let filesByName = Dictionary(desired.files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let modelNames = Set(desired.models.map(\.name))
        var seen: [String: Place] = [:]
        var stores: [DesiredVectorStore] = []
        for raw in vectorStores {
            if let previous = seen[raw.name] {
                error(
                    raw.namePlace, "duplicate vector store name '\(raw.name)'",
                    hint: "already declared at \(previous.short); names must be unique")
                continue
            }
            seen[raw.name] = raw.namePlace
            var valid = true
            for (model, place) in raw.targetModels {
                guard modelNames.contains(model) else {
                    error(
                        place, "unknown model '\(model)'",
                        hint: Self.closest(model, in: Array(modelNames)).map { "did you mean '\($0)'?" }
                            ?? "known models: \(modelNames.sorted().joined(separator: ", "))")
                    valid = false
                    continue
                }
                for definition in desired.models where definition.name == model {
                    let kind = ProviderKind.byLiteLLMProvider[definition.provider]
                    if kind != .openai && kind != .azure {
                        error(
                            place,
                            "model '\(model)' uses provider '\(definition.provider)', which has no vector stores",
                            hint: "vector stores live on OpenAI and Azure OpenAI; target openai/… or azure/… models "
                                + "(\(definition.origin))")
                        valid = false
                    }
                }
            }
            var members: [String: Place] = [:]
            for (name, place) in raw.files {
                if filesByName[name] == nil {
                    error(
                        place, "vector store '\(raw.name)' lists '\(name)', which no File or FileSet declares",
                        hint: Self.closest(name, in: Array(filesByName.keys)).map { "did you mean '\($0)'?" }
                            ?? "declare it with kind: File, or remove it from the list")
                    valid = false
                } else if members[name] != nil {
                    warning(place, "'\(name)' is listed twice in vector store '\(raw.name)'")
                } else {
                    members[name] = place
                }
            }
            if let selector = raw.selector {
                let matched = desired.files.filter { file in
                    selector.labels.allSatisfy { file.labels[$0.key] == $0.value }
                }
                if matched.isEmpty && !selector.labels.isEmpty {
                    warning(
                        selector.place, "selector of vector store '\(raw.name)' matches no declared file",
                        hint: "label files with metadata.labels to select them")
                }
                for file in matched where members[file.name] == nil { members[file.name] = selector.place }
            }
            guard valid else { continue }
            let store = DesiredVectorStore(
                name: raw.name, displayName: raw.displayName, targetModels: raw.targetModels.map(\.0),
                files: Array(members.keys), expiresAfterDays: raw.expiresAfterDays, chunking: raw.chunking,
                metadata: raw.metadata, origin: raw.place.short)
            // Every member must be uploaded where the store lives: attachments name files on the same account.
            let storeEndpoints = desired.endpoints(of: store)
            for name in store.files {
                guard let file = filesByName[name] else { continue }
                let placed = Set(desired.placements(of: file).map(\.endpoint.id))
                for endpoint in storeEndpoints where !placed.contains(endpoint.id) {
                    let models = store.targetModels.filter { model in
                        desired.endpoints(forModel: model).contains { $0.id == endpoint.id }
                    }
                    error(
                        members[name] ?? raw.place,
                        "'\(name)' is in vector store '\(raw.name)' but is not uploaded to \(endpoint.displayName)",
                        hint: "add \(models.joined(separator: " or ")) to the targetModels of '\(name)' (\(file.origin))")
                }
            }
            stores.append(store)
        }
        return stores.sorted { $0.name < $1.name }
    }
}
