import Foundation

/// Opens the state store a `--state` value names.
public enum StateStores {
    /// The workspace used when none is given (`--workspace`, `FERRY_WORKSPACE`).
    public static let defaultWorkspace = "default"

    /// Opens the state at `location`: a `postgres://` (or `postgresql://`) URL opens `PostgresStateStore`, anything
    /// else is a SQLite file path (`SQLiteStateStore`).
    /// - Parameters:
    ///   - workspace: the workspace to read and write (letters, digits, `.`, `_`, `-`; at most 63 characters).
    ///   - readOnly: never write (the status view); a missing database is an error instead of being created.
    ///   - mustExist: refuse to create a SQLite file that does not exist (`ferry state lock`).
    ///   - environment: where `PGPASSWORD` is read when the URL has no password.
    public static func open(
        _ location: String, workspace: String = defaultWorkspace, readOnly: Bool = false, mustExist: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> any StateStore {
        try validate(workspace: workspace)
        if PostgresLocation.isPostgres(location) {
            let parsed = try PostgresLocation(parsing: location, environment: environment)
            return try PostgresStateStore(location: parsed, workspace: workspace, readOnly: readOnly)
        }
        if mustExist && !FileManager.default.fileExists(atPath: location) {
            throw StateStoreError.missingDatabase(location)
        }
        return try SQLiteStateStore(path: location, workspace: workspace, readOnly: readOnly)
    }

    /// `location` safe to show: a PostgreSQL URL's password is replaced by `***`; a path is returned unchanged.
    public static func redacted(_ location: String) -> String {
        PostgresLocation.isPostgres(location) ? PostgresLocation.redact(location) : location
    }

    /// Checks a workspace name.
    /// - Throws: `StateStoreError.Code.invalidLocation` for an empty, too long or oddly spelled name.
    public static func validate(workspace: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !workspace.isEmpty, workspace.count <= 63, workspace.allSatisfy(allowed.contains) else {
            throw StateStoreError.invalidLocation(
                "--workspace \(workspace)", reason: "use 1 to 63 letters, digits, '.', '_' or '-'")
        }
    }
}

/// A parsed `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require][&connect_timeout=SECONDS]`
/// URL.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public var user: String
    /// From the URL, else `PGPASSWORD`; never shown.
    var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// `disable` (the default) or `require`.
    public var sslMode: String
    /// Longest wait for a connection, TCP and login together (libpq's `connect_timeout`); 10 s by default.
    public var connectTimeoutSeconds: Int

    static let defaultConnectTimeoutSeconds = 10

    /// The URL with no password, for messages.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(sslMode)"
            + (connectTimeoutSeconds == Self.defaultConnectTimeoutSeconds ? "" : "&connect_timeout=\(connectTimeoutSeconds)")
    }

    static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// Replaces the password of a PostgreSQL URL with `***` without parsing it fully (for any text that
    /// carries one).
    static func redact(_ location: String) -> String {
        guard let scheme = location.range(of: "://") else { return location }
        let rest = location[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return location }
        let credentials = rest[..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return location }
        return String(location[..<scheme.upperBound]) + credentials[..<colon] + ":***" + String(rest[at...])
    }

    /// - Throws: `StateStoreError.Code.invalidLocation` naming what is wrong (never the password).
    public init(parsing location: String, environment: [String: String]) throws {
        let shown = Self.redact(location)
        guard let components = URLComponents(string: location), let host = components.host, !host.isEmpty else {
            throw StateStoreError.invalidLocation(
                shown, reason: "expected postgres://USER[:PASSWORD]@HOST:PORT/DATABASE?sslmode=disable|require")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StateStoreError.invalidLocation(shown, reason: "the URL names no user (postgres://USER@HOST/DB)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw StateStoreError.invalidLocation(shown, reason: "the URL names no database (postgres://USER@HOST/DB)")
        }
        var sslMode = "disable"
        var connectTimeout = Self.defaultConnectTimeoutSeconds
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"?), ("sslmode", "require"?): sslMode = item.value!
            case ("sslmode", _):
                throw StateStoreError.invalidLocation(
                    shown, reason: "sslmode=\(item.value ?? "") is not supported (use sslmode=disable or sslmode=require)")
            case ("connect_timeout", let value):
                guard let seconds = value.flatMap({ Int($0) }), (1...3600).contains(seconds) else {
                    throw StateStoreError.invalidLocation(
                        shown, reason: "connect_timeout=\(value ?? "") is not a number of seconds from 1 to 3600")
                }
                connectTimeout = seconds
            default:
                throw StateStoreError.invalidLocation(
                    shown, reason: "unsupported parameter \(item.name) (only sslmode and connect_timeout)")
            }
        }
        self.user = user
        self.password = components.password ?? environment["PGPASSWORD"]
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.database = database
        self.sslMode = sslMode
        self.connectTimeoutSeconds = connectTimeout
    }
}
