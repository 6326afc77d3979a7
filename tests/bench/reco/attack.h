/* The hostile load of `reco-bench hostile` (issue 12): raw SP-over-TCP connections, req0
 * spoken by hand, that each pipeline copies of one request and never read a reply, coming
 * back whenever the service cuts them off. And `reco-bench cores`: how much CPU the machine
 * gives right now. */
#ifndef MIXTAPE_BENCH_ATTACK_H
#define MIXTAPE_BENCH_ATTACK_H

#include <stddef.h>
#include <stdint.h>

struct attack;

/* Starts a thread that keeps `clients` connections to endpoint (one tcp://IPv4:PORT), each
 * sending `pipeline` copies of envelope (an encoded mixtape.rpc.Request) and reading nothing.
 * Returns the attack, or NULL with a line on stderr. Stop it with attack_stop. */
struct attack *attack_start(const char *endpoint, const uint8_t *envelope, size_t len,
                            long long clients, long long pipeline);

/* Stops and frees the attack; *sent gets the requests sent whole, *reconnects how often a
 * connection was cut off and made again. Blocks until its thread has ended. */
void attack_stop(struct attack *attack, size_t *sent, size_t *reconnects);

/* Spins `threads` threads (at most 64) for `seconds` and returns the process's CPU time over
 * the wall time: 2.0 on an idle 2-core machine. -1 if a thread could not start. Blocks. */
double cores_measure(int threads, double seconds);

#endif
