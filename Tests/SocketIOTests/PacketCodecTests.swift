import Testing

@testable import SocketIO

@Suite struct EnginePacketTests {
    @Test func decodesEveryPacketType() throws {
        let cases: [(String, EnginePacket.Kind, String)] = [
            ("0{\"sid\":\"x\"}", .open, "{\"sid\":\"x\"}"), ("1", .close, ""), ("2", .ping, ""), ("2probe", .ping, "probe"),
            ("3", .pong, ""), ("3probe", .pong, "probe"), ("4hello", .message, "hello"), ("5", .upgrade, ""), ("6", .noop, ""),
        ]
        for (text, kind, data) in cases {
            let packet = try EnginePacket(decoding: Substring(text))
            #expect(packet == EnginePacket(kind, data))
            #expect(packet.encoded == text)
        }
    }

    @Test func refusesMalformedPackets() {
        #expect(throws: EnginePacket.DecodingError.empty) { try EnginePacket(decoding: "") }
        #expect(throws: EnginePacket.DecodingError.unknownType) { try EnginePacket(decoding: "7") }
        #expect(throws: EnginePacket.DecodingError.unknownType) { try EnginePacket(decoding: "x") }
        #expect(throws: EnginePacket.DecodingError.binaryUnsupported) { try EnginePacket(decoding: "bAQID") }
    }

    @Test func splitsAndJoinsPollingPayloads() throws {
        let packets = try EnginePayload.decode("4hello\u{1e}2\u{1e}42[\"a\"]")
        #expect(packets == [EnginePacket(.message, "hello"), EnginePacket(.ping), EnginePacket(.message, "2[\"a\"]")])
        #expect(EnginePayload.encode(["4hello", "2", "6"]) == "4hello\u{1e}2\u{1e}6")
        #expect(try EnginePayload.decode("3") == [EnginePacket(.pong)])
        #expect(throws: EnginePacket.DecodingError.empty) { try EnginePayload.decode("4a\u{1e}") }
        #expect(throws: EnginePacket.DecodingError.empty) { try EnginePayload.decode("") }
    }

    @Test func openPacketStatesTimersInMilliseconds() {
        let open = EnginePacket.open(sid: "abc", upgrades: ["websocket"], pingInterval: .seconds(25), pingTimeout: .milliseconds(20_500), maxPayload: 1_000_000)
        #expect(open.encoded == "0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20500,\"maxPayload\":1000000}")
    }

    @Test func errorBodiesFollowTheSpec() {
        #expect(EngineError.unknownSession.json == "{\"code\":1,\"message\":\"Session ID unknown\"}")
        #expect(EngineError.unknownTransport.json == "{\"code\":0,\"message\":\"Transport unknown\"}")
    }
}

@Suite struct SocketIOPacketTests {
    @Test func decodesConnect() throws {
        #expect(try SocketIOPacket(decoding: "0") == .connect(namespace: "/", payload: nil))
        #expect(try SocketIOPacket(decoding: "0{\"token\":\"abc\"}") == .connect(namespace: "/", payload: "{\"token\":\"abc\"}"))
        #expect(try SocketIOPacket(decoding: "0/admin,") == .connect(namespace: "/admin", payload: nil))
        #expect(try SocketIOPacket(decoding: "0/admin,{\"token\":1}") == .connect(namespace: "/admin", payload: "{\"token\":1}"))
        #expect(throws: SocketIOPacket.DecodingError.malformedJSON) { try SocketIOPacket(decoding: "0{\"token\":") }
        #expect(throws: SocketIOPacket.DecodingError.malformedJSON) { try SocketIOPacket(decoding: "0[1]") }
    }

    @Test func decodesDisconnect() throws {
        #expect(try SocketIOPacket(decoding: "1") == .disconnect(namespace: "/"))
        #expect(try SocketIOPacket(decoding: "1/admin,") == .disconnect(namespace: "/admin"))
        #expect(try SocketIOPacket(decoding: "1/admin") == .disconnect(namespace: "/admin"))
    }

