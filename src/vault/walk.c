/* SPDX-License-Identifier: Apache-2.0 */
/* walk.c - `import PATH...`: files, folders (recursively, in name order, symlinks inside a
 * folder not followed, at most 64 levels) and DICOMDIRs given as a path (the files their
 * directory records name in Referenced File ID (0004,1500), relative to the DICOMDIR's folder;
 * ".." and absolute components are refused; components are matched case-insensitively when
 * the exact name is absent, as media written by other systems often differ in case).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dicom/dicom.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define WALK_DEPTH_MAX   64
#define DIR_RECORDS_MAX  1000000u
#define TAG_DIR_RECORDS  DCM_TAG(0x0004, 0x1220)
#define TAG_REF_FILE_ID  DCM_TAG(0x0004, 0x1500)
#define TAG_MS_SOP_CLASS DCM_TAG(0x0002, 0x0002)

typedef struct walk {
    vault *v;
    const vault_ctx *ctx;
    unsigned flags;
} walk;

static dv_err reject_errno(walk *w, const char *path, const char *what)
{
    dv_errinfo ei;
    int err = errno;

    dv_errinfo_clear(&ei);
    (void)dv_fail(&ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "%s: %s", what, strerror(err));
    return vault_batch_reject(w->v, path, DV_EIO, &ei);
}

static dv_err import_file(walk *w, const char *path, int in_walk, dv_errinfo *ei)
{
    dv_errinfo rei;
    dv_buf b;
    dv_err e;

    dv_errinfo_clear(&rei);
    dv_buf_init(&b, VAULT_IMPORT_MAX);
    e = vault_read_file(path, VAULT_IMPORT_MAX, &b, &rei);
    if (e) {
        dv_buf_release(&b);
        return vault_batch_reject(w->v, path, e, &rei);
    }
    e = vault_batch_add(w->v, w->ctx, path, b.p ? b.p : (const uint8_t *)"", b.len, w->flags,
                        in_walk, ei);
    dv_buf_release(&b);
    return e;
}

static dv_err walk_path(walk *w, const char *path, int depth, dv_errinfo *ei);

static dv_err walk_dir(walk *w, const char *path, int depth, dv_errinfo *ei)
{
    struct dirent **list = NULL;
    char child[VAULT_PATH_MAX];
    dv_err e = DV_OK;
    int n, i;

    if (depth >= WALK_DEPTH_MAX) {
        dv_errinfo rei;

        dv_errinfo_clear(&rei);
        (void)dv_fail(&rei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "folders nested too deep");
        return vault_batch_reject(w->v, path, DV_ELIMIT, &rei);
    }
    n = scandir(path, &list, NULL, alphasort);
    if (n < 0)
        return reject_errno(w, path, "cannot list the folder");
    for (i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        int len;

        if (!e && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            len = snprintf(child, sizeof(child), "%s%s%s", path,
                           path[strlen(path) - 1] == '/' ? "" : "/", name);
            if (len > 0 && (size_t)len < sizeof(child))
                e = walk_path(w, child, depth + 1, ei);
        }
        free(list[i]);
    }
    free(list);
    return e;
}

static dv_err walk_path(walk *w, const char *path, int depth, dv_errinfo *ei)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return reject_errno(w, path, "cannot read");
    if (S_ISLNK(st.st_mode))
        return DV_OK; /* inside a folder: not followed */
    if (S_ISDIR(st.st_mode))
        return walk_dir(w, path, depth, ei);
    if (!S_ISREG(st.st_mode))
        return DV_OK;
    return import_file(w, path, 1, ei);
}

/* ---- DICOMDIR --------------------------------------------------------------------------- */

/* Finds name in folder dir: exactly, else case-insensitively.  out gets dir/name. */
static int resolve_component(const char *dir, const char *name, char *out, size_t outlen)
{
    struct dirent *de;
    DIR *d;
    int n, found = 0;

    n = snprintf(out, outlen, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outlen)
        return 0;
    if (access(out, F_OK) == 0)
        return 1;
    d = opendir(dir);
    if (!d)
        return 0;
    for (de = vault_readdir(d); !found && de; de = vault_readdir(d)) {
        if (!strcasecmp(de->d_name, name)) {
            n = snprintf(out, outlen, "%s/%s", dir, de->d_name);
            found = n > 0 && (size_t)n < outlen;
        }
    }
    (void)closedir(d);
    return found;
}

