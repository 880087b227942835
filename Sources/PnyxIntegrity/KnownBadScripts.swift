/// Signatures of scripts no election site should serve: browser cryptominers and payment/identity skimmers.
/// Maintained here, in the repository; each is a case-insensitive substring of a script's URL or content.
/// Sources: public write-ups of the CoinHive-era miners and their successors, and of Magecart-style skimmers.
public enum KnownBadScripts {
    public struct Signature: Sendable, Equatable {
        public var name: String
        public var kind: String
        /// Lower-case substrings; any one matches.
        public var needles: [String]
    }

    public static let all: [Signature] = [
        Signature(name: "coinhive", kind: "cryptominer", needles: ["coinhive", "coin-hive", "authedmine", "coinhive.anonymous"]),
        Signature(name: "cryptoloot", kind: "cryptominer", needles: ["crypto-loot", "cryptoloot", "webmine.pro"]),
        Signature(name: "coinimp", kind: "cryptominer", needles: ["coinimp", "www.hostingcloud.racing", "webassembly.stream"]),
        Signature(name: "jsecoin", kind: "cryptominer", needles: ["jsecoin"]),
        Signature(name: "deepminer", kind: "cryptominer", needles: ["deepminer", "deepminer.js"]),
        Signature(name: "webminepool", kind: "cryptominer", needles: ["webminepool", "minero.cc", "minr.pw", "monerise", "coinnebula"]),
        Signature(name: "cryptonight-wasm", kind: "cryptominer", needles: ["cryptonight", "cn.wasm", "cryptonight.wasm", "stratum+tcp://"]),
        Signature(name: "miner-api", kind: "cryptominer", needles: [".anonymous(", "miner.start(", "throttleminer", "gethashespersecond"]),
        Signature(name: "magecart-exfil", kind: "skimmer", needles: ["cc_number", "cardnumber\"]').value", "new image().src='https://", "magento-analytics", "google-anaiytics"]),
        Signature(name: "skimmer-obfuscation", kind: "skimmer", needles: ["atob('ahr0chm6ly9", "atob(\"ahr0chm6ly9", "window[\"eval\"](atob("]),
        Signature(name: "keylogger", kind: "skimmer", needles: ["document.onkeypress=function", "addeventlistener('keypress',function(e){new image"]),
    ]

    /// The first signature `text` matches (a URL or a script body), if any.
    public static func match<C: Collection>(_ text: C) -> Signature? where C.Element == UInt8 {
        guard !text.isEmpty else { return nil }
        let lower = String(decoding: text.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        return all.first { signature in signature.needles.contains { lower.contains($0) } }
    }

    public static func match(_ text: String) -> Signature? { match(Array(text.utf8)) }
}
