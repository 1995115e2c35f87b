import ArgumentParser
import FerryCore
import FerryEngine
import FerryStore
import FerrySimulator
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Ferry end to end on the bundled simulator and the example manifests; no API keys needed.",
        discussion: """
            Starts the provider simulator on 127.0.0.1, points the example manifests' os.environ/ references at it,
            then runs plan, apply and a second plan that must show no changes and send only list requests.
            Uses a fresh state database in a temporary folder unless --state is given. With --litellm, it then
            sends one chat request naming a unified id through a LiteLLM proxy with Ferry's callback.
            """)

    @Option(name: .long, help: "Directory of manifest YAML files.")
    var manifests: String = "manifests"

    @Option(name: .long, help: "State database (default: a new temporary file).")
    var state: String?

    @Flag(name: .long, help: "Disable colours.")
    var noColor = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A litellm executable (litellm[proxy]==1.108.7): after converging, send one request that names a unified "
                + "id through a LiteLLM proxy with Ferry's callback, and show what the provider received "
                + "(env FERRY_DEMO_LITELLM).",
            valueName: "PATH"))
    var litellm: String = ProcessInfo.processInfo.environment["FERRY_DEMO_LITELLM"] ?? ""

    func run() async throws {
        let console = Console(noColor: noColor)
        // Cloud Storage is reached the way emulators are (STORAGE_EMULATOR_HOST), so it takes anonymous requests.
        let simulator = Simulator(configuration: SimulatorConfiguration(gcsAuthentication: .anonymous))
        let succeeded = try await withServices([simulator], logger: Logger(label: "ferry.demo")) {
            try await demo(on: simulator, console: console)
        }
        console.out(succeeded ? "\nDemo converged.\n" : "\nDemo did not converge.\n")
        if !succeeded { throw ExitCode(1) }
    }

    /// plan → apply → plan against a running simulator; true when the second plan is empty and sent only lists.
    func demo(on simulator: Simulator, console: Console) async throws -> Bool {
        let port = try await simulator.listeningPort()
        let openAIKey = "sk-ferry-demo-openai"
        let azureKey = "ferry-demo-azure"
        var environment = ProcessInfo.processInfo.environment
        environment["OPENAI_API_BASE"] = simulator.openAIBaseURL
        environment["OPENAI_API_KEY"] = openAIKey
        environment["AZURE_API_BASE"] = simulator.azureEndpoint
        environment["AZURE_API_KEY"] = azureKey
        // No example file targets claude-sonnet, so nothing is listed there; a copy of the manifests that targets it
        // places its files on the simulator's Anthropic flavor.
        environment["ANTHROPIC_API_BASE"] = simulator.anthropicBaseURL
        environment["ANTHROPIC_API_KEY"] = "sk-ant-ferry-demo"
        // Likewise for gemini/ models on the simulator's Gemini flavor.
        environment["GEMINI_API_BASE"] = simulator.geminiBaseURL
        environment["GEMINI_API_KEY"] = "gm-ferry-demo"
        environment["STORAGE_EMULATOR_HOST"] = simulator.gcsBaseURL
        environment["GCS_BUCKET_NAME"] = "ferry-demo"
        let statePath = state ?? (NSTemporaryDirectory() + "ferry-demo-\(UUID().uuidString.prefix(8))/state.sqlite")
        console.err("Simulator on 127.0.0.1:\(port); state in \(StateStores.redacted(statePath))")

        // A file someone else uploaded: Ferry must list it as unmanaged and never touch it.
        simulator.seedFile(
            apiKey: openAIKey, filename: "someone-elses-notes.txt", purpose: "user_data",
            data: Array("uploaded by hand, not by Ferry\n".utf8), createdAt: 1_700_000_000)

        // The bucket exists already and holds someone else's object, outside Ferry's prefix: left alone too.
        _ = simulator.seedObject(
            bucket: "ferry-demo", name: "reports/q3.csv", data: Array("quarter,revenue\nq3,42\n".utf8),
            createdAt: 1_700_000_000)

        var options = try GlobalOptions.parse(["--manifests", manifests, "--state", statePath])
        options.noColor = noColor
        var succeeded = false
        do {
            try await withRuntime(options, policy: PlanPolicy(), environment: environment) { runtime in
                func heading(_ text: String) {
                    console.out("\n" + (console.colorStdout ? "\u{1B}[1m\(text)\u{1B}[0m" : text) + "\n\n")
                }

                heading("$ ferry plan")
                let first = try await runtime.engine.planPass(validated: runtime.manifests)
                try runtime.printPlan(first.plan, format: .text)

                heading("$ ferry apply --auto-approve")
                let applied = try await runtime.engine.reconcilePass(validated: runtime.manifests, maxRounds: 3)
                let report = applied.report
                console.out(
                    "Apply complete: \(report.applied) action(s) applied, \(report.failures.count) failed "
                        + "(\(report.outcome.rawValue)).\n")
                for (action, message) in report.failures {
                    console.error("\(action.kind.rawValue) \(action.file): \(message)")
                }

                heading("$ ferry plan   # again: nothing left to do")
                simulator.resetStats()
                let before = runtime.engine.requestCount()
                let second = try await runtime.engine.planPass(validated: runtime.manifests)
                try runtime.printPlan(second.plan, format: .text)
                let stats = simulator.stats()
                // Anything but a listing (a store's files are listed under its id) means the plan was not converged.
                let nonList = stats.requests.filter {
                    !$0.key.hasPrefix("GET ") || ($0.key.contains("{id}") && !$0.key.hasSuffix("{id}/files"))
                }
                let counts = stats.requests.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                console.out(
                    "\nRequests for the converged plan: \(runtime.engine.requestCount() - before) "
                        + "(\(counts.joined(separator: ", "))).\n")
                let converged = report.outcome == .converged && second.plan.isEmpty && nonList.isEmpty
                succeeded = converged
                return converged ? 0 : 1
            }
        } catch let exit as ExitCode where exit.rawValue == 1 {
            return false
        }
        guard succeeded else { return false }
        guard !litellm.isEmpty else {
            console.out(LiteLLMDemo.howTo)
            return true
        }
        console.out("\n" + (console.colorStdout ? "\u{1B}[1m$ # through LiteLLM\u{1B}[0m" : "$ # through LiteLLM") + "\n")
        return await LiteLLMDemo(
            executable: litellm, manifests: manifests, statePath: statePath, environment: environment, console: console
        ).run(simulator: simulator)
    }
}
