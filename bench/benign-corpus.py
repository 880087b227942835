#!/usr/bin/env python3
"""Writes Pnyx's benign WAF corpus: realistic requests to an election site and common web apps, one raw HTTP/1.1
request per file (`NNNN.white`, the format ../shared/bench/wafbench.py replays with --blazehttp).

What voters and staff really send: registration forms with names such as O'Brien, Nuñez or D'Angelo-Smith,
addresses with '#' and ';', free text that says "select", "union", "drop", "or", "--" and quotes, JSON APIs,
multipart uploads, and real browser headers and cookies (Chrome, Firefox, Safari, mobile; English and Spanish).
Deterministic (fixed seed): `bench/benign-corpus.py Tests/waf/benign` rewrites the committed corpus identically.
"""
import json
import os
import random
import sys
import urllib.parse

random.seed(20261103)

FIRST = ["Siobhan", "José", "María", "Nguyễn", "Zoë", "Jean-Luc", "Mary-Kate", "Łukasz", "Björk", "Aaliyah", "DeShawn",
         "Chloé", "Søren", "Anh", "Fatima", "Ngozi", "Hiroshi", "Olga", "Seán", "Renée", "Tom", "Jerry", "Union",
         "Selena", "Drew", "Orla", "Andrés", "Ximena", "Kateřina", "Mohammed"]
LAST = ["O'Brien", "Nuñez", "D'Angelo-Smith", "O'Neil", "García-López", "Muñoz", "van der Berg", "St. John", "Smith Jr.",
        "MacDonald", "O'Connor-Reyes", "Dell'Orto", "L'Heureux", "N'Diaye", "Ó Súilleabháin", "Select", "Union",
        "Drop", "Orr", "Anders", "Fromm", "Wheare", "Grant", "Chen", "Müller", "Øvergård", "d'Artagnan", "Kim", "Lee"]
STREETS = ["123 Main St #4", "45 Elm St; Apt 2", "PO Box 1200", "1600 Pennsylvania Ave NW", "Unit #5B, 200 Oak Rd",
           "Rural Route 1, Box 22", "77 Sunset Blvd., Apt. 3-C", "9 O'Hara Ct", "500 E. 14th St #12; Bldg 3",
           "12-14 Union Sq", "1 Select Way", "Calle 5 de Mayo #230", "88 Drop Forge Rd", "4 Table Rock Ln",
           "221B Baker St", "1000 Or Ave", "3 Where Lane", "10 From Rd (rear)", "Apt 4/5, 66 Hill St"]
CITIES = ["Clearwater", "Springfield", "San José", "Coeur d'Alene", "St. Louis", "Winston-Salem", "Union City",
          "Truth or Consequences", "Española", "Ka'anapali", "Drop Springs"]
