/* Live discovery for the RPC client (issue 14): an endpoint entry that names a host
 * ("tcp://reco-headless:7100") stands for every address the name resolves to, like a
 * Kubernetes headless Service. Parsing an entry, looking a name up (getaddrinfo; blocks, so the
 * client calls it only on its resolver thread) and diffing two resolved sets. */
#ifndef MIXTAPE_RESOLVE_H
#define MIXTAPE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#define RESOLVE_MAX_URL   512u
#define RESOLVE_MAX_HOST  256u
#define RESOLVE_MAX_ADDRS 32u /* addresses taken from one name */

/* Fills host and port (NUL-terminated) from a "tcp://HOST:PORT" entry whose HOST is a name,
 * not an address literal, and returns true; returns false for everything else (an address,
 * ipc://, inproc://, ...), which the client dials as given. */
bool resolve_entry_name(const char *url, char host[RESOLVE_MAX_HOST], char port[16]);

/* Looks host up (IPv4 and IPv6, TCP) and writes up to max URLs "tcp://ADDR:PORT" (IPv6 in
 * brackets), sorted and without duplicates, into urls. Returns how many, or -1 with a reason
 * in err when the name does not resolve. Blocks for as long as the system resolver takes. */
int resolve_lookup(const char *host, const char *port, char urls[][RESOLVE_MAX_URL], size_t max,
                   char *err, size_t err_len);

/* Compares two sorted, duplicate-free URL sets: for each of old's n_old entries
 * gone[i] = true when it is not in fresh; for each of fresh's n_fresh entries
 * added[j] = true when it is not in old. Returns the number of changes. */
size_t resolve_diff(char old[][RESOLVE_MAX_URL], size_t n_old, char fresh[][RESOLVE_MAX_URL],
                    size_t n_fresh, bool *gone, bool *added);

#endif
