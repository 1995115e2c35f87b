import ArgumentParser
import FerryCore
import FerryStore
import Foundation

/// `ferry state`: look after the state itself (the writer lock for now).
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Inspect the state: who holds the writer lock, and force its release.",
        discussion: "Where state lives, workspaces and locking: docs/state.md.",
        subcommands: [StateLockCommand.self, StateUnlockCommand.self])
}

extension GlobalOptions {
    /// Opens the state for `ferry state` (never creating it: a state that does not exist yet has no lock).
    func openExisting(console: Console) throws -> any StateStore {
        do {
            return try StateStores.open(state, workspace: workspace, mustExist: true)
        } catch {
            console.error("\(error)")
            throw ExitCode(1)
        }
    }
}

/// Describes a lease holder for people: holder, host, pid, command, since, expiry.
func describeLease(_ lease: LeaseHolder, now: Double) -> String {
    var lines = ["holder:  \(lease.holder)"]
    if let host = lease.host { lines.append("host:    \(host)") }
    if let pid = lease.pid { lines.append("pid:     \(pid)") }
    if let command = lease.command { lines.append("command: \(command)") }
    let since = Date(timeIntervalSince1970: lease.acquiredAt)
    lines.append("since:   \(since.formatted(.iso8601)) (\(Int(max(0, now - lease.acquiredAt)))s ago)")
    let expires = Date(timeIntervalSince1970: lease.expiresAt).formatted(.iso8601)
    if lease.expiresAt > now {
        lines.append("expires: \(expires) (in \(Int(lease.expiresAt - now))s unless renewed; the holder renews it)")
    } else {
        lines.append("expires: \(expires) (expired \(Int(now - lease.expiresAt))s ago: the next run takes it over)")
    }
    return lines.joined(separator: "\n") + "\n"
}

/// `ferry state lock`: who holds the writer lock.
struct StateLockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Show who holds the writer lock of this workspace (exit 0 either way).")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let console = Console(noColor: options.noColor)
        let store = try options.openExisting(console: console)
        let now = FerryClock.system.now()
        guard let lease = try store.leaseHolder() else {
            console.out("The state lock of workspace '\(store.workspace)' in \(store.location) is free.\n")
            return
        }
        console.out("The state lock of workspace '\(store.workspace)' in \(store.location) is held:\n")
        console.out(describeLease(lease, now: now))
    }
}

/// `ferry state unlock`: force the writer lock free, like `terraform force-unlock`.
struct StateUnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Force the writer lock free (after a confirmation, or with --force).",
        discussion: """
            Only for a holder that is gone but whose lock has not expired yet (a run on another host killed
            moments ago). If the holder is still running, two runs may then write at once.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(name: [.customLong("force"), .customShort("y")], help: "Do not ask for confirmation.")
    var force = false

    func run() async throws {
        let console = Console(noColor: options.noColor)
        let store = try options.openExisting(console: console)
        let now = FerryClock.system.now()
        guard let lease = try store.leaseHolder() else {
            console.out("The state lock of workspace '\(store.workspace)' in \(store.location) is not held.\n")
            return
        }
        console.err("The state lock of workspace '\(store.workspace)' in \(store.location) is held:")
        console.err(describeLease(lease, now: now))
        if !force {
            guard console.interactive else {
                console.error("refusing to unlock without confirmation: pass --force (or -y)")
                throw ExitCode(1)
            }
            guard
                console.confirm(
                    "Do you really want to force-unlock? If that run is still going, two runs may write at once.")
            else {
                console.err("Unlock cancelled.")
                throw ExitCode(1)
            }
        }
        if let removed = try store.forceReleaseLease() {
            console.out("Released the state lock held by \(removed.holder).\n")
        } else {
            console.out("The state lock was released meanwhile.\n")
        }
    }
}
