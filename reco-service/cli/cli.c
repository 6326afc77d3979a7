/* reco-cli: talks to reco-service through the same client library as the web front.
 *   reco-cli --endpoint URL[,URL...] recommend FILE [-n N] [--json]
 *   reco-cli --endpoint URL info
 *   reco-cli --endpoint URL health
 * FILE holds saved tracks as ids / URIs / URLs, a CSV, or a Spotify export's YourLibrary.json
 * (saved_file.h), so a playlist can be made offline. Exit 0 on success, 1 when the service
 * answers with an error or cannot be reached, 2 on a usage or input error. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "reco.pb-c.h"
#include "recommend.h"
#include "rpc.h"
#include "saved_file.h"

#define EXIT_RPC   1
#define EXIT_USAGE 2

struct cli {
    const char *endpoints;
    long long n, timeout_ms, max_per_artist, variety;
    const char *ranking;
    bool json;
    struct rpc_client *client;
};

/* Calls a method; on any status but OK prints one line and returns false. */
static bool call(struct cli *cli, const char *method, const uint8_t *request, size_t len,
                 uint8_t **reply, size_t *reply_len)
{
    char *message = NULL;
    uint64_t id = 0;
    *reply = NULL;
    *reply_len = 0;
    enum rpc_code code = rpc_call(cli->client, method, request, len, (uint32_t)cli->timeout_ms,
                                  reply, reply_len, &message, &id);
    if (code != RPC_OK) {
        fprintf(stderr, "reco-cli: %s: %s: %s\n", method, rpc_code_name(code),
                message ? message : "(no message)");
        free(message);
        return false;
    }
    free(message);
    return true;
}

