import FerryStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Testing

/// A state backend the parameterised suites run on: `@Test(arguments: StateBackend.all)`.
///
/// PostgreSQL comes from `FERRY_TEST_POSTGRES_URL` (scripts/test.sh starts a private server and sets it). When the
/// variable is missing, `.postgres` is left out, unless `FERRY_TEST_REQUIRE_POSTGRES` or `CI` is set: then it
/// stays in and every PostgreSQL case fails loudly instead of being skipped.
public enum StateBackend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public var testDescription: String { rawValue }

    /// The backends to run on here.
    public static var all: [StateBackend] {
        let environment = ProcessInfo.processInfo.environment
        if environment["FERRY_TEST_POSTGRES_URL"] != nil || postgresRequired { return [.sqlite, .postgres] }
        return [.sqlite]
    }

    /// Whether this run must test PostgreSQL (CI, or scripts/test.sh).
    public static var postgresRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["FERRY_TEST_REQUIRE_POSTGRES"] != nil || environment["CI"] != nil
    }

    /// The shared test server's URL (with its password).
    public static func postgresURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["FERRY_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw TestFailure(
                "PostgreSQL is required here but FERRY_TEST_POSTGRES_URL is not set; run bash scripts/test.sh, "
                    + "which starts a private server")
        }
        return url
    }

    /// A `--state` value for a fresh, empty state: a new SQLite file, or the shared database (use a fresh
    /// workspace from `freshWorkspace()` with it).
    public func freshLocation() throws -> String {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-state-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return directory.appendingPathComponent("state.sqlite").path
        case .postgres:
            return try Self.postgresURL()
        }
    }

    /// A workspace name no other test uses.
    public static func freshWorkspace() -> String {
        "t-" + UUID().uuidString.lowercased().prefix(13)
    }

    /// A fresh, empty state store (a new file, or a new workspace in the shared database) and where it lives.
    public func makeStore(readOnly: Bool = false) throws -> (store: any StateStore, location: String, workspace: String) {
        let location = try freshLocation()
        let workspace = self == .sqlite ? StateStores.defaultWorkspace : Self.freshWorkspace()
        return (try StateStores.open(location, workspace: workspace, readOnly: readOnly), location, workspace)
    }
}

/// Administration of the test PostgreSQL server: fresh databases and raw SQL, for tests that need what Ferry's
/// store does not offer (a migration from the future, a dropped connection).
public enum PostgresTestServer {
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Runs `sql` (one statement) on `database` (default: the URL's) and returns the first column of each row as
    /// text.
    @discardableResult
    public static func execute(_ sql: String, database: String? = nil) throws -> [String?] {
        let url = try StateBackend.postgresURL()
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user
        else { throw TestFailure("bad FERRY_TEST_POSTGRES_URL") }
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user,
            password: components.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"],
            database: database ?? String(components.path.dropFirst()), tls: .disable)
        let connection = try PostgresConnection.connect(
            on: group.next(), configuration: configuration, id: 1, logger: Logger(label: "ferry.test.postgres")
        ).wait()
        defer { try? (connection.close() as EventLoopFuture<Void>).wait() }
        let result = try connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "ferry.test.postgres"))
            .wait()
        return try result.rows.map { row in
            guard let cell = row.first(where: { _ in true }) else { return nil }
            return try cell.decode(String?.self)
        }
    }

    /// A new, empty database on the test server; returns its `--state` URL.
    public static func freshDatabase() throws -> String {
        let name = "ferry_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try execute("CREATE DATABASE \(name)")
        let url = try StateBackend.postgresURL()
        guard var components = URLComponents(string: url) else { throw TestFailure("bad FERRY_TEST_POSTGRES_URL") }
        components.path = "/" + name
        return components.string!
    }
}
