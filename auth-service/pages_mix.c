/* The mix page's result: the summary, the actions, the controls form, the track list (and its
 * hidden reserve) and the styles legend. See pages_mix_result in pages.h. */
#include "pages.h"

#include <stdio.h>
#include <string.h>

/* The style of a pick: its name, or "Style N" from a service without names. */
static void style_name(struct html *h, const char *name, uint32_t cluster)
{
    if (name && *name)
        html_text(h, name);
    else
        html_raw(h, "Style %u", cluster + 1);
}

/* Index of a style name in r->styles (its pattern), or a stand-in from the cluster. */
static size_t style_index(const struct mix_result *r, const struct mix_pick *p)
{
    for (size_t i = 0; i < r->n_styles; i++)
        if (p->style && r->styles[i].name && strcmp(p->style, r->styles[i].name) == 0)
            return i;
    return p->cluster;
}

static void track_item(struct html *h, const struct mix_result *r, size_t i, size_t number)
{
    const struct mix_pick *p = &r->picks[i];
    size_t si = style_index(r, p) % PAGES_N_PATTERNS;
    html_raw(h, "<li data-id=\"");
    html_text(h, p->id);
    if (p->isrc[0]) {
        html_raw(h, "\" data-isrc=\"");
        html_text(h, p->isrc);
    }
    html_raw(h, "\" data-cluster=\"%u\" data-style=\"", p->cluster);
    style_name(h, p->style, p->cluster);
    html_raw(h,
             "\" data-year=\"%u\"><span class=\"num\" aria-hidden=\"true\">%zu</span>"
             "<img class=\"cover\" alt=\"\" width=\"56\" height=\"56\" loading=\"lazy\" "
             "src=\"/art?id=",
             p->year, number);
    html_text(h, p->id);
    html_raw(h, "\"><div class=\"meta\"><a class=\"title\" href=\"https://open.spotify.com/track/");
    html_text(h, p->id);
    html_raw(h, "\">");
    html_text(h, p->name);
    html_raw(h, "</a> <span class=\"artists\">");
    html_text(h, p->artists);
    html_raw(h, "</span>");
    if (p->year)
        html_raw(h, " <span class=\"year\">%u</span>", p->year);
    html_raw(h,
             "<div class=\"why\"><span class=\"chip s%zu\"><span class=\"swatch\" "
             "aria-hidden=\"true\"></span>",
             si);
    style_name(h, p->style, p->cluster);
    html_raw(h, "</span>");
    const char *reason = pages_reason_text(p->reason);
    if (*reason)
        html_raw(h, " <span class=\"reason %s\">%s</span>", reco_rpc_reason_name(p->reason),
                 reason);
    if (p->because) {
        html_raw(h, " <span class=\"because\">because you saved <i>");
        html_text(h, p->because);
        html_raw(h, "</i>");
        if (p->because_artist) {
            html_raw(h, " by ");
            html_text(h, p->because_artist);
        }
        html_raw(h, "</span>");
    }
    html_raw(h, "</div></div><div class=\"track-actions\"><button type=\"button\" "
                "class=\"play secondary\" aria-expanded=\"false\" aria-label=\"Play ");
    html_text(h, p->name);
    html_raw(h, "\">Play</button><button type=\"button\" class=\"remove secondary\" "
                "aria-label=\"Remove ");
    html_text(h, p->name);
    html_raw(h, "\">Remove</button></div></li>\n");
}

/* The styles legend: a row per style with its name in words, a pattern that survives grey
 * scale, and the library and playlist shares as two bars with their percentages in text. */
/* One legend row's two bars (a <progress> each: no inline style, which the CSP forbids), with
 * the percentages in words beside them, and when the style ran out, why its share is short. */
static void share_bars(struct html *h, int lib, int mix, bool exhausted)
{
    html_raw(h,
             "</span><span class=\"bars\"><span class=\"bar\"><span class=\"label\">Library "
             "%d%%</span><progress class=\"fill\" max=\"100\" value=\"%d\" aria-hidden=\"true\">"
             "</progress></span><span class=\"bar\"><span class=\"label\">Playlist %d%%</span>"
             "<progress class=\"fill\" max=\"100\" value=\"%d\" aria-hidden=\"true\"></progress>"
             "</span>%s</span></li>",
             lib, lib, mix, mix,
             exhausted ? "<span class=\"hint ran-out\">No more songs of this style left to "
                         "suggest</span>"
                       : "");
}

/* The styles legend: a row per style with its name in words, a pattern that survives grey
 * scale, its share of the library (from reco-service) and of the songs shown (counted here). */
