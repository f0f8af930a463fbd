import Foundation

/// An image's final file system as a container sees it: its layers applied in order, whiteouts and
/// opaque folders honoured, hard links counted as the file they name, and symbolic links resolved
/// inside the image's own root (an absolute target starts at the image's `/`, `..` stops there).
///
/// Nothing here touches a disk: it is a table of paths built from layer listings, for checks such as
/// `image verify`'s required and forbidden paths.
public struct ImageFileSystem: Sendable {
    /// One path of the image.
    public struct Node: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case file, directory
            case symlink(String)
            case other
        }
        public let kind: Kind
        /// The layer (0-based) that put this path there.
        public let layer: Int
    }

    /// Every path the image shows, normalised (no leading `/`), with what it is.
    public private(set) var nodes: [String: Node] = [:]
    /// Folders only implied by the paths below them (layers need not list every parent).
    private var impliedFolders: Set<String> = []
    /// Paths that a lower layer added and a later layer's whiteout hid: they still ship as bytes.
    public private(set) var hidden: [(path: String, layer: Int, hiddenBy: Int)] = []

    public init(layers: [DockerArchive.LayerListing]) {
        for (index, layer) in layers.enumerated() { apply(layer, index: index) }
    }

    /// Records the folders above `path`: a layer's tar makes them even when it lists no entry for them.
    private mutating func imply(foldersAbove path: String) {
        var folder = Substring(path)
        while let slash = folder.lastIndex(of: "/") {
            folder = folder[..<slash]
            if !impliedFolders.insert(String(folder)).inserted { break }
        }
    }

    private mutating func remove(_ path: String, by layer: Int) {
        if let node = nodes.removeValue(forKey: path) { hidden.append((path, node.layer, layer)) }
        impliedFolders.remove(path)
        let prefix = path.isEmpty ? "" : path + "/"
        for (key, node) in nodes where key.hasPrefix(prefix) {
            nodes[key] = nil
            hidden.append((key, node.layer, layer))
        }
        impliedFolders = impliedFolders.filter { !$0.hasPrefix(prefix) }
        imply(foldersAbove: path)
    }

    private mutating func apply(_ layer: DockerArchive.LayerListing, index: Int) {
        // Whiteouts describe the layers below this one, so they go first (the order inside the tar is free).
        for folder in layer.opaqueFolders {
            remove(folder, by: index)
            impliedFolders.insert(folder)  // an opaque folder is emptied, not removed
        }
        for path in layer.whiteouts { remove(path, by: index) }
        for entry in layer.entries {
            let kind: Node.Kind
            switch entry.kind {
            case .file: kind = .file
            case .directory: kind = .directory
            case .symlink: kind = .symlink(entry.linkTarget ?? "")
            case .hardlink:
                // A hard link is the file it names (same layer, so already applied).
                kind = nodes[entry.linkTarget.map(PathPattern.clean) ?? ""]?.kind ?? .file
            case .other: kind = .other
            }
            if let old = nodes[entry.path], case .directory = old.kind {
                if case .directory = kind { continue }  // the folder stays: keep the layer that made it
                remove(entry.path, by: index)  // a file or link in its place hides what was below
            }
            nodes[entry.path] = Node(kind: kind, layer: index)
            imply(foldersAbove: entry.path)
        }
    }

    /// Whether `path` (absolute or not) is present, following symbolic links on the way and at the end.
    public func contains(_ path: String) -> Bool { resolve(path) != nil }

    /// The path `path` names once every symbolic link on the way is followed inside the image's root,
    /// or nil when it does not exist (or the links loop, more than 40 hops as the kernel counts).
    public func resolve(_ path: String) -> String? {
        var stack: [String] = []
        var pending = path.split(separator: "/").map(String.init)[...]
        var hops = 0
        while let component = pending.popFirst() {
            if component.isEmpty || component == "." { continue }
            if component == ".." {
                if !stack.isEmpty { stack.removeLast() }  // `/..` is `/` inside a container
                continue
            }
            let candidate = (stack + [component]).joined(separator: "/")
            if case .symlink(let target)? = nodes[candidate]?.kind {
                hops += 1
                if hops > 40 { return nil }
                if target.hasPrefix("/") { stack = [] }
                pending = (target.split(separator: "/").map(String.init) + pending)[...]
                continue
            }
            guard nodes[candidate] != nil || impliedFolders.contains(candidate) else { return nil }
            stack.append(component)
        }
        return stack.joined(separator: "/")
    }
}
