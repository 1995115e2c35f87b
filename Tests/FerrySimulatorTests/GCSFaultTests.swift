import Foundation
import Testing

@testable import FerrySimulator

@Suite("Cloud Storage faults")
struct GCSFaultTests {
    @Test("a seeded error rate on gcs.list gives the same sequence twice, in Cloud Storage's error shape")
    func seeded() async throws {
        func outcomes() async throws -> [Int] {
            var configuration = SimulatorConfiguration()
            configuration.faults = FaultPlan(seed: 7, errorRate: ["gcs.list": 0.5], errorStatuses: [429, 503], retryAfterSeconds: 4)
            return try await withGCS(configuration) { sim, auth in
                sim.seedObject(bucket: testBucket, name: "x", data: [1])
                var statuses: [Int] = []
                for _ in 0..<24 {
                    let reply = try await send(.GET, listURL(sim), headers: auth)
                    statuses.append(reply.status)
                    if reply.status != 200 {
                        #expect(reply.header("Retry-After") == "4")
                        #expect(reply.error["code"] as? Int == reply.status)
                        #expect(reply.reason == (reply.status == 429 ? "rateLimitExceeded" : "backendError"))
                    }
                }
                // Other operations are untouched.
                #expect(try await send(.GET, objectURL(sim, "x"), headers: auth).status == 200)
                let stats = sim.stats()
                #expect(stats.injectedErrors == statuses.filter { $0 != 200 }.count)
                #expect(stats.requests["GET /storage/v1/b/{bucket}/o"] == 24)
                return statuses
            }
        }
        let first = try await outcomes()
        let second = try await outcomes()
        #expect(first == second)
        #expect(first.contains(200))
        #expect(first.contains(429))
        #expect(first.contains(503))
        #expect(Set(first).isSubset(of: [200, 429, 503]))
    }

    @Test("upload, resumable, download, delete and token faults; accept-then-fail stores the object")
    func perOperation() async throws {
        try await withGCS { sim, auth in
            sim.setFaults(FaultPlan(errorRate: ["gcs.upload": 1], errorStatuses: [500]))
            let failed = try await mediaUpload(sim, auth, name: "a", data: pattern(100_000))
            #expect(failed.status == 500)
            #expect(
                failed.text
                    == "{\"error\":{\"code\":500,\"message\":\"Backend Error\",\"errors\":[{\"message\":\"Backend Error\",\"domain\":\"global\",\"reason\":\"backendError\"}]}}")
            #expect(sim.objects(bucket: testBucket).isEmpty)

            sim.setFaults(FaultPlan(acceptThenFailRate: 1))
            let ambiguous = try await mediaUpload(sim, auth, name: "ambiguous", data: [1, 2])
            #expect(ambiguous.status == 500)
            #expect(sim.objects(bucket: testBucket).map(\.filename) == ["ambiguous"])
            #expect(sim.stats().acceptedThenFailed == 1)

            sim.setFaults(FaultPlan(errorRate: ["gcs.download": 1, "gcs.delete": 1], errorStatuses: [503]))
            #expect(try await send(.GET, objectURL(sim, "ambiguous"), headers: auth).status == 200)
            #expect(try await send(.GET, objectURL(sim, "ambiguous") + "?alt=media", headers: auth).status == 503)
            #expect(try await send(.DELETE, objectURL(sim, "ambiguous"), headers: auth).status == 503)
            #expect(sim.objects(bucket: testBucket).count == 1)

            sim.setFaults(FaultPlan(errorRate: ["gcs.resumable": 1], errorStatuses: [503]))
            let session = try #require(
                try await send(
                    .POST, "\(sim.gcsBaseURL)/upload/storage/v1/b/\(testBucket)/o?uploadType=resumable&name=r",
                    headers: auth + [("X-Upload-Content-Length", "3")]
                ).header("Location"))
            #expect(try await send(.PUT, session, headers: [("Content-Range", "bytes 0-2/3")], body: [1, 2, 3]).status == 503)
            sim.setFaults(.none)
            let status = try await send(.PUT, session, headers: [("Content-Range", "bytes */3")], body: [])
            #expect(status.status == 308)
            #expect(status.header("Range") == nil)
            #expect(try await send(.PUT, session, headers: [("Content-Range", "bytes 0-2/3")], body: [1, 2, 3]).status == 200)

            sim.setFaults(FaultPlan(errorRate: ["token": 1], errorStatuses: [503], retryAfterSeconds: 2))
            let token = try await tokenRequest(sim, assertion: makeJWT(claims: serviceAccountClaims(sim)))
            #expect(token.status == 503)
            #expect(token.header("Retry-After") == "2")
            #expect(token.json["error"] as? String == "temporarily_unavailable")