static void styles_legend(struct html *h, const struct mix_result *r, size_t shown)
{
    html_raw(h, "<section id=\"styles\" aria-labelledby=\"styles-title\"><h3 "
                "id=\"styles-title\">Your styles</h3><p class=\"hint\">How much of your library "
                "and of this playlist each style holds.</p><ul id=\"legend\">");
    size_t n_shown = r->n_picks < shown ? r->n_picks : shown;
    if (r->n_styles > 0) {
        for (size_t i = 0; i < r->n_styles; i++) {
            size_t in_mix = 0;
            for (size_t k = 0; k < n_shown; k++)
                in_mix += style_index(r, &r->picks[k]) == i;
            int lib = (int)(r->styles[i].library_share * 100 + 0.5);
            int mix = n_shown ? (int)(100.0 * (double)in_mix / (double)n_shown + 0.5) : 0;
            html_raw(h,
                     "<li class=\"s%zu\"><span class=\"name\"><span class=\"swatch\" "
                     "aria-hidden=\"true\"></span>",
                     i % PAGES_N_PATTERNS);
            style_name(h, r->styles[i].name, (uint32_t)i);
            share_bars(h, lib, mix, r->styles[i].exhausted);
        }
    } else {
        uint32_t saved = 0;
        for (size_t i = 0; i < r->n_clusters; i++)
            saved += r->clusters[i].saved;
        for (size_t i = 0; i < r->n_clusters; i++) {
            size_t in_mix = 0;
            for (size_t k = 0; k < n_shown; k++)
                in_mix += r->picks[k].cluster == r->clusters[i].cluster;
            int lib = saved ? (int)(100.0 * r->clusters[i].saved / saved + 0.5) : 0;
            int mix = n_shown ? (int)(100.0 * (double)in_mix / (double)n_shown + 0.5) : 0;
            html_raw(h,
                     "<li class=\"s%u\"><span class=\"name\"><span class=\"swatch\" "
                     "aria-hidden=\"true\"></span>Style %u",
                     r->clusters[i].cluster % PAGES_N_PATTERNS, r->clusters[i].cluster + 1);
            share_bars(h, lib, mix, false);
        }
    }
    html_raw(h, "</ul><p class=\"hint\">%zu songs in the playlist.</p></section>\n", n_shown);
}

static void option(struct html *h, const char *value, const char *label, bool selected)
{
    html_raw(h, "<option value=\"%s\"%s>%s</option>", value, selected ? " selected" : "", label);
}

/* The controls: a GET form on /mix (the library is cached, so it answers quickly); the script
 * submits it on every change. */
static void controls(struct html *h, const struct mix_params *p, uint32_t shown)
{
    float d = p->has_discover ? p->discover : 0;
    html_raw(h, "<details id=\"steer\"><summary>Steer the mix</summary>"
                "<form id=\"controls\" method=\"get\" action=\"/mix\">"
                "<label for=\"discover\">Songs</label><select id=\"discover\" name=\"discover\">");
    option(h, "0", "Familiar artists", d < 0.25f);
    option(h, "0.5", "A mix of familiar and new", d >= 0.25f && d < 0.75f);
    option(h, "1", "New artists only", d >= 0.75f);
    html_raw(h, "</select><label for=\"energy\">Energy</label><select id=\"energy\" "
                "name=\"energy\">");
    float e = p->energy.set ? p->energy.value : -1;
    option(h, "", "Any", e < 0);
    option(h, "0.2", "Calm", e >= 0 && e < 0.35f);
    option(h, "0.5", "Medium", e >= 0.35f && e < 0.7f);
    option(h, "0.85", "Energetic", e >= 0.7f);
    html_raw(h, "</select><label for=\"valence\">Mood</label><select id=\"valence\" "
                "name=\"valence\">");
    float v = p->valence.set ? p->valence.value : -1;
    option(h, "", "Any", v < 0);
    option(h, "0.2", "Darker", v >= 0 && v < 0.35f);
    option(h, "0.5", "In between", v >= 0.35f && v < 0.7f);
    option(h, "0.85", "Brighter", v >= 0.7f);
    html_raw(h, "</select><label for=\"from\">From year</label><input id=\"from\" name=\"from\" "
                "type=\"number\" inputmode=\"numeric\" min=\"1900\" max=\"2100\"");
    if (p->year_from)
        html_raw(h, " value=\"%u\"", p->year_from);
    html_raw(h, "><label for=\"to\">To year</label><input id=\"to\" name=\"to\" type=\"number\" "
                "inputmode=\"numeric\" min=\"1900\" max=\"2100\"");
    if (p->year_to)
        html_raw(h, " value=\"%u\"", p->year_to);
    html_raw(h, "><label for=\"n\">Length</label><select id=\"n\" name=\"n\">");
    static const char *const LENGTHS[] = {"20", "30", "50", "100"};
    char cur[16];
    snprintf(cur, sizeof cur, "%u", shown);
    for (size_t i = 0; i < 4; i++) {
        char label[32];
        snprintf(label, sizeof label, "%s songs", LENGTHS[i]);
        option(h, LENGTHS[i], label, strcmp(cur, LENGTHS[i]) == 0);
    }
    html_raw(h,
             "</select><span class=\"check\"><input id=\"clean\" name=\"clean\" "
             "type=\"checkbox\" value=\"1\"%s><label for=\"clean\">Leave out explicit "
             "songs</label></span><button type=\"submit\" id=\"apply\">Apply</button></form>"
             "</details>\n",
             p->no_explicit ? " checked" : "");
}

