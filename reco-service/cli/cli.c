/* reco-cli: talks to reco-service through the same client library as the web front.
 *   reco-cli --endpoint URL[,URL...] recommend FILE [-n N] [--json] [steering flags]
 *   reco-cli --endpoint URL info
 *   reco-cli --endpoint URL health
 * FILE holds saved tracks as ids / URIs / URLs, a CSV, or a Spotify export's YourLibrary.json
 * (saved_file.h), so a playlist can be made offline. Exit 0 on success, 1 when the service
 * answers with an error or cannot be reached, 2 on a usage or input error. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "reco_rpc.h"
#include "saved_file.h"
#include "steer_flags.h"

#define EXIT_RPC   1
#define EXIT_USAGE 2

struct cli {
    const char *endpoints;
    long long n, timeout_ms, max_per_artist, variety, resolve_interval;
    const char *ranking;
    bool json;
    struct steer_flags steer;
    struct rpc_client *client;
};

/* Prints the one line of a failed call and frees its message. */
static void print_failure(const char *method, enum rpc_code code, char *message)
{
    fprintf(stderr, "reco-cli: %s: %s: %s\n", method, rpc_code_name(code),
            message ? message : "(no message)");
    free(message);
}

/* Prints a UTF-8 string in `width` columns (one per character): padded, or cut with '~'. */
static void print_cell(const char *text, int width)
{
    int total = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        total += (*p & 0xc0) != 0x80;
    int keep = total <= width ? total : width - 1, columns = 0;
    const unsigned char *p = (const unsigned char *)text;
    for (; *p; p++) {
        if ((*p & 0xc0) != 0x80 && columns++ == keep)
            break;
        putchar(*p);
    }
    if (total > width)
        putchar('~');
    for (int c = total > width ? width : total; c < width; c++)
        putchar(' ');
}

static void join_artists(char *const *artists, size_t n, char *out, size_t out_len)
{
    out[0] = '\0';
    size_t used = 0;
    for (size_t a = 0; a < n && used + 1 < out_len; a++)
        used += (size_t)snprintf(out + used, out_len - used, "%s%s", a ? ", " : "", artists[a]);
}

/* A reason kind in words, for the table. */
static const char *reason_words(enum reco_rpc_reason reason)
{
    switch (reason) {
    case RECO_RPC_REASON_SAME_ARTIST:
        return "same artist";
    case RECO_RPC_REASON_NEW_ARTIST:
        return "new artist";
    case RECO_RPC_REASON_SIMILAR_SOUND:
        break;
    }
    return "similar sound";
}

/* The styles with their shares of the library and of the playlist. */
static void print_styles_table(const struct reco_rpc_reply *reply)
{
    printf("\n");
    print_cell("style", 36);
    printf("  %7s  %8s\n", "library", "playlist");
    for (size_t i = 0; i < reply->n_styles; i++) {
        const struct reco_rpc_style *st = &reply->styles[i];
        print_cell(st->name[0] ? st->name : "-", 36);
        printf("  %6.0f%%  %7.0f%%%s\n", st->library_share * 100.0, st->playlist_share * 100.0,
               st->exhausted ? "  (no more songs of it to suggest)" : "");
    }
    if (reply->n_styles == 0)
        printf("none\n");
}

static void print_recommend_table(const struct reco_rpc_reply *reply)
{
    printf("%-4s  %-40s  %-28s  %-4s  ", "rank", "title", "artists", "year");
    print_cell("style", 24);
    printf("  %-13s  %s\n", "why", "because you saved");
    for (size_t i = 0; i < reply->n_picks; i++) {
        const struct reco_rpc_pick *p = &reply->picks[i];
        char artists[512];
        join_artists(p->artists, p->n_artists, artists, sizeof artists);
        printf("%-4zu  ", i + 1);
        print_cell(p->name, 40);
        printf("  ");
        print_cell(artists, 28);
        if (p->has_year)
            printf("  %-4u", p->year);
        else
            printf("  %-4s", "-");
        printf("  ");
        print_cell(p->style && p->style[0] ? p->style : "-", 24);
        printf("  %-13s  %s\n", reason_words(p->reason),
               p->because_name && p->because_name[0] ? p->because_name : "-");
    }
    const struct reco_rpc_stats *s = &reply->stats;
    if (reply->short_reason)
        printf("\n%zu songs: %s\n", reply->n_picks, reply->short_reason);
    printf("\nmatched %u of %u saved tracks (id %u, isrc %u, title %u, features %u, artist only "
           "%u; unmatched %u); model %s\n",
           s->saved - s->unmatched, s->saved, s->by_id, s->by_isrc, s->by_title, s->by_features,
           s->by_artist, s->unmatched, reply->model_version ? reply->model_version : "?");
    for (size_t d = 0; d < s->n_by_decade; d++) {
        const struct reco_rpc_decade *dec = &s->by_decade[d];
        printf("  %-12s %u of %u songs matched, %u by artist only\n", dec->decade, dec->songs,
               dec->saved, dec->artists_only);
    }
    print_styles_table(reply);
}

