import ArgumentParser

/// A duration on the command line: a number with `s`, `m`, `h` or `d` (`90m`, `7d`); a bare
/// number is seconds.
struct KeepDuration: ExpressibleByArgument, Sendable {
    /// The duration.
    var duration: Duration
    /// As it was written.
    var text: String

    init?(argument: String) {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let unit = argument.last.flatMap { units[$0] }
        guard let number = Int64(unit == nil ? argument : String(argument.dropLast())), number > 0 else { return nil }
        let (seconds, overflow) = number.multipliedReportingOverflow(by: unit ?? 1)
        guard !overflow, seconds <= 366 * 86_400 else { return nil }
        duration = .seconds(seconds)
        text = argument
    }
}
