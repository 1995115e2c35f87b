import ArgumentParser
import FerryCore
import FerryEngine
import FerryStore
import Foundation

/// Flags every command that reads manifests or state shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Directory of manifest YAML files (env FERRY_MANIFESTS).")
    var manifests: String = ProcessInfo.processInfo.environment["FERRY_MANIFESTS"] ?? "manifests"

    @Option(
        name: .long,
        help: "Directory sources must stay inside (default: the manifests directory; env FERRY_ROOT).")
    var root: String?

    @OptionGroup var stateOptions: StateOptions

    /// The state location (`--state`, `FERRY_STATE` or the default).
    var state: String { stateOptions.state }
    /// The workspace within the state (`--workspace`).
    var workspace: String { stateOptions.workspace }

    @Flag(name: .long, help: "Disable colours (also when NO_COLOR is set or output is not a terminal).")
    var noColor = false

    @Option(name: .long, help: "Log level for diagnostics on stderr: trace, debug, info, notice, warning, error.")
    var logLevel: String = ProcessInfo.processInfo.environment["FERRY_LOG_LEVEL"] ?? "warning"

    @Option(
        name: .long,
        help: """
            Replace a provider copy that the provider deletes by itself within this long (Gemini files after 48h, \
            OpenAI files with expiresAfter): a fresh copy is uploaded first. Seconds or a duration (90m, 6h, 1d); 0 \
            turns refreshing off (env FERRY_REFRESH_BEFORE_EXPIRY; default 6h).
            """)
    var refreshBeforeExpiry: String = ProcessInfo.processInfo.environment["FERRY_REFRESH_BEFORE_EXPIRY"] ?? "6h"

    func validate() throws {
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
        }
        _ = try refreshMarginSeconds()
    }

    /// `--refresh-before-expiry` in seconds (0: off), checked against the providers' fixed file lifetimes.
    func refreshMarginSeconds() throws -> Int64 {
        let text = refreshBeforeExpiry.trimmingCharacters(in: .whitespaces)
        if text == "0" { return 0 }
        guard let seconds = Expiry.seconds(text) else {
            throw ValidationError("--refresh-before-expiry '\(refreshBeforeExpiry)' is not a duration (e.g. 6h, 90m, 3600)")
        }
        if let problem = Expiry.marginProblem(seconds) {
            throw ValidationError("--refresh-before-expiry \(refreshBeforeExpiry): \(problem)")
        }
        return seconds
    }

    /// Opens the state these options name.
    func openStore(readOnly: Bool = false) throws -> any StateStore {
        try stateOptions.openStore(readOnly: readOnly)
    }

    /// The engine's view of these paths: root, manifests relative to it, and how to print it.
    func engineConfiguration(policy: PlanPolicy, environment: [String: String]) throws -> EngineConfiguration {
        // Every command that plans (plan, apply, reconcile, its --interval loop, drift, demo) gets the same margin.
        var policy = policy
        policy.refreshBeforeExpirySeconds = try refreshMarginSeconds()
        let manifestsURL = URL(fileURLWithPath: manifests).standardizedFileURL
        let rootPath = (root ?? environment["FERRY_ROOT"]).map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? manifestsURL.path
        guard FileManager.default.fileExists(atPath: manifestsURL.path) else {
            throw CLIError(.invalidArgument, "manifests directory \(manifests) does not exist (pass --manifests DIR)")
        }
        let resolvedRoot = try FileSystemSourceTree(root: rootPath).root
        let resolvedManifests = try FileSystemSourceTree(root: manifestsURL.path).root
        guard resolvedManifests == resolvedRoot || resolvedManifests.hasPrefix(resolvedRoot + "/") else {
            throw CLIError(.invalidArgument, "the manifests directory \(manifests) must be inside --root \(rootPath)")
        }
        let relative = resolvedManifests == resolvedRoot ? "" : String(resolvedManifests.dropFirst(resolvedRoot.count + 1))
        let display = root.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? (manifests.hasSuffix("/") ? manifests : manifests + "/")
        return EngineConfiguration(
            root: resolvedRoot, manifestsDirectory: relative, displayRoot: display == "./" ? "" : display,
            environment: environment, policy: policy,
            crashPoint: environment["FERRY_CRASH_AT"].flatMap(CrashPoint.init(rawValue:)))
    }
}

