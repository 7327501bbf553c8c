/* SPDX-License-Identifier: Apache-2.0 */
/* phash_int.h - schema version 4 of the SQLite index (sealed perceptual hashes), for sqlite.c
 * (src/index only). */
#ifndef DV_INDEX_PHASH_INT_H
#define DV_INDEX_PHASH_INT_H

#include "index/index.h"

/* Schema version 3 -> 4: the image_hash table and the trigger that drops a hash when its
 * instance is replaced, inside the caller's transaction (phash_sqlite.c). */
dv_err index_sq_phash_migrate(index_db *db, dv_errinfo *ei);

#endif
