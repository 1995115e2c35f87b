import FerryCore
import FerryStore

/// Vector stores in the status view: `/api/v1/vector-stores` and the dashboard's section, from the latest plan's
/// statuses (stored apart from the plan, so neither reads the whole plan).
extension StatusView {
    func vectorStoresAPI() async throws -> Payload {
        let statuses = try await read { try $0.vectorStoreStatuses() }
        return .json(.object([("vectorStores", .array(statuses.map(vectorStoreJSON)))]))
    }

    func vectorStoreJSON(_ status: VectorStoreStatus) -> JSONValue {
        .object([
            ("store", .string(status.store)),
            ("endpointID", .string(status.endpointID)),
            ("storeID", .string(status.storeID)),
            ("state", .string(status.state.rawValue)),
            ("providerStatus", .string(status.providerStatus)),
            ("usageBytes", .int(status.usageBytes)),
            ("expiresAfterDays", .int(status.expiresAfterDays)),
            ("expiresAt", .int(status.expiresAt)),
            ("lastActiveAt", .int(status.lastActiveAt)),
            ("detail", .string(redact(status.detail))),
            (
                "files",
                .array(
                    status.attachments.map { attachment in
                        .object([
                            ("file", .string(attachment.file)),
                            ("fileID", .string(attachment.fileID)),
                            ("status", .string(attachment.status?.rawValue)),
                            ("lastError", .string(redact(attachment.lastError))),
                        ])
                    })
            ),
        ])
    }
}

extension DashboardPage {
    /// One row per store and endpoint: state, provider status, files processed, expiry (inactivity: it moves with use).
    func vectorStores() -> String {
        guard !data.vectorStores.isEmpty else { return "" }
        var out = "<section>\n<h2>Vector stores <small>(\(data.vectorStores.count))</small></h2>\n"
        out += """
            <div class="scroll"><table>
            <thead><tr><th>Store</th><th>Endpoint</th><th>State</th><th class="num">Files ready</th>
            <th>Expires</th><th>Detail</th></tr></thead>
            <tbody>

            """
        for status in data.vectorStores {
            let ready = status.attachments.filter { $0.status == .completed }.count
            out += "<tr>"
            out +=
                "<td data-label=\"Store\"><strong>\(html(status.store))</strong>"
                + (status.storeID.map { "<br><code class=\"id\">\(html($0))</code>" } ?? "") + "</td>"
            out += "<td data-label=\"Endpoint\">\(html(endpointLabel(status.endpointID)))</td>"
            out += "<td data-label=\"State\">\(storeBadge(status.state.rawValue))"
                + (status.providerStatus.map { " <small>\(html($0))</small>" } ?? "") + "</td>"
            out += "<td data-label=\"Files ready\" class=\"num\">\(ready) / \(status.attachments.count)</td>"
            let expiry: String
            if let at = status.expiresAt {
                expiry = "<time>\(html(TimeText.utc(Double(at))))</time> <small>(\(status.expiresAfterDays ?? 0) d unused)</small>"
            } else {
                expiry = "never"
            }
            out += "<td data-label=\"Expires\">\(expiry)</td>"
            out += "<td data-label=\"Detail\">\(redact(status.detail).map { "<span class=\"error\">\(html($0))</span>" } ?? "")</td>"
            out += "</tr>\n"
        }
        return out + "</tbody></table></div>\n</section>\n"
    }

    private func endpointLabel(_ id: String) -> String {
        data.endpoints.first { $0.id == id }?.displayName ?? id
    }

    private func storeBadge(_ state: String) -> String {
        let css = state == "failed" ? "error" : state
        return "<span class=\"badge \(html(css))\">\(html(state))</span>"
    }
}
