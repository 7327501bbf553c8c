/* SPDX-License-Identifier: Apache-2.0 */
/* test_pixel.c - Image Pixel module reading, native frame layout and encapsulated frame
 * assembly (offset tables, fragment counts, frame-start signatures), on datasets built here.
 *
 * Expected values follow PS3.3 C.7.6.3 (planar configuration, 1-bit packing, 4:2:2) and
 * PS3.5 A.4 (Basic/Extended Offset Table); the RLE frames are hand-made (PS3.5 Annex G). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

#include "common/banned.h"

#define T(g, e) DCM_TAG(0x##g, 0x##e)

static void set_us(dcm_file *f, uint32_t tag, uint16_t v)
{
    uint8_t b[2];

    dv_put_le16(b, v);
    assert_int_equal(dcm_ds_set(f, &f->ds, tag, DCM_VR_US, b, 2), DV_OK);
}

/* An image description without pixel data. frames 0: no NumberOfFrames. */
static dcm_file *image(uint16_t rows, uint16_t cols, uint16_t samples, uint16_t ba, uint16_t planar,
                       unsigned frames, const char *photometric)
{
    dcm_file *f = NULL;
    char nf[16];

    assert_int_equal(dcm_file_new(&f), DV_OK);
    set_us(f, T(0028, 0010), rows);
    set_us(f, T(0028, 0011), cols);
    set_us(f, T(0028, 0002), samples);
    set_us(f, T(0028, 0100), ba);
    set_us(f, T(0028, 0101), ba);
    set_us(f, T(0028, 0102), (uint16_t)(ba - 1));
    set_us(f, T(0028, 0103), 0);
    if (samples > 1)
        set_us(f, T(0028, 0006), planar);
    if (frames) {
        snprintf(nf, sizeof(nf), "%u", frames);
        assert_int_equal(dcm_ds_set_str(f, &f->ds, T(0028, 0008), DCM_VR_IS, nf), DV_OK);
    }
    if (photometric)
        assert_int_equal(dcm_ds_set_str(f, &f->ds, T(0028, 0004), DCM_VR_CS, photometric), DV_OK);
    return f;
}

static void native(dcm_file *f, const void *p, uint32_t len)
{
    assert_int_equal(dcm_ds_set(f, &f->ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, p, len), DV_OK);
}

/* ---- dcm_pixinfo_get ---------------------------------------------------------------------- */

static void pixinfo_defaults(void **state)
{
    dcm_file *f = NULL;
    dcm_pixinfo pi;
    dv_errinfo ei;
    uint8_t px[6] = {0};

    (void)state;
    assert_int_equal(dcm_file_new(&f), DV_OK);
    set_us(f, T(0028, 0010), 2);
    set_us(f, T(0028, 0011), 3);
    set_us(f, T(0028, 0100), 8);
    native(f, px, sizeof(px));
    assert_int_equal(dcm_pixinfo_get(&f->ds, &pi, &ei), DV_OK);
    assert_int_equal(pi.samples, 1);
    assert_int_equal(pi.bits_stored, 8);
    assert_int_equal(pi.high_bit, 7);
    assert_int_equal(pi.frames, 1);
    assert_int_equal(pi.pixel_rep, 0);
    assert_string_equal(pi.photometric, "MONOCHROME2");
    assert_int_equal(dcm_frame_size(&pi), 6);
    dcm_file_free(f);
}

static void expect_bad(dcm_file *f, dv_err want, uint32_t tag)
{
    dcm_pixinfo pi;
    dv_errinfo ei;

    dv_errinfo_clear(&ei);
    assert_int_equal(dcm_pixinfo_get(&f->ds, &pi, &ei), want);
    assert_int_equal(ei.tag, tag);
    dcm_file_free(f);
}

