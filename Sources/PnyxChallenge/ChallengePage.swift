import Foundation
import NIOCore
import NIOHTTP1
import PnyxCore

/// The interstitial a browser sees once: plain HTML with one inline script and one inline style (both carrying
/// the response's CSP nonce), a live status line for screen readers, English or Spanish by `Accept-Language` (with
/// one line in the other language), and a `<noscript>` refresh that lets a human without JavaScript through after
/// a short wait.
public enum ChallengePage {
    struct Strings {
        var lang: String
        var title: String
        var heading: String
        var working: String
        var done: String
        var noscript: String
        var continueLink: String
        var why: String
        var other: String
    }

    static let english = Strings(
        lang: "en", title: "One moment, please", heading: "One moment, please",
        working: "Your browser is confirming that this visit is not from an automated program. This takes a few seconds and needs nothing from you.",
        done: "Done. Taking you to the page…",
        noscript: "JavaScript is turned off. You will be taken to the page in %d seconds.",
        continueLink: "Continue to the page",
        why: "This check protects the %@ election website from attacks.",
        other: "Un momento, por favor: su navegador está verificando la visita. No tiene que hacer nada.")

    static let spanish = Strings(
        lang: "es", title: "Un momento, por favor", heading: "Un momento, por favor",
        working: "Su navegador está confirmando que esta visita no proviene de un programa automatizado. Tarda unos segundos y no tiene que hacer nada.",
        done: "Listo. Llevándolo a la página…",
        noscript: "JavaScript está desactivado. Lo llevaremos a la página en %d segundos.",
        continueLink: "Continuar a la página",
        why: "Esta verificación protege el sitio electoral de %@ contra ataques.",
        other: "One moment, please: your browser is checking this visit. You do not need to do anything.")

    static func strings(acceptLanguage: String?) -> Strings {
        guard let accept = acceptLanguage?.lowercased() else { return english }
        // The first language listed that we have (quality values are rarely used to reorder in practice).
        for part in accept.split(separator: ",") {
            let tag = part.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if tag.hasPrefix("es") { return spanish }
            if tag.hasPrefix("en") { return english }
        }
        return english
    }

    /// The page and its headers (status 403, no caching, not indexed, strict CSP with a fresh nonce).
    public static func response(
        token: ChallengeToken, waitToken: ChallengeToken, target: String, host: String, waitSeconds: Int,
        acceptLanguage: String?, requestID: String, isHEAD: Bool
    ) -> LocalResponse {
        let s = strings(acceptLanguage: acceptLanguage)
        let nonce = makeNonce()
        let verify = "/.pnyx/challenge/verify"
        let waitURL = "/.pnyx/challenge/wait?t=\(percentEncode(waitToken.text))&r=\(percentEncode(target))"
        let html = """
            <!doctype html>
            <html lang="\(s.lang)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex, nofollow">
            <title>\(s.title)</title>
            <noscript><meta http-equiv="refresh" content="\(waitSeconds);url=\(escape(waitURL))"></noscript>
            <style nonce="\(nonce)">
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1b1b1b;line-height:1.5}
            main{max-width:36rem;margin:12vh auto;padding:2rem;background:#fff;border:1px solid #dfe1e2;border-radius:.5rem}
            h1{font-size:1.6rem;margin:0 0 1rem}
            .bar{height:.4rem;background:#dfe1e2;border-radius:.2rem;overflow:hidden;margin:1.2rem 0}
            .bar span{display:block;height:100%;width:40%;background:#005ea2;animation:slide 1.2s ease-in-out infinite}
            @keyframes slide{0%{margin-left:-40%}100%{margin-left:100%}}
            @media (prefers-reduced-motion:reduce){.bar span{animation:none;width:100%}}
            small{color:#565c65}
            a{color:#005ea2}
            </style>
            </head>
            <body>
            <main>
            <h1>\(s.heading)</h1>
            <p id="status" role="status" aria-live="polite">\(s.working)</p>
            <div class="bar" aria-hidden="true"><span></span></div>
            <noscript><p>\(s.noscript.replacingOccurrences(of: "%d", with: String(waitSeconds))) <a href="\(escape(waitURL))">\(s.continueLink)</a></p></noscript>
            <p lang="\(s.lang == "en" ? "es" : "en")">\(s.other)</p>
            <p><small>\(s.why.replacingOccurrences(of: "%@", with: escape(host))) Ref. \(escape(requestID))</small></p>
            </main>
            <script nonce="\(nonce)">
            (function(){
            var c="\(token.text)",d=\(token.difficulty),r=\(jsString(target)),done=\(jsString(s.done));
            var src=\(jsString(ChallengeWorker.source));
            function finish(n){document.getElementById("status").textContent=done;
            location.replace("\(verify)?t="+encodeURIComponent(c)+"&s="+n+"&r="+encodeURIComponent(r));}
            try{var w=new Worker(URL.createObjectURL(new Blob([src],{type:"text/javascript"})));
            w.onmessage=function(e){finish(e.data);};w.onerror=function(e){e.preventDefault();w.terminate();inline();};
            w.postMessage([c,d]);}catch(e){inline();}
            function inline(){var i=0;function step(){var n=search(c+":",d,i,20000);
            if(n>=0){finish(n);}else{i+=20000;setTimeout(step,0);}}setTimeout(step,0);}
            })();
            \(ChallengeWorker.source)
            </script>
            </body>
            </html>

            """
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/html; charset=utf-8")
        headers.add(name: "cache-control", value: "no-store")
        headers.add(name: "x-robots-tag", value: "noindex")
        headers.add(
            name: "content-security-policy",
            value: "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; "
                + "worker-src blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        var body = ByteBuffer(string: html)
        if isHEAD {
            headers.add(name: "content-length", value: String(body.readableBytes))
            body = ByteBuffer()
        }
        return LocalResponse(status: .forbidden, headers: headers, body: body)
    }

    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<18).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func escape(_ text: String) -> String { TextEscaping.html(text) }

    /// A JavaScript string literal that is safe inside a `<script>` element.
    static func jsString(_ text: String) -> String { TextEscaping.jsonString(text) }

    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded
            }
        }
        return out
    }
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}
