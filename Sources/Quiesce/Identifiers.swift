/// The ids Quiesce puts on the bus: sessions and snapshot sets.
public enum Identifiers {
    /// Whether `id` is 1 to 64 ASCII letters, digits, `-` or `_`.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
    }
}
