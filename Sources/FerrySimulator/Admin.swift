import Foundation
import Hummingbird

/// `/_sim/…`: control and inspection for scripts. Never faulted, never counted.
extension SimulatorRoutes {
    func addAdminRoutes(_ router: Router<SimRequestContext>) {
        router.get("/_sim/health") { _, _ in
            jsonResponse(.object([("status", .string("ok"))]))
        }
        router.get("/_sim/stats") { _, _ in
            encodedResponse(self.core.stats())
        }
        router.post("/_sim/stats/reset") { request, _ in
            await self.drain(request)
            self.core.resetStats()
            return Response(status: .noContent)
        }
        router.get("/_sim/model-calls") { _, _ in
            encodedResponse(self.core.modelCalls())
        }
        router.get("/_sim/faults") { _, _ in
            encodedResponse(self.core.currentPlan())
        }
        router.put("/_sim/faults") { request, _ in
            let plan: FaultPlan
            do {
                plan = try await self.readJSON(FaultPlan.self, request)
            } catch let error as ProviderError {
                return adminError(error.message)
            }
            if let problem = plan.validationError() { return adminError(problem) }
            self.core.setPlan(plan)
            return encodedResponse(plan)
        }
    }
}

func adminError(_ message: String, status: Int = 400) -> Response {
    jsonResponse(.object([("error", .object([("message", .string(message))]))]), status: status)
}

func encodedResponse(_ value: some Encodable) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let data = try? encoder.encode(value) else { return adminError("cannot encode", status: 500) }
    return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
