import CQRencode

/// A QR code drawn as SVG by libqrencode (error correction M, a four-module
/// quiet zone): black squares as one path on white, no script, no style
/// attribute, so it can sit in a page under a strict Content-Security-Policy.
/// Made in memory for one response and never kept.
enum QRCodeSVG {
    /// libqrencode could not encode the text (out of memory, or longer than a QR code holds).
    struct EncodingFailed: Error {}

    /// The SVG for `text`.
    static func svg(for text: String, title: String) throws -> String {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { throw EncodingFailed() }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let quiet = 4
        let size = width + 2 * quiet
        var path = ""
        path.reserveCapacity(width * width * 4)
        for y in 0..<width {
            for x in 0..<width where code.pointee.data[y * width + x] & 1 == 1 {
                path += "M\(x + quiet) \(y + quiet)h1v1h-1z"
            }
        }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(size) \(size)\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"\(escaped(title))\">"
            + "<title>\(escaped(title))</title>"
            + "<rect width=\"\(size)\" height=\"\(size)\" fill=\"#fff\"/><path fill=\"#000\" d=\"\(path)\"/></svg>"
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
