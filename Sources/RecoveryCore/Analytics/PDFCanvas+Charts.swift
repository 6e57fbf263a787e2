import Foundation

/// Charts and tables drawn on a `PDFCanvas` at its running `y`, full width.
extension PDFCanvas {
    public struct Series: Sendable {
        public var label: String
        public var color: (Double, Double, Double)
        /// One value per x position (nil: nothing that day or week).
        public var values: [Double?]

        public init(label: String, color: (Double, Double, Double), values: [Double?]) {
            self.label = label; self.color = color; self.values = values
        }
    }

    static let ink = (0.15, 0.15, 0.15), grid = (0.82, 0.82, 0.82)

    /// A line chart with a title, y grid lines at `ticks`, the first and last
    /// x labels, and a legend.
    public func lineChart(_ title: String, series: [Series], yRange: ClosedRange<Double>, ticks: [Double], firstLabel: String, lastLabel: String,
                          height: Double = 150) {
        let (left, right, bottom, py) = chartFrame(title, height: height, yRange: yRange, ticks: ticks) { tick in
            tick == tick.rounded() ? String(Int(tick)) : String(format: "%.1f", tick)
        }
        let count = max(1, (series.map(\.values.count).max() ?? 1) - 1)
        func px(_ i: Int) -> Double { left + (right - left) * Double(i) / Double(count) }
        line(left, bottom, right, bottom, width: 0.8)
        for s in series {
            color(s.color.0, s.color.1, s.color.2)
            // Gaps (nil) break the line into runs.
            var run: [(Double, Double)] = []
            for (i, value) in s.values.enumerated() {
                if let value { run.append((px(i), py(min(max(value, yRange.lowerBound), yRange.upperBound)))) } else { polyline(run); run = [] }
            }
            polyline(run)
        }
        color(Self.ink.0, Self.ink.1, Self.ink.2)
        font(size: 8)
        text(firstLabel, x: left, y: bottom + 11)
        text(lastLabel, x: right - textWidth(lastLabel), y: bottom + 11)
        var x = left + (right - left) / 2 - 60
        for s in series {
            color(s.color.0, s.color.1, s.color.2)
            fillRect(x, bottom + 5, 10, 6)
            color(Self.ink.0, Self.ink.1, Self.ink.2)
            text(s.label, x: x + 13, y: bottom + 11)
            x += 20 + textWidth(s.label)
        }
        y = bottom + 22
    }

    /// A bar chart of values in `yRange`, one bar per label.
    public func barChart(_ title: String, labels: [String], values: [Double?], yRange: ClosedRange<Double>, ticks: [Double],
                         valueLabel: (Double) -> String, height: Double = 120) {
        let (left, right, bottom, py) = chartFrame(title, height: height, yRange: yRange, ticks: ticks, tickLabel: valueLabel)
        let slot = (right - left) / Double(max(1, labels.count))
        for (i, label) in labels.enumerated() {
            let x = left + slot * Double(i)
            if let value = values[i] {
                color(0.27, 0.51, 0.71)
                fillRect(x + slot * 0.2, py(min(value, yRange.upperBound)), slot * 0.6, bottom - py(min(value, yRange.upperBound)))
                color(Self.ink.0, Self.ink.1, Self.ink.2)
                let shown = valueLabel(value)
                text(shown, x: x + slot / 2 - textWidth(shown) / 2, y: py(min(value, yRange.upperBound)) - 2)
            }
            color(Self.ink.0, Self.ink.1, Self.ink.2)
            text(label, x: x + slot / 2 - textWidth(label) / 2, y: bottom + 11)
        }
        line(left, bottom, right, bottom, width: 0.8)
        y = bottom + 20
    }

    /// Draws a chart's title and its y grid with labelled ticks, and answers the
    /// plot area's left, right and bottom edges and the y position of a value.
    private func chartFrame(_ title: String, height: Double, yRange: ClosedRange<Double>, ticks: [Double],
                            tickLabel: (Double) -> String) -> (Double, Double, Double, (Double) -> Double) {
        ensureRoom(height + 50)
        color(Self.ink.0, Self.ink.1, Self.ink.2)
        font(size: 11, bold: true)
        y += 14
        text(title, x: Self.margin, y: y)
        y += 8
        let left = Self.margin + 28, right = Self.width - Self.margin, top = y, bottom = y + height
        let py = { (v: Double) -> Double in bottom - (bottom - top) * (v - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) }
        font(size: 8)
        for tick in ticks {
            color(Self.grid.0, Self.grid.1, Self.grid.2)
            line(left, py(tick), right, py(tick))
            color(Self.ink.0, Self.ink.1, Self.ink.2)
            let label = tickLabel(tick)
            text(label, x: left - 6 - textWidth(label), y: py(tick) + 3)
        }
        return (left, right, bottom, py)
    }

    /// A table: a bold header row, then rows; columns at the given widths
    /// (points), repeating the header on a new page.
    public func table(_ header: [String], _ rows: [[String]], widths: [Double]) {
        func row(_ cells: [String], bold: Bool) {
            font(size: 8, bold: bold)
            var x = Self.margin
            for (cell, width) in zip(cells, widths) {
                var shown = cell
                while textWidth(shown) > width - 4 && shown.count > 1 { shown.removeLast() }
                text(shown, x: x, y: y)
                x += width
            }
        }
        ensureRoom(30)
        y += 12
        color(Self.ink.0, Self.ink.1, Self.ink.2)
        row(header, bold: true)
        line(Self.margin, y + 3, Self.margin + widths.reduce(0, +), y + 3)
        for cells in rows {
            if y + 12 > Self.height - Self.margin {
                newPage()
                y += 12
                row(header, bold: true)
                line(Self.margin, y + 3, Self.margin + widths.reduce(0, +), y + 3)
            }
            y += 12
            row(cells, bold: false)
        }
        y += 8
    }
}
