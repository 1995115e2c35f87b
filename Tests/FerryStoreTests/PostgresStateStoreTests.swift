import FerryCore
import FerryStore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What only the PostgreSQL backend does: shared databases, workspaces, migrations, redaction, concurrency.
@Suite("PostgreSQL state store", .enabled(if: StateBackend.all.contains(.postgres)))
struct PostgresStateStoreTests {
    /// In CI (or under scripts/test.sh) a missing or unreachable server fails here instead of being skipped.
    @Test func serverIsAvailable() throws {
        let url = try StateBackend.postgresURL()
        let store = try StateStores.open(url, workspace: StateBackend.freshWorkspace())
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4"])
        #expect(try store.integrityCheck() == "ok")
    }

    /// A new database is migrated; opening again is idempotent; read-only opening of an empty one says so.
    @Test func migratesAFreshDatabase() throws {
        let url = try PostgresTestServer.freshDatabase()
        #expect {
            try StateStores.open(url, readOnly: true)
        } throws: { error in
            (error as? StateStoreError)?.code == .emptyDatabase && "\(error)".contains("run 'ferry apply' first")
        }
        _ = try StateStores.open(url)
        let again = try StateStores.open(url)
        #expect(try again.appliedMigrations() == ["v1", "v2", "v3", "v4"])
        _ = try StateStores.open(url, readOnly: true)
    }

    /// A database migrated by a newer Ferry is refused, naming the unknown migrations.
    @Test func refusesADatabaseFromANewerFerry() throws {
        let url = try PostgresTestServer.freshDatabase()
        _ = try StateStores.open(url)
        let database = String(URLComponents(string: url)!.path.dropFirst())
        try PostgresTestServer.execute("INSERT INTO ferry.migrations VALUES ('v99', 0)", database: database)
        for readOnly in [false, true] {
            #expect {
                try StateStores.open(url, readOnly: readOnly)
            } throws: { error in
                (error as? StateStoreError)?.code == .newerVersion
                    && "\(error)".contains("was written by a newer Ferry (migrations [\"v99\"]); upgrade Ferry")
            }
        }
    }

    /// Once migrated, the database serves a user that may only read and write the schema's tables (no DDL).
    @Test func worksWithTableOnlyPrivileges() throws {
        let url = try PostgresTestServer.freshDatabase()
        _ = try StateStores.open(url)
        let database = String(URLComponents(string: url)!.path.dropFirst())
        let role = "ferry_rw_" + UUID().uuidString.lowercased().prefix(8)
        try PostgresTestServer.execute("CREATE ROLE \(role) LOGIN PASSWORD 'rw-secret'")
        for grant in [
            "REVOKE CREATE ON DATABASE \(database) FROM PUBLIC", "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "GRANT USAGE ON SCHEMA ferry TO \(role)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ferry TO \(role)",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA ferry TO \(role)",
        ] {
            try PostgresTestServer.execute(grant, database: database)
        }
        var limited = URLComponents(string: url)!
        limited.user = role
        limited.password = "rw-secret"
        let store = try StateStores.open(limited.string!, workspace: StateBackend.freshWorkspace())
        #expect(try store.acquireLease(holder: "h pid 1 #1", ttl: 30, now: 1) == nil)
        _ = try store.startRun(command: "apply", at: 1)
        #expect(try store.recentRuns().count == 1)
    }

    /// Two workspaces in one database never see each other's owned files, intents, listings, runs or lease.
    @Test func workspacesAreIsolated() throws {
        let url = try StateBackend.postgresURL()
        let one = try StateStores.open(url, workspace: StateBackend.freshWorkspace())
        let two = try StateStores.open(url, workspace: StateBackend.freshWorkspace())
        let owned = OwnedFile(
            endpointID: endpoint.id, remoteID: "file-1", file: "a", digest: "d", bytes: 3, filename: "a.md",
            purpose: "assistants", createdAt: 1, deletionPolicy: .delete)
        try one.recordOwned(owned, closingIntent: nil, at: 2)
        _ = try one.beginCreate(
            endpointID: endpoint.id, file: "b", digest: "d", bytes: 1, filename: "b.md", purpose: "assistants",
            deletionPolicy: .delete, startedAt: 3)
        let files = [RemoteFile(id: "file-1", filename: "a.md", bytes: 3, purpose: "assistants", createdAt: 1)]
        try one.recordObservation(
            EndpointObservation(endpointID: endpoint.id, files: files, observedAt: 4), endpoint: endpoint, pages: 1)
        _ = try one.startRun(command: "apply", at: 5)
        #expect(try one.acquireLease(holder: "one", ttl: 30, now: 6) == nil)

        #expect(try two.ownedFiles().isEmpty)
        #expect(try two.intents().isEmpty)
        #expect(try two.observations().isEmpty)
        #expect(try two.recentRuns().isEmpty)
        #expect(try two.endpointRecords().isEmpty)
        #expect(try two.acquireLease(holder: "two", ttl: 30, now: 7) == nil)
        // Removing in one workspace leaves the other's record alone.
        try two.recordOwned(owned, closingIntent: nil, at: 8)
        try two.removeOwned(endpointID: endpoint.id, remoteID: "file-1")
        #expect(try one.ownedFiles() == [owned])
    }

    /// The password never appears in the store's location, nor in a connection error.
    @Test func passwordIsRedacted() throws {
        let url = try StateBackend.postgresURL()
        let password = try #require(URLComponents(string: url)?.password)
        let store = try StateStores.open(url, workspace: StateBackend.freshWorkspace())
        #expect(!store.location.contains(password))
        #expect(store.location.contains(":***@"))
        #expect(!StateStores.redacted(url).contains(password))
        var wrong = URLComponents(string: url)!
        wrong.password = password + "-wrong"
        #expect {
            try StateStores.open(wrong.string!)
        } throws: { error in
            (error as? StateStoreError)?.code == .connectionFailed && !"\(error)".contains(password)
                && "\(error)".contains(":***@")
        }
        // Without a password in the URL, PGPASSWORD is used.
        var bare = URLComponents(string: url)!
        bare.password = nil
        let viaEnvironment = try StateStores.open(
            bare.string!, workspace: StateBackend.freshWorkspace(), environment: ["PGPASSWORD": password])
        #expect(try viaEnvironment.appliedMigrations() == ["v1", "v2", "v3", "v4"])
    }

    /// Many tasks calling one store at once (more than the cooperative pool has threads) all finish: the
    /// synchronous calls never wait on work that needs the pool.
    @Test func concurrentCallersDoNotDeadlock() async throws {
        let store = try StateStores.open(try StateBackend.postgresURL(), workspace: StateBackend.freshWorkspace())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<16 {
                group.addTask {
                    for index in 0..<25 {
                        let id = try store.beginCreate(
                            endpointID: endpoint.id, file: "f\(task)-\(index)", digest: "d", bytes: 1,
                            filename: "f.md", purpose: "assistants", deletionPolicy: .delete, startedAt: 1)
                        _ = try store.ownedFilesAndIntents()
                        try store.closeIntent(id)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.intents().isEmpty)
    }

    /// A connection the server drops is replaced: at most the call that finds it dead fails.
    @Test func reconnectsAfterTheConnectionIsDropped() throws {
        let workspace = StateBackend.freshWorkspace()
        let store = try StateStores.open(try StateBackend.postgresURL(), workspace: workspace)
        _ = try store.startRun(command: "apply", at: 1)
        try PostgresTestServer.execute(
            "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE application_name = 'ferry/\(workspace)'")
        // Wait until the server has really ended that session (termination is asynchronous).
        for _ in 0..<100 {
            let left = try PostgresTestServer.execute(
                "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = 'ferry/\(workspace)'")
            if left.first == "0" { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        // The call that finds the connection dead may throw (if the client has not seen the close yet); the next
        // one reconnects.
        _ = try? store.recentRuns()
        #expect(try store.recentRuns().count == 1)
    }

    /// The status view's queries run on PostgreSQL too.
    @Test func statusQueries() throws {
        let store = try StateStores.open(try StateBackend.postgresURL(), workspace: StateBackend.freshWorkspace())
        let file = DesiredFile(
            name: "kb", sourcePath: "kb.md", bytes: 3, purpose: "assistants", filename: "kb.md", targetModels: ["m"],
            labels: ["team": "docs"])
        let plan = Plan(
            actions: [],
            placements: [
                PlacementStatus(file: "kb", endpointID: endpoint.id, models: ["m"], state: .inSync, remoteID: "file-1")
            ], endpoints: [], blocked: [], warnings: [], desiredFingerprint: "d")
        let desired = DesiredState(files: [file], models: [])
        try store.saveSnapshot(desired: desired, digests: ["kb.md": "x"], plan: plan, at: 1_700_000_000)
        try store.saveSnapshot(desired: desired, digests: ["kb.md": "x"], plan: plan, at: 1_700_000_001)
        try store.recordOwned(
            OwnedFile(
                endpointID: endpoint.id, remoteID: "file-1", file: "kb", digest: "x", bytes: 3, filename: "kb.md",
                purpose: "assistants", createdAt: 50, deletionPolicy: .delete), closingIntent: nil, at: 51)
        try store.recordPlacementError(file: "kb", endpointID: endpoint.id, action: "create", message: "m", at: 1)
        #expect(try store.desiredFiles().map(\.labels) == [["team": "docs"]])
        #expect(try store.desiredFileCount() == 1)
        #expect(try store.desiredFileStatuses().first?.rollUp.inSync == 1)
        #expect(try store.desiredFileStatus(unifiedID: file.unifiedID)?.firstCreatedAt == 50)
        let page = try #require(
            try store.desiredFilePage(ascending: true, after: nil, purpose: "assistants", limit: 10))
        #expect(page.files.map(\.name) == ["kb"] && !page.hasMore)
        #expect(
            try store.desiredFilePage(ascending: false, after: file.unifiedID, purpose: nil, limit: 10)?
                .files.isEmpty == true)
        #expect(try store.placementRecords(attentionFirst: true, limit: 5).first?.error?.message == "m")
        #expect(try store.placementRecords(file: "kb").first?.filename == "kb.md")
        #expect(try store.placementStateCounts() == ["in-sync": 1])
        #expect(try store.placementStatuses().map(\.remoteID) == ["file-1"])
        #expect(try store.latestPlan()?.plan.placements.count == 1)
        #expect(try store.ownedFiles(file: "kb").map(\.remoteID) == ["file-1"])
        #expect(try store.runTotals().runs == 0)
        #expect(try store.snapshotUpdatedAt() != nil)
        #expect(try store.lastSuccessfulObservation() == nil)
        try store.addRequestStats([RequestStatsRow(endpointID: endpoint.id, operation: "list", requests: 2, failures: 0,
            retries: 1, latencySeconds: 0.5)])
        try store.addRequestStats([RequestStatsRow(endpointID: endpoint.id, operation: "list", requests: 1, failures: 1,
            retries: 0, latencySeconds: 0.25)])
        #expect(try store.requestStats().first?.requests == 3)
    }
}

/// A server that accepts connections and never answers (a stuck proxy, a half-open socket) fails the call after the
/// URL's `connect_timeout`; it does not hang the pass. Needs no PostgreSQL: the kernel completes the TCP handshake
/// on a listening socket nobody accepts from.
@Suite("PostgreSQL connection deadline")
struct PostgresDeadlineTests {
    @Test func silentServerTimesOut() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let started = ContinuousClock.now
        #expect {
            try StateStores.open("postgres://ferry@127.0.0.1:\(listener.port)/ferry?connect_timeout=1", workspace: "w")
        } throws: { error in
            // The login's deadline, or (on a loaded machine) the TCP connect's own: either way bounded by it.
            (error as? StateStoreError)?.code == .connectionFailed
                && ("\(error)".contains("did not answer within 1 s") || "\(error)".contains("Connect timeout (1 s)"))
                && "\(error)".contains("connect_timeout=1")
        }
        #expect(ContinuousClock.now - started < .seconds(8))
    }
}

/// A TCP socket on 127.0.0.1 that listens and never accepts.
private struct SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 8) == 0 else { throw TestFailure("cannot listen on 127.0.0.1") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(descriptor) }
}
