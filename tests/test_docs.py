"""The HTML docs: built offline from the committed reports, then checked in headless Chromium (Debian's package,
driven by Playwright): every page loads without console errors, the navigation reaches every page, every image
loads, every internal link resolves, the claims table shows a number for each claim. README.md is what
nbs/index.ipynb gives. The screenshot of the gallery is kept in test-artifacts/gallery.png."""
import functools, html, http.server, json, os, re, subprocess, sys, threading, time
from pathlib import Path
from urllib.parse import urljoin, urlparse, unquote

import pytest

from conftest import ROOT, BIN

ARTIFACTS = ROOT/'test-artifacts'
CHROMIUM = os.environ.get('UQNB_CHROMIUM', '/usr/bin/chromium')
NUMBER = re.compile(r'^[−-]?\d[\d,]*(\.\d+)?(e[−-]?\d+)?( – [−-]?\d[\d,]*(\.\d+)?(e[−-]?\d+)?)?( \S+)?$')


def test_readme_is_generated_from_index():
    r = subprocess.run([str(BIN/'python'), '-m', 'uqnb.docs', 'check-readme'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site built by the README's command (`python -m uqnb.docs build`, what `make docs` runs) from the committed reports."
    out = tmp_path_factory.mktemp('docs')/'_docs'
    t0 = time.perf_counter()
    r = subprocess.run([str(BIN/'python'), '-m', 'uqnb.docs', 'build', '--out', str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    print(f'docs built in {time.perf_counter() - t0:.1f} s')
    return out


def committed_runs():
    "Every committed report folder (`reports/<experiment>/<default|paper>/` with a manifest), read independently of uqnb.docs."
    return sorted(p.parent for p in (ROOT/'reports').glob('*/*/manifest.json') if p.parent.name in ('default', 'paper'))


def test_site_has_every_page(site):
    exps = sorted(p.stem for p in (ROOT/'nbs'/'experiments').glob('*.ipynb') if not p.name.startswith('_'))
    libs = sorted(p for p in (ROOT/'nbs').glob('[0-9]*.ipynb'))
    pages = {p.relative_to(site).as_posix() for p in site.rglob('*.html')}
    assert {'index.html', 'gallery.html'} <= pages
    assert {f'experiments/{e}.html' for e in exps} <= pages
    for e in exps:  # parameters and settings per profile on every experiment page
        t = (site/'experiments'/f'{e}.html').read_text()
        assert 'id="parameters"' in t and 'id="settings"' in t, e
    assert len([p for p in pages if p.startswith('api/')]) == len(libs)
    core = (site/'api'/'core.html').read_text()
    # signatures and docstrings as show_doc gives them, cross-links between symbols, hidden cells hidden
    text = html.unescape(re.sub(r'<[^>]+>', '', core))
    assert '<h3 id="report">Report</h3>' in core and 'def get_profile(\n    name:str\n)->Profile:' in text
    assert "The Profile called name, or a ValueError that lists the known ones." in text
    assert 'href="core.html#resolve_settings"' in core and 'from fastcore.test import' not in core
    tags = re.findall(r'<a\b[^<>]*>', ''.join(p.read_text() for p in site.rglob('*.html')))
    assert len(tags) > 500 and not [t for t in tags if 'uqnb.invalid' in t]  # nbdev's links point at the pages


def test_no_broken_links_in_the_html(site):
    "The same check as in the browser below, on the HTML files (so it runs where Chromium cannot be installed)."
    from uqnb.docs import broken_links
    assert broken_links(site) == []


def test_gallery_shows_every_committed_report(site):
    gallery = (site/'gallery.html').read_text()
    runs = committed_runs()
    assert runs, 'no committed report'
    for run in runs:
        man = json.loads((run/'manifest.json').read_text())
        exp = run.parent.name
        assert f'id="{exp}-{run.name}"' in gallery
        assert man['git']['commit'][:10] in gallery
        for f in list(run.glob('*.png')) + list(run.glob('*.csv')):
            assert f'src="reports/{exp}/{run.name}/{f.name}"' in gallery or f'href="reports/{exp}/{run.name}/{f.name}"' in gallery, f
            assert (site/'reports'/exp/run.name/f.name).read_bytes() == f.read_bytes()


def test_claims_read_metrics(site):
    "Each claim's measured number is the one in metrics.json (checked here for the claims that read one key)."
    from uqnb.docs import CLAIMS, evaluate_claims
    rows = evaluate_claims(ROOT/'reports')
    assert {r['experiment'] for r in rows} >= {'anomaly', 'domain_adaptation', 'active_learning', 'architecture_search'}
    missing = [f"{r['experiment']}: {r['claim']}: {r['error']}" for r in rows if r['met'] is None]
    assert not missing, 'claims without a number (a metric renamed? update uqnb.docs.CLAIMS):\n' + '\n'.join(missing)
    for r in rows:
        if re.fullmatch(r'\w+', r['measured']):
            m = json.loads((ROOT/'reports'/r['experiment']/r['profile']/'metrics.json').read_text())
            assert r['value'] == m[r['measured']]


# ---------------------------------------------------------------- in the browser

@pytest.fixture(scope='module')
def chromium():
    r = subprocess.run(['bash', str(ROOT/'.ci'/'install-chromium')], capture_output=True, text=True)
    print(r.stdout + r.stderr)
    if r.returncode != 0 or not Path(CHROMIUM).exists():
        pytest.skip(f'Chromium cannot be installed here: {(r.stdout + r.stderr).strip().splitlines()[-1:]}')
    from playwright.sync_api import sync_playwright  # a dev requirement: failing to import it is an error, not a skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'])
        yield browser
        browser.close()


@pytest.fixture(scope='module')
def server(site):
    "The site served over HTTP on localhost (as a reader would serve it), quietly."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown()


@pytest.fixture(scope='module')
def crawl(chromium, server, site):
    "Visit every page reachable from the home page by its navigation; record errors, images, links and ids of each."
    page = chromium.new_page(viewport={'width': 1300, 'height': 900})
    events = []
    page.on('console', lambda m: events.append(('console', m.type, m.text)) if m.type == 'error' else None)
    page.on('pageerror', lambda e: events.append(('pageerror', 'error', str(e))))
    page.on('requestfailed', lambda r: events.append(('requestfailed', 'error', r.url)))
    seen, todo, res = set(), [server + 'index.html'], {}
    while todo:
        url = todo.pop(0)
        if url in seen: continue
        seen.add(url)
        events.clear()
        resp = page.goto(url, wait_until='load')
        page.wait_for_load_state('networkidle')
        info = page.evaluate('''() => ({
            status: document.readyState,
            nav: [...document.querySelectorAll('nav.sidebar a')].map(a => a.href),
            links: [...document.querySelectorAll('a[href]')].map(a => a.href),
            images: [...document.images].map(i => ({src: i.src, complete: i.complete, w: i.naturalWidth})),
            ids: [...document.querySelectorAll('[id]')].map(e => e.id)})''')
        res[url] = dict(info, http=resp.status, events=list(events))
        todo += [u.split('#')[0] for u in info['nav'] if u.startswith(server) and u.split('#')[0] not in seen]
    if 'gallery.html' in ''.join(res):
        ARTIFACTS.mkdir(exist_ok=True)
        page.goto(server + 'gallery.html'); page.wait_for_load_state('networkidle')
        page.screenshot(path=str(ARTIFACTS/'gallery.png'), full_page=True)
    yield res, page
    page.close()


def test_navigation_reaches_every_page(crawl, server, site):
    res, _ = crawl
    pages = {server + p.relative_to(site).as_posix() for p in site.rglob('*.html')}
    assert set(res) == pages, f'not reachable by navigation: {sorted(pages - set(res))}'


def test_pages_load_without_console_errors(crawl):
    res, _ = crawl
    bad = {u: r['events'] for u, r in res.items() if r['events'] or r['http'] != 200}
    assert not bad, bad


def test_every_image_loads(crawl):
    res, _ = crawl
    n = sum(len(r['images']) for r in res.values())
    bad = [(u, i['src']) for u, r in res.items() for i in r['images'] if not (i['complete'] and i['w'] > 0)]
    assert n > 20 and not bad, bad


def test_every_internal_link_resolves(crawl, server):
    res, page = crawl
    status, bad = {}, []
    for u, r in res.items():
        for link in r['links']:
            if not link.startswith(server): continue
            target, _, anchor = link.partition('#')
            if target not in status: status[target] = page.request.get(target).status
            if status[target] != 200: bad.append((u, link, status[target]))
            elif anchor and target.endswith('.html') and unquote(anchor) not in res.get(target, {}).get('ids', []):
                bad.append((u, link, 'no such id'))
    assert len(status) > 50 and not bad, bad


def test_claims_table_shows_a_number_for_each_claim(crawl, server):
    from uqnb.docs import evaluate_claims
    _, page = crawl
    page.goto(server + 'gallery.html')
    cells = page.eval_on_selector_all('#claims-table td.measured', 'tds => tds.map(t => t.innerText.trim())')
    assert len(cells) == len(evaluate_claims(ROOT/'reports')) > 0
    assert all(NUMBER.match(c) for c in cells), cells
    status = page.eval_on_selector_all('#claims-table tr td:nth-child(7)', 'tds => tds.map(t => t.innerText.trim())')
    assert set(status) <= {'met', 'not met'} and len(status) == len(cells), status
    assert (ARTIFACTS/'gallery.png').stat().st_size > 10_000
