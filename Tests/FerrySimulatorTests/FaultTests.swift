import AsyncHTTPClient
import Foundation
import Testing

@testable import FerrySimulator

@Suite("Fault injection")
struct FaultTests {
    @Test("rate 1.0 answers the chosen status with Retry-After and stores nothing")
    func injectedErrors() async throws {
        var configuration = SimulatorConfiguration()
        configuration.faults = FaultPlan(seed: 7, errorRate: ["create": 1.0], errorStatuses: [429], retryAfterSeconds: 7)
        try await withSimulator(configuration) { sim in
            let reply = try await upload(sim, key: "k", filename: "a.txt", data: [1, 2, 3])
            #expect(reply.status == 429)
            #expect(reply.header("Retry-After") == "7")
            #expect(reply.error["code"] as? String == "rate_limit_exceeded")
            #expect(reply.error["type"] as? String == "requests")
            #expect(sim.files(apiKey: "k").isEmpty)
            // Other operations are untouched.
            let list = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(list.status == 200)

            sim.setFaults(FaultPlan(errorRate: ["*": 1.0], errorStatuses: [503], retryAfterSeconds: 3))
            let azure = try await send(
                .GET, "\(sim.azureEndpoint)/openai/files?api-version=2024-10-21", headers: [("api-key", "k")])
            #expect(azure.status == 503)
            #expect(azure.header("Retry-After") == "3")
            #expect(azure.error["code"] as? String == "serviceUnavailable")

            sim.setFaults(FaultPlan(errorRate: ["*": 1.0], errorStatuses: [500]))
            let plain = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(plain.status == 500)
            #expect(plain.header("Retry-After") == nil)
            #expect(plain.error["type"] as? String == "server_error")

            let stats = sim.stats()
            #expect(stats.injectedErrors == 3)
            #expect(stats.injectedErrorsByStatus == ["429": 1, "503": 1, "500": 1])
            #expect(stats.injectedFaults == 3)
            #expect(stats.responses["200"] == 1)
        }
    }

    @Test("the same seed gives the same sequence of outcomes")
    func seededDeterminism() async throws {
        func outcomes() async throws -> [Int] {
            var configuration = SimulatorConfiguration()
            configuration.faults = FaultPlan(seed: 42, errorRate: ["list": 0.5], errorStatuses: [500, 502, 503])
            return try await withSimulator(configuration) { sim in
                var statuses: [Int] = []
                for _ in 0..<24 {
                    statuses.append(try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k")).status)
                }
                return statuses
            }
        }
        let first = try await outcomes()
        let second = try await outcomes()
        #expect(first == second)
        #expect(first.contains(200))
        #expect(first.contains { $0 >= 500 })
        #expect(Set(first).isSubset(of: [200, 500, 502, 503]))
    }

    @Test("acceptThenFail stores the file, then answers 500")
    func acceptThenFail() async throws {
        var configuration = SimulatorConfiguration()
        configuration.faults = FaultPlan(seed: 1, acceptThenFailRate: 1.0)
        try await withSimulator(configuration) { sim in
            let reply = try await upload(sim, key: "k", filename: "ambiguous.txt", data: [9, 9])
            #expect(reply.status == 500)
            #expect(reply.error["type"] as? String == "server_error")
            let stored = sim.files(apiKey: "k")
            #expect(stored.map(\.filename) == ["ambiguous.txt"])
            let list = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(list.ids == stored.map(\.id))
            #expect(sim.stats().acceptedThenFailed == 1)
            #expect(sim.stats().injectedFaults == 1)
        }
    }

    @Test("list lag hides fresh files from listings only")
    func listLag() async throws {
        var configuration = SimulatorConfiguration()
        // A lag far longer than any test run keeps the "hidden" check independent of machine load; the lag is then
        // shortened below the file's age (which only grows), so the "visible" check does not race the clock either.
        configuration.faults = FaultPlan(listLagSeconds: 3_600)
        try await withSimulator(configuration) { sim in
            let old = sim.seedFile(apiKey: "k", filename: "old.txt", purpose: "assistants", data: [1], createdAt: 1_000)
            let created = try await upload(sim, key: "k", filename: "new.txt", data: [2])
            let id = try #require(created.json["id"] as? String)
            let early = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(early.ids == [old.id])
            #expect(try await send(.GET, "\(sim.openAIBaseURL)/files/\(id)", headers: bearer("k")).status == 200)
            sim.setFaults(FaultPlan(listLagSeconds: 0.05))
            try await Task.sleep(for: .milliseconds(100))
            let late = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(late.ids == [id, old.id])
        }
    }

    @Test("resetConnectionRate closes the connection without an answer")
    func resetConnection() async throws {
        var configuration = SimulatorConfiguration()
        configuration.faults = FaultPlan(resetConnectionRate: 1.0)
        try await withSimulator(configuration) { sim in
            await #expect(throws: (any Error).self) {
                _ = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            }
            await #expect(throws: (any Error).self) {
                _ = try await upload(sim, key: "k", filename: "a.txt", data: [UInt8](repeating: 1, count: 100_000))
            }
            #expect(sim.files(apiKey: "k").isEmpty)
            #expect(sim.stats().connectionResets == 2)
            #expect(sim.stats().responses.isEmpty)
            sim.setFaults(.none)
            let reply = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(reply.status == 200)
        }
    }

    @Test("latency is added to provider requests")
    func latency() async throws {
        var configuration = SimulatorConfiguration()
        // A long latency keeps the "admin routes are exempt" check meaningful on a loaded machine: an exempt
        // request finishing under 2 s says nothing about speed, only that the injected delay was not applied.
        configuration.faults = FaultPlan(latencyMilliseconds: 2000)
        try await withSimulator(configuration) { sim in
            let clock = ContinuousClock()
            let start = clock.now
            _ = try await send(.GET, "\(sim.openAIBaseURL)/files", headers: bearer("k"))
            #expect(clock.now - start >= .milliseconds(2000))
            let adminStart = clock.now
            _ = try await send(.GET, "\(sim.azureEndpoint)/_sim/health")
            #expect(clock.now - adminStart < .milliseconds(2000))
        }
    }

    @Test("fault plans decode leniently and validate")
    func planCoding() throws {
        let plan = try JSONDecoder().decode(FaultPlan.self, from: Data("{\"errorRate\":{\"create\":1}}".utf8))
        #expect(plan == FaultPlan(errorRate: ["create": 1]))
        #expect(plan.errorStatuses == [500, 502, 503])
        #expect(plan.validationError() == nil)
        let encoded = try JSONEncoder().encode(FaultPlan(seed: 3, listLagSeconds: 2))
        #expect(try JSONDecoder().decode(FaultPlan.self, from: encoded) == FaultPlan(seed: 3, listLagSeconds: 2))
        #expect(FaultPlan(errorRate: ["crate": 0.5]).validationError()?.contains("crate") == true)
        #expect(FaultPlan(errorRate: ["list": 1.5]).validationError() != nil)
        #expect(FaultPlan(errorStatuses: [200]).validationError() != nil)
        #expect(FaultPlan(resetConnectionRate: -1).validationError() != nil)
    }
}