    @Test func decodesEventsWithAndWithoutAckIDs() throws {
        #expect(try SocketIOPacket(decoding: "2[\"hello\"]") == .event(namespace: "/", ackID: nil, name: "hello", arguments: []))
        #expect(
            try SocketIOPacket(decoding: "21[\"name\",{\"a\":[1,2]}, \"x\" ,null]")
                == .event(namespace: "/", ackID: 1, name: "name", arguments: ["{\"a\":[1,2]}", "\"x\"", "null"])
        )
        #expect(
            try SocketIOPacket(decoding: "2/chat,456[\"msg\",1.5e3]")
                == .event(namespace: "/chat", ackID: 456, name: "msg", arguments: ["1.5e3"])
        )
        #expect(try SocketIOPacket(decoding: "2[\"caf\\u00e9 \\\"q\\\" \\ud83d\\ude00\"]") == .event(namespace: "/", ackID: nil, name: "café \"q\" 😀", arguments: []))
    }

    @Test func decodesAcks() throws {
        #expect(try SocketIOPacket(decoding: "31[\"ok\",2]") == .ack(namespace: "/", ackID: 1, arguments: ["\"ok\"", "2"]))
        #expect(try SocketIOPacket(decoding: "3/chat,12[]") == .ack(namespace: "/chat", ackID: 12, arguments: []))
        #expect(throws: SocketIOPacket.DecodingError.badAckID) { try SocketIOPacket(decoding: "3[1]") }
    }

    @Test func decodesConnectError() throws {
        #expect(try SocketIOPacket(decoding: "4{\"message\":\"nope\"}") == .connectError(namespace: "/", message: "nope"))
    }

    @Test func refusesMalformedPackets() {
        let bad: [(String, SocketIOPacket.DecodingError)] = [
            ("", .unknownType), ("9", .unknownType), ("x", .unknownType),
            ("51-[\"a\",{\"_placeholder\":true,\"num\":0}]", .binaryUnsupported), ("61-0[]", .binaryUnsupported),
            ("2", .missingPayload), ("2[]", .badEventName), ("2[1]", .badEventName), ("2{\"a\":1}", .malformedJSON),
            ("2[\"a\",]", .malformedJSON), ("2[\"a\"", .malformedJSON), ("2[\"a\"] x", .malformedJSON), ("2['a']", .malformedJSON),
            ("2[\"a\",01]", .malformedJSON), ("2[\"a\\x\"]", .malformedJSON), ("2[\"a\",tru]", .malformedJSON),
            ("21234567890123456[\"a\"]", .badAckID), ("1x", .malformedJSON),
            (String(repeating: "2[\"a\",", count: 1) + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "]", .malformedJSON),
        ]
        for (text, error) in bad {
            #expect(throws: error, "\(text)") { try SocketIOPacket(decoding: text) }
        }
    }

    @Test func encodesEveryPacketType() {
        #expect(SocketIOPacket.connect(namespace: "/", payload: "{\"sid\":\"abc\"}").encoded == "0{\"sid\":\"abc\"}")
        #expect(SocketIOPacket.disconnect(namespace: "/").encoded == "1")
        #expect(SocketIOPacket.disconnect(namespace: "/admin").encoded == "1/admin,")
        #expect(SocketIOPacket.event(namespace: "/", ackID: nil, name: "a\"b", arguments: ["1", "{}"]).encoded == "2[\"a\\\"b\",1,{}]")
        #expect(SocketIOPacket.event(namespace: "/x", ackID: 7, name: "n", arguments: []).encoded == "2/x,7[\"n\"]")
        #expect(SocketIOPacket.ack(namespace: "/", ackID: 3, arguments: ["\"ok\""]).encoded == "33[\"ok\"]")
        #expect(SocketIOPacket.connectError(namespace: "/admin", message: "Invalid namespace").encoded == "4/admin,{\"message\":\"Invalid namespace\"}")
    }

    @Test func roundTripsThroughTheCodec() throws {
        let packets: [SocketIOPacket] = [
            .connect(namespace: "/", payload: nil), .connect(namespace: "/n", payload: "{\"a\":1}"), .disconnect(namespace: "/"),
            .event(namespace: "/", ackID: 0, name: "line\nbreak", arguments: ["[1,{\"b\":\"c\"}]"]),
            .ack(namespace: "/", ackID: 99, arguments: ["true", "false", "null"]), .connectError(namespace: "/", message: "tab\there"),
        ]
        for packet in packets { #expect(try SocketIOPacket(decoding: packet.encoded) == packet) }
    }
}

@Suite struct JSONTextTests {
    @Test func validatesValues() {
        for good in ["0", "-1.5e+10", "\"\"", "[]", "{}", " [1, {\"a\": [true, false, null]}] ", "\"\\u00e9\\n\""] {
            #expect(JSONText.isValid(Substring(good)), "\(good)")
        }
        for bad in ["", "01", "1.", "-", "[", "{\"a\"}", "{a:1}", "[1 2]", "\"\u{01}\"", "nul", "1 2", "\"\\u12\""] {
            #expect(!JSONText.isValid(Substring(bad)), "\(bad)")
        }
    }

    @Test func quotesStrings() {
        #expect(JSONText.quote("a\"b\\c\nd\u{01}é") == "\"a\\\"b\\\\c\\nd\\u0001é\"")
        #expect(JSONText.decodeString(Substring(JSONText.quote("x\u{2028}\t\"y"))) == "x\u{2028}\t\"y")
    }
}
