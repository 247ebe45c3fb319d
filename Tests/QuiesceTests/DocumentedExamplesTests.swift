import Foundation
import Testing

/// The examples in README.md and the guides are compiled (Examples/Snippets, and
/// Tests/QuiesceWriterTests/GuideTestKitSnippet.swift, which also runs): each region between
/// `// snippet:begin DOC` and `// snippet:end` must be one of DOC's swift blocks, verbatim.
@Suite("Documented examples")
struct DocumentedExamplesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    static let sources = [
        "Examples/Snippets/ReadmeWriter/main.swift", "Examples/Snippets/GuideWriter/main.swift",
        "Examples/Snippets/GuideRequester/main.swift", "Tests/QuiesceWriterTests/GuideTestKitSnippet.swift",
    ]

    /// The swift code blocks of a markdown file.
    static func swiftBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```swift" { current = [] } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil { current!.append(line) }
        }
        return blocks
    }

    /// The snippets of a source file: (document, text).
    static func snippets(_ source: String) -> [(String, String)] {
        var found: [(String, String)] = []
        var current: (String, [Substring])?
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("// snippet:begin ") {
                current = (String(line.dropFirst("// snippet:begin ".count)), [])
            } else if line == "// snippet:end", let open = current {
                found.append((open.0, open.1.joined(separator: "\n")))
                current = nil
            } else if current != nil {
                current!.1.append(line)
            }
        }
        return found
    }

    @Test("Every compiled example is in its document, verbatim", arguments: sources)
    func exampleMatchesDocument(source: String) throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent(source), encoding: .utf8)
        let snippets = Self.snippets(text)
        #expect(!snippets.isEmpty)
        for (document, code) in snippets {
            let blocks = Self.swiftBlocks(try String(contentsOf: Self.repository.appendingPathComponent(document), encoding: .utf8))
            #expect(blocks.contains(code), "\(source): this example is not in \(document) as written:\n\(code)")
        }
    }

    @Test("Every swift block of the README and the guides is compiled", arguments: ["README.md", "docs/writer-guide.md", "docs/requester-guide.md"])
    func documentBlocksAreCompiled(document: String) throws {
        let compiled = try Self.sources.flatMap { source in
            Self.snippets(try String(contentsOf: Self.repository.appendingPathComponent(source), encoding: .utf8)).filter { $0.0 == document }.map(\.1)
        }
        let blocks = Self.swiftBlocks(try String(contentsOf: Self.repository.appendingPathComponent(document), encoding: .utf8))
        for block in blocks {
            #expect(compiled.contains(block), "\(document) has a swift block no example compiles:\n\(block)")
        }
    }
}
