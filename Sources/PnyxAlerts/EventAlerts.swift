import PnyxCore

/// Which security events are alerts, and how they read. Everything else (refusals, bans, challenges) reaches
/// staff as a spike (see ``SpikeDetector``), on the dashboard and in reports, not one message per request.
enum EventAlerts {
    struct Classified: Equatable {
        var kind: AlertKind
        var severity: AlertSeverity
        var title: String
        var detail: String
        /// Alerts with the same key are sent at most once per repeat window; nil: never held back (transitions
        /// that the health check and escalation already debounce).
        var repeatKey: String?
    }

    static func classify(_ event: SecurityEvent) -> Classified? {
        let site = event.site
        switch (event.filter, event.rule) {
        case ("health", "origin_down"):
            return Classified(
                kind: .origin, severity: .critical, title: "Origin down at \(site)",
                detail: "\(event.evidence). Pnyx keeps serving cached pages (stale if need be) and the static fallback where one is set; requests that need the origin fail until it is back.",
                repeatKey: nil)
        case ("health", "origin_up"):
            return Classified(
                kind: .origin, severity: .info, title: "Origin back up at \(site)", detail: "\(event.evidence).", repeatKey: nil)
        case ("escalation", "posture"):
            let calming = event.evidence.contains("→ normal")
            return Classified(
                kind: .posture, severity: calming ? .info : .warning,
                title: calming ? "\(site) is back to normal posture" : "\(site) escalated its posture",
                detail: "Automatic escalation: \(event.evidence).", repeatKey: nil)
        case ("integrity", "changed"):
            return Classified(
                kind: .integrity, severity: .critical, title: "Page changed at \(site): \(event.path)",
                detail: "The origin served \(event.path) with content that differs from its pinned copy (\(event.evidence)). If nobody published it, the site may be defaced: approve it on the dashboard if it is expected, or switch the page to protect.",
                repeatKey: "integrity|\(site)|changed|\(event.path)")
        case ("integrity", "protected"):
            return Classified(
                kind: .integrity, severity: .critical, title: "Defacement stopped at \(site): \(event.path)",
                detail: "The origin served \(event.path) with content that differs from its pinned copy; Pnyx served the pinned copy instead (\(event.evidence)). Check the origin: it may be compromised.",
                repeatKey: "integrity|\(site)|protected|\(event.path)")
        case ("integrity", "known_bad_script"):
            return Classified(
                kind: .integrity, severity: .critical, title: "Known-bad script at \(site)",
                detail: "\(event.evidence). Remove it from the origin and check how it got there.",
                repeatKey: "integrity|\(site)|bad|\(event.evidence)")
        case ("integrity", "new_script"), ("integrity", "new_domain"), ("integrity", "script_changed"):
            let what =
                event.rule == "new_script" ? "New script" : event.rule == "new_domain" ? "Script from a new host" : "Script changed"
            return Classified(
                kind: .integrity, severity: .warning, title: "\(what) at \(site)",
                detail: "\(event.evidence). Approve it on the dashboard if it is expected.",
                repeatKey: "integrity|\(site)|\(event.rule)|\(event.evidence)")
        default:
            return nil
        }
    }
}