static void pixinfo_errors(void **state)
{
    uint8_t px[8] = {0};
    dcm_file *f;

    (void)state;
    f = image(2, 2, 1, 8, 0, 0, NULL);
    expect_bad(f, DV_ENOTFOUND, DCM_TAG_PIXEL_DATA);
    f = image(2, 2, 1, 8, 0, 0, NULL);
    assert_int_equal(dcm_ds_set(f, &f->ds, T(7FE0, 0008), DCM_VR_OF, px, 8), DV_OK);
    expect_bad(f, DV_EUNSUPPORTED, T(7FE0, 0008));
    f = image(2, 2, 1, 8, 0, 0, NULL);
    native(f, px, 4);
    dcm_ds_remove(&f->ds, T(0028, 0010));
    expect_bad(f, DV_EMALFORMED, T(0028, 0010));
    f = image(2, 2, 1, 8, 0, 0, NULL);
    native(f, px, 4);
    set_us(f, T(0028, 0101), 9); /* BitsStored > BitsAllocated */
    expect_bad(f, DV_EMALFORMED, T(0028, 0101));
    f = image(2, 2, 1, 12, 0, 0, NULL);
    native(f, px, 8);
    expect_bad(f, DV_EMALFORMED, T(0028, 0100));
    f = image(2, 2, 2, 8, 0, 0, NULL);
    native(f, px, 8);
    expect_bad(f, DV_EMALFORMED, T(0028, 0002));
    f = image(2, 2, 1, 8, 0, 0, NULL);
    native(f, px, 4);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, T(0028, 0008), DCM_VR_IS, "0"), DV_OK);
    expect_bad(f, DV_EMALFORMED, T(0028, 0008));
    /* rows*cols*samples*frames*bits overflows 64 bits */
    f = image(65535, 65535, 3, 32, 0, 2147483647u, "RGB");
    native(f, px, 8);
    expect_bad(f, DV_EMALFORMED, T(0028, 0008));
}

/* ---- native frames ----------------------------------------------------------------------- */

static void decode_ok(const dcm_file *f, uint32_t idx, dcm_frame *fr)
{
    dv_errinfo ei;

    dv_errinfo_clear(&ei);
    assert_int_equal(dcm_frame_decode(f, idx, fr, &ei), DV_OK);
    assert_non_null(fr->data);
}

static void native_planar_to_pixel(void **state)
{
    /* 2 pixels, planes R R G G B B, 16-bit little endian */
    const uint16_t plane[6] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666};
    const uint16_t want[6] = {0x1111, 0x3333, 0x5555, 0x2222, 0x4444, 0x6666};
    uint8_t raw[12];
    dcm_file *f = image(1, 2, 3, 16, 1, 0, "RGB");
    dcm_frame fr;
    unsigned i;

    (void)state;
    for (i = 0; i < 6; i++)
        dv_put_le16(raw + 2 * i, plane[i]);
    native(f, raw, sizeof(raw));
    decode_ok(f, 0, &fr);
    assert_int_equal(fr.len, 12);
    for (i = 0; i < 6; i++)
        assert_int_equal(dv_le16(fr.data + 2 * i), want[i]);
    assert_int_equal(fr.pi.planar, 0);
    dcm_frame_release(&fr);
    assert_null(fr.data);
    dcm_file_free(f);
}

static void native_1bit_frames_not_byte_aligned(void **state)
{
    /* 3 frames of 3x3: 27 bits, frame 1 starts at bit 9 (bit 0 of a byte comes first) */
    uint8_t bits[4] = {0};
    dcm_file *f = image(3, 3, 1, 1, 0, 3, NULL);
    dcm_frame fr;
    unsigned i;

    (void)state;
    for (i = 9; i < 18; i += 2) /* frame 1: pixels 0, 2, 4, 6, 8 set */
        bits[i / 8] |= (uint8_t)(1u << (i % 8));
    bits[3] = 0x04; /* bit 26: last pixel of frame 2 */
    native(f, bits, sizeof(bits));
    decode_ok(f, 1, &fr);
    assert_int_equal(fr.len, 9);
    for (i = 0; i < 9; i++)
        assert_int_equal(fr.data[i], i % 2 == 0);
    dcm_frame_release(&fr);
    decode_ok(f, 2, &fr);
    assert_int_equal(fr.data[8], 1);
    assert_int_equal(fr.data[7], 0);
    dcm_frame_release(&fr);
    dcm_file_free(f);
}

