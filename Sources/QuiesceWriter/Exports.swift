// A writer author needs the model (WriterMetadata, Component, FileSpec, FailureCode, ...) and
// the wire contract (QuiesceError): one `import QuiesceWriter` brings both.
@_exported import Quiesce
@_exported import QuiesceProtocol
