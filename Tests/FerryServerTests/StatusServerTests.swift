import FerryCore
import FerryServer
import FerryStore
import Foundation
import Testing

/// Compares a decoded JSON value with an expected one (`NSNull()` for null).
func same(_ actual: Any?, _ expected: Any) -> Bool {
    guard let actual else { return false }
    return NSArray(array: [actual]).isEqual(to: [expected])
}

@Suite("Status server: health, methods, token, limits")
struct StatusServerGuardTests {
    /// /healthz answers 200 with the security headers, without touching the database's content.
    @Test func healthz() async throws {
        let database = try TestDatabase()
        try await withServer(database) { port in
            let reply = try await send(port: port, "/healthz")
            #expect(reply.status == 200)
            #expect(reply.text == "{\"status\":\"ok\"}\n")
            #expect(reply.header("Content-Type") == "application/json")
            #expect(reply.header("Content-Security-Policy") == "default-src 'none'; style-src 'unsafe-inline'")
            #expect(reply.header("X-Content-Type-Options") == "nosniff")
            #expect(reply.header("Cache-Control") == "no-store")
        }
    }

    /// /readyz is 503 until an endpoint has been listed successfully, then 200; a failed listing does not count.
    @Test func readyzFollowsObservations() async throws {
        let database = try TestDatabase()
        try await withServer(database) { port in
            let before = try await send(port: port, "/readyz")
            #expect(before.status == 503)
            #expect(same(before.json["status"], "not ready"))

            try database.writer.recordObservation(
                EndpointObservation(endpointID: Fixture.azure.id, files: nil, error: "down", observedAt: 1_700_000_001),
                endpoint: Fixture.azure, pages: 0)
            #expect(try await send(port: port, "/readyz").status == 503)

            try database.writer.recordObservation(
                EndpointObservation(endpointID: Fixture.openAI.id, files: [], observedAt: 1_700_000_002),
                endpoint: Fixture.openAI, pages: 1)
            let after = try await send(port: port, "/readyz")
            #expect(after.status == 200)
            #expect(after.text == "{\"status\":\"ready\",\"lastSuccessfulObservation\":1700000002,\"writer\":null}\n")
        }
    }

