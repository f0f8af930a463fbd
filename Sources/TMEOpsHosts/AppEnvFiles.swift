import Foundation

/// Where an app container tmeops made finds its env file's variables: not in its configuration (which
/// `docker inspect` shows) but in a file its start wrapper sources before the image's command runs. A
/// plain container has it at `container`, written before it started; a swarm task has the release's
/// secret at `swarmSecret`. Kept here, in one place, for the deploy that writes them and for `exec`.
public enum AppEnvFiles {
    public static let container = "/run/tmeops/app.env"
    public static let swarmSecret = "/run/secrets/tmeops-env"
    /// The `$0` of the start wrapper (`sh -c WRAPPER tmeops-env CMD…`), by which its containers are known.
    public static let wrapperName = "tmeops-env"

    /// Whether a container whose entrypoint (or a swarm task's command) is `entrypoint` runs under the
    /// start wrapper, so that a command run beside the app needs the same variables sourced.
    public static func runsUnderWrapper(entrypoint: [String]) -> Bool {
        entrypoint.count >= 4 && entrypoint[0] == "/bin/sh" && entrypoint[1] == "-c" && entrypoint[3] == wrapperName
    }

    /// `argv` as `tmeops exec` runs it in such a container: the variables the app was started with
    /// exported first (whichever file the container has), then the command, exec'd with its arguments
    /// untouched.
    public static func wrapped(_ argv: [String]) -> [String] {
        let script = """
            for f in \(container) \(swarmSecret); do
              if [ -e "$f" ]; then set -a; . "$f" || { echo "tmeops: cannot read the env file $f" >&2; exit 78; }; set +a; fi
            done
            exec "$@"
            """
        return ["/bin/sh", "-c", script, wrapperName] + argv
    }
}