static void native_ybr_422_expanded(void **state)
{
    const uint8_t raw[8] = {10, 20, 100, 200, 30, 40, 101, 201};
    const uint8_t want[12] = {10, 100, 200, 20, 100, 200, 30, 101, 201, 40, 101, 201};
    dcm_file *f = image(1, 4, 3, 8, 0, 0, "YBR_FULL_422");
    dcm_frame fr;

    (void)state;
    native(f, raw, sizeof(raw));
    decode_ok(f, 0, &fr);
    assert_memory_equal(fr.data, want, sizeof(want));
    assert_string_equal(fr.pi.photometric, "YBR_FULL");
    dcm_frame_release(&fr);
    dcm_file_free(f);
}

static void native_errors(void **state)
{
    uint8_t raw[7] = {0};
    dcm_file *f = image(2, 2, 1, 8, 0, 2, NULL);
    dcm_frame fr;
    dv_errinfo ei;

    (void)state;
    native(f, raw, sizeof(raw)); /* 2 frames need 8 bytes */
    assert_int_equal(dcm_frame_decode(f, 0, &fr, &ei), DV_OK);
    dcm_frame_release(&fr);
    assert_int_equal(dcm_frame_decode(f, 1, &fr, &ei), DV_ETRUNC);
    assert_null(fr.data);
    assert_int_equal(ei.tag, DCM_TAG_PIXEL_DATA);
    assert_int_equal(dcm_frame_decode(f, 2, &fr, &ei), DV_EINVAL);
    dcm_file_free(f);
    /* 65535 x 65535 x 3 x 4 bytes: over the 1 GiB frame limit, refused before reading */
    f = image(65535, 65535, 3, 32, 0, 0, "RGB");
    native(f, raw, sizeof(raw));
    assert_int_equal(dcm_frame_decode(f, 0, &fr, &ei), DV_ELIMIT);
    dcm_file_free(f);
}

/* ---- encapsulated frames (RLE) ------------------------------------------------------------ */

/* A 2x2 8-bit RLE frame whose 4 pixels are v: 64-byte header + {replicate 4 times v}. */
static void rle_frame(uint8_t out[66], uint8_t v)
{
    memset(out, 0, 66);
    dv_put_le32(out, 1);
    dv_put_le32(out + 4, 64);
    out[64] = 0xFD;
    out[65] = v;
}

/* Sets RLE transfer syntax and an encapsulated PixelData with n fragments (frags[0] = BOT). */
static void encapsulate(dcm_file *f, const dcm_frag *frags, uint32_t n)
{
    dcm_elem *el;
    dcm_frag *copy = dv_arena_alloc(&f->arena, n * sizeof(*copy));

    assert_non_null(copy);
    memcpy(copy, frags, n * sizeof(*copy));
    f->ts = dcm_ts_find("1.2.840.10008.1.2.5", 19);
    assert_non_null(f->ts);
    assert_int_equal(dcm_ds_insert(f, &f->ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, &el), DV_OK);
    el->undef_len = 1;
    el->frags = copy;
    el->nfrags = n;
}

static void expect_frames(const dcm_file *f, uint8_t v0, uint8_t v1)
{
    dcm_frame fr;
    uint8_t want[4];

    decode_ok(f, 0, &fr);
    memset(want, v0, 4);
    assert_memory_equal(fr.data, want, 4);
    dcm_frame_release(&fr);
    decode_ok(f, 1, &fr);
    memset(want, v1, 4);
    assert_memory_equal(fr.data, want, 4);
    dcm_frame_release(&fr);
}

