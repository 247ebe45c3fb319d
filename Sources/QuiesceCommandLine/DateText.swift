import Foundation

/// Dates as the command line shows them: local time to the second, `2026-11-29 03:20:11`.
public enum DateText {
    /// `date` in local time.
    public static func local(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// A duration in microseconds as seconds with milliseconds: `1.234 s`.
    public static func seconds(microseconds: UInt64) -> String {
        String(format: "%.3f s", Double(microseconds) / 1_000_000)
    }
}
