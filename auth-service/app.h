/* What every request handler of auth-service shares: the configuration, the Spotify settings,
 * the RPC client to reco-service, and whether audio features are still asked for. Built by
 * routes_init before mg_start and read-only afterwards, except audio_features_on. */
#ifndef MIXTAPE_AUTH_APP_H
#define MIXTAPE_AUTH_APP_H

#include <stdatomic.h>

#include "config.h"
#include "rpc.h"
#include "spotify.h"
#include "renewed.h"
#include "revoked.h"
#include "work_slots.h"

/* audio_features_on: a 403 from /v1/audio-features turns it off for the process. slots: the
 * THREADS requests that may wait on Spotify or reco-service at once. */
struct app {
    const struct auth_config *cfg;
    struct spotify_settings spotify;
    struct rpc_client *rpc;
    atomic_bool audio_features_on;
    struct work_slots slots;
    struct revoked revoked; /* sessions signed out on this front */
    struct renewed renewed; /* tokens refreshed after a streamed page's headers left */
};

#endif