            sim.setFaults(FaultPlan(errorRate: ["*": 1], errorStatuses: [429]))
            #expect(try await send(.GET, listURL(sim), headers: auth).status == 429)
            sim.setFaults(FaultPlan(resetConnectionRate: 1))
            await #expect(throws: (any Error).self) { _ = try await send(.GET, listURL(sim), headers: auth) }
            sim.setFaults(FaultPlan(latencyMilliseconds: 200))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await send(.GET, listURL(sim), headers: auth).status == 200)
            #expect(clock.now - start >= .milliseconds(200))

            let stats = sim.stats()
            #expect(stats.injectedErrorsByStatus == ["500": 1, "503": 4, "429": 1])
            #expect(stats.connectionResets == 1)
            #expect(stats.injectedFaults == 8)
        }
    }

    @Test("list lag hides fresh objects from listings only")
    func listLag() async throws {
        var configuration = SimulatorConfiguration()
        // Long lag, then one shorter than the object's age: neither check races the wall clock (see FaultTests).
        configuration.faults = FaultPlan(listLagSeconds: 3_600)
        try await withGCS(configuration) { sim, auth in
            sim.seedObject(bucket: testBucket, name: "old", data: [1], createdAt: 1_000)
            #expect(try await mediaUpload(sim, auth, name: "new", data: [2]).status == 200)
            #expect(try await send(.GET, listURL(sim), headers: auth).names == ["old"])
            #expect(try await send(.GET, objectURL(sim, "new"), headers: auth).status == 200)
            sim.setFaults(FaultPlan(listLagSeconds: 0.05))
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await send(.GET, listURL(sim), headers: auth).names == ["new", "old"])
        }
    }

    @Test("the GCS operation keys validate")
    func keys() {
        for key in ["gcs.list", "gcs.upload", "gcs.resumable", "gcs.get", "gcs.download", "gcs.delete", "gcs.bucket", "token"] {
            #expect(FaultPlan(errorRate: [key: 0.5]).validationError() == nil)
        }
        #expect(FaultPlan(errorRate: ["gcs.nope": 0.5]).validationError()?.contains("gcs.nope") == true)
    }
}

@Suite("Cloud Storage helpers")
struct GCSUnitTests {
    @Test("CRC32C, RFC 3339, base64url, names")
    func helpers() {
        func crc(_ text: String) -> CRC32C {
            var crc = CRC32C()
            Array(text.utf8).withUnsafeBytes { crc.update($0) }
            return crc
        }
        #expect(crc("123456789").value == 0xE306_9283)
        #expect(crc("hello world").base64 == "yZRlqg==")
        #expect(CRC32C().base64 == "AAAAAA==")
        #expect(GCSTime.rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(GCSTime.rfc3339(1_714_564_800.25) == "2024-05-01T12:00:00.250Z")
        #expect(GCSTime.rfc3339(951_782_400.999) == "2000-02-29T00:00:00.999Z")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
        #expect(Base64URL.decode("a") == nil)
        #expect(Base64URL.decode("a+b") == nil)
        #expect(GCSName.encode("a/b c+ü") == "a%2Fb%20c%2B%C3%BC")
        #expect(GCSName.decode("a%2Fb+c".utf8, plusIsSpace: false) == "a/b+c")
        #expect(GCSName.decode("a%2Fb+c".utf8, plusIsSpace: true) == "a/b c")
        #expect(GCSName.decode("%FF".utf8, plusIsSpace: false) == nil)
        #expect(GCSName.key("\u{e9}") != GCSName.key("e\u{301}"))
        #expect(GCSName.isValidBucket("my-bucket_1.data"))
        #expect(!GCSName.isValidBucket("ab"))
        #expect(!GCSName.isValidBucket("-abc"))
        #expect(!GCSName.isValidBucket("ABC"))
    }

    @Test("Content-Range parsing")
    func contentRange() {
        typealias R = SimulatorRoutes.ChunkRange
        #expect(SimulatorRoutes.parseContentRange("bytes */100") == R.status(total: 100))
        #expect(SimulatorRoutes.parseContentRange("bytes */*") == R.status(total: nil))
        #expect(SimulatorRoutes.parseContentRange("bytes 0-99/100") == R.data(first: 0, last: 99, total: 100))
        #expect(SimulatorRoutes.parseContentRange("bytes 5-9/*") == R.data(first: 5, last: 9, total: nil))
        #expect(SimulatorRoutes.parseContentRange(nil) == R.whole)
        #expect(SimulatorRoutes.parseContentRange("bytes 0-100/100") == nil)
        #expect(SimulatorRoutes.parseContentRange("bytes 9-3/100") == nil)
        #expect(SimulatorRoutes.parseContentRange("items 0-1/2") == nil)
        #expect(SimulatorRoutes.aligned(262_144 + 5, floor: 0) == 262_144)
        #expect(SimulatorRoutes.aligned(100, floor: 0) == 0)
        #expect(SimulatorRoutes.aligned(300_000, floor: 262_144) == 262_144)
    }

}
