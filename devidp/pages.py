"""The pages the local identity provider shows people: the Okta dashboard with the Inigo tile, and the sign-in
page. Inigo's own stylesheet plus a few rules, inlined: no external assets, and one process to start."""

from html import escape
from pathlib import Path

from devidp.demo import DEMO_PEOPLE, TENANT_NAME, DemoPerson

_INIGO_CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "inigo.css"
_IDP_CSS = """
.idp-topbar { background: #1f2a44; border-bottom: 0; color: #fff; }
.idp-topbar .brand { color: #fff; }
.idp-mark { background: #fff; color: #1f2a44; }
.idp-tag { font-size: .8rem; color: #c9d2e6; border: 1px solid #4a5878; border-radius: 999px; padding: .1rem .6rem; }
.tiles { display: flex; flex-wrap: wrap; gap: 1rem; margin-top: 1rem; }
.tile { display: flex; flex-direction: column; align-items: center; justify-content: center; gap: .6rem;
        width: 9.5rem; height: 8.5rem; border: 1px solid var(--line); border-radius: .75rem; background: #fff;
        color: var(--ink); text-decoration: none; font-weight: 600; box-shadow: 0 1px 3px rgba(16, 24, 40, .08); }
.tile:hover, .tile:focus-visible { border-color: var(--brand); box-shadow: 0 0 0 3px rgba(59, 76, 202, .2); }
.tile .brand-mark { width: 3rem; height: 3rem; font-size: 1.5rem; border-radius: .75rem; }
.people { list-style: none; padding: 0; margin: 1rem 0; display: grid; grid-template-columns: minmax(0, 1fr);
          gap: .5rem; }
.person { display: flex; width: 100%; align-items: center; justify-content: space-between; gap: .75rem;
          font: inherit; text-align: left; cursor: pointer; background: #fff; color: var(--ink);
          border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .85rem; }
.person:hover, .person:focus-visible { border-color: var(--brand); background: var(--bg); }
.person-email { display: block; color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
.badge-refused { background: var(--error-bg); color: var(--error); white-space: nowrap; }
input[type=text] { font: inherit; padding: .65rem .75rem; border: 1px solid #c4cad6; border-radius: .5rem;
                   width: 100%; }
.inline-form { display: flex; gap: .5rem; }
.inline-form input { flex: 1; min-width: 0; }
"""
_MOCK_PAGE_CSS = """
main.container { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
main.container button { font: inherit; font-weight: 600; cursor: pointer; background: var(--brand); color: #fff;
                        border: 0; border-radius: .5rem; padding: .55rem 1rem; }
"""


def _layout(title: str, body: str, *, narrow: bool = False) -> str:
    css = _INIGO_CSS.read_text() if _INIGO_CSS.exists() else ""
    page_class = "page narrow" if narrow else "page"
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)} · Local Okta</title>
  <link rel="icon" href="data:,">
  <style>{css}{_IDP_CSS}</style>
</head>
<body>
  <header class="topbar idp-topbar">
    <span class="brand"><span class="brand-mark idp-mark" aria-hidden="true">o</span> Local Okta</span>
    <span class="idp-tag">development stand-in</span>
  </header>
  <main class="{page_class}">
{body}
  </main>
  <footer class="footer">Not Okta: a local OpenID Provider for development. Turn it off with
    <code>make run LOCAL_IDP=0</code>.</footer>
