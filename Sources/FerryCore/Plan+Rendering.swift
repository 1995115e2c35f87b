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
            return "create \(action.file) (\(action.filename ?? ""), \(formatBytes(action.bytes ?? 0)), \(action.purpose ?? "")"
                + (action.digestDeferred == true ? "; SHA-256 computed during upload" : "") + ")"
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
            // Counted by index: `filter` would copy each status it is handed.
            var unknown = 0
            for index in placements.indices where placements[index].state == .unknown { unknown += 1 }
            if unknown > 0 {
                return "No changes planned, but \(unknown) of \(total) placements could not be checked."
            }
            let stores = vectorStores?.count ?? 0
            return "No changes. \(total) placement\(total == 1 ? "" : "s")"
                + (stores > 0 ? " and \(stores) vector store placement\(stores == 1 ? "" : "s")" : "") + " in sync."
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
        if let storeActions = vectorStoreActions, !storeActions.isEmpty {
            let attaches = storeActions.filter { $0.kind == .attach }.count
            let detaches = storeActions.filter { $0.kind == .detach }.count
            let stores = storeActions.count - attaches - detaches
            var storeParts: [String] = []
            if stores > 0 { storeParts.append("\(stores) vector store change\(stores == 1 ? "" : "s")") }
            if attaches > 0 { storeParts.append("\(attaches) to attach") }
            if detaches > 0 { storeParts.append("\(detaches) to detach") }
            parts += storeParts
        }
        return "Plan: " + parts.joined(separator: ", ") + "."
    }

    static func symbol(_ kind: VectorStoreAction.Kind) -> String {
        switch kind {
        case .createStore, .attach: return "+"
        case .updateStore: return "~"
        case .detach, .deleteStore: return "-"
        }
    }

    static func describe(_ action: VectorStoreAction) -> String {
        let store = "vector store \(action.store)"
        switch action.kind {
        case .createStore:
            var settings = ["name \"\(action.displayName ?? action.store)\""]
            if let days = action.expiresAfterDays { settings.append("expires after \(days) day(s) unused") }
            return "create \(store) (\(settings.joined(separator: ", ")))"
        case .updateStore:
            var settings = ["name \"\(action.displayName ?? action.store)\""]
            settings.append(action.expiresAfterDays.map { "expires after \($0) day(s) unused" } ?? "never expires")
            return "update \(store) \(action.storeID ?? "") (\(settings.joined(separator: ", ")), metadata)"
        case .attach:
            let what = action.fileID ?? "its new upload"
            let why = action.reason == .replaced ? ", before the old file is detached" : ""
            return "attach \(action.file ?? "") (\(what)) to \(store) (chunking \(action.chunking?.summary ?? "auto")\(why))"
        case .detach:
            let who = action.file.map { "\($0) " } ?? ""
            let why: String
            switch action.reason {
            case .replaced: why = "replaced by its new content, once that is attached"
            default: why = "no longer declared in the store; the file itself is kept"
            }
            return "detach \(who)\(action.fileID ?? "") from \(store) (\(why))"
        case .deleteStore:
            let why = action.reason == .duplicate ? "a duplicate of the store Ferry keeps" : "no longer declared"
            return "delete \(store) \(action.storeID ?? "") (\(why); its files are kept)"
        }
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
        var storeEndpoint: String?
        for action in vectorStoreActions ?? [] {
            if action.endpointID != storeEndpoint {
                storeEndpoint = action.endpointID
                lines.append("")
                lines.append(paint("# \(names[action.endpointID] ?? action.endpointID): vector stores", "1"))
            }
            let code: String
            switch action.kind {
            case .createStore, .attach: code = "32"
            case .updateStore: code = "33"
            case .detach, .deleteStore: code = "31"
            }
            lines.append("  " + paint("\(Self.symbol(action.kind)) \(Self.describe(action))", code))
        }
        for status in vectorStores ?? [] where status.state == .failed || status.state == .unknown {
            lines.append(
                paint("! vector store \(status.store) on \(names[status.endpointID] ?? status.endpointID): \(status.detail ?? status.state.rawValue)", "31"))
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
                        + (action.digestDeferred == true ? "; SHA-256 computed during upload" : "")
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
        if let storeActions = vectorStoreActions, !storeActions.isEmpty {
            let names = Dictionary(endpoints.map { ($0.endpointID, $0.displayName) }, uniquingKeysWith: { a, _ in a })
            out += "| | vector store action | store | endpoint | detail |\n|---|---|---|---|---|\n"
            for action in storeActions {
                out += "| `\(Self.symbol(action.kind))` | \(action.kind.rawValue) | \(Self.escapeMarkdown(action.store)) | "
                    + "\(Self.escapeMarkdown(names[action.endpointID] ?? action.endpointID)) | "
                    + "\(Self.escapeMarkdown(Self.describe(action))) |\n"
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
