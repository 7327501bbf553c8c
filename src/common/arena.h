/* SPDX-License-Identifier: Apache-2.0 */
/* arena.h - bump allocator that owns every allocation of one parse or one request and frees
 * them in one call (nginx pool style).
 *
 * Invariants: the sum of bytes handed out never exceeds max; blocks form a singly linked list;
 * every pointer returned is 16-byte aligned and lives until dv_arena_release().
 */
#ifndef DV_ARENA_H
#define DV_ARENA_H

#include "dv.h"

typedef struct dv_arena_block dv_arena_block;

typedef struct dv_arena {
    dv_arena_block *head;
    size_t used; /* bytes handed out, counted against max */
    size_t max;
} dv_arena;

/* Starts an empty arena that may hand out at most max bytes in all. */
void dv_arena_init(dv_arena *a, size_t max);

/* Frees every allocation.  The arena is empty and reusable afterwards.  a may be NULL. */
void dv_arena_release(dv_arena *a);

/* Returns n zeroed bytes, or NULL when n would pass max or memory runs out (the caller
 * reports DV_ELIMIT or DV_ENOMEM; dv_arena_over() tells which). */
void *dv_arena_alloc(dv_arena *a, size_t n);

/* Copies n bytes into the arena; NULL as for dv_arena_alloc.  n == 0 returns a valid pointer. */
void *dv_arena_dup(dv_arena *a, const void *p, size_t n);

/* True when a request of n bytes would pass the arena's max. */
int dv_arena_over(const dv_arena *a, size_t n);

#endif
