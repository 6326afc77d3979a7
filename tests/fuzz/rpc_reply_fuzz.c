/* Fuzz target: what auth-service and reco-cli do with a reply from reco-service: the Reply
 * envelope decode with its size limit, then the payload through the shared client decoder
 * (reco_rpc_decode_reply, which every client uses) and as the Health and Info replies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reco.pb-c.h"
#include "reco_rpc.h"
#include "rpc_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk_recommend(const Mixtape__Reco__RecommendReply *r)
{
    size_t sum = 0;
    for (size_t i = 0; i < r->n_picks; i++)
        sum += strlen(r->picks[i]->id) + strlen(r->picks[i]->name);
    for (size_t i = 0; i < r->n_clusters; i++)
        sum += r->clusters[i]->label ? strlen(r->clusters[i]->label) : 0;
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpc_reply reply = {0};
    char err[256];
    const uint8_t *payload = data;
    size_t payload_len = size;
    if (rpc_reply_decode(data, size, 1u << 20, &reply, err, sizeof err) == RPC_OK) {
        payload = reply.payload;
        payload_len = reply.payload_len;
    }
    volatile size_t sink = 0;
    Mixtape__Reco__RecommendReply *rec =
        mixtape__reco__recommend_reply__unpack(NULL, payload_len, payload);
    if (rec) {
        sink += walk_recommend(rec);
        mixtape__reco__recommend_reply__free_unpacked(rec, NULL);
    }
    reco_rpc_reply_free(reco_rpc_decode_reply(payload, payload_len));
    Mixtape__Reco__HealthReply *health =
        mixtape__reco__health_reply__unpack(NULL, payload_len, payload);
    if (health) {
        sink += health->model_version ? strlen(health->model_version) : 0;
        mixtape__reco__health_reply__free_unpacked(health, NULL);
    }
    Mixtape__Reco__InfoReply *info = mixtape__reco__info_reply__unpack(NULL, payload_len, payload);
    if (info)
        mixtape__reco__info_reply__free_unpacked(info, NULL);
    (void)sink;
    rpc_reply_clear(&reply);
    return 0;
}
