import AsyncHTTPClient
import FerryCore
import FerryEngine
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing

/// Invariant 5 (secrets never leave memory), end to end: unique canary credentials go through every command,
/// error paths included (a provider that echoes the request's headers in its error bodies), and the canaries are
/// then searched for in everything Ferry wrote or showed: stdout and stderr at trace level, the saved plan, the
/// JSON plan, every route of the status view, and every file in the workspace (the database, its -wal and -shm).
@Suite("Secrets canary", .serialized)
struct SecretsCanaryTests {
    /// What must never appear, and the places searched.
    final class Canaries: @unchecked Sendable {
        /// Literal needles: each credential whole and recognisable parts of it.
        var needles: [(name: String, value: String)] = []
        /// Credentials Ferry obtains at run time, recognised by shape: the simulator's OAuth access tokens
        /// (`ya29.sim-…`) and the signed JWT assertions Ferry exchanges for them.
        let patterns: [(name: String, regex: String)] = [
            ("access token", #"ya29\.sim-[A-Za-z0-9]{6,}"#),
            ("JWT assertion", #"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"#),
        ]
        private(set) var searched: [String] = []
        private let lock = NSLock()

        func add(_ name: String, _ secret: String) {
            needles.append((name, secret))
            for part in [String(secret.prefix(12)), String(secret.suffix(12))] where part.count == 12 {
                needles.append(("\(name) (part)", part))
            }
        }

        /// The canaries found in `text` (empty when clean).
        func found(in text: String) -> [String] {
            var hits = needles.filter { text.contains($0.value) }.map(\.name)
            hits += patterns.filter { text.range(of: $0.regex, options: .regularExpression) != nil }.map(\.name)
            return hits
        }

        /// Records an issue naming `place` for every canary found in `text`.
        func check(_ text: String, in place: String, sourceLocation: SourceLocation = #_sourceLocation) {
            lock.withLock { searched.append(place) }
            let hits = found(in: text)
            if !hits.isEmpty {
                let excerpt = excerptAround(text)
                Issue.record("secret found in \(place): \(hits.joined(separator: ", "))\n\(excerpt)", sourceLocation: sourceLocation)
            }
        }

        func check(_ result: FerryProcess.Result, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
            check(result.stdout, in: "stdout of \(label)", sourceLocation: sourceLocation)
            check(result.stderr, in: "stderr of \(label)", sourceLocation: sourceLocation)
        }

        private func excerptAround(_ text: String) -> String {
            for needle in needles {
                if let range = text.range(of: needle.value) {
                    let start = text.index(range.lowerBound, offsetBy: -120, limitedBy: text.startIndex) ?? text.startIndex
                    let end = text.index(range.upperBound, offsetBy: 120, limitedBy: text.endIndex) ?? text.endIndex
                    return String(text[start..<end])
                }
            }
            for pattern in patterns {
                if let range = text.range(of: pattern.regex, options: .regularExpression) {
                    let start = text.index(range.lowerBound, offsetBy: -120, limitedBy: text.startIndex) ?? text.startIndex
                    let end = text.index(range.upperBound, offsetBy: 60, limitedBy: text.endIndex) ?? text.endIndex
                    return String(text[start..<end])
                }
            }
            return ""
        }
    }

    static func randomAlphanumerics(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }

    /// The routes the status view registers, read from every source file of `Sources/FerryServer/`, so a route
    /// added later (in any file) is either scanned here or fails this test.
    static func statusRoutesInSource() throws -> [String] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/FerryServer")
        let regex = try NSRegularExpression(pattern: #"router\.get\("([^"]+)"\)"#)
        var routes: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        where name.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            routes += regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
                Range($0.range(at: 1), in: text).map { String(text[$0]) }
            }
        }
        return routes
    }

