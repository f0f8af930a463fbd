import ArgumentParser
import TMEOpsCore
import TMEOpsHosts

/// Docker Swarm: the cluster an environment with `deploy.strategy: swarm` rolls out on.
public enum SwarmPlugin: Plugin {
    public static let description = PluginDescription(
        id: "swarm",
        summary: "Docker Swarm: form the cluster of an environment's hosts and show its nodes and tasks.",
        examples: [
            PluginExample("tmeops cluster up -e production", "Initialise Swarm on swarm.manager, join the other hosts, create the overlay network."),
            PluginExample("tmeops cluster status -e production", "Nodes, and the app's tasks on each."),
            PluginExample("tmeops cluster down -e staging --yes", "Every host leaves the swarm."),
        ])

    public static let commands: [any ParsableCommand.Type] = [ClusterCommand.self]
    public static let configSections: [any ConfigSection.Type] = [SwarmConfig.self]
}
