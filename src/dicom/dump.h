/* SPDX-License-Identifier: Apache-2.0 */
/* dump.h - text listing of a dataset in DCMTK dcmdump's layout. */
#ifndef DV_DUMP_H
#define DV_DUMP_H

#include <stdio.h>

#include "dicom/dicom.h"

#define DCM_DUMP_ALL 0x1u /* print long values completely (dcmdump +L) */

/* Appends the listing of f (meta header, then dataset) to out.  Values are printed as stored:
 * a caller that shows them to a person decides about character sets and about PHI. */
dv_err dcm_dump(const dcm_file *f, unsigned flags, dv_buf *out) DV_WUR;

/* The same, written to sink as it goes (memory stays flat however long the listing). */
dv_err dcm_dump_file(const dcm_file *f, unsigned flags, FILE *sink) DV_WUR;

/* Value multiplicity of an element as dcmdump counts it. */
unsigned dcm_elem_vm(const dcm_elem *el);

/* Dictionary keyword of a tag, "PrivateCreator" / "Unknown Tag & Data" for private tags. */
const char *dcm_tag_keyword(uint32_t tag);

#endif
