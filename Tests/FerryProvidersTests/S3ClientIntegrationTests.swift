import AsyncHTTPClient
import FerryCore
import FerrySimulator
import Foundation
import Testing

@testable import FerryProviders

/// The simulator's default S3 key pair.
let simulatorS3Credentials = AWSCredentials(
    accessKeyID: SimulatorConfiguration.defaultS3Credentials.keys.first!,
    secretAccessKey: SimulatorConfiguration.defaultS3Credentials.values.first!)

/// An S3 client for the simulator's `/s3` endpoint (bucket `ferry-test`, Ferry's prefix `ferry/`) that never really
/// sleeps between retries.
func s3Client(
    _ simulator: Simulator, _ http: HTTPClient, credentials: AWSCredentials? = simulatorS3Credentials,
    bucket: String = "ferry-test/ferry", configure: (inout ProviderClientConfiguration) -> Void = { _ in }
) throws -> S3Client {
    var configuration = ProviderClientConfiguration(requestTimeout: .seconds(30), clock: .system.sleeping { _ in })
    configure(&configuration)
    let endpoint = Endpoint(
        kind: .bedrock, baseURL: simulator.s3Endpoint, bucket: bucket, region: "us-east-1",
        credential: .environment("AWS_SECRET_ACCESS_KEY"))
    return try S3Client(endpoint: endpoint, credentials: credentials, httpClient: http, configuration: configuration)
}

/// End-to-end tests of `S3Client` over real sockets on 127.0.0.1 against the simulator's SigV4-checking S3 flavor.
@Suite struct S3ClientIntegrationTests {
    /// PUT, list, HEAD (Ferry's metadata back), GET, DELETE; a second delete is done too, a HEAD after it not found.
    @Test func roundTrip() async throws {
        try await withSimulator { simulator, http in
            simulator.createS3Bucket("ferry-test")
            let directory = try TemporaryDirectory()
            let data = randomBytes(300_001)
            let source = try directory.write("source.jsonl", data)
            var hasher = SHA256Digest()
            hasher.update(data)
            let digest = hasher.hexDigest()
            let client = try s3Client(simulator, http)
            let before = Int64(Date().timeIntervalSince1970)
            let created = try await client.create(
                UploadRequest(
                    sourcePath: source, filename: "Überblick Q3.jsonl", purpose: "batch", bytes: Int64(data.count),
                    metadata: [RemoteFile.declaredNameKey: "batches/Überblick Q3", RemoteFile.sha256Key: digest]))
            #expect(created.id.hasPrefix("s3://ferry-test/ferry/batch/\(digest)-"))
            #expect(created.id.hasSuffix("/Überblick Q3.jsonl"))
            #expect(created.filename == "Überblick Q3.jsonl" && created.purpose == "batch")
            #expect(created.bytes == Int64(data.count) && created.sha256 == digest)
            let objects = simulator.s3Objects(bucket: "ferry-test")
            #expect(objects.count == 1 && objects[0].sha256 == digest)
            #expect(objects[0].metadata["ferry-sha256"] == digest)

            let listed = try await client.list().files
            #expect(listed.map(\.id) == [created.id])
            #expect(listed[0].sha256 == digest && listed[0].bytes == Int64(data.count) && listed[0].purpose == "batch")
            let retrieved = try await client.retrieve(id: created.id)
            #expect(retrieved.declaredName == "batches/Überblick Q3")
            #expect(retrieved.sha256 == digest && retrieved.bytes == Int64(data.count))
            // Last-Modified has whole seconds: between the second the upload started and now.
            #expect((before - 1...Int64(Date().timeIntervalSince1970) + 1).contains(retrieved.createdAt))

            let target = directory.path + "/download"
            #expect(try await client.content(id: created.id, to: target) == Int64(data.count))
            #expect(FileManager.default.contents(atPath: target).map { Array($0) } == data)

            try await client.delete(id: created.id)
            #expect(simulator.s3Objects(bucket: "ferry-test").isEmpty)
            try await client.delete(id: created.id)
            let missing = await expectProviderError { _ = try await client.retrieve(id: created.id) }
            #expect(missing?.classification == .notFound)
        }
    }

    /// ListObjectsV2 followed across pages with continuation tokens (keys with spaces, `&` and unicode), only under
    /// Ferry's prefix; an object outside it is never listed.
    @Test func paginationAcrossPages() async throws {
        try await withSimulator { simulator, http in
            simulator.createS3Bucket("ferry-test")
            let keys = (0..<23).map { "ferry/batch/\(String(format: "%02d", $0))/file & ü \($0).jsonl" }
            for (index, key) in keys.enumerated() {
                simulator.seedS3Object(bucket: "ferry-test", key: key, data: [UInt8(index)], lastModified: 1_700_000_000)
            }
            simulator.seedS3Object(bucket: "ferry-test", key: "litellm-bedrock-files/other.jsonl", data: [1])
            let client = try s3Client(simulator, http) { $0.pageSize = 5 }
            let listing = try await client.list()
            #expect(listing.pages == 5)
            #expect(listing.files.map(\.id) == keys.map { "s3://ferry-test/\($0)" })
            #expect(listing.files.allSatisfy { $0.createdAt == 1_700_000_000 && $0.purpose == "batch" })
            #expect(simulator.stats().requests["GET /s3/{bucket}?list-type=2"] == 5)
        }
    }

