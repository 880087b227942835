import NIOCore
import NIOHTTP1
import PnyxCore

/// The plain, branded pages Pnyx shows when it answers itself (bad request, unknown site, origin down).
enum ErrorPage {
    static func response(
        status: HTTPResponseStatus, title: String, message: String, requestID: RequestID?, wantsJSON: Bool = false
    ) -> LocalResponse {
        var headers = HTTPHeaders()
        headers.add(name: "cache-control", value: "no-store")
        var body = ByteBuffer()
        if wantsJSON {
            headers.add(name: "content-type", value: "application/json")
            body.writeString(
                "{\"status\":\(status.code),\"error\":\(jsonString(title)),\"message\":\(jsonString(message))"
                    + (requestID.map { ",\"request_id\":\"\($0)\"" } ?? "") + "}\n")
        } else {
            headers.add(name: "content-type", value: "text/html; charset=utf-8")
            body.writeString(
                """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
                <title>\(status.code) \(escape(title))</title>
                <style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}
                h1{font-size:1.5rem}footer{margin-top:3rem;color:#5c5c5c;font-size:.85rem}</style></head>
                <body><main><h1>\(escape(title))</h1><p>\(escape(message))</p></main>
                <footer>Error \(status.code)\(requestID.map { " · reference \($0)" } ?? "") · protected by Pnyx</footer></body></html>

                """)
        }
        return LocalResponse(status: status, headers: headers, body: body)
    }

    static func escape(_ text: String) -> String { TextEscaping.html(text) }
    static func jsonString(_ text: String) -> String { TextEscaping.jsonString(text) }

    static func wantsJSON(_ head: HTTPRequestHead) -> Bool {
        for value in head.headers["accept"] where value.contains("application/json") && !value.contains("text/html") {
            return true
        }
        return false
    }
}
