import FerryCore
import FerryEngine
import FerrySimulator
import FerryStore
import Foundation
import Testing

/// A first apply hashes sources while it uploads them (one read per byte) and records the digest of the bytes sent.
@Suite("Hash during upload", .serialized)
struct HashDuringUploadTests {
    /// `bytes` of varied content (several 512 KiB chunks, so a body is read in many steps).
    static func content(_ bytes: Int, seed: UInt8) -> Data {
        Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
    }

    /// Events an engine reported, collected across its tasks.
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [EngineEvent] = []
        func add(_ event: EngineEvent) { lock.withLock { events.append(event) } }
        var hashed: Int {
            lock.withLock { events.reduce(0) { if case .hashed(let r) = $1 { return $0 + r.hashed } else { return $0 } } }
        }
    }

    /// A first apply reads nothing before planning: its plan says the digests are computed during the upload, each
    /// upload records the SHA-256 the simulator computed over the bytes it received, the digest cache gets it, and
    /// the verification plan and a second apply find nothing to do without hashing anything.
    @Test func firstApplyRecordsTheDigestOfTheBytesSent() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook")  // OpenAI and Azure
        let data = Self.content(3 << 20 + 123, seed: 1)
        try data.write(to: workspace.root.appendingPathComponent("manifests/docs/handbook.md"))

        let events = Events()
        let engine = try workspace.engine(report: events.add)
        let presented = PlanBox()
        let result = try await engine.applyPass(present: { presented.set($0) })
        #expect(result.outcome == .converged, "\(result.report?.failed ?? [])")
        let plan = try #require(presented.plan)
        #expect(plan.actions.map(\.kind) == [.create, .create])
        #expect(plan.actions.allSatisfy { $0.digest == nil && $0.digestDeferred == true })
        #expect(events.hashed == 0)
        #expect(engine.stats().digests.bytesRead == 0)

        let sent = Set(workspace.openAIFiles.map(\.sha256) + workspace.azureFiles.map(\.sha256))
        #expect(sent.count == 1)
        let digest = try #require(sent.first)
        let owned = try engine.store.ownedFiles()
        #expect(owned.count == 2)
        #expect(owned.allSatisfy { $0.digest == digest })
        #expect(try engine.store.intents().isEmpty)
        #expect(try engine.store.cachedDigests()["docs/handbook.md"]?.1 == digest)

        let again = try workspace.engine(report: events.add)
        let second = try await again.applyPass()
        #expect(second.outcome == .converged)
        #expect(second.plan.isEmpty)
        #expect(events.hashed == 0)
        // A plan (and so a saved plan) still pins the digest at plan time.
        workspace.declare("other")
        let planned = try await workspace.engine().planPass()
        #expect(planned.plan.actions.allSatisfy { $0.digest != nil && $0.digestDeferred == nil })
    }

    /// A create whose first attempt fails after part of the body went out is hashed again from the start: the
    /// recorded digest is that of the bytes of the attempt that succeeded, never a mix.
    @Test func retriedCreatesAreHashedOnce() async throws {
        let workspace = try await Workspace(faults: FaultPlan(failNext: ["create": [503]]))
        defer { Task { await workspace.close() } }
        workspace.declare("manual", models: ["gpt-4o-mini"])
        try Self.content(2 << 20 + 7, seed: 2).write(to: workspace.root.appendingPathComponent("manifests/docs/manual.md"))

        let engine = try workspace.engine()
        let result = try await engine.applyPass()
        #expect(result.outcome == .converged, "\(result.report?.failed ?? [])")
        #expect(workspace.simulator.stats().requests["POST /v1/files"] == 2)
        let file = try #require(workspace.openAIFiles.first)
        #expect(workspace.openAIFiles.count == 1)
        #expect(try engine.store.ownedFiles().map(\.digest) == [file.sha256])
    }

    /// A source rewritten (same size) while its upload runs is not recorded as the declared content: the digest is
    /// `changed-during-upload`, and the next plan replaces the upload.
    @Test func sourceChangedDuringUploadIsNotRecorded() async throws {
        let workspace = try await Workspace(faults: FaultPlan(latencyMilliseconds: 20))
        defer { Task { await workspace.close() } }
        workspace.declare("notes", models: ["gpt-4o-mini"])
        let path = workspace.root.appendingPathComponent("manifests/docs/notes.md").path
        let size = 4 << 20
        try Self.content(size, seed: 3).write(to: URL(fileURLWithPath: path))

        // Once the first chunk went out, rewrite the file in place (same inode, same size, new bytes).
        let rewritten = Once()
        let engine = try workspace.engine(report: { event in
            guard case .uploadProgress(_, let sent, _) = event, sent > 0, rewritten.first(),
                let handle = FileHandle(forWritingAtPath: path)
            else { return }
            handle.write(Self.content(size, seed: 4))
            try? handle.close()
        })
        let result = try await engine.applyPass()
        #expect(result.report?.failed.isEmpty == true, "\(result.report?.failed ?? [])")
        #expect(rewritten.happened)
        #expect(try engine.store.ownedFiles().map(\.digest) == ["changed-during-upload"])
        // The verification plan hashed the source as it is now: that digest is cached, not the upload's.
        let now = try SourceDigester.sha256(file: path)
        #expect(try engine.store.cachedDigests()["docs/notes.md"]?.1 == now)
        #expect(result.remaining?.actions.map(\.kind) == [.replace])

        let next = try await workspace.plan()
        #expect(next.actions.map(\.kind) == [.replace])
        #expect(next.actions.first?.digest != nil)
    }
}

/// The plan an apply presented.
final class PlanBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Plan?
    func set(_ plan: Plan) { lock.withLock { value = plan } }
    var plan: Plan? { lock.withLock { value } }
}

/// True the first time it is asked, false after.
final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func first() -> Bool { lock.withLock { defer { done = true }; return !done } }
    var happened: Bool { lock.withLock { done } }
}
