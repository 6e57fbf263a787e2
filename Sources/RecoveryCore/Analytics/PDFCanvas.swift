import CCairo
import Foundation

/// One PDF document drawn with cairo's PDF surface (Debian's libcairo): A4
/// pages in points, text in DejaVu Sans (cairo embeds the glyphs used as a
/// font subset). Bytes leave through `sink` as cairo writes them: each
/// finished page is written out, so a long document is never held whole.
/// Not thread-safe: one thread draws one document.
public final class PDFCanvas {
    public static let width = 595.0, height = 842.0, margin = 48.0

    /// Receives the document's bytes in order; answers false to stop (the
    /// reader went away), after which drawing does nothing.
    public typealias Sink = (UnsafeRawBufferPointer) -> Bool

    final class Output {
        let sink: Sink
        var failed = false
        init(_ sink: @escaping Sink) { self.sink = sink }
    }

    let output: Output
    let surface: OpaquePointer
    let cr: OpaquePointer
    /// Where the next line of text goes on the current page.
    public var y = margin

    public init(title: String, sink: @escaping Sink) {
        output = Output(sink)
        let closure = Unmanaged.passRetained(output).toOpaque()
        surface = cairo_pdf_surface_create_for_stream({ closure, data, length in
            let output = Unmanaged<Output>.fromOpaque(closure!).takeUnretainedValue()
            if output.failed { return CAIRO_STATUS_WRITE_ERROR }
            if let data, !output.sink(UnsafeRawBufferPointer(start: data, count: Int(length))) { output.failed = true }
            return output.failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS
        }, closure, Self.width, Self.height)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Recovery Appliance")
        cr = cairo_create(surface)
        releaseOutput = { Unmanaged<Output>.fromOpaque(closure).release() }
    }

    private var releaseOutput: () -> Void = {}

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
        releaseOutput()
    }

    /// Writes the last page and the fonts; answers whether every byte reached the sink.
    public func finish() -> Bool {
        cairo_show_page(cr)
        cairo_surface_finish(surface)
        return !output.failed && cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS
    }

    public var stopped: Bool { output.failed }

    public func newPage() {
        cairo_show_page(cr)
        y = Self.margin
    }

    /// Starts a new page unless `height` more points fit on this one.
    public func ensureRoom(_ height: Double) {
        if y + height > Self.height - Self.margin { newPage() }
    }

    // MARK: Drawing

    public func color(_ r: Double, _ g: Double, _ b: Double) { cairo_set_source_rgb(cr, r, g, b) }

    public func font(size: Double, bold: Bool = false) {
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
    }

    public func textWidth(_ text: String) -> Double {
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    /// Text with its baseline at (x, y).
    public func text(_ text: String, x: Double, y: Double) {
        cairo_move_to(cr, x, y)
        cairo_show_text(cr, text)
    }

    /// A paragraph wrapped to the page width, at the running `y`.
    public func paragraph(_ text: String, size: Double = 10, bold: Bool = false, indent: Double = 0, after: Double = 4) {
        font(size: size, bold: bold)
        let width = Self.width - 2 * Self.margin - indent
        var line = ""
        func flush() {
            ensureRoom(size * 1.4)
            y += size * 1.25
            self.text(line, x: Self.margin + indent, y: y)
        }
        for word in text.split(separator: " ") {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if textWidth(candidate) > width && !line.isEmpty { flush(); line = String(word) } else { line = candidate }
        }
        if !line.isEmpty { flush() }
        y += after
    }

    public func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, width: Double = 0.5) {
        cairo_set_line_width(cr, width)
        cairo_move_to(cr, x1, y1)
        cairo_line_to(cr, x2, y2)
        cairo_stroke(cr)
    }

    public func fillRect(_ x: Double, _ y: Double, _ w: Double, _ h: Double) {
        cairo_rectangle(cr, x, y, w, h)
        cairo_fill(cr)
    }

    /// A polyline through `points`, with a dot on each.
    public func polyline(_ points: [(Double, Double)], width: Double = 1.5) {
        guard let first = points.first else { return }
        cairo_set_line_width(cr, width)
        cairo_move_to(cr, first.0, first.1)
        for p in points.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        if points.count > 1 { cairo_stroke(cr) } else { cairo_new_path(cr) }
        for p in points {
            cairo_arc(cr, p.0, p.1, 1.8, 0, 2 * Double.pi)
            cairo_fill(cr)
        }
    }
}
