/*
 * sched.c -- binary heap of events keyed by (time, sequence); see sched.h.
 */
#include "sched.h"

#include <stdio.h>
#include <stdlib.h>

void sched_init(sched_t *s)
{
    s->h = NULL;
    s->n = 0;
    s->cap = 0;
    s->seq = 0;
}

void sched_free(sched_t *s, void (*drop)(ev_t *ev))
{
    if (drop != NULL) {
        for (size_t i = 0; i < s->n; i++) {
            drop(&s->h[i]);
        }
    }
    free(s->h);
    sched_init(s);
}

static int before(const ev_t *x, const ev_t *y)
{
    return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

void sched_push(sched_t *s, uint64_t t, int type, int a, int b, uint32_t gen,
                void *p)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        ev_t *h = realloc(s->h, cap * sizeof(*h));
        if (h == NULL) {
            fprintf(stderr, "zabsim: out of memory\n");
            exit(3);
        }
        s->h = h;
        s->cap = cap;
    }
    ev_t e = {t, s->seq++, p, gen, (uint16_t)type, (uint8_t)a, (uint8_t)b};
    size_t i = s->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &s->h[parent])) {
            break;
        }
        s->h[i] = s->h[parent];
        i = parent;
    }
    s->h[i] = e;
}

int sched_pop(sched_t *s, ev_t *out)
{
    if (s->n == 0) {
        return 0;
    }
    *out = s->h[0];
    ev_t last = s->h[--s->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= s->n) {
            break;
        }
        size_t c = l;
        if (l + 1 < s->n && before(&s->h[l + 1], &s->h[l])) {
            c = l + 1;
        }
        if (!before(&s->h[c], &last)) {
            break;
        }
        s->h[i] = s->h[c];
        i = c;
    }
    if (s->n > 0) {
        s->h[i] = last;
    }
    return 1;
}

const ev_t *sched_peek(const sched_t *s)
{
    return s->n ? &s->h[0] : NULL;
}
