import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One PostgreSQL connection used synchronously, one caller at a time.
///
/// The state store's boundary is synchronous, so each call blocks its thread on an `EventLoopFuture` (`wait()`)
/// while the connection runs on a private event loop that no Ferry code ever runs on. Nothing here waits on a Swift
/// task, so callers on the cooperative pool (two threads on two cores) cannot starve the work they wait for: the
/// event loop answers whatever the pool is doing. Callers are serialised by a lock (a transaction owns the
/// connection until it commits). A connection found closed (the server restarted, the network dropped) is
/// replaced on the next call; the call that saw it fail throws.
final class PostgresSession: @unchecked Sendable {
    /// The event loop every Ferry PostgreSQL connection runs on; never shut down (it idles without connections).
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    let location: PostgresLocation
    let readOnly: Bool
    /// `application_name` of the connection (`ferry/WORKSPACE`), so an operator can tell Ferry's sessions apart.
    let applicationName: String
    private let lock = NIOLock()
    private var connection: PostgresConnection?
    private var nextID = 1
    private let logger: Logger

    /// - Parameter workspace: a validated workspace name (letters, digits, `.`, `_`, `-`).
    init(location: PostgresLocation, workspace: String, readOnly: Bool) {
        self.location = location
        self.readOnly = readOnly
        self.applicationName = "ferry/" + workspace
        var logger = Logger(label: "ferry.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    deinit {
        if let connection { let _: EventLoopFuture<Void> = connection.close() }
    }

    /// Runs `body` alone on the connection (connecting first when needed).
    @discardableResult
    func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        try lock.withLock {
            let connection = try connected()
            do {
                return try body(Connection(base: connection, logger: logger, location: location))
            } catch {
                // Anything but an error the server answered with (a dropped connection, a timeout, a decoding
                // failure) leaves the connection in doubt: close it, and the next call opens a new one.
                let answered = (error as? PSQLError)?.code == .server || error is StateStoreError
                if connection.isClosed || !answered {
                    let _: EventLoopFuture<Void> = connection.close()
                    self.connection = nil
                }
                throw wrap(error)
            }
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.execute("BEGIN")
            do {
                let result = try body(connection)
                try connection.execute("COMMIT")
                return result
            } catch {
                if !connection.base.isClosed { _ = try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Closes the connection (a later call opens a new one). Waits for the goodbye unless called on an event loop,
    /// where waiting is not allowed (a store released by a server's handler): there it only starts closing.
    func close() {
        lock.withLock {
            if let connection {
                let closed: EventLoopFuture<Void> = connection.close()
                if MultiThreadedEventLoopGroup.currentEventLoop == nil { try? closed.wait() }
            }
            connection = nil
        }
    }

    private func connected() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        let tls: PostgresConnection.Configuration.TLS
        if location.sslMode == "require" {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none  // like libpq's sslmode=require: encrypted, not verified
            do {
                tls = .require(try NIOSSLContext(configuration: configuration))
            } catch {
                throw StateStoreError.connectionFailed(location.description, reason: "TLS setup failed: \(error)")
            }
        } else {
            tls = .disable
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        let limit = TimeAmount.seconds(Int64(location.connectTimeoutSeconds))
        configuration.options.connectTimeout = limit
        let id = nextID
        nextID += 1
        let made: PostgresConnection
        do {
            // The option bounds the TCP connect; the deadline also bounds the login (a proxy or server that accepts
            // and then says nothing). A connection that arrives after the deadline is closed.
            let connecting = PostgresConnection.connect(
                on: Self.group.next(), configuration: configuration, id: id, logger: logger)
            made = try Self.wait(for: connecting, atMost: limit) {
                connecting.whenSuccess { let _: EventLoopFuture<Void> = $0.close() }
            }
        } catch {
            throw StateStoreError.connectionFailed(location.description, reason: describe(error))
        }
        let wrapper = Connection(base: made, logger: logger, location: location)
        do {
            try wrapper.execute("SET search_path TO ferry")
            try wrapper.execute("SET application_name TO '\(applicationName)'")
            if readOnly { try wrapper.execute("SET default_transaction_read_only TO on") }
        } catch {
            let _: EventLoopFuture<Void> = made.close()
            throw wrap(error)
        }
        connection = made
        return made
    }

    private func wrap(_ error: any Error) -> any Error {
        if error is StateStoreError { return error }
        return StateStoreError.queryFailed(location.description, reason: describe(error))
    }

    /// A message for an error from postgres-nio: the server's message and SQLSTATE, or the client's error code,
    /// never the connection settings (and never the password, which is also scrubbed should it appear).
    func describe(_ error: any Error) -> String {
        var text: String
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                text = message
                if let state = error.serverInfo?[.sqlState] { text += " (SQLSTATE \(state))" }
            } else {
                text = "\(error.code)"
                if let underlying = error.underlying as? PSQLError {
                    text += ": \(underlying.code)"
                } else if let underlying = error.underlying {
                    text += ": \(underlying)"
                }
            }
        } else {
            text = "\(error)"
        }
        if let password = location.password, !password.isEmpty {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        return text
    }

    /// The connection while a caller holds it.
    struct Connection {
        let base: PostgresConnection
        let logger: Logger
        let location: PostgresLocation

        /// Runs one statement and returns its rows.
        @discardableResult
        func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> [PostgresRow] {
            try answer(base.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)).rows
        }

        /// Runs one statement and returns how many rows it changed.
        @discardableResult
        func execute(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> Int {
            try answer(base.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)).metadata.rows ?? 0
        }

        /// Waits for a statement's answer, but not forever: a connection the server dropped without a word (a
        /// terminated backend, a half-open socket) can leave a query unanswered, and a blocked store call would
        /// stall the whole pass. Past `PostgresSession.answerTimeout` the connection is closed and the call throws;
        /// the next call connects again.
        private func answer(_ future: EventLoopFuture<PostgresQueryResult>) throws -> PostgresQueryResult {
            let connection = base
            return try PostgresSession.wait(for: future, atMost: PostgresSession.answerTimeout) {
                let _: EventLoopFuture<Void> = connection.close()
            }
        }
    }

    /// `future.wait()` with a deadline: past `limit`, `onTimeout` runs (on the event loop) and the wait throws
    /// `Unanswered`.
    static func wait<T: Sendable>(
        for future: EventLoopFuture<T>, atMost limit: TimeAmount, onTimeout: @escaping @Sendable () -> Void
    ) throws -> T {
        let loop = future.eventLoop
        let promise = loop.makePromise(of: T.self)
        let done = NIOLockedValueBox(false)
        let claim: @Sendable () -> Bool = { done.withLockedValue { let first = !$0; $0 = true; return first } }
        let timer = loop.scheduleTask(in: limit) {
            guard claim() else { return }
            promise.fail(Unanswered(seconds: limit.nanoseconds / 1_000_000_000))
            onTimeout()
        }
        future.whenComplete { result in
            guard claim() else { return }
            timer.cancel()
            promise.completeWith(result)
        }
        return try promise.futureResult.wait()
    }

    /// How long one statement may go unanswered before its connection is given up.
    static let answerTimeout = TimeAmount.seconds(60)

    /// A connection or statement the server did not answer in time.
    struct Unanswered: Error, CustomStringConvertible {
        let seconds: Int64
        var description: String { "the server did not answer within \(seconds) s; the connection was closed" }
    }
}

/// Builds `PostgresBindings` from a list: `binds("a", 1, nil as String?)`.
func binds(_ values: (any PostgresBindable)?...) -> PostgresBindings {
    var bindings = PostgresBindings(capacity: values.count)
    for value in values {
        if let value { value.bind(into: &bindings) } else { bindings.appendNull() }
    }
    return bindings
}

/// A value `binds(_:)` can add.
protocol PostgresBindable {
    func bind(into bindings: inout PostgresBindings)
}

extension String: PostgresBindable {
    func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Int64: PostgresBindable {
    func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Int: PostgresBindable {
    func bind(into bindings: inout PostgresBindings) { bindings.append(Int64(self)) }
}

extension Double: PostgresBindable {
    func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Bool: PostgresBindable {
    func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Array: PostgresBindable where Element: PostgresArrayEncodable {
    // Arrays of these element types always encode; the throwing signature comes from the generic conformance.
    func bind(into bindings: inout PostgresBindings) { try! bindings.append(self) }
}

extension PostgresRow {
    /// Cell `index` as `T` (an optional type for nullable columns).
    func get<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        var iterator = makeIterator()
        for _ in 0..<index { _ = iterator.next() }
        guard let cell = iterator.next() else { throw StateStoreError.queryFailed("", reason: "missing column") }
        return try cell.decode(T.self)
    }
}
