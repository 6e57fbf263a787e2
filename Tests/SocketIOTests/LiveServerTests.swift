import Hummingbird
import Testing

@testable import SocketIO

/// The server on a real loopback port, spoken to as Engine.IO / Socket.IO clients do.
@Suite(.timeLimit(.minutes(1))) struct LiveServerTests {
    @Test func pollingHandshakeConnectEventAndAck() async throws {
        try await withSocketIOServer { port, io, handler in
            let client = try await PollingClient.open(port, query: "&token=q1")
            #expect(try await client.post("40{\"token\":\"good\"}").body == "ok")
            let greeting = try await client.receive(2)
            #expect(greeting[0].hasPrefix("40{\"sid\":\""))
            #expect(greeting[1] == "42[\"welcome\",\"hi\"]")
            #expect(handler.lines == ["connect {\"token\":\"good\"} EIO=4 token=q1"])
            #expect(io.connectedCount == 1)

            #expect(try await client.post("421[\"echo\",{\"a\":[1,2]},\"x\"]", "42[\"noack\"]").body == "ok")
            #expect(try await client.receive(1) == ["431[{\"a\":[1,2]},\"x\"]"])
            await eventually { handler.lines.contains("event noack ") }

            #expect(try await client.post("41").body == "ok")
            await eventually { handler.lines.last == "disconnected client namespace disconnect" }
            #expect(io.connectedCount == 0)
        }
    }

    @Test func trailingSlashAndPlainPathBothServe() async throws {
        try await withSocketIOServer { port, _, _ in
            let plain = try await http(port, .get, "/socket.io?EIO=4&transport=polling")
            let slash = try await http(port, .get, "/socket.io/?EIO=4&transport=polling")
            #expect(plain.body.hasPrefix("0{"))
            #expect(slash.body.hasPrefix("0{"))
        }
    }

    @Test func badRequestsGetTheSpecErrors() async throws {
        try await withSocketIOServer { port, _, _ in
            let unknown = try await http(port, .get, "/socket.io/?EIO=4&transport=polling&sid=nope")
            #expect(unknown.status == .badRequest)
            #expect(unknown.body == "{\"code\":1,\"message\":\"Session ID unknown\"}")
            let oldVersion = try await http(port, .get, "/socket.io/?EIO=3&transport=polling")
            #expect(oldVersion.status == .badRequest)
            #expect(oldVersion.body == "{\"code\":5,\"message\":\"Unsupported protocol version\"}")
            let badTransport = try await http(port, .get, "/socket.io/?EIO=4&transport=carrier-pigeon")
            #expect(badTransport.status == .badRequest)
            #expect(badTransport.body == "{\"code\":0,\"message\":\"Transport unknown\"}")
            #expect(try await http(port, .post, "/socket.io/?EIO=4&transport=polling", body: "40").status == .badRequest)
            #expect(try await http(port, .post, "/socket.io/?EIO=4&transport=polling&sid=nope", body: "40").status == .badRequest)
        }
    }

    @Test func connectErrors() async throws {
        try await withSocketIOServer { port, io, handler in
            let client = try await PollingClient.open(port)
            _ = try await client.post("40{\"token\":\"bad\"}")
            #expect(try await client.receive(1) == ["44{\"message\":\"bad token\"}"])
            _ = try await client.post("40/admin,{\"token\":\"good\"}")
            #expect(try await client.receive(1) == ["44/admin,{\"message\":\"Invalid namespace\"}"])
            #expect(handler.lines == ["refused"])
            #expect(io.connectedCount == 0)
            // the session is still usable: a good CONNECT now succeeds
            _ = try await client.post("40")
            #expect(try await client.receive(2)[0].hasPrefix("40{\"sid\""))
            #expect(io.connectedCount == 1)
        }
    }

    @Test func protocolErrorsCloseOnlyThatSession() async throws {
        try await withSocketIOServer { port, io, handler in
            let early = try await PollingClient.open(port)
            #expect(try await early.post("42[\"too-early\"]").status == .ok)
            await eventually { io.session(early.sid) == nil }

            let malformed = try await PollingClient.open(port)
            #expect(try await malformed.post("42[\"x\"").status == .badRequest)
            #expect(io.session(malformed.sid) == nil)

            let binary = try await PollingClient.open(port)
            #expect(try await binary.post("bBAUG").status == .badRequest)
            #expect(io.session(binary.sid) == nil)

            // the server keeps serving
            let good = try await PollingClient.open(port)
            _ = try await good.post("40")
            #expect(try await good.receive(2)[0].hasPrefix("40{"))
            #expect(!handler.lines.contains { $0.contains("too-early") })
        }
    }

    @Test func secondConcurrentGetClosesTheSession() async throws {
        try await withSocketIOServer { port, io, _ in
            let client = try await PollingClient.open(port)
            async let first = http(port, .get, client.base)
            await eventually { io.session(client.sid)?.hasPendingPoll == true }
            let second = try await http(port, .get, client.base)
            #expect(second.status == .badRequest)
            let answer = try await first
            #expect(answer.body == "1")
            #expect(io.session(client.sid) == nil)
        }
    }

    @Test func oversizedPostIsRefused() async throws {
        try await withSocketIOServer(.init(maxPayloadBytes: 100)) { port, io, _ in
            let client = try await PollingClient.open(port)
            let response = try await client.post("42[\"x\",\"" + String(repeating: "a", count: 200) + "\"]")
            #expect(response.status == .contentTooLarge)
            #expect(io.session(client.sid) == nil)
        }
    }

    @Test func upgradeFromPollingToWebSocket() async throws {
        try await withSocketIOServer { port, io, handler in
            let client = try await PollingClient.open(port)
            _ = try await client.post("40")
            #expect(try await client.receive(2).count == 2)
            let pending = Task { try await client.get() }
            await eventually { io.session(client.sid)?.hasPendingPoll == true }
            try await TestWebSocket.run(port, query: "EIO=4&transport=websocket&sid=\(client.sid)") { ws in
                ws.send("2probe")
                #expect(await ws.inbox.next() == "3probe")
                #expect(try await pending.value == ["6"])
                ws.send("5")
                await eventually { io.session(client.sid)?.acceptsPolling == false }
                let refused = try await http(port, .get, client.base)
                #expect(refused.status == .badRequest)
                ws.send("421[\"echo\",\"over ws\"]")
                #expect(await ws.inbox.nextNonPing(ws) == "431[\"over ws\"]")
                handler.lastSocket?.emit("server", ["1"])
                #expect(await ws.inbox.nextNonPing(ws) == "42[\"server\",1]")
            }
            await eventually { handler.lines.last == "disconnected transport close" }
            #expect(io.connectedCount == 0)
        }
    }

    @Test func directWebSocket() async throws {
        try await withSocketIOServer { port, io, handler in
            try await TestWebSocket.run(port, query: "EIO=4&transport=websocket") { ws in
                let open = await ws.inbox.next() ?? ""
                #expect(open.hasPrefix("0{\"sid\":"))
                #expect(open.contains("\"upgrades\":[\"websocket\"]"))
                ws.send("40{\"token\":\"good\"}")
                #expect(await ws.inbox.next()?.hasPrefix("40{\"sid\":\"") == true)
                #expect(await ws.inbox.next() == "42[\"welcome\",\"hi\"]")
                ws.send("42[\"one\"]")
                ws.send("42[\"two\"]")
                ws.send("423[\"echo\",true]")
                #expect(await ws.inbox.next() == "433[true]")
                #expect(handler.lines.suffix(3) == ["event one ", "event two ", "event echo true"])
                #expect(io.connectedCount == 1)
                ws.send("41")
                await eventually { handler.lines.last == "disconnected client namespace disconnect" }
            }
            #expect(io.connectedCount == 0)
        }
    }

    @Test func disconnectThenCloseAtOnceKeepsEveryPacket() async throws {
        try await withSocketIOServer { port, io, handler in
            try await TestWebSocket.run(port, query: "EIO=4&transport=websocket") { ws in
                _ = await ws.inbox.next()
                ws.send("40")
                _ = await ws.inbox.next()
                _ = await ws.inbox.next()
                // as python-socketio does on disconnect(): DISCONNECT and the Engine.IO close back to back
                ws.send("42[\"sleep\"]")
                ws.send("42[\"last\"]")
                ws.send("41")
                ws.send("1")
                await eventually { handler.lines.last == "disconnected client namespace disconnect" }
                #expect(handler.lines.suffix(3) == ["event sleep ", "event last ", "disconnected client namespace disconnect"])
            }
            #expect(io.connectedCount == 0)
            #expect(io.sessionCount == 0)
        }
    }

    @Test func webSocketUpgradeRefusals() async throws {
        try await withSocketIOServer { port, _, _ in
            await #expect(throws: (any Error).self) {
                try await TestWebSocket.run(port, query: "EIO=4&transport=websocket&sid=unknown") { _ in }
            }
            await #expect(throws: (any Error).self) {
                try await TestWebSocket.run(port, query: "EIO=3&transport=websocket") { _ in }
            }
        }
    }

    @Test func pingPongAndPingTimeout() async throws {
        // A pingTimeout long enough for a busy machine to answer in time; each
        // wait below ends as soon as its packet (or the close) arrives, so its
        // limit is only a hang guard.
        let configuration = SocketIOConfiguration(pingInterval: .seconds(1), pingTimeout: .seconds(3))
        try await withSocketIOServer(configuration) { port, io, handler in
            try await TestWebSocket.run(port, query: "EIO=4&transport=websocket") { ws in
                #expect(await ws.inbox.next()?.hasPrefix("0{") == true)
                ws.send("40")
                // A slow connect may see the first ping first: answered and skipped.
                #expect(await ws.inbox.nextNonPing(ws)?.hasPrefix("40") == true)
                #expect(await ws.inbox.nextNonPing(ws) == "42[\"welcome\",\"hi\"]")
                for _ in 0..<3 {
                    #expect(await ws.inbox.next(timeout: .seconds(30)) == "2")
                    ws.send("3")
                }
                #expect(io.connectedCount == 1)
                // stop answering: the server gives up after pingTimeout
                #expect(await ws.inbox.next(timeout: .seconds(30)) == "2")
                #expect(await ws.inbox.next(timeout: .seconds(30)) == nil)
                await eventually(within: .seconds(60)) { handler.lines.last == "disconnected ping timeout" }
            }
            #expect(io.connectedCount == 0)
        }
    }

    @Test func pollingClientThatStopsPollingTimesOut() async throws {
        // The client's own requests must fit in pingInterval + pingTimeout even
        // on a busy machine; the wait for the timeout is only a hang guard.
        let configuration = SocketIOConfiguration(pingInterval: .seconds(2), pingTimeout: .seconds(8))
        try await withSocketIOServer(configuration) { port, io, handler in
            let client = try await PollingClient.open(port)
            _ = try await client.post("40")
            _ = try await client.receive(2)
            await eventually(within: .seconds(60)) { handler.lines.last == "disconnected ping timeout" }
            #expect(io.sessionCount == 0)
        }
    }

    @Test func clientMustConnectInTime() async throws {
        try await withSocketIOServer(.init(connectTimeout: .seconds(3))) { port, io, _ in
            let client = try await PollingClient.open(port)
            #expect(io.sessionCount == 1)
            await eventually(within: .seconds(60)) { io.sessionCount == 0 }
            #expect(try await http(port, .get, client.base).status == .badRequest)
        }
    }

    @Test func slowSocketIsDisconnectedAsTooSlow() async throws {
        try await withSocketIOServer(.init(maxQueuedPackets: 20)) { port, io, handler in
            let client = try await PollingClient.open(port)
            _ = try await client.post("40")
            _ = try await client.receive(2)
            // the client asks for 50 events but does not poll: the 21st overflows the queue
            _ = try await client.post("42[\"flood\",50]")
            await eventually { handler.lines.last == "disconnected too slow" }
            #expect(io.connectedCount == 0)
            #expect(io.sessionCount == 0)
        }
    }

    @Test func slowWebSocketDoesNotStallOthers() async throws {
        try await withSocketIOServer(.init(maxQueuedPackets: 50)) { port, io, handler in
            try await TestWebSocket.run(port, query: "EIO=4&transport=websocket") { ws in
                _ = await ws.inbox.next()
                ws.send("40")
                _ = await ws.inbox.next()
                _ = await ws.inbox.next()
                let socket = try #require(handler.lastSocket)
                // a fan-out far beyond the queue bound returns at once; the socket is dropped, never blocked on
                let big = "\"" + String(repeating: "x", count: 10_000) + "\""
                let start = ContinuousClock.now
                var accepted = 0
                for _ in 0..<10_000 where socket.emit("big", [big]) { accepted += 1 }
                #expect(ContinuousClock.now - start < .seconds(2))
                #expect(accepted < 10_000)
                await eventually { handler.lines.last == "disconnected too slow" }
                #expect(io.connectedCount == 0)
            }
        }
    }

    @Test func serverDisconnect() async throws {
        try await withSocketIOServer { port, io, handler in
            try await TestWebSocket.run(port, query: "EIO=4&transport=websocket") { ws in
                _ = await ws.inbox.next()
                ws.send("40")
                _ = await ws.inbox.next()
                _ = await ws.inbox.next()
                handler.lastSocket?.disconnect()
                #expect(await ws.inbox.next() == "41")
                #expect(await ws.inbox.next() == nil)  // then the WebSocket closes
                await eventually { handler.lines.last == "disconnected server namespace disconnect" }
            }
            #expect(io.connectedCount == 0)

            // over polling, DISCONNECT then close reach the client
            let client = try await PollingClient.open(port)
            _ = try await client.post("40")
            _ = try await client.receive(2)
            handler.lastSocket?.disconnect()
            #expect(try await client.get() == ["41", "1"])
            #expect(try await http(port, .get, client.base).status == .badRequest)
            #expect(handler.lines.last == "disconnected server namespace disconnect")
        }
    }

    @Test func eventsOfOneSocketStayInOrder() async throws {
        try await withSocketIOServer { port, _, handler in
            let client = try await PollingClient.open(port)
            _ = try await client.post("40")
            _ = try await client.receive(2)
            _ = try await client.post("42[\"sleep\"]", "42[\"a\"]")
            _ = try await client.post("42[\"b\"]")
            await eventually { handler.lines.count == 4 }
            #expect(handler.lines.suffix(3) == ["event sleep ", "event a ", "event b "])
        }
    }

    @Test func shutdownDisconnectsEverySocket() async throws {
        try await withSocketIOServer { port, io, handler in
            let polling = try await PollingClient.open(port)
            _ = try await polling.post("40")
            _ = try await polling.receive(2)
            let closing = Task { try await polling.get() }
            await eventually { io.session(polling.sid)?.hasPendingPoll == true }
            try await TestWebSocket.run(port, query: "EIO=4&transport=websocket") { ws in
                _ = await ws.inbox.next()
                ws.send("40")
                _ = await ws.inbox.next()
                _ = await ws.inbox.next()
                #expect(io.connectedCount == 2)
                await io.shutdown()
                #expect(io.connectedCount == 0)
                #expect(handler.lines.filter { $0 == "disconnected transport close" }.count == 2)
                #expect(await ws.inbox.next() == nil)
            }
            #expect(try await closing.value == ["1"])
            #expect(try await http(port, .get, "/socket.io/?EIO=4&transport=polling").status == .forbidden)
        }
    }
}
