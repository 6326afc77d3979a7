/* The HTML: escaping of everything Spotify or the user supplies, the stable element ids the
 * browser tests use, an actionable page for every error, and the embed URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
    struct html h = {0};
    html_text(&h, "<script>alert('x')</script> & \"q\"");
    assert_string_equal(h.bytes,
                        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    html_free(&h);
    pages_landing(&h, "<img src=x onerror=alert(1)>");
    assert_null(strstr(h.bytes, "<img"));
    assert_non_null(strstr(h.bytes, "&lt;img src=x onerror=alert(1)&gt;"));
    assert_non_null(strstr(h.bytes, "id=\"mix\""));
    html_free(&h);
    pages_landing(&h, NULL);
    assert_non_null(strstr(h.bytes, "<a id=\"login\" class=\"button\" href=\"/login\">"));
    html_free(&h);
}

static void test_every_error_is_actionable(void **state)
{
    (void)state;
    for (int e = PAGE_ERR_DENIED; e <= PAGE_ERR_INTERNAL; e++) {
        const struct page_error_info *info = pages_error_info((enum page_error)e);
        assert_true(info->http_status >= 400 && info->http_status <= 599);
        assert_true(strlen(info->title) > 5 && strlen(info->what) > 20);
        struct html h = {0};
        pages_error(&h, (enum page_error)e, "detail <b>");
        assert_false(h.failed);
        assert_non_null(strstr(h.bytes, "id=\"error\""));
        assert_non_null(strstr(h.bytes, info->code));
        assert_non_null(strstr(h.bytes, "<a id=\"retry\" class=\"button\" href=\""));
        assert_non_null(strstr(h.bytes, "detail &lt;b&gt;"));
        html_free(&h);
    }
    /* Out of range falls back to the internal error. */
    assert_string_equal(pages_error_info((enum page_error)99)->code, "internal");
}

static void test_mix_page(void **state)
{
    (void)state;
    struct mix_pick picks[50];
    for (int i = 0; i < 50; i++)
        picks[i] = (struct mix_pick){.id = "0000000000000000000001",
                                     .name = "Song & Dance",
                                     .artists = "A <B>",
                                     .year = i ? 1990 : 0,
                                     .cluster = (uint32_t)(i % 3),
                                     .because = i % 2 ? "Old <Favourite>" : NULL};
    struct mix_cluster clusters[3] = {{0, 10, 17, ""}, {1, 5, 17, ""}, {2, 0, 16, ""}};
    struct mix_result r = {.picks = picks,
                           .n_picks = 50,
                           .clusters = clusters,
                           .n_clusters = 3,
                           .stats = {.saved = 20, .unmatched = 5}};
    struct html h = {0};
    pages_mix_start(&h, "Demo");
    pages_mix_progress(&h, "read", "Read 50 of 100 saved tracks");
    pages_mix_result(&h, &r, 20, 20, false, 77, false);
    pages_mix_end(&h);
    assert_false(h.failed);
    assert_non_null(strstr(h.bytes, "<ol id=\"progress\">"));
    assert_non_null(strstr(h.bytes, "<li data-step=\"read\">Read 50 of 100 saved tracks</li>"));
    assert_int_equal(count_of(h.bytes, "<li data-id="), 50);
    assert_int_equal(count_of(h.bytes, "because you saved Old &lt;Favourite&gt;"), 25);
    assert_int_equal(count_of(h.bytes, "<span class=\"year\">1990</span>"), 49);
    assert_non_null(strstr(h.bytes, "15 of 20 saved tracks matched"));
    assert_non_null(strstr(h.bytes, "href=\"/mix?variety=77\">Regenerate"));
    assert_non_null(strstr(h.bytes, "<button id=\"save\" type=\"button\">"));
    assert_null(strstr(h.bytes, "data-auto-save"));
    assert_null(strstr(h.bytes, "<iframe"));
    assert_int_equal(count_of(h.bytes, "<rect"), 5); /* 2 clusters in the library, 3 in the mix */
    assert_non_null(strstr(h.bytes, "</html>"));
    html_free(&h);

    /* AUTO_SAVE: the page only asks its script to press #save (POST /api/save); it shows no
     * saved playlist of its own, since the GET that serves it saves nothing. */
    pages_mix_start(&h, "Demo");
    pages_mix_result(&h, &r, 20, 30000, true, 5, true);
    assert_non_null(strstr(h.bytes, "(the first 20 of your 30000 were read)"));
    assert_non_null(strstr(h.bytes,
                           "<button id=\"save\" type=\"button\" data-auto-save=\"true\">Save to "
                           "Spotify</button>"));
    assert_null(strstr(h.bytes, "disabled"));
    assert_null(strstr(h.bytes, "<iframe"));
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
