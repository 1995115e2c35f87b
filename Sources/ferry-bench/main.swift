// ferry-bench: in-memory benchmarks of Ferry's pure core (no network, no disk).
//
//   swift run -c release ferry-bench planner [--placements 100000] [--runs 7] [--json]
//
// `planner` builds a desired state and provider listings in memory — 100,000 placements (25,000 files on
// 4 endpoints) and 100,000 listed files, most of them converged, some to create, replace, prune or adopt, and
// files Ferry does not own — then runs the real `Planner.plan` several times and prints the median and
// minimum wall time and the process's peak resident memory (getrusage ru_maxrss), with the growth over the
// memory used before the planner ran.
import FerryCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Peak resident set size of this process so far, in bytes.
func peakRSS() -> Int64 {
    var usage = rusage()
    #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
        getrusage(RUSAGE_SELF, &usage)
    #endif
    #if canImport(Darwin)
        return Int64(usage.ru_maxrss)
    #else
        return Int64(usage.ru_maxrss) * 1024
    #endif
}

/// User plus system CPU seconds this process has used.
func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
        getrusage(RUSAGE_SELF, &usage)
    #endif
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Current resident set size, in bytes (Linux: /proc/self/statm; elsewhere the peak).
func currentRSS() -> Int64 {
    #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = text.split(separator: " ")
            if fields.count > 1, let pages = Int64(fields[1]) { return pages * Int64(sysconf(Int32(_SC_PAGESIZE))) }
        }
    #endif
    return peakRSS()
}

func hex64(_ seed: Int) -> String { SHA256Digest.hex("content-\(seed)") }

struct PlannerScenario {
    var input: PlanInput
    var placements: Int
    var listed: Int
    var expected: [String: Int]

