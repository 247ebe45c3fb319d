#if canImport(Glibc)
import Glibc
#endif

/// Command lines must be UTF-8: Swift turns other bytes into U+FFFD, which would make a path
/// given on the command line silently name another file.
public enum UTF8Arguments {
    /// Why the command line cannot be used (naming the first argument that is not valid UTF-8),
    /// or `nil` when every argument is valid UTF-8.
    public static var problem: String? {
        for index in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeBufferPointer(start: raw, count: strlen(raw)).map { UInt8(bitPattern: $0) }
            if String(validating: bytes, as: UTF8.self) == nil {
                let shown = String(decoding: bytes, as: UTF8.self)
                return "argument \(index) (\(shown.debugDescription)) is not valid UTF-8; paths must be given in UTF-8 (rename the file, or use a UTF-8 locale)"
            }
        }
        return nil
    }
}
