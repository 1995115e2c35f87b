import Foundation
import Hummingbird

/// The steps every provider request takes before (and after) its handler, in this order for every flavor:
/// count it, add latency, maybe drop the connection, maybe answer an injected error, check credentials, handle,
/// stamp a request id and count the answer. Admin routes (`/_sim/…`) skip all of it.
extension SimulatorRoutes {
    /// What the fault plan did to a request before its handler ran.
    enum InjectedFault {
        /// The connection was closed: nothing reaches the client.
        case reset
        /// Answer this status (the body was drained).
        case error(status: Int, retryAfter: Int)
    }

    /// Counts the request, waits the plan's latency, then draws a connection reset and an injected error
    /// (`failNext` first, then `errorRate`).
    func injectFaults(
        _ operation: String, _ routeKey: String, _ request: Request, _ context: SimRequestContext
    ) async -> InjectedFault? {
        core.countRequest(routeKey)
        let plan = core.currentPlan()
        if plan.latencyMilliseconds > 0 {
            try? await Task.sleep(for: .milliseconds(plan.latencyMilliseconds))
        }
        if core.draw(plan.resetConnectionRate) {
            core.countReset()
            context.closeConnection()
            return .reset
        }
        let status =
            core.takeScriptedError(operation)
            ?? (core.draw(plan.errorRate(for: operation)) ? core.pickStatus(plan.errorStatuses) : nil)
        guard let status else { return nil }
        await drain(request)
        core.countInjectedError(status)
        return .error(status: status, retryAfter: plan.retryAfterSeconds)
    }

    /// Runs `body` with the request's headers captured for `echoRequestHeaders` when the plan asks for it.
    func echoingHeaders(_ request: Request, _ body: () async -> Response) async -> Response {
        guard HeaderEcho.headers == nil, core.currentPlan().echoRequestHeaders else { return await body() }
        return await HeaderEcho.$headers.withValue(HeaderEcho.capture(request)) { await body() }
    }

    /// Stamps the request id and counts the answer.
    func answered(_ response: Response) -> Response {
        var response = response
        response.headers[.requestIDHeader] = core.newRequestID()
        core.countResponse(Int(response.status.code))
        return response
    }

    /// OpenAI, Azure and Anthropic: faults, then the api-version (Azure) or the version and beta headers
    /// (Anthropic), then the key, then `handler`.
    func provider(
        _ flavor: SimulatorFlavor, _ operation: String, _ routeKey: String, _ request: Request,
        _ context: SimRequestContext, _ handler: (TenantID) async throws -> Response
    ) async -> Response {
        await echoingHeaders(request) {
            switch await injectFaults(operation, routeKey, request, context) {
            case .reset:
                return Response(status: .internalServerError)
            case .error(let status, let retryAfter):
                return answered(ProviderError.injected(status: status, retryAfter: retryAfter).response(flavor))
            case nil:
                break
            }
            if flavor == .azure, (request.uri.queryParameters.get("api-version") ?? "").isEmpty {
                await drain(request)
                return answered(ProviderError.missingAPIVersion.response(flavor))
            }
            if flavor == .anthropic, let problem = anthropicHeaderProblem(request) {
                await drain(request)
                return answered(problem.response(flavor))
            }
            guard let key = apiKey(flavor, request) else {
                await drain(request)
                return answered(ProviderError.unauthorized(flavor).response(flavor))
            }
            do {
                return answered(try await handler(TenantID(flavor: flavor, apiKey: key)))
            } catch let error as ProviderError {
                // Handlers consume their own bodies; the server drops any rest after answering.
                return answered(error.response(flavor))
            } catch {
                var failure = ProviderError.internalError
                failure.message = "The simulator failed: \(error)"
                return answered(failure.response(flavor))
            }
        }
    }

    /// Cloud Storage and its token endpoint: faults, then the bearer token (`access`), then `handler`.
    func gcs(
        _ operation: String, _ routeKey: String, _ request: Request, _ context: SimRequestContext,
        access: GCSAccess, oauth: Bool = false, _ handler: () async throws -> Response
    ) async -> Response {
        await echoingHeaders(request) {
            switch await injectFaults(operation, routeKey, request, context) {
            case .reset:
                return Response(status: .internalServerError)
            case .error(let status, let retryAfter):
                return answered(
                    oauth
                        ? OAuthError.injected(status: status, retryAfter: retryAfter).response()
                        : GCSError.injected(status: status, retryAfter: retryAfter).response())
            case nil:
                break
            }
            if let failure = gcsAuthorization(request, access) {
                await drain(request)
                return answered(failure.response())
            }
            do {
                return answered(try await handler())
            } catch let error as GCSError {
                return answered(error.response())
            } catch let error as OAuthError {
                return answered(error.response())
            } catch {
                return answered(GCSError.internalError("\(error)").response())
            }
        }
    }

    /// The API key of a request: OpenAI `Authorization: Bearer KEY`; Azure `api-key: KEY` (or bearer); Anthropic
    /// `x-api-key: KEY` only.
    func apiKey(_ flavor: SimulatorFlavor, _ request: Request) -> String? {
        if flavor == .anthropic {
            let key = request.headers[.xAPIKeyHeader]?.trimmingCharacters(in: .whitespaces) ?? ""
            return key.isEmpty ? nil : key
        }
        if flavor == .azure, let key = request.headers[.apiKeyHeader]?.trimmingCharacters(in: .whitespaces),
            !key.isEmpty
        {
            return key
        }
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        return key.isEmpty ? nil : key
    }
}
