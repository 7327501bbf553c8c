/* SPDX-License-Identifier: Apache-2.0 */
/* parse_int.h - internal interface between the Part 10 framing and the dataset reader. */
#ifndef DV_PARSE_INT_H
#define DV_PARSE_INT_H

#include "dicom/dicom.h"

/* Reads the elements of p[0..len) in the given encoding into ds; base is the input offset of
 * p[0] for messages. */
dv_err dcm_parse_range(dcm_file *f, const uint8_t *p, size_t len, uint64_t base, int explicit_vr,
                       int big_endian, unsigned flags, const dcm_limits *lim, dcm_ds *ds,
                       dv_errinfo *ei) DV_WUR;

#endif
