/* auth-service's pages but the mix result (pages_mix.c), and the script and stylesheet: see
 * pages.h. Stable element ids for the browser tests: #login, #progress, #tracks (an li per
 * track), #regenerate, #save, iframe#embed, #error, #retry. */
#include "pages.h"

#include <stdio.h>
#include <string.h>

static const struct page_error_info ERRORS[] = {
    [PAGE_ERR_DENIED] = {403, "access_denied", "You did not allow access",
                         "Spotify says you declined. mixtape needs to read your Liked Songs to "
                         "make a playlist from them, and nothing else.",
                         "/login", "Try signing in again"},
    [PAGE_ERR_STATE] = {400, "state_mismatch", "This sign-in could not be verified",
                        "The answer from Spotify does not belong to a sign-in started in this "
                        "browser, or it took too long. Nothing was signed in.",
                        "/login", "Start again"},
    [PAGE_ERR_CODE] = {400, "code_rejected", "This sign-in link has expired",
                       "Spotify refused the sign-in code: it was already used or it expired "
                       "(for instance after going back in the browser).",
                       "/login", "Sign in again"},
    [PAGE_ERR_SIGNED_OUT] =
        {401, "signed_out", "You are signed out",
         "Your session ended, sign in again. (Sessions end after a while, or when "
         "Spotify stops accepting them.)",
         "/login", "Sign in again"},
    [PAGE_ERR_NOT_ALLOWLISTED] = {403, "not_allowlisted",
                                  "Your Spotify account is not on this app's list",
                                  "This server's Spotify app runs in Development Mode, which "
                                  "only admits the accounts its operator added (at most 5). Ask "
                                  "the operator to add your Spotify e-mail in the Spotify "
                                  "developer dashboard under User Management.",
                                  "/login", "Try again"},
    [PAGE_ERR_NO_PREMIUM] = {403, "owner_without_premium", "The app owner needs Spotify Premium",
                             "Spotify only serves Development Mode apps whose owner has an "
                             "active Premium subscription. The operator of this server needs to "
                             "renew Premium on the account that owns the app.",
                             "/login", "Try again"},
    [PAGE_ERR_SCOPE] = {403, "missing_scope", "A permission is missing",
                        "Spotify did not grant a permission mixtape needs (reading your Liked "
                        "Songs or creating a private playlist). Sign in again and accept both.",
                        "/login", "Sign in again"},
    [PAGE_ERR_FORBIDDEN] =
        {403, "forbidden", "Spotify refused the request",
         "Spotify refused to let this app act for your account. The account may "
         "not be on the app's allow-list, the app owner may lack Premium, or a permission is "
         "missing.",
         "/login", "Sign in again"},
    [PAGE_ERR_QUOTA] = {429, "quota_exceeded", "This server has used up its Spotify quota",
                        "The Spotify app behind this server has exceeded its quota. Waiting a "
                        "few seconds will not help; try again later or ask the operator.",
                        "/mix", "Try again"},
    [PAGE_ERR_SPOTIFY_DOWN] = {502, "spotify_unavailable", "Spotify is not answering",
                               "Spotify could not be reached or kept failing. Try again in a "
                               "minute.",
                               "/mix", "Try again"},
    [PAGE_ERR_EMPTY_LIBRARY] = {422, "empty_library", "Your Liked Songs are empty",
                                "mixtape builds a playlist from the songs you saved. Like a few "
                                "songs in Spotify, then come back.",
                                "/mix", "Try again"},
    [PAGE_ERR_NOTHING_MATCHED] = {422, "nothing_matched",
                                  "None of your songs are in this server's catalog",
                                  "mixtape compares your saved songs with the catalog its "
                                  "operator loaded, and found none of them there. Save some "
                                  "more songs, or ask the operator about a larger catalog.",
                                  "/mix", "Try again"},
    [PAGE_ERR_COMPUTE_DOWN] = {503, "compute_unavailable", "The playlist service is unavailable",
                               "Your library was read, but the service that makes playlists is "
                               "not answering. Try again in a minute.",
                               "/mix", "Try again"},
    [PAGE_ERR_COMPUTE_NOT_READY] = {503, "compute_unavailable",
                                    "Playlists cannot be made right now",
                                    "The part of mixtape that makes playlists is not running at "
                                    "the moment, so your library was not read. Try again in a "
                                    "minute.",
                                    "/mix", "Try again"},
    [PAGE_ERR_BAD_CONTROL] = {400, "bad_control", "One of the settings cannot be used",
                              "A setting of the playlist is outside what mixtape can do (the "
                              "sentence below says which). Start again with the usual settings.",
                              "/mix", "Make the playlist again"},
    [PAGE_ERR_INTERNAL] = {500, "internal", "Something went wrong",
                           "An unexpected error happened on this server.", "/", "Start over"},
};

