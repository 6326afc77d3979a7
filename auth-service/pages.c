/* auth-service's HTML: see pages.h. Stable element ids for the browser tests: #login,
 * #progress, #tracks (an li per track), #regenerate, #save, iframe#embed, #error, #retry. */
#include "pages.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(struct html *h, size_t more)
{
    if (h->failed || h->len + more + 1 <= h->cap)
        return;
    size_t cap = h->cap ? h->cap : 4096;
    while (cap < h->len + more + 1)
        cap *= 2;
    char *bytes = realloc(h->bytes, cap);
    if (!bytes) {
        h->failed = true;
        return;
    }
    h->bytes = bytes;
    h->cap = cap;
}

void html_free(struct html *h)
{
    free(h->bytes);
    memset(h, 0, sizeof *h);
}

void html_raw(struct html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        h->failed = true;
        return;
    }
    grow(h, (size_t)n);
    if (h->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(h->bytes + h->len, h->cap - h->len, fmt, ap);
    va_end(ap);
    h->len += (size_t)n;
}

void html_text(struct html *h, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            html_raw(h, "&amp;");
            break;
        case '<':
            html_raw(h, "&lt;");
            break;
        case '>':
            html_raw(h, "&gt;");
            break;
        case '"':
            html_raw(h, "&quot;");
            break;
        case '\'':
            html_raw(h, "&#39;");
            break;
        default:
            grow(h, 1);
            if (h->failed)
                return;
            h->bytes[h->len++] = *p;
            h->bytes[h->len] = '\0';
        }
    }
}

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
    [PAGE_ERR_SIGNED_OUT] = {401, "signed_out", "You are signed out",
                             "Your session ended or Spotify no longer accepts it.", "/login",
                             "Sign in with Spotify"},
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
    [PAGE_ERR_FORBIDDEN] = {403, "forbidden", "Spotify refused the request",
                            "Spotify answered 403 Forbidden. The account may not be on the app's "
                            "allow-list, the app owner may lack Premium, or a permission is "
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
    if (detail && *detail) {
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
    html_raw(h, "</header>\n<main><section id=\"making\"><h2>Making your playlist</h2>"
                "<ol id=\"progress\">\n");
}

void pages_mix_progress(struct html *h, const char *step, const char *text)
{
    html_raw(h, "<li data-step=\"");
    html_text(h, step);
    html_raw(h, "\">");
    html_text(h, text);
    html_raw(h, "</li>\n");
}

void pages_mix_error(struct html *h, enum page_error error, const char *detail)
{
    html_raw(h, "</ol></section>\n");
    error_section(h, error, detail);
}

/* A stacked bar: one rect per cluster, in a colour that is the same in both bars. */
static void share_bar(struct html *h, const struct mix_result *r, bool slots, int y,
                      const char *caption)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < r->n_clusters; i++)
        sum += slots ? r->clusters[i].slots : r->clusters[i].saved;
    html_raw(h, "<text x=\"0\" y=\"%d\" class=\"bar-label\">", y + 11);
    html_text(h, caption);
    html_raw(h, "</text>");
    double x = 120;
    for (size_t i = 0; i < r->n_clusters && sum > 0; i++) {
        uint32_t v = slots ? r->clusters[i].slots : r->clusters[i].saved;
        if (v == 0)
            continue;
        double w = 480.0 * v / sum;
        html_raw(h,
                 "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"16\" "
                 "fill=\"hsl(%u,55%%,55%%)\"><title>style %u: %u %s</title></rect>",
                 x, y, w, (unsigned)((r->clusters[i].cluster * 47u) % 360u), r->clusters[i].cluster,
                 v, slots ? "songs in the playlist" : "of your saved songs");
        x += w;
    }
}

