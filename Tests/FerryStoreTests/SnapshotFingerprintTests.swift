import FerryCore
import Testing

@testable import FerryStore

/// The snapshot fingerprint decides whether a converged run may skip rewriting the status snapshot, so every field
/// the snapshot stores must change it. Placements are fingerprinted field by field (not through `Encodable`): these
/// tests keep that list complete.
@Suite("Snapshot fingerprint")
struct SnapshotFingerprintTests {
    static let status = PlacementStatus(
        file: "kb/a.md", endpointID: "openai|https://api.openai.com/v1|env:OPENAI_API_KEY", models: ["gpt-4o"],
        state: .outOfSync, remoteID: "file-1", pendingAction: .replace, detail: "content changed")

    static func digest(_ placements: [PlacementStatus], warnings: [String] = []) -> String? {
        var fingerprint = SnapshotFingerprint()
        let plan = Plan(
            actions: [], placements: placements, endpoints: [], blocked: [], warnings: warnings,
            desiredFingerprint: "d")
        guard fingerprint.add(plan: plan) else { return nil }
        return fingerprint.hexDigest()
    }

    @Test("covers every stored property of PlacementStatus")
    func coversEveryField() {
        let labels = Mirror(reflecting: Self.status).children.compactMap(\.label)
        #expect(
            labels.sorted() == SnapshotFingerprint.placementFields.sorted(),
            "PlacementStatus changed: add the new field to SnapshotFingerprint.add(placements:) and placementFields")
    }

    @Test("each field of a placement changes the fingerprint")
    func eachFieldCounts() throws {
        let base = try #require(Self.digest([Self.status]))
        #expect(Self.digest([Self.status]) == base)
        var variants: [String: PlacementStatus] = [:]
        var changed = Self.status
        changed.file = "kb/b.md"
        variants["file"] = changed
        changed = Self.status
        changed.unifiedID = "file-ferry-other"
        variants["unifiedID"] = changed
        changed = Self.status
        changed.endpointID = "azure|https://x.openai.azure.com|env:AZURE_API_KEY"
        variants["endpointID"] = changed
        changed = Self.status
        changed.models = ["gpt-4o", "gpt-4o-mini"]
        variants["models"] = changed
        changed = Self.status
        changed.state = .inSync
        variants["state"] = changed
        changed = Self.status
        changed.remoteID = nil
        variants["remoteID"] = changed
        changed = Self.status
        changed.pendingAction = .create
        variants["pendingAction"] = changed
        changed = Self.status
        changed.detail = ""
        variants["detail"] = changed
        #expect(Set(variants.keys) == Set(SnapshotFingerprint.placementFields))
        var seen: Set<String> = [base]
        for (field, variant) in variants.sorted(by: { $0.key < $1.key }) {
            let digest = try #require(Self.digest([variant]))
            #expect(seen.insert(digest).inserted, "changing \(field) did not change the fingerprint")
        }
    }

    @Test("strings are length-prefixed, lists counted, and the rest of the plan counts too")
    func unambiguous() {
        var split = Self.status
        split.models = ["a", "b"]
        var joined = Self.status
        joined.models = ["ab"]
        #expect(Self.digest([split]) != Self.digest([joined]))
        var shifted = Self.status
        shifted.file = "kb/a.mdx"
        shifted.unifiedID = String(Self.status.unifiedID.dropFirst())
        #expect(Self.digest([shifted]) != Self.digest([Self.status]))
        #expect(Self.digest([Self.status, Self.status]) != Self.digest([Self.status]))
        #expect(Self.digest([]) != Self.digest([Self.status]))
        #expect(Self.digest([Self.status], warnings: ["w"]) != Self.digest([Self.status]))
    }

    /// The fingerprint is hashed a block at a time as it is built: a change anywhere in a stream of many blocks (the
    /// first placement, one in the middle, the last) still changes it, and asking twice gives the same answer.
    @Test("streams through many blocks without losing any")
    func manyBlocks() {
        let placements = (0..<5_000).map { index in
            PlacementStatus(
                file: "kb/\(index).md", endpointID: Self.status.endpointID, models: ["gpt-4o"], state: .inSync,
                remoteID: "file-\(index)")
        }
        let base = Self.digest(placements)
        #expect(base != nil)
        for index in [0, 2_500, 4_999] {
            var changed = placements
            changed[index].remoteID = "file-x"
            #expect(Self.digest(changed) != base, "a change to placement \(index) was lost")
        }
        var fingerprint = SnapshotFingerprint()
        _ = fingerprint.add(
            plan: Plan(actions: [], placements: placements, endpoints: [], blocked: [], warnings: [], desiredFingerprint: "d"))
        #expect(fingerprint.hexDigest() == fingerprint.hexDigest())
        #expect(fingerprint.hexDigest() == base)
    }
}

/// The byte stream is only compared with itself (a snapshot's previous fingerprint), but it may not change by
/// accident: a change that is not a version bump would make every stored snapshot look different once, and a
/// faster writer must produce the same bytes as the one it replaces. A change here goes with a new
/// `SnapshotFingerprint.version`.
@Suite("Snapshot fingerprint stream")
struct SnapshotFingerprintStreamTests {
    @Test("rows, placements and listings give the recorded digest")
    func recordedDigest() throws {
        var fingerprint = SnapshotFingerprint()
        let placements = (0..<300).map { index in
            PlacementStatus(
                file: "kb/\(index).md", endpointID: SnapshotFingerprintTests.status.endpointID,
                models: index % 3 == 0 ? [] : ["gpt-4o", "m\(index)"], state: index % 2 == 0 ? .inSync : .outOfSync,
                remoteID: index % 5 == 0 ? nil : "file-\(index)", pendingAction: index % 7 == 0 ? .replace : nil,
                detail: index % 4 == 0 ? "détail \(index)" : "")
        }
        let plan = Plan(
            actions: [], placements: placements, endpoints: [], blocked: [], warnings: ["w"], desiredFingerprint: "d")
        let usable = fingerprint.add(plan: plan)
        #expect(usable)
        for index in 0..<200 {
            let file = DesiredFile(
                name: "kb/\(index).md", sourcePath: "docs/\(index).md", bytes: Int64(index * 1_000),
                purpose: "assistants", filename: "\(index).md",
                targetModels: ["gpt-4o"], labels: index % 2 == 0 ? [:] : ["team": "t\(index)"],
                deletionPolicy: index % 3 == 0 ? .retain : .delete, declaredBy: "manifests/kb.yaml", origin: "kb")
            fingerprint.add(
                row: SnapshotFingerprint.desiredRow(
                    file, digest: index % 2 == 0 ? "sha256:\(index)" : "", models: "[\"gpt-4o\"]",
                    labels: index % 2 == 0 ? "{}" : "{\"team\":\"t\(index)\"}"))
        }
        var listing: [RemoteFile] = []
        for index in 0..<250 {
            let status: RemoteFileStatus = index % 2 == 0 ? .processed : .uploaded
            let details: String? = index % 9 == 0 ? "why" : nil
            let expires: Int64? = index % 11 == 0 ? Int64(index) : nil
            listing.append(
                RemoteFile(
                    id: "file-\(index)", filename: "\(index).md", bytes: Int64(index), purpose: "assistants",
                    createdAt: Int64(1_700_000_000 + index), status: status, statusDetails: details, expiresAt: expires))
        }
        fingerprint.add(listing: listing)
        #expect(fingerprint.hexDigest() == "sha256:aaa1229480f56a4883d85a729b77050366cbef1e285e390709bdbc02bf54661f")
    }
}
