import Yams

/// A `kind: VectorStore` document, parsed but not yet checked against the files and models.
struct RawVectorStore {
    var name: String
    var namePlace: Place
    var displayName: String?
    var targetModels: [(String, Place)]
    /// `spec.files`: declared file names.
    var files: [(String, Place)]
    /// `spec.selector.matchLabels`, and where it was written.
    var selector: (labels: [String: String], place: Place)?
    var expiresAfterDays: Int?
    var chunking: ChunkingStrategy
    var metadata: [String: String]
    var place: Place
}

extension LoadContext {
    /// Largest `spec.expiresAfterDays` OpenAI accepts (`expires_after.days`: 1–365).
    static let maxStoreExpiryDays = 365
    /// Metadata pairs a store may carry (OpenAI: 16), one of which is Ferry's mark.
    static let maxStoreMetadata = 15

    mutating func parseVectorStore(_ mapping: Node.Mapping, node: Node, file: String) {
        checkKeys(mapping, allowed: ["apiVersion", "kind", "metadata", "spec"], file: file, section: "VectorStore")
        if let versionNode = mapping["apiVersion"], let version = string(versionNode, file: file, what: "apiVersion"),
            version != ManifestLoader.apiVersion
        {
            error(
                Place(file: file, node: versionNode), "unsupported apiVersion '\(version)'",
                hint: "use apiVersion: \(ManifestLoader.apiVersion)")
        }
        guard let metadataNode = mapping["metadata"], let metadata = metadataNode.mapping,
            let nameNode = metadata["name"], let name = string(nameNode, file: file, what: "metadata.name")
        else {
            error(
                Place(file: file, node: mapping["metadata"] ?? node), "VectorStore needs metadata.name",
                hint: "add metadata: {name: support-kb}")
            return
        }
        checkKeys(metadata, allowed: ["name", "labels", "annotations"], file: file, section: "metadata")
        if !Self.isValidName(name) {
            error(
                Place(file: file, node: nameNode), "invalid name '\(name)'",
                hint: "use lowercase letters, digits, '-', '.', '_' and '/', starting and ending with a letter or digit")
        }
        guard let specNode = mapping["spec"], let spec = specNode.mapping else {
            error(
                Place(file: file, node: mapping["spec"] ?? node), "VectorStore needs a spec mapping",
                hint: "add spec: {targetModels: […], files: […]}")
            return
        }
        checkKeys(
            spec,
            allowed: ["displayName", "targetModels", "files", "selector", "expiresAfterDays", "chunkingStrategy", "metadata"],
            file: file, section: "VectorStore spec")

        var store = RawVectorStore(
            name: name, namePlace: Place(file: file, node: nameNode), targetModels: [], files: [], chunking: .auto,
            metadata: [:], place: Place(file: file, node: node))
        if let displayNode = spec["displayName"], let display = string(displayNode, file: file, what: "spec.displayName") {
            if display.isEmpty || display.count > 256 {
                error(Place(file: file, node: displayNode), "displayName must be 1 to 256 characters long")
            } else {
                store.displayName = display
            }
        }
        store.targetModels = stringList(spec["targetModels"], file: file, what: "targetModels")
        if spec["targetModels"] == nil {
            error(
                Place(file: file, node: specNode), "VectorStore '\(name)' has no spec.targetModels",
                hint: "add targetModels: [<model_name>, …] (OpenAI or Azure OpenAI models)")
        } else if store.targetModels.isEmpty, spec["targetModels"]?.sequence != nil {
            error(
                Place(file: file, node: spec["targetModels"]!), "targetModels is empty",
                hint: "list at least one model_name from the model list")
        }
        if spec["files"] != nil { store.files = stringList(spec["files"], file: file, what: "files") }
        if let selectorNode = spec["selector"] {
            if let selector = selectorNode.mapping {
                checkKeys(selector, allowed: ["matchLabels"], file: file, section: "selector")
                var labels: [String: String] = [:]
                if let matchNode = selector["matchLabels"] {
                    if let match = matchNode.mapping, !match.isEmpty {
                        for (key, value) in match {
                            guard let labelKey = string(key, file: file, what: "a label key"),
                                let labelValue = string(value, file: file, what: "label '\(key.scalar?.string ?? "")'")
                            else { continue }
                            labels[labelKey] = labelValue
                        }
                    } else {
                        error(
                            Place(file: file, node: matchNode), "selector.matchLabels must be a non-empty mapping",
                            hint: "write matchLabels: {team: support}")
                    }
                } else {
                    error(
                        Place(file: file, node: selectorNode), "selector needs matchLabels",
                        hint: "write selector: {matchLabels: {team: support}}")
                }
                store.selector = (labels, Place(file: file, node: selectorNode))
            } else {
                error(
                    Place(file: file, node: selectorNode), "selector must be a mapping, found \(typeName(selectorNode))",
                    hint: "write selector: {matchLabels: {team: support}}")
            }
        }
        if spec["files"] == nil, spec["selector"] == nil {
            error(
                Place(file: file, node: specNode), "VectorStore '\(name)' names no files",
                hint: "add files: [<declared file name>, …] or selector: {matchLabels: {…}}")
        }
        if let expiryNode = spec["expiresAfterDays"] {
            if let days = expiryNode.int, Self.tag(expiryNode) == Tag.Name.int.rawValue,
                (1...Self.maxStoreExpiryDays).contains(days)
            {
                store.expiresAfterDays = days
            } else {
                error(
                    Place(file: file, node: expiryNode),
                    "expiresAfterDays must be a whole number of days from 1 to \(Self.maxStoreExpiryDays)",
                    hint: "the store expires after that many days without use; leave it out for a store that never expires")
            }
        }
        if let chunkingNode = spec["chunkingStrategy"] {
            store.chunking = parseChunking(chunkingNode, file: file) ?? .auto
        }
        if let metadataNode = spec["metadata"] {
            if let map = metadataNode.mapping {
                for (key, value) in map {
                    guard let metaKey = string(key, file: file, what: "a metadata key"),
                        let metaValue = string(value, file: file, what: "metadata '\(key.scalar?.string ?? "")'")
                    else { continue }
                    if metaKey == RemoteVectorStore.ownerKey {
                        error(
                            Place(file: file, node: key), "metadata key '\(metaKey)' is Ferry's own mark",
                            hint: "choose another key; Ferry sets \(metaKey) to the store's name")
                    } else if metaKey.isEmpty || metaKey.count > 64 || metaValue.count > 512 {
                        error(
                            Place(file: file, node: key), "metadata '\(metaKey)' is too long",
                            hint: "keys are 1 to 64 characters, values at most 512")
                    } else {
                        store.metadata[metaKey] = metaValue
                    }
                }
                if store.metadata.count > Self.maxStoreMetadata {
                    error(
                        Place(file: file, node: metadataNode),
                        "metadata has \(store.metadata.count) pairs; a store keeps at most \(Self.maxStoreMetadata) "
                            + "besides Ferry's mark", hint: "remove some pairs")
                }
            } else {
                error(
                    Place(file: file, node: metadataNode), "metadata must be a mapping of strings",
                    hint: "write metadata: {owner: support}")
            }
        }
        vectorStores.append(store)
    }

