/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - the dcmvault command table and helpers shared by command implementations.
 *
 * Each command is `int cmd_NAME(int argc, char **argv)`: argv[0] is the command name, it
 * returns one of the exit codes below, prints results to stdout and errors to stderr.
 */
#ifndef DV_CLI_H
#define DV_CLI_H

#include "common/dv.h"

/* Exit codes (documented in docs/cli.md). */
enum {
    DV_EXIT_OK = 0,      /* success */
    DV_EXIT_FAIL = 1,    /* the operation failed on at least one input (e.g. a bad file) */
    DV_EXIT_USAGE = 2,   /* bad command line */
    DV_EXIT_IO = 3,      /* an output could not be written, or an input could not be opened */
    DV_EXIT_DENIED = 4,  /* refused by policy or security checks */
    DV_EXIT_INTERNAL = 5 /* out of memory or a bug */
};

int cmd_dump(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_pixels(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_print(int argc, char **argv);
int cmd_film(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_shred(int argc, char **argv);
int cmd_retention(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_deid(int argc, char **argv);
int cmd_mark(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_redact(int argc, char **argv);
int cmd_share(int argc, char **argv);

/* True when argv contains -h or --help (before a lone "--"). */
int cli_wants_help(int argc, char **argv);

/* Prints "dcmvault CMD: <formatted dv_errinfo>" for path-less errors, or
 * "dcmvault CMD: PATH: ..." when path is not NULL, to stderr. */
void cli_report(const char *cmd, const char *path, dv_err e, const dv_errinfo *ei);

/* "C,W": a window center and width, two finite numbers.  0, or -1 when s is not that. */
int cli_parse_window(const char *s, double *c, double *w);

/* Maps an error to the exit code a script sees. */
int cli_exit_code(dv_err e);

/* One vault request, the tail the vault commands share (vault_call.c): opens the vault and the
 * session (cli_vault_session, which prints why not), calls call(v, s, arg, ei), closes the
 * vault, then, when call worked and after is not NULL, calls after(s, arg, ei) (work done with
 * the vault closed), wipes the session and reports a failure as cli_report(cmd, *path, ...);
 * path is read then (&o->dir names the folder the vault was opened from), NULL names none.
 * Returns 0 or the exit code. */
struct cli_session;
struct cli_vault_opts;
struct vault;
int cli_vault_call(const char *cmd, struct cli_vault_opts *o, const char *const *path,
                   dv_err (*call)(struct vault *v, const struct cli_session *s, void *arg,
                                  dv_errinfo *ei),
                   dv_err (*after)(const struct cli_session *s, void *arg, dv_errinfo *ei),
                   void *arg);

#endif