    /// GETs every status route (each file's `/v1/files/{id}` too, and the error answers), checks each answer's
    /// headers and body, and returns them by path.
    static func scanStatusView(_ base: String, _ canaries: Canaries, label: String) async throws -> [String: FetchedPage] {
        let routes = try statusRoutesInSource()
        let paths = [
            "/", "/healthz", "/readyz", "/metrics", "/api/v1/summary", "/api/v1/files", "/api/v1/placements",
            "/api/v1/endpoints", "/api/v1/runs", "/api/v1/runs?limit=1000", "/api/v1/plan", "/api/v1/vector-stores",
            "/v1/files",
            "/v1/files?limit=1&order=asc&purpose=assistants",
            // Error answers of the view itself.
            "/v1/files/file-ferry-000000000000000000000000", "/api/v1/runs?limit=0", "/v1/files?after=nope", "/nope",
            "/api/v1/resolve/file-ferry-000000000000000000000000?provider=openai",
            "/api/v1/resolve/file-ferry-000000000000000000000000?provider=nope",
        ]
        // Routes with an id are scanned below, once per declared file (and endpoint).
        let perFile = ["/v1/files/:id", "/api/v1/resolve/:id"]
        for route in routes where !perFile.contains(route) {
            #expect(paths.contains(route), "status route \(route) is not scanned by the canary test")
        }
        for route in perFile { #expect(routes.contains(route)) }
        var pages: [String: FetchedPage] = [:]
        for path in paths {
            pages[path] = try await fetch(base + path)
        }
        let listing = try #require(pages["/v1/files"]).json["data"] as? [[String: Any]] ?? []
        #expect(!listing.isEmpty, "\(label): the status view lists no file: \(pages["/v1/files"]?.body ?? "")")
        let endpoints = try #require(pages["/api/v1/endpoints"]).json["endpoints"] as? [[String: Any]] ?? []
        #expect(!endpoints.isEmpty, "\(label): no endpoint in /api/v1/endpoints")
        for id in listing.compactMap({ $0["id"] as? String }) {
            pages["/v1/files/\(id)"] = try await fetch(base + "/v1/files/\(id)")
            #expect(pages["/v1/files/\(id)"]?.status == 200)
            // Resolution on every endpoint (a file not placed on one gets a 404 that names the others).
            for endpoint in endpoints {
                let kind = endpoint["kind"] as? String ?? ""
                var query = "provider=\(kind == "vertex" ? "vertex_ai" : kind)"
                if kind != "vertex", let baseURL = endpoint["baseURL"] as? String {
                    query += "&api_base=" + (baseURL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                }
                let path = "/api/v1/resolve/\(id)?\(query)"
                pages[path] = try await fetch(base + path)
                #expect([200, 404, 409].contains(pages[path]?.status ?? 0), "\(path): \(pages[path]?.body ?? "")")
            }
        }
        for (path, page) in pages {
            canaries.check(page.headers + "\n" + page.body, in: "\(label) GET \(path)")
        }
        return pages
    }

    /// Every regular file under `root` except the inputs the test wrote itself (manifests and the key file).
    static func scanFiles(under root: URL, skipping inputs: [String], _ canaries: Canaries, label: String) -> [String] {
        var scanned: [String] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            let relative = String(url.path.dropFirst(root.path.count + 1))
            if inputs.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) { continue }
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                let data = FileManager.default.contents(atPath: url.path)
            else { continue }
            scanned.append(relative)
            // Binary files (SQLite pages) are searched as Latin-1, so every byte is kept and ASCII keys match.
            canaries.check(String(decoding: data, as: UTF8.self), in: "\(label) file \(relative)")
            canaries.check(String(data: data, encoding: .isoLatin1) ?? "", in: "\(label) file \(relative) (bytes)")
        }
        return scanned
    }

