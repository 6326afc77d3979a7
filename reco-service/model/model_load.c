/* The safe first step of model_open (model_load.h): open without blocking, refuse what is not a
 * regular file, check the header and size before reading, read in chunks into anonymous memory
 * (checking for a pending SIGTERM between chunks), and make the copy read-only. */
#include "model_load.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "model_format.h"

static void say(char *err, size_t err_len, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(char *err, size_t err_len, const char *path, const char *fmt, ...)
{
    errbuf_set(err, err_len, "model %s: ", path);
    va_list ap;
    va_start(ap, fmt);
    errbuf_vappend(err, err_len, fmt, ap);
    va_end(ap);
}

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* The stop signal pending on this thread or process, or 0. */
static int stop_pending(void)
{
    sigset_t pending;
    if (sigpending(&pending) != 0)
        return 0;
    if (sigismember(&pending, SIGTERM) == 1)
        return SIGTERM;
    if (sigismember(&pending, SIGINT) == 1)
        return SIGINT;
    return 0;
}

/* Checks the fixed header (when the file is long enough to hold one) against the file's size,
 * so a foreign, old or mislabelled file is refused before its body is read. Files shorter than
 * a header are left to model_open's validation, which names what is missing. */
static enum model_status check_header(int fd, const char *path, uint64_t size, char *err,
                                      size_t err_len)
{
    struct mf_header header;
    if (size < sizeof header)
        return MODEL_OK;
    ssize_t got = pread(fd, &header, sizeof header, 0);
    if (got != (ssize_t)sizeof header) {
        say(err, err_len, path, "cannot read the header: %s",
            got < 0 ? strerror(errno) : "short read");
        return MODEL_ERR_IO;
    }
    if (memcmp(header.magic, MF_MAGIC, sizeof header.magic) != 0) {
        say(err, err_len, path, "not a mixtape model (bad magic)");
        return MODEL_ERR_FOREIGN;
    }
    if (header.format_version != MF_FORMAT_VERSION) {
        say(err, err_len, path,
            "format version %u, this build reads version %u (rebuild it with reco-model build)",
            header.format_version, MF_FORMAT_VERSION);
        return MODEL_ERR_VERSION;
    }
    if (header.byte_order != MF_BYTE_ORDER) {
        say(err, err_len, path, "byte order marker 0x%08x is not 0x%08x", header.byte_order,
            MF_BYTE_ORDER);
        return MODEL_ERR_VERSION;
    }
    if (header.file_len > size) {
        say(err, err_len, path, "truncated: header says %llu bytes, file has %llu",
            (unsigned long long)header.file_len, (unsigned long long)size);
        return MODEL_ERR_TRUNCATED;
    }
    if (header.file_len != size) {
        say(err, err_len, path, "header says %llu bytes, file has %llu",
            (unsigned long long)header.file_len, (unsigned long long)size);
        return MODEL_ERR_CORRUPT;
    }
    return MODEL_OK;
}

enum model_status model_load_file(const char *path, uint64_t max_bytes, unsigned char **bytes,
                                  size_t *len, char *err, size_t err_len)
{
    enum model_status status = MODEL_ERR_IO;
    unsigned char *copy = MAP_FAILED;
    size_t size = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        say(err, err_len, path, "cannot open: %s", strerror(errno));
        goto done;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        say(err, err_len, path, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        say(err, err_len, path, "%s, not a regular file (a model is a file made by reco-model)",
            file_kind(st.st_mode));
        goto done;
    }
    if (st.st_size == 0) {
        say(err, err_len, path, "empty file");
        status = MODEL_ERR_TRUNCATED;
        goto done;
    }
    status = check_header(fd, path, (uint64_t)st.st_size, err, err_len);
    if (status != MODEL_OK)
        goto done;
    status = MODEL_ERR_IO;
    if ((uint64_t)st.st_size > max_bytes || (uint64_t)st.st_size > SIZE_MAX / 2) {
        say(err, err_len, path, "file too large (%lld bytes, the limit is %llu)",
            (long long)st.st_size, (unsigned long long)max_bytes);
        goto done;
    }
    size = (size_t)st.st_size;
    copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy == MAP_FAILED) {
        say(err, err_len, path, "cannot allocate %zu bytes: %s", size, strerror(errno));
        status = MODEL_ERR_NOMEM;
        goto done;
    }
    /* Huge pages where the kernel allows them: a 50 MiB model then faults in ~25 pages, not
     * ~12,000. */
    (void)madvise(copy, size, MADV_HUGEPAGE);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    size_t used = 0;
    while (used < size) {
        int sig = stop_pending();
        if (sig) {
            say(err, err_len, path, "loading stopped by %s after %zu of %zu bytes",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", used, size);
            goto done;
        }
        size_t want = size - used < MODEL_LOAD_CHUNK ? size - used : (size_t)MODEL_LOAD_CHUNK;
        ssize_t got = pread(fd, copy + used, want, (off_t)used);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0) {
            say(err, err_len, path, "cannot read: %s", strerror(errno));
            goto done;
        }
        if (got == 0) {
            say(err, err_len, path, "the file shrank to %zu bytes while being read (was %zu)", used,
                size);
            goto done;
        }
        used += (size_t)got;
    }
    struct stat after;
    if (fstat(fd, &after) != 0 || after.st_size != st.st_size) {
        say(err, err_len, path, "the file changed size while being read");
        goto done;
    }
    if (mprotect(copy, size, PROT_READ) != 0) {
        say(err, err_len, path, "cannot protect the copy: %s", strerror(errno));
        goto done;
    }
    *bytes = copy;
    *len = size;
    copy = MAP_FAILED;
    status = MODEL_OK;
done:
    if (copy != MAP_FAILED)
        munmap(copy, size);
    if (fd >= 0)
        close(fd);
    return status;
}

void model_load_release(unsigned char *bytes, size_t len)
{
    if (bytes)
        munmap(bytes, len);
}