    /// Above the threshold the upload goes in parts (at least S3's 5 MiB each), completes into one object with the
    /// file's bytes and Ferry's metadata, and leaves no upload pending.
    @Test func multipartUpload() async throws {
        try await withSimulator { simulator, http in
            simulator.createS3Bucket("ferry-test")
            let directory = try TemporaryDirectory()
            let data = randomBytes(11 * 1024 * 1024 + 17)
            let source = try directory.write("big.jsonl", data)
            let client = try s3Client(simulator, http) {
                $0.largeFileThreshold = 1 << 20
                $0.uploadPartBytes = 1 << 20  // raised to S3's 5 MiB minimum
            }
            let created = try await client.create(
                UploadRequest(
                    sourcePath: source, filename: "big.jsonl", purpose: "batch", bytes: Int64(data.count),
                    metadata: [RemoteFile.declaredNameKey: "big"]))
            let key = String(created.id.dropFirst("s3://ferry-test/".count))
            #expect(simulator.s3ObjectContent(bucket: "ferry-test", key: key) == data)
            #expect(simulator.stats().requests["PUT /s3/{bucket}/{key}?partNumber&uploadId"] == 3)
            #expect(simulator.s3PendingMultipartUploads(bucket: "ferry-test") == 0)
            #expect(simulator.s3Objects(bucket: "ferry-test")[0].etag.hasSuffix("-3\""))
            #expect(try await client.retrieve(id: created.id).declaredName == "big")
        }
    }

    /// A part refused for good aborts the multipart upload: nothing is stored and nothing stays pending.
    @Test func failedMultipartIsAborted() async throws {
        try await withSimulator(faults: FaultPlan(failNext: ["s3.part": [400]])) { simulator, http in
            simulator.createS3Bucket("ferry-test")
            let directory = try TemporaryDirectory()
            let data = randomBytes(6 * 1024 * 1024)
            let source = try directory.write("big.jsonl", data)
            let client = try s3Client(simulator, http) { $0.largeFileThreshold = 1 << 20 }
            let error = await expectProviderError {
                _ = try await client.create(
                    UploadRequest(sourcePath: source, filename: "big.jsonl", purpose: "batch", bytes: Int64(data.count)))
            }
            #expect(error?.classification == .terminal)
            #expect(simulator.s3Objects(bucket: "ferry-test").isEmpty)
            #expect(simulator.s3PendingMultipartUploads(bucket: "ferry-test") == 0)
            #expect(simulator.stats().requests["DELETE /s3/{bucket}/{key}"] == 1)
        }
    }

    /// 503 SlowDown is a refusal: the PUT and the listing are repeated and succeed, with one object stored.
    @Test func slowDownIsRetried() async throws {
        try await withSimulator(faults: FaultPlan(failNext: ["s3.put": [503, 503], "s3.list": [503]])) { simulator, http in
            simulator.createS3Bucket("ferry-test")
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.jsonl", Array("{}\n".utf8))
            let client = try s3Client(simulator, http)
            _ = try await client.create(UploadRequest(sourcePath: source, filename: "a.jsonl", purpose: "batch", bytes: 3))
            #expect(client.stats.snapshot()[.create]?.retries == 2)
            #expect(try await client.list().files.count == 1)
            #expect(client.stats.snapshot()[.list]?.retries == 1)
            #expect(simulator.s3Objects(bucket: "ferry-test").count == 1)
        }
    }

    /// A wrong secret is refused with 403 SignatureDoesNotMatch (terminal), an unknown key id with
    /// InvalidAccessKeyId; unsigned requests are refused; nothing is stored.
    @Test func badSignatureRefused() async throws {
        try await withSimulator { simulator, http in
            simulator.createS3Bucket("ferry-test")
            var wrong = simulatorS3Credentials
            wrong.secretAccessKey = "not-the-secret"
            let badSecret = await expectProviderError { _ = try await s3Client(simulator, http, credentials: wrong).list() }
            #expect(badSecret?.status == 403 && badSecret?.providerCode == "SignatureDoesNotMatch")
            #expect(badSecret?.classification == .terminal)
            let unknown = AWSCredentials(accessKeyID: "AKIAUNKNOWN", secretAccessKey: "x")
            let badKey = await expectProviderError { _ = try await s3Client(simulator, http, credentials: unknown).list() }
            #expect(badKey?.providerCode == "InvalidAccessKeyId")
            let anonymous = await expectProviderError { _ = try await s3Client(simulator, http, credentials: nil).list() }
            #expect(anonymous?.providerCode == "AccessDenied")
            // A key pair added at run time, with a session token, is accepted.
            simulator.addS3Credential(accessKeyID: "ASIATEMPORARY", secretAccessKey: "temporary-secret")
            let temporary = AWSCredentials(accessKeyID: "ASIATEMPORARY", secretAccessKey: "temporary-secret", sessionToken: "tok/en+=")
            let temporaryClient = try s3Client(simulator, http, credentials: temporary)
            #expect(try await temporaryClient.list().files.isEmpty)
        }
    }

