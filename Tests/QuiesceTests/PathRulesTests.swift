import Quiesce
import Testing

@Suite("Paths and names")
struct PathRulesTests {
    @Test("Absolute normalized paths are accepted", arguments: ["/", "/srv", "/srv/db/data", "/a b/c"])
    func goodPaths(path: String) {
        #expect(PathRules.isAbsoluteNormalized(path))
    }

    @Test("Relative, dotted, doubled or trailing-slash paths are refused", arguments: ["", "srv", "/srv/", "/srv//db", "/srv/./db", "/srv/../etc", "/a\0b"])
    func badPaths(path: String) {
        #expect(!PathRules.isAbsoluteNormalized(path))
    }

    @Test("A directory contains itself and what lies below, not its prefix siblings")
    func containment() {
        #expect(PathRules.contains("/srv", "/srv"))
        #expect(PathRules.contains("/srv", "/srv/db/x"))
        #expect(!PathRules.contains("/srv", "/srv2/db"))
        #expect(PathRules.contains("/", "/anything"))
    }

    /// To Swift, `/` followed by a combining mark is one character, not a separator; to the
    /// kernel it is a separator. The rules follow the kernel.
    @Test("A '/' before a combining mark is a separator, as for the kernel")
    func combiningMarks() {
        #expect(!PathRules.isAbsoluteNormalized("/srv/../\u{301}etc"))  // `..` is an element
        #expect(!PathRules.isAbsoluteNormalized("/srv//\u{301}x"))
        #expect(!PathRules.isRelativeNormalized("a/../\u{301}b"))
        #expect(PathRules.isAbsoluteNormalized("/srv/\u{301}x"))
        #expect(PathRules.contains("/srv", "/srv/\u{301}x"))
        #expect(!PathRules.contains("/srv/e\u{301}", "/srv/\u{e9}/x"))  // canonically equal, other bytes
        #expect(PathRules.relative("/srv/\u{301}x/y", to: "/srv") == "\u{301}x/y")
        #expect(PathRules.relative("/\u{301}x", to: "/") == "\u{301}x")
    }

    @Test("Ids are 1 to 64 ASCII letters, digits, '-' or '_'")
    func ids() {
        #expect(Identifiers.isValid("Ab-_09z"))
        #expect(Identifiers.isValid(String(repeating: "Z", count: 64)))
        for bad in ["", String(repeating: "a", count: 65), "a.b", "a b", "a/b", "\u{e9}", "a@", "a[", "a`", "a{"] {
            #expect(!Identifiers.isValid(bad), "\(bad)")
        }
    }

    @Test("Writer names are one element of a bus name")
    func writerNames() {
        #expect(BusNames.isValidWriterName("notes"))
        #expect(BusNames.isValidWriterName("pg_main2"))
        #expect(!BusNames.isValidWriterName("2notes"))
        #expect(!BusNames.isValidWriterName("no.dots"))
        #expect(!BusNames.isValidWriterName(""))
        #expect(!BusNames.isValidWriterName(String(repeating: "a", count: 65)))
        #expect(BusNames.writerBusName("notes") == "org.quiesce.Writer.notes")
        #expect(BusNames.writerName(ofBusName: "org.quiesce.Writer.notes") == "notes")
        #expect(BusNames.writerName(ofBusName: "org.quiesce.Writer.a.b") == nil)
        #expect(BusNames.writerName(ofBusName: "org.quiesce.Writer.") == nil)
        #expect(BusNames.writerName(ofBusName: "org.quiesce.Coordinator") == nil)
    }
}