void pages_mix_result(struct html *h, const struct mix_result *r, size_t read, size_t total,
                      bool truncated, uint64_t next_variety, bool auto_save)
{
    html_raw(h, "</ol></section>\n<section id=\"result\"><h2>Your mixtape</h2>");
    html_raw(h, "<p id=\"matched\">%u of %zu saved tracks matched the catalog",
             r->stats.saved - r->stats.unmatched, read);
    if (truncated)
        html_raw(h, " (the first %zu of your %zu were read)", read, total);
    html_raw(h, ".</p>\n<figure id=\"clusters\"><svg viewBox=\"0 0 600 44\" role=\"img\" "
                "aria-label=\"How the playlist is shared across your styles\">");
    share_bar(h, r, false, 0, "Your library");
    share_bar(h, r, true, 24, "This playlist");
    html_raw(h,
             "</svg><figcaption>Each colour is one style found in your library; the "
             "playlist gives each style its share of the %zu songs.</figcaption></figure>\n",
             r->n_picks);
    html_raw(h, "<ol id=\"tracks\">\n");
    for (size_t i = 0; i < r->n_picks; i++) {
        const struct mix_pick *p = &r->picks[i];
        html_raw(h, "<li data-id=\"");
        html_text(h, p->id);
        html_raw(h, "\" data-cluster=\"%u\"><span class=\"title\">", p->cluster);
        html_text(h, p->name);
        html_raw(h, "</span> <span class=\"artists\">");
        html_text(h, p->artists);
        html_raw(h, "</span>");
        if (p->year)
            html_raw(h, " <span class=\"year\">%u</span>", p->year);
        if (p->because) {
            html_raw(h, " <span class=\"because\">because you saved ");
            html_text(h, p->because);
            html_raw(h, "</span>");
        }
        html_raw(h, "</li>\n");
    }
    html_raw(h,
             "</ol>\n<p class=\"actions\"><a id=\"regenerate\" class=\"button\" "
             "href=\"/mix?variety=%llu\">Regenerate</a> ",
             (unsigned long long)next_variety);
    /* With auto_save the script presses #save itself once the page is shown: the playlist is
     * saved by the same CSRF-checked POST /api/save as a click, never by this GET. */
    html_raw(h,
             "<button id=\"save\" type=\"button\"%s>Save to Spotify</button></p>"
             "<p id=\"save-error\" role=\"alert\"></p><div id=\"saved\"></div>",
             auto_save ? " data-auto-save=\"true\"" : "");
    html_raw(h, "</section>\n");
}

void pages_mix_end(struct html *h)
{
    html_raw(h, "</main></body></html>\n");
}

void pages_embed_url(const char *playlist_id, char out[256])
{
    snprintf(out, 256, "https://open.spotify.com/embed/playlist/%s?utm_source=generator",
             playlist_id);
}

const char pages_script[] =
    "// mixtape: Save to Spotify, then show the saved playlist in Spotify's embed. With\n"
    "// AUTO_SAVE the page marks #save data-auto-save and this script presses it at once.\n"
    "'use strict';\n"
    "document.addEventListener('DOMContentLoaded', function () {\n"
    "  var save = document.getElementById('save');\n"
    "  if (!save || save.disabled) return;\n"
    "  save.addEventListener('click', function () {\n"
    "    var ids = Array.prototype.map.call(document.querySelectorAll('#tracks li'),\n"
    "      function (li) { return li.getAttribute('data-id'); });\n"
    "    var problem = document.getElementById('save-error');\n"
    "    save.disabled = true;\n"
    "    save.textContent = 'Saving\\u2026';\n"
    "    problem.textContent = '';\n"
    "    fetch('/api/save', {method: 'POST', credentials: 'same-origin',\n"
    "      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({ids: ids})})\n"
    "      .then(function (r) { return r.json().then(function (b) { return {ok: r.ok, b: b}; }); "
    "})\n"
    "      .then(function (res) {\n"
    "        if (!res.ok) throw new Error(res.b.message || 'Saving failed');\n"
    "        var frame = document.createElement('iframe');\n"
    "        frame.id = 'embed';\n"
    "        frame.title = 'Your playlist on Spotify';\n"
    "        frame.src = res.b.embed;\n"
    "        frame.width = '100%';\n"
    "        frame.height = '380';\n"
    "        frame.allow = 'autoplay; clipboard-write; encrypted-media; fullscreen; "
    "picture-in-picture';\n"
    "        document.getElementById('saved').appendChild(frame);\n"
    "        save.textContent = 'Saved to Spotify';\n"
    "      })\n"
    "      .catch(function (e) {\n"
    "        problem.textContent = e.message;\n"
    "        save.disabled = false;\n"
    "        save.textContent = 'Save to Spotify';\n"
    "      });\n"
    "  });\n"
    "  if (save.getAttribute('data-auto-save') === 'true') save.click();\n"
    "});\n";

const char pages_stylesheet[] =
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;"
    "color:#191414;background:#fafafa}\n"
    "header{display:flex;justify-content:space-between;align-items:center}\n"
    "header h1 a{color:#1db954;text-decoration:none}\n"
    ".button,button{display:inline-block;padding:.6rem 1.2rem;border-radius:2rem;border:0;"
    "background:#1db954;color:#fff;font-size:1rem;font-weight:600;text-decoration:none;"
    "cursor:pointer}\n"
    "#account button{background:#444}\n"
    "#progress{color:#555}\n"
    "#tracks li{margin:.3rem 0}\n"
    "#tracks .title{font-weight:600}\n"
    "#tracks .year,#tracks .because{color:#777;font-size:.9em}\n"
    "#error{border-left:4px solid #c0392b;padding-left:1rem}\n"
    "#save-error{color:#c0392b}\n"
    ".bar-label{font-size:11px}\n"
    "svg{width:100%;height:auto}\n";