    /// A list of strings with their places; a scalar is not a list.
    mutating func stringList(_ node: Node?, file: String, what: String) -> [(String, Place)] {
        guard let node else { return [] }
        guard let sequence = node.sequence else {
            error(
                Place(file: file, node: node), "\(what) must be a list, found \(typeName(node))",
                hint: "write \(what): [a, b]")
            return []
        }
        return sequence.compactMap { item in
            string(item, file: file, what: "a \(what) entry").map { ($0, Place(file: file, node: item)) }
        }
    }

    mutating func parseChunking(_ node: Node, file: String) -> ChunkingStrategy? {
        let hint = "write chunkingStrategy: {type: auto} or {type: static, maxChunkSizeTokens: 800, chunkOverlapTokens: 400}"
        guard let map = node.mapping else {
            error(Place(file: file, node: node), "chunkingStrategy must be a mapping, found \(typeName(node))", hint: hint)
            return nil
        }
        checkKeys(map, allowed: ["type", "maxChunkSizeTokens", "chunkOverlapTokens"], file: file, section: "chunkingStrategy")
        let type = map["type"].flatMap { string($0, file: file, what: "chunkingStrategy.type") }
        switch type {
        case "auto":
            if map["maxChunkSizeTokens"] != nil || map["chunkOverlapTokens"] != nil {
                error(Place(file: file, node: node), "chunkingStrategy type auto takes no sizes", hint: hint)
            }
            return .auto
        case "static":
            guard let sizeNode = map["maxChunkSizeTokens"], let size = sizeNode.int,
                Self.tag(sizeNode) == Tag.Name.int.rawValue, (100...4096).contains(size)
            else {
                error(
                    Place(file: file, node: map["maxChunkSizeTokens"] ?? node),
                    "maxChunkSizeTokens must be a whole number from 100 to 4096", hint: hint)
                return nil
            }
            guard let overlapNode = map["chunkOverlapTokens"], let overlap = overlapNode.int,
                Self.tag(overlapNode) == Tag.Name.int.rawValue, overlap >= 0, overlap <= size / 2
            else {
                error(
                    Place(file: file, node: map["chunkOverlapTokens"] ?? node),
                    "chunkOverlapTokens must be a whole number from 0 to half of maxChunkSizeTokens (\(size / 2))",
                    hint: hint)
                return nil
            }
            return .fixed(maxChunkSizeTokens: size, chunkOverlapTokens: overlap)
        default:
            error(
                Place(file: file, node: map["type"] ?? node),
                "chunkingStrategy type must be auto or static\(type.map { ", found '\($0)'" } ?? "")", hint: hint)
            return nil
        }
    }
}
