/* What reco-service tracks per RPC connection (nng pipe): when it last delivered a whole
 * request, how many replies it has waiting to be sent, the smallest clock difference seen
 * between its send stamps and our arrival (to tell how long a request sat unread), and
 * whether the service decided to close it and why. The I/O callbacks update it; the main
 * thread's sweep closes what it marks. Thread-safe: one lock. */
#ifndef MIXTAPE_PEERS_H
#define MIXTAPE_PEERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer {
    uint32_t id;         /* nng pipe id; 0: free slot */
    int64_t last_msg_us; /* monotonic: connected, or its last whole request */
    int held;            /* requests received and not yet over (queued, computing, sending) */
    int sends;           /* replies handed to nng and not yet sent */
    bool have_offset;
    int64_t offset_min_us, offset_prev_us; /* this and the previous window's minimum */
    int64_t window_start_us;
    uint32_t refused, refused_prev; /* refused requests, this and the previous window */
    const char *close_reason;       /* set: the sweep closes it */
    bool closing;                   /* marked for closing (stays until it is removed) */
};

struct peers {
    pthread_mutex_t lock;
    struct peer *slots; /* 2 * capacity: room for newcomers while marked ones close */
    size_t capacity, count, closing;
    int max_sends; /* replies waiting per connection before it is closed */
};

/* A table for at most capacity connections. Returns 0, or -1 out of memory. */
int peers_init(struct peers *t, size_t capacity, int max_sends);
void peers_destroy(struct peers *t);

/* Registers a new connection. At capacity (connections not already marked for closing), the
 * connection silent longest with no request held, if silent for at least min_silent_us, is
 * marked for closing
 * (reason "limit") to make room. Returns true, or false when there is no room (the caller
 * refuses the connection). */
bool peers_add(struct peers *t, uint32_t id, int64_t now_us, int64_t min_silent_us);

/* Forgets a connection that closed. */
void peers_remove(struct peers *t, uint32_t id);

/* Notes a whole request from id (held until peers_done) that arrived at now_us (monotonic) and now_real_us (wall
 * clock), stamped sent_real_us by its sender (0: not stamped). Returns how long it had been
 * waiting unread before arriving, in microseconds (>= 0): the clock difference now minus the
 * smallest seen on this connection in the last minute or so, which is the clocks' offset plus
 * the network's least delay. 0 for unstamped requests and unknown connections. */
int64_t peers_request(struct peers *t, uint32_t id, int64_t now_us, int64_t now_real_us,
                      int64_t sent_real_us);

/* A reply to id is about to be handed to nng. Returns false when id is gone or marked for
 * closing: the caller drops the reply instead (nng 1.5.2 can lose a reply handed to a pipe
 * while it closes, rep0_pipe_close against rep0_ctx_send). Otherwise counts it (end it with
 * peers_send_end) and marks id for closing ("send_backlog") when it already has max_sends
 * waiting: a peer that does not read its replies. */
bool peers_send_begin(struct peers *t, uint32_t id);

/* A request from id is over (answered or dropped). */
void peers_done(struct peers *t, uint32_t id);

/* A reply to id is done; timed_out marks id for closing ("send_timeout"). */
void peers_send_end(struct peers *t, uint32_t id, bool timed_out);

/* Counts a request from id refused for lack of room (RESOURCE_EXHAUSTED). */
void peers_refused(struct peers *t, uint32_t id);

/* Requests refused to id lately (this and the previous window): how hard it pushes. */
uint32_t peers_refusals(struct peers *t, uint32_t id);

/* True while id is registered (open, as far as the table knows). */
bool peers_open(struct peers *t, uint32_t id);

/* Open connections now. */
size_t peers_count(struct peers *t);

/* Marks every connection silent for idle_us or more with no request held ("idle"; 0: never),
 * then fills ids (and
 * reasons) with up to max connections marked for closing, clearing their marks. Returns how
 * many. The caller closes them (outside the lock). */
size_t peers_sweep(struct peers *t, int64_t now_us, int64_t idle_us, uint32_t *ids,
                   const char **reasons, size_t max);

#endif
