import Foundation
@testable import RecoveryCore

/// A fresh, empty temporary directory removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("recovery-test-\(UUID().uuidString.prefix(8))").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

func hexString<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// Settings for a data directory under `dir`, with a cheap password cost.
func testSettings(_ dir: TemporaryDirectory) -> Settings {
    var settings = Settings()
    settings.dataDirectory = dir.file("data")
    return settings
}

/// The bytes of the database file and its WAL, for plaintext searches.
func databaseBytes(_ settings: Settings) -> Data {
    var data = Data()
    for suffix in ["", "-wal", "-shm"] {
        if let bytes = FileManager.default.contents(atPath: settings.databasePath + suffix) { data.append(bytes) }
    }
    return data
}

extension Data {
    func contains(text: String) -> Bool { range(of: Data(text.utf8)) != nil }
}

let fixedKey = MasterKey(bytes: Array(0..<32))
