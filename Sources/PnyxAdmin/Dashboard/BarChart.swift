/// Blocked requests per day as a stacked bar chart in SVG, drawn on the server (no script, no inline style:
/// colours are presentation attributes, which a strict CSP allows).
enum BarChart {
    static let palette = ["#b3261e", "#e8710a", "#1a73e8", "#188038", "#9334e6", "#5f6368"]

    /// `days`: the x axis (oldest first); `series`: kind → count per day.
    static func svg(days: [String], series: [(String, [Int])], title: String) -> String {
        let width = 640, height = 200, left = 40, bottom = 24, top = 10
        let plotW = width - left - 8, plotH = height - bottom - top
        let totals = days.indices.map { i in series.reduce(0) { $0 + $1.1[i] } }
        let maxValue = max(totals.max() ?? 0, 1)
        // Four grid steps of a round size (1, 2, 5 × 10^n): whole, evenly spaced labels.
        let scale = 4 * niceCeiling((maxValue + 3) / 4)
        let barW = max(2, plotW / max(days.count, 1) - 4)
        var out = """
            <svg class="chart" viewBox="0 0 \(width) \(height)" role="img" aria-label="\(DashboardLayout.h(title))" \
            xmlns="http://www.w3.org/2000/svg"><title>\(DashboardLayout.h(title))</title>
            """
        for step in 0...4 {
            let value = scale * step / 4
            let y = top + plotH - plotH * step / 4
            out += "<line x1=\"\(left)\" x2=\"\(width - 8)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#dadce0\" stroke-width=\"1\"/>"
            out += "<text x=\"\(left - 4)\" y=\"\(y + 4)\" text-anchor=\"end\" font-size=\"10\" fill=\"#5f6368\">\(value)</text>"
        }
        for (i, day) in days.enumerated() {
            let x = left + i * plotW / max(days.count, 1) + 2
            var y = top + plotH
            for (k, (name, counts)) in series.enumerated() where counts[i] > 0 {
                let h = max(1, plotH * counts[i] / scale)
                y -= h
                out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(barW)\" height=\"\(h)\" fill=\"\(palette[k % palette.count])\">"
                out += "<title>\(DashboardLayout.h(day)): \(counts[i]) \(DashboardLayout.h(name))</title></rect>"
            }
            if days.count <= 16 || i % 2 == 0 {
                out += "<text x=\"\(x + barW / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\" font-size=\"10\" fill=\"#5f6368\">\(day.suffix(5))</text>"
            }
        }
        out += "</svg>"
        if !series.isEmpty {
            out += "<ul class=\"legend\">" + series.enumerated().map { k, s in
                "<li><svg width=\"10\" height=\"10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" fill=\"\(palette[k % palette.count])\"/></svg> \(DashboardLayout.h(s.0)) (\(s.1.reduce(0, +)))</li>"
            }.joined() + "</ul>"
        }
        return out
    }

    static func niceCeiling(_ value: Int) -> Int {
        var magnitude = 1
        while magnitude * 10 <= value { magnitude *= 10 }
        for factor in [1, 2, 5, 10] where factor * magnitude >= value { return factor * magnitude }
        return value
    }

    /// The last `count` UTC days ending with the one containing `endMillis` (exclusive end of range).
    static func dayLabels(endMillis: Int64, count: Int) -> [String] {
        (0..<count).reversed().map { back in String(DashboardLayout.time(endMillis - 1 - Int64(back) * 86_400_000).prefix(10)) }
    }
}
