/* Reading a model file into private memory before model_open validates it (private to the
 * model library): only regular files, the header checked before the body is read, a size cap,
 * reads in chunks that give up when SIGTERM or SIGINT is pending, and a copy of its own, so
 * the file changing or shrinking afterwards (`cp new.model live.model`) cannot touch it. */
#ifndef MIXTAPE_MODEL_LOAD_H
#define MIXTAPE_MODEL_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* The largest model file read (4 GiB: about 10 million songs; 170,000 songs take 60 MiB). */
#define MODEL_MAX_FILE_BYTES (UINT64_C(4) << 30)

/* Bytes read between two checks for a pending stop signal. */
#define MODEL_LOAD_CHUNK (UINT64_C(8) << 20)

/* Reads path whole into a fresh private anonymous mapping (*bytes, *len; at least one byte;
 * made read-only once read), to be released with model_load_release. Refuses, with a one-line
 * reason in err naming the file and the limit:
 *   - anything but a regular file (FIFO, device, directory, socket): MODEL_ERR_IO, without
 *     blocking on a FIFO;
 *   - a file over max_bytes: MODEL_ERR_IO;
 *   - a header with a bad magic (MODEL_ERR_FOREIGN), another format version or byte order
 *     (MODEL_ERR_VERSION) or a length that is not the file's (MODEL_ERR_TRUNCATED /
 *     MODEL_ERR_CORRUPT), before reading the rest;
 *   - SIGTERM or SIGINT pending on the calling thread (blocked, as reco-service's main thread
 *     keeps them for sigwait) between two chunks: MODEL_ERR_IO, the signal left pending;
 *   - a file that shrank or grew while read: MODEL_ERR_IO.
 * Blocks on disk reads only. Thread-safe. */
enum model_status model_load_file(const char *path, uint64_t max_bytes, unsigned char **bytes,
                                  size_t *len, char *err, size_t err_len);

/* Releases what model_load_file returned. NULL-safe. */
void model_load_release(unsigned char *bytes, size_t len);

#endif