static char *recommend_json(const struct reco_rpc_reply *reply)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *tracks = cJSON_AddArrayToObject(root, "tracks");
    for (size_t i = 0; i < reply->n_picks; i++) {
        const struct reco_rpc_pick *p = &reply->picks[i];
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "rank", (double)(i + 1));
        cJSON_AddStringToObject(t, "id", p->id);
        cJSON_AddStringToObject(t, "name", p->name);
        cJSON *artists = cJSON_AddArrayToObject(t, "artists");
        for (size_t a = 0; a < p->n_artists; a++)
            cJSON_AddItemToArray(artists, cJSON_CreateString(p->artists[a]));
        if (p->has_year)
            cJSON_AddNumberToObject(t, "year", p->year);
        else
            cJSON_AddNullToObject(t, "year");
        cJSON_AddNumberToObject(t, "score", p->score);
        cJSON_AddNumberToObject(t, "cluster", p->cluster);
        if (p->style)
            cJSON_AddStringToObject(t, "style", p->style);
        else
            cJSON_AddNullToObject(t, "style");
        if (p->has_style_index)
            cJSON_AddNumberToObject(t, "style_index", p->style_index);
        cJSON_AddStringToObject(t, "reason", reco_rpc_reason_name(p->reason));
        if (p->because_name)
            cJSON_AddStringToObject(t, "because", p->because_name);
        else
            cJSON_AddNullToObject(t, "because");
        if (p->has_because)
            cJSON_AddNumberToObject(t, "because_index", p->because);
        if (p->has_popularity)
            cJSON_AddNumberToObject(t, "popularity", p->popularity);
        if (p->has_duration_ms)
            cJSON_AddNumberToObject(t, "duration_ms", p->duration_ms);
        if (p->isrc)
            cJSON_AddStringToObject(t, "isrc", p->isrc);
        else
            cJSON_AddNullToObject(t, "isrc");
        cJSON_AddItemToArray(tracks, t);
    }
    const struct reco_rpc_stats *s = &reply->stats;
    cJSON *stats = cJSON_AddObjectToObject(root, "stats");
    cJSON_AddNumberToObject(stats, "saved", s->saved);
    cJSON_AddNumberToObject(stats, "by_id", s->by_id);
    cJSON_AddNumberToObject(stats, "by_isrc", s->by_isrc);
    cJSON_AddNumberToObject(stats, "by_title", s->by_title);
    cJSON_AddNumberToObject(stats, "by_features", s->by_features);
    cJSON_AddNumberToObject(stats, "unmatched", s->unmatched);
    cJSON_AddNumberToObject(stats, "by_artist", s->by_artist);
    cJSON *decades = cJSON_AddArrayToObject(stats, "by_decade");
    for (size_t d = 0; d < s->n_by_decade; d++) {
        const struct reco_rpc_decade *dec = &s->by_decade[d];
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "decade", dec->decade);
        cJSON_AddNumberToObject(row, "saved", dec->saved);
        cJSON_AddNumberToObject(row, "songs", dec->songs);
        cJSON_AddNumberToObject(row, "artists_only", dec->artists_only);
        cJSON_AddItemToArray(decades, row);
    }
    cJSON *styles = cJSON_AddArrayToObject(root, "styles");
    for (size_t i = 0; i < reply->n_styles; i++) {
        const struct reco_rpc_style *st = &reply->styles[i];
        cJSON *style = cJSON_CreateObject();
        cJSON_AddStringToObject(style, "name", st->name);
        cJSON_AddNumberToObject(style, "library_share", round(st->library_share * 1e4) / 1e4);
        cJSON_AddNumberToObject(style, "playlist_share", round(st->playlist_share * 1e4) / 1e4);
        cJSON_AddNumberToObject(style, "cluster", st->cluster);
        cJSON_AddNumberToObject(style, "saved", st->saved);
        cJSON_AddNumberToObject(style, "slots", st->slots);
        cJSON_AddBoolToObject(style, "exhausted", st->exhausted);
        cJSON_AddItemToArray(styles, style);
    }
    if (reply->short_reason)
        cJSON_AddStringToObject(root, "short_reason", reply->short_reason);
    cJSON *clusters = cJSON_AddArrayToObject(root, "clusters");
    for (size_t c = 0; c < reply->n_clusters; c++) {
        cJSON *share = cJSON_CreateObject();
        cJSON_AddNumberToObject(share, "cluster", reply->clusters[c].cluster);
        cJSON_AddNumberToObject(share, "saved", reply->clusters[c].saved);
        cJSON_AddNumberToObject(share, "slots", reply->clusters[c].slots);
        cJSON_AddItemToArray(clusters, share);
    }
    if (reply->model_version)
        cJSON_AddStringToObject(root, "model_version", reply->model_version);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

