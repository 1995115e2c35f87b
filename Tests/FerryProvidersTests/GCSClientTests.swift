import AsyncHTTPClient
import Crypto
import FerryCore
import FerrySimulator
import FerryTestSupport
import Foundation
import Testing
import _CryptoExtras

@testable import FerryProviders

/// A JWT signer for tests: HMAC-SHA256 (HS256) with a fixed key, so no RSA key is needed.
struct TestSigner: JWTSigner {
    let algorithm = "HS256"
    func sign(_ message: [UInt8]) throws -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array("k".utf8))))
    }
}

/// Wall-clock seconds that move only when a test says so.
final class ManualWallClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double
    init(start: Double = 1_000_000) { value = start }
    var now: Double { lock.withLock { value } }
    func advance(_ seconds: Double) { lock.withLock { value += seconds } }
}

@Suite struct GCSLayoutTests {
    /// The bucket setting splits into bucket and prefix, with or without `gs://` and slashes.
    @Test func bucketSetting() throws {
        let plain = try #require(GCSLayout(bucketSetting: "my-bucket"))
        #expect(plain.bucket == "my-bucket" && plain.prefix == "")
        let prefixed = try #require(GCSLayout(bucketSetting: "gs://my-bucket/ferry/files/"))
        #expect(prefixed.bucket == "my-bucket" && prefixed.prefix == "ferry/files/")
        #expect(GCSLayout(bucketSetting: "") == nil)
        #expect(GCSLayout(bucketSetting: "/x") == nil)
    }

    /// Object names carry purpose and file name, survive a listing, and never contain a stray `/`.
    @Test func objectNamesRoundTrip() throws {
        let layout = try #require(GCSLayout(bucketSetting: "b/ferry"))
        let name = layout.objectName(purpose: "user_data", filename: "a/b\nc.pdf", unique: "0123456789abcdef")
        #expect(name == "ferry/user_data/0123456789abcdef/a_b_c.pdf")
        let json = #"{"name":"\#(name)","bucket":"b","size":"42","timeCreated":"2024-05-01T12:00:00.250Z"}"#
        let object = try JSONDecoder().decode(GCSObject.self, from: Data(json.utf8))
        let file = layout.remoteFile(object)
        #expect(file.id == "gs://b/\(name)")
        #expect(file.filename == "a_b_c.pdf" && file.purpose == "user_data" && file.bytes == 42)
        #expect(file.createdAt == 1_714_564_800)
        #expect(GCSLayout.parse(fileID: file.id)! == ("b", name))
    }

