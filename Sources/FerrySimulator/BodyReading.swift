import Foundation
import Hummingbird

/// Reading request bodies: dropping them, small JSON bodies, and checks that must drain the body when they fail.
extension SimulatorRoutes {
    /// Reads and drops whatever is left of the request body, so an early answer arrives cleanly.
    func drain(_ request: Request) async {
        do {
            for try await _ in request.body {}
        } catch {}
    }

    /// Runs checks that come before reading the body; on failure the body is drained first.
    func beforeBody<T>(_ request: Request, _ checks: () throws -> T) async throws -> T {
        do {
            return try checks()
        } catch {
            await drain(request)
            throw error
        }
    }

    /// Reads a small JSON body (at most 1 MiB).
    func readJSON<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var buffer = ByteBuffer()
        var tooLarge = false
        for try await chunk in request.body {
            if tooLarge { continue }
            if buffer.readableBytes + chunk.readableBytes > 1024 * 1024 {
                tooLarge = true
                continue
            }
            var chunk = chunk
            buffer.writeBuffer(&chunk)
        }
        if tooLarge { throw ProviderError.tooLarge("The JSON body is too large.", param: "body") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw ProviderError.invalidRequest(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
                param: nil)
        }
    }

    /// Reads a small JSON body (at most 64 KiB); an empty body decodes as `{}`.
    func readGCSJSON<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let bytes = try await readSmallBody(request, limit: 64 * 1024)
        do {
            return try JSONDecoder().decode(T.self, from: bytes.isEmpty ? Data("{}".utf8) : Data(bytes))
        } catch {
            throw GCSError(status: 400, message: "Invalid JSON payload received.", reason: "parseError")
        }
    }

    /// The whole body, up to `limit` bytes (more: 413, after reading the rest).
    func readSmallBody(_ request: Request, limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        var tooLarge = false
        for try await chunk in request.body {
            if tooLarge { continue }
            if bytes.count + chunk.readableBytes > limit {
                tooLarge = true
                continue
            }
            bytes += chunk.readableBytesView
        }
        if tooLarge { throw GCSError(status: 413, message: "The request body is too large.", reason: "uploadTooLarge") }
        return bytes
    }
}
