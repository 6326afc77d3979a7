/* A small W3C WebDriver client in C (libcurl + cJSON) for the end-to-end tests: starts
 * /usr/bin/chromedriver on a free port, opens a headless Chromium session with a fresh
 * profile, and offers the handful of commands the tests need (navigate, find, click, read text
 * and attributes, cookies, screenshots). Always stopped at the end, or at exit if a test fails
 * first. Threads: one thread per struct wd; calls block until chromedriver answers (each has a
 * 60-second limit). */
#ifndef MIXTAPE_WEBDRIVER_H
#define MIXTAPE_WEBDRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define WD_ELEMENT_LEN 128

struct wd {
    pid_t driver_pid;     /* chromedriver (leader of its own process group) */
    int port;             /* chromedriver's port */
    char session[128];    /* the WebDriver session id */
    char profile[256];    /* the fresh --user-data-dir, removed at wd_stop */
    char last_error[512]; /* message of the last failed command */
};

/* Starts chromedriver (binary driver, e.g. /usr/bin/chromedriver) writing its log to log_path,
 * and a headless session of browser (e.g. /usr/bin/chromium) with a window of width x height.
 * page_load is the W3C page load strategy: "normal" (navigation and clicks that navigate wait
 * for the whole page) or "none" (they return at once, so a streamed page can be watched while
 * it loads). Returns 0, or -1 with the reason on stderr (everything started is stopped again). */
int wd_start(struct wd *wd, const char *driver, const char *browser, const char *log_path,
             int width, int height, const char *page_load);

/* Ends the session, stops chromedriver and the browser, removes the profile. Idempotent. */
void wd_stop(struct wd *wd);

/* Navigates to url and waits for the page to load. Returns 0 or -1. */
int wd_navigate(struct wd *wd, const char *url);

/* Writes the current URL into url. Returns 0 or -1. */
int wd_current_url(struct wd *wd, char *url, size_t len);

/* Finds the first element matching the CSS selector. Returns 0 with its reference in element,
 * or -1 when there is none. */
int wd_find(struct wd *wd, const char *css, char element[WD_ELEMENT_LEN]);

/* Like wd_find, retrying every 100 ms for up to timeout_ms. */
int wd_wait(struct wd *wd, const char *css, int timeout_ms, char element[WD_ELEMENT_LEN]);

/* Number of elements matching the CSS selector, or -1 on failure. */
int wd_count(struct wd *wd, const char *css);

/* Clicks the element. Returns 0 or -1. */
int wd_click(struct wd *wd, const char *element);

/* The element's rendered text into text. Returns 0 or -1. */
int wd_text(struct wd *wd, const char *element, char *text, size_t len);

/* The element's attribute into value ("" if absent). Returns 0 or -1. */
int wd_attribute(struct wd *wd, const char *element, const char *name, char *value, size_t len);

/* Runs script (a function body; `return` gives the result) and writes the result as a string
 * (JSON for non-strings) into out. Returns 0 or -1. */
int wd_script(struct wd *wd, const char *script, char *out, size_t len);

/* Replaces the value of every cookie of the current page with a corrupted one (each character
 * shifted), keeping names, paths and flags. Returns how many cookies it changed, or -1. */
int wd_corrupt_cookies(struct wd *wd);

/* Deletes every cookie of the current page. Returns 0 or -1. */
int wd_delete_cookies(struct wd *wd);

/* Resizes the window (headless: the viewport) to width x height CSS pixels. 0 or -1. */
int wd_window_size(struct wd *wd, int width, int height);

/* Emulates prefers-color-scheme ("light" or "dark"; "" for the default) through Chromium's
 * DevTools protocol. Returns 0 or -1. */
int wd_color_scheme(struct wd *wd, const char *scheme);

/* Presses and releases each key of keys in turn (UTF-8; WebDriver's "\xee\x80\x84" is Tab,
 * "\xee\x80\x87" Enter) on whatever has the focus. Returns 0 or -1. */
int wd_keys(struct wd *wd, const char *keys);

/* Saves a PNG screenshot of the viewport to path. Returns 0 or -1. */
int wd_screenshot(struct wd *wd, const char *path);

#endif
