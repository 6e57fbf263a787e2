import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import RecoveryCore
import ServiceLifecycle
import SocketIO

/// The realtime side of the server: the Socket.IO endpoint at `/socket.io/`
/// (long-polling routes on the router, the WebSocket upgrade on the HTTP
/// channel) and the hub behind it. As a service it delivers the event feed
/// until shutdown, then disconnects every socket so the server can stop.
public struct Realtime: Service {
    let hub: RealtimeHub
    public let io: SocketIOServer

    public init(appliance: Appliance, logger: Logger) {
        let settings = appliance.settings
        hub = RealtimeHub(appliance: appliance, logger: logger)
        io = SocketIOServer(configuration: SocketIOConfiguration(
                                pingInterval: .seconds(settings.realtimePingIntervalSeconds),
                                pingTimeout: .seconds(settings.realtimePingTimeoutSeconds),
                                maxPayloadBytes: settings.maxBodyBytes,
                                maxQueuedPackets: settings.realtimeMaxQueuedEvents),
                            handler: hub, logger: logger)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown { await hub.run() }
        } onGracefulShutdown: {}
        await io.shutdown()
    }

    /// The channel's upgrade decision: Socket.IO's WebSocket transport, nothing else.
    func upgrade(_ request: HTTPRequest, _ channel: any Channel, _ logger: Logger)
        -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        io.webSocketUpgrade(request: request, channel: channel, logger: logger)
    }
}
