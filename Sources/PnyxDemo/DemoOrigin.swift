import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A small election website used by `pnyx demo` and the tests: a home page, a voter-registration form that
/// POSTs, a polling-place lookup API, a results page and a results JSON feed. Everything is made up.
public enum DemoOrigin {
    public static func makeApplication(
        host: String = "127.0.0.1", port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        let outage = OutageSwitch()
        router.middlewares.add(OutageMiddleware(outage: outage))
        // The demo's outage switch: `curl -X POST 'http://127.0.0.1:ORIGIN/demo/outage?on=1'` makes every page
        // answer 503 (and the health check fail) until `?on=0`. Only asked directly, never through Pnyx.
        router.post("/demo/outage") { request, _ -> Response in
            guard !request.headers.contains(where: { $0.name.canonicalName == "x-forwarded-for" }) else {
                return Response(status: .forbidden)
            }
            let on = request.uri.queryParameters.get("on") != "0"
            outage.set(on)
            return html(on ? "demo origin: outage ON (every page answers 503)\n" : "demo origin: outage OFF\n")
        }
        // The demo's defacement switch: `curl -X POST 'http://127.0.0.1:ORIGIN/demo/tamper?on=1'` makes the home and
        // results pages carry a false notice and a cryptominer script (as a compromised web server would) until
        // `?on=0`. Only asked directly, never through Pnyx.
        let tamper = OutageSwitch()
        router.post("/demo/tamper") { request, _ -> Response in
            guard !request.headers.contains(where: { $0.name.canonicalName == "x-forwarded-for" }) else {
                return Response(status: .forbidden)
            }
            let on = request.uri.queryParameters.get("on") != "0"
            tamper.set(on)
            return html(on ? "demo origin: DEFACED (home and results pages changed, miner added; /assets/site.js swapped for a miner)\n" : "demo origin: pages restored\n")
        }
        router.get("/") { _, _ in html(tamper.isOn ? DemoPages.defaced(DemoPages.home) : DemoPages.home) }
        router.get("/register") { _, _ in html(DemoPages.registerForm(error: nil)) }
        router.post("/register") { request, context -> Response in
            let body = try await request.body.collect(upTo: 64 * 1024)
            let form = DemoPages.parseForm(String(buffer: body))
            let name = form["name"]?.trimmingCharacters(in: .whitespaces) ?? ""
            let zip = form["zip"]?.trimmingCharacters(in: .whitespaces) ?? ""
            guard !name.isEmpty, zip.count == 5, zip.allSatisfy(\.isNumber) else {
                return html(DemoPages.registerForm(error: "Please give your full name and a 5-digit ZIP code."), status: .badRequest)
            }
            return html(DemoPages.registered(name: name, zip: zip))
        }
        router.get("/lookup") { _, _ in html(DemoPages.lookup) }
        router.get("/api/polling-place") { request, _ -> Response in
            // Form encoding writes spaces as '+'.
            guard let address = request.uri.queryParameters.get("address")?.replacingOccurrences(of: "+", with: " "),
                !address.isEmpty
            else {
                return json(#"{"error":"address is required"}"#, status: .badRequest)
            }
            return json(DemoData.pollingPlace(for: address))
        }
        router.get("/results") { _, _ in html(tamper.isOn ? DemoPages.defaced(DemoPages.results) : DemoPages.results) }
        router.get("/assets/site.js") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: tamper.isOn ? DemoPages.swappedScript : DemoPages.siteScript)))
        }
        router.get("/results/summary.json") { _, _ -> Response in
            var response = json(DemoData.resultsJSON())
            response.headers[.cacheControl] = "public, max-age=10"
            return response
        }
        router.get("/healthz") { _, _ in "ok\n" }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "clearwater-county-web"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    final class OutageSwitch: Sendable {
        private let state = NIOLockedValueBox(false)
        var isOn: Bool { state.withLockedValue { $0 } }
        func set(_ on: Bool) { state.withLockedValue { $0 = on } }
    }

    struct OutageMiddleware<Context: RequestContext>: RouterMiddleware {
        let outage: OutageSwitch
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            if outage.isOn && request.uri.path != "/demo/outage" {
                return html("<h1>503: the county web server is down (demo outage)</h1>\n", status: .serviceUnavailable)
            }
            return try await next(request, context)
        }
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

enum DemoData {
    static let places = [
        ("Clearwater Public Library", "200 Main Street, Clearwater"),
        ("Lincoln Elementary School Gym", "45 Oak Avenue, Clearwater"),
        ("Riverside Community Center", "1100 River Road, Clearwater"),
        ("Fire Station No. 3", "78 Hill Street, Clearwater"),
    ]

    static func pollingPlace(for address: String) -> String {
        let index = Int(address.utf8.reduce(UInt32(7)) { ($0 &* 31) &+ UInt32($1) } % UInt32(places.count))
        let (name, placeAddress) = places[index]
        return """
            {"address":\(quote(address)),"precinct":"\(101 + index)","polling_place":{"name":\(quote(name)),\
            "address":\(quote(placeAddress)),"hours":"7:00 AM - 8:00 PM"}}
            """
    }

    static func resultsJSON() -> String {
        // Counts grow slowly with time so the page visibly updates on election night.
        let minutes = Int(Date().timeIntervalSince1970 / 60) % 600
        let reported = min(42, 3 + minutes / 10)
        func votes(_ base: Int, _ rate: Int) -> Int { base + rate * minutes }
        return """
            {"election":"Clearwater County General Election","unofficial":true,"precincts_reporting":\(reported),\
            "precincts_total":42,"updated":"\(Date().formatted(.iso8601))","races":[\
            {"race":"County Commissioner, District 2","candidates":[\
            {"name":"Maria Alvarez","votes":\(votes(5120, 13))},{"name":"James Whitfield","votes":\(votes(4987, 12))}]},\
            {"race":"Measure A: Library Bond","candidates":[\
            {"name":"Yes","votes":\(votes(8210, 21))},{"name":"No","votes":\(votes(6120, 15))}]}]}
            """
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
