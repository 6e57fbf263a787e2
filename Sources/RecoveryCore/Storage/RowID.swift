import Foundation

/// Ids for rows the server creates: UUIDs of version 7 (RFC 9562), written
/// lowercase like every id in the database. The first 48 bits are the
/// Unix time in milliseconds, so ids made one after another sort together
/// and a new row lands at the end of its primary-key or unique index. A
/// random (version 4) id lands on a random page of that index instead, and
/// every commit then rewrites one 4 KiB page per row: for the audit trail,
/// more than half of what a patient list wrote to the WAL. The remaining 74
/// bits are random; an id reveals when its row was made, which every such
/// row also stores in the clear.
public enum RowID {
    public static func make(at date: Date = Date()) -> String {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var random = SystemRandomNumberGenerator()
        let high = milliseconds << 16 | 0x7000 | UInt64.random(in: 0...0x0FFF, using: &random)
        let low = (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return format(high: high, low: low)
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` of the 128 bits `high`‖`low`.
    static func format(high: UInt64, low: UInt64) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { out in
            var position = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = nibble < 16 ? high : low
                out[position] = digits.utf8Start[Int((word >> UInt64(60 - 4 * (nibble % 16))) & 0xF)]
                position += 1
            }
            return position
        }
    }
}
