import Foundation
import Hummingbird

/// Which bearer tokens the Cloud Storage routes accept (see `GCSAuthentication`).
extension SimulatorRoutes {
    /// What a route needs from the bearer token.
    enum GCSAccess {
        case none, read, write
    }

    /// nil when the request may go ahead (see `GCSAuthentication`).
    func gcsAuthorization(_ request: Request, _ access: GCSAccess) -> GCSError? {
        if case .none = access { return nil }
        switch core.configuration.gcsAuthentication {
        case .anonymous:
            return nil
        case .anyBearerToken:
            return apiKey(.openai, request) == nil ? .loginRequired : nil
        case .issuedTokens:
            guard let token = apiKey(.openai, request) else { return .loginRequired }
            guard let issued = core.gcsToken(token), issued.expires > SimulatorCore.now() else {
                return .invalidCredentials
            }
            if case .write = access {
                return issued.allows(write: true) ? nil : .insufficientPermissions
            }
            return issued.allows(write: false) ? nil : .insufficientPermissions
        }
    }
}
