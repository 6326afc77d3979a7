/* Interning label strings (label_table.h): the slot array doubles (from 1024) before it would
 * be more than half full, the text array doubles (from 256) as indices are handed out. */
#include "label_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool grow_slots(struct label_table *t)
{
    uint64_t n_slots = t->n_slots ? t->n_slots * 2 : 1024;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return false;
    for (uint32_t i = 0; i < t->n; i++) {
        uint64_t s = label_table_hash(t->text[i]) & (n_slots - 1);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return true;
}

/* The slot of text: its own, or the free one where it would go (the table has slots, and at
 * least half of them are free). */
static uint64_t probe(const struct label_table *t, const char *text)
{
    uint64_t mask = t->n_slots - 1;
    uint64_t s = label_table_hash(text) & mask;
    while (t->slots[s] && strcmp(t->text[t->slots[s] - 1], text) != 0)
        s = (s + 1) & mask;
    return s;
}

uint32_t label_table_intern(struct label_table *t, const char *text)
{
    if ((uint64_t)(t->n + 1) * 2 > t->n_slots && !grow_slots(t))
        return UINT32_MAX;
    uint64_t s = probe(t, text);
    if (t->slots[s])
        return t->slots[s] - 1;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 256;
        const char **grown = realloc(t->text, cap * sizeof *grown);
        if (!grown)
            return UINT32_MAX;
        t->text = grown;
        t->cap = cap;
    }
    t->text[t->n] = text;
    t->slots[s] = ++t->n;
    return t->n - 1;
}

uint32_t label_table_find(const struct label_table *t, const char *text)
{
    if (t->n_slots == 0)
        return UINT32_MAX;
    uint64_t s = probe(t, text);
    return t->slots[s] ? t->slots[s] - 1 : UINT32_MAX;
}

void label_table_free(struct label_table *t)
{
    free(t->text);
    free(t->slots);
    *t = (struct label_table){0};
}