COMMENTS = [
    "Please select the right precinct for me, I could not find it on the map.",
    "I'm a member of the union local 123 and want to volunteer as a poll worker.",
    "Drop me from the mailing list, I moved out of the county.",
    "Where do I vote, or can I mail in my ballot?",
    "My address changed from 12 Oak St to 14 Elm St -- last year.",
    "Update my registration; delete my old address; thanks!",
    "The table at the polling place was broken and the line was long.",
    "Is it true or false that I need an ID? My friend said 'yes' and my mom said \"no\".",
    "I work 9-5 and can only vote after 6pm or on weekends.",
    "I selected the wrong party by mistake, can I change it?",
    "Can you send a Spanish ballot? ¿Tienen boletas en español?",
    "My name has an apostrophe (O'Brien) and your old form rejected it.",
    "Choose one: early voting or election day -- which is better for seniors?",
    "2+2=4 and 1 vote = 1 voice :)",
    "See https://example.gov/faq?topic=id&lang=en for the ID rules.",
    "C:\\Users\\me\\Documents\\ballot-request.pdf did not upload.",
    "I <3 our poll workers!",
    "Email me at someone@example.com or call 555-0100 ext. 12.",
    "Insert my new mailing address; the old one is no longer valid.",
    "We need more accessible voting booths -- wheelchair users wait & wait.",
    "Order by last name please, my name starts with a lowercase letter (de la Cruz).",
    "The results page said 'Precinct 12 of 40 reporting' for hours.",
    "Script for the phone bank: \"Hi, this is the county elections office...\"",
    "Having trouble with the drop box on 5th & Main; it was full.",
    "How many people voted in 2020 vs 2016? Is turnout up or down?",
    "I moved here from another state. Do I re-register or update?",
    "Is there parking at the union hall polling place?",
    "My apartment number is #3; the form keeps dropping the #.",
    "Who counts the ballots, and where? Can observers watch from the table?",
    "N/A",
]
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
]
LANGS = ["en-US,en;q=0.9", "es-MX,es;q=0.9,en;q=0.8", "en-US,en;q=0.9,vi;q=0.8", "en-GB,en;q=0.7", "zh-CN,zh;q=0.9,en;q=0.8"]
ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
COUNTIES = ["Clearwater", "Union", "Lake", "Orange", "Marion", "St. Clair", "Prince George's", "Dona Ana"]
RACES = ["governor", "us-senate", "state-house-12", "county-commission", "school-board", "measure-4a"]


def cookie():
    parts = ["session=%032x" % random.getrandbits(128), "_ga=GA1.2.%d.%d" % (random.randint(10**8, 10**9), random.randint(10**9, 2 * 10**9))]
    if random.random() < 0.5:
        parts.append("lang=%s" % random.choice(["en", "es"]))
    if random.random() < 0.3:
        parts.append("consent=%s" % urllib.parse.quote(json.dumps({"analytics": random.random() < 0.5, "v": 2}), safe=""))
    if random.random() < 0.3:
        parts.append("_gid=GA1.2.%d.%d" % (random.randint(10**8, 10**9), random.randint(10**9, 2 * 10**9)))
    return "; ".join(parts)


def headers(accept=ACCEPT_HTML, referer=None, extra=None):
    h = [("Host", "vote.example.gov"), ("User-Agent", random.choice(UAS)), ("Accept", accept),
         ("Accept-Language", random.choice(LANGS)), ("Accept-Encoding", "gzip, deflate, br, zstd")]
    if random.random() < 0.8:
        h.append(("Cookie", cookie()))
    if referer:
        h.append(("Referer", referer))
    if random.random() < 0.5:
        h += [("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Site", "same-origin"),
              ("Upgrade-Insecure-Requests", "1")]
    h += extra or []
    return h


def request(method, target, hdrs, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target)] + ["%s: %s" % (k, v) for k, v in hdrs]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def q(params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote_plus)


def person():
    return random.choice(FIRST), random.choice(LAST)


