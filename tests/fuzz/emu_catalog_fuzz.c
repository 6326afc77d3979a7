/* Fuzz target: the Spotify emulator's catalog reader (CSV with header-driven columns, quoted
 * fields, Python-list artists, optional gzip) and the users it draws from what it read, against
 * arbitrary bytes. The catalog may be any file an operator points the demo at. */
#define _GNU_SOURCE /* memfd_create: the input lives in memory, not on disk */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "catalog.h"
#include "library.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("emu_catalog_fuzz", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct emu_catalog catalog;
    if (emu_catalog_load(path, &catalog) != EMU_CATALOG_OK)
        return 0;
    for (size_t i = 0; i < catalog.n_tracks; i++)
        if (emu_catalog_find(&catalog, catalog.tracks[i].id) != &catalog.tracks[i])
            __builtin_trap();
    struct emu_library library;
    emu_library_build(&catalog, 40, size, &library);
    emu_library_free(&library);
    emu_catalog_free(&catalog);
    return 0;
}
