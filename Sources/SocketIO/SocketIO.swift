/// The Engine.IO v4 / Socket.IO v5 server protocol (see the module's files).
public enum SocketIOProtocol {
    /// Engine.IO protocol revision spoken (`EIO=4`).
    public static let engineIOVersion = 4
}
