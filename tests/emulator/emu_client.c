/* Test-side client of spotify-emu: see emu_client.h. */
#include "emu_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "http_body.h"

int emu_client_start(struct harness_proc *proc, char *const *extra_args)
{
    char catalog[1024], binary[1024];
    snprintf(binary, sizeof binary, "%s", harness_binary("bin/spotify-emu"));
    snprintf(catalog, sizeof catalog, "%s", harness_source("tests/emulator/testdata/catalog.csv"));
    char *argv[48] = {binary,
                      "--listen",
                      "127.0.0.1:0",
                      "--catalog",
                      catalog,
                      "--client-id",
                      EMU_CLIENT_ID,
                      "--redirect-uri",
                      EMU_CLIENT_REDIRECT_URI,
                      "--library-size",
                      "120",
                      "--log-level",
                      "warn"};
    int argc = 13;
    for (size_t i = 0; extra_args && extra_args[i] && argc < 46; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;
    return harness_start(proc, argv, NULL, 20000);
}

static void header_value(const char *line, size_t len, const char *name, char *dst, size_t size)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *value = line + n + 1;
    while (*value == ' ')
        value++;
    size_t value_len = len - (size_t)(value - line);
    while (value_len > 0 && (value[value_len - 1] == '\r' || value[value_len - 1] == '\n'))
        value_len--;
    snprintf(dst, size, "%.*s", (int)value_len, value);
}

static size_t on_header(char *line, size_t size, size_t n, void *user)
{
    struct emu_response *response = user;
    size_t len = size * n;
    header_value(line, len, "Location", response->location, sizeof response->location);
    header_value(line, len, "Retry-After", response->retry_after, sizeof response->retry_after);
    header_value(line, len, "Content-Type", response->content_type, sizeof response->content_type);
    return len;
}

int emu_request(const char *method, const char *base, const char *path, const char *const *headers,
                const char *body, struct emu_response *out)
{
    static bool initialised;
    if (!initialised) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        initialised = true;
    }
    memset(out, 0, sizeof *out);
    char url[8192];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *curl = curl_easy_init();
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    struct http_body buffer = {calloc(1, 1), 0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_body_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buffer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode result = curl_easy_perform(curl);
    int status = -1;
    if (result == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &out->seconds);
        out->body = buffer.data;
        buffer.data = NULL;
        status = 0;
    } else {
        fprintf(stderr, "emu_request %s %s: %s\n", method, url, curl_easy_strerror(result));
    }
    free(buffer.data);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return status;
}

void emu_response_free(struct emu_response *response)
{
    free(response->body);
    response->body = NULL;
}

void emu_client_pkce(struct emu_pkce_pair *pair)
{
    static const char ALPHABET[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    unsigned char random[64];
    RAND_bytes(random, sizeof random);
    for (int i = 0; i < 64; i++)
        pair->verifier[i] = ALPHABET[random[i] % 66];
    pair->verifier[64] = '\0';
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)pair->verifier, 64, digest);
    char encoded[48];
    int len = EVP_EncodeBlock((unsigned char *)encoded, digest, sizeof digest);
    while (len > 0 && encoded[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++)
        encoded[i] = (char)(encoded[i] == '+' ? '-' : (encoded[i] == '/' ? '_' : encoded[i]));
    snprintf(pair->challenge, sizeof pair->challenge, "%.*s", len, encoded);
}

static void url_encode(char *dst, size_t size, const char *text)
{
    CURL *curl = curl_easy_init();
    char *escaped = curl_easy_escape(curl, text, 0);
    snprintf(dst, size, "%s", escaped);
    curl_free(escaped);
    curl_easy_cleanup(curl);
}

int emu_client_authorize(const char *base, const char *user, const char *scope,
                         const struct emu_pkce_pair *pkce, char *code, size_t code_len)
{
    char redirect[256], scope_escaped[512], query[2048];
    url_encode(redirect, sizeof redirect, EMU_CLIENT_REDIRECT_URI);
    url_encode(scope_escaped, sizeof scope_escaped, scope);
    snprintf(query, sizeof query,
             "client_id=%s&response_type=code&redirect_uri=%s&state=test-state&scope=%s&"
             "code_challenge_method=S256&code_challenge=%s",
             EMU_CLIENT_ID, redirect, scope_escaped, pkce->challenge);
    char path[2300];
    snprintf(path, sizeof path, "/authorize?%s", query);
    struct emu_response page;
    if (emu_request("GET", base, path, NULL, NULL, &page) != 0)
        return -1;
    bool shown = page.status == 200 && strstr(page.body, "id=\"approve\"");
    emu_response_free(&page);
    if (!shown)
        return -1;
    char form[2300];
    snprintf(form, sizeof form, "%s&user=%s&decision=approve", query, user);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct emu_response answer;
    if (emu_request("POST", base, "/authorize", headers, form, &answer) != 0)
        return -1;
    emu_response_free(&answer);
    const char *found = strstr(answer.location, "code=");
    if (answer.status != 302 || !found)
        return -1;
    snprintf(code, code_len, "%.*s", (int)strcspn(found + 5, "&"), found + 5);
    return 0;
}

int emu_client_sign_in(const char *base, const char *user, const char *scope,
                       struct emu_tokens *tokens)
{
    struct emu_pkce_pair pkce;
    emu_client_pkce(&pkce);
    char code[256];
    if (emu_client_authorize(base, user, scope, &pkce, code, sizeof code) != 0)
        return -1;
    char redirect[256], form[1024];
    url_encode(redirect, sizeof redirect, EMU_CLIENT_REDIRECT_URI);
    snprintf(form, sizeof form,
             "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&code_verifier=%s",
             code, redirect, EMU_CLIENT_ID, pkce.verifier);
    struct emu_response answer;
    if (emu_request("POST", base, "/api/token", NULL, form, &answer) != 0)
        return -1;
    cJSON *json = cJSON_Parse(answer.body);
    emu_response_free(&answer);
    const char *access = cJSON_GetStringValue(cJSON_GetObjectItem(json, "access_token"));
    const char *refresh = cJSON_GetStringValue(cJSON_GetObjectItem(json, "refresh_token"));
    const cJSON *expires = cJSON_GetObjectItem(json, "expires_in");
    int status = -1;
    if (access && refresh && cJSON_IsNumber(expires)) {
        snprintf(tokens->access_token, sizeof tokens->access_token, "%s", access);
        snprintf(tokens->refresh_token, sizeof tokens->refresh_token, "%s", refresh);
        tokens->expires_in = (long)expires->valuedouble;
        status = 0;
    }
    cJSON_Delete(json);
    return status;
}

void emu_client_bearer(const char *token, char *header, size_t len)
{
    snprintf(header, len, "Authorization: Bearer %s", token);
}
