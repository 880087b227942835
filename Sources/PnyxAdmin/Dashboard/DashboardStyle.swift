/// The dashboard's one stylesheet (served from `/assets/pnyx.css`; system fonts only).
enum DashboardStyle {
    static let css = """
        :root { color-scheme: light; --ink: #202124; --muted: #5f6368; --line: #dadce0; --bad: #b3261e; --good: #188038; --accent: #1a56b0; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f8f9fa; }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1rem; background: #0b2e59; color: #fff; }
        header a { color: #fff; text-decoration: none; }
        header .brand { font-weight: 700; font-size: 1.2rem; letter-spacing: .04em; }
        nav { display: flex; flex-wrap: wrap; gap: 1rem; }
        nav a[aria-current] { text-decoration: underline; text-underline-offset: .3em; }
        .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; font-size: .9rem; }
        .who form { margin: 0; }
        button.link { background: none; border: 0; color: #fff; text-decoration: underline; padding: 0; font: inherit; cursor: pointer; }
        main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
        footer { max-width: 1200px; margin: 2rem auto; padding: 0 1rem; color: var(--muted); font-size: .85rem; }
        h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
        .muted { color: var(--muted); }
        .bad { color: var(--bad); font-weight: 600; }
        .good { color: var(--good); }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 1rem; margin: 1rem 0; }
        .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1.5rem; }
        .card, .controls, .login { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
        .card h3 { margin: 0 0 .5rem; }
        .card dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem .75rem; margin: 0; font-size: .95rem; }
        .card dt { color: var(--muted); }
        .card dd { margin: 0; }
        .login { max-width: 420px; margin: 2rem auto; }
        .login code, .secret code { overflow-wrap: anywhere; }
        .stack { display: flex; flex-direction: column; gap: .4rem; max-width: 520px; margin-top: 1rem; }
        textarea { font: inherit; padding: .4rem; border: 1px solid var(--line); border-radius: 4px; }
        dl.detail { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; } dl.detail dd { margin: 0; overflow-wrap: anywhere; }
        .row { display: flex; gap: .5rem; }
        .row input { flex: 1; }
        form.inline { display: inline-block; margin: .25rem .5rem .25rem 0; }
        input, select { font: inherit; padding: .45rem .5rem; border: 1px solid #9aa0a6; border-radius: 4px; background: #fff; }
        button { font: inherit; padding: .5rem 1rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
        button.danger { background: var(--bad); }
        button.secondary { background: #e8eaed; color: var(--ink); }
        button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid #f9ab00; outline-offset: 2px; }
        .filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: 1rem; }
        .filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
        .table { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; background: #fff; font-size: .9rem; }
        th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #f1f3f4; }
        td.num, th.num { text-align: right; }
        .action-block, .action-ban { color: var(--bad); font-weight: 600; }
        .severity-critical { color: var(--bad); font-weight: 700; } .severity-warning { color: #8a5300; font-weight: 600; }
        ul.plain { list-style: none; padding: 0; margin: 0; }
        .chart { width: 100%; height: auto; max-width: 760px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
        .legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; font-size: .9rem; }
        code { font-size: .9em; background: #f1f3f4; padding: 0 .25em; border-radius: 3px; }
        @media print { header, footer, .filters, .who { display: none; } body { background: #fff; } .card, .chart { border-color: #999; } }
        @media (max-width: 600px) { .who { margin-left: 0; } main { padding: .5rem; } }
        """
}
