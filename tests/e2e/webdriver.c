/* The W3C WebDriver client used by the browser tests: see webdriver.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "webdriver.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http_body.h"

#define ELEMENT_KEY "element-6066-11e4-a52e-4f735466cecf"

extern char **environ;

/* Drivers started and not yet stopped (each leads its own process group), stopped at exit if a
 * test fails before wd_stop. */
#define MAX_DRIVERS 8
static pid_t started_drivers[MAX_DRIVERS];

static void track_driver(pid_t pid, bool add)
{
    for (int i = 0; i < MAX_DRIVERS; i++) {
        if (add && started_drivers[i] == 0) {
            started_drivers[i] = pid;
            return;
        }
        if (!add && started_drivers[i] == pid) {
            started_drivers[i] = 0;
            return;
        }
    }
}

static void stop_at_exit(void)
{
    for (int i = 0; i < MAX_DRIVERS; i++) {
        if (started_drivers[i] > 0) {
            kill(-started_drivers[i], SIGKILL);
            waitpid(started_drivers[i], NULL, 0);
            started_drivers[i] = 0;
        }
    }
}

static void sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof address;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof address) == 0 &&
        getsockname(fd, (struct sockaddr *)&address, &len) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Sends one command. On HTTP 200 returns 0 and, if value is not NULL, hands over the answer's
 * "value" member (caller frees). Otherwise records the error message and returns -1. */
static int command(struct wd *wd, const char *method, const char *path, const cJSON *body,
                   cJSON **value)
{
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", wd->port, path);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct http_body buffer = {calloc(1, 1), 0};
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (text || strcmp(method, "POST") == 0)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text ? text : "{}");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_body_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buffer);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode result = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    int outcome = -1;
    cJSON *answer = buffer.data ? cJSON_Parse(buffer.data) : NULL;
    if (result != CURLE_OK) {
        snprintf(wd->last_error, sizeof wd->last_error, "%s %s: %s", method, path,
                 curl_easy_strerror(result));
    } else if (status != 200) {
        const char *message = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(answer, "value"), "message"));
        snprintf(wd->last_error, sizeof wd->last_error, "%s %s: HTTP %ld: %.300s", method, path,
                 status, message ? message : "");
    } else {
        outcome = 0;
        if (value)
            *value = cJSON_DetachItemFromObject(answer, "value");
    }
    cJSON_Delete(answer);
    free(buffer.data);
    cJSON_free(text);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return outcome;
}

static int session_path(struct wd *wd, char *path, size_t len, const char *suffix)
{
    snprintf(path, len, "/session/%.127s%.600s", wd->session, suffix);
    return 0;
}

int wd_start(struct wd *wd, const char *driver, const char *browser, const char *log_path,
             int width, int height, const char *page_load)
{
    memset(wd, 0, sizeof *wd);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    wd->port = free_port();
    snprintf(wd->profile, sizeof wd->profile, "/tmp/mixtape-e2e-profile-XXXXXX");
    if (wd->port < 0 || !mkdtemp(wd->profile)) {
        fprintf(stderr, "wd_start: no free port or temporary folder\n");
        return -1;
    }
    char port_flag[32], log_flag[600];
    snprintf(port_flag, sizeof port_flag, "--port=%d", wd->port);
    snprintf(log_flag, sizeof log_flag, "--log-path=%s", log_path);
    char *argv[] = {(char *)(uintptr_t)driver, port_flag, log_flag, NULL};
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    int spawned = posix_spawn(&wd->driver_pid, driver, &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0) {
        fprintf(stderr, "wd_start: cannot run %s: %s\n", driver, strerror(spawned));
        return -1;
    }
    track_driver(wd->driver_pid, true);
    static bool registered;
    if (!registered) {
        atexit(stop_at_exit);
        registered = true;
    }
    /* Ready when /status says so. */
    bool ready = false;
    for (int i = 0; i < 200 && !ready; i++) {
        cJSON *status = NULL;
        if (command(wd, "GET", "/status", NULL, &status) == 0)
            ready = cJSON_IsTrue(cJSON_GetObjectItem(status, "ready"));
        cJSON_Delete(status);
        if (!ready)
            sleep_ms(100);
    }
    if (!ready) {
        fprintf(stderr, "wd_start: chromedriver not ready in 20 s: %s\n", wd->last_error);
        wd_stop(wd);
        return -1;
    }
    char profile_flag[300], window_flag[64];
    snprintf(profile_flag, sizeof profile_flag, "--user-data-dir=%s", wd->profile);
    snprintf(window_flag, sizeof window_flag, "--window-size=%d,%d", width, height);
    const char *flags[] = {"--headless=new",
                           "--no-sandbox",
                           "--disable-gpu",
                           "--disable-quic",
                           "--no-first-run",
                           "--disable-background-networking",
                           "--disable-component-update",
                           "--disable-sync",
                           "--disable-dev-shm-usage",
                           profile_flag,
                           window_flag};
    cJSON *request = cJSON_CreateObject();
    cJSON *always =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(request, "capabilities"), "alwaysMatch");
    cJSON_AddStringToObject(always, "browserName", "chrome");
    cJSON_AddStringToObject(always, "pageLoadStrategy", page_load);
    cJSON *options = cJSON_AddObjectToObject(always, "goog:chromeOptions");
    cJSON_AddStringToObject(options, "binary", browser);
    cJSON *args = cJSON_AddArrayToObject(options, "args");
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(flags[i]));
    cJSON *value = NULL;
    int created = command(wd, "POST", "/session", request, &value);
    cJSON_Delete(request);
    const char *session = cJSON_GetStringValue(cJSON_GetObjectItem(value, "sessionId"));
    if (created == 0 && session)
        snprintf(wd->session, sizeof wd->session, "%s", session);
    cJSON_Delete(value);
    if (wd->session[0] == '\0') {
        fprintf(stderr, "wd_start: no session: %s\n", wd->last_error);
        wd_stop(wd);
        return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *ftw)
{
    (void)info;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void wd_stop(struct wd *wd)
{
    if (wd->session[0]) {
        char path[1024];
        session_path(wd, path, sizeof path, "");
        command(wd, "DELETE", path, NULL, NULL);
        wd->session[0] = '\0';
    }
    pid_t group = wd->driver_pid; /* never 0 here: kill(-0) would hit our own group */
    if (group > 0) {
        kill(-group, SIGTERM);
        bool reaped = false;
        for (int i = 0; i < 50 && !reaped; i++) {
            reaped = waitpid(group, NULL, WNOHANG) == group;
            if (!reaped)
                sleep_ms(100);
        }
        /* The driver, if still there, and browser processes left in its group. */
        kill(-group, SIGKILL);
        if (!reaped)
            waitpid(group, NULL, 0);
        track_driver(group, false);
        wd->driver_pid = 0;
    }
    if (wd->profile[0]) {
        nftw(wd->profile, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        wd->profile[0] = '\0';
    }
}

int wd_navigate(struct wd *wd, const char *url)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/url");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "url", url);
    int outcome = command(wd, "POST", path, body, NULL);
    cJSON_Delete(body);
    return outcome;
}

int wd_current_url(struct wd *wd, char *url, size_t len)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/url");
    cJSON *value = NULL;
    int outcome = command(wd, "GET", path, NULL, &value);
    if (outcome == 0 && cJSON_IsString(value))
        snprintf(url, len, "%s", value->valuestring);
    else
        outcome = -1;
    cJSON_Delete(value);
    return outcome;
}

