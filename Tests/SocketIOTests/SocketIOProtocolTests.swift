import Testing
@testable import SocketIO

@Suite struct SocketIOProtocolTests {
    @Test func speaksEngineIOFour() {
        #expect(SocketIOProtocol.engineIOVersion == 4)
    }
}
