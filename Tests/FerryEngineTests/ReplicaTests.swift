import FerryCore
import FerrySimulator
import FerryStore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two `ferry reconcile --interval --listen` replicas over one PostgreSQL state (issue: state that survives the
/// runner): one writes at a time, both serve the status view, and killing the writer mid-apply loses nothing and
/// duplicates nothing.
@Suite("Replicas on PostgreSQL", .serialized)
struct ReplicaTests {
    /// SIGKILL the replica that holds the lease while it uploads; the other takes over within the lease TTL and the
    /// provider ends with exactly one file per placement, no open intent, and the survivor still serving.
    @Test(.enabled(if: StateBackend.all.contains(.postgres)))
    func writerKilledMidApplyIsTakenOver() async throws {
        // Every provider request takes 250 ms, so a pass of eight uploads is long enough to be killed inside.
        let workspace = try await Workspace(faults: FaultPlan(latencyMilliseconds: 250))
        defer { Task { await workspace.close() } }
        let names = (1...8).map { "doc-\($0)" }
        for name in names { workspace.declare(name, models: ["gpt-4o-mini"]) }
        let url = try StateBackend.postgresURL()
        let name = StateBackend.freshWorkspace()
        let arguments = [
            "reconcile", "--interval", "1s", "--listen", "127.0.0.1:0", "--parallelism", "2", "--state", url,
            "--workspace", name, "--manifests", workspace.root.appendingPathComponent("manifests").path,
        ]
        let replicas = [
            try BackgroundFerry(arguments, in: workspace, plain: true),
            try BackgroundFerry(arguments, in: workspace, plain: true),
        ]
        defer { for replica in replicas { Task { await replica.stop() } } }
        let views = [try await replicas[0].statusURL(), try await replicas[1].statusURL()]
        let store = try StateStores.open(url, workspace: name, readOnly: false)

        // Wait for a replica to hold the lease and have stored part of the files, then kill it.
        var victim: BackgroundFerry?
        let deadline = ContinuousClock.now + .seconds(60)
        while victim == nil, ContinuousClock.now < deadline {
            if let holder = try store.leaseHolder(), (1..<names.count).contains(workspace.openAIFiles.count) {
                victim = replicas.first { $0.process.processIdentifier == holder.pid }
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let killed = try #require(victim, "no replica was seen holding the lease mid-apply")
        let survivor = try #require(replicas.first { $0 !== killed })
        for view in views { #expect(try await fetch(view + "/api/v1/summary").status == 200) }
        kill(killed.process.processIdentifier, SIGKILL)
        let killedAt = ContinuousClock.now
        let uploadedBeforeKill = workspace.openAIFiles.count

        // The survivor converges: every placement owned once. An upload the kill cut off before it reached the
        // provider leaves its write-ahead intent open until the intent's window expires (minutes: the upload could
        // still land); such an intent may remain, but only for a placement the survivor already owns.
        var converged = false
        var lingering: [CreateIntent] = []
        while !converged, ContinuousClock.now < killedAt + .seconds(45) {
            let (owned, intents) = try store.ownedFilesAndIntents()
            let ownedPlacements = Set(owned.map { "\($0.endpointID) \($0.file)" })
            lingering = intents
            converged =
                owned.count == names.count && workspace.openAIFiles.count == names.count
                && intents.allSatisfy { ownedPlacements.contains("\($0.endpointID) \($0.file)") }
            if !converged { try await Task.sleep(for: .milliseconds(100)) }
        }
        let takeover = ContinuousClock.now - killedAt
        #expect(converged, "not converged \(takeover) after the kill:\n\(survivor.stderr.suffix(3000))")
        // Within the lease's 30-second TTL (the dead holder on this host is noticed at once).
        #expect(takeover < .seconds(30))
        let files = workspace.openAIFiles
        #expect(files.count == names.count)
        #expect(Set(files.map(\.filename)) == Set(names.map { "\($0).md" }))
        #expect(Set(try store.ownedFiles().map(\.remoteID)) == Set(files.map(\.id)))
        // Exactly one writer at a time: whichever replica did not hold the lease stood by.
        #expect((replicas[0].stderr + replicas[1].stderr).contains("Standing by: "))
        let ready = try await fetch(views[replicas.firstIndex { $0 === survivor }!] + "/readyz")
        #expect(ready.status == 200)
        // At most the killed writer's in-flight uploads (--parallelism 2) are left pending, and none the survivor's.
        #expect(lingering.count <= 2)
        print(
            "replica takeover: \(uploadedBeforeKill) of \(names.count) uploaded at the kill; converged \(takeover) later;"
                + " \(lingering.count) cut-off upload(s) pending expiry")
        #expect(await survivor.stop() == 0)
    }
}
