import Foundation

/// Formats rows as a left-aligned text table with a header, like `vssadmin` and `busctl`.
struct Table {
    var header: [String]
    var rows: [[String]]

    var rendered: String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        let format = { (row: [String]) in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingTrailingSpaces
        }
        return ([format(header)] + rows.map(format)).joined(separator: "\n")
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
