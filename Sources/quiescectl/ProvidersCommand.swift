import ArgumentParser
import Quiesce
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl providers`: the snapshot providers, like `vssadmin list providers`.
struct ProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "List the snapshot providers: which can serve on this machine, and why the others cannot.",
        discussion: """
            Without --provider, a backup takes each volume with the first of btrfs, reflink, \
            freeze, command and copy (copy only under its size limit) that can take it.
            """
    )

    @OptionGroup var busOptions: BusOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        let client = try await connect(busOptions)
        let providers = try await explained(busOptions) { try await client.listProviders() }
        if json {
            print(try JSONCoding.encode(providers, pretty: true))
            return
        }
        print(Table(
            header: ["PROVIDER", "AVAILABLE", "WHAT IT DOES, OR WHY NOT"],
            rows: providers.map { [$0.name, $0.available ? "yes" : "no", $0.detail] }
        ).rendered)
    }
}
