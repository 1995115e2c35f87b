import Hummingbird
import NIOCore

/// The request context of the status server: Hummingbird's core storage, plus the connection, so a refused
/// request can close it once answered and a shutdown past its drain timeout can cut it.
public struct StatusRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on.
    let channel: any Channel

    /// Made by Hummingbird for each request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Closes the connection once the answer in progress is written.
    func closeAfterResponse() {
        // Hummingbird's connection handler closes the connection after the response in flight when it
        // receives a quiesce event, so the answer is still written in full.
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }
}
