/// Errors opening or using the state database. The text names the path and what to do; callers that act on the
/// kind of failure match on `code` (`error.code == .newerVersion`), never on the text.
public struct StateStoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case missingDatabase = "missing database"
            case emptyDatabase = "empty database"
            case cannotOpen = "cannot open"
            case foreignDatabase = "foreign database"
            case newerVersion = "newer version"
            case olderVersion = "older version"
            case lockFailed = "lock failed"
            case workspaceMismatch = "workspace mismatch"
            case invalidLocation = "invalid location"
            case connectionFailed = "connection failed"
            case queryFailed = "query failed"
        }

        fileprivate let base: Base

        /// Opening read-only a database that does not exist.
        public static let missingDatabase = Code(base: .missingDatabase)
        /// Opening read-only a database no migration has run on.
        public static let emptyDatabase = Code(base: .emptyDatabase)
        /// SQLite could not open the file (not a database, corrupt, unreadable).
        public static let cannotOpen = Code(base: .cannotOpen)
        /// A SQLite database that belongs to another program.
        public static let foreignDatabase = Code(base: .foreignDatabase)
        /// A database migrated by a newer Ferry.
        public static let newerVersion = Code(base: .newerVersion)
        /// Opening read-only a database this Ferry would migrate first (a read-only opener never migrates).
        public static let olderVersion = Code(base: .olderVersion)
        /// The lock file beside the database could not be created or locked.
        public static let lockFailed = Code(base: .lockFailed)
        /// A SQLite state file recorded under another workspace name than the one asked for.
        public static let workspaceMismatch = Code(base: .workspaceMismatch)
        /// A `--state` value that is neither a file path nor a valid `postgres://` URL, or a bad workspace name.
        public static let invalidLocation = Code(base: .invalidLocation)
        /// The PostgreSQL server could not be reached or refused the login.
        public static let connectionFailed = Code(base: .connectionFailed)
        /// A statement failed on the PostgreSQL server (the connection dropped, a constraint, permissions).
        public static let queryFailed = Code(base: .queryFailed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The message shown to the user.
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    static func missingDatabase(_ path: String) -> StateStoreError {
        StateStoreError(
            .missingDatabase, "state database \(path) does not exist; run 'ferry apply' or 'ferry reconcile' first")
    }

    static func emptyDatabase(_ path: String) -> StateStoreError {
        StateStoreError(.emptyDatabase, "state database \(path) is empty; run 'ferry apply' first")
    }

    /// - Parameter reason: SQLite's message, or its result code when it gave none.
    static func cannotOpen(_ path: String, reason: String) -> StateStoreError {
        StateStoreError(
            .cannotOpen,
            "cannot open state database \(path): \(reason) "
                + "(is it a Ferry state file? move it aside or pass --state with another path)")
    }

    static func foreignDatabase(_ path: String) -> StateStoreError {
        StateStoreError(
            .foreignDatabase,
            "\(path) is a SQLite database that does not belong to Ferry; pass --state with another path")
    }

    /// - Parameter migrations: the applied migrations this Ferry does not know, sorted.
    static func newerVersion(_ path: String, migrations: [String]) -> StateStoreError {
        StateStoreError(
            .newerVersion,
            "state database \(path) was written by a newer Ferry (migrations \(migrations)); upgrade Ferry")
    }

    /// - Parameter migrations: the migrations this Ferry knows that the database lacks, sorted.
    static func olderVersion(_ path: String, migrations: [String]) -> StateStoreError {
        StateStoreError(
            .olderVersion,
            "state database \(path) was written by an older Ferry (it lacks migrations \(migrations)) and is open "
                + "read-only here; run 'ferry plan' (or any command that records state) with this version once to "
                + "upgrade it")
    }

    /// - Parameters:
    ///   - step: `create lock file` or `lock`.
    ///   - reason: the system's message (`strerror`).
    static func lockFailed(_ path: String, step: String, reason: String) -> StateStoreError {
        StateStoreError(.lockFailed, "cannot \(step) \(path): \(reason)")
    }

    static func workspaceMismatch(_ path: String, recorded: String, requested: String) -> StateStoreError {
        StateStoreError(
            .workspaceMismatch,
            "state database \(path) holds workspace '\(recorded)', not '\(requested)'; one SQLite file holds one "
                + "workspace: pass --workspace \(recorded), or another --state file for '\(requested)'")
    }

    static func invalidLocation(_ location: String, reason: String) -> StateStoreError {
        StateStoreError(.invalidLocation, "invalid state location \(location): \(reason)")
    }

    /// - Parameter location: the redacted URL.
    static func connectionFailed(_ location: String, reason: String) -> StateStoreError {
        StateStoreError(.connectionFailed, "cannot connect to state database \(location): \(reason)")
    }

    /// - Parameter location: the redacted URL.
    static func queryFailed(_ location: String, reason: String) -> StateStoreError {
        StateStoreError(.queryFailed, "state database \(location) failed: \(reason)")
    }
}
