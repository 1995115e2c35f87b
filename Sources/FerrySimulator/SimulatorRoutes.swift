import Foundation
import Hummingbird

/// Request context that can also drop the connection (for `resetConnectionRate`).
struct SimRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let closeConnection: @Sendable () -> Void

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        let channel = source.channel
        self.closeConnection = { channel.close(promise: nil) }
    }
}

/// The HTTP side: one router for every flavor's routes and the admin API. Each flavor's routes, request pipeline
/// and handlers live in extensions (`OpenAIFilesRoutes.swift`, `UploadsRoutes.swift`, `GCSRoutes.swift`, …).
struct SimulatorRoutes: Sendable {
    let core: SimulatorCore

    func makeRouter() -> Router<SimRequestContext> {
        let router = Router(context: SimRequestContext.self)
        addFilesRoutes(router)
        addVectorStoreRoutes(router)
        addAnthropicRoutes(router)
        addGeminiRoutes(router)
        addUploadRoutes(router)
        addGCSRoutes(router)
        addS3Routes(router)
        addModelCallRoutes(router)
        addAdminRoutes(router)
        return router
    }
}
