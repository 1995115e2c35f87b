import NIOCore
import Synchronization

/// The requests the status server is answering, each with its connection: counted by `StatusGuard`, and cut
/// (their connections closed) when a graceful shutdown outlasts the drain timeout.
final class InFlightRequests: Sendable {
    private struct Registry {
        var next = 0
        var channels: [Int: any Channel] = [:]
    }

    private let registry = Mutex(Registry())

    /// Records a request on `channel` until `end(_:)` is called with the returned ticket.
    func begin(on channel: any Channel) -> Int {
        registry.withLock { registry in
            registry.next += 1
            registry.channels[registry.next] = channel
            return registry.next
        }
    }

    func end(_ ticket: Int) {
        registry.withLock { _ = $0.channels.removeValue(forKey: ticket) }
    }

    /// Requests being answered now.
    var count: Int { registry.withLock { $0.channels.count } }

    /// Closes the connection of every request still in flight; returns how many requests were cut.
    @discardableResult
    func closeConnections() -> Int {
        let channels = registry.withLock { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
        return channels.count
    }
}
