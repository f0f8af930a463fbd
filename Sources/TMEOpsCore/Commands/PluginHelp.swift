import ArgumentParser

/// Renders `tmeops help PLUGIN`: summary, commands, config keys and examples.
public enum PluginHelp {
    public static func render(_ plugin: RegisteredPlugin) -> String {
        var text = "\(plugin.description.id) — \(plugin.description.summary)\n"
        text += "Origin: \(plugin.origin.label)\n"
        if !plugin.commands.isEmpty {
            text += "\nCOMMANDS:\n"
            for command in plugin.commands {
                text += describe(command, prefix: "", depth: 1)
            }
        }
        if !plugin.configSections.isEmpty {
            text += "\nCONFIG KEYS:\n"
            for section in plugin.configSections {
                let path = section.scope == .root ? section.key : "environments.<name>.\(section.key)"
                text += "  \(path.padding(toLength: 34, withPad: " ", startingAt: 0)) \(section.summary)\n"
            }
        }
        if !plugin.description.examples.isEmpty {
            text += "\nEXAMPLES:\n"
            for example in plugin.description.examples {
                text += "  \(example.command)\n      \(example.explanation)\n"
            }
        }
        return text
    }

    private static func describe(_ command: any ParsableCommand.Type, prefix: String, depth: Int) -> String {
        let name = prefix.isEmpty ? command._commandName : "\(prefix) \(command._commandName)"
        let indent = String(repeating: "  ", count: depth)
        var text = "\(indent)\(name.padding(toLength: max(24, name.count + 1), withPad: " ", startingAt: 0))\(command.configuration.abstract)\n"
        for subcommand in command.configuration.subcommands {
            text += describe(subcommand, prefix: name, depth: depth + 1)
        }
        return text
    }
}
