// A requester needs the model (documents, statuses, policies) and the wire contract
// (QuiesceError, the interfaces): one `import QuiesceRequester` brings both.
@_exported import Quiesce
@_exported import QuiesceProtocol
