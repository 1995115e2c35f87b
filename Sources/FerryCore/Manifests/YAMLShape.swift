import CYaml

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
