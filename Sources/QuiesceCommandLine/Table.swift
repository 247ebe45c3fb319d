/// Formats rows as a left-aligned text table with a header, like `vssadmin` and `busctl`.
public struct Table: Sendable {
    /// The column titles.
    public var header: [String]
    /// The rows, one string per column.
    public var rows: [[String]]

    /// Creates a table.
    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// The table as text, one line per row, columns two spaces apart.
    public var rendered: String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        let format = { (row: [String]) in
            zip(row, widths).map { $0 + String(repeating: " ", count: max(0, $1 - $0.count)) }.joined(separator: "  ")
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
