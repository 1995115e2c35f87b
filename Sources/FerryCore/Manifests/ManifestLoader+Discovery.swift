/// Which candidate manifest files the declarations take as sources.
extension LoadContext {
    struct Declarer: Hashable {
        /// The declaring manifest's path, relative to the root (like `ManifestSource.path`).
        var file: String
        /// `FileSet/api-docs`.
        var declaration: String
    }

    /// For each of `paths` (relative to the root) that some declaration names as a source, the declarations that
    /// do. Matches paths against the declarations' sources and globs directly, without walking the tree.
    func declaringManifests(of paths: [String]) -> [String: Set<Declarer>] {
        var result: [String: Set<Declarer>] = [:]
        let candidates = Set(paths)
        for declaration in declarations {
            let declarer = Declarer(
                file: String(declaration.place.file.dropFirst(loader.displayRoot.count)),
                declaration: "\(declaration.kind)/\(declaration.name)")
            let base = declaration.manifestDirectory
            switch declaration.source {
            case .single(let path, _):
                if let normalized = RelativePath.normalize(path, relativeTo: base), candidates.contains(normalized) {
                    result[normalized, default: []].insert(declarer)
                }
            case .globs(let include, let exclude):
                for path in paths {
                    guard let relative = Self.relative(path, to: base),
                        include.contains(where: { pattern, _ in
                            guard let prefix = RelativePath.normalize(pattern.literalPrefix, relativeTo: base) else {
                                return false
                            }
                            return (prefix.isEmpty || path.hasPrefix(prefix + "/")) && pattern.matches(relative)
                        }),
                        !exclude.contains(where: { $0.matches(relative) })
                    else { continue }
                    result[path, default: []].insert(declarer)
                }
            }
        }
        return result
    }
}
