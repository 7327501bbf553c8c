/* SPDX-License-Identifier: Apache-2.0 */
/* arena.c - bump allocator: blocks of at least 64 KiB, large requests get their own block. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define ARENA_BLOCK 65536u
#define ARENA_ALIGN 16u

struct dv_arena_block {
    dv_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t off;  /* next free byte */
    _Alignas(16) unsigned char data[];
};

void dv_arena_init(dv_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void dv_arena_release(dv_arena *a)
{
    dv_arena_block *b, *n;

    if (!a)
        return;
    for (b = a->head; b; b = n) {
        n = b->next;
        free(b);
    }
    a->head = NULL;
    a->used = 0;
}

int dv_arena_over(const dv_arena *a, size_t n)
{
    return n > a->max || a->used > a->max - n;
}

void *dv_arena_alloc(dv_arena *a, size_t n)
{
    dv_arena_block *b = a->head;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    if (need < n || dv_arena_over(a, need))
        return NULL;
    if (!b || b->size - b->off < need) {
        size_t sz = need > ARENA_BLOCK ? need : ARENA_BLOCK;

        b = dv_fault_hit() ? NULL : malloc(sizeof(*b) + sz);
        if (!b)
            return NULL;
        b->size = sz;
        b->off = 0;
        if (need > ARENA_BLOCK / 4 && a->head) {
            /* a large block goes behind the current one, which keeps its free space */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    p = b->data + b->off;
    b->off += need;
    a->used += need;
    memset(p, 0, n);
    return p;
}

void *dv_arena_dup(dv_arena *a, const void *p, size_t n)
{
    void *q = dv_arena_alloc(a, n ? n : 1);

    if (q && n)
        memcpy(q, p, n);
    return q;
}
