import AsyncHTTPClient
import Crypto
import FerryCore
import Foundation
import Testing

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
    private var value: Double = 1_000_000
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

    /// Runs `body` with a started fake Cloud Storage and an HTTP client, and stops both whatever happens.
    private func withFakeGCS(_ body: (FakeGCS, HTTPClient) async throws -> Void) async throws {
        let fake = FakeGCS()
        try await fake.start()
        let http = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: ProviderClientConfiguration().makeHTTPClientConfiguration()
        )
        do {
            try await body(fake, http)
        } catch {
            try? await http.shutdown()
            await fake.stop()
            throw error
        }
        try await http.shutdown()
        await fake.stop()
    }

    private func endpoint(_ bucket: String = "\(Self.bucket)/ferry") -> Endpoint {
        Endpoint(
            kind: .vertex, baseURL: "https://us-central1-aiplatform.googleapis.com", bucket: bucket, credential: .none)
    }

    /// A client for the emulator, made the way the CLI makes it (STORAGE_EMULATOR_HOST, anonymous).
    private func emulatorClient(
        _ fake: FakeGCS, _ http: HTTPClient, configure: (inout ProviderClientConfiguration) -> Void = { _ in }
    ) throws -> GCSClient {
        var configuration = ProviderClientConfiguration(sleep: { _ in })
        configure(&configuration)
        let provider = try ProviderFactory.makeProvider(
            endpoint: endpoint(), apiKey: Secret("ignored with an emulator"), httpClient: http,
            configuration: configuration, environment: ["STORAGE_EMULATOR_HOST": "127.0.0.1:\(fake.port)"]
        )
        return try #require(provider as? GCSClient)
    }

    /// create, list, retrieve, content, delete against the emulator; the bytes come back identical.
    @Test func mediaRoundTrip() async throws {
        try await withFakeGCS { fake, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(300_000, seed: 11)
            let source = try directory.write("doc.pdf", data)
            let client = try emulatorClient(fake, http)
            #expect(client.storageBaseURL == fake.baseURL)

            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "doc.pdf", purpose: "user_data", bytes: 300_000)
            )
            #expect(created.id.hasPrefix("gs://\(Self.bucket)/ferry/user_data/"))
            #expect(created.id.hasSuffix("/doc.pdf"))
            #expect(created.filename == "doc.pdf" && created.purpose == "user_data" && created.bytes == 300_000)
            let (_, object) = try #require(GCSLayout.parse(fileID: created.id))
            #expect(fake.object(Self.bucket, object) == data)

            fake.seed(Self.bucket, "elsewhere/not-ours.txt", [1])
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
            #expect(fake.names(Self.bucket) == ["elsewhere/not-ours.txt"])
        }
    }

    /// Token pages are followed to the end; an empty page that points further is fine for Cloud Storage.
    @Test func pagination() async throws {
        try await withFakeGCS { fake, http in
            for index in 0..<7 { fake.seed(Self.bucket, "ferry/batch/u\(index)/f\(index).jsonl", [UInt8(index)]) }
            fake.configure { $0.emptyFirstPage = true }
            let client = try emulatorClient(fake, http) { $0.pageSize = 3 }
            let listing = try await client.list()
            #expect(listing.files.map(\.filename) == (0..<7).map { "f\($0).jsonl" })
            #expect(listing.pages == 4)
        }
    }

    /// A page token that never changes stops the listing instead of looping.
    @Test func stuckPageToken() async throws {
        try await withFakeGCS { fake, http in
            fake.seed(Self.bucket, "ferry/batch/u/f.jsonl", [1])
            fake.configure { $0.stuckPageToken = "0" }
            let client = try emulatorClient(fake, http)
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.code == .paginationStalled)
            #expect(error?.classification == .terminal)
            #expect(fake.count("list") == 2)
        }
    }

    /// A create whose answer was lost is repeated safely: the repeat meets 412 and adopts the stored object.
    @Test func lostAnswerOnCreateIsAdoptedNotDuplicated() async throws {
        try await withFakeGCS { fake, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.txt", Array("hello".utf8))
            fake.configure { $0.storeThenFailNext = true }
            let client = try emulatorClient(fake, http)
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "a.txt", purpose: "batch", bytes: 5)
            )
            #expect(fake.count("media") == 2)
            #expect(fake.names(Self.bucket).count == 1)
            #expect(try await client.list().files.map(\.id) == [created.id])
            #expect(client.stats[.create].retries == 1)
        }
    }

    /// A 503 on a media upload is retried and leaves one object.
    @Test func refusedCreateIsRetried() async throws {
        try await withFakeGCS { fake, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("b.txt", Array("bbb".utf8))
            fake.configure { $0.failNext["media"] = [503, 500] }
            let client = try emulatorClient(fake, http)
            _ = try await client.create(
                UploadRequest(sourcePath: source, filename: "b.txt", purpose: "batch", bytes: 3))
            #expect(fake.count("media") == 3)
            #expect(fake.names(Self.bucket).count == 1)
        }
    }

    /// A large file goes through a resumable session; after a partial write it resumes where the session stopped.
    @Test func resumableUploadResumes() async throws {
        try await withFakeGCS { fake, http in
            let directory = try TemporaryDirectory()
            let data = randomBytes(5000, seed: 12)
            let source = try directory.write("big.bin", data)
            fake.configure { $0.keepOnlyOnNextPut = 2048 }
            let client = try emulatorClient(fake, http) { $0.largeFileThreshold = 1000 }
            let created = try await client.create(
                UploadRequest(sourcePath: source, filename: "big.bin", purpose: "batch", bytes: 5000)
            )
            let (_, object) = try #require(GCSLayout.parse(fileID: created.id))
            #expect(fake.object(Self.bucket, object) == data)
            #expect(created.bytes == 5000)
            #expect(fake.count("resumable-start") == 1)
            #expect(fake.count("resumable-put") == 2)
            #expect(fake.count("resumable-status") == 2)
            #expect(fake.count("media") == 0)
        }
    }

    /// A wrong-size source is refused before a session is opened.
    @Test func resumableSizeMismatch() async throws {
        try await withFakeGCS { fake, http in
            let directory = try TemporaryDirectory()
            let source = try directory.write("short.bin", randomBytes(1500))
            let client = try emulatorClient(fake, http) { $0.largeFileThreshold = 1000 }
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "s", purpose: "batch", bytes: 1600))
            }
            #expect(error?.code == .sourceChanged)
            #expect(fake.count("resumable-start") == 0)
        }
    }

    private func serviceAccountClient(
        _ fake: FakeGCS, _ http: HTTPClient, maxConcurrentRequests: Int = 8
    ) throws -> GCSClient {
        let key = ServiceAccountKey(
            clientEmail: "ferry@p.iam.gserviceaccount.com", privateKey: Secret("-----BEGIN PRIVATE KEY-----"),
            privateKeyID: "kid"
        )
        return try GCSClient(
            endpoint: endpoint(), credentials: .serviceAccount(key), httpClient: http,
            configuration: ProviderClientConfiguration(maxConcurrentRequests: maxConcurrentRequests, sleep: { _ in }),
            storageBaseURL: fake.baseURL, tokenURL: fake.tokenURL, signer: TestSigner(),
            logger: .init(label: "test")
        )
    }

    /// A service account's JWT is exchanged once; the access token is reused and sent as a bearer token.
    @Test func serviceAccountTokenIsFetchedOnceAndUsed() async throws {
        try await withFakeGCS { fake, http in
            fake.configure { $0.requireToken = true }
            // One slot only: the token fetch inside an attempt must not wait for that same slot.
            let client = try serviceAccountClient(fake, http, maxConcurrentRequests: 1)
            _ = try await client.list()
            _ = try await client.list()
            #expect(fake.tokensIssued == ["tok-1"])
            #expect(fake.count("list") == 2)
            #expect(client.stats[.token].requests == 1)
        }
    }

    /// A refused JWT is a terminal authentication failure carrying the endpoint's explanation.
    @Test func refusedTokenIsAuthenticationFailure() async throws {
        try await withFakeGCS { fake, http in
            fake.configure { $0.failNext["token"] = [400] }
            let client = try serviceAccountClient(fake, http)
            let error = await expectProviderError { _ = try await client.list() }
            #expect(error?.code == .authentication)
            #expect(error?.classification == .terminal)
            #expect(error?.status == 400)
            #expect(error?.providerMessage == "Invalid JWT Signature.")
            #expect(error?.providerCode == "invalid_grant")
            #expect(fake.count("list") == 0)
        }
    }

    /// Tokens are refreshed five minutes before they expire, not before.
    @Test func tokenRefreshBeforeExpiry() async throws {
        try await withFakeGCS { fake, http in
            let clock = ManualWallClock()
            let transport = ProviderTransport(
                endpoint: endpoint(), httpClient: http, configuration: ProviderClientConfiguration(sleep: { _ in }),
                secrets: [], logger: .init(label: "test")
            )
            let source = GoogleTokenSource(
                key: ServiceAccountKey(clientEmail: "a@b", privateKey: Secret("k")), tokenURL: fake.tokenURL,
                signer: TestSigner(), transport: transport, now: { clock.now }
            )
            let first = try await source.token()
            clock.advance(3200)
            let stillValid = try await source.token()
            clock.advance(200)
            let refreshed = try await source.token()
            #expect([first, stillValid, refreshed] == ["tok-1", "tok-1", "tok-2"])
            #expect(fake.jwtAssertions.count == 2)
        }
    }

    /// Without RS256 support in the build, a service-account key is refused with a clear explanation.
    @Test func serviceAccountNeedsRS256() throws {
        guard !rs256SigningAvailable else { return }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        defer { _ = http.shutdown() }
        let json = #"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nX\n"}"#
        do {
            _ = try ProviderFactory.makeProvider(
                endpoint: endpoint(), apiKey: Secret(json), httpClient: http, environment: [:])
            Issue.record("expected a refusal")
        } catch let error as ProviderError {
            #expect(error.code == .invalidConfiguration)
            #expect(error.description.contains("_CryptoExtras"))
        }
    }
}