    /// Objects someone else put under the prefix keep their relative name and no purpose.
    @Test func foreignObjects() throws {
        let layout = try #require(GCSLayout(bucketSetting: "b/ferry"))
        let object = try JSONDecoder().decode(GCSObject.self, from: Data(#"{"name":"ferry/notes.txt","size":3}"#.utf8))
        let file = layout.remoteFile(object)
        #expect(file.filename == "notes.txt" && file.purpose == "" && file.id == "gs://b/ferry/notes.txt")
        #expect(GCSLayout.parse(fileID: "file-abc") == nil)
        #expect(GCSLayout.parse(fileID: "gs://bucket-only") == nil)
    }

    /// Cuts are the names under the prefix, in byte order, once each; the ranges between them hold every name once.
    @Test func nameRanges() {
        let cuts = GCSNameRanges.cuts(
            objectNames: ["p/b", "p/é", "q/x", "p/", "p/Z", "p/b", "p/z"], prefix: "p/")
        #expect(cuts == ["p/Z", "p/b", "p/z", "p/é"])
        let bounds = GCSNameRanges.bounds(cuts)
        #expect(bounds.map(\.start) == [nil, "p/Z", "p/b", "p/z", "p/é"])
        #expect(bounds.map(\.end) == ["p/Z", "p/b", "p/z", "p/é", nil])
        for name in ["p/", "p/A", "p/Z", "p/Za", "p/b", "p/y", "p/z", "p/zz", "p/é", "p/éé", "p/\u{10FFFF}"] {
            let holding = bounds.filter { GCSNameRanges.contains(name, from: $0.start, to: $0.end) }
            #expect(holding.count == 1, "\(name)")
        }
        #expect(GCSNameRanges.bounds([]).count == 1)
        #expect(GCSNameRanges.cuts(objectNames: ["a", "b"], prefix: "") == ["a", "b"])
    }

    /// RFC 3339 timestamps with fractions and offsets.
    @Test func rfc3339() {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2024-05-01T12:00:00.250Z") == 1_714_564_800)
        #expect(RFC3339.parse("2024-05-01T14:00:00+02:00") == 1_714_564_800)
        #expect(RFC3339.parse("2024-05-01 12:00:00") == nil)
        #expect(RFC3339.parse("2024-13-01T12:00:00Z") == nil)
    }

    /// The JWT has the header, claims and signature Google's token endpoint expects.
    @Test func jwtShape() throws {
        let key = ServiceAccountKey(
            clientEmail: "ferry@project.iam.gserviceaccount.com", privateKey: Secret("unused"), privateKeyID: "kid-1"
        )
        let jwt = try ServiceAccountJWT.make(
            key: key, scope: ServiceAccountJWT.storageScope, now: 1000, signer: TestSigner())
        let parts = jwt.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        func decode(_ part: String) throws -> [String: Any] {
            var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            let data = try #require(Data(base64Encoded: base64))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        let header = try decode(parts[0])
        #expect(
            header["alg"] as? String == "HS256" && header["typ"] as? String == "JWT"
                && header["kid"] as? String == "kid-1")
        let claims = try decode(parts[1])
        #expect(claims["iss"] as? String == "ferry@project.iam.gserviceaccount.com")
        #expect(claims["aud"] as? String == "https://oauth2.googleapis.com/token")
        #expect(claims["scope"] as? String == "https://www.googleapis.com/auth/devstorage.read_write")
        #expect(claims["iat"] as? Int == 1000 && claims["exp"] as? Int == 4600)
        let expected = try TestSigner().sign(Array("\(parts[0]).\(parts[1])".utf8))
        #expect(parts[2] == ServiceAccountJWT.base64URL(Data(expected)))
    }

    /// Credentials are read from JSON, a file or a token; errors name the reference, never the value.
    @Test func credentialParsing() throws {
        let endpoint = Endpoint(kind: .vertex, baseURL: "", bucket: "b", credential: .environment("GCP_KEY"))
        if case .anonymous = try GoogleCredentials(secret: nil, endpoint: endpoint) {} else { Issue.record("nil") }
        if case .accessToken(let token) = try GoogleCredentials(secret: Secret(" ya29.token\n"), endpoint: endpoint) {
            #expect(token.value == "ya29.token")
        } else {
            Issue.record("token")
        }
        let json = #"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nSECRETKEY\n","project_id":"p"}"#
        guard case .serviceAccount(let key) = try GoogleCredentials(secret: Secret(json), endpoint: endpoint) else {
            Issue.record("service account")
            return
        }
        #expect(
            key.clientEmail == "a@b" && key.projectID == "p" && key.tokenURI == "https://oauth2.googleapis.com/token")
        do {
            _ = try GoogleCredentials(secret: Secret(#"{"private_key":"SECRETKEY"}"#), endpoint: endpoint)
            Issue.record("expected a refusal")
        } catch let error as ProviderError {
            #expect(error.code == .invalidConfiguration)
            #expect(error.description.contains("env:GCP_KEY") && !error.description.contains("SECRETKEY"))
        }
    }
}

@Suite struct GCSClientIntegrationTests {
    static let bucket = "ferry-test"
    static let email = "ferry@p.iam.gserviceaccount.com"

    /// Runs `body` with a running simulator (Cloud Storage requests need `authentication`) and an HTTP client, and
    /// stops both whatever happens.
    private func withGCS(
        _ authentication: GCSAuthentication = .anonymous, _ body: (Simulator, HTTPClient) async throws -> Void
    ) async throws {
        let simulator = Simulator(
            configuration: SimulatorConfiguration(logLevel: .critical, gcsAuthentication: authentication))
        let host = ServiceHost(simulator)
        let http = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: ProviderClientConfiguration().makeHTTPClientConfiguration()
        )
        do {
            _ = try await simulator.listeningPort()
            try await body(simulator, http)
        } catch {
            try? await http.shutdown()
            await host.stopQuietly()
            throw error
        }
        try await http.shutdown()
        try await host.stop()
    }

    private func endpoint(_ bucket: String = "\(Self.bucket)/ferry") -> Endpoint {
        Endpoint(
            kind: .vertex, baseURL: "https://us-central1-aiplatform.googleapis.com", bucket: bucket, credential: .none)
    }

    /// A client for the emulator, made the way the CLI makes it (STORAGE_EMULATOR_HOST, anonymous).
    private func emulatorClient(
        _ simulator: Simulator, _ http: HTTPClient, configure: (inout ProviderClientConfiguration) -> Void = { _ in }
    ) throws -> GCSClient {
        var configuration = ProviderClientConfiguration(clock: .system.sleeping { _ in })
        configure(&configuration)
        let provider = try ProviderFactory.makeProvider(
            endpoint: endpoint(), apiKey: Secret("ignored with an emulator"), httpClient: http,
            configuration: configuration, environment: ["STORAGE_EMULATOR_HOST": "127.0.0.1:\(simulator.port)"]
        )
        return try #require(provider as? GCSClient)
    }

    /// Requests the simulator counted for a route key.
    private func count(_ simulator: Simulator, _ route: String) -> Int { simulator.stats().requests[route] ?? 0 }

    static let uploadRoute = "POST /upload/storage/v1/b/{bucket}/o"
    static let sessionRoute = "PUT /upload/storage/v1/b/{bucket}/o"
    static let listRoute = "GET /storage/v1/b/{bucket}/o"
    static let tokenRoute = "POST /token"

    private func names(_ simulator: Simulator) -> [String] { simulator.objects(bucket: Self.bucket).map(\.filename) }

    /// create, list, retrieve, content, delete against the emulator; the bytes come back identical.
    @Test func mediaRoundTrip() async throws {
        try await withGCS { simulator, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(300_000, seed: 11)
            let source = try directory.write("doc.pdf", data)
            let client = try emulatorClient(simulator, http)
            #expect(client.storageBaseURL == simulator.gcsBaseURL)

            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "doc.pdf", purpose: "user_data", bytes: 300_000)
            )
            #expect(created.id.hasPrefix("gs://\(Self.bucket)/ferry/user_data/"))
            #expect(created.id.hasSuffix("/doc.pdf"))
            #expect(created.filename == "doc.pdf" && created.purpose == "user_data" && created.bytes == 300_000)
            let (_, object) = try #require(GCSLayout.parse(fileID: created.id))
            #expect(simulator.objectContent(bucket: Self.bucket, name: object) == data)

            simulator.seedObject(bucket: Self.bucket, name: "elsewhere/not-ours.txt", data: [1])
            let listing = try await client.list()
            #expect(listing.files == [created])
            #expect(try await client.retrieve(id: created.id) == created)
            let target = directory.path + "/doc.out"
            #expect(try await client.content(id: created.id, to: target) == 300_000)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: target))) == data)

            try await client.delete(id: created.id)
            try await client.delete(id: created.id)
            let missing = await expectProviderError { _ = try await client.retrieve(id: created.id) }
            #expect(missing?.classification == .notFound)
            #expect(names(simulator) == ["elsewhere/not-ours.txt"])
        }
    }