    /// /readyz names the run holding the writer lease and whether it is this process (a replica mid-pass).
    @Test func readyzNamesTheWriter() async throws {
        let database = try TestDatabase()
        try database.writer.recordObservation(
            EndpointObservation(endpointID: Fixture.openAI.id, files: [], observedAt: 1_700_000_002),
            endpoint: Fixture.openAI, pages: 1)
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: " ", with: "-")
        let me = "\(host) pid \(ProcessInfo.processInfo.processIdentifier) #1 ferry reconcile"
        let now = Date().timeIntervalSince1970
        #expect(try database.writer.acquireLease(holder: me, ttl: 3600, now: now) == nil)
        try await withServer(database) { port in
            let reply = try await send(port: port, "/readyz")
            let writer = reply.json["writer"] as? [String: Any]
            #expect(writer?["holder"] as? String == me)
            #expect(writer?["thisProcess"] as? Bool == true)
        }
        try database.writer.releaseLease(holder: me)
        #expect(try database.writer.acquireLease(holder: "elsewhere pid 1 #2 ferry apply", ttl: 3600, now: now) == nil)
        try await withServer(database) { port in
            let writer = try await send(port: port, "/readyz").json["writer"] as? [String: Any]
            #expect(writer?["holder"] as? String == "elsewhere pid 1 #2 ferry apply")
            #expect(writer?["thisProcess"] as? Bool == false)
        }
    }

    /// Every method other than GET and HEAD gets 405 with `Allow: GET, HEAD`, on every route and on unknown paths.
    @Test func onlyGetAndHead() async throws {
        let database = try populatedDatabase()
        let id = UnifiedID.make(for: "employee-handbook")
        let paths = [
            "/", "/healthz", "/readyz", "/metrics", "/api/v1/summary", "/api/v1/files", "/api/v1/placements",
            "/api/v1/endpoints", "/api/v1/runs", "/api/v1/plan", "/v1/files", "/v1/files/\(id)", "/no/such/path",
        ]
        try await withServer(database, token: "tok-12345") { port in
            for path in paths {
                for method in [Method.POST, .PUT, .DELETE, .PATCH] {
                    let reply = try await send(
                        method, port: port, path, body: method == .DELETE ? nil : Array("{}".utf8))
                    #expect(reply.status == 405, "\(method) \(path)")
                    #expect(reply.header("Allow") == "GET, HEAD", "\(method) \(path)")
                    #expect(reply.header("X-Content-Type-Options") == "nosniff")
                    #expect(same(reply.error["type"], "invalid_request_error"))
                }
            }
        }
        // Nothing was written: the files still list as before.
        #expect(try database.writer.desiredFiles().count == 5)
    }

    /// HEAD answers like GET without a body, with the same Content-Length and Content-Type.
    @Test func headMatchesGet() async throws {
        let database = try populatedDatabase()
        try await withServer(database) { port in
            for path in ["/", "/healthz", "/v1/files", "/api/v1/files", "/metrics", "/v1/files/file-ferry-nope"] {
                let get = try await send(port: port, path)
                let head = try await send(.HEAD, port: port, path)
                #expect(head.status == get.status, "\(path)")
                #expect(head.body.isEmpty, "\(path)")
                #expect(head.header("Content-Length") == String(get.body.count), "\(path)")
                #expect(head.header("Content-Type") == get.header("Content-Type"), "\(path)")
                #expect(head.header("Content-Security-Policy") == "default-src 'none'; style-src 'unsafe-inline'")
            }
        }
    }

    /// With a token, every route but /healthz needs `Authorization: Bearer <token>`: missing or wrong gets 401.
    @Test func bearerToken() async throws {
        let database = try populatedDatabase()
        let token = "s3cret-status-token"
        try await withServer(database, token: token) { port in
            for path in ["/", "/readyz", "/metrics", "/api/v1/files", "/api/v1/plan", "/v1/files", "/nope"] {
                let missing = try await send(port: port, path)
                #expect(missing.status == 401, "\(path)")
                #expect(missing.header("WWW-Authenticate") == "Bearer realm=\"ferry\"")
                #expect(same(missing.error["code"], "invalid_api_key"))
                #expect(!missing.text.contains(token))
                for wrong in [
                    "Bearer wrong", "Bearer \(token)x", "Bearer \(token.dropLast())", "Basic \(token)", token,
                ] {
                    #expect(try await send(port: port, path, headers: [("Authorization", wrong)]).status == 401)
                }
            }
            #expect(try await send(port: port, "/healthz").status == 200)
            #expect(try await send(port: port, "/", headers: bearer(token)).status == 200)
            #expect(
                try await send(port: port, "/v1/files", headers: [("Authorization", "bearer \(token)")]).status == 200)
            #expect(try await send(port: port, "/readyz", headers: bearer(token)).status == 200)
            #expect(try await send(port: port, "/nope", headers: bearer(token)).status == 404)
            #expect(try await send(.HEAD, port: port, "/metrics").status == 401)
        }
    }

    /// A request body over the limit is refused with 413 and the connection is closed; a small one is ignored.
    @Test func requestBodyLimit() async throws {
        let database = try populatedDatabase()
        try await withServer(database) { port in
            let large = try await send(port: port, "/v1/files", body: [UInt8](repeating: 65, count: 20 * 1024))
            #expect(large.status == 413)
            #expect(large.header("Connection") == "close")
            #expect(same(large.error["message"], "Request bodies are limited to 16384 bytes; this view reads none."))
            let small = try await send(port: port, "/v1/files", body: Array("x=1".utf8))
            #expect(small.status == 200)
            // The server still answers new connections after closing one.
            #expect(try await send(port: port, "/healthz").status == 200)
        }
    }

    /// Unknown paths answer 404 in the error envelope.
    @Test func unknownPath() async throws {
        let database = try TestDatabase()
        try await withServer(database) { port in
            let reply = try await send(port: port, "/api/v2/nothing")
            #expect(reply.status == 404)
            #expect(same(reply.error["type"], "invalid_request_error"))
            #expect(reply.header("Content-Type") == "application/json")
        }
    }

    /// The server over a read-only store leaves the database file untouched, whatever it is asked.
    @Test func neverWrites() async throws {
        let database = try populatedDatabase()
        let before = try database.writer.integrityCheck()
        let walPath = database.path + "-wal"
        func stamp() throws -> [String] {
            try [database.path, walPath].map { path in
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                return "\(attributes[.size] ?? 0) \(attributes[.modificationDate] ?? 0)"
            }
        }
        let stampBefore = try stamp()
        try await withServer(database) { port in
            for path in ["/", "/readyz", "/metrics", "/api/v1/files", "/api/v1/plan", "/v1/files", "/api/v1/runs"] {
                _ = try await send(port: port, path)
                _ = try await send(.POST, port: port, path, body: Array("{}".utf8))
            }
        }
        #expect(try stamp() == stampBefore)
        #expect(before == "ok")
    }

    /// `--listen` values: HOST:PORT, [IPV6]:PORT and PORT; anything else names the value.
    @Test func parseListen() throws {
        #expect(try StatusServerConfiguration.parseListen("127.0.0.1:8080") == ("127.0.0.1", 8080))
        #expect(try StatusServerConfiguration.parseListen("0.0.0.0:0") == ("0.0.0.0", 0))
        #expect(try StatusServerConfiguration.parseListen("[::1]:9000") == ("::1", 9000))
        #expect(try StatusServerConfiguration.parseListen("9100") == ("127.0.0.1", 9100))
        for bad in ["", "host:", ":80", "host:99999", "::1:80", "[::1]", "[]:80", "a:b"] {
            #expect(throws: StatusServerError.invalidListenAddress(bad)) {
                try StatusServerConfiguration.parseListen(bad)
            }
        }
        #expect(
            StatusServerError.invalidListenAddress("x").description
                == "invalid listen address 'x': use HOST:PORT, [IPV6]:PORT or PORT (e.g. 127.0.0.1:8080)")
    }
}
