/// A placement whose provider action keeps failing and waits out its backoff, as the reconcile loop in the same
/// process books it (`ferry reconcile --interval … --listen …`). The view shows it with the placement.
public struct PlacementRetryStatus: Sendable, Hashable {
    public var file: String
    public var endpointID: String
    /// The action that failed: `create`, `replace` or `delete`.
    public var action: String
    /// Failures in a row.
    public var failures: Int
    /// Unix seconds before which the action is not attempted again.
    public var nextAttemptAt: Double
    /// Whether the provider named the wait (`Retry-After`).
    public var providerAsked: Bool

    public init(
        file: String, endpointID: String, action: String, failures: Int, nextAttemptAt: Double, providerAsked: Bool
    ) {
        self.file = file
        self.endpointID = endpointID
        self.action = action
        self.failures = failures
        self.nextAttemptAt = nextAttemptAt
        self.providerAsked = providerAsked
    }
}
