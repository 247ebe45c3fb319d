/// Rules for the absolute paths that name volumes and files.
///
/// Every rule works on a path's UTF-8 bytes, as the kernel does: a `/` is a separator wherever it
/// stands. (Swift's `String` compares and splits by grapheme cluster, in which `/` followed by a
/// combining mark is one character and not a separator, and canonically equivalent spellings are
/// equal: `"/srv/../\u{301}etc"` would pass a character-based check for `..`.)
public enum PathRules {
    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")

    /// Whether `path` is absolute and normalized: starts with `/`, has no empty, `.` or `..`
    /// element, no trailing `/` (except the root itself) and no NUL.
    public static func isAbsoluteNormalized(_ path: String) -> Bool {
        let bytes = path.utf8
        guard bytes.first == slash, bytes.count <= 4096 else { return false }
        if bytes.count == 1 { return true }
        return hasNormalElements(bytes.dropFirst())
    }

    /// Whether `path` is `directory` or lies below it (byte for byte).
    public static func contains(_ directory: String, _ path: String) -> Bool {
        let directory = directory.utf8, path = path.utf8
        guard path.starts(with: directory) else { return false }
        if directory.elementsEqual([slash]) { return true }
        return path.count == directory.count || path.dropFirst(directory.count).first == slash
    }

    /// Whether `path` is relative and normalized: not empty, no leading `/`, no empty, `.` or
    /// `..` element, no NUL, at most 4096 bytes. Such a path cannot leave the directory it is
    /// relative to (symlinks aside, which readers must refuse themselves).
    public static func isRelativeNormalized(_ path: String) -> Bool {
        let bytes = path.utf8
        guard !bytes.isEmpty, bytes.first != slash, bytes.count <= 4096 else { return false }
        return hasNormalElements(bytes[...])
    }

    /// `path` relative to `directory` (which contains it): empty when they are equal.
    public static func relative(_ path: String, to directory: String) -> String {
        let bytes = path.utf8
        if bytes.elementsEqual(directory.utf8) { return "" }
        return String(decoding: bytes.dropFirst(directory.utf8.elementsEqual([slash]) ? 1 : directory.utf8.count + 1), as: UTF8.self)
    }

    /// Whether every `/`-separated element of `bytes` is a name: not empty, `.` or `..`, no NUL.
    private static func hasNormalElements(_ bytes: Substring.UTF8View) -> Bool {
        bytes.split(separator: slash, omittingEmptySubsequences: false).allSatisfy { element in
            !element.isEmpty && !element.contains(0) && !element.elementsEqual([dot]) && !element.elementsEqual([dot, dot])
        }
    }
}
