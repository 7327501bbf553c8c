/* SPDX-License-Identifier: Apache-2.0 */
/* mark_px.h - pixel layouts the export's watermark reaches through a conversion (internal to
 * src/vault/ and its unit tests): PALETTE COLOR through its palette to 8-bit RGB, 1 bit
 * allocated to 8 bits (0 -> 0, 1 -> 255), YBR_FULL 8-bit to RGB; and the Image Pixel attributes
 * a converted copy must then carry.
 *
 * Invariant of vault_palette: for each channel c (red, green, blue), tab[c] holds n[c]
 * (1 .. 65536) 8-bit entries, and a stored value v maps to tab[c][clamp(v - first[c], 0,
 * n[c] - 1)] (PS3.3 C.7.6.3.1.5: values below the first mapped take the first entry, values
 * past the table its last).
 */
#ifndef DV_VAULT_MARK_PX_H
#define DV_VAULT_MARK_PX_H

#include "common/dv.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

typedef struct vault_palette {
    uint8_t *tab[3]; /* malloc'd */
    uint32_t n[3];
    int32_t first[3];
} vault_palette;

/* Reads the red, green and blue Palette Color LUTs of ds: descriptors (0028,1101-1103) with data
 * (0028,1201-1203) or Segmented data (0028,1221-1223; discrete, linear and indirect segments).
 * Number of entries 0 means 65536; the first value mapped is signed when signed_px
 * (PixelRepresentation 1) or its VR is SS.  Entries of 8 bits may be packed in bytes or one per
 * 16-bit word; 16-bit entries give their high byte, unless every entry of the three tables
 * fits in 8 bits (8-bit values under a 16-bit descriptor, as DCMTK also reads them): then the
 * low byte.  DV_EMALFORMED naming the tag for a missing or broken LUT (every length and
 * segment is checked before use), DV_ENOMEM.  On failure *pal is empty. */
dv_err vault_palette_read(const dcm_ds *ds, int signed_px, vault_palette *pal,
                          dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* Frees the tables; pal may be NULL. */
void vault_palette_release(vault_palette *pal);

/* Turns a decoded frame into a layout the mark embeds in, in place (fr->data may be replaced;
 * fr->len and fr->pi follow):
 *  - PALETTE COLOR, 1 sample of 8 or 16 bits -> RGB, 8 bits, through pal (required);
 *  - 1 bit allocated -> 8 bits allocated and stored, high bit 7 (0 -> 0, 1 -> 255);
 *  - YBR_FULL, 8 bits -> RGB;
 * anything else is left as it is.  DV_EINVAL for a palette frame without pal or a frame
 * shorter than its geometry, DV_ENOMEM. */
dv_err vault_mark_px_convert(dcm_frame *fr, const vault_palette *pal, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1);

/* Makes the Image Pixel module of f's dataset say what the pixels now are (now: the marked
 * frames; was: the stored image): SamplesPerPixel, PhotometricInterpretation, BitsAllocated,
 * BitsStored, HighBit, PixelRepresentation when they changed, PlanarConfiguration 0 for 3
 * samples.  When the palette is gone its descriptors, data and UID (0028,1101-1104,
 * 1199, 1201-1204, 1221-1224) are removed; when the bit depth changed, the smallest and
 * largest pixel values (0028,0106-0109), which no longer hold; a BINARY segmentation that
 * became 8-bit becomes FRACTIONAL (PROBABILITY, maximum 255: the same masks).  DV_ENOMEM. */
dv_err vault_mark_px_attrs(dcm_file *f, const dcm_pixinfo *was, const dcm_pixinfo *now,
                           dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);

#endif
