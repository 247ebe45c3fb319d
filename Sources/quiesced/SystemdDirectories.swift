/// The directories systemd gives a service in its environment (`StateDirectory=` sets
/// `$STATE_DIRECTORY`, `ConfigurationDirectory=` sets `$CONFIGURATION_DIRECTORY`), which quiesced
/// uses as its defaults: the unit decides where its state lives, as systemd.exec(5) intends.
struct SystemdDirectories {
    /// The state directory systemd made, if any (the first, when the unit names several).
    var stateDirectory: String?
    /// `quiesced.json` in the configuration directory systemd made, if any.
    var configurationFile: String?

    init(environment: [String: String]) {
        func first(_ key: String) -> String? {
            guard let value = environment[key], let path = value.split(separator: ":").first, path.hasPrefix("/") else { return nil }
            return String(path)
        }
        stateDirectory = first("STATE_DIRECTORY")
        configurationFile = first("CONFIGURATION_DIRECTORY").map { $0 + "/quiesced.json" }
    }
}