    /// Token pages are followed to the end; an empty page that points further is fine for Cloud Storage.
    @Test func pagination() async throws {
        try await withGCS { simulator, http in
            for index in 0..<7 {
                simulator.seedObject(
                    bucket: Self.bucket, name: "ferry/batch/u\(index)/f\(index).jsonl", data: [UInt8(index)])
            }
            simulator.setFaults(FaultPlan(gcsEmptyFirstPage: true))
            let client = try emulatorClient(simulator, http) { $0.pageSize = 3 }
            let listing = try await client.list()
            #expect(listing.files.map(\.filename) == (0..<7).map { "f\($0).jsonl" })
            #expect(listing.pages == 4)
        }
    }

    /// Listed in name ranges at once, a bucket gives exactly the files of one chain of pages, in the same order:
    /// cuts from another bucket, other ids and names outside the prefix are ignored, names compare as bytes
    /// (uppercase before lowercase, `é` after `z`), and each range is its own chain of pages.
    @Test func rangesListWhatOneChainLists() async throws {
        try await withGCS { simulator, http in
            let names = (0..<20).map { "ferry/batch/u\($0 % 7)\($0)/f\($0).jsonl" }
                + ["ferry/batch/Z/upper.jsonl", "ferry/batch/z/lower.jsonl", "ferry/batch/é/accent.jsonl"]
            for (index, name) in names.enumerated() {
                simulator.seedObject(bucket: Self.bucket, name: name, data: [UInt8(index)])
            }
            simulator.seedObject(bucket: Self.bucket, name: "elsewhere/not-ours.txt", data: [1])
            simulator.seedObject(bucket: Self.bucket, name: "ferrz/not-ours.txt", data: [1])
            let client = try emulatorClient(simulator, http) { $0.pageSize = 3 }
            let chain = try await client.list()
            #expect(chain.files.count == names.count)
            #expect(chain.pages == 8)

            let ids = chain.files.map(\.id)
            let cuts = [ids[17], ids[5], ids[5], ids[11], ids[22], "gs://other-bucket/ferry/batch/x", "file-abc"]
            simulator.resetStats()
            let ranged = try await client.list(splitAt: cuts)
            #expect(ranged.files == chain.files)
            // Five ranges ([start, 5), [5, 11), [11, 17), [17, 22), [22, end)), each a chain of pages of three.
            #expect(ranged.pages == 2 + 2 + 2 + 2 + 1)
            #expect(count(simulator, Self.listRoute) == ranged.pages)
            #expect(try await client.list(splitAt: []) == chain)
        }
    }

