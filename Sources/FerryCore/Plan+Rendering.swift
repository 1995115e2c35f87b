/// Human and machine renderings of a plan.
extension Plan {
    /// Terraform-like symbol for an action.
    static func symbol(_ kind: PlannedAction.Kind) -> String {
        switch kind {
        case .create: return "+"
        case .replace: return "~"
        case .delete: return "-"
        case .adopt, .import: return "="
        case .forget, .release, .expireIntent, .setPolicy: return "."
        case .move: return ">"
        }
    }

    static func describe(_ action: PlannedAction) -> String {
        switch action.kind {
        case .create:
            return "create \(action.file) (\(action.filename ?? ""), \(formatBytes(action.bytes ?? 0)), \(action.purpose ?? ""))"
        case .replace:
            let why =
                action.reason == .failedRemotely
                ? "the provider reports it failed"
                : action.reason == .expiring
                    ? "the provider deletes it at \(action.expiresAt.map(Expiry.utcText) ?? "?"), within the refresh margin"
                    : "content or settings changed"
            return "replace \(action.file): upload new \(action.filename ?? "") (\(formatBytes(action.bytes ?? 0))), "
                + "then delete \(action.replaces.joined(separator: ", ")) (\(why))"
        case .delete:
            return "delete \(action.file) \(action.remoteID ?? "") (\(action.reason.rawValue))"
        case .adopt:
            return "adopt \(action.remoteID ?? "") for \(action.file) (upload from an interrupted run)"
        case .forget:
            return "forget \(action.file) \(action.remoteID ?? "") (no longer on the provider)"
        case .release:
            let why = action.reason == .protected ? "protected" : "deletionPolicy Retain"
            return "release \(action.file) \(action.remoteID ?? "") (\(why): left on the provider)"
        case .move:
            return "move \(action.previousName ?? "") → \(action.file) (\(action.remoteID ?? ""): renamed, no upload)"
        case .setPolicy:
            let policy = action.deletionPolicy ?? .delete
            let what = policy == .protect ? "protect" : policy == .retain ? "retain" : "unprotect"
            return "\(what) \(action.file) (record deletionPolicy \(policy.rawValue) in the state)"
        case .expireIntent:
            return "drop pending upload record #\(action.intentID ?? 0) for \(action.file) (never appeared)"
        case .import:
            let how =
                action.reason == .contentMatch
                ? "same content: SHA-256 verified"
                : "same file name, size and purpose; the provider does not show the content: a weaker match"
            return "import \(action.remoteID ?? "") for \(action.file) (\(how))"
        }
    }

    /// One line: `Plan: 2 to create, 1 to replace, 0 to delete, 1 to adopt.` or `No changes. …`
    public var summaryLine: String {
        if isEmpty, mode == .import { return "Nothing to import." }
        if isEmpty {
            let total = placements.count
            if let untracked, !untracked.isEmpty {
                return "Nothing uploaded: \(untracked.count) of \(total) placements already have a file this state "
                    + "has no record of."
            }
            let unknown = placements.filter { $0.state == .unknown }.count
            if unknown > 0 {
                return "No changes planned, but \(unknown) of \(total) placements could not be checked."
            }
            return "No changes. \(total) placement\(total == 1 ? "" : "s") in sync."
        }
        let c = counts
        var parts = [
            "\(c[.create, default: 0]) to create", "\(c[.replace, default: 0]) to replace",
            "\(c[.delete, default: 0]) to delete",
        ]
        if mode == .import {
            let weak = actions.filter { $0.reason == .nameMatch }.count
            return "Import: \(c[.import, default: 0]) file(s) to adopt into the state"
                + (weak > 0 ? " (\(weak) matched by name, size and purpose only)." : ".")
        }
        if let adopt = c[.adopt] { parts.append("\(adopt) to adopt") }
        if let move = c[.move] { parts.append("\(move) to move") }
        let bookkeeping = c[.forget, default: 0] + c[.release, default: 0] + c[.expireIntent, default: 0]
            + c[.setPolicy, default: 0]
        if bookkeeping > 0 { parts.append("\(bookkeeping) state update\(bookkeeping == 1 ? "" : "s")") }
        return "Plan: " + parts.joined(separator: ", ") + "."
    }

