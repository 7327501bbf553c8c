/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - dcmvault entry point: dispatches to one command. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"

#include "common/banned.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"dump", cmd_dump, "print the elements of DICOM files (dcmdump style, or --json)"},
    {"convert", cmd_convert, "re-encode a DICOM file in another transfer syntax"},
    {"render", cmd_render, "render a frame to PNG or JPEG with modality/VOI LUTs"},
    {"pixels", cmd_pixels, "write decoded frames as raw little-endian samples"},
    {"demo", cmd_demo, "generate synthetic studies and show what this build does"},
    {"init", cmd_init, "create a vault: folder, key, config, one administrator"},
    {"import", cmd_import, "store DICOM files, folders or DICOMDIRs in the vault, sealed"},
    {"find", cmd_find, "search the vault by patient, name, date, modality, accession, UID"},
    {"export", cmd_export, "write a study, series or instance from the vault, byte for byte"},
    {"view", cmd_view, "render a study, series or instance from the vault as PNG/JPEG images"},
    {"print", cmd_print, "print a study, series or instance to a PDF film with a serial"},
    {"film", cmd_film, "films: list outstanding ones, record a destruction"},
    {"key", cmd_key, "key rotate: re-wrap every data key under a new key-encryption key"},
    {"shred", cmd_shred, "crypto-shred a study with a signed destruction certificate"},
    {"retention", cmd_retention, "retention run: list or shred studies past their retention"},
    {"check", cmd_check, "verify every object and index record; --repair removes orphans"},
    {"login", cmd_login, "open a session (password, TOTP); other commands use it"},
    {"logout", cmd_logout, "end the session"},
    {"whoami", cmd_whoami, "the session's user, roles, purpose and second factor"},
    {"passwd", cmd_passwd, "change your password"},
    {"user", cmd_user, "accounts: add, list, disable, enable, reset; totp enrols yours"},
    {"grant", cmd_grant, "give a user or team a care relationship with a study or patient"},
    {"revoke", cmd_revoke, "end a grant"},
    {"grants", cmd_grants, "list valid grants (--mine, --user U)"},
    {"approvals", cmd_approvals, "pending requests: list, approve, deny (four eyes)"},
    {"alerts", cmd_alerts, "anomaly alerts: list, ack; lift a suspension"},
    {"breakglass", cmd_breakglass, "open a study in an emergency, with a reason (alerted)"},
    {"audit", cmd_audit, "the tamper-evident log: show, verify, prove, export, forward"},
    {"deid", cmd_deid, "de-identify files (PS3.15 Basic Profile + options), residual check"},
    {"mark", cmd_mark, "copy a DICOM/PNG/JPEG with an invisible watermark naming an event"},
    {"trace", cmd_trace, "find the watermark in a leaked image: event, bit errors, FP probability"},
    {"redact", cmd_redact, "test hook: fill burned-in text in pixel data (--pixels ocr|rules)"},
    {"share", cmd_share, "one image as a de-identified PNG/JPEG picture, burned-in text removed"},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: dcmvault COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'dcmvault COMMAND --help' describes one command.\n"
                 "exit codes: 0 ok, 1 failed on an input, 2 usage, 3 I/O, 4 denied, 5 internal\n");
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        usage(stderr);
        return DV_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return DV_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dcmvault 0.1\n");
        return DV_EXIT_OK;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "dcmvault: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return DV_EXIT_USAGE;
}
