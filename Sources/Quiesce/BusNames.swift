/// The D-Bus names and object paths Quiesce uses (the interfaces are in QuiesceProtocol,
/// generated from `dbus/*.xml`).
public enum BusNames {
    /// Every writer owns a bus name with this prefix followed by its name.
    public static let writerPrefix = "org.quiesce.Writer."
    /// The object path every writer exports.
    public static let writerPath = "/org/quiesce/Writer"

    /// The coordinator's well-known bus name.
    public static let coordinator = "org.quiesce.Coordinator"
    /// The coordinator's object path.
    public static let coordinatorPath = "/org/quiesce/Coordinator"

    /// Session objects live below this path.
    public static let sessionPathPrefix = "/org/quiesce/Session/"

    /// The bus name a writer called `name` owns.
    public static func writerBusName(_ name: String) -> String { writerPrefix + name }

    /// The writer name of a bus name `org.quiesce.Writer.<name>`, or `nil` when `busName` is not
    /// one or `<name>` is not a valid writer name (`org.quiesce.Writer.a.b` is a bus name, but
    /// no writer's).
    public static func writerName(ofBusName busName: String) -> String? {
        guard busName.hasPrefix(writerPrefix) else { return nil }
        let name = String(busName.dropFirst(writerPrefix.count))
        return isValidWriterName(name) ? name : nil
    }

    /// Whether `name` is a valid writer name: 1 to 64 characters of letters, digits and `_`,
    /// not starting with a digit (one element of a D-Bus bus name).
    public static func isValidWriterName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 64 else { return false }
        guard !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }
}