    /// The secret key and session token never appear in an error, even when the server echoes every request header.
    @Test func keysNeverLeak() async throws {
        let faults = FaultPlan(echoRequestHeaders: true, failNext: ["s3.put": [403], "s3.head": [500, 500, 500, 500, 500]])
        try await withSimulator(faults: faults) { simulator, http in
            simulator.createS3Bucket("ferry-test")
            simulator.addS3Credential(accessKeyID: "ASIALEAKTEST", secretAccessKey: "very-secret-key/abc+def")
            let credentials = AWSCredentials(
                accessKeyID: "ASIALEAKTEST", secretAccessKey: "very-secret-key/abc+def", sessionToken: "session-token-xyz/123=")
            let directory = try TemporaryDirectory()
            let source = try directory.write("a.jsonl", Array("{}\n".utf8))
            let client = try s3Client(simulator, http, credentials: credentials) { $0.retry = RetryPolicy(maxAttempts: 2) }
            let create = await expectProviderError {
                _ = try await client.create(UploadRequest(sourcePath: source, filename: "a.jsonl", purpose: "batch", bytes: 3))
            }
            let head = await expectProviderError { _ = try await client.retrieve(id: "s3://ferry-test/ferry/x") }
            for error in [create, head].compactMap({ $0 }) {
                let text = "\(error) \(error.providerMessage ?? "") \(error.detail ?? "")"
                #expect(!text.contains("very-secret-key") && !text.contains("session-token-xyz"))
                #expect(!text.contains("abc%2Bdef") && !text.contains("session-token-xyz%2F"))
            }
            #expect(create?.status == 403)
        }
    }

    /// The factory makes an S3 client from the packed keys of a `.bedrock` endpoint and refuses a broken secret.
    @Test func factory() async throws {
        try await withSimulator { simulator, http in
            simulator.createS3Bucket("ferry-test")
            let endpoint = Endpoint(
                kind: .bedrock, baseURL: simulator.s3Endpoint, bucket: "ferry-test/ferry", region: "us-east-1",
                credential: .environment("AWS_SECRET_ACCESS_KEY"))
            let provider = try ProviderFactory.makeProvider(
                endpoint: endpoint, apiKey: Secret(simulatorS3Credentials.packed), httpClient: http)
            #expect(provider is S3Client)
            #expect(try await provider.list().files.isEmpty)
            #expect(throws: ProviderError.self) {
                _ = try ProviderFactory.makeProvider(endpoint: endpoint, apiKey: Secret("just-one-value"), httpClient: http)
            }
        }
    }

    /// S3's 400 `RequestTimeout` (a stalled body, nothing stored) is a refusal to repeat; other 400s stay terminal.
    @Test func requestTimeoutIsARefusal() async throws {
        func failing(_ code: String) async -> ProviderError? {
            await expectProviderError {
                try await S3Client.refusalsRetried {
                    throw ProviderError(
                        .httpStatus, .terminal, operation: .create, endpoint: "bedrock s3://b/ferry", status: 400,
                        providerCode: code)
                }
            }
        }
        #expect(await failing("RequestTimeout")?.isRetryable == true)
        #expect(await failing("InvalidRequest")?.classification == .terminal)
    }

    /// ListObjectsV2 XML as S3 writes it (namespace, entities, a truncated page) is read exactly.
    @Test func listXMLParsing() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>ferry/</Prefix>\
            <KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>\
            <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\
            <Contents><Key>ferry/a &amp; b&#x2F;c.jsonl</Key><LastModified>2026-01-01T12:00:00.000Z</LastModified>\
            <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>\
            <Contents><Key>ferry/z</Key><LastModified>2026-01-01T12:00:01.000Z</LastModified><Size>0</Size></Contents>\
            </ListBucketResult>
            """
        let page = try S3ObjectPage(xml: xml)
        #expect(page.objects.map(\.key) == ["ferry/a & b/c.jsonl", "ferry/z"])
        #expect(page.objects.map(\.size) == [1234, 0])
        #expect(page.objects[0].lastModified == 1_767_268_800)
        #expect(page.isTruncated && page.nextContinuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        #expect(throws: S3WireError.self) { _ = try S3ObjectPage(xml: "<Error><Code>x</Code></Error>") }
    }
}