/* The query of the current controls (for Regenerate), URL-safe: numbers only. */
static void params_query(struct html *h, const struct mix_params *p, uint32_t shown)
{
    html_raw(h, "&amp;n=%u", shown);
    if (p->has_discover)
        html_raw(h, "&amp;discover=%g", (double)p->discover);
    if (p->energy.set)
        html_raw(h, "&amp;energy=%g", (double)p->energy.value);
    if (p->valence.set)
        html_raw(h, "&amp;valence=%g", (double)p->valence.value);
    if (p->year_from)
        html_raw(h, "&amp;from=%u", p->year_from);
    if (p->year_to)
        html_raw(h, "&amp;to=%u", p->year_to);
    if (p->no_explicit)
        html_raw(h, "&amp;clean=1");
}

void pages_mix_result(struct html *h, const struct mix_result *r, size_t read, size_t total,
                      bool truncated, uint64_t next_variety, bool auto_save,
                      const struct mix_params *params, uint32_t shown)
{
    size_t show = r->n_picks < shown ? r->n_picks : shown;
    html_raw(h,
             "</ol></section>\n<section id=\"result\" aria-labelledby=\"result-title\">"
             "<div id=\"summary\"><h2 id=\"result-title\">Your mixtape</h2><p id=\"matched\">"
             "%zu songs \u00b7 %u of %zu saved tracks matched the catalog",
             show, r->stats.saved - r->stats.unmatched, read);
    if (truncated)
        html_raw(h, " (the first %zu of your %zu were read)", read, total);
    html_raw(h, ".</p>");
    if (r->short_reason[0]) {
        html_raw(h, "<p id=\"short\">");
        html_text(h, r->short_reason);
        html_raw(h, "</p>");
    }
    html_raw(h, "</div>\n<div id=\"actionbar\"><div id=\"actions\">");
    /* With auto_save the script presses #save itself once the page is shown: the playlist is
     * saved by the same CSRF-checked POST /api/save as a click, never by this GET. */
    html_raw(h, "<button id=\"save\" type=\"button\"%s>Save to Spotify</button>",
             auto_save ? " data-auto-save=\"true\"" : "");
    html_raw(h, "<a id=\"regenerate\" class=\"button secondary\" href=\"/mix?variety=%llu",
             (unsigned long long)next_variety);
    params_query(h, params, shown);
    html_raw(h, "\">Regenerate</a><a id=\"open\" class=\"button secondary\" hidden "
                "href=\"https://open.spotify.com/\">Open in Spotify</a>"
                "<button id=\"download-csv\" type=\"button\" class=\"secondary\">CSV</button>"
                "<button id=\"download-jspf\" type=\"button\" class=\"secondary\">JSPF</button>"
                "</div>\n<p id=\"save-status\" role=\"status\" aria-live=\"polite\"></p>"
                "<p id=\"save-error\" role=\"alert\"></p></div><div id=\"saved\"></div>\n");
    controls(h, params, shown);
    html_raw(h, "<ol id=\"tracks\">\n");
    for (size_t i = 0; i < show; i++)
        track_item(h, r, i, i + 1);
    html_raw(h, "</ol>\n");
    /* Songs past the shown ones stand by: a removed song's place goes to the first of them
     * from the same style. */
    html_raw(h, "<ol id=\"reserve\" hidden>\n");
    for (size_t i = show; i < r->n_picks; i++)
        track_item(h, r, i, i + 1);
    html_raw(h, "</ol>\n");
    styles_legend(h, r, show);
    html_raw(h, "</section>\n");
}

void pages_mix_end(struct html *h)
{
    html_raw(h, "</main></body></html>\n");
}