/* Builds the path of a Referenced File ID value ("DIR\FILE") relative to base. */
static int ref_path(const char *base, const dcm_elem *el, char *out, size_t outlen)
{
    char cur[VAULT_PATH_MAX], comp[VAULT_PATH_MAX];
    size_t i = 0;

    if (snprintf(cur, sizeof(cur), "%s", base) >= (int)sizeof(cur))
        return 0;
    while (i < el->len) {
        size_t start = i, n;

        while (i < el->len && el->val[i] != '\\')
            i++;
        n = i - start;
        while (n && (el->val[start + n - 1] == ' ' || el->val[start + n - 1] == 0))
            n--;
        while (n && el->val[start] == ' ') {
            start++;
            n--;
        }
        i++;
        if (!n || n >= sizeof(comp) || memchr(el->val + start, '/', n) ||
            memchr(el->val + start, 0, n))
            return 0;
        memcpy(comp, el->val + start, n);
        comp[n] = 0;
        if (!strcmp(comp, "..") || !strcmp(comp, "."))
            return 0;
        if (!resolve_component(cur, comp, out, outlen))
            return 0;
        (void)snprintf(cur, sizeof(cur), "%s", out);
    }
    return el->len > 0;
}

static dv_err walk_dicomdir(walk *w, const char *path, const dcm_file *f, dv_errinfo *ei)
{
    const dcm_elem *seq = dcm_ds_find(&f->ds, TAG_DIR_RECORDS);
    char base[VAULT_PATH_MAX], ref[VAULT_PATH_MAX];
    const char *slash = strrchr(path, '/');
    dv_err e = DV_OK;
    uint32_t i;

    if (slash)
        (void)snprintf(base, sizeof(base), "%.*s", (int)(slash - path), path);
    else
        (void)snprintf(base, sizeof(base), ".");
    if (!base[0])
        (void)snprintf(base, sizeof(base), "/");
    for (i = 0; seq && !e && i < seq->nitems && i < DIR_RECORDS_MAX; i++) {
        const dcm_elem *id = dcm_ds_find(&seq->items[i], TAG_REF_FILE_ID);

        if (!id || !id->len)
            continue;
        if (!ref_path(base, id, ref, sizeof(ref))) {
            dv_errinfo rei;

            dv_errinfo_clear(&rei);
            (void)dv_fail(&rei, DV_ENOTFOUND, id->offset, TAG_REF_FILE_ID,
                          "directory record %u names a file that is absent or not allowed", i);
            e = vault_batch_reject(w->v, path, DV_ENOTFOUND, &rei);
            continue;
        }
        e = import_file(w, ref, 1, ei);
    }
    return e;
}

/* A path given by the caller: a DICOMDIR file imports what it references. */
static dv_err walk_top(walk *w, const char *path, dv_errinfo *ei)
{
    dcm_file *f = NULL;
    struct stat st;
    dv_err e;

    if (stat(path, &st) != 0)
        return reject_errno(w, path, "cannot read");
    if (S_ISDIR(st.st_mode))
        return walk_dir(w, path, 0, ei);
    if (dcm_read_file(path, DCM_PARSE_STOP_BEFORE_PIXELS, NULL, &f, NULL) == DV_OK &&
        dcm_ds_find(&f->ds, TAG_DIR_RECORDS)) {
        e = walk_dicomdir(w, path, f, ei);
        dcm_file_free(f);
        return e;
    }
    dcm_file_free(f);
    return import_file(w, path, 0, ei);
}

dv_err vault_import_paths(vault *v, const vault_ctx *ctx, char *const *paths, size_t npaths,
                          unsigned flags, vault_walk_fn fn, void *cb, dv_errinfo *ei)
{
    walk w = {v, ctx, flags};
    dv_err e;
    size_t i;

    e = vault_door_import(v, ctx, ei);
    if (e)
        return e;
    if (index_depth(v->db) != 0)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "an import batch is open");
    v->walk_fn = fn;
    v->walk_cb = cb;
    for (i = 0; !e && i < npaths; i++)
        e = walk_top(&w, paths[i], ei);
    if (!e)
        e = vault_batch_flush(v, ei);
    v->walk_fn = NULL;
    v->walk_cb = NULL;
    return e;
}