    /// A server that ignores `startOffset`/`endOffset` answers every range with every object: the client notices,
    /// lists in one chain, and does not split again.
    @Test func ignoredRangesFallBackToOneChain() async throws {
        try await withGCS { simulator, http in
            for index in 0..<10 {
                simulator.seedObject(bucket: Self.bucket, name: "ferry/batch/u\(index)/f\(index).jsonl", data: [1])
            }
            simulator.setFaults(FaultPlan(gcsIgnoreOffsets: true))
            let client = try emulatorClient(simulator, http) { $0.pageSize = 4 }
            let chain = try await client.list()
            let cuts = [chain.files[3].id, chain.files[7].id]
            #expect(try await client.list(splitAt: cuts) == chain)
            simulator.resetStats()
            #expect(try await client.list(splitAt: cuts) == chain)
            #expect(count(simulator, Self.listRoute) == chain.pages)
        }
    }

    /// A page token that never changes stops the listing instead of looping.
    @Test func stuckPageToken() async throws {
        try await withGCS { simulator, http in
            simulator.seedObject(bucket: Self.bucket, name: "ferry/batch/u/f.jsonl", data: [1])
            simulator.setFaults(FaultPlan(gcsStuckPageToken: true))
            let client = try emulatorClient(simulator, http)
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.code == .paginationStalled)
            #expect(error?.classification == .terminal)
            #expect(count(simulator, Self.listRoute) == 2)
        }
    }

    /// A create whose answer was lost is repeated safely: the repeat meets 412 and adopts the stored object.
    @Test func lostAnswerOnCreateIsAdoptedNotDuplicated() async throws {
        try await withGCS { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.txt", Array("hello".utf8))
            simulator.setFaults(FaultPlan(acceptThenFailRate: 1))
            let client = try emulatorClient(simulator, http)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "a.txt", purpose: "batch", bytes: 5)
            )
            #expect(count(simulator, Self.uploadRoute) == 2)
            #expect(simulator.stats().acceptedThenFailed == 1)
            #expect(names(simulator).count == 1)
            #expect(try await client.list().files.map(\.id) == [created.id])
            #expect(client.stats[.create].retries == 1)
        }
    }

    /// A 503 on a media upload is retried and leaves one object.
    @Test func refusedCreateIsRetried() async throws {
        try await withGCS { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("b.txt", Array("bbb".utf8))
            simulator.setFaults(FaultPlan(failNext: ["gcs.upload": [503, 500]]))
            let client = try emulatorClient(simulator, http)
            _ = try await client.create(
                UploadRequest(sourcePath: source, filename: "b.txt", purpose: "batch", bytes: 3))
            #expect(count(simulator, Self.uploadRoute) == 3)
            #expect(simulator.stats().injectedErrorsByStatus == ["503": 1, "500": 1])
            #expect(names(simulator).count == 1)
        }
    }

    /// A large file goes through a resumable session; after a partial write it resumes where the session stopped.
    @Test func resumableUploadResumes() async throws {
        try await withGCS { simulator, http in
            let directory = try TemporaryDirectory()
            // Cloud Storage keeps whole multiples of 256 KiB of a broken chunk: 262,144 of these bytes survive.
            let data = randomBytes(700_000, seed: 12)
            let source = try directory.write("big.bin", data)
            simulator.setFaults(FaultPlan(truncateNextChunks: [300_000]))
            let client = try emulatorClient(simulator, http) { $0.largeFileThreshold = 1000 }
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "big.bin", purpose: "batch", bytes: 700_000)
            )
            let (_, object) = try #require(GCSLayout.parse(fileID: created.id))
            #expect(simulator.objectContent(bucket: Self.bucket, name: object) == data)
            #expect(created.bytes == 700_000)
            #expect(count(simulator, Self.uploadRoute) == 1)  // the session start, no media upload
            // Status, data (cut at 262,144 bytes, 503), status (Range: bytes=0-262143), the rest.
            #expect(count(simulator, Self.sessionRoute) == 4)
            #expect(simulator.stats().injectedErrorsByStatus == ["503": 1])
            #expect(simulator.stats().bytesUploaded == 700_000)
        }
    }

    /// A wrong-size source is refused before a session is opened.
    @Test func resumableSizeMismatch() async throws {
        try await withGCS { simulator, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("short.bin", randomBytes(1500))
            let client = try emulatorClient(simulator, http) { $0.largeFileThreshold = 1000 }
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "s", purpose: "batch", bytes: 1600))
            }
            #expect(error?.code == .sourceChanged)
            #expect(simulator.stats().total == 0)
        }
    }

    /// A service-account key (RS256, as Google requires) whose JWTs go to the simulator's token endpoint.
    private static func serviceAccountKey(_ simulator: Simulator) -> ServiceAccountKey {
        ServiceAccountKey(
            clientEmail: email, privateKey: Secret("unused: the tests pass a signer"), privateKeyID: "kid",
            tokenURI: simulator.tokenURL)
    }

    private func serviceAccountClient(
        _ simulator: Simulator, _ http: HTTPClient, signingKey: _RSA.Signing.PrivateKey,
        maxConcurrentRequests: Int = 8
    ) throws -> GCSClient {
        try GCSClient(
            endpoint: endpoint(), credentials: .serviceAccount(Self.serviceAccountKey(simulator)), httpClient: http,
            configuration: ProviderClientConfiguration(maxConcurrentRequests: maxConcurrentRequests, clock: .system.sleeping { _ in }),
            storageBaseURL: simulator.gcsBaseURL, tokenURL: simulator.tokenURL,
            signer: try RS256Signer(pem: signingKey.pemRepresentation), logger: .init(label: "test")
        )
    }

    /// A service account's JWT is exchanged once; the access token is reused and sent as a bearer token.
    @Test func serviceAccountTokenIsFetchedOnceAndUsed() async throws {
        try await withGCS(.issuedTokens) { simulator, http in
            let signingKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            try simulator.registerServiceAccount(email: Self.email, pem: signingKey.publicKey.pemRepresentation)
            simulator.seedObject(bucket: Self.bucket, name: "elsewhere/x", data: [1])
            // One slot only: the token fetch inside an attempt must not wait for that same slot.
            let client = try serviceAccountClient(simulator, http, signingKey: signingKey, maxConcurrentRequests: 1)
            _ = try await client.list()
            _ = try await client.list()
            // The simulator only lets listings through with a token it issued (and still valid).
            #expect(count(simulator, Self.tokenRoute) == 1)
            #expect(count(simulator, Self.listRoute) == 2)
            #expect(simulator.stats().responses["401"] == nil)
            #expect(client.stats[.token].requests == 1)
        }
    }

    /// A refused JWT is a terminal authentication failure carrying the endpoint's explanation.
    @Test func refusedTokenIsAuthenticationFailure() async throws {
        try await withGCS(.issuedTokens) { simulator, http in
            // The simulator knows another key for this account: the signature does not verify.
            let registered = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            try simulator.registerServiceAccount(email: Self.email, pem: registered.publicKey.pemRepresentation)
            let client = try serviceAccountClient(
                simulator, http, signingKey: try _RSA.Signing.PrivateKey(keySize: .bits2048))
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.code == .authentication)
            #expect(error?.classification == .terminal)
            #expect(error?.status == 400)
            #expect(error?.providerMessage == "Invalid JWT Signature.")
            #expect(error?.providerCode == "invalid_grant")
            #expect(count(simulator, Self.listRoute) == 0)
        }
    }

    /// Tokens are refreshed five minutes before they expire, not before.
    @Test func tokenRefreshBeforeExpiry() async throws {
        try await withGCS(.issuedTokens) { simulator, http in
            // The simulator checks the JWT's times against its own clock (an hour at most, `iat` at most five
            // minutes ahead): the test clock starts 3,300 s in the past so that every JWT it makes is acceptable.
            let clock = ManualWallClock(start: Date().timeIntervalSince1970.rounded(.down) - 3300)
            let transport = ProviderTransport(
                endpoint: endpoint(), httpClient: http,
                configuration: ProviderClientConfiguration(clock: FerryClock(now: { clock.now }, sleep: { _ in })),
                secrets: [], logger: .init(label: "test")
            )
            let signingKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let source = GoogleTokenSource(
                key: Self.serviceAccountKey(simulator), tokenURL: simulator.tokenURL,
                signer: try RS256Signer(pem: signingKey.pemRepresentation), transport: transport
            )
            let first = try await source.token()
            clock.advance(3200)
            let stillValid = try await source.token()
            clock.advance(200)
            let refreshed = try await source.token()
            #expect(first == stillValid)
            #expect(refreshed != first)
            #expect(count(simulator, Self.tokenRoute) == 2)
        }
    }
}