</body>
</html>
"""


def stylesheet_tag() -> str:
    """What replaces the mock's own pages' stylesheet, which it loads from a CDN."""
    css = _INIGO_CSS.read_text() if _INIGO_CSS.exists() else ""
    return f"<style>{css}{_IDP_CSS}{_MOCK_PAGE_CSS}</style>"


def dashboard(*, tile_url: str, app_url: str, issuer: str) -> str:
    rows = "\n".join(_person_row(person) for person in DEMO_PEOPLE)
    login_url = f"{app_url.rstrip('/')}/login/"
    return _layout("My Apps", f"""
    <section class="card">
      <p class="eyebrow">{escape(TENANT_NAME)}</p>
      <h1>My Apps</h1>
      <p class="lead">This page plays the part of the Okta dashboard. Click the tile to sign in to Inigo
        (IdP-initiated login).</p>
      <div class="tiles">
        <a class="tile" href="{escape(tile_url)}"><span class="brand-mark" aria-hidden="true">i</span> Inigo</a>
      </div>
      <p class="hint">The tile opens <code>{escape(tile_url)}</code>: Inigo's Initiate login URI with this
        org's issuer.</p>
    </section>
    <section class="card">
      <h2>Demo people</h2>
      <p class="hint">No passwords: after the tile, choose who you are. The first person to sign in becomes the owner
        of {escape(TENANT_NAME)}; everyone after is a member. Okta refuses a person who is not assigned to the app.</p>
      <div class="table-wrap">
      <table class="stacked">
        <thead><tr><th>Name</th><th>Email</th><th>Inigo app</th></tr></thead>
        <tbody>
{rows}
        </tbody>
      </table>
      </div>
      <p class="hint">Or start at Inigo: open <a href="{escape(login_url)}">{escape(login_url)}</a> and type one of
        these emails (SP-initiated login).</p>
    </section>
    <section class="card">
      <h2>Clear user sessions</h2>
      <p class="hint">What an Okta admin does under Directory, People, a person, More Actions, Clear User Sessions,
        with “Also include logout enabled apps”: Okta Universal Logout signs that person out of Inigo.</p>
      <form method="post" action="/dashboard/clear-user-sessions" class="inline-form">
        <input type="text" name="email" aria-label="Email of the person" placeholder="ada@example.com" required>
        <button type="submit" class="button">Clear user sessions</button>
      </form>
    </section>""")


def sessions_cleared(*, email: str, status: int | None) -> str:
    """The result of Clear user sessions: Inigo's answer to the Universal Logout call."""
    meanings = {204: "Inigo signed this person out of every session.",
                404: "Inigo has no such person in this organisation (they never signed in).",
                401: "Inigo refused the call: its token did not pass Inigo's checks.",
                None: "Enter an email address.", 0: "Inigo could not be reached."}
    meaning = meanings.get(status, f"Inigo answered HTTP {status}.")
    answer = f"HTTP {status}" if status else "no answer"
    return _layout("Sessions cleared", f"""
    <section class="card">
      <h1>Clear user sessions</h1>
      <p class="lead">{escape(email) or "Nobody"}: Universal Logout sent to Inigo, which answered
        <strong>{escape(answer)}</strong>.</p>
      <p>{escape(meaning)}</p>
      <p><a href="/dashboard">Back to My Apps</a></p>
    </section>""", narrow=True)


def sign_in(*, client_id: str, redirect_uri: str, login_hint: str) -> str:
    """The authorization page: who signs in. Every button posts `sub` back to the same URL, as the mock's form."""
    hinted = next((person for person in DEMO_PEOPLE if person.email == login_hint.strip().lower()), None)
    others = [person for person in DEMO_PEOPLE if person is not hinted]
    if hinted is not None:
        choice = f"""
      <form method="post">
        <button type="submit" class="button button-block" name="sub" value="{escape(hinted.sub)}">Continue as
          {escape(hinted.email)}</button>
      </form>
      <p class="hint">Not {escape(hinted.given_name)}? Choose someone else:</p>"""
    else:
        choice = '\n      <p class="hint">Choose who you are:</p>'
    unknown_hint = login_hint if hinted is None else ""
    return _layout("Sign in", f"""
    <section class="card">
      <p class="eyebrow">Local Okta · client {escape(client_id)}</p>
      <h1>Sign in to continue to Inigo</h1>
      <p class="lead">This stand-in for Okta has no passwords.</p>{choice}
      <form method="post">
        <ul class="people">
{"".join(_person_button(person) for person in others)}
        </ul>
      </form>
      <form method="post" class="stack">
        <label for="sub">Someone else (any email)</label>
        <div class="inline-form">
          <input id="sub" name="sub" type="text" required placeholder="zoe@example.com"
                 value="{escape(unknown_hint)}">
          <button type="submit" class="button{'' if unknown_hint else ' button-quiet'}">Sign in</button>
        </div>
      </form>
      <p class="hint">Okta will send you back to <code>{escape(redirect_uri)}</code>.</p>
    </section>""", narrow=True)


def _person_row(person: DemoPerson) -> str:
    assignment = "Assigned" if person.assigned else '<span class="badge badge-refused">Not assigned</span>'
    return f"""        <tr><td data-label="Name">{escape(person.name)}</td>
          <td data-label="Email">{escape(person.email)}</td><td data-label="Inigo app">{assignment}</td></tr>"""


def _person_button(person: DemoPerson) -> str:
    refused = "" if person.assigned else '<span class="badge badge-refused">Not assigned</span>'
    return f"""          <li><button type="submit" class="person" name="sub" value="{escape(person.sub)}">
            <span><strong>{escape(person.name)}</strong>
            <span class="person-email">{escape(person.email)}</span></span>{refused}</button></li>
"""