static int cmd_recommend(struct cli *cli, const char *path)
{
    int rc = EXIT_USAGE;
    struct saved_list list = {0};
    struct reco_rpc_track *tracks = NULL;
    struct reco_rpc_reply *reply = NULL;
    uint8_t *request = NULL;
    size_t request_len = 0;
    char err[512];

    uint32_t ranking;
    if (reco_rpc_ranking_from_name(cli->ranking, &ranking) != 0) {
        fprintf(stderr, "reco-cli: --ranking: '%s' is not %s\n", cli->ranking,
                reco_rpc_ranking_names);
        goto done;
    }
    struct reco_rpc_request req = {0};
    if (steer_flags_apply(&cli->steer, &req, err, sizeof err) != 0) {
        fprintf(stderr, "reco-cli: %s\n", err);
        goto done;
    }
    if (saved_file_read(path, &list, err, sizeof err) != 0) {
        fprintf(stderr, "reco-cli: %s\n", err);
        goto done;
    }
    tracks = calloc(list.n ? list.n : 1, sizeof *tracks);
    if (!tracks) {
        fprintf(stderr, "reco-cli: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < list.n; i++)
        tracks[i] = (struct reco_rpc_track){.id = list.items[i].id,
                                            .name = list.items[i].name,
                                            .artists = list.items[i].artists,
                                            .n_artists = list.items[i].n_artists};
    req.tracks = tracks;
    req.n_tracks = list.n;
    req.has_n = true;
    req.n = (uint32_t)cli->n;
    req.has_variety = cli->variety != 0;
    req.variety = (uint64_t)cli->variety;
    req.has_max_per_artist = cli->max_per_artist != 0;
    req.max_per_artist = (uint32_t)cli->max_per_artist;
    req.has_ranking = true;
    req.ranking = ranking;
    if (reco_rpc_pack_request(&req, &request, &request_len) != 0) {
        fprintf(stderr, "reco-cli: out of memory\n");
        goto done;
    }
    char *message = NULL;
    enum rpc_code code = reco_rpc_recommend_packed(
        cli->client, request, request_len, (uint32_t)cli->timeout_ms, &reply, &message, NULL);
    rc = EXIT_RPC;
    if (code != RPC_OK) {
        print_failure("Recommend", code, message);
        goto done;
    }
    free(message);
    if (!reply) {
        fprintf(stderr, "reco-cli: Recommend: the reply is not a RecommendReply\n");
        goto done;
    }
    if (cli->json) {
        char *text = recommend_json(reply);
        puts(text);
        free(text);
    } else {
        print_recommend_table(reply);
    }
    rc = 0;
done:
    reco_rpc_reply_free(reply);
    free(request);
    free(tracks);
    saved_list_free(&list);
    return rc;
}

static void print_info(const struct cli *cli, const struct reco_rpc_info *info)
{
    if (cli->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "model_version", info->model_version);
        cJSON_AddNumberToObject(root, "tracks", info->tracks);
        cJSON_AddNumberToObject(root, "k", info->k);
        cJSON *features = cJSON_AddArrayToObject(root, "features");
        for (size_t f = 0; f < info->n_features; f++)
            cJSON_AddItemToArray(features, cJSON_CreateString(info->features[f]));
        if (info->source)
            cJSON_AddStringToObject(root, "source", info->source);
        cJSON_AddNumberToObject(root, "built_unix", (double)info->built_unix);
        cJSON_AddNumberToObject(root, "ids", info->ids);
        cJSON *styles = cJSON_AddArrayToObject(root, "styles");
        for (size_t i = 0; i < info->n_styles; i++) {
            cJSON *style = cJSON_CreateObject();
            cJSON_AddStringToObject(style, "name", info->styles[i].name);
            cJSON_AddNumberToObject(style, "size", info->styles[i].size);
            cJSON_AddItemToArray(styles, style);
        }
        char *text = cJSON_PrintUnformatted(root);
        puts(text);
        free(text);
        cJSON_Delete(root);
        return;
    }
    printf("model_version  %s\ntracks         %u\nids            %u\nk              %u\n"
           "source         %s\nbuilt_unix     %llu\nfeatures      ",
           info->model_version, info->tracks, info->ids, info->k, info->source ? info->source : "-",
           (unsigned long long)info->built_unix);
    for (size_t f = 0; f < info->n_features; f++)
        printf(" %s", info->features[f]);
    printf("\nstyles         %zu\n", info->n_styles);
    for (size_t i = 0; i < info->n_styles; i++)
        printf("  %3zu  %8u  %s\n", i, info->styles[i].size, info->styles[i].name);
}

static int cmd_info(struct cli *cli)
{
    struct reco_rpc_info *info = NULL;
    char *message = NULL;
    enum rpc_code code = reco_rpc_info(cli->client, (uint32_t)cli->timeout_ms, &info, &message);
    if (code != RPC_OK) {
        print_failure("Info", code, message);
        return EXIT_RPC;
    }
    free(message);
    if (!info) {
        fprintf(stderr, "reco-cli: Info: the reply is not an InfoReply\n");
        return EXIT_RPC;
    }
    print_info(cli, info);
    reco_rpc_info_free(info);
    return 0;
}

/* Most endpoints `health` lists (a name may stand for many addresses). */
#define MAX_LISTED_ENDPOINTS 64u

/* After the Health answer: every endpoint as this client saw it (state, connection, calls,
 * failures, ejections), one line each, or a JSON array. */
static void print_endpoints(const struct cli *cli)
{
    struct rpc_endpoint_status *eps = calloc(MAX_LISTED_ENDPOINTS, sizeof *eps);
    if (!eps)
        return;
    size_t n = rpc_client_endpoints(cli->client, eps, MAX_LISTED_ENDPOINTS, NULL);
    if (n > MAX_LISTED_ENDPOINTS)
        n = MAX_LISTED_ENDPOINTS;
    for (size_t i = 0; i < n; i++) {
        const struct rpc_endpoint_status *e = &eps[i];
        if (cli->json)
            printf("%s{\"url\":\"%s\",\"state\":\"%s\",\"connected\":%s,\"calls\":%llu,"
                   "\"failures\":%llu,\"timeouts\":%llu,\"ejections\":%llu,"
                   "\"readmissions\":%llu}",
                   i ? "," : "", e->url, e->state, e->connected ? "true" : "false",
                   (unsigned long long)e->calls, (unsigned long long)e->failures,
                   (unsigned long long)e->timeouts, (unsigned long long)e->ejections,
                   (unsigned long long)e->readmissions);
        else
            printf("endpoint url=%s state=%s connected=%s calls=%llu failures=%llu timeouts=%llu "
                   "ejections=%llu readmissions=%llu\n",
                   e->url, e->state, e->connected ? "true" : "false", (unsigned long long)e->calls,
                   (unsigned long long)e->failures, (unsigned long long)e->timeouts,
                   (unsigned long long)e->ejections, (unsigned long long)e->readmissions);
    }
    free(eps);
}

static int cmd_health(struct cli *cli)
{
    struct reco_rpc_health *health = NULL;
    char *message = NULL;
    enum rpc_code code = reco_rpc_health(cli->client, (uint32_t)cli->timeout_ms, &health, &message);
    if (code != RPC_OK) {
        print_failure("Health", code, message);
        return EXIT_RPC;
    }
    free(message);
    if (!health) {
        fprintf(stderr, "reco-cli: Health: the reply is not a HealthReply\n");
        return EXIT_RPC;
    }
    bool serving = health->serving;
    if (cli->json)
        printf("{\"serving\":%s,\"uptime_ms\":%llu,\"requests\":%llu,\"model_version\":\"%s\","
               "\"endpoints\":[",
               serving ? "true" : "false", (unsigned long long)health->uptime_ms,
               (unsigned long long)health->requests,
               health->model_version ? health->model_version : "");
    else
        printf("serving=%s uptime_ms=%llu requests=%llu model_version=%s\n",
               serving ? "true" : "false", (unsigned long long)health->uptime_ms,
               (unsigned long long)health->requests,
               health->model_version ? health->model_version : "-");
    print_endpoints(cli);
    if (cli->json)
        printf("]}\n");
    reco_rpc_health_free(health);
    return serving ? 0 : EXIT_RPC;
}

/* The options before the steering flags in main's table. */
#define CLI_BASE_SPECS 8

int main(int argc, char **argv)
{
    struct cli cli = {0};
    steer_flags_init(&cli.steer);
    struct option_spec specs[CLI_BASE_SPECS + STEER_FLAGS_COUNT] = {
        {"endpoint", 'e', "RECO_ENDPOINTS", OPTION_STRING, NULL, 0, 0,
         "reco-service NNG URL(s), comma-separated (required)", &cli.endpoints},
        {"resolve-interval", 0, "RECO_RESOLVE_INTERVAL", OPTION_INT, "10", 1, 3600,
         "seconds between lookups of an endpoint's name (every address it has is used)",
         &cli.resolve_interval},
        {"n", 'n', NULL, OPTION_INT, "50", 1, RECO_MAX_N, "playlist length (recommend)", &cli.n},
        {"json", 0, NULL, OPTION_BOOL, "false", 0, 0, "print JSON instead of a table", &cli.json},
        {"timeout-ms", 't', "RECO_TIMEOUT_MS", OPTION_INT, "10000", 1, 600000,
         "deadline of each call", &cli.timeout_ms},
        {"variety", 0, NULL, OPTION_INT, "0", 0, 9007199254740991.0,
         "0: the canonical playlist; another number: a different, equally fitting one",
         &cli.variety},
        {"max-per-artist", 0, NULL, OPTION_INT, "0", 0, 1000,
         "songs per primary artist (0: the service default, 3)", &cli.max_per_artist},
        {"ranking", 0, NULL, OPTION_STRING, "default", 0, 0, reco_rpc_ranking_names, &cli.ranking},
    };
    steer_flags_specs(&cli.steer, specs + CLI_BASE_SPECS);
    static const char usage[] =
        "reco-cli --endpoint URL[,URL...] recommend FILE [-n N] [--json] [--discover X] "
        "[--energy X] [--valence X] [--danceability X] [--tempo BPM] [--years FROM-TO] "
        "[--no-explicit] [--max-per-artist N]\n"
        "       reco-cli --endpoint URL info [--json]\n"
        "       reco-cli --endpoint URL health [--json]\n"
        "FILE: Spotify track ids, spotify:track: URIs or open.spotify.com URLs one per line; a "
        "CSV with a header (id/track_id/uri and/or name + artists); or YourLibrary.json from a "
        "Spotify data export.";
    char **positional = calloc((size_t)argc + 1, sizeof *positional);
    int n_positional = 0;
    int rc = EXIT_USAGE;
    if (!positional)
        return EXIT_USAGE;
    enum options_result parsed = options_parse(specs, sizeof specs / sizeof specs[0], argc, argv,
                                               usage, positional, &n_positional);
    if (parsed == OPTIONS_HELP) {
        rc = 0;
        goto done;
    }
    if (parsed != OPTIONS_OK)
        goto done;
    if (!cli.endpoints || !cli.endpoints[0]) {
        fprintf(stderr, "reco-cli: --endpoint (RECO_ENDPOINTS): required\n");
        goto done;
    }
    const char *command = n_positional > 0 ? positional[0] : "";
    bool is_recommend = strcmp(command, "recommend") == 0;
    if (!(is_recommend && n_positional == 2) &&
        !((strcmp(command, "info") == 0 || strcmp(command, "health") == 0) && n_positional == 1)) {
        fprintf(stderr, "reco-cli: expected `recommend FILE`, `info` or `health` (see --help)\n");
        goto done;
    }
    char err[512];
    struct rpc_client_options rpc_options = {.resolve_interval_s = (unsigned)cli.resolve_interval};
    if (rpc_client_open_with(&cli.client, cli.endpoints, &rpc_options, err, sizeof err) != RPC_OK) {
        fprintf(stderr, "reco-cli: --endpoint: %s\n", err);
        goto done;
    }
    if (is_recommend)
        rc = cmd_recommend(&cli, positional[1]);
    else if (strcmp(command, "info") == 0)
        rc = cmd_info(&cli);
    else
        rc = cmd_health(&cli);
done:
    rpc_client_close(cli.client);
    free(positional);
    return rc;
}
