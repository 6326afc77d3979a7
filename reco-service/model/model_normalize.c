/* Normalising titles and artist names so the same song matches across catalogs and releases:
 * case and accents folded, punctuation dropped, white space collapsed, and for titles the
 * version suffixes ("- Remastered 2011", "(Live)", "(feat. X)") removed. See model.h. */
#include "model.h"

#include <string.h>

#define WORK_LEN 2048

/* Latin-1 Supplement U+00C0..U+00FF folded to ASCII (" " for the two math signs). */
static const char *const LATIN1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  " ", "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  " ", "o", "u", "u", "u", "u", "y", "th", "y",
};

/* Latin Extended-A U+0100..U+017F, as ranges of code points that fold to one spelling. */
static const struct {
    unsigned first, last;
    const char *ascii;
} LATIN_EXT_A[] = {
    {0x100, 0x105, "a"}, {0x106, 0x10d, "c"},  {0x10e, 0x111, "d"}, {0x112, 0x11b, "e"},
    {0x11c, 0x123, "g"}, {0x124, 0x127, "h"},  {0x128, 0x131, "i"}, {0x132, 0x133, "ij"},
    {0x134, 0x135, "j"}, {0x136, 0x138, "k"},  {0x139, 0x142, "l"}, {0x143, 0x14b, "n"},
    {0x14c, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15a, 0x161, "s"},
    {0x162, 0x167, "t"}, {0x168, 0x173, "u"},  {0x174, 0x175, "w"}, {0x176, 0x178, "y"},
    {0x179, 0x17e, "z"}, {0x17f, 0x17f, "s"},
};

/* Words that mark a version suffix or a credit rather than part of the title. */
static const char *const VERSION_WORDS[] = {
    "remaster", "live",    "version",   "edit",        "mix",      "mono",        "stereo",
    "feat",     "ft",      "featuring", "with",        "acoustic", "demo",        "instrumental",
    "bonus",    "deluxe",  "single",    "radio",       "explicit", "clean",       "from",
    "recorded", "take",    "session",   "anniversary", "edition",  "extended",    "unplugged",
    "original", "reprise", "interlude", "cover",       "rework",   "re-recorded", "bootleg",
};

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static void append(char *work, size_t *n, const char *text)
{
    size_t len = strlen(text);
    if (*n + len < WORK_LEN) {
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): work is ended by fold() */
        memcpy(work + *n, text, len);
        *n += len;
    }
}

/* Lower case and fold accents into work; returns its length. Unknown non-ASCII passes as is. */
static size_t fold(const char *text, char *work)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p && n + 4 < WORK_LEN) {
        unsigned c = p[0];
        if (c < 0x80) {
            work[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
            unsigned cp = ((c & 0x1fu) << 6) | (p[1] & 0x3fu);
            const char *ascii = NULL;
            if (cp >= 0xc0 && cp <= 0xff)
                ascii = LATIN1[cp - 0xc0];
            for (size_t i = 0; !ascii && i < sizeof LATIN_EXT_A / sizeof LATIN_EXT_A[0]; i++)
                if (cp >= LATIN_EXT_A[i].first && cp <= LATIN_EXT_A[i].last)
                    ascii = LATIN_EXT_A[i].ascii;
            if (ascii) {
                append(work, &n, ascii);
            } else {
                work[n++] = (char)p[0];
                work[n++] = (char)p[1];
            }
            p += 2;
            continue;
        }
        if (c == 0xe2 && p[1] == 0x80 && (p[2] & 0xc0) == 0x80) {
            unsigned last = p[2];
            if (last == 0x93 || last == 0x94 || last == 0x90 || last == 0x91)
                work[n++] = '-'; /* dashes and hyphens */
            else if (last == 0x98 || last == 0x99)
                work[n++] = '\''; /* curly apostrophes */
            else
                work[n++] = ' '; /* curly quotes, ellipsis, other punctuation */
            p += 3;
            continue;
        }
        work[n++] = (char)c;
        p++;
    }
    work[n] = '\0';
    return n;
}

/* True when [begin, end) holds a version word at a word start. */
static bool has_version_word(const char *begin, const char *end)
{
    for (const char *w = begin; w < end; w++) {
        if (w > begin && is_alnum((unsigned char)w[-1]))
            continue;
        for (size_t i = 0; i < sizeof VERSION_WORDS / sizeof VERSION_WORDS[0]; i++) {
            size_t len = strlen(VERSION_WORDS[i]);
            if ((size_t)(end - w) >= len && memcmp(w, VERSION_WORDS[i], len) == 0)
                return true;
        }
    }
    return false;
}

/* Removes version suffixes from a folded title, in place; returns the new length. */
static size_t strip_versions(char *work, size_t n)
{
    /* "title - remastered 2011": cut at the first " - " whose tail names a version. */
    for (size_t i = 1; i + 2 < n; i++) {
        if (work[i - 1] == ' ' && work[i] == '-' && work[i + 1] == ' ' &&
            has_version_word(work + i, work + n)) {
            n = i - 1;
            break;
        }
    }
    /* "(live)", "[feat. x]": drop bracketed groups that name a version. */
    for (size_t i = 0; i < n; i++) {
        if (work[i] != '(' && work[i] != '[')
            continue;
        char close = work[i] == '(' ? ')' : ']';
        size_t j = i + 1;
        while (j < n && work[j] != close)
            j++;
        if (has_version_word(work + i + 1, work + j)) {
            size_t tail = j < n ? j + 1 : n;
            memmove(work + i, work + tail, n - tail);
            n -= tail - i;
            i--; /* look again at what moved into position i (wraps to 0 from 0) */
        }
    }
    /* "title feat. x" without brackets. */
    static const char *const CREDITS[] = {" feat. ", " feat ", " ft. ", " featuring "};
    for (size_t c = 0; c < sizeof CREDITS / sizeof CREDITS[0]; c++) {
        work[n] = '\0';
        char *at = strstr(work, CREDITS[c]);
        if (at && at > work)
            n = (size_t)(at - work);
    }
    work[n] = '\0';
    return n;
}

size_t model_normalize(const char *text, bool is_title, char *out, size_t out_len)
{
    char work[WORK_LEN + 8];
    if (out_len == 0)
        return 0;
    size_t n = fold(text ? text : "", work);
    if (is_title)
        n = strip_versions(work, n);

    size_t written = 0;
    bool pending_space = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)work[i];
        const char *piece = NULL;
        char one[2] = {(char)c, '\0'};
        if (is_alnum(c))
            piece = one;
        else if (c == '&')
            piece = "and";
        else if (c == '\'')
            continue; /* "don't" matches "dont" */
        if (!piece) {
            pending_space = written > 0;
            continue;
        }
        if (c == '&')
            pending_space = written > 0;
        size_t len = strlen(piece) + (pending_space ? 1 : 0);
        if (written + len + 1 > out_len)
            break;
        if (pending_space)
            out[written++] = ' ';
        memcpy(out + written, piece, strlen(piece));
        written += strlen(piece);
        pending_space = c == '&';
    }
    out[written] = '\0';
    return written;
}