int wd_find(struct wd *wd, const char *css, char element[WD_ELEMENT_LEN])
{
    char path[1024];
    session_path(wd, path, sizeof path, "/element");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "using", "css selector");
    cJSON_AddStringToObject(body, "value", css);
    cJSON *value = NULL;
    int outcome = command(wd, "POST", path, body, &value);
    cJSON_Delete(body);
    const char *reference = cJSON_GetStringValue(cJSON_GetObjectItem(value, ELEMENT_KEY));
    if (outcome == 0 && reference)
        snprintf(element, WD_ELEMENT_LEN, "%s", reference);
    else
        outcome = -1;
    cJSON_Delete(value);
    return outcome;
}

int wd_wait(struct wd *wd, const char *css, int timeout_ms, char element[WD_ELEMENT_LEN])
{
    for (int waited = 0;; waited += 100) {
        if (wd_find(wd, css, element) == 0)
            return 0;
        if (waited >= timeout_ms)
            return -1;
        sleep_ms(100);
    }
}

int wd_count(struct wd *wd, const char *css)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/elements");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "using", "css selector");
    cJSON_AddStringToObject(body, "value", css);
    cJSON *value = NULL;
    int outcome = command(wd, "POST", path, body, &value);
    cJSON_Delete(body);
    int count = outcome == 0 && cJSON_IsArray(value) ? cJSON_GetArraySize(value) : -1;
    cJSON_Delete(value);
    return count;
}

int wd_click(struct wd *wd, const char *element)
{
    char path[1024];
    char suffix[300];
    snprintf(suffix, sizeof suffix, "/element/%s/click", element);
    session_path(wd, path, sizeof path, suffix);
    return command(wd, "POST", path, NULL, NULL);
}

static int read_string(struct wd *wd, const char *suffix, char *out, size_t len)
{
    char path[1024];
    session_path(wd, path, sizeof path, suffix);
    cJSON *value = NULL;
    int outcome = command(wd, "GET", path, NULL, &value);
    if (outcome == 0)
        snprintf(out, len, "%s", cJSON_IsString(value) ? value->valuestring : "");
    cJSON_Delete(value);
    return outcome;
}

int wd_text(struct wd *wd, const char *element, char *text, size_t len)
{
    char suffix[300];
    snprintf(suffix, sizeof suffix, "/element/%s/text", element);
    return read_string(wd, suffix, text, len);
}

int wd_attribute(struct wd *wd, const char *element, const char *name, char *value, size_t len)
{
    char suffix[400];
    snprintf(suffix, sizeof suffix, "/element/%s/attribute/%s", element, name);
    return read_string(wd, suffix, value, len);
}

