import ArgumentParser
import FerryCore
import FerryEngine
import Foundation

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check manifests, sources and referenced environment variables; change nothing.",
        discussion: """
            Reads only the manifests and their sources: no state, no network. Prints every problem as \
            path:line:column: error: message (hint: …) and exits 1 if any. YAML files under --manifests that are \
            not manifests (no Ferry kind, no model_list) or that a declaration takes as a source are listed as skipped.
            With --offline (a pull request without secrets), an unset os.environ/ reference or key variable is a \
            note instead of an error.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Validate without credentials: unset environment variables are notes, not errors.")
    var offline = false

    func run() async throws {
        bootstrapLogging(level: options.logLevel)
        let console = Console(noColor: options.noColor)
        let manifests: LoadedManifests
        do {
            let configuration = try options.engineConfiguration(
                policy: PlanPolicy(), environment: ProcessInfo.processInfo.environment)
            manifests = try Engine.validate(configuration, offline: offline)
        } catch let failure as ValidationFailed {
            console.report(failure)
            throw ExitCode(1)
        } catch {
            console.error("\(error)")
            throw ExitCode(1)
        }
        for diagnostic in manifests.warnings { console.err(diagnostic.description) }
        if !manifests.skipped.isEmpty {
            console.err("Skipped \(manifests.skipped.count) YAML file(s) that are not manifests:")
            for file in manifests.skipped { console.err("  \(file.path): \(file.reason)") }
        }
        let desired = manifests.desired
        let placements = desired.resolvedPlacements().reduce(0) { $0 + $1.count }
        console.out(
            "Valid: \(desired.files.count) file(s), \(placements) placement(s) on \(desired.endpoints.count) endpoint(s)"
                + (offline ? " (offline: credentials not checked).\n" : ".\n"))
    }
}