static void encap_one_fragment_per_frame(void **state)
{
    uint8_t a[66], b[66];
    dcm_frag fr[3] = {{NULL, 0}, {a, 66}, {b, 66}};
    dcm_file *f = image(2, 2, 1, 8, 0, 2, NULL);

    (void)state;
    rle_frame(a, 1);
    rle_frame(b, 2);
    encapsulate(f, fr, 3);
    expect_frames(f, 1, 2);
    dcm_file_free(f);
}

static void encap_basic_offset_table(void **state)
{
    /* frame 0 split after its header: fragments [A1 A2 B], offsets 0 and 8+64+8+2 */
    uint8_t a[66], b[66], bot[8];
    dcm_frag fr[4] = {{bot, 8}, {a, 64}, {a + 64, 2}, {b, 66}};
    dcm_file *f = image(2, 2, 1, 8, 0, 2, NULL);

    (void)state;
    rle_frame(a, 3);
    rle_frame(b, 4);
    dv_put_le32(bot, 0);
    dv_put_le32(bot + 4, 8 + 64 + 8 + 2);
    encapsulate(f, fr, 4);
    expect_frames(f, 3, 4);
    dcm_file_free(f);
}

static void encap_extended_offset_table(void **state)
{
    uint8_t a[66], b[66], eot[16];
    dcm_frag fr[4] = {{NULL, 0}, {a, 64}, {a + 64, 2}, {b, 66}};
    dcm_file *f = image(2, 2, 1, 8, 0, 2, NULL);

    (void)state;
    rle_frame(a, 5);
    rle_frame(b, 6);
    memset(eot, 0, sizeof(eot));
    dv_put_le32(eot + 8, 8 + 64 + 8 + 2);
    assert_int_equal(dcm_ds_set(f, &f->ds, T(7FE0, 0001), DCM_VR_OV, eot, 16), DV_OK);
    encapsulate(f, fr, 4);
    expect_frames(f, 5, 6);
    dcm_file_free(f);
}

static void encap_split_on_frame_starts(void **state)
{
    /* no offset table, 3 fragments for 2 frames: frames begin where an RLE header begins */
    uint8_t a[66], b[66];
    dcm_frag fr[4] = {{NULL, 0}, {a, 64}, {a + 64, 2}, {b, 66}};
    dcm_file *f = image(2, 2, 1, 8, 0, 2, NULL);

    (void)state;
    rle_frame(a, 7);
    rle_frame(b, 8);
    encapsulate(f, fr, 4);
    expect_frames(f, 7, 8);
    dcm_file_free(f);
}

static void encap_bad_table_falls_back(void **state)
{
    /* a table pointing inside a fragment is ignored; one fragment per frame applies */
    uint8_t a[66], b[66], bot[8];
    dcm_frag fr[3] = {{bot, 8}, {a, 66}, {b, 66}};
    dcm_file *f = image(2, 2, 1, 8, 0, 2, NULL);

    (void)state;
    rle_frame(a, 9);
    rle_frame(b, 10);
    dv_put_le32(bot, 0);
    dv_put_le32(bot + 4, 30);
    encapsulate(f, fr, 3);
    expect_frames(f, 9, 10);
    dcm_file_free(f);
}

static void encap_single_frame_many_fragments(void **state)
{
    uint8_t a[66];
    dcm_frag fr[4] = {{NULL, 0}, {a, 10}, {a + 10, 54}, {a + 64, 2}};
    dcm_file *f = image(2, 2, 1, 8, 0, 0, NULL);
    dcm_frame out;
    const uint8_t want[4] = {11, 11, 11, 11};

    (void)state;
    rle_frame(a, 11);
    encapsulate(f, fr, 4);
    decode_ok(f, 0, &out);
    assert_memory_equal(out.data, want, 4);
    dcm_frame_release(&out);
    dcm_file_free(f);
}

