import FerryCore
import FerryStore
import FerryTestSupport
import Foundation
import GRDB
import Testing

func temporaryDatabasePath() -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-store-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("state.sqlite").path
}

let endpoint = Endpoint(kind: .openai, baseURL: "http://127.0.0.1:1/v1", credential: .environment("K"))

/// Where a (native, heap) string's bytes live: equal for two strings that share one storage.
func storage(of text: String) -> UInt? {
    var text = text
    return text.withUTF8 { UInt(bitPattern: $0.baseAddress) }
}

/// A desired state declaring each of `names` (source `docs/<name>`, file name `doc.md`, purpose assistants) for one
/// model on `endpoint`, and the digests of their sources (all `digest`).
func declaredDocuments(_ names: [String], on endpoint: Endpoint, digest: String) -> (DesiredState, [String: String]) {
    let model = ModelDefinition(name: "m", model: "m", provider: "openai", endpoint: endpoint, origin: "")
    let desired = DesiredState(
        files: names.map { name in
            DesiredFile(
                name: name, sourcePath: "docs/" + name, bytes: 3, purpose: "assistants", filename: "doc.md",
                targetModels: ["m"])
        }, models: [model])
    return (desired, Dictionary(uniqueKeysWithValues: names.map { ("docs/" + $0, digest) }))
}

@Suite("State store")
struct StateStoreTests {
    /// A new file gets the v1 schema, WAL mode and Ferry's application id; it passes integrity_check.
    @Test func migratesNewDatabase() throws {
        let path = temporaryDatabasePath()
        let store = try SQLiteStateStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7"])
        #expect(try store.integrityCheck() == "ok")
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        #expect(try queue.read { try Int32.fetchOne($0, sql: "PRAGMA application_id") } == SQLiteStateStore.applicationID)
        // Reopening is idempotent.
        _ = try SQLiteStateStore(path: path)
    }

