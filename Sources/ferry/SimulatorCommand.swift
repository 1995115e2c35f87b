import ArgumentParser
import FerryCore
import FerrySimulator
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator",
        abstract:
            "Run the bundled provider simulator (OpenAI, Azure OpenAI, Cloud Storage, Anthropic and Gemini) until SIGINT/SIGTERM.",
        discussion: "Routes, admin API and fault plans: docs/simulator.md.")

    @Option(name: .long, help: "Address to bind (loopback by default).")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to bind; 0 picks a free one (printed on start).")
    var port: Int = 8089

    @Option(name: .long, help: "Keep files in this folder instead of memory.")
    var storage: String?

    @Option(name: .long, help: "JSON fault plan to start with (see docs/simulator.md).")
    var faults: String?

    @Option(
        name: .long,
        help: "Cloud Storage auth: issuedTokens (from its /token endpoint), anyBearerToken, or anonymous (emulator style).")
    var gcsAuth: String = "issuedTokens"

    @Option(name: .long, help: "Largest single-request upload accepted, in bytes (default 512 MiB, OpenAI's limit).")
    var maxUploadBytes: Int64 = 512 * 1024 * 1024

    @Option(
        name: .long,
        help:
            "What Files API creates keep: keep (default) or discard (read and count the bytes, keep none; content downloads answer 410; for benchmarks).")
    var content: String = "keep"

    @Option(name: .long, help: "How long a Gemini file lives before it expires (e.g. 48h, the default, or 30s).")
    var geminiFileLifetime: String = "48h"

    func validate() throws {
        guard let mode = SimulatorContentMode(rawValue: content) else {
            throw ValidationError("--content must be keep or discard")
        }
        if mode == .discard, storage != nil {
            throw ValidationError("--content discard keeps no bytes, so it cannot be combined with --storage")
        }
        guard maxUploadBytes > 0 else { throw ValidationError("--max-upload-bytes must be positive") }
        guard Expiry.seconds(geminiFileLifetime) != nil else {
            throw ValidationError("--gemini-file-lifetime must be a duration such as 48h, 90m or 30s")
        }
        guard GCSAuthentication(rawValue: gcsAuth) != nil else {
            throw ValidationError("--gcs-auth must be issuedTokens, anyBearerToken or anonymous")
        }
    }

    func run() async throws {
        var configuration = SimulatorConfiguration(
            host: host, port: port, storageDirectory: storage, maxUploadBytes: maxUploadBytes,
            gcsAuthentication: GCSAuthentication(rawValue: gcsAuth) ?? .issuedTokens,
            content: SimulatorContentMode(rawValue: content) ?? .keep,
            geminiFileLifetime: .seconds(Expiry.seconds(geminiFileLifetime) ?? 172_800))
        if let faults {
            guard let data = FileManager.default.contents(atPath: faults) else {
                throw CLIError(.unreadableFile, "cannot read fault plan \(faults)")
            }
            do {
                configuration.faults = try JSONDecoder().decode(FaultPlan.self, from: data)
            } catch {
                throw CLIError(.unreadableFile, "\(faults) is not a valid fault plan: \(error)")
            }
        }
        let simulator = Simulator(configuration: configuration)
        let discard = content == "discard" ? "  content: discard (file bytes are counted, not kept)" : ""
        try await runServices([simulator], logger: Logger(label: "ferry.simulator")) {
            let bound = try await simulator.listeningPort()
            FileHandle.standardOutput.write(
                Data(
                    ("Simulator listening on http://\(host):\(bound)  (OpenAI base \(simulator.openAIBaseURL), "
                        + "Anthropic base \(simulator.anthropicBaseURL), Gemini base \(simulator.geminiBaseURL))"
                        + "\(discard)\n").utf8))
        }
    }
}
