/* Allocation wrappers that abort with one message when memory runs out. For small internal
 * allocations only (a struct, a copy of a name, a reply we are about to send): never for a
 * size taken from input (a request, a file, a row count) unless a hard cap was checked first. */
#ifndef MIXTAPE_XALLOC_H
#define MIXTAPE_XALLOC_H

#include <stddef.h>
#include <stdlib.h>

/* Like malloc, but a size of 0 allocates 1 byte, and failure prints "out of memory" to stderr
 * and aborts. Never returns NULL; the caller frees. Thread-safe. */
void *xmalloc(size_t size) __attribute__((returns_nonnull, malloc));

/* Like calloc (zeroed, n * size checked for overflow), with 0 counted as 1 and the same abort
 * on failure. Never returns NULL; the caller frees. Thread-safe. */
void *xcalloc(size_t n, size_t size) __attribute__((returns_nonnull, malloc));

/* Like realloc (ptr may be NULL), with 0 counted as 1 and the same abort on failure; ptr is
 * then never left dangling. Never returns NULL; the caller frees. Thread-safe. */
void *xrealloc(void *ptr, size_t size) __attribute__((returns_nonnull));

/* A copy of the NUL-terminated text, which must not be NULL; aborts on failure like xmalloc.
 * Never returns NULL; the caller frees. Thread-safe. */
char *xstrdup(const char *text) __attribute__((returns_nonnull, malloc));

#if defined(__clang_analyzer__) && !defined(MIXTAPE_XALLOC_DEFINITIONS)
/* clang's static analyzer (clang-tidy) does not see into xalloc.c: tell it that a NULL never
 * comes back, so it does not follow paths that cannot happen. Not compiled into anything. */
static inline void *xalloc_analyzer_nonnull(void *p)
{
    if (!p)
        abort();
    return p;
}
#define xmalloc(size)       xalloc_analyzer_nonnull(xmalloc(size))
#define xcalloc(n, size)    xalloc_analyzer_nonnull(xcalloc(n, size))
#define xrealloc(ptr, size) xalloc_analyzer_nonnull(xrealloc(ptr, size))
#define xstrdup(text)       ((char *)xalloc_analyzer_nonnull(xstrdup(text)))
#endif

#endif
