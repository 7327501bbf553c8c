/* SPDX-License-Identifier: Apache-2.0 */
/* banned.h - functions that are easy to misuse on untrusted input become compile errors.
 * Every project .c file includes it last, after the system headers (CI checks this). */
#ifndef DV_BANNED_H
#define DV_BANNED_H

#define DV_BANNED(f) sorry_##f##_is_banned_in_dcmvault

#undef strcpy
#define strcpy(x, y) DV_BANNED(strcpy)
#undef strcat
#define strcat(x, y) DV_BANNED(strcat)
#undef sprintf
#define sprintf(...) DV_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) DV_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) DV_BANNED(strtok)
#undef gets
#define gets(x) DV_BANNED(gets)
#undef atoi
#define atoi(x) DV_BANNED(atoi)
#undef mktemp
#define mktemp(x) DV_BANNED(mktemp)

#endif