static void encap_errors(void **state)
{
    uint8_t a[66], junk[6] = {1, 2, 3, 4, 5, 6};
    dcm_frag fr[4] = {{NULL, 0}, {junk, 6}, {junk, 6}, {junk, 6}};
    dcm_file *f = image(2, 2, 1, 8, 0, 2, NULL);
    dcm_frame out;
    dv_errinfo ei;

    (void)state;
    /* 3 fragments for 2 frames and nothing that marks where a frame starts */
    encapsulate(f, fr, 4);
    assert_int_equal(dcm_frame_decode(f, 0, &out, &ei), DV_EMALFORMED);
    dcm_file_free(f);
    /* no data fragment at all */
    f = image(2, 2, 1, 8, 0, 0, NULL);
    encapsulate(f, fr, 1);
    assert_int_equal(dcm_frame_decode(f, 0, &out, &ei), DV_EMALFORMED);
    dcm_file_free(f);
    /* a damaged RLE frame is a codec error */
    f = image(2, 2, 1, 8, 0, 0, NULL);
    rle_frame(a, 1);
    dv_put_le32(a, 3);
    fr[1].p = a;
    fr[1].len = 66;
    encapsulate(f, fr, 2);
    assert_int_equal(dcm_frame_decode(f, 0, &out, &ei), DV_ECODEC);
    assert_null(out.data);
    /* an encapsulated syntax this build does not decode (MPEG2) */
    f->ts = dcm_ts_find("1.2.840.10008.1.2.4.100", 23);
    assert_non_null(f->ts);
    assert_int_equal(dcm_frame_decode(f, 0, &out, &ei), DV_EUNSUPPORTED);
    dcm_file_free(f);
    /* encapsulated transfer syntax but native pixel data */
    f = image(2, 2, 1, 8, 0, 0, NULL);
    native(f, junk, 4);
    f->ts = dcm_ts_find("1.2.840.10008.1.2.5", 19);
    assert_int_equal(dcm_frame_decode(f, 0, &out, &ei), DV_EMALFORMED);
    dcm_file_free(f);
}

/* ---- YBR -> RGB ------------------------------------------------------------------------- */

static void ybr_to_rgb(void **state)
{
    uint8_t px[6] = {90, 128, 128, 76, 85, 255};
    dcm_frame fr;

    (void)state;
    memset(&fr, 0, sizeof(fr));
    fr.data = px;
    fr.len = sizeof(px);
    fr.pi.samples = 3;
    fr.pi.bits_alloc = 8;
    memcpy(fr.pi.photometric, "YBR_FULL", 9);
    dcm_ybr_to_rgb(&fr);
    assert_string_equal(fr.pi.photometric, "RGB");
    /* grey stays grey; PS3.3 C.7.6.3.1.2 maps (76, 85, 255) to about pure red */
    assert_int_equal(px[0], 90);
    assert_int_equal(px[1], 90);
    assert_int_equal(px[2], 90);
    assert_in_range(px[3], 253, 255);
    assert_in_range(px[4], 0, 1);
    assert_in_range(px[5], 0, 1);
    /* not YBR: untouched */
    dcm_ybr_to_rgb(&fr);
    assert_int_equal(px[3] >= 253, 1);
    memcpy(fr.pi.photometric, "MONOCHROME2", 12);
    px[0] = 1;
    dcm_ybr_to_rgb(&fr);
    assert_int_equal(px[0], 1);
    dcm_ybr_to_rgb(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pixinfo_defaults),
        cmocka_unit_test(pixinfo_errors),
        cmocka_unit_test(native_planar_to_pixel),
        cmocka_unit_test(native_1bit_frames_not_byte_aligned),
        cmocka_unit_test(native_ybr_422_expanded),
        cmocka_unit_test(native_errors),
        cmocka_unit_test(encap_one_fragment_per_frame),
        cmocka_unit_test(encap_basic_offset_table),
        cmocka_unit_test(encap_extended_offset_table),
        cmocka_unit_test(encap_split_on_frame_starts),
        cmocka_unit_test(encap_bad_table_falls_back),
        cmocka_unit_test(encap_single_frame_many_fragments),
        cmocka_unit_test(encap_errors),
        cmocka_unit_test(ybr_to_rgb),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
