import FerryCore
import FerryEngine
import FerryStore
import FerryTestSupport
import Foundation
import Testing

/// The writer lease across hosts and the `ferry state lock` / `ferry state unlock` commands, on both backends.
@Suite("State lock")
struct StateLockTests {
    /// A pid that certainly belonged to a process that has exited.
    static func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.launchSerially()
        process.waitUntilExit()
        return process.processIdentifier
    }

    /// A holder on another host is never probed by pid: its lease is taken only after it expires. A dead holder on
    /// this host is taken over at once.
    @Test(arguments: StateBackend.all) func takeoverOnlyAfterExpiryAcrossHosts(_ backend: StateBackend) async throws {
        let store = try backend.makeStore().store
        let now = Date().timeIntervalSince1970
        let dead = try Self.deadPID()
        let remote = "some-other-host pid \(dead) #1 ferry reconcile"
        #expect(try store.acquireLease(holder: remote, ttl: 600, now: now) == nil)
        await #expect(throws: EngineError.self) { _ = try await WriterLease.acquire(store: store) }
        // Expired: taken over.
        #expect(try store.acquireLease(holder: remote, ttl: -1, now: now) == nil)
        let taken = try await WriterLease.acquire(store: store)
        #expect(try store.leaseHolder()?.holder == taken.holder)
        taken.release()
        // A dead process on this host: taken over before expiry.
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: " ", with: "-")
        #expect(try store.acquireLease(holder: "\(host) pid \(dead) #2 ferry apply", ttl: 600, now: now) == nil)
        let local = try await WriterLease.acquire(store: store)
        #expect(local.holder.contains(" pid \(ProcessInfo.processInfo.processIdentifier) "))
        local.release()
        #expect(try store.leaseHolder() == nil)
    }

    /// `ferry state lock` shows the holder (host, pid, command, since); `unlock` refuses without a terminal or
    /// --force, and with --force releases it.
    @Test(arguments: StateBackend.all) func lockAndUnlockCommands(_ backend: StateBackend) async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let location = backend == .sqlite ? workspace.statePath : try backend.freshLocation()
        let name = backend == .sqlite ? StateStores.defaultWorkspace : StateBackend.freshWorkspace()
        let store = try StateStores.open(location, workspace: name)
        let state = ["--state", location, "--workspace", name]

        let free = try await FerryProcess.run(["state", "lock"] + state, in: workspace)
        #expect(free.status == 0 && free.stdout.contains("is free"), "\(free.stdout)\(free.stderr)")
        let holder = "build-host-3 pid 4242 #77 ferry reconcile"
        #expect(try store.acquireLease(holder: holder, ttl: 600, now: Date().timeIntervalSince1970) == nil)
        let held = try await FerryProcess.run(["state", "lock"] + state, in: workspace)
        #expect(held.status == 0)
        for part in ["host:    build-host-3", "pid:     4242", "command: ferry reconcile", "since:", "unless renewed"] {
            #expect(held.stdout.contains(part), "\(held.stdout)")
        }
        let refused = try await FerryProcess.run(["state", "unlock"] + state, in: workspace)
        #expect(refused.status == 1 && refused.stderr.contains("pass --force"), "\(refused.stderr)")
        #expect(try store.leaseHolder()?.holder == holder)
        let forced = try await FerryProcess.run(["state", "unlock", "-y"] + state, in: workspace)
        #expect(forced.status == 0 && forced.stdout.contains("Released the state lock held by \(holder)"))
        #expect(try store.leaseHolder() == nil)
        // A SQLite state that does not exist is not created by looking at its lock.
        let missing = workspace.root.appendingPathComponent("nowhere/state.sqlite").path
        let none = try await FerryProcess.run(["state", "lock", "--state", missing], in: workspace)
        #expect(none.status == 1 && !FileManager.default.fileExists(atPath: missing))
    }

    /// One SQLite file holds one workspace: another name is refused with a message saying what to do.
    @Test func sqliteFileKeepsItsWorkspace() throws {
        let location = try StateBackend.sqlite.freshLocation()
        _ = try StateStores.open(location, workspace: "team-a")
        #expect {
            try StateStores.open(location, workspace: "team-b")
        } throws: { error in
            (error as? StateStoreError)?.code == .workspaceMismatch && "\(error)".contains("--workspace team-a")
        }
        #expect(throws: StateStoreError.self) { try StateStores.open(location, workspace: "bad name!") }
    }
}
