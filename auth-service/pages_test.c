/* The HTML: escaping of everything Spotify or the user supplies, the stable element ids the
 * browser tests use, an actionable page for every error, and the embed URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pages.h"

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_escaping(void **state)
{
    (void)state;
    struct html h;
    html_init(&h);
    html_text(&h, "<script>alert('x')</script> & \"q\"");
    assert_string_equal(h.text.bytes,
                        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    html_free(&h);
    pages_landing(&h, "<img src=x onerror=alert(1)>");
    assert_null(strstr(h.text.bytes, "<img"));
    assert_non_null(strstr(h.text.bytes, "&lt;img src=x onerror=alert(1)&gt;"));
    assert_non_null(strstr(h.text.bytes, "id=\"mix\""));
    html_free(&h);
    pages_landing(&h, NULL);
    assert_non_null(strstr(h.text.bytes, "<a id=\"login\" class=\"button\" href=\"/login\">"));
    html_free(&h);
}

static void test_every_error_is_actionable(void **state)
{
    (void)state;
    for (int e = PAGE_ERR_DENIED; e <= PAGE_ERR_INTERNAL; e++) {
        const struct page_error_info *info = pages_error_info((enum page_error)e);
        assert_true(info->http_status >= 400 && info->http_status <= 599);
        assert_true(strlen(info->title) > 5 && strlen(info->what) > 20);
        struct html h;
        html_init(&h);
        pages_error(&h, (enum page_error)e, "detail <b>");
        assert_false(html_failed(&h));
        assert_non_null(strstr(h.text.bytes, "id=\"error\""));
        assert_non_null(strstr(h.text.bytes, info->code));
        assert_non_null(strstr(h.text.bytes, "<a id=\"retry\" class=\"button\" href=\""));
        /* details only where they are sentences for people, never a status code name */
        bool plain = e == PAGE_ERR_BAD_CONTROL || e == PAGE_ERR_NOTHING_MATCHED;
        assert_true((strstr(h.text.bytes, "detail &lt;b&gt;") != NULL) == plain);
        static const char *const CODES[] = {"403", "401",       "429",         "502",
                                            "503", "Forbidden", "UNAVAILABLE", "DEADLINE_EXCEEDED"};
        for (size_t c = 0; c < sizeof CODES / sizeof CODES[0]; c++)
            assert_null(strstr(h.text.bytes, CODES[c]));
        html_free(&h);
    }
    struct html ended;
    html_init(&ended);
    pages_session_ended(&ended);
    assert_non_null(strstr(ended.text.bytes, "Your session ended, sign in again"));
    assert_non_null(strstr(ended.text.bytes, "<a id=\"login\""));
    html_free(&ended);
    /* Out of range falls back to the internal error. */
    assert_string_equal(pages_error_info((enum page_error)99)->code, "internal");
}

