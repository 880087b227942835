import PnyxCore
import Yams

/// The bot challenge's part of the schema: a site's `challenge` section, and the top-level key file.
extension ConfigSchema {
    static let challengeKeys = [
        "under_attack", "difficulty", "clearance", "on_escalation", "paths", "exempt", "other_methods",
        "noscript_wait", "noscript_per_network", "good_bots",
    ]
    static let goodBotKeys = ["name", "user_agent", "domains"]

    /// `challenge: { under_attack: true, difficulty: 16, clearance: 1h, paths: [...], exempt: [...], ... }`.
    func siteChallenge(_ node: Node, path: String) -> ChallengePolicy {
        var policy = ChallengePolicy()
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return policy }
        defer { map.finish(allowed: Self.challengeKeys) }
        if let v = map.bool("under_attack") { policy.underAttack = v }
        if let v = map.int("difficulty", range: 1...28) { policy.difficulty = v }
        if let v = boundedDuration(map, "clearance", path: path, Duration.seconds(60)...Duration.seconds(86400)) { policy.clearance = v }
        if let v = map.bool("on_escalation") { policy.onEscalation = v }
        policy.paths = patterns(map, "paths", path: path)
        policy.exempt = patterns(map, "exempt", path: path)
        if let text = map.string("other_methods") {
            switch text {
            case "refuse": policy.refuseOtherMethods = true
            case "allow": policy.refuseOtherMethods = false
            default:
                diagnostics.error("expected refuse or allow, got '\(text)'", at: map.value("other_methods"), key: "\(path).other_methods")
            }
        }
        if let v = boundedDuration(map, "noscript_wait", path: path, Duration.seconds(1)...Duration.seconds(120)) { policy.noscriptWait = v }
        if let v = map.int("noscript_per_network", range: 0...10_000) { policy.noscriptPerPrefix = v }
        if let botsNode = map.value("good_bots") {
            switch botsNode {
            case .scalar(let scalar) where ["off", "false", "no"].contains(scalar.string.lowercased()):
                policy.goodBots = false
            case .scalar(let scalar) where ["on", "true", "yes"].contains(scalar.string.lowercased()):
                policy.goodBots = true
            case .sequence(let sequence):
                for (index, item) in sequence.enumerated() {
                    if let bot = goodBot(item, path: "\(path).good_bots[\(index)]") { policy.extraBots.append(bot) }
                }
            default:
                diagnostics.error(
                    "expected on, off, or a list of crawlers to add such as - { name: Example, user_agent: examplebot, domains: [crawl.example.org] }",
                    at: botsNode, key: "\(path).good_bots")
            }
        }
        return policy
    }

    func patterns(_ map: ConfigMap, _ key: String, path: String) -> [PathPattern] {
        guard let list = map.stringList(key) else { return [] }
        var out: [PathPattern] = []
        for (index, (text, item)) in list.enumerated() {
            if let pattern = PathPattern(text) {
                out.append(pattern)
            } else {
                diagnostics.error("expected a path pattern starting with '/', got '\(text)'", at: item, key: "\(path).\(key)[\(index)]")
            }
        }
        return out
    }

    func goodBot(_ node: Node, path: String) -> GoodBot? {
        guard let map = ConfigMap(node, path: path, diagnostics: diagnostics) else { return nil }
        defer { map.finish(allowed: Self.goodBotKeys) }
        guard let name = map.string("name"), let agent = map.string("user_agent"), !agent.isEmpty,
            let domains = map.stringList("domains"), !domains.isEmpty
        else {
            diagnostics.error("a crawler needs name, user_agent and domains", at: node, key: path)
            return nil
        }
        return GoodBot(name: name, userAgent: agent.lowercased(), domains: domains.map { $0.0.lowercased() })
    }
}