    /// A file that is not SQLite, or a SQLite database of another program, is refused with a clear message.
    @Test func refusesForeignFiles() throws {
        let garbage = temporaryDatabasePath()
        try Data("this is not a database, just text that is long enough to have a header".utf8).write(
            to: URL(fileURLWithPath: garbage))
        #expect {
            try SQLiteStateStore(path: garbage)
        } throws: { error in
            (error as? StateStoreError)?.code == .cannotOpen
                && "\(error)".contains("cannot open state database") && "\(error)".contains("--state")
        }
        let foreign = temporaryDatabasePath()
        let queue = try DatabaseQueue(path: foreign)
        try queue.write { try $0.execute(sql: "CREATE TABLE customers (id INTEGER)") }
        #expect {
            try SQLiteStateStore(path: foreign)
        } throws: { error in
            (error as? StateStoreError)?.code == .foreignDatabase
                && "\(error)" == "\(foreign) is a SQLite database that does not belong to Ferry; pass --state with another path"
        }
        // And nothing was added to it.
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") } == 1)
    }

    /// Read-only opening never creates a file.
    @Test func readOnlyNeedsExistingDatabase() {
        let path = temporaryDatabasePath()
        #expect {
            try SQLiteStateStore(path: path, readOnly: true)
        } throws: { error in
            (error as? StateStoreError)?.code == .missingDatabase
                && "\(error)" == "state database \(path) does not exist; run 'ferry apply' or 'ferry reconcile' first"
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// Read-only opening of a database no migration has run on says so.
    @Test func readOnlyRefusesAnEmptyDatabase() throws {
        let path = temporaryDatabasePath()
        try Data().write(to: URL(fileURLWithPath: path))
        #expect {
            try SQLiteStateStore(path: path, readOnly: true)
        } throws: { error in
            (error as? StateStoreError)?.code == .emptyDatabase
                && "\(error)" == "state database \(path) is empty; run 'ferry apply' first"
        }
    }

    /// A database migrated by a newer Ferry is refused, naming the migrations this one does not know.
    @Test func refusesADatabaseFromANewerFerry() throws {
        let path = temporaryDatabasePath()
        _ = try SQLiteStateStore(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        try queue.close()
        #expect {
            try SQLiteStateStore(path: path)
        } throws: { error in
            (error as? StateStoreError)?.code == .newerVersion
                && "\(error)" == "state database \(path) was written by a newer Ferry (migrations [\"v99\"]); upgrade Ferry"
        }
    }

    /// An intent and its answer: recording the owned file closes the intent in the same transaction.
    @Test(arguments: StateBackend.all) func intentLifecycle(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let id = try store.beginCreate(
            endpointID: endpoint.id, file: "a", digest: "d", bytes: 3, filename: "a.md", purpose: "assistants",
            deletionPolicy: .retain, startedAt: 100)
        #expect(try store.intents().map(\.id) == [id])
        #expect(try store.intents().first?.deletionPolicy == .retain)
        let owned = OwnedFile(
            endpointID: endpoint.id, remoteID: "file-1", file: "a", digest: "d", bytes: 3, filename: "a.md",
            purpose: "assistants", createdAt: 101, deletionPolicy: .retain)
        try store.recordPlacementError(file: "a", endpointID: endpoint.id, action: "create", message: "m", at: 101)
        try store.recordOwned(owned, closingIntent: id, at: 102)
        #expect(try store.intents().isEmpty)
        #expect(try store.placementErrors().isEmpty)
        #expect(try store.ownedFiles() == [owned])
        try store.removeOwned(endpointID: endpoint.id, remoteID: "file-1")
        #expect(try store.ownedFiles().isEmpty)
    }

    /// A listing replaces the previous one; a failed listing keeps the last good rows and records the error.
    /// A rename re-keys the owned file and remembers the retired unified id; renaming back forgets it. Runs keep
    /// the revision they started with.
    @Test(arguments: StateBackend.all) func renamesAndRevisions(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let owned = OwnedFile(
            endpointID: endpoint.id, remoteID: "file-1", file: "old", digest: "d", bytes: 3, filename: "a.md",
            purpose: "assistants", createdAt: 101, deletionPolicy: .delete)
        try store.recordOwned(owned, closingIntent: nil, at: 102)
        let newID = UnifiedID.make(for: "new")
        try store.moveOwned(endpointID: endpoint.id, remoteID: "file-1", to: "new", unifiedID: newID, at: 200)
        #expect(try store.ownedFiles().map(\.file) == ["new"])
        #expect(try store.ownedFiles().map(\.unifiedID) == [newID])
        #expect(try store.ownedFiles().map(\.digest) == ["d"])
        let moved = try #require(try store.movedFile(unifiedID: owned.unifiedID))
        #expect(moved == MovedFile(oldUnifiedID: owned.unifiedID, oldName: "old", newName: "new", newUnifiedID: newID, movedAt: 200))
        #expect(try store.movedFile(unifiedID: newID) == nil)
        try store.moveOwned(endpointID: endpoint.id, remoteID: "file-1", to: "old", unifiedID: owned.unifiedID, at: 300)
        #expect(try store.movedFile(unifiedID: owned.unifiedID) == nil)
        #expect(try store.movedFile(unifiedID: newID)?.newName == "old")

        let run = try store.startRun(command: "apply", revision: "0123abcd", at: 1)
        try store.finishRun(run, outcome: "converged", summary: "s", applied: 0, failed: 0, requests: 0, at: 2)
        _ = try store.startRun(command: "plan", at: 3)
        #expect(try store.recentRuns(limit: 2).map(\.revision) == [nil, "0123abcd"])
    }

    @Test(arguments: StateBackend.all) func observations(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let first = [RemoteFile(id: "file-1", filename: "a", bytes: 1, purpose: "assistants", createdAt: 5)]
        try store.recordObservation(EndpointObservation(endpointID: endpoint.id, files: first, observedAt: 10), endpoint: endpoint, pages: 1)
        let second = [RemoteFile(id: "file-2", filename: "b", bytes: 2, purpose: "batch", createdAt: 6, status: .error)]
        try store.recordObservation(EndpointObservation(endpointID: endpoint.id, files: second, observedAt: 20), endpoint: endpoint, pages: 1)
        try store.recordObservation(
            EndpointObservation(endpointID: endpoint.id, files: nil, error: "HTTP 503", observedAt: 30), endpoint: endpoint, pages: 0)
        let stored = try store.observations()[endpoint.id]
        #expect(stored?.files == second)
        #expect(stored?.observedAt == 20)
    }

    /// A listing stored again only writes what differs: unchanged, changed, gone and new rows all end up as listed.
    @Test(arguments: StateBackend.all) func observationsDiffed(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let a = RemoteFile(id: "file-a", filename: "a", bytes: 1, purpose: "assistants", createdAt: 5)
        let b = RemoteFile(id: "file-b", filename: "b", bytes: 2, purpose: "assistants", createdAt: 6)
        let c = RemoteFile(id: "file-c", filename: "c", bytes: 3, purpose: "assistants", createdAt: 7)
        try store.recordObservation(EndpointObservation(endpointID: endpoint.id, files: [a, b], observedAt: 10), endpoint: endpoint, pages: 1)
        try store.recordObservation(EndpointObservation(endpointID: endpoint.id, files: [a, b], observedAt: 11), endpoint: endpoint, pages: 1)
        #expect(try store.observations()[endpoint.id]?.files == [a, b])
        var processed = b
        processed.status = .error
        processed.statusDetails = "bad line 3"
        try store.recordObservation(EndpointObservation(endpointID: endpoint.id, files: [c, processed], observedAt: 12), endpoint: endpoint, pages: 1)
        #expect(try store.observations()[endpoint.id]?.files == [processed, c])
        // The same id twice is refused, as before, and the last good listing stays.
        #expect(throws: (any Error).self) {
            try store.recordObservation(EndpointObservation(endpointID: endpoint.id, files: [a, a], observedAt: 13), endpoint: endpoint, pages: 1)
        }
        #expect(try store.observations()[endpoint.id]?.files == [processed, c])
    }

    /// A listing equal to the stored one (its fingerprint and row count) is not compared row by row, yet the stored
    /// rows always end up as listed: after `removeOwned` took one out, and after a writer that knows nothing of the
    /// fingerprint (an older Ferry) removed one behind its back.
    @Test func listingShortcut() throws {
        let path = temporaryDatabasePath()
        let store = try SQLiteStateStore(path: path)
        let a = RemoteFile(id: "file-a", filename: "a", bytes: 1, purpose: "assistants", createdAt: 5)
        let b = RemoteFile(id: "file-b", filename: "b", bytes: 2, purpose: "assistants", createdAt: 6)
        func record(_ files: [RemoteFile], at time: Int64) throws {
            try store.recordObservation(
                EndpointObservation(endpointID: endpoint.id, files: files, observedAt: time), endpoint: endpoint, pages: 1)
        }
        try record([a, b], at: 10)
        try record([a, b], at: 11)
        #expect(try store.observations()[endpoint.id]?.files == [a, b])
        #expect(try store.observations()[endpoint.id]?.observedAt == 11)
        try store.removeOwned(endpointID: endpoint.id, remoteID: a.id)
        #expect(try store.observations()[endpoint.id]?.files == [b])
        try record([a, b], at: 12)
        #expect(try store.observations()[endpoint.id]?.files == [a, b])
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "DELETE FROM observed_files WHERE remote_id = 'file-b'") }
        try record([a, b], at: 13)
        #expect(try store.observations()[endpoint.id]?.files == [a, b])
        var changed = b
        changed.status = .error
        try record([a, changed], at: 14)
        #expect(try store.observations()[endpoint.id]?.files == [a, changed])
    }

    /// An unchanged snapshot only moves its time; any change (a placement's state, a desired file's digest) is
    /// written; rows a fingerprint-unaware writer changed are not trusted to the fingerprint.
    @Test func snapshotShortcut() throws {
        let path = temporaryDatabasePath()
        let store = try SQLiteStateStore(path: path)
        let file = DesiredFile(name: "kb", sourcePath: "kb.md", bytes: 3, purpose: "assistants", filename: "kb.md", targetModels: ["m"])
        let desired = DesiredState(files: [file], models: [])
        func plan(_ state: PlacementStatus.State, remote: String?) -> Plan {
            Plan(
                actions: [], placements: [PlacementStatus(file: "kb", endpointID: endpoint.id, models: ["m"], state: state, remoteID: remote)],
                endpoints: [], blocked: [], warnings: [], desiredFingerprint: "d")
        }
        let queue = try DatabaseQueue(path: path)
        func placementState() throws -> String? {
            try queue.read { try String.fetchOne($0, sql: "SELECT state FROM placements") }
        }
        func digest() throws -> String? {
            try queue.read { try String.fetchOne($0, sql: "SELECT digest FROM desired_files") }
        }
        try store.saveSnapshot(desired: desired, digests: ["kb.md": "one"], plan: plan(.outOfSync, remote: nil), at: 1_700_000_001)
        #expect(try placementState() == "out-of-sync")
        let firstTime = try #require(try store.latestPlan()?.at)
        func planRow() throws -> Row? {
            try queue.read { try Row.fetchOne($0, sql: "SELECT json, updated_at FROM snapshots WHERE name = 'plan'") }
        }
        let written = try #require(try planRow())
        try store.saveSnapshot(desired: desired, digests: ["kb.md": "one"], plan: plan(.outOfSync, remote: nil), at: 1_700_000_002)
        // Unchanged: the time moves (what every reader sees), the stored plan row is left as it was.
        #expect(try store.latestPlan()!.at > firstTime)
        #expect(try store.latestPlan()!.at == 1_700_000_002)
        #expect(try store.latestPlanJSON()?.at == 1_700_000_002)
        #expect(try store.snapshotUpdatedAt() == 1_700_000_002)
        #expect(try planRow() == written)
        try store.saveSnapshot(desired: desired, digests: ["kb.md": "one"], plan: plan(.inSync, remote: "file-1"), at: 1_700_000_003)
        #expect(try placementState() == "in-sync")
        #expect(try store.snapshotUpdatedAt() == 1_700_000_003)
        #expect(try store.latestPlan()?.plan.placements.first?.remoteID == "file-1")
        try store.saveSnapshot(desired: desired, digests: ["kb.md": "two"], plan: plan(.inSync, remote: "file-1"), at: 1_700_000_004)
        #expect(try digest() == "two")
        // Another writer rewrites the plan and rows without the fingerprint: the next save does not trust it.
        try queue.write { db in
            try db.execute(sql: "UPDATE placements SET state = 'unknown'")
            try db.execute(sql: "UPDATE snapshots SET updated_at = updated_at + 1 WHERE name = 'plan'")
        }
        try store.saveSnapshot(desired: desired, digests: ["kb.md": "two"], plan: plan(.inSync, remote: "file-1"), at: 1_700_000_005)
        #expect(try placementState() == "in-sync")
    }

    /// The lease: one holder at a time; renewals by the holder only; expiry frees it; release frees it.
    @Test(arguments: StateBackend.all) func lease(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        #expect(try store.acquireLease(holder: "a", ttl: 30, now: 1_000) == nil)
        #expect(try store.acquireLease(holder: "b", ttl: 30, now: 1_010)?.holder == "a")
        #expect(try store.renewLease(holder: "b", ttl: 30, now: 1_010) == false)
        #expect(try store.renewLease(holder: "a", ttl: 30, now: 1_020) == true)
        #expect(try store.acquireLease(holder: "b", ttl: 30, now: 1_040)?.holder == "a")  // renewed until 1050
        #expect(try store.acquireLease(holder: "b", ttl: 30, now: 1_051) == nil)  // a died: expired
        #expect(try store.renewLease(holder: "a", ttl: 30, now: 1_052) == false)  // a lost it
        try store.releaseLease(holder: "b")
        #expect(try store.leaseHolder() == nil)
        // Forced release (`ferry state unlock`) removes whoever holds it and says who that was.
        #expect(try store.acquireLease(holder: "host-a pid 7 #1 apply", ttl: 30, now: 2_000) == nil)
        let removed = try store.forceReleaseLease()
        #expect(removed?.holder == "host-a pid 7 #1 apply")
        #expect(removed?.host == "host-a" && removed?.pid == 7 && removed?.command == "apply")
        #expect(try store.leaseHolder() == nil)
    }

    /// Two stores on one file (two processes) cannot both take the lease.
    @Test(arguments: StateBackend.all) func leaseAcrossConnections(_ backend: StateBackend) throws {
        let (_, location, workspace) = try backend.makeStore()
        let one = try StateStores.open(location, workspace: workspace)
        let two = try StateStores.open(location, workspace: workspace)
        #expect(try one.acquireLease(holder: "one", ttl: 30, now: 1) == nil)
        #expect(try two.acquireLease(holder: "two", ttl: 30, now: 2)?.holder == "one")
    }

    /// Digests are cached by path with their stamp.
    @Test(arguments: StateBackend.all) func digestCache(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let stamp = FileStamp(size: 3, mtimeNanoseconds: 42, inode: 7)
        try store.storeDigests(["a.md": (stamp, "abc")])
        let cached = try store.cachedDigests()
        #expect(cached["a.md"]?.0 == stamp)
        #expect(cached["a.md"]?.1 == "abc")
        // Asked for some paths: only those, keyed by the caller's own strings.
        try store.storeDigests(["b.md": (stamp, "def"), "c.md": (stamp, "ghi")])
        let wanted: Set<String> = [String(repeating: "x", count: 20) + "/a.md", "a.md", "c.md"]
        let some = try store.cachedDigests(for: wanted)
        #expect(some.keys.sorted() == ["a.md", "c.md"])
        #expect(some["c.md"]?.1 == "ghi")
        let long = String(repeating: "y", count: 40) + ".md"
        try store.storeDigests([long: (stamp, "jkl")])
        let mine = String(repeating: "y", count: 40) + ".md"
        let found = try store.cachedDigests(for: [mine])
        #expect(found.count == 1)
        #expect(storage(of: found.keys.first!) == storage(of: mine))
    }

    /// Owned files read with the pass's strings share them: a declared file's name, unified id, digest, and the
    /// listed file's id are the same storage as the desired state's and the listing's, and equal in value.
    @Test(arguments: StateBackend.all) func ownedFilesShareThePassStrings(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let name = "knowledge-base/chapter-\(UUID().uuidString)"
        let digest = String(repeating: "ab", count: 32)
        let remoteID = "file-" + UUID().uuidString
        for (id, file) in [(remoteID, name), ("file-" + UUID().uuidString, "undeclared/file-name-long-enough")] {
            try store.recordOwned(
                OwnedFile(
                    endpointID: endpoint.id, remoteID: id, file: file, digest: digest, bytes: 3, filename: "c.md",
                    purpose: "assistants", createdAt: 100, deletionPolicy: .delete),
                closingIntent: nil, at: 101)
        }
        let model = ModelDefinition(name: "m", model: "m", provider: "openai", endpoint: endpoint, origin: "")
        let desired = DesiredState(
            files: [
                DesiredFile(
                    name: name, sourcePath: "docs/c.md", bytes: 3, purpose: "assistants", filename: "c.md",
                    targetModels: ["m"])
            ], models: [model])
        let digests = ["docs/c.md": String(repeating: "ab", count: 32)]
        let listing = [RemoteFile(id: String(remoteID), filename: "c.md", bytes: 3, purpose: "assistants", createdAt: 100)]
        let sharing = OwnedFile.SharedStrings(desired: desired, digests: digests, listings: [endpoint.id: listing])
        let plain = try store.ownedFilesAndIntents().owned
        let shared = try store.ownedFilesAndIntents(sharing: sharing).owned
        #expect(shared == plain)
        let declared = try #require(shared.first { $0.file == name })
        #expect(storage(of: declared.file) == storage(of: desired.files[0].name))
        #expect(storage(of: declared.unifiedID) == storage(of: desired.files[0].unifiedID))
        #expect(storage(of: declared.digest) == storage(of: digests["docs/c.md"]!))
        #expect(storage(of: declared.remoteID) == storage(of: listing[0].id))
        let other = try #require(shared.first { $0.file != name })
        #expect(storage(of: other.file) != storage(of: desired.files[0].name))
    }

    /// Many declared files, each on two endpoints, read in name order with undeclared names among them: every
    /// declared row shares its file's strings (whether found as the next file or by name), and the undeclared keep
    /// their own.
    @Test(arguments: StateBackend.all) func ownedFilesShareAlongTheNames(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let run = UUID().uuidString
        let other = Endpoint(kind: .azure, baseURL: "http://127.0.0.1:2", credential: .environment("A"))
        let names = (0..<40).map { "set-\(run)/doc-\(100 + $0).md" }
        let declared = names.enumerated().filter { $0.offset % 5 != 3 }.map(\.element)
        for (number, name) in names.enumerated() {
            for target in [endpoint, other] {
                // Every fourth file was uploaded with other content under another file name: those columns differ
                // from the declared file's and keep their own strings.
                let changed = number % 4 == 1
                try store.recordOwned(
                    OwnedFile(
                        endpointID: target.id, remoteID: "file-" + UUID().uuidString, file: name,
                        digest: String(repeating: changed ? "0f" : "cd", count: 32), bytes: 3,
                        filename: changed ? "older-name.md" : "doc.md", purpose: "assistants", createdAt: 100,
                        deletionPolicy: changed ? .retain : .delete),
                    closingIntent: nil, at: 101)
            }
        }
        let (desired, digests) = declaredDocuments(declared, on: endpoint, digest: String(repeating: "cd", count: 32))
        let plain = try store.ownedFilesAndIntents().owned.filter { $0.file.hasPrefix("set-\(run)/") }
        let shared = try store.ownedFilesAndIntents(sharing: OwnedFile.SharedStrings(desired: desired, digests: digests))
            .owned.filter { $0.file.hasPrefix("set-\(run)/") }
        #expect(shared == plain)
        #expect(shared.count == names.count * 2)
        let byName = Dictionary(uniqueKeysWithValues: desired.files.map { ($0.name, $0) })
        for record in shared {
            if let file = byName[record.file] {
                #expect(storage(of: record.file) == storage(of: file.name), "\(record.file) was not shared")
                #expect(storage(of: record.unifiedID) == storage(of: file.unifiedID))
                if record.digest == digests[file.sourcePath]! {
                    #expect(storage(of: record.digest) == storage(of: digests[file.sourcePath]!))
                } else {
                    #expect(record.digest == String(repeating: "0f", count: 32) && record.filename == "older-name.md")
                    #expect(record.deletionPolicy == .retain)
                }
            } else {
                #expect(!declared.contains(record.file))
                #expect(desired.files.allSatisfy { storage(of: $0.name) != storage(of: record.file) })
            }
        }
    }

    /// Runs are recorded with outcome and counts, newest first.
    @Test(arguments: StateBackend.all) func runs(_ backend: StateBackend) throws {
        let store = try backend.makeStore().store
        let first = try store.startRun(command: "plan", at: 1)
        try store.finishRun(first, outcome: "planned", summary: "No changes.", applied: 0, failed: 0, requests: 2, at: 2)
        let second = try store.startRun(command: "apply", at: 3)
        try store.recordEvent(run: second, level: "error", file: "a", endpointID: endpoint.id, action: "create", message: "HTTP 400", at: 3.5)
        let runs = try store.recentRuns()
        #expect(runs.map(\.command) == ["apply", "plan"])
        #expect(runs[1].outcome == "planned")
        #expect(runs[1].requests == 2)
        #expect(runs[0].finishedAt == nil)
    }
}

@Suite("State store creation interrupted")
struct InterruptedCreationTests {
    /// A creation killed after GRDB made its bookkeeping table but before Ferry's first migration committed is
    /// finished by the next open instead of being refused as foreign. (Found by the chaos test.)
    @Test func finishesAnInterruptedCreation() throws {
        let path = temporaryDatabasePath()
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)") }
        try queue.close()
        let store = try SQLiteStateStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7"])
    }
}
