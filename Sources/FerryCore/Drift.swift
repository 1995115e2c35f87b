/// What changed on the providers behind Ferry's back since the last run (`ferry plan --refresh-only`, `ferry drift`):
/// the state's owned files compared with fresh listings. Pure.
public struct DriftReport: Hashable, Codable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// An owned file is no longer on the provider.
        case deleted
        /// An owned file is still listed but is not what Ferry uploaded (other size or content, or failed).
        case changed
        /// A file Ferry does not own inside what Ferry manages: an object under its Cloud Storage prefix, or a file
        /// that carries Ferry's metadata.
        case foreign
    }

    public struct Finding: Hashable, Codable, Sendable {
        public var kind: Kind
        public var endpointID: String
        /// The declared file's name (deleted, changed) or the remote file name (foreign).
        public var file: String
        public var remoteID: String
        public var detail: String

        public init(kind: Kind, endpointID: String, file: String, remoteID: String, detail: String) {
            self.kind = kind
            self.endpointID = endpointID
            self.file = file
            self.remoteID = remoteID
            self.detail = detail
        }
    }

    public var findings: [Finding]
    /// Endpoints whose listing failed: drift there is unknown.
    public var unlisted: [String: String]
    /// Owned files checked against a listing.
    public var checked: Int

    public init(findings: [Finding], unlisted: [String: String], checked: Int) {
        self.findings = findings
        self.unlisted = unlisted
        self.checked = checked
    }

    public var hasDrift: Bool { !findings.isEmpty }

    /// Compares owned files with listings.
    /// - Parameters:
    ///   - kinds: each endpoint's provider kind (Cloud Storage listings cover only Ferry's prefix, so every unowned
    ///     object there is foreign).
    ///   - previous: the listings stored before this refresh. An owned file an earlier listing showed and this one
    ///     does not was deleted, however new it is.
    ///   - graceSeconds: an owned file created this recently and never listed yet may just be missing from an
    ///     eventually consistent listing.
    public static func detect(
        owned: [OwnedFile], observations: [String: EndpointObservation],
        previous: [String: EndpointObservation] = [:], kinds: [String: ProviderKind], graceSeconds: Int64
    ) -> DriftReport {
        var findings: [Finding] = []
        var unlisted: [String: String] = [:]
        var checked = 0
        let ownedByEndpoint = Dictionary(grouping: owned, by: \.endpointID)
        for endpointID in Set(ownedByEndpoint.keys).union(observations.keys).sorted() {
            guard let observation = observations[endpointID] else { continue }
            guard let listing = observation.files else {
                unlisted[endpointID] = observation.error ?? "not listed"
                continue
            }
            let byID = Dictionary(listing.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let listedBefore = Set((previous[endpointID]?.files ?? []).map(\.id))
            let records = ownedByEndpoint[endpointID] ?? []
            let ownedIDs = Set(records.map(\.remoteID))
            for record in records.sorted(by: { ($0.file, $0.remoteID) < ($1.file, $1.remoteID) }) {
                guard let remote = byID[record.remoteID] else {
                    if listedBefore.contains(record.remoteID) || record.createdAt < observation.observedAt - graceSeconds {
                        checked += 1
                        findings.append(
                            Finding(
                                kind: .deleted, endpointID: endpointID, file: record.file, remoteID: record.remoteID,
                                detail: "deleted out of band"))
                    }
                    continue
                }
                checked += 1
                if remote.bytes != record.bytes {
                    findings.append(
                        Finding(
                            kind: .changed, endpointID: endpointID, file: record.file, remoteID: record.remoteID,
                            detail: "now \(remote.bytes) bytes, uploaded as \(record.bytes)"))
                } else if let sha = remote.sha256, sha != record.digest {
                    findings.append(
                        Finding(
                            kind: .changed, endpointID: endpointID, file: record.file, remoteID: record.remoteID,
                            detail: "content replaced (SHA-256 \(sha.prefix(12))…, uploaded \(record.digest.prefix(12))…)"))
                } else if !remote.status.isUsable {
                    findings.append(
                        Finding(
                            kind: .changed, endpointID: endpointID, file: record.file, remoteID: record.remoteID,
                            detail: "now \(remote.status.rawValue)\(remote.statusDetails.map { ": \($0)" } ?? "")"))
                }
            }
            for remote in listing.sorted(by: { $0.id < $1.id }) where !ownedIDs.contains(remote.id) {
                let insidePrefix = kinds[endpointID] == .vertex || kinds[endpointID] == .bedrock
                guard insidePrefix || remote.declaredName != nil else { continue }
                findings.append(
                    Finding(
                        kind: .foreign, endpointID: endpointID, file: remote.filename, remoteID: remote.id,
                        detail: remote.declaredName.map { "carries Ferry's metadata for '\($0)' but is not in the state" }
                            ?? "not uploaded by this state, inside Ferry's prefix"))
            }
        }
        return DriftReport(findings: findings, unlisted: unlisted, checked: checked)
    }

    /// `Drift: 1 deleted, 1 changed, 0 foreign.` or `No drift: …`.
    public var summaryLine: String {
        guard hasDrift else { return "No drift: \(checked) owned file(s) are as Ferry left them." }
        let count = { (kind: Kind) in findings.filter { $0.kind == kind }.count }
        return "Drift: \(count(.deleted)) deleted, \(count(.changed)) changed, \(count(.foreign)) foreign."
    }

    /// One line per finding, then the summary.
    public func renderText(names: [String: String]) -> String {
        var lines: [String] = []
        for finding in findings {
            let symbol = finding.kind == .deleted ? "-" : finding.kind == .changed ? "~" : "?"
            lines.append(
                "\(symbol) \(finding.file) on \(names[finding.endpointID] ?? finding.endpointID): \(finding.detail) (\(finding.remoteID))")
        }
        for (endpoint, error) in unlisted.sorted(by: { $0.key < $1.key }) {
            lines.append("! cannot list \(names[endpoint] ?? endpoint): \(error)")
        }
        lines.append(summaryLine)
        return lines.joined(separator: "\n") + "\n"
    }

    /// A pull-request or issue comment.
    public func renderMarkdown(names: [String: String]) -> String {
        var out = "### Ferry drift\n\n**\(summaryLine)**\n\n"
        if !findings.isEmpty {
            out += "| | file | endpoint | remote id | detail |\n|---|---|---|---|---|\n"
            for finding in findings {
                out += "| \(finding.kind.rawValue) | `\(finding.file)` | \(names[finding.endpointID] ?? finding.endpointID) | `\(finding.remoteID)` | \(finding.detail.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")) |\n"
            }
        }
        for (endpoint, error) in unlisted.sorted(by: { $0.key < $1.key }) {
            out += "\n> cannot list \(names[endpoint] ?? endpoint): \(error)\n"
        }
        return out
    }
}
