/// One interface file of `dbus/`, as the generator reads it: the parts of the introspection
/// XML it turns into Swift, and the `org.quiesce.*` annotations that say how.
struct InterfaceModel {
    /// `org.quiesce.Session1`.
    var name: String
    /// The file's text, embedded as is.
    var xml: String
    /// The interface's `org.gtk.GDBus.DocString`.
    var doc = ""
    var methods: [Method] = []
    var properties: [Named] = []
    var signals: [Signal] = []
    /// `org.quiesce.Error.<Name>` annotations: the errors the interface's methods return.
    var errors: [Named] = []
    /// `org.quiesce.Keys.<Name>` annotations: the key sets of its `a{sv}` dictionaries.
    var keySets: [KeySet] = []

    /// `Session1`: the last element of the name, used as the Swift namespace.
    var shortName: String { String(name.split(separator: ".").last!) }

    /// A name with its documentation.
    struct Named {
        var name: String
        var doc: String
    }

    struct Method {
        var name: String
        var doc = ""
        var arguments: [Argument] = []
        /// `org.quiesce.Errors`: short error names (`BadState`) the method may return.
        var errors: [String] = []
        /// `org.quiesce.Group`: methods of one group share one signature and one handler.
        var group: String?
        /// `org.quiesce.Timeout`: the proxy's default timeout in seconds, or `none`.
        var timeout: String?

        var inputs: [Argument] { arguments.filter { $0.direction == "in" } }
        var outputs: [Argument] { arguments.filter { $0.direction == "out" } }
        var signature: String { inputs.map(\.type).joined() + "->" + outputs.map(\.type).joined() }
    }

    struct Argument {
        var name: String
        var type: String
        var direction: String
        var doc = ""
        /// `org.quiesce.Keys`: the key set of an `a{sv}` argument.
        var keys: String?
        /// `org.quiesce.JSON`: the Swift type an `s` argument carries as JSON.
        var json: String?
        /// `org.quiesce.Fields`: the labels (and types) of the fields of an array of structures.
        var fields: [Field] = []
    }

    struct Signal {
        var name: String
        var doc = ""
        var arguments: [Argument] = []
    }

    /// A label of a structure field, with an optional Swift type (`policy:WriterPolicy`).
    struct Field {
        var label: String
        var swiftType: String?
    }

    /// The keys of one kind of `a{sv}` dictionary.
    struct KeySet {
        var name: String
        /// Whether a key not in the set is refused (else it is ignored).
        var refusesUnknownKeys: Bool
        var keys: [Key]
    }

    /// `backup-type:s:BackupType`: a key, its D-Bus type, and the Swift type of its value when
    /// that is a string enumeration or another key set.
    struct Key {
        var key: String
        var type: String
        var swiftType: String?

        /// `backup-type` → `backupType`.
        var fieldName: String { Naming.lowerCamel(fromKebab: key) }
    }
}

/// Why an interface file cannot be turned into code.
struct GeneratorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
