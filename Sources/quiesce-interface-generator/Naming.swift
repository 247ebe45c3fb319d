/// Swift names for D-Bus and key names.
enum Naming {
    /// `backup-type` → `backupType`.
    static func lowerCamel(fromKebab name: String) -> String {
        let parts = name.split(separator: "-")
        guard let first = parts.first else { return name }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// `GatherWriterMetadata` → `gatherWriterMetadata`; `DoSnapshotSet` → `doSnapshotSet`.
    static func lowerCamel(fromPascal name: String) -> String {
        name.prefix(1).lowercased() + name.dropFirst()
    }

    /// A Swift string literal of `text`.
    static func literal(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return "\"" + escaped + "\""
    }

    /// Documentation lines (`/// …`) at `indent`.
    static func doc(_ text: String, indent: String) -> String {
        guard !text.isEmpty else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { indent + "/// " + $0 }.joined(separator: "\n") + "\n"
    }
}
