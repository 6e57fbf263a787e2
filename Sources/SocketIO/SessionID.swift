/// Random identifiers for Engine.IO sessions and Socket.IO sockets: 120 random bits as 20 base64url characters.
enum SessionID {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        for _ in 0..<4 {
            let word = generator.next() as UInt32  // 30 bits used: 5 characters of 6 bits
            for shift in stride(from: 0, to: 30, by: 6) { bytes.append(alphabet[Int((word >> UInt32(shift)) & 63)]) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
