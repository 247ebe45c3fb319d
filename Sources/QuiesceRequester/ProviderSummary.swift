/// A snapshot provider as the coordinator describes it (`ListProviders`).
public struct ProviderSummary: Codable, Sendable, Hashable {
    /// The provider's name (`btrfs`, `reflink`, `freeze`, `command`, `copy`, `null`).
    public var name: String
    /// Whether it can serve on the coordinator's machine.
    public var available: Bool
    /// What it does, or why it cannot serve.
    public var detail: String
}
