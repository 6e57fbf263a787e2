import Foundation
import Testing
@testable import RecoveryCore

@Suite struct TrustedProxiesTests {
    func address(_ text: String) -> IPAddress { IPAddress(text)! }
    func proxies(_ entries: String...) throws -> TrustedProxies { TrustedProxies(try entries.map { try IPNetwork(parsing: $0) }) }

    @Test func addressesAreKeptInOneCanonicalForm() {
        #expect(address("2001:DB8:0:0::1").description == "2001:db8::1")
        #expect(address("::ffff:192.0.2.7") == address("192.0.2.7"))
        #expect(address("::ffff:192.0.2.7").description == "192.0.2.7")
        #expect(address("fe80::1%eth0").description == "fe80::1")
        #expect(IPAddress("192.0.2") == nil)
        #expect(IPAddress("256.1.1.1") == nil)
        #expect(IPAddress("proxy.example") == nil)
        #expect(IPAddress("") == nil)
        #expect(address("127.8.9.10").isLoopback && address("::1").isLoopback)
        #expect(!address("10.0.0.1").isLoopback && !address("::2").isLoopback)
    }

    @Test func ipv4BlocksMatchTheirAddressesOnly() throws {
        let block = try IPNetwork(parsing: "10.20.0.0/16")
        #expect(block.contains(address("10.20.0.1")))
        #expect(block.contains(address("10.20.255.255")))
        #expect(!block.contains(address("10.21.0.0")))
        #expect(!block.contains(address("::ffff:10.21.0.1")))
        #expect(!block.contains(address("2001:db8::1")), "an IPv4 block never holds an IPv6 address")
        #expect(try IPNetwork(parsing: "0.0.0.0/0").contains(address("203.0.113.9")))
        let odd = try IPNetwork(parsing: "192.168.1.128/25")
        #expect(odd.contains(address("192.168.1.200")) && !odd.contains(address("192.168.1.127")))
        let single = try IPNetwork(parsing: "192.168.1.10")
        #expect(single.prefixLength == 32 && single.contains(address("192.168.1.10")) && !single.contains(address("192.168.1.11")))
    }

    @Test func ipv6BlocksMatchTheirAddressesOnly() throws {
        let block = try IPNetwork(parsing: "2001:db8:abcd::/48")
        #expect(block.contains(address("2001:db8:abcd:12::7")))
        #expect(!block.contains(address("2001:db8:abce::1")))
        #expect(!block.contains(address("10.0.0.1")))
        let nibble = try IPNetwork(parsing: "fc00::/7")
        #expect(nibble.contains(address("fdff::1")) && nibble.contains(address("fc00::1")) && !nibble.contains(address("fe00::1")))
        #expect(try IPNetwork(parsing: "::1").contains(address("::1")))
    }

    @Test(arguments: ["10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0/8",
                      "proxy.lan", "", "192.168.1.10/24", "2001:db8::1/32", "fe80::1%eth0"])
    func badBlocksAreRefused(text: String) {
        #expect(throws: IPNetwork.ParseError.self) { try IPNetwork(parsing: text) }
    }

    @Test func anUntrustedPeerCannotChooseItsAddress() throws {
        let trusted = try proxies("10.0.0.5")
        #expect(trusted.clientAddress(peer: address("198.51.100.4"), forwardedFor: ["203.0.113.9"]) == address("198.51.100.4"))
        #expect(trusted.clientAddress(peer: address("198.51.100.4"), forwardedFor: []) == address("198.51.100.4"))
        // Without trusted proxies the header never counts.
        #expect(TrustedProxies([]).clientAddress(peer: address("10.0.0.5"), forwardedFor: ["203.0.113.9"]) == address("10.0.0.5"))
        #expect(trusted.clientAddress(peer: nil, forwardedFor: ["203.0.113.9"]) == nil)
    }

    @Test func aTrustedProxyNamesTheClient() throws {
        let trusted = try proxies("10.0.0.5")
        #expect(trusted.clientAddress(peer: address("10.0.0.5"), forwardedFor: ["203.0.113.9"]) == address("203.0.113.9"))
        #expect(trusted.clientAddress(peer: address("::ffff:10.0.0.5"), forwardedFor: ["2001:db8::9"]) == address("2001:db8::9"))
        // Ports and brackets, as some proxies write them.
        #expect(trusted.clientAddress(peer: address("10.0.0.5"), forwardedFor: ["203.0.113.9:51000"]) == address("203.0.113.9"))
        #expect(trusted.clientAddress(peer: address("10.0.0.5"), forwardedFor: ["[2001:db8::9]:443"]) == address("2001:db8::9"))
        // A proxy that sends no header is itself the client.
        #expect(trusted.clientAddress(peer: address("10.0.0.5"), forwardedFor: []) == address("10.0.0.5"))
    }

    @Test func theHeaderIsWalkedFromTheRightPastTrustedProxies() throws {
        let trusted = try proxies("10.0.0.0/24", "2001:db8:1::/64")
        let peer = address("10.0.0.5")
        // The client forged the left-most entry; the proxies appended the real one.
        #expect(trusted.clientAddress(peer: peer, forwardedFor: ["1.2.3.4, 203.0.113.9, 10.0.0.7"]) == address("203.0.113.9"))
        // Several header lines are one list, in order.
        #expect(trusted.clientAddress(peer: peer, forwardedFor: ["1.2.3.4", "203.0.113.9", "2001:db8:1::2"]) == address("203.0.113.9"))
        // Every hop trusted: the left-most is the client.
        #expect(trusted.clientAddress(peer: peer, forwardedFor: ["10.0.0.9, 10.0.0.8"]) == address("10.0.0.9"))
        // Rubbish ends the walk at the nearest hop the chain vouches for.
        #expect(trusted.clientAddress(peer: peer, forwardedFor: ["203.0.113.9, unknown"]) == peer)
        #expect(trusted.clientAddress(peer: peer, forwardedFor: ["203.0.113.9, garbage, 10.0.0.7"]) == address("10.0.0.7"))
        #expect(trusted.clientAddress(peer: peer, forwardedFor: ["203.0.113.9,,"]) == peer)
    }

    @Test func theSettingTakesAddressesAndBlocksAndNamesABadOne() throws {
        let settings = try SettingsLoader.load(file: nil, environment: ["RECOVERY_SERVER_TRUSTED_PROXIES": "10.0.0.5, 172.16.0.0/12 ,2001:db8::/32"])
        #expect(settings.trustedProxies.map(\.description) == ["10.0.0.5", "172.16.0.0/12", "2001:db8::/32"])
        for bad in ["10.0.0.0/40", "10.0.0.5, proxy.lan", "192.168.1.10/24"] {
            do {
                _ = try SettingsLoader.load(file: nil, environment: ["RECOVERY_SERVER_TRUSTED_PROXIES": bad])
                Issue.record("\(bad) was accepted")
            } catch let error as ConfigurationError {
                #expect(error.setting == "server.trusted_proxies")
            }
        }
        let dir = TemporaryDirectory()
        try #"{"server": {"trusted_proxies": ["10.0.0.0/8", 7]}}"#.write(toFile: dir.file("c.json"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError(setting: "server.trusted_proxies", message: "must be a list of strings")) {
            try SettingsLoader.load(file: dir.file("c.json"), environment: [:])
        }
    }
}
