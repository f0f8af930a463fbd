/// Expands `${VAR}` (and `${VAR:-default}`) in config scalars; `$$` is a literal `$`.
public struct Interpolator: Sendable {
    /// Variables from `.tmeops/secrets.env`; they win over the process environment and are always secret.
    public let secrets: [String: String]
    public let environment: [String: String]

    public init(secrets: [String: String] = [:], environment: [String: String]) {
        self.secrets = secrets
        self.environment = environment
    }

    public enum Failure: Error, Equatable {
        case unset(String)
        case malformed(String)
    }

    /// The expanded text and the names of the variables it used.
    public func expand(_ text: String) throws(Failure) -> (value: String, variables: [String]) {
        guard text.contains("$") else { return (text, []) }
        var result = ""
        var used: [String] = []
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                result.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                result.append("$")
                index = text.index(after: next)
            } else if text[next] == "{" {
                guard let close = text[next...].firstIndex(of: "}") else { throw .malformed(String(text[index...])) }
                let body = String(text[text.index(after: next)..<close])
                let (name, fallback) = split(body)
                guard DotEnv.isVariableName(name) else { throw .malformed("${\(body)}") }
                used.append(name)
                if let value = secrets[name] ?? environment[name], !(value.isEmpty && fallback != nil) {
                    result += value
                } else if let fallback {
                    result += fallback
                } else {
                    throw .unset(name)
                }
                index = text.index(after: close)
            } else {
                result.append(character)
                index = next
            }
        }
        return (result, used)
    }

    private func split(_ body: String) -> (String, String?) {
        guard let range = body.range(of: ":-") else { return (body, nil) }
        return (String(body[..<range.lowerBound]), String(body[range.upperBound...]))
    }
}
