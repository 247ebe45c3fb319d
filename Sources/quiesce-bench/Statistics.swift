/// Median and 99th percentile of a sample, in milliseconds.
struct Statistics: Codable, Sendable {
    var median: Double
    var p99: Double
    var samples: Int

    init(_ values: [Double]) {
        let sorted = values.sorted()
        samples = sorted.count
        median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        p99 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
    }
}

extension Duration {
    /// The duration in milliseconds, with fractions.
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