    /// The diff for a terminal; `color` adds ANSI colours.
    public func renderText(color: Bool = false) -> String {
        func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var lines: [String] = []
        let names = Dictionary(endpoints.map { ($0.endpointID, $0.displayName) }, uniquingKeysWith: { a, _ in a })
        var currentEndpoint: String?
        for action in actions.sorted(by: { ($0.endpointID, $0.file) < ($1.endpointID, $1.file) }) {
            if action.endpointID != currentEndpoint {
                currentEndpoint = action.endpointID
                lines.append("")
                lines.append(paint("# \(names[action.endpointID] ?? action.endpointID)", "1"))
            }
            let symbol = Self.symbol(action.kind)
            let code: String
            switch action.kind {
            case .create: code = "32"
            case .replace: code = "33"
            case .delete: code = "31"
            case .adopt, .import: code = "36"
            default: code = "2"
            }
            lines.append("  " + paint("\(symbol) \(Self.describe(action))", code))
        }
        for endpoint in endpoints where endpoint.error != nil {
            lines.append(paint("! cannot list \(endpoint.displayName): \(endpoint.error ?? "")", "31"))
        }
        for endpoint in endpoints where !endpoint.unmanaged.isEmpty && mode != .import {
            lines.append(
                "  \(endpoint.unmanaged.count) unmanaged file(s) on \(endpoint.displayName) left untouched")
        }
        for warning in warnings { lines.append(paint("Warning: \(warning)", "33")) }
        for reason in blocked { lines.append(paint("Refusing: \(reason)", "31")) }
        lines.append("")
        lines.append(isEmpty ? paint(summaryLine, "32") : summaryLine)
        return lines.drop(while: { $0.isEmpty }).joined(separator: "\n") + "\n"
    }

    /// A pull-request comment.
    public func renderMarkdown() -> String {
        var out = "### Ferry plan\n\n**\(summaryLine)**\n\n"
        if !actions.isEmpty {
            out += "| | action | file | endpoint | detail |\n|---|---|---|---|---|\n"
            let names = Dictionary(endpoints.map { ($0.endpointID, $0.displayName) }, uniquingKeysWith: { a, _ in a })
            for action in actions {
                let detail: String
                switch action.kind {
                case .create, .replace:
                    detail = "\(action.filename ?? ""), \(Self.formatBytes(action.bytes ?? 0)), \(action.purpose ?? "")"
                        + (action.replaces.isEmpty ? "" : "; replaces \(action.replaces.joined(separator: ", "))")
                        + (action.reason == .expiring
                            ? " (expires \(action.expiresAt.map(Expiry.utcText) ?? "?"))" : "")
                case .move:
                    detail = "from \(action.previousName ?? ""), \(action.remoteID ?? ""), no upload"
                case .setPolicy:
                    detail = "deletionPolicy \(action.deletionPolicy?.rawValue ?? "")"
                default:
                    detail = [action.remoteID, action.reason.rawValue].compactMap { $0 }.joined(separator: ", ")
                }
                out += "| `\(Self.symbol(action.kind))` | \(action.kind.rawValue) | \(Self.escapeMarkdown(action.file)) | "
                    + "\(Self.escapeMarkdown(names[action.endpointID] ?? action.endpointID)) | \(Self.escapeMarkdown(detail)) |\n"
            }
            out += "\n"
        }
        for endpoint in endpoints where endpoint.error != nil {
            out += "> :warning: cannot list \(Self.escapeMarkdown(endpoint.displayName)): \(Self.escapeMarkdown(endpoint.error ?? ""))\n"
        }
        for warning in warnings { out += "> :warning: \(Self.escapeMarkdown(warning))\n" }
        for reason in blocked { out += "> :no_entry: **Refusing:** \(Self.escapeMarkdown(reason))\n" }
        return out
    }

    static func escapeMarkdown(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "|", "\\", "`", "*", "_", "[", "]", "<", ">": out += "\\\(character)"
            case "\n", "\r": out += " "
            default: out.append(character)
            }
        }
        return out
    }

    static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        return "\(rounded) \(units[unit])"
    }
}
