import ArgumentParser
import FerryServer
import FerryStore
import Foundation
import Logging

/// `ferry serve`: the read-only status view over a state database, until SIGINT or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the read-only status view (HTML, JSON API, /v1/files, /metrics) until SIGINT/SIGTERM.",
        discussion: """
            Reads the state database and never writes it. Routes and schemas: docs/status-view.md.
            Set FERRY_STATUS_TOKEN to require 'Authorization: Bearer <token>' on every route except /healthz.
            """)

    @Option(name: .long, help: "Address to listen on: HOST:PORT, [IPV6]:PORT or PORT (loopback by default).")
    var listen: String = "127.0.0.1:8080"

    @OptionGroup var stateOptions: StateOptions

    @Option(
        name: .long,
        help: "Seconds an answer may be reused while the state database is unchanged (0 turns the cache off).")
    var cacheSeconds: Double = 1

    @Option(name: .long, help: "Log level for diagnostics on stderr: trace, debug, info, notice, warning, error.")
    var logLevel: String = ProcessInfo.processInfo.environment["FERRY_LOG_LEVEL"] ?? "warning"

    func validate() throws {
        do {
            _ = try StatusServerConfiguration.parseListen(listen)
        } catch {
            throw ValidationError("\(error)")
        }
        guard cacheSeconds >= 0, cacheSeconds <= 3600 else {
            throw ValidationError("--cache-seconds must be from 0 to 3600")
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
        }
    }

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let console = Console(noColor: true)
        let store: any StateStore
        do {
            store = try stateOptions.openStore(readOnly: true)
        } catch {
            console.error("\(error)")
            throw ExitCode(1)
        }
        let (host, port) = try StatusServerConfiguration.parseListen(listen)
        let token = ProcessInfo.processInfo.environment["FERRY_STATUS_TOKEN"]
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        let server = StatusServer(
            store: store,
            configuration: StatusServerConfiguration(
                host: host, port: port, bearerToken: token, cacheTTL: .milliseconds(Int64(cacheSeconds * 1000)),
                logLevel: level))
        var logger = Logger(label: "ferry.serve")
        logger.logLevel = level
        // SIGTERM and SIGINT start a graceful shutdown: the server stops accepting and lets requests in flight
        // finish, for at most its drain timeout.
        do {
            try await runServices([server], logger: logger) {
                let bound = try await server.listeningPort()
                let shown = host.contains(":") ? "[\(host)]" : host
                let tokenNote = (token ?? "").isEmpty ? "" : "; bearer token required"
                console.out("Status view on http://\(shown):\(bound)/ (state \(store.location)\(tokenNote))\n")
            }
        } catch {
            console.error("cannot serve on \(listen): \(error)")
            throw ExitCode(1)
        }
    }
}