static int ranking_from_name(const char *name, Mixtape__Reco__Ranking *out)
{
    static const struct {
        const char *name;
        Mixtape__Reco__Ranking value;
    } names[] = {
        {"default", MIXTAPE__RECO__RANKING__RANKING_DEFAULT},
        {"mean", MIXTAPE__RECO__RANKING__RANKING_MEAN_COSINE},
        {"centroid", MIXTAPE__RECO__RANKING__RANKING_CENTROID_COSINE},
        {"neighbours", MIXTAPE__RECO__RANKING__RANKING_NEAREST_NEIGHBOURS},
        {"votes", MIXTAPE__RECO__RANKING__RANKING_NEIGHBOUR_VOTES},
        {"votes-artists", MIXTAPE__RECO__RANKING__RANKING_VOTES_AND_ARTISTS},
        {"mean-artists", MIXTAPE__RECO__RANKING__RANKING_MEAN_AND_ARTISTS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].value;
            return 0;
        }
    return -1;
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

static void print_recommend_table(const Mixtape__Reco__RecommendReply *reply)
{
    printf("%-4s  %-40s  %-28s  %-4s  %-7s  %s\n", "rank", "title", "artists", "year", "cluster",
           "because you saved");
    for (size_t i = 0; i < reply->n_picks; i++) {
        const Mixtape__Reco__Pick *p = reply->picks[i];
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
        printf("  %-7u  %s\n", p->cluster,
               p->because_name && p->because_name[0] ? p->because_name : "-");
    }
    const Mixtape__Reco__MatchStats *s = reply->stats;
    printf("\nmatched %u of %u saved tracks (id %u, isrc %u, title %u, features %u; unmatched "
           "%u); model %s\n",
           s->saved - s->unmatched, s->saved, s->by_id, s->by_isrc, s->by_title, s->by_features,
           s->unmatched, reply->model_version ? reply->model_version : "?");
    printf("clusters:");
    for (size_t c = 0; c < reply->n_clusters; c++)
        printf(" %u (saved %u, picks %u)%s", reply->clusters[c]->cluster, reply->clusters[c]->saved,
               reply->clusters[c]->slots, c + 1 < reply->n_clusters ? "," : "\n");
    if (reply->n_clusters == 0)
        printf(" none\n");
}

static char *recommend_json(const Mixtape__Reco__RecommendReply *reply)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *tracks = cJSON_AddArrayToObject(root, "tracks");
    for (size_t i = 0; i < reply->n_picks; i++) {
        const Mixtape__Reco__Pick *p = reply->picks[i];
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
        cJSON_AddItemToArray(tracks, t);
    }
    const Mixtape__Reco__MatchStats *s = reply->stats;
    cJSON *stats = cJSON_AddObjectToObject(root, "stats");
    cJSON_AddNumberToObject(stats, "saved", s->saved);
    cJSON_AddNumberToObject(stats, "by_id", s->by_id);
    cJSON_AddNumberToObject(stats, "by_isrc", s->by_isrc);
    cJSON_AddNumberToObject(stats, "by_title", s->by_title);
    cJSON_AddNumberToObject(stats, "by_features", s->by_features);
    cJSON_AddNumberToObject(stats, "unmatched", s->unmatched);
    cJSON *clusters = cJSON_AddArrayToObject(root, "clusters");
    for (size_t c = 0; c < reply->n_clusters; c++) {
        cJSON *share = cJSON_CreateObject();
        cJSON_AddNumberToObject(share, "cluster", reply->clusters[c]->cluster);
        cJSON_AddNumberToObject(share, "saved", reply->clusters[c]->saved);
        cJSON_AddNumberToObject(share, "slots", reply->clusters[c]->slots);
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
    Mixtape__Reco__SavedTrack *tracks = NULL;
    Mixtape__Reco__SavedTrack **track_ptrs = NULL;
    uint8_t *request = NULL, *reply_bytes = NULL;
    size_t reply_len = 0;
    Mixtape__Reco__RecommendReply *reply = NULL;
    char err[512];

    Mixtape__Reco__Ranking ranking;
    if (ranking_from_name(cli->ranking, &ranking) != 0) {
        fprintf(stderr,
                "reco-cli: --ranking: '%s' is not default, mean, centroid, neighbours, votes, "
                "votes-artists or mean-artists\n",
                cli->ranking);
        goto done;
    }
    if (saved_file_read(path, &list, err, sizeof err) != 0) {
        fprintf(stderr, "reco-cli: %s\n", err);
        goto done;
    }
    tracks = calloc(list.n, sizeof *tracks);
    track_ptrs = calloc(list.n, sizeof *track_ptrs);
    if (!tracks || !track_ptrs) {
        fprintf(stderr, "reco-cli: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < list.n; i++) {
        mixtape__reco__saved_track__init(&tracks[i]);
        tracks[i].id = list.items[i].id;
        tracks[i].name = list.items[i].name;
        tracks[i].artists = list.items[i].artists;
        tracks[i].n_artists = list.items[i].n_artists;
        track_ptrs[i] = &tracks[i];
    }
    Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    req.saved = track_ptrs;
    req.n_saved = list.n;
    req.has_n = 1;
    req.n = (uint32_t)cli->n;
    req.has_variety = cli->variety != 0;
    req.variety = (uint64_t)cli->variety;
    req.has_max_per_artist = cli->max_per_artist != 0;
    req.max_per_artist = (uint32_t)cli->max_per_artist;
    req.has_ranking = 1;
    req.ranking = ranking;
    size_t len = mixtape__reco__recommend_request__get_packed_size(&req);
    request = malloc(len ? len : 1);
    if (!request) {
        fprintf(stderr, "reco-cli: out of memory\n");
        goto done;
    }
    mixtape__reco__recommend_request__pack(&req, request);
    rc = EXIT_RPC;
    if (!call(cli, "Recommend", request, len, &reply_bytes, &reply_len))
        goto done;
    reply = mixtape__reco__recommend_reply__unpack(NULL, reply_len, reply_bytes);
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
    if (reply)
        mixtape__reco__recommend_reply__free_unpacked(reply, NULL);
    free(reply_bytes);
    free(request);
    free(tracks);
    free(track_ptrs);
    saved_list_free(&list);
    return rc;
}

static int cmd_info(struct cli *cli)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!call(cli, "Info", NULL, 0, &bytes, &len))
        return EXIT_RPC;
    Mixtape__Reco__InfoReply *info = mixtape__reco__info_reply__unpack(NULL, len, bytes);
    free(bytes);
    if (!info) {
        fprintf(stderr, "reco-cli: Info: the reply is not an InfoReply\n");
        return EXIT_RPC;
    }
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
        char *text = cJSON_PrintUnformatted(root);
        puts(text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("model_version  %s\ntracks         %u\nids            %u\nk              %u\n"
               "source         %s\nbuilt_unix     %llu\nfeatures      ",
               info->model_version, info->tracks, info->ids, info->k,
               info->source ? info->source : "-", (unsigned long long)info->built_unix);
        for (size_t f = 0; f < info->n_features; f++)
            printf(" %s", info->features[f]);
        printf("\n");
    }
    mixtape__reco__info_reply__free_unpacked(info, NULL);
    return 0;
}

