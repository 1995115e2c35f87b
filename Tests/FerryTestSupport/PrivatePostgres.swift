import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL server of a test's own (its own data directory and port), for faults the shared test server must not
/// suffer, such as a restart in the middle of a pass. Uses Debian's binaries (scripts/postgres.sh installs them);
/// as root it runs them as the `postgres` OS user, since the server refuses root. Call `stop()` at the end.
public final class PrivatePostgres: @unchecked Sendable {
    /// `postgres://ferry@127.0.0.1:PORT/ferry?sslmode=disable` (trust authentication: a throwaway server).
    public let url: String
    private let directory: URL
    private let bin: String

    /// Creates the cluster and starts it on a free 127.0.0.1 port.
    /// - Throws: `TestFailure` when the binaries are missing or a step fails.
    public init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }).last
        else { throw TestFailure("PostgreSQL is not installed (run bash scripts/test.sh, which installs it)") }
        bin = "/usr/lib/postgresql/\(version)/bin"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: directory.path)
        }
        let port = try Self.freePort()
        let bin = self.bin
        func run(_ arguments: String...) throws { try Self.run(bin, arguments) }
        try run("initdb", "-D", directory.path + "/data", "-U", "ferry", "-A", "trust", "-E", "UTF8", "--no-sync")
        try run(
            "pg_ctl", "-D", directory.path + "/data", "-l", directory.path + "/server.log", "-w", "-t", "60", "-o",
            "-c listen_addresses=127.0.0.1 -p \(port) -k \(directory.path) -c fsync=off", "start")
        try run("createdb", "-h", "127.0.0.1", "-p", "\(port)", "-U", "ferry", "ferry")
        url = "postgres://ferry@127.0.0.1:\(port)/ferry?sslmode=disable"
    }

    /// Stops the server (fast: open connections are cut) and starts it again on the same port, waiting for both.
    public func restart() throws {
        try Self.run(bin, ["pg_ctl", "-D", directory.path + "/data", "-m", "fast", "-w", "-t", "60", "restart"])
    }

    /// Stops the server and removes its directory.
    public func stop() {
        try? Self.run(bin, ["pg_ctl", "-D", directory.path + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `command[0]` from `bin` with the rest as arguments (as `postgres` when root).
    private static func run(_ bin: String, _ command: [String]) throws {
        let tool = command[0]
        let arguments = Array(command.dropFirst())
        let process = Process()
        let command = (getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []) + ["\(bin)/\(tool)"] + arguments
        // Through Python's subprocess, which closes every inherited descriptor in the child: a server started here
        // must not keep the test process's pipes (another child's stdout, say) open, or reading them never ends.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"] + command
        // A file, not a pipe: the server `pg_ctl` starts inherits the descriptor and keeps a pipe open forever.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-pg-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = handle
        try process.launchSerially()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw TestFailure("\(tool) failed: \(message)")
        }
    }

    /// A port nothing listens on now (bound to 127.0.0.1:0, read back, released).
    private static func freePort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw TestFailure("socket() failed") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> Int32 in
                guard bind(socketFD, generic, length) == 0 else { return -1 }
                return getsockname(socketFD, generic, &length)
            }
        }
        guard bound == 0 else { throw TestFailure("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