    /// 4 endpoints; every file targets all of them. Per placement: 96 % converged, 2 % new, 2 % changed content;
    /// per endpoint also owned files whose declaration was removed (pruned), files uploaded by someone else,
    /// and write-ahead intents (half find their upload and are adopted, half expired).
    static func make(placements: Int) -> PlannerScenario {
        let endpoints = [
            Endpoint(kind: .openai, baseURL: "https://api.openai.com/v1", credential: .environment("OPENAI_API_KEY")),
            Endpoint(kind: .openai, baseURL: "https://litellm.internal/v1", credential: .environment("LITELLM_KEY")),
            Endpoint(
                kind: .azure, baseURL: "https://eu.openai.azure.com", apiVersion: "2024-10-21",
                credential: .environment("AZURE_API_KEY")),
            Endpoint(
                kind: .vertex, baseURL: "https://storage.googleapis.com", bucket: "ferry-files/ferry",
                credential: .environment("GOOGLE_APPLICATION_CREDENTIALS")),
        ]
        let modelNames = ["gpt-4o-mini", "proxy-gpt-4o", "azure-gpt-4o", "gemini-2.0-flash"]
        let models = zip(modelNames, endpoints).map { name, endpoint in
            ModelDefinition(name: name, model: name, provider: endpoint.kind.rawValue, endpoint: endpoint, origin: "models.yaml:1")
        }
        let fileCount = placements / endpoints.count
        var files: [DesiredFile] = []
        var digests: [String: String] = [:]
        files.reserveCapacity(fileCount)
        for index in 0..<fileCount {
            let path = "docs/section-\(index % 250)/document-\(index).md"
            files.append(
                DesiredFile(
                    name: "kb/section-\(index % 250)/document-\(index).md", sourcePath: path, bytes: Int64(1000 + index % 5000),
                    purpose: "assistants", filename: "document-\(index).md", targetModels: modelNames,
                    labels: ["team": "support"], declaredBy: "FileSet kb", origin: "files.yaml:1"))
            digests[path] = hex64(index)
        }
        let desired = DesiredState(files: files, models: models)
        let now: Int64 = 1_760_000_000
        var observations: [String: EndpointObservation] = [:]
        var owned: [OwnedFile] = []
        var intents: [CreateIntent] = []
        var expected: [String: Int] = [:]
        var listed = 0
        let extras = max(1, placements / 400)  // per endpoint: pruned and foreign files each
        for (e, endpoint) in endpoints.enumerated() {
            var listing: [RemoteFile] = []
            func remoteID(_ n: Int) -> String { endpoint.kind == .vertex ? "gs://ferry-files/ferry/\(e)-\(n)" : "file-\(e)x\(n)" }
            for (index, file) in files.enumerated() {
                let bucket = (index * 7 + e * 13) % 100
                if bucket < 2 { expected["create", default: 0] += 1; continue }  // new: nothing anywhere
                let current = bucket >= 4
                let digest = current ? digests[file.sourcePath]! : hex64(-index - 1)
                let id = remoteID(index)
                listing.append(
                    RemoteFile(
                        id: id, filename: file.filename, bytes: file.bytes, purpose: file.purpose,
                        createdAt: now - 86_400 + Int64(index), status: bucket == 50 ? .pending : .processed))
                owned.append(
                    OwnedFile(
                        endpointID: endpoint.id, remoteID: id, file: file.name, digest: digest, bytes: file.bytes,
                        filename: file.filename, purpose: file.purpose, createdAt: now - 86_400 + Int64(index),
                        deletionPolicy: .delete))
                expected[current ? "converged" : "replace", default: 0] += 1
            }
            for n in 0..<extras {
                // Owned, declaration removed: pruned.
                let id = remoteID(1_000_000 + n)
                listing.append(RemoteFile(id: id, filename: "old-\(n).md", bytes: 10, purpose: "assistants", createdAt: now - 90_000))
                owned.append(
                    OwnedFile(
                        endpointID: endpoint.id, remoteID: id, file: "kb/removed/old-\(n).md", digest: hex64(n),
                        bytes: 10, filename: "old-\(n).md", purpose: "assistants", createdAt: now - 90_000, deletionPolicy: .delete))
                expected["delete", default: 0] += 1
                // Someone else's upload: unmanaged, never touched.
                listing.append(
                    RemoteFile(
                        id: remoteID(2_000_000 + n), filename: "foreign-\(n).pdf", bytes: 2048, purpose: "assistants",
                        createdAt: now - 50_000 + Int64(n)))
            }
            // Write-ahead intents: the first half match a foreign upload (adopt), the rest expired long ago.
            for n in 0..<10 {
                let matches = n < 5
                intents.append(
                    CreateIntent(
                        id: Int64(e * 100 + n), endpointID: endpoint.id, file: "kb/interrupted-\(n).md", digest: hex64(n),
                        bytes: 2048, filename: "foreign-\(n).pdf", purpose: "assistants",
                        startedAt: matches ? now - 50_000 + Int64(n) : now - 10 * 86_400))
            }
            listed += listing.count
            observations[endpoint.id] = EndpointObservation(endpointID: endpoint.id, files: listing, observedAt: now - 5)
        }
        // As the state store returns them.
        owned.sort { ($0.file, $0.endpointID, $0.remoteID) < ($1.file, $1.endpointID, $1.remoteID) }
        let input = PlanInput(desired: desired, digests: digests, observations: observations, owned: owned, intents: intents, now: now)
        return PlannerScenario(input: input, placements: fileCount * endpoints.count, listed: listed, expected: expected)
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func runPlanner(arguments: [String]) {
    var placements = 100_000
    var runs = 7
    var json = false
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--placements": placements = Int(iterator.next() ?? "") ?? placements
        case "--runs": runs = max(1, Int(iterator.next() ?? "") ?? runs)
        case "--json": json = true
        default:
            FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
            exit(2)
        }
    }
    let baseline = currentRSS()
    let buildStart = ContinuousClock.now
    let scenario = PlannerScenario.make(placements: placements)
    let buildSeconds = seconds(buildStart.duration(to: .now))
    let inputRSS = currentRSS()
    let peakBefore = peakRSS()
    let policy = PlanPolicy(maxDeletes: nil)
    var times: [Double] = []
    var cpu: [Double] = []
    var plan: Plan?
    for _ in 0..<runs {
        plan = nil  // free the previous plan first, as one real run holds one plan
        let start = ContinuousClock.now
        let cpuStart = cpuSeconds()
        let result = Planner.plan(scenario.input, policy: policy)
        times.append(seconds(start.duration(to: .now)))
        cpu.append(cpuSeconds() - cpuStart)
        plan = result
    }
    let peak = peakRSS()
    let sorted = times.sorted()
    let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    let cpuMedian = cpu.sorted()[cpu.count / 2]
    let counts = plan!.counts
    let unmanaged = plan!.endpoints.reduce(0) { $0 + $1.unmanaged.count }
    let inSync = plan!.placements.filter { $0.state == .inSync }.count
    let mib = { (bytes: Int64) in Double(bytes) / 1_048_576 }
    if json {
        let object: [String: Any] = [
            "placements": scenario.placements, "listed": scenario.listed, "owned": scenario.input.owned.count,
            "runs": runs, "seconds": times, "medianSeconds": median, "minSeconds": sorted[0],
            "cpuSeconds": cpu, "medianCPUSeconds": cpuMedian, "threads": ProcessInfo.processInfo.activeProcessorCount,
            "buildInputSeconds": buildSeconds,
            "baselineRSSBytes": baseline, "inputRSSBytes": inputRSS, "peakRSSBytesBeforePlanning": peakBefore,
            "peakRSSBytes": peak, "planAllocatedRSSBytes": max(0, peak - max(peakBefore, inputRSS)),
            "actions": Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            "placementsInSync": inSync, "unmanaged": unmanaged, "placementStatuses": plan!.placements.count,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    print("Planner: \(scenario.placements) placements, \(scenario.listed) listed files, \(scenario.input.owned.count) owned")
    print("  actions: " + counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
        + "; \(inSync) in sync; \(unmanaged) unmanaged")
    print("  plan wall time: median \(String(format: "%.3f", median)) s, min \(String(format: "%.3f", sorted[0])) s over \(runs) runs; "
        + "CPU (user+sys, all threads) median \(String(format: "%.3f", cpuMedian)) s")
    print("  RSS: baseline \(String(format: "%.1f", mib(baseline))) MiB, with input \(String(format: "%.1f", mib(inputRSS))) MiB, "
        + "peak \(String(format: "%.1f", mib(peak))) MiB (planner added \(String(format: "%.1f", mib(max(0, peak - max(peakBefore, inputRSS))))) MiB)")
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "planner": runPlanner(arguments: Array(arguments.dropFirst()))
default:
    print("usage: ferry-bench planner [--placements N] [--runs N] [--json]")
    exit(arguments.isEmpty ? 0 : 2)
}