const struct page_error_info *pages_error_info(enum page_error error)
{
    if ((size_t)error >= sizeof ERRORS / sizeof ERRORS[0])
        error = PAGE_ERR_INTERNAL;
    return &ERRORS[error];
}

enum page_error pages_error_of_spotify(enum spotify_status s)
{
    switch (s) {
    case SPOTIFY_ERR_QUOTA:
        return PAGE_ERR_QUOTA;
    case SPOTIFY_ERR_UNAUTHORIZED:
    case SPOTIFY_ERR_INVALID_GRANT:
        return PAGE_ERR_SIGNED_OUT;
    case SPOTIFY_ERR_NOT_ALLOWLISTED:
        return PAGE_ERR_NOT_ALLOWLISTED;
    case SPOTIFY_ERR_NO_PREMIUM:
        return PAGE_ERR_NO_PREMIUM;
    case SPOTIFY_ERR_SCOPE:
        return PAGE_ERR_SCOPE;
    case SPOTIFY_ERR_FORBIDDEN:
        return PAGE_ERR_FORBIDDEN;
    case SPOTIFY_ERR_INTERNAL:
        return PAGE_ERR_INTERNAL;
    default:
        return PAGE_ERR_SPOTIFY_DOWN;
    }
}

static void page_head(struct html *h, const char *title)
{
    html_raw(h, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>");
    html_text(h, title);
    html_raw(h, "</title><link rel=\"stylesheet\" href=\"/app.css\">"
                "<script src=\"/app.js\" defer></script></head>\n<body><header>"
                "<h1><a href=\"/\">mixtape</a></h1>");
}

static void signed_in_bar(struct html *h, const char *name)
{
    html_raw(h, "<form method=\"post\" action=\"/logout\" id=\"account\"><span>Signed in as ");
    html_text(h, name);
    html_raw(h, "</span> <button id=\"logout\" type=\"submit\">Sign out</button></form>");
}

static void error_section(struct html *h, enum page_error error, const char *detail)
{
    const struct page_error_info *info = pages_error_info(error);
    html_raw(h, "<section id=\"error\" role=\"alert\" data-code=\"%s\"><h2>", info->code);
    html_text(h, info->title);
    html_raw(h, "</h2><p>");
    html_text(h, info->what);
    html_raw(h, "</p>");
    /* Only details that are sentences for people (a setting's limit, why nothing matched);
     * Spotify's and the RPC's technical ones stay in the log. */
    if (detail && *detail && (error == PAGE_ERR_BAD_CONTROL || error == PAGE_ERR_NOTHING_MATCHED)) {
        html_raw(h, "<p class=\"detail\">");
        html_text(h, detail);
        html_raw(h, "</p>");
    }
    html_raw(h, "<p><a id=\"retry\" class=\"button\" href=\"%s\">", info->retry_href);
    html_text(h, info->retry_label);
    html_raw(h, "</a></p></section>\n");
}

void pages_landing(struct html *h, const char *signed_in_as)
{
    page_head(h, "mixtape: a playlist from your Liked Songs");
    if (signed_in_as)
        signed_in_bar(h, signed_in_as);
    html_raw(h, "</header>\n<main><section id=\"intro\"><h2>A 50-song playlist from your Liked "
                "Songs</h2><p>mixtape reads the songs you saved on Spotify, finds the styles you "
                "like, and picks 50 songs you have not saved, shared across those styles the way "
                "your library is. A library that is half jazz and half metal gets a playlist "
                "that is half and half.</p><p>It reads your Liked Songs and can create a private "
                "playlist when you ask; nothing is kept after you sign out.</p>");
    if (signed_in_as)
        html_raw(h, "<p><a id=\"mix\" class=\"button\" href=\"/mix\">Make my playlist</a></p>");
    else
        html_raw(h, "<p><a id=\"login\" class=\"button\" href=\"/login\">Sign in with "
                    "Spotify</a></p>");
    html_raw(h, "</section></main></body></html>\n");
}

void pages_session_ended(struct html *h)
{
    page_head(h, "mixtape: your session ended");
    html_raw(h, "</header>\n<main><section id=\"session-ended\" role=\"alert\"><h2>Your session "
                "ended, sign in again</h2><p>Sign-ins last a while and then end, or this "
                "browser's sign-in could not be read. Nothing was lost: your Liked Songs and any "
                "saved playlist are on Spotify.</p><p><a id=\"login\" class=\"button\" "
                "href=\"/login\">Sign in with Spotify</a></p></section></main></body></html>\n");
}

void pages_error(struct html *h, enum page_error error, const char *detail)
{
    page_head(h, pages_error_info(error)->title);
    html_raw(h, "</header>\n<main>");
    error_section(h, error, detail);
    html_raw(h, "</main></body></html>\n");
}

void pages_mix_start(struct html *h, const char *display_name)
{
    page_head(h, "mixtape: making your playlist");
    signed_in_bar(h, display_name);
    /* Each progress line hides the one before (CSS), so the list reads as one bar; the live
     * region announces each new step to screen readers. */
    html_raw(h, "</header>\n<main><section id=\"making\" aria-labelledby=\"making-title\"><h2 "
                "id=\"making-title\">Making your playlist</h2>"
                "<ol id=\"progress\" aria-live=\"polite\">\n");
}

void pages_mix_progress(struct html *h, const char *step, const char *text, size_t done,
                        size_t total)
{
    html_raw(h, "<li data-step=\"");
    html_text(h, step);
    html_raw(h, "\"><span class=\"step\">");
    html_text(h, text);
    html_raw(h, "</span>");
    /* reading is the first 80% of the work, matching 90%, ranking done */
    double share = total ? 0.8 * (double)done / (double)total : 0;
    if (strcmp(step, "match") == 0 || strcmp(step, "cached") == 0)
        share = 0.9;
    else if (strcmp(step, "rank") == 0)
        share = 1.0;
    html_raw(h, "<progress max=\"100\" value=\"%d\" aria-hidden=\"true\"></progress></li>\n",
             (int)(share * 100 + 0.5));
}

void pages_mix_error(struct html *h, enum page_error error, const char *detail)
{
    html_raw(h, "</ol></section>\n");
    error_section(h, error, detail);
}

const char *pages_reason_text(enum reco_rpc_reason reason)
{
    switch (reason) {
    case RECO_RPC_REASON_SAME_ARTIST:
        return "Same artist";
    case RECO_RPC_REASON_SIMILAR_SOUND:
        return "Similar sound";
    case RECO_RPC_REASON_NEW_ARTIST:
        return "New artist";
    default:
        return "";
    }
}

void pages_embed_url(const char *playlist_id, char out[256])
{
    snprintf(out, 256, "https://open.spotify.com/embed/playlist/%s?utm_source=generator",
             playlist_id);
}

const char pages_script[] =
    "// mixtape's mix page: Save (once, then updates), play a song in place, remove a song (a\n"
    "// stand-in of the same style takes its place), the controls, and the downloads. With\n"
    "// AUTO_SAVE the page marks #save data-auto-save and this script presses it at once.\n"
    "'use strict';\n"
    "document.addEventListener('DOMContentLoaded', function () {\n"
    "  var tracks = document.getElementById('tracks');\n"
    "  if (!tracks) return;\n"
    "  var save = document.getElementById('save');\n"
    "  var status = document.getElementById('save-status');\n"
    "  var problem = document.getElementById('save-error');\n"
    "  var open = document.getElementById('open');\n"
    "  var busy = false;\n"
    "  var PLAIN = {\n"
    "    signed_out: 'Your session ended, sign in again to save.',\n"
    "    spotify_unavailable: 'Spotify is not answering right now.',\n"
    "    quota_exceeded: 'Spotify is not taking more requests from this server today. Try again "
    "later.',\n"
    "    not_allowlisted: 'Your Spotify account is not on this app\\u2019s list, so it cannot "
    "save.',\n"
    "    missing_scope: 'Spotify did not allow mixtape to create playlists. Sign in again and "
    "allow it.'\n"
    "  };\n"
    "  function items() { return "
    "Array.prototype.slice.call(tracks.querySelectorAll('li[data-id]')); }\n"
    "  function text(li, sel) { var e = li.querySelector(sel); return e ? e.textContent : ''; }\n"
    "  function setDirty() {\n"
    "    if (!save.classList.contains('done')) return;\n"
    "    save.classList.remove('done');\n"
    "    save.removeAttribute('aria-disabled');\n"
    "    save.textContent = 'Update playlist on Spotify';\n"
    "  }\n"
    "  function styles() {\n"
    "    var seen = [];\n"
    "    Array.prototype.forEach.call(document.querySelectorAll('#legend li .name'), function (n) "
    "{\n"
    "      if (seen.length < 3) seen.push(n.textContent);\n"
    "    });\n"
    "    return seen;\n"
    "  }\n"
    "  function doSave() {\n"
    "    if (busy || save.classList.contains('done')) return;\n"
    "    busy = true;\n"
    "    save.setAttribute('aria-disabled', 'true');\n"
    "    save.classList.add('busy');\n"
    "    save.textContent = 'Saving\\u2026';\n"
    "    problem.textContent = '';\n"
    "    status.textContent = 'Saving to Spotify\\u2026';\n"
    "    var ids = items().map(function (li) { return li.getAttribute('data-id'); });\n"
    "    var ctrl = window.AbortController ? new AbortController() : null;\n"
    "    var timer = setTimeout(function () { if (ctrl) ctrl.abort(); }, 9000);\n"
    "    fetch('/api/save', {method: 'POST', credentials: 'same-origin', signal: ctrl && "
    "ctrl.signal,\n"
    "      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({ids: ids, styles: "
    "styles()})})\n"
    "      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, b: b}; }); "
    "})\n"
    "      .then(function (res) {\n"
    "        if (!res.ok) throw new Error(PLAIN[res.b.error] || 'Spotify did not take the playlist "
    "just now.');\n"
    "        var frame = document.getElementById('embed');\n"
    "        if (!frame) {\n"
    "          frame = document.createElement('iframe');\n"
    "          frame.id = 'embed';\n"
    "          frame.title = 'Your playlist on Spotify';\n"
    "          frame.width = '100%';\n"
    "          frame.height = '352';\n"
    "          frame.allow = 'autoplay; clipboard-write; encrypted-media; fullscreen; "
    "picture-in-picture';\n"
    "          document.getElementById('saved').appendChild(frame);\n"
    "        }\n"
    "        frame.src = res.b.embed;\n"
    "        open.href = res.b.url;\n"
    "        open.hidden = false;\n"
    "        save.classList.add('done');\n"
    "        save.textContent = res.b.replaced ? 'Updated on Spotify' : 'Saved to Spotify';\n"
    "        status.textContent = res.b.replaced ? 'Your playlist on Spotify now holds these "
    "songs.'\n"
    "                                            : 'Saved as a private playlist on your Spotify "
    "account.';\n"
    "      })\n"
    "      .catch(function (e) {\n"
    "        var msg = e && e.name === 'AbortError' ? 'Spotify did not answer in time.' : "
    "e.message;\n"
    "        if (!msg || e instanceof TypeError) msg = 'Spotify could not be reached.';\n"
    "        problem.textContent = msg + ' Press Save to try again.';\n"
    "        status.textContent = '';\n"
    "        save.removeAttribute('aria-disabled');\n"
    "        save.textContent = 'Try saving again';\n"
    "      })\n"
    "      .then(function () { clearTimeout(timer); busy = false; save.classList.remove('busy'); "
    "});\n"
    "  }\n"
    "  save.addEventListener('click', doSave);\n"
    "  // Play in place: Spotify's player for that song, loaded only when asked for.\n"
    "  tracks.addEventListener('click', function (ev) {\n"
    "    var b = ev.target.closest('button');\n"
    "    if (!b) return;\n"
    "    var li = b.closest('li[data-id]');\n"
    "    if (b.classList.contains('play')) {\n"
    "      var f = li.querySelector('iframe');\n"
    "      if (f) { f.remove(); b.setAttribute('aria-expanded', 'false'); b.textContent = 'Play'; "
    "return; }\n"
    "      f = document.createElement('iframe');\n"
    "      f.className = 'player';\n"
    "      f.title = 'Play ' + text(li, '.title');\n"
    "      f.height = '80';\n"
    "      f.allow = 'autoplay; clipboard-write; encrypted-media; fullscreen; "
    "picture-in-picture';\n"
    "      f.src = 'https://open.spotify.com/embed/track/' + li.getAttribute('data-id') + "
    "'?utm_source=generator';\n"
    "      li.appendChild(f);\n"
    "      b.setAttribute('aria-expanded', 'true');\n"
    "      b.textContent = 'Close player';\n"
    "    } else if (b.classList.contains('remove')) {\n"
    "      var style = li.getAttribute('data-style');\n"
    "      var reserve = document.getElementById('reserve');\n"
    "      var next = null;\n"
    "      Array.prototype.forEach.call(reserve.children, function (c) {\n"
    "        if (!next && c.getAttribute('data-style') === style) next = c;\n"
    "      });\n"
    "      if (!next) next = reserve.firstElementChild;\n"
    "      var title = text(li, '.title');\n"
    "      if (next) tracks.replaceChild(next, li); else li.remove();\n"
    "      items().forEach(function (x, i) { x.querySelector('.num').textContent = String(i + 1); "
    "});\n"
    "      status.textContent = 'Removed ' + title + (next ? '; ' + text(next, '.title') + ' took "
    "its place.' : '.');\n"
    "      var focus = next ? next.querySelector('.remove') : save;\n"
    "      if (focus) focus.focus();\n"
    "      setDirty();\n"
    "    }\n"
    "  });\n"
    "  // The controls answer at once: the library stays cached on the server for a while.\n"
    "  var form = document.getElementById('controls');\n"
    "  if (form) form.addEventListener('change', function (ev) {\n"
    "    if (ev.target.type === 'number') return;\n"
    "    form.requestSubmit ? form.requestSubmit() : form.submit();\n"
    "  });\n"
    "  function download(name, type, body) {\n"
    "    var a = document.createElement('a');\n"
    "    a.href = URL.createObjectURL(new Blob([body], {type: type}));\n"
    "    a.download = name;\n"
    "    a.click();\n"
    "    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);\n"
    "    status.textContent = 'Downloaded ' + name + '.';\n"
    "  }\n"
    "  function csvCell(s) { return /[\",\\n]/.test(s) ? '\"' + s.replace(/\"/g, '\"\"') + '\"' : "
    "s; }\n"
    "  document.getElementById('download-csv').addEventListener('click', function () {\n"
    "    var rows = ['spotify_id,isrc,title,artists'];\n"
    "    items().forEach(function (li) {\n"
    "      rows.push([li.getAttribute('data-id'), li.getAttribute('data-isrc') || '', text(li, "
    "'.title'),\n"
    "                 text(li, '.artists')].map(csvCell).join(','));\n"
    "    });\n"
    "    download('mixtape.csv', 'text/csv', rows.join('\\n') + '\\n');\n"
    "  });\n"
    "  document.getElementById('download-jspf').addEventListener('click', function () {\n"
    "    var list = {playlist: {title: 'mixtape', creator: 'mixtape', date: new "
    "Date().toISOString(),\n"
    "      track: items().map(function (li) {\n"
    "        return {title: text(li, '.title'), creator: text(li, '.artists'),\n"
    "                identifier: ['https://open.spotify.com/track/' + "
    "li.getAttribute('data-id')]};\n"
    "      })}};\n"
    "    download('mixtape.jspf', 'application/json', JSON.stringify(list, null, 2) + '\\n');\n"
    "  });\n"
    "  if (save.getAttribute('data-auto-save') === 'true') save.click();\n"
    "});\n";

const char pages_stylesheet[] =
    ":root{color-scheme:light "
    "dark;--bg:#fafafa;--fg:#191414;--muted:#4d4d4d;--card:#fff;--line:#d0d0d0;\n"
    "--accent:#117a37;--accent-fg:#fff;--second:#e6e6e6;--second-fg:#191414;--err:#b3261e;--focus:#"
    "0b57d0}\n"
    "@media "
    "(prefers-color-scheme:dark){:root{--bg:#121212;--fg:#f2f2f2;--muted:#c4c4c4;--card:#1e1e1e;\n"
    "--line:#3a3a3a;--accent:#1ed760;--accent-fg:#000;--second:#333;--second-fg:#f2f2f2;--err:#"
    "ff8a80;\n"
    "--focus:#8ab4f8}}\n"
    "*{box-sizing:border-box}\n"
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:0 1rem 2rem;\n"
    "color:var(--fg);background:var(--bg);line-height:1.45;overflow-wrap:anywhere}\n"
    "header{display:flex;flex-wrap:wrap;gap:.5rem "
    "1rem;justify-content:space-between;align-items:center;\n"
    "padding:.6rem 0}\n"
    "header h1{margin:0;font-size:1.5rem}\n"
    "header h1 a{color:var(--fg);text-decoration:none}\n"
    "#account{display:flex;gap:.5rem;align-items:center;font-size:.9rem;color:var(--muted)}\n"
    "a{color:var(--focus)}\n"
    ".button,button{display:inline-flex;align-items:center;justify-content:center;padding:.55rem "
    "1.1rem;border-radius:2rem;border:2px solid "
    "transparent;\n"
    "background:var(--accent);color:var(--accent-fg);font:inherit;font-weight:650;text-decoration:"
    "none;\n"
    "cursor:pointer;min-height:44px;line-height:1.5}\n"
    ".secondary,#account button{background:var(--second);color:var(--second-fg)}\n"
    "button[aria-disabled=true],button.busy,button.done{cursor:default;opacity:1}\n"
    "button.busy{background:var(--second);color:var(--second-fg)}\n"
    "button.done{background:transparent;color:var(--fg);border-color:var(--line)}\n"
    ":focus-visible{outline:3px solid var(--focus);outline-offset:2px}\n"
    "#progress{list-style:none;padding:0;margin:.5rem 0;color:var(--muted)}\n"
    "#progress li:not(:last-child){display:none}\n"
    "#progress "
    "progress{display:block;width:100%;height:.6rem;margin-top:.3rem;accent-color:var(--accent)}\n"
    "main:has(#result) #making{display:none}\n"
    "#summary h2{margin:.5rem 0 0}\n"
    "#matched,#short{margin:.2rem 0;color:var(--muted)}\n"
    "html{scroll-padding-top:6rem}\n"
    "#actionbar{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid "
    "var(--line)}\n"
    "#actions{display:flex;flex-wrap:wrap;gap:.5rem;padding:.6rem 0}\n"
    "#actionbar p{margin:0 0 .5rem}\n"
    "#actions [hidden]{display:none}\n"
    "#save-error{color:var(--err);font-weight:600}\n"
    "#save-status:empty,#save-error:empty{display:none}\n"
    "#steer{margin:.6rem 0;border:1px solid var(--line);border-radius:.5rem;padding:.3rem "
    ".8rem;background:var(--card)}\n"
    "#steer summary{cursor:pointer;font-weight:650;padding:.4rem "
    "0;min-height:44px;display:flex;align-items:center}\n"
    "#controls{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.3rem "
    ".8rem;\n"
    "align-items:end;padding:.4rem 0 .6rem}\n"
    "#controls label{display:block;font-size:.9rem;color:var(--muted)}\n"
    "#controls select,#controls "
    "input[type=number]{width:100%;min-height:44px;font:inherit;padding:.3rem;\n"
    "background:var(--card);color:var(--fg);border:1px solid var(--muted);border-radius:.3rem}\n"
    "#controls .check{display:flex;gap:.4rem;align-items:center;min-height:44px}\n"
    "#controls .check input{width:1.3rem;height:1.3rem}\n"
    "#controls .check label{color:var(--fg)}\n"
    "#tracks{list-style:none;padding:0;margin:.5rem 0}\n"
    "#tracks li{display:grid;grid-template-columns:2rem 56px 1fr auto;gap:.2rem .6rem;"
    "align-items:start;\n"
    "padding:.55rem 0;border-bottom:1px solid var(--line)}\n"
    "#tracks .num{color:var(--muted);text-align:right;padding-top:.1rem}\n"
    ".cover{width:56px;height:56px;border-radius:4px;background:var(--second);object-fit:cover}\n"
    "#tracks .title{font-weight:650;color:var(--fg)}\n"
    "#tracks .artists{color:var(--fg)}\n"
    "#tracks .year,#tracks .because{color:var(--muted);font-size:.9em}\n"
    ".why{display:flex;flex-wrap:wrap;gap:.3rem "
    ".5rem;align-items:center;margin-top:.2rem;font-size:.9rem}\n"
    ".chip{display:inline-flex;align-items:center;gap:.3rem;padding:0 .5rem;border:1px solid "
    "var(--line);border-radius:1rem}\n"
    ".reason{padding:0 "
    ".5rem;border-radius:1rem;background:var(--second);color:var(--second-fg);font-weight:600}\n"
    ".track-actions{display:flex;gap:.3rem;flex-wrap:wrap;justify-content:flex-end}\n"
    ".track-actions button{padding:.3rem .8rem;font-size:.9rem}\n"
    "#tracks iframe.player{grid-column:1/-1;width:100%;border:0;border-radius:.5rem}\n"
    "#saved iframe{border:0;border-radius:.75rem;margin-top:.5rem}\n"
    ".swatch{display:inline-block;width:1.1rem;height:1.1rem;border:1px solid "
    "var(--fg);border-radius:.2rem;flex:none}\n"
    "progress.fill{-webkit-appearance:none;appearance:none;display:block;width:100%;height:.9rem;"
    "border:1px solid var(--fg);border-radius:.2rem;background:transparent;color:var(--fg)}\n"
    "progress.fill::-webkit-progress-bar{background:transparent}\n"
    ".s0 .swatch,.s0 .fill::-webkit-progress-value{background:#1f77b4}\n"
    ".s0 .fill::-moz-progress-bar{background:#1f77b4}\n"
    ".s1 .swatch,.s1 "
    ".fill::-webkit-progress-value{background:repeating-linear-gradient(45deg,#ff7f0e 0 3px,#fff "
    "3px 6px)}\n"
    ".s1 .fill::-moz-progress-bar{background:repeating-linear-gradient(45deg,#ff7f0e 0 3px,#fff "
    "3px 6px)}\n"
    ".s2 .swatch,.s2 "
    ".fill::-webkit-progress-value{background:repeating-linear-gradient(0deg,#2ca02c 0 3px,#fff "
    "3px 6px)}\n"
    ".s2 .fill::-moz-progress-bar{background:repeating-linear-gradient(0deg,#2ca02c 0 3px,#fff 3px "
    "6px)}\n"
    ".s3 .swatch,.s3 "
    ".fill::-webkit-progress-value{background:repeating-linear-gradient(90deg,#d62728 0 3px,#fff "
    "3px 6px)}\n"
    ".s3 .fill::-moz-progress-bar{background:repeating-linear-gradient(90deg,#d62728 0 3px,#fff "
    "3px 6px)}\n"
    ".s4 .swatch,.s4 .fill::-webkit-progress-value{background:radial-gradient(#9467bd 40%,#fff "
    "45%) 0 0/6px 6px}\n"
    ".s4 .fill::-moz-progress-bar{background:radial-gradient(#9467bd 40%,#fff 45%) 0 0/6px 6px}\n"
    ".s5 .swatch,.s5 "
    ".fill::-webkit-progress-value{background:repeating-linear-gradient(-45deg,#8c564b 0 2px,#fff "
    "2px 7px)}\n"
    ".s5 .fill::-moz-progress-bar{background:repeating-linear-gradient(-45deg,#8c564b 0 2px,#fff "
    "2px 7px)}\n"
    ".s6 .swatch,.s6 .fill::-webkit-progress-value{background:#e0e0e0}\n"
    ".s6 .fill::-moz-progress-bar{background:#e0e0e0}\n"
    ".s7 .swatch,.s7 "
    ".fill::-webkit-progress-value{background:repeating-linear-gradient(45deg,#17becf 0 2px,#000 "
    "2px 4px)}\n"
    ".s7 .fill::-moz-progress-bar{background:repeating-linear-gradient(45deg,#17becf 0 2px,#000 "
    "2px 4px)}\n"
    "#styles{margin-top:1.2rem}\n"
    "#legend{list-style:none;padding:0}\n"
    "#legend li{display:grid;grid-template-columns:minmax(8rem,1fr) 2fr;gap:.3rem "
    "1rem;padding:.4rem 0;border-bottom:1px solid var(--line)}\n"
    "#legend .name{display:flex;gap:.4rem;align-items:center;font-weight:600}\n"
    "#legend .bars{display:grid;gap:.2rem}\n"
    "#legend .bar{display:grid;grid-template-columns:6.5rem "
    "1fr;align-items:center;font-size:.85rem}\n"
    ".hint{color:var(--muted);font-size:.9rem}\n"
    "#error{border-left:4px solid var(--err);padding-left:1rem}\n"
    "@media (max-width:40rem){#tracks li{grid-template-columns:1.6rem 48px 1fr}\n"
    ".cover{width:48px;height:48px}\n"
    ".track-actions{grid-column:3;justify-content:flex-start}\n"
    "#legend li{grid-template-columns:1fr}#actions{gap:.4rem}\n"
    "#actions .button,#actions button{padding:.4rem .75rem;font-size:.95rem}\n"
    "html{scroll-padding-top:9rem}}\n";