/// `--state` and `--workspace`: where the state lives, for every command that opens it (`serve` included).
struct StateOptions: ParsableArguments {
    // Optional, with the default resolved below: a default taken from FERRY_STATE would be printed by --help,
    // password included.
    @Option(
        name: .customLong("state"),
        help: """
            State: a SQLite file path or postgres://USER@HOST:PORT/DB?sslmode=disable|require \
            (env FERRY_STATE; default .ferry/state.sqlite).
            """)
    var stateOption: String?

    /// `--state`, else `FERRY_STATE`, else `.ferry/state.sqlite`.
    var state: String { stateOption ?? ProcessInfo.processInfo.environment["FERRY_STATE"] ?? ".ferry/state.sqlite" }

    @Option(name: .long, help: "Workspace within the state (env FERRY_WORKSPACE; default 'default').")
    var workspace: String = ProcessInfo.processInfo.environment["FERRY_WORKSPACE"] ?? StateStores.defaultWorkspace

    func validate() throws {
        do {
            try StateStores.validate(workspace: workspace)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Opens the state these options name.
    func openStore(readOnly: Bool = false) throws -> any StateStore {
        try StateStores.open(state, workspace: workspace, readOnly: readOnly)
    }
}

/// Guards that make a plan refuse destructive changes.
struct GuardOptions: ParsableArguments {
    @Option(name: .long, help: "Most files a run may delete because their declarations were removed (default 10).")
    var maxDeletes: Int = 10

    @Flag(name: .long, help: "Allow deleting every owned file when the manifests declare none.")
    var allowEmpty = false

    @Flag(
        name: .long,
        help: """
            Upload declared files even where the provider already holds a matching file this state has no record \
            of (a new or lost state); by default such a plan is refused and 'ferry import' offered.
            """)
    var allowDuplicates = false

    @OptionGroup var scope: ScopeOptions

    func validate() throws {
        guard maxDeletes >= 0 else { throw ValidationError("--max-deletes must be 0 or more") }
    }

    var policy: PlanPolicy {
        PlanPolicy(maxDeletes: maxDeletes, allowEmpty: allowEmpty, allowDuplicates: allowDuplicates, scope: scope.scope)
    }
}

/// `--target` / `--exclude`: limit a plan, apply or reconcile to some declared names.
struct ScopeOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Plan and act only on files whose name (or a leading folder of it, e.g. a FileSet's name) matches this glob (* and ?); repeatable. Prunes are limited to matching names too.
            """)
    var target: [String] = []

    @Option(name: .long, help: "Leave files whose name matches this glob alone (repeatable; wins over --target).")
    var exclude: [String] = []

    func validate() throws {
        for pattern in target + exclude where pattern.isEmpty || pattern.contains(where: { $0.isNewline }) {
            throw ValidationError("--target and --exclude take a non-empty name or glob")
        }
    }

    var scope: PlanScope { PlanScope(targets: target, excludes: exclude) }
}

/// A failure with a message for the user; exits 1. Callers match on `code`, not on the text.
struct CLIError: Error, CustomStringConvertible {
    /// The kind of failure.
    enum Code: String {
        /// A flag or path that cannot work (a missing manifests directory, manifests outside --root).
        case invalidArgument = "invalid argument"
        /// A file named on the command line cannot be read or parsed.
        case unreadableFile = "unreadable file"
        /// An apply that needs a confirmation had no terminal to ask on.
        case notConfirmed = "not confirmed"
    }

    let code: Code
    let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