int wd_script(struct wd *wd, const char *script, char *out, size_t len)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/execute/sync");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "script", script);
    cJSON_AddArrayToObject(body, "args");
    cJSON *value = NULL;
    int outcome = command(wd, "POST", path, body, &value);
    cJSON_Delete(body);
    if (outcome == 0) {
        if (cJSON_IsString(value)) {
            snprintf(out, len, "%s", value->valuestring);
        } else {
            char *text = cJSON_PrintUnformatted(value);
            snprintf(out, len, "%s", text ? text : "null");
            cJSON_free(text);
        }
    }
    cJSON_Delete(value);
    return outcome;
}

int wd_corrupt_cookies(struct wd *wd)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/cookie");
    cJSON *cookies = NULL;
    if (command(wd, "GET", path, NULL, &cookies) != 0 || !cJSON_IsArray(cookies)) {
        cJSON_Delete(cookies);
        return -1;
    }
    int changed = 0;
    cJSON *cookie;
    cJSON_ArrayForEach(cookie, cookies)
    {
        cJSON *value = cJSON_GetObjectItem(cookie, "value");
        if (!cJSON_IsString(value) || value->valuestring[0] == '\0')
            continue;
        char *corrupted = strdup(value->valuestring);
        for (char *p = corrupted; *p; p++)
            *p = (*p >= 'A' && *p <= 'Y') ? (char)(*p + 1) : (*p == 'Z' ? 'A' : *p);
        cJSON_SetValuestring(value, corrupted);
        free(corrupted);
        cJSON *request = cJSON_CreateObject();
        cJSON_AddItemToObject(request, "cookie", cJSON_Duplicate(cookie, true));
        if (command(wd, "POST", path, request, NULL) == 0)
            changed++;
        cJSON_Delete(request);
    }
    cJSON_Delete(cookies);
    return changed;
}

int wd_delete_cookies(struct wd *wd)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/cookie");
    return command(wd, "DELETE", path, NULL, NULL);
}

int wd_screenshot(struct wd *wd, const char *file)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/screenshot");
    cJSON *value = NULL;
    int outcome = command(wd, "GET", path, NULL, &value);
    if (outcome != 0 || !cJSON_IsString(value)) {
        cJSON_Delete(value);
        return -1;
    }
    size_t encoded_len = strlen(value->valuestring);
    unsigned char *png = malloc(encoded_len / 4 * 3 + 4);
    int len = EVP_DecodeBlock(png, (const unsigned char *)value->valuestring, (int)encoded_len);
    for (size_t i = encoded_len; i > 0 && value->valuestring[i - 1] == '='; i--)
        len--;
    cJSON_Delete(value);
    FILE *out = len > 8 ? fopen(file, "wb") : NULL;
    outcome = -1;
    if (out) {
        outcome = fwrite(png, 1, (size_t)len, out) == (size_t)len ? 0 : -1;
        fclose(out);
    }
    free(png);
    return outcome;
}

int wd_window_size(struct wd *wd, int width, int height)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/window/rect");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "width", width);
    cJSON_AddNumberToObject(body, "height", height);
    int outcome = command(wd, "POST", path, body, NULL);
    cJSON_Delete(body);
    return outcome;
}

int wd_color_scheme(struct wd *wd, const char *scheme)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/goog/cdp/execute");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "cmd", "Emulation.setEmulatedMedia");
    cJSON *params = cJSON_AddObjectToObject(body, "params");
    cJSON *features = cJSON_AddArrayToObject(params, "features");
    cJSON *feature = cJSON_CreateObject();
    cJSON_AddStringToObject(feature, "name", "prefers-color-scheme");
    cJSON_AddStringToObject(feature, "value", scheme);
    cJSON_AddItemToArray(features, feature);
    int outcome = command(wd, "POST", path, body, NULL);
    cJSON_Delete(body);
    return outcome;
}

int wd_keys(struct wd *wd, const char *keys)
{
    char path[1024];
    session_path(wd, path, sizeof path, "/actions");
    cJSON *body = cJSON_CreateObject();
    cJSON *actions = cJSON_AddArrayToObject(body, "actions");
    cJSON *source = cJSON_CreateObject();
    cJSON_AddStringToObject(source, "type", "key");
    cJSON_AddStringToObject(source, "id", "keyboard");
    cJSON *steps = cJSON_AddArrayToObject(source, "actions");
    /* one UTF-8 character (a WebDriver key such as \uE004 Tab is 3 bytes) at a time */
    for (const char *p = keys; *p;) {
        size_t n = ((unsigned char)*p & 0xE0) == 0xE0   ? 3
                   : ((unsigned char)*p & 0xC0) == 0xC0 ? 2
                                                        : 1;
        char key[8];
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        for (int down = 1; down >= 0; down--) {
            cJSON *step = cJSON_CreateObject();
            cJSON_AddStringToObject(step, "type", down ? "keyDown" : "keyUp");
            cJSON_AddStringToObject(step, "value", key);
            cJSON_AddItemToArray(steps, step);
        }
        p += n;
    }
    cJSON_AddItemToArray(actions, source);
    int outcome = command(wd, "POST", path, body, NULL);
    cJSON_Delete(body);
    return outcome;
}
