/* SPDX-License-Identifier: Apache-2.0 */
/* session.c - the CLI's session: where its token lives, reading secrets from files or the
 * terminal, and the request context every vault command passes.
 *
 * The token file is $DCMVAULT_SESSION, else ~/.dcmvault/session-<16 hex of BLAKE2b of the
 * vault's absolute path> (folder 0700); it is written 0600 and refused when group or others
 * can read it.  It holds only the session token (64 hex digits): the vault stores its hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "access/access.h"
#include "cli/cli.h"
#include "cli/cmd_access.h"

#include "common/banned.h"

int cli_session_path(const char *vault_dir, char *out, size_t cap)
{
    const char *env = getenv("DCMVAULT_SESSION"), *home = getenv("HOME");
    char abs[4096];
    uint8_t h[8];
    char hex[17];
    int n;

    if (env && env[0]) {
        n = snprintf(out, cap, "%s", env);
        return (n < 0 || (size_t)n >= cap) ? -1 : 0;
    }
    if (!home || !home[0] || !realpath(vault_dir, abs))
        return -1;
    crypto_generichash(h, sizeof(h), (const uint8_t *)abs, strlen(abs), NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    n = snprintf(out, cap, "%s/.dcmvault/session-%s", home, hex);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int cli_session_save(const char *path, const char *token)
{
    char dir[4096];
    char *slash;
    int fd, ok;
    size_t n = strlen(token);

    (void)snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return -1;
    }
    (void)unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ok = fchmod(fd, 0600) == 0 && write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
         fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* Reads the first line of a file (at most cap - 1 bytes) without its newline. */
int cli_read_secret_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    int ok;

    out[0] = '\0';
    if (!f)
        return -1;
    ok = fgets(out, (int)cap, f) != NULL;
    (void)fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return ok ? 0 : -1;
}

int cli_prompt_secret(const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO), ok;

    out[0] = '\0';
    if (!tty)
        return -1;
    fprintf(stderr, "%s", prompt);
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    ok = fgets(out, (int)cap, stdin) != NULL;
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
    out[strcspn(out, "\r\n")] = '\0';
    return ok ? 0 : -1;
}

int cli_session_ctx(const char *cmd, const char *vault_dir, const char *purpose, cli_session *s)
{
    struct stat st;
    char path[4096];

    memset(s, 0, sizeof(*s));
    if (cli_session_path(vault_dir, path, sizeof(path)) != 0) {
        fprintf(stderr, "dcmvault %s: no session file location (set HOME or DCMVAULT_SESSION)\n",
                cmd);
        return DV_EXIT_USAGE;
    }
    if (stat(path, &st) != 0 || cli_read_secret_file(path, s->token, sizeof(s->token)) != 0) {
        fprintf(stderr, "dcmvault %s: not logged in: run dcmvault login first\n", cmd);
        return DV_EXIT_DENIED;
    }
    if (st.st_mode & 077) {
        fprintf(stderr, "dcmvault %s: the session file is readable by others (chmod 600 %s)\n", cmd,
                path);
        return DV_EXIT_DENIED;
    }
    s->ctx.user = "session";
    s->ctx.role = "session";
    s->ctx.purpose = purpose && purpose[0] ? purpose : "default";
    s->ctx.session = s->token;
    s->ctx.client = "local";
    return DV_EXIT_OK;
}

const char *cli_request_purpose(const cli_session *s)
{
    access_purpose p;

    if (strcmp(s->ctx.purpose, "default") == 0)
        return s->session_purpose;
    return access_purpose_from_name(s->ctx.purpose, &p) == 0 ? access_purpose_name(p) : "";
}

void cli_session_wipe(cli_session *s)
{
    sodium_memzero(s->token, sizeof(s->token));
}