static void test_mix_page(void **state)
{
    (void)state;
    struct mix_pick picks[60];
    char *style_names[2] = {"jazz \xc2\xb7 bossa nova", "metal"};
    for (int i = 0; i < 60; i++)
        picks[i] = (struct mix_pick){.id = "0000000000000000000001",
                                     .name = "Song & Dance",
                                     .artists = "A <B>",
                                     .year = i ? 1990 : 0,
                                     .cluster = (uint32_t)(i % 3),
                                     .style = i % 3 == 2 ? "" : style_names[i % 3],
                                     .reason = (enum reco_rpc_reason)(i % 3),
                                     .because = i % 2 ? "Old <Favourite>" : NULL,
                                     .because_artist = i % 2 ? "Old & Artist" : NULL,
                                     .isrc = ""};
    for (int i = 0; i < 60; i += 4)
        snprintf(picks[i].isrc, sizeof picks[i].isrc, "USRC1760%04d", i);
    struct mix_cluster clusters[3] = {{0, 10, 17, ""}, {1, 5, 17, ""}, {2, 0, 16, ""}};
    struct mix_style styles[2] = {{style_names[0], 0.6f, 0.5f, false},
                                  {style_names[1], 0.4f, 0.5f, true}};
    struct mix_result r = {.picks = picks,
                           .n_picks = 60,
                           .clusters = clusters,
                           .n_clusters = 3,
                           .styles = styles,
                           .n_styles = 2,
                           .stats = {.saved = 20, .unmatched = 5}};
    struct mix_params params = {.n = 60,
                                .has_discover = true,
                                .discover = 0.5f,
                                .energy = {true, 0.85f},
                                .year_from = 1980,
                                .no_explicit = true};
    struct html h;
    html_init(&h);
    pages_mix_start(&h, "Demo");
    pages_mix_progress(&h, "read", "Read 50 of 100 saved tracks", 50, 100);
    pages_mix_result(&h, &r, 20, 20, false, 77, false, &params, 50);
    pages_mix_end(&h);
    assert_false(html_failed(&h));
    assert_non_null(strstr(h.text.bytes, "<ol id=\"progress\" aria-live=\"polite\">"));
    assert_non_null(strstr(h.text.bytes,
                           "<li data-step=\"read\"><span class=\"step\">Read 50 of 100 "
                           "saved tracks</span><progress max=\"100\" value=\"40\""));
    /* 50 shown, 10 standing by for removed songs */
    char *reserve = strstr(h.text.bytes, "<ol id=\"reserve\" hidden>");
    assert_non_null(reserve);
    assert_int_equal(count_of(h.text.bytes, "<li data-id="), 60);
    assert_int_equal(count_of(reserve, "<li data-id="), 10);
    /* the ISRC for the CSV export where the song has one (every fourth), and no empty one */
    assert_int_equal(count_of(h.text.bytes, "\" data-isrc=\"USRC1760"), 15);
    assert_non_null(strstr(h.text.bytes, "<li data-id=\"0000000000000000000001\" "
                                         "data-isrc=\"USRC17600004\" data-cluster=\"1\""));
    assert_null(strstr(h.text.bytes, "data-isrc=\"\""));
    assert_int_equal(count_of(h.text.bytes, "href=\"https://open.spotify.com/track/"
                                            "0000000000000000000001\">Song &amp; Dance</a>"),
                     60);
    assert_int_equal(count_of(h.text.bytes, "because you saved <i>Old &lt;Favourite&gt;</i> by Old "
                                            "&amp; Artist"),
                     30);
    assert_int_equal(count_of(h.text.bytes, "<span class=\"year\">1990</span>"), 59);
    /* styles by name, "Style N" only without one, and the reason in words */
    assert_int_equal(count_of(h.text.bytes, "aria-hidden=\"true\"></span>metal</span>"), 21);
    assert_int_equal(count_of(h.text.bytes, "aria-hidden=\"true\"></span>Style 3</span>"), 20);
    assert_int_equal(count_of(h.text.bytes, ">Same artist</span>"), 20);
    assert_int_equal(count_of(h.text.bytes, ">New artist</span>"), 20);
    assert_non_null(strstr(h.text.bytes, "Library 60%</span><progress class=\"fill\" max=\"100\" "
                                         "value=\"60\" aria-hidden=\"true\">"));
    /* the playlist share counts the 50 songs shown: 17 of each named style */
    assert_int_equal(count_of(h.text.bytes,
                              "Playlist 34%</span><progress class=\"fill\" max=\"100\" "
                              "value=\"34\""),
                     2);
    /* a style that ran out says so, once, in its own row */
    assert_int_equal(count_of(h.text.bytes, "No more songs of this style left to suggest"), 1);
    assert_non_null(strstr(strstr(h.text.bytes, "<ul id=\"legend\">"), "Library 40%"));
    assert_true(strstr(h.text.bytes, "No more songs of this style") >
                strstr(strstr(h.text.bytes, "<ul id=\"legend\">"), "Library 40%"));
    assert_null(strstr(h.text.bytes, " style=")); /* the CSP allows no inline style */
    assert_non_null(strstr(h.text.bytes, "50 songs \xc2\xb7 15 of 20 saved tracks matched"));
    /* Regenerate keeps the controls; the form shows them */
    assert_non_null(strstr(h.text.bytes, "href=\"/mix?variety=77&amp;n=50&amp;discover=0.5&amp;"
                                         "energy=0.85&amp;from=1980&amp;clean=1\">Regenerate"));
    assert_non_null(
        strstr(h.text.bytes, "<option value=\"0.5\" selected>A mix of familiar and new"));
    assert_non_null(strstr(h.text.bytes, "<option value=\"0.85\" selected>Energetic"));
    assert_non_null(strstr(h.text.bytes, "name=\"from\" type=\"number\" inputmode=\"numeric\" "
                                         "min=\"1900\" max=\"2100\" value=\"1980\">"));
    assert_non_null(strstr(h.text.bytes, "value=\"1\" checked>"));
    assert_non_null(strstr(h.text.bytes, "<button id=\"save\" type=\"button\">"));
    assert_non_null(strstr(h.text.bytes, "id=\"open\" class=\"button secondary\" hidden"));
    assert_non_null(strstr(h.text.bytes, "id=\"download-csv\""));
    assert_non_null(strstr(h.text.bytes, "id=\"download-jspf\""));
    /* the actions come before the songs */
    assert_true(strstr(h.text.bytes, "id=\"actions\"") <
                strstr(h.text.bytes, "<ol id=\"tracks\">"));
    assert_null(strstr(h.text.bytes, "data-auto-save"));
    assert_null(strstr(h.text.bytes, "<iframe"));
    assert_non_null(strstr(h.text.bytes, "</html>"));
    html_free(&h);

    /* AUTO_SAVE: the page only asks its script to press #save (POST /api/save); it shows no
     * saved playlist of its own, since the GET that serves it saves nothing. Without names,
     * the legend falls back to "Style N" from the clusters. */
    r.n_styles = 0;
    pages_mix_start(&h, "Demo");
    pages_mix_result(&h, &r, 20, 30000, true, 5, true, &(struct mix_params){.n = 60}, 50);
    assert_non_null(strstr(h.text.bytes, "(the first 20 of your 30000 were read)"));
    assert_non_null(strstr(h.text.bytes,
                           "<button id=\"save\" type=\"button\" data-auto-save=\"true\">Save to "
                           "Spotify</button>"));
    assert_non_null(strstr(h.text.bytes, "Style 1</span><span class=\"bars\"><span class=\"bar\">"
                                         "<span class=\"label\">Library 67%"));
    assert_null(strstr(h.text.bytes, "disabled"));
    assert_null(strstr(h.text.bytes, "<iframe"));
    html_free(&h);

    char embed[256];
    pages_embed_url("37i9dQZF1DXcBWIGoYBM5M", embed);
    assert_string_equal(embed, "https://open.spotify.com/embed/playlist/37i9dQZF1DXcBWIGoYBM5M"
                               "?utm_source=generator");
}

/* The script saves only through POST /api/save, and presses #save itself when the page asks. */
static void test_script_auto_save(void **state)
{
    (void)state;
    assert_non_null(strstr(pages_script, "fetch('/api/save', {method: 'POST'"));
    assert_non_null(
        strstr(pages_script, "if (save.getAttribute('data-auto-save') === 'true') save.click();"));
    assert_int_equal(count_of(pages_script, "fetch("), 1);
    /* the track player is Spotify's embed, made only when Play is pressed */
    assert_non_null(strstr(pages_script, "'https://open.spotify.com/embed/track/'"));
    assert_null(strstr(pages_script, "innerHTML"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_every_error_is_actionable),
        cmocka_unit_test(test_mix_page),
        cmocka_unit_test(test_script_auto_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
