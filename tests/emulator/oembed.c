/* The emulator's oEmbed (oembed.h): the JSON open.spotify.com/oembed answers for a track, and
 * the covers its thumbnail_url points at, drawn as PNGs (zlib for the image data and CRCs). */
#include "oembed.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "catalog.h"
#include "http.h"
#include "library.h"

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Appends one chunk (length, type, data, CRC) at out + *at. */
static void chunk(unsigned char *out, size_t *at, const char *type, const unsigned char *data,
                  size_t len)
{
    put32(out + *at, (uint32_t)len);
    memcpy(out + *at + 4, type, 4);
    if (len)
        memcpy(out + *at + 8, data, len);
    uLong crc = crc32(0L, out + *at + 4, (uInt)(len + 4));
    put32(out + *at + 8 + len, (uint32_t)crc);
    *at += 12 + len;
}

size_t emu_oembed_png(uint64_t seed, int width, int height, unsigned char **out)
{
    *out = NULL;
    size_t raw_len = (size_t)height * (1 + (size_t)width * 3);
    unsigned char *raw = malloc(raw_len);
    uLongf packed_len = compressBound((uLong)raw_len);
    unsigned char *packed = malloc(packed_len);
    unsigned char *png = malloc(packed_len + 64);
    if (!raw || !packed || !png)
        goto fail;
    unsigned char a[3] = {(unsigned char)(seed >> 8), (unsigned char)(seed >> 16),
                          (unsigned char)(seed >> 24)};
    unsigned char b[3] = {(unsigned char)(255 - a[0]), (unsigned char)(a[1] / 2 + 64),
                          (unsigned char)(seed >> 40)};
    size_t at = 0;
    for (int y = 0; y < height; y++) {
        raw[at++] = 0; /* filter: none */
        for (int x = 0; x < width; x++) {
            const unsigned char *c = ((x + y) / 12) % 2 ? a : b; /* diagonal stripes */
            memcpy(raw + at, c, 3);
            at += 3;
        }
    }
    if (compress(packed, &packed_len, raw, (uLong)raw_len) != Z_OK)
        goto fail;
    static const unsigned char SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char header[13];
    put32(header, (uint32_t)width);
    put32(header + 4, (uint32_t)height);
    header[8] = 8;  /* bits per channel */
    header[9] = 2;  /* RGB */
    header[10] = 0; /* deflate */
    header[11] = 0; /* adaptive filters */
    header[12] = 0; /* no interlace */
    size_t len = 0;
    memcpy(png, SIGNATURE, 8);
    len = 8;
    chunk(png, &len, "IHDR", header, sizeof header);
    chunk(png, &len, "IDAT", packed, packed_len);
    chunk(png, &len, "IEND", NULL, 0);
    free(raw);
    free(packed);
    *out = png;
    return len;
fail:
    free(raw);
    free(packed);
    free(png);
    return 0;
}

static const char *track_name(struct emu_server *server, const char *id)
{
    const struct emu_track *t = emu_catalog_find(&server->catalog, id);
    if (t)
        return t->name;
    return emu_library_knows(&server->library, id) ? "" : NULL;
}

int emu_oembed_handle(struct emu_server *server, struct mg_connection *conn)
{
    const struct mg_request_info *info = mg_get_request_info(conn);
    char url[256] = "";
    const char *query = info->query_string ? info->query_string : "";
    if (emu_http_param(query, strlen(query), "url", url, sizeof url) <= 0)
        return emu_http_api_error(conn, 400, "url: the address of a Spotify track is required");
    static const char PREFIX[] = "https://open.spotify.com/track/";
    char id[EMU_ID_LEN + 1] = "";
    if (strncmp(url, PREFIX, sizeof PREFIX - 1) == 0)
        snprintf(id, sizeof id, "%.*s", (int)strcspn(url + sizeof PREFIX - 1, "?/#"),
                 url + sizeof PREFIX - 1);
    if (!emu_id_valid(id))
        return emu_http_api_error(conn, 400, "url: not the address of a Spotify track");
    const char *name = track_name(server, id);
    if (!name)
        return emu_http_api_error(conn, 404, "Not found");
    char embed[160], html[700], thumb[200];
    snprintf(embed, sizeof embed, "https://open.spotify.com/embed/track/%s?utm_source=oembed", id);
    snprintf(html, sizeof html,
             "<iframe style=\"border-radius: 12px\" width=\"100%%\" height=\"152\" "
             "title=\"Spotify Embed\" frameborder=\"0\" allowfullscreen allow=\"autoplay; "
             "clipboard-write; encrypted-media; fullscreen; picture-in-picture\" loading=\"lazy\" "
             "src=\"%s\"></iframe>",
             embed);
    snprintf(thumb, sizeof thumb, "%s/image/%s", server->base_url, id);
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "html", html);
    cJSON_AddStringToObject(answer, "iframe_url", embed);
    cJSON_AddNumberToObject(answer, "width", 456);
    cJSON_AddNumberToObject(answer, "height", 152);
    cJSON_AddStringToObject(answer, "version", "1.0");
    cJSON_AddStringToObject(answer, "provider_name", "Spotify");
    cJSON_AddStringToObject(answer, "provider_url", "https://spotify.com");
    cJSON_AddStringToObject(answer, "type", "rich");
    cJSON_AddStringToObject(answer, "title", name);
    cJSON_AddStringToObject(answer, "thumbnail_url", thumb);
    cJSON_AddNumberToObject(answer, "thumbnail_width", 300);
    cJSON_AddNumberToObject(answer, "thumbnail_height", 300);
    return emu_http_send_json(conn, 200, answer, NULL);
}

int emu_oembed_image(struct emu_server *server, struct mg_connection *conn, const char *id)
{
    if (!emu_id_valid(id) || !track_name(server, id))
        return emu_http_api_error(conn, 404, "Not found");
    uint64_t seed = 1469598103934665603ull;
    for (const char *p = id; *p; p++)
        seed = (seed ^ (unsigned char)*p) * 1099511628211ull;
    unsigned char *png = NULL;
    size_t len = emu_oembed_png(seed, 64, 64, &png);
    if (!len)
        return emu_http_api_error(conn, 500, "out of memory");
    int status = emu_http_send(conn, 200, "image/png", (const char *)png, len, NULL);
    free(png);
    return status;
}
