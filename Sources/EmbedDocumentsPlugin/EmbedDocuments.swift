import Foundation
import PackagePlugin

/// Compiles the JSON documents at the top of a target's folder into the target
/// as string literals (`EmbeddedDocuments.<file_name>`), so the installed
/// binary needs no resource folder beside it. SwiftPM's own `.embedInCode`
/// writes a byte-array literal, which takes the compiler minutes and gigabytes
/// for a document the size of the OpenAPI contract; a raw string literal takes
/// under a second. The target excludes the files it hands to this plugin.
@main
struct EmbedDocuments: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let folder = target.directoryURL
        let documents = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
            .map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedDocuments.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(documents.map(\.lastPathComponent).joined(separator: ", ")) in \(target.name)",
                executable: try context.tool(named: "document-embedder").url,
                arguments: [output.path] + documents.map(\.path),
                inputFiles: documents,
                outputFiles: [output]
            )
        ]
    }
}
