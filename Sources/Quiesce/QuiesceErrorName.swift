/// The named D-Bus errors of Quiesce, `org.quiesce.Error.*`.
public enum QuiesceErrorName: String, Sendable, CaseIterable {
    /// An argument is malformed: a bad path, id, option key or type.
    case invalidArgument = "org.quiesce.Error.InvalidArgument"
    /// The call does not fit the session's (or writer's) current step.
    case badState = "org.quiesce.Error.BadState"
    /// The caller may not do this.
    case accessDenied = "org.quiesce.Error.AccessDenied"
    /// A writer, component or session does not exist.
    case notFound = "org.quiesce.Error.NotFound"
    /// Another snapshot set is being created; wait and try again.
    case busy = "org.quiesce.Error.Busy"
    /// Too many sessions are open.
    case limitReached = "org.quiesce.Error.LimitReached"
    /// An input exceeds its limit (a backup document, a list, a reply): see ``InputLimits``.
    case tooLarge = "org.quiesce.Error.TooLarge"
    /// The snapshot provider failed; writers were aborted.
    case providerFailed = "org.quiesce.Error.ProviderFailed"
    /// A writer the requester marked required failed the step; the snapshot set was aborted.
    case writerFailed = "org.quiesce.Error.WriterFailed"
}