    @Test func canariesNeverLeave() async throws {
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let simulator = workspace.simulator
        let canaries = Canaries()
        let openAIKey = "sk-canary-" + Self.randomAlphanumerics(40)
        let azureKey = Self.randomAlphanumerics(32).lowercased()
        canaries.add("OpenAI key", openAIKey)
        canaries.add("Azure key", azureKey)
        workspace.extraEnvironment["OPENAI_API_KEY"] = openAIKey
        workspace.extraEnvironment["AZURE_API_KEY"] = azureKey
        // Anthropic: its x-api-key.
        let anthropicKey = "sk-ant-canary-" + Self.randomAlphanumerics(40)
        canaries.add("Anthropic key", anthropicKey)
        addAnthropicModel(to: workspace)
        workspace.extraEnvironment["ANTHROPIC_API_KEY"] = anthropicKey
        // Gemini: its x-goog-api-key (never sent to the upload session URL).
        let geminiKey = "AIza-canary-" + Self.randomAlphanumerics(35)
        canaries.add("Gemini key", geminiKey)
        addGeminiModel(to: workspace)
        workspace.extraEnvironment["GEMINI_API_KEY"] = geminiKey

        // Bedrock (S3): the secret access key (requests are SigV4-signed with it; it never goes on the wire) and the
        // session token (sent as X-Amz-Security-Token, so echoed back by the faulty provider below).
        let awsSecret = "aws-canary-" + Self.randomAlphanumerics(40)
        let awsToken = "aws-token-canary-" + Self.randomAlphanumerics(60)
        canaries.add("AWS secret key", awsSecret)
        canaries.add("AWS session token", awsToken)
        addBedrockModel(to: workspace)
        let awsKeyID = "ASIACANARY" + Self.randomAlphanumerics(10).uppercased()
        simulator.addS3Credential(accessKeyID: awsKeyID, secretAccessKey: awsSecret)
        workspace.extraEnvironment["AWS_ACCESS_KEY_ID"] = awsKeyID
        workspace.extraEnvironment["AWS_SECRET_ACCESS_KEY"] = awsSecret
        workspace.extraEnvironment["AWS_SESSION_TOKEN"] = awsToken

        // Vertex AI: a fresh service-account key (checked by the simulator's RS256 verifier); its private key
        // material is a canary, and so is every access token the simulator issues (recognised by shape).
        try installServiceAccount(in: workspace)
        addVertexModel(to: workspace, bucket: "ferry-canary", apiBase: simulator.gcsBaseURL)
        _ = simulator.seedObject(bucket: "ferry-canary", name: "other/data.csv", data: Array("a,b\n".utf8))
        let keyFile = try JSONSerialization.jsonObject(
            with: Data(contentsOf: workspace.root.appendingPathComponent("sa-key.json"))) as? [String: String]
        let pem = try #require(keyFile?["private_key"])
        let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        // Runs of letters and digits from the key's body (the first 64 characters are the same for every key).
        let runs = base64.dropFirst(64).split { !$0.isLetter && !$0.isNumber }.filter { $0.count >= 16 }
        #expect(runs.count >= 8)
        for run in runs.prefix(40) { canaries.add("service-account private key", String(run.prefix(16))) }

        let models = ["gpt-4o-mini", "azure-gpt-4o", "gemini", "claude", "claude-batch", "flash"]
        workspace.declare("handbook", models: models)
        workspace.declare("faq", models: models)
        // A vector store on both OpenAI-style endpoints: its statuses, errors and store calls are scanned too.
        workspace.declareStore("kb", files: ["handbook", "faq"], models: ["gpt-4o-mini", "azure-gpt-4o"])
        let inputs = ["manifests", "sa-key.json"]

        // The scan can fail: with the echo switch on, a provider error body really carries each credential.
        simulator.setFaults(FaultPlan(errorRate: ["*": 1.0], errorStatuses: [401], echoRequestHeaders: true))
        let echoedOpenAI = try await fetch(simulator.openAIBaseURL + "/files", headers: [("Authorization", "Bearer \(openAIKey)")])
        #expect(echoedOpenAI.status == 401)
        #expect(canaries.found(in: echoedOpenAI.body).contains("OpenAI key"))
        let echoedAzure = try await fetch(
            simulator.azureEndpoint + "/openai/files?api-version=2024-10-21", headers: [("api-key", azureKey)])
        #expect(canaries.found(in: echoedAzure.body).contains("Azure key"))
        let echoedAnthropic = try await fetch(
            simulator.anthropicBaseURL + "/v1/files",
            headers: [
                ("x-api-key", anthropicKey), ("anthropic-version", "2023-06-01"),
                ("anthropic-beta", "files-api-2025-04-14"),
            ])
        #expect(canaries.found(in: echoedAnthropic.body).contains("Anthropic key"))
        let echoedGemini = try await fetch(
            simulator.geminiBaseURL + "/v1beta/files", headers: [("x-goog-api-key", geminiKey)])
        #expect(canaries.found(in: echoedGemini.body).contains("Gemini key"))
        let echoedGCS = try await fetch(
            simulator.gcsBaseURL + "/storage/v1/b/ferry-canary/o",
            headers: [("Authorization", "Bearer \(simulator.issueAccessToken())")])
        #expect(canaries.found(in: echoedGCS.body).contains("access token"))
        let echoedS3 = try await fetch(
            simulator.s3Endpoint + "/ferry-batch?list-type=2", headers: [("x-amz-security-token", awsToken)])
        #expect(canaries.found(in: echoedS3.body).contains("AWS session token"))
        #expect(!canaries.found(in: pem).isEmpty)
        #expect(canaries.found(in: "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhQGIuYyJ9.c2ln") == ["JWT assertion"])
        simulator.setFaults(.none)
        simulator.resetStats()

        // 1. Read-only commands.
        let validate = try await FerryProcess.run(["validate", "--log-level", "trace"], in: workspace)
        #expect(validate.status == 0, "\(validate.stderr)")
        canaries.check(validate, "validate")
        let planJSON = try await FerryProcess.run(["plan", "-o", "json", "--log-level", "trace"], in: workspace)
        #expect(planJSON.status == 0, "\(planJSON.stderr)")
        #expect(planJSON.stdout.contains("\"actions\""))
        canaries.check(planJSON, "plan -o json")
        let planFile = workspace.root.appendingPathComponent("out/ferry.plan").path
        try FileManager.default.createDirectory(
            atPath: (planFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let saved = try await FerryProcess.run(["plan", "-out", planFile, "--log-level", "trace"], in: workspace)
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(FileManager.default.fileExists(atPath: planFile))
        canaries.check(saved, "plan -out")
        let markdown = try await FerryProcess.run(["plan", "-o", "markdown"], in: workspace)
        canaries.check(markdown, "plan -o markdown")

        // 2. Apply under faults, every error answer echoing the request's headers: retryable (429, 5xx),
        // terminal (400, 401, 403), ambiguous (accepted then failed) and connection resets, on every route.
        simulator.setFaults(
            FaultPlan(
                seed: 20_261_126, errorRate: ["*": 0.5], errorStatuses: [400, 401, 403, 429, 500, 503],
                retryAfterSeconds: 0, acceptThenFailRate: 0.3, resetConnectionRate: 0.05, echoRequestHeaders: true))
        let savedApply = try await FerryProcess.run(["apply", planFile, "--log-level", "trace"], in: workspace)
        canaries.check(savedApply, "apply PLAN (faults)")
        for round in 1...2 {
            let apply = try await FerryProcess.run(["apply", "--auto-approve", "--log-level", "trace"], in: workspace)
            canaries.check(apply, "apply --auto-approve (faults, round \(round))")
        }
        let faultyReconcile = try await FerryProcess.run(
            ["reconcile", "--log-level", "trace", "--max-rounds", "2", "-o", "json"], in: workspace)
        canaries.check(faultyReconcile, "reconcile -o json (faults)")

        // 3. Errors that stay in the state store: a new file whose creates always fail (terminal, echoed), then
        // listings that always fail (echoed), so placements and endpoints carry error messages for the view.
        workspace.declare("late", models: models)
        simulator.setFaults(
            FaultPlan(
                errorRate: ["create": 1.0, "gcs.upload": 1.0, "upload_create": 1.0, "s3.put": 1.0], errorStatuses: [400],
                echoRequestHeaders: true))
        let failingCreates = try await FerryProcess.run(["reconcile", "--log-level", "trace"], in: workspace)
        #expect(failingCreates.status == 1)
        #expect(failingCreates.stderr.contains("late"))
        canaries.check(failingCreates, "reconcile (creates fail)")
        simulator.setFaults(
            FaultPlan(errorRate: ["list": 1.0, "gcs.list": 1.0, "s3.list": 1.0], errorStatuses: [401], echoRequestHeaders: true))
        let failingLists = try await FerryProcess.run(["reconcile", "--log-level", "trace"], in: workspace)
        #expect(failingLists.status == 1)
        canaries.check(failingLists, "reconcile (listings fail)")
        let stats = simulator.stats()
        #expect(stats.injectedErrors >= 10, "the fault phases injected too few errors: \(stats)")
        #expect(stats.acceptedThenFailed + stats.connectionResets > 0)
        // The echoed bodies really reached Ferry: the stored errors quote them (scrubbed).
        let echoSeen = [savedApply, faultyReconcile, failingCreates, failingLists].contains {
            $0.stderr.contains("Request headers:") || $0.stdout.contains("Request headers:")
        }
        #expect(echoSeen, "no echoed error body reached Ferry's output")

        // 4. The status view while those errors are recorded: `ferry serve` at trace level, and the database
        // files while a reader holds them open (so -wal and -shm exist).
        let serve = try BackgroundFerry(
            ["serve", "--listen", "127.0.0.1:0", "--state", workspace.statePath, "--log-level", "trace"], in: workspace,
            plain: true)
        defer { Task { await serve.stop() } }  // also when a #require fails; stopping twice is harmless
        let base = try await serve.statusURL()
        var pages = try await Self.scanStatusView(base, canaries, label: "serve (errors recorded)")
        let placements = try #require(pages["/api/v1/placements"]).json["placements"] as? [[String: Any]] ?? []
        let errors = placements.compactMap { ($0["lastError"] as? [String: Any])?["message"] as? String }
        #expect(errors.count >= 3, "placements should carry the creates' errors: \(placements)")
        #expect(errors.contains { $0.contains("Request headers:") }, "stored errors should quote the echoed body")
        let endpoints = try #require(pages["/api/v1/endpoints"]).json["endpoints"] as? [[String: Any]] ?? []
        #expect(endpoints.count == models.count, "one endpoint per canary model: \(endpoints)")
        #expect(endpoints.allSatisfy { $0["error"] is String }, "every listing failed last: \(endpoints)")
        #expect(try #require(pages["/"]).body.contains("Request headers:"))
        var files = Self.scanFiles(under: workspace.root, skipping: inputs, canaries, label: "during serve")
        #expect(files.contains("state/state.sqlite"))
        #expect(files.contains("state/state.sqlite-wal"), "\(files)")
        #expect(files.contains("state/state.sqlite-shm"), "\(files)")
        #expect(files.contains("out/ferry.plan"))

        // 5. Faults off: everything converges; the view and the files are scanned again.
        simulator.setFaults(.none)
        let clean = try await FerryProcess.run(["apply", "--auto-approve", "--log-level", "trace"], in: workspace)
        #expect(clean.status == 0, "\(clean.stdout)\n\(clean.stderr)")
        canaries.check(clean, "apply --auto-approve (clean)")
        let reconcile = try await FerryProcess.run(["reconcile", "--log-level", "trace"], in: workspace)
        #expect(reconcile.status == 0, "\(reconcile.stderr)")
        canaries.check(reconcile, "reconcile (clean)")
        #expect(simulator.files(apiKey: openAIKey, flavor: .openai).count == 3)
        #expect(simulator.files(apiKey: azureKey, flavor: .azure).count == 3)
        #expect(simulator.files(apiKey: anthropicKey, flavor: .anthropic).count == 3)
        #expect(simulator.files(apiKey: geminiKey, flavor: .gemini).count == 3)
        let objects = simulator.objects(bucket: "ferry-canary").filter { $0.filename.hasPrefix("ferry/") }
        let owned = try workspace.engine().store.ownedFiles().map(\.remoteID).filter { $0.hasPrefix("gs://") }
        #expect(objects.count == 3, "objects \(objects.map { ($0.filename, $0.createdAt) }), owned \(owned)")
        pages = try await Self.scanStatusView(base, canaries, label: "serve (converged)")
        #expect(try #require(pages["/api/v1/summary"]).json["ready"] as? Bool == true)
        files = Self.scanFiles(under: workspace.root, skipping: inputs, canaries, label: "during serve, converged")

        // 6. The reconciler with its own status view (`reconcile --interval --listen`), one failing pass.
        simulator.setFaults(FaultPlan(errorRate: ["list": 1.0], errorStatuses: [403], echoRequestHeaders: true))
        let loop = try BackgroundFerry(
            ["reconcile", "--interval", "1h", "--listen", "127.0.0.1:0", "--log-level", "trace"], in: workspace)
        defer { Task { await loop.stop() } }
        let loopBase = try await loop.statusURL()
        for _ in 0..<600 where !loop.stderr.contains("Next pass in") { try await Task.sleep(for: .milliseconds(50)) }
        #expect(loop.stderr.contains("Next pass in"))
        _ = try await Self.scanStatusView(loopBase, canaries, label: "reconcile --listen")
        let loopStatus = await loop.stop()
        #expect(loopStatus == 0)
        canaries.check(loop.stdout, in: "stdout of reconcile --interval --listen")
        canaries.check(loop.stderr, in: "stderr of reconcile --interval --listen")
        simulator.setFaults(.none)

        let finalPlan = try await FerryProcess.run(["plan", "-o", "json", "--log-level", "trace"], in: workspace)
        canaries.check(finalPlan, "plan -o json (final)")
        files = Self.scanFiles(under: workspace.root, skipping: inputs, canaries, label: "during serve, final")
        #expect(await serve.stop() == 0)
        canaries.check(serve.stdout, in: "stdout of serve")
        canaries.check(serve.stderr, in: "stderr of serve")
        files = Self.scanFiles(under: workspace.root, skipping: inputs, canaries, label: "after exit")
        #expect(files.contains("state/state.sqlite"))
        #expect(canaries.searched.count > 120, "only \(canaries.searched.count) places searched")
    }

    /// The PostgreSQL password (`--state postgres://USER:PASSWORD@…`, or `PGPASSWORD`) never appears in output at
    /// trace level, errors, the status view, nor in any row Ferry stored; locations are shown as `USER:***@…`.
    @Test(.enabled(if: StateBackend.all.contains(.postgres))) func postgresPasswordNeverLeaves() async throws {
        let url = try StateBackend.postgresURL()
        let password = try #require(URLComponents(string: url)?.password)
        let name = StateBackend.freshWorkspace()
        let workspace = try await Workspace()
        defer { Task { await workspace.close() } }
        let canaries = Canaries()
        canaries.add("PostgreSQL password", password)
        workspace.declare("handbook", models: ["gpt-4o-mini", "azure-gpt-4o"])
        let state = ["--state", url, "--workspace", name, "--log-level", "trace"]

        for command in [["validate"], ["plan", "-o", "json"], ["apply", "--auto-approve"], ["reconcile"], ["plan"]] {
            let result = try await FerryProcess.run(command + state, in: workspace)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            canaries.check(result, command.joined(separator: " "))
        }
        // The password from PGPASSWORD instead of the URL.
        var bare = URLComponents(string: url)!
        bare.password = nil
        workspace.extraEnvironment["PGPASSWORD"] = password
        let viaEnvironment = try await FerryProcess.run(
            ["plan", "--state", bare.string!, "--workspace", name, "--log-level", "trace"], in: workspace)
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.stderr)")
        canaries.check(viaEnvironment, "plan (PGPASSWORD)")
        workspace.extraEnvironment["PGPASSWORD"] = nil
        // Errors: a wrong password, a server that is not there; both name the location with *** instead.
        var wrong = URLComponents(string: url)!
        wrong.password = password + "x"
        let refused = try await FerryProcess.run(["plan", "--state", wrong.string!, "--workspace", name], in: workspace)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains(":***@"), "\(refused.stderr)")
        canaries.check(refused, "plan (wrong password)")
        var nowhere = URLComponents(string: url)!
        nowhere.port = 1
        let unreachable = try await FerryProcess.run(["reconcile", "--state", nowhere.string!], in: workspace)
        #expect(unreachable.status == 1)
        canaries.check(unreachable, "reconcile (no server)")
        // Help texts show defaults: one taken from FERRY_STATE would print the password.
        for command in [["plan", "--help"], ["serve", "--help"], ["state", "unlock", "--help"]] {
            let help = try await FerryProcess.run(command, in: workspace, extraEnvironment: ["FERRY_STATE": url])
            #expect(help.stdout.contains("--state"), "\(help.stdout)")
            canaries.check(help, command.joined(separator: " "))
        }
        // The lock commands and the status view.
        let lock = try await FerryProcess.run(["state", "lock", "--state", url, "--workspace", name], in: workspace)
        #expect(lock.status == 0 && lock.stdout.contains("is free"), "\(lock.stdout)\(lock.stderr)")
        canaries.check(lock, "state lock")
        let unlock = try await FerryProcess.run(
            ["state", "unlock", "--force", "--state", url, "--workspace", name], in: workspace)
        canaries.check(unlock, "state unlock")
        let serve = try BackgroundFerry(["serve", "--listen", "127.0.0.1:0"] + state, in: workspace, plain: true)
        defer { Task { await serve.stop() } }
        _ = try await Self.scanStatusView(try await serve.statusURL(), canaries, label: "serve (PostgreSQL)")
        #expect(await serve.stop() == 0)
        canaries.check(serve.stdout, in: "stdout of serve (PostgreSQL)")
        canaries.check(serve.stderr, in: "stderr of serve (PostgreSQL)")
        #expect(serve.stdout.contains(":***@"), "\(serve.stdout)")
        // Every row of this workspace, as text.
        for table in [
            "endpoints", "observed_files", "owned_files", "intents", "digest_cache", "runs", "run_events",
            "placement_errors", "desired_files", "placements", "leases", "request_stats", "snapshots",
        ] {
            let rows = try PostgresTestServer.execute(
                "SELECT string_agg(t::text, E'\\n') FROM ferry.\(table) t WHERE workspace = '\(name)'")
            canaries.check(rows.compactMap { $0 }.joined(separator: "\n"), in: "table ferry.\(table)")
        }
        let runs = try PostgresTestServer.execute("SELECT count(*)::text FROM ferry.runs WHERE workspace = '\(name)'")
        #expect(Int(runs.first.flatMap { $0 } ?? "0") ?? 0 >= 4)
    }
}