def make():
    samples = []
    for _ in range(360):  # polling-place and results lookups
        kind = random.random()
        if kind < 0.4:
            target = "/lookup?" + q({"address": random.choice(STREETS), "city": random.choice(CITIES), "zip": "%05d" % random.randint(501, 99950)})
        elif kind < 0.7:
            target = "/results?" + q({"county": random.choice(COUNTIES), "race": random.choice(RACES), "precinct": random.randint(1, 80)})
        else:
            target = "/search?" + q({"q": random.choice(COMMENTS)[:80]})
        samples.append(request("GET", target, headers(referer="https://vote.example.gov/")))
    for _ in range(600):  # registration and contact forms
        first, last = person()
        form = {"first_name": first, "last_name": last, "street": random.choice(STREETS), "city": random.choice(CITIES),
                "zip": "%05d" % random.randint(501, 99950), "dob": "19%02d-%02d-%02d" % (random.randint(30, 99), random.randint(1, 12), random.randint(1, 28)),
                "email": "%s.%s@example.com" % (first.lower()[:3], last.lower().replace("'", "")[:5].replace(" ", "")),
                "phone": "(555) 01%02d" % random.randint(0, 99), "party": random.choice(["none", "dem", "rep", "lib", "grn", "other"]),
                "comments": random.choice(COMMENTS), "csrf_token": "%040x" % random.getrandbits(160)}
        path = random.choice(["/register", "/contact", "/poll-worker/apply", "/absentee/request"])
        samples.append(request("POST", path, headers(referer="https://vote.example.gov" + path,
                                                          extra=[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://vote.example.gov")]),
                               q(form).encode()))
    for _ in range(360):  # JSON APIs (the polling-place finder, ballot tracking, a results feed client)
        first, last = person()
        kind = random.random()
        if kind < 0.4:
            body = {"address": random.choice(STREETS), "city": random.choice(CITIES), "zip": "%05d" % random.randint(501, 99950)}
            path = "/api/polling-place"
        elif kind < 0.8:
            body = {"voter": {"first": first, "last": last, "dob": "1980-04-12"}, "ballot_id": "B-%06d" % random.randint(0, 999999),
                    "notes": random.choice(COMMENTS), "tags": ["absentee", "mail"], "consent": True, "page": None}
            path = "/api/v1/ballot-status"
        else:
            body = {"query": "select county results", "filters": {"race": random.choice(RACES), "or": [1, 2]}, "sort": "-votes", "limit": 50}
            path = "/api/v1/results/query"
        samples.append(request("POST", path, headers(accept="application/json", extra=[("Content-Type", "application/json"), ("X-Requested-With", "XMLHttpRequest")]),
                               json.dumps(body, ensure_ascii=random.random() < 0.5).encode("utf-8")))
    for _ in range(180):  # multipart uploads (ID documents, poll-worker resumes)
        first, last = person()
        boundary = "----WebKitFormBoundary%016x" % random.getrandbits(64)
        filename = random.choice(["drivers-license.jpg", "utility bill (March).pdf", "resume_O'Brien.docx", "ID scan #2.png", "carta de residencia.pdf"])
        ctype = {"jpg": "image/jpeg", "pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "png": "image/png"}[filename.rsplit(".", 1)[1]]
        content = bytes(random.getrandbits(8) for _ in range(random.randint(100, 400)))
        parts = []
        for name, value in [("first_name", first), ("last_name", last), ("comments", random.choice(COMMENTS))]:
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary, name, value)).encode("utf-8"))
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"document\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n" % (boundary, filename.replace('"', ""), ctype)).encode("utf-8") + content + b"\r\n")
        parts.append(("--%s--\r\n" % boundary).encode())
        samples.append(request("POST", "/upload-id", headers(extra=[("Content-Type", "multipart/form-data; boundary=%s" % boundary)]), b"".join(parts)))
    for _ in range(300):  # ordinary browsing: pages, assets, feeds
        path = random.choice(["/", "/register", "/results", "/results/summary.json", "/assets/site.js", "/assets/site.css",
                              "/es/", "/faq#id-rules", "/news/2026/11/early-voting-hours", "/favicon.ico",
                              "/polling-places/clearwater.pdf", "/sitemap.xml", "/robots.txt"])
        if random.random() < 0.3:
            path += ("&" if "?" in path else "?") + q({"utm_source": random.choice(["facebook", "newsletter", "t.co"]), "utm_campaign": "early-vote-2026"})
        accept = "application/json" if path.endswith(".json") else ("*/*" if "/assets/" in path else ACCEPT_HTML)
        samples.append(request("GET", path, headers(accept=accept, referer="https://www.google.com/")))
    return samples


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/waf/benign"
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".white"):
            os.remove(os.path.join(out, name))
    samples = make()
    for index, sample in enumerate(samples):
        with open(os.path.join(out, "%04d.white" % index), "wb") as f:
            f.write(sample)
    print("%d benign requests written to %s" % (len(samples), out))


if __name__ == "__main__":
    main()