static int cmd_health(struct cli *cli)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (!call(cli, "Health", NULL, 0, &bytes, &len))
        return EXIT_RPC;
    Mixtape__Reco__HealthReply *health = mixtape__reco__health_reply__unpack(NULL, len, bytes);
    free(bytes);
    if (!health) {
        fprintf(stderr, "reco-cli: Health: the reply is not a HealthReply\n");
        return EXIT_RPC;
    }
    bool serving = health->serving;
    if (cli->json)
        printf("{\"serving\":%s,\"uptime_ms\":%llu,\"requests\":%llu,\"model_version\":\"%s\"}\n",
               serving ? "true" : "false", (unsigned long long)health->uptime_ms,
               (unsigned long long)health->requests,
               health->model_version ? health->model_version : "");
    else
        printf("serving=%s uptime_ms=%llu requests=%llu model_version=%s\n",
               serving ? "true" : "false", (unsigned long long)health->uptime_ms,
               (unsigned long long)health->requests,
               health->model_version ? health->model_version : "-");
    mixtape__reco__health_reply__free_unpacked(health, NULL);
    return serving ? 0 : EXIT_RPC;
}

int main(int argc, char **argv)
{
    struct cli cli = {0};
    const struct option_spec specs[] = {
        {"endpoint", 'e', "RECO_ENDPOINTS", OPTION_STRING, NULL, 0, 0,
         "reco-service NNG URL(s), comma-separated (required)", &cli.endpoints},
        {"n", 'n', NULL, OPTION_INT, "50", 1, RECO_MAX_N, "playlist length (recommend)", &cli.n},
        {"json", 0, NULL, OPTION_BOOL, "false", 0, 0, "print JSON instead of a table", &cli.json},
        {"timeout-ms", 't', "RECO_TIMEOUT_MS", OPTION_INT, "10000", 1, 600000,
         "deadline of each call", &cli.timeout_ms},
        {"variety", 0, NULL, OPTION_INT, "0", 0, 9007199254740991.0,
         "0: the canonical playlist; another number: a different, equally fitting one",
         &cli.variety},
        {"max-per-artist", 0, NULL, OPTION_INT, "0", 0, 1000,
         "songs per primary artist (0: the service default, 3)", &cli.max_per_artist},
        {"ranking", 0, NULL, OPTION_STRING, "default", 0, 0,
         "default, mean, centroid, neighbours, votes, votes-artists or mean-artists", &cli.ranking},
    };
    static const char usage[] =
        "reco-cli --endpoint URL[,URL...] recommend FILE [-n N] [--json]\n"
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
    if (rpc_client_open(&cli.client, cli.endpoints, err, sizeof err) != RPC_OK) {
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
