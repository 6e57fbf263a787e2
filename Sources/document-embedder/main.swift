import Foundation

// Writes a Swift file declaring each given UTF-8 document as a raw string
// literal: `document-embedder OUTPUT.swift FILE...` gives
// `enum EmbeddedDocuments { static let <file_name>: String }`, the name being
// the file's name with every character other than a letter or digit made `_`.

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: document-embedder OUTPUT.swift FILE...\n".utf8))
    exit(64)
}

/// A raw string literal's delimiter: more `#` than follow any quote or backslash in `text`.
func delimiter(for text: String) -> String {
    var hashes = "#"
    while text.contains("\"" + hashes) || text.contains("\\" + hashes) { hashes += "#" }
    return hashes
}

func identifier(_ fileName: String) -> String {
    String(fileName.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
}

var swift = "// Generated at build time from the target's JSON documents; do not edit.\n\nenum EmbeddedDocuments {\n"
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    guard let text = String(data: try Data(contentsOf: url), encoding: .utf8), !text.contains("\r") else {
        FileHandle.standardError.write(Data("\(path): not UTF-8 text with LF line ends\n".utf8))
        exit(65)
    }
    let hashes = delimiter(for: text)
    swift += "    static let \(identifier(url.lastPathComponent)): String = \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)\n"
}
swift += "}\n"
try Data(swift.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
