/*
 * test_decode.c - pixel decoding (dc_decode.h) on in-memory datasets built by
 * hand: native little/big endian, signed BitsStored 12 (masked and already
 * extended), every BitsStored < BitsAllocated depth (unsigned: high bits
 * masked off, native and RLE; signed: sign-extended), 1-bit frames that are not byte aligned, planar RGB, YBR_FULL and
 * uncompressed YBR_FULL_422 to RGB (pydicom's arithmetic), rescale to
 * float32, float pixel data; RLE frames written here (literal/repeat/no-op
 * runs, 16-bit RGB) and their errors; small JPEG lossless, JPEG-LS (also
 * uninterleaved RGB), JPEG 2000 and HTJ2K codestreams of a known 16x12 image
 * (made once with dcmcjpeg, dcmcjpls, gdcmconv and ojph_compress); frames
 * found by basic offset table, by count and by the FFD9 marker; exact error
 * messages; JPEG entropy data that IJG only warns about (refused); and
 * corrupted streams (truncated, bytes flipped) that must fail
 * cleanly, never crash (run under ASan/UBSan).  Expected values are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dc_decode.h"
#include "dc_scan.h"

/* ---- codestreams of IMG (16 cols x 12 rows, 8-bit): see the file comment ---- */
static const uint8_t JPEG_SV1[210] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xc3, 0x00, 0x0b, 0x08, 0x00, 0x0c, 0x00, 0x10, 0x01,
    0x01, 0x11, 0x00, 0xff, 0xc4, 0x00, 0x17, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x05, 0x08, 0x03, 0xff, 0xda,
    0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xcf, 0xed, 0x6b, 0x5a, 0xd6, 0xb5, 0xad,
    0x6b, 0x5a, 0xd6, 0xb6, 0xeb, 0x9c, 0xe7, 0x39, 0xdd, 0xdc, 0xe7, 0x39, 0xce, 0xee, 0xeb,
    0xaf, 0x7b, 0xd0, 0xf7, 0xa1, 0xef, 0x7a, 0x1e, 0xf4, 0x3e, 0xed, 0x0a, 0x09, 0xa0, 0x9a,
    0x09, 0xa1, 0x41, 0x34, 0x13, 0x83, 0xd3, 0x42, 0xed, 0x15, 0x51, 0x55, 0x15, 0x2a, 0x8a,
    0xa8, 0xe0, 0x9a, 0x2a, 0x55, 0x1b, 0xb4, 0x96, 0xba, 0x4b, 0x5a, 0xe9, 0x60, 0xa5, 0xd2,
    0x5a, 0xd7, 0x4a, 0xed, 0x36, 0x31, 0x8c, 0x66, 0x0b, 0xa6, 0xc6, 0x31, 0x8c, 0x65, 0x3b,
    0xad, 0x6b, 0x5b, 0x83, 0x1a, 0xd6, 0xb5, 0xad, 0x6b, 0x5a, 0xdb, 0xae, 0xc1, 0xae, 0x73,
    0x9d, 0xdd, 0xce, 0x73, 0x9c, 0xee, 0xee, 0xc3, 0x8f, 0x7b, 0xd0, 0xf7, 0xa1, 0xef, 0x7a,
    0x1e, 0xf4, 0x3e, 0xed, 0x0a, 0x09, 0xa0, 0x9a, 0x09, 0xa1, 0x41, 0x34, 0x13, 0x41, 0x34,
    0x2e, 0xd1, 0x55, 0x15, 0x51, 0x52, 0xa8, 0xaa, 0x8a, 0xa8, 0xa9, 0x58, 0x43, 0xff, 0xd9,
};
static const uint8_t JPEGLS[148] = {
    0xff, 0xd8, 0xff, 0xf7, 0x00, 0x0b, 0x08, 0x00, 0x0c, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00,
    0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80, 0xa0, 0x50, 0x2a, 0xea,
    0xa6, 0x8f, 0xfb, 0xbc, 0xe6, 0xff, 0x70, 0x00, 0x30, 0x08, 0xd3, 0x0b, 0x28, 0x94, 0xbd,
    0xee, 0x6b, 0x48, 0xd0, 0x10, 0x00, 0x0c, 0xa5, 0x2b, 0x50, 0x8d, 0x42, 0x11, 0xe8, 0xef,
    0x71, 0xc2, 0x11, 0xa8, 0xd4, 0x6a, 0x11, 0xa8, 0xd5, 0x6c, 0xd9, 0x56, 0xab, 0x56, 0xea,
    0xb5, 0x0c, 0x1c, 0x00, 0x09, 0xaf, 0x34, 0x55, 0xda, 0xae, 0xed, 0x46, 0x38, 0x21, 0x77,
    0x6f, 0x32, 0x64, 0xcc, 0xcc, 0x99, 0x2e, 0xa6, 0x66, 0xd7, 0x98, 0x49, 0x20, 0x1a, 0x5a,
    0x5b, 0x6d, 0xb5, 0x05, 0xd0, 0xd2, 0x5e, 0x41, 0x64, 0x92, 0x41, 0x50, 0x59, 0x5a, 0x21,
    0xd1, 0x0e, 0x88, 0x87, 0x44, 0x3a, 0x0b, 0x99, 0x8a, 0xc5, 0x67, 0x66, 0x2b, 0x15, 0x9d,
    0x05, 0x44, 0x52, 0x39, 0x1d, 0x48, 0xe4, 0x72, 0x3a, 0xa0, 0xff, 0xff, 0xd9,
};
static const uint8_t JPEGLS_RGB_ILV_NONE[474] = {
    0xff, 0xd8, 0xff, 0xf7, 0x00, 0x11, 0x08, 0x00, 0x0c, 0x00, 0x10, 0x03, 0x01, 0x11, 0x00, 0x02,
    0x11, 0x00, 0x03, 0x11, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80,
    0xa0, 0x50, 0x2a, 0xea, 0xa6, 0x8f, 0xfb, 0xbc, 0xe6, 0xff, 0x70, 0x00, 0x30, 0x08, 0xd3, 0x0b,
    0x28, 0x94, 0xbd, 0xee, 0x6b, 0x48, 0xd0, 0x10, 0x00, 0x0c, 0xa5, 0x2b, 0x50, 0x8d, 0x42, 0x11,
    0xe8, 0xef, 0x71, 0xc2, 0x11, 0xa8, 0xd4, 0x6a, 0x11, 0xa8, 0xd5, 0x6c, 0xd9, 0x56, 0xab, 0x56,
    0xea, 0xb5, 0x0c, 0x1c, 0x00, 0x09, 0xaf, 0x34, 0x55, 0xda, 0xae, 0xed, 0x46, 0x38, 0x21, 0x77,
    0x6f, 0x32, 0x64, 0xcc, 0xcc, 0x99, 0x2e, 0xa6, 0x66, 0xd7, 0x98, 0x49, 0x20, 0x1a, 0x5a, 0x5b,
    0x6d, 0xb5, 0x05, 0xd0, 0xd2, 0x5e, 0x41, 0x64, 0x92, 0x41, 0x50, 0x59, 0x5a, 0x21, 0xd1, 0x0e,
    0x88, 0x87, 0x44, 0x3a, 0x0b, 0x99, 0x8a, 0xc5, 0x67, 0x66, 0x2b, 0x15, 0x9d, 0x05, 0x44, 0x52,
    0x39, 0x1d, 0x48, 0xe4, 0x72, 0x3a, 0xa0, 0xff, 0xda, 0x00, 0x08, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x80, 0x00, 0x05, 0x00, 0x00, 0x14, 0xac, 0xa4, 0x9c, 0x94, 0x8c, 0x00, 0x00, 0x52, 0x17,
    0xef, 0x5d, 0xb9, 0x25, 0x6a, 0x00, 0x00, 0x03, 0x5a, 0x00, 0x00, 0x08, 0x64, 0x60, 0x5c, 0xa8,
    0xa0, 0x00, 0x00, 0x35, 0xa9, 0x49, 0x08, 0xc8, 0x8d, 0xcd, 0x80, 0x00, 0x00, 0x85, 0xc4, 0x64,
    0x44, 0x00, 0x21, 0x79, 0x0a, 0xb7, 0xef, 0x96, 0x56, 0xf5, 0xe2, 0x61, 0xc1, 0x22, 0xd6, 0x53,
    0xbb, 0x4a, 0xe8, 0xba, 0xd6, 0x13, 0x30, 0x91, 0x76, 0x65, 0x13, 0x29, 0x98, 0x48, 0x24, 0x0e,
    0x50, 0x2c, 0x81, 0x52, 0x00, 0x7a, 0x62, 0x11, 0x10, 0xc1, 0x66, 0xc0, 0x0e, 0x75, 0x21, 0x04,
    0x0a, 0x9c, 0x18, 0x59, 0x43, 0x0c, 0x2c, 0xc2, 0xa9, 0xa9, 0x22, 0x8a, 0x28, 0x9c, 0x4d, 0x45,
    0x04, 0x10, 0x65, 0x33, 0xda, 0x52, 0x69, 0xa6, 0x98, 0xaa, 0x69, 0x29, 0x24, 0x93, 0xe9, 0xa2,
    0xa4, 0x48, 0x12, 0x51, 0xd6, 0x4d, 0x59, 0x32, 0x39, 0x9e, 0x5a, 0x92, 0x69, 0x92, 0xa6, 0x08,
    0x2d, 0x2d, 0x57, 0xf5, 0x65, 0x96, 0x94, 0xab, 0xfa, 0x9a, 0x59, 0xed, 0x0d, 0x75, 0xdd, 0xa4,
    0x0e, 0xfe, 0xee, 0xeb, 0xb9, 0x0b, 0x07, 0x7e, 0x7a, 0xb0, 0x79, 0x97, 0xc0, 0xfe, 0xec, 0x39,
    0xe7, 0x00, 0xd3, 0xbd, 0x98, 0x73, 0xca, 0xe0, 0xff, 0xda, 0x00, 0x08, 0x01, 0x03, 0x00, 0x00,
    0x00, 0x00, 0x40, 0x33, 0x0b, 0x28, 0x92, 0x1e, 0xe6, 0xb1, 0x84, 0x77, 0x70, 0x00, 0x18, 0x04,
    0x69, 0x85, 0x94, 0x4a, 0x5e, 0xf7, 0x35, 0xa4, 0x68, 0x08, 0x00, 0x06, 0x52, 0x95, 0xa8, 0x46,
    0xa1, 0x08, 0xf4, 0x77, 0xb8, 0xe1, 0x08, 0xd4, 0x6a, 0x35, 0x08, 0xd4, 0x6a, 0xb6, 0x6c, 0xab,
    0x55, 0xab, 0x75, 0x5a, 0x86, 0x0e, 0xdb, 0x5e, 0x68, 0xab, 0xb5, 0x5d, 0xda, 0x8c, 0x73, 0xeb,
    0xbb, 0x79, 0x93, 0x26, 0x66, 0x64, 0xc9, 0x71, 0x33, 0x36, 0xbc, 0xc2, 0x49, 0x00, 0xd2, 0xca,
    0xdb, 0x6d, 0xa8, 0x2e, 0x86, 0x92, 0xea, 0x0b, 0x24, 0x92, 0x0a, 0x82, 0xca, 0xc9, 0x0e, 0x88,
    0x74, 0x44, 0x3a, 0x21, 0xd0, 0x58, 0xcc, 0x56, 0x2b, 0x3b, 0x31, 0x58, 0xac, 0xe8, 0x2a, 0x22,
    0x91, 0xc8, 0xea, 0x47, 0x23, 0x91, 0xd5, 0x00, 0xff, 0xd9,
};
static const uint8_t J2K[322] = {
    0xff, 0x4f, 0xff, 0x51, 0x00, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x01, 0xff, 0x52, 0x00,
    0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x04, 0x04, 0x00, 0x01, 0xff, 0x5c, 0x00, 0x0a, 0x40,
    0x40, 0x48, 0x48, 0x50, 0x48, 0x48, 0x50, 0xff, 0x64, 0x00, 0x2a, 0x00, 0x01, 0x43, 0x72, 0x65,
    0x61, 0x74, 0x65, 0x64, 0x20, 0x62, 0x79, 0x20, 0x47, 0x44, 0x43, 0x4d, 0x2f, 0x4f, 0x70, 0x65,
    0x6e, 0x4a, 0x50, 0x45, 0x47, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x32, 0x2e,
    0x35, 0x2e, 0x30, 0xff, 0x90, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0xcd, 0x00, 0x01, 0xff,
    0x93, 0xcf, 0xb4, 0x34, 0x07, 0x0d, 0x7c, 0x54, 0xa2, 0x46, 0xd3, 0x11, 0x4b, 0x21, 0xcf, 0x8e,
    0xf3, 0xc3, 0xea, 0x0c, 0x9f, 0x80, 0x7c, 0x3e, 0xd0, 0xe0, 0x0e, 0x51, 0xd1, 0xf0, 0x24, 0xc8,
    0x93, 0x95, 0x61, 0xda, 0xca, 0x1f, 0x0d, 0xcb, 0x70, 0x89, 0x4b, 0x6a, 0xae, 0xb7, 0x79, 0xbe,
    0xc6, 0x82, 0x80, 0xad, 0xdf, 0x0a, 0xd4, 0xeb, 0xcd, 0x30, 0x7f, 0x1d, 0x02, 0xab, 0x3f, 0xcb,
    0x63, 0x32, 0x8f, 0xc7, 0xda, 0x4d, 0x3f, 0x02, 0xa8, 0xfc, 0x09, 0x00, 0x24, 0xc1, 0xd2, 0xfd,
    0x6e, 0xde, 0x9e, 0x94, 0xf6, 0x30, 0x85, 0xf9, 0x32, 0xf2, 0x9f, 0xa7, 0xf2, 0xd7, 0x7a, 0xbe,
    0x64, 0xb0, 0xf1, 0xb2, 0xe8, 0xf4, 0x86, 0x4f, 0x32, 0xc5, 0x12, 0x1c, 0xcf, 0x80, 0xe7, 0x83,
    0x2e, 0x3f, 0x24, 0xc1, 0xce, 0x83, 0x65, 0x26, 0xf1, 0xff, 0x22, 0xaa, 0xcd, 0x01, 0xde, 0x9d,
    0x94, 0x65, 0x08, 0xc4, 0x3f, 0x6d, 0x2f, 0x60, 0x26, 0xf2, 0x11, 0x73, 0xd5, 0x0e, 0xd7, 0xda,
    0x0e, 0xc5, 0x39, 0xb6, 0xc1, 0xe8, 0xbc, 0x38, 0x4d, 0x62, 0x06, 0x7f, 0x1f, 0xb5, 0x44, 0x64,
    0xd3, 0xc8, 0xb6, 0x41, 0xbe, 0xfe, 0xbc, 0xa8, 0x3e, 0x13, 0x23, 0xa5, 0x25, 0x88, 0x51, 0xbe,
    0x07, 0xfd, 0x8f, 0x25, 0x17, 0xf0, 0xa0, 0x8a, 0x18, 0xa3, 0xca, 0xae, 0xf5, 0xc1, 0x05, 0x38,
    0xff, 0xd9,
};
static const uint8_t HTJ2K[390] = {
    0xff, 0x4f, 0xff, 0x51, 0x00, 0x29, 0x40, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x01, 0xff, 0x50, 0x00,
    0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0xff, 0x52, 0x00, 0x0c, 0x00, 0x02, 0x00, 0x01, 0x00,
    0x05, 0x04, 0x04, 0x40, 0x01, 0xff, 0x5c, 0x00, 0x13, 0x20, 0x50, 0x58, 0x58, 0x60, 0x58, 0x58,
    0x60, 0x58, 0x58, 0x60, 0x58, 0x58, 0x58, 0x50, 0x50, 0x58, 0xff, 0x64, 0x00, 0x16, 0x00, 0x01,
    0x4f, 0x70, 0x65, 0x6e, 0x4a, 0x50, 0x48, 0x20, 0x56, 0x65, 0x72, 0x20, 0x30, 0x2e, 0x39, 0x2e,
    0x30, 0x2e, 0xff, 0x90, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x12, 0x00, 0x01, 0xff, 0x93,
    0xc0, 0x12, 0x00, 0xfc, 0x27, 0x73, 0x00, 0x00, 0xc0, 0x09, 0x60, 0x04, 0xb0, 0x01, 0x28, 0xc8,
    0x00, 0x87, 0x74, 0x00, 0xd6, 0x00, 0x87, 0x74, 0x00, 0x8d, 0x01, 0x87, 0x74, 0x00, 0xc0, 0x09,
    0xe0, 0x04, 0xd0, 0x01, 0x38, 0x82, 0xe0, 0xf9, 0x00, 0x8a, 0x74, 0x00, 0x88, 0xb0, 0x00, 0x42,
    0x34, 0x00, 0x64, 0xb4, 0xf8, 0x00, 0x82, 0x34, 0x00, 0xc0, 0x0a, 0xf8, 0x01, 0x69, 0xc0, 0x0b,
    0x48, 0x80, 0x40, 0x32, 0x50, 0x73, 0xba, 0xee, 0xd3, 0x03, 0x1f, 0xfe, 0x48, 0x95, 0x97, 0x00,
    0x02, 0x26, 0x04, 0x5e, 0x25, 0x0f, 0x0e, 0x13, 0x7b, 0xa2, 0x96, 0x78, 0x1b, 0x7f, 0x08, 0x40,
    0xdb, 0x97, 0x00, 0x08, 0x84, 0x03, 0xe6, 0xdf, 0x3b, 0xd4, 0xab, 0x25, 0x6c, 0xfe, 0x03, 0x6f,
    0xf0, 0x41, 0xb6, 0xb7, 0x00, 0xc0, 0x17, 0x55, 0x00, 0x5d, 0x94, 0x00, 0xba, 0xa0, 0xd5, 0x02,
    0x0c, 0x2a, 0xe6, 0x24, 0x03, 0xc1, 0x0f, 0x33, 0x1c, 0xfe, 0x7e, 0xa0, 0x0e, 0x8a, 0xbe, 0x1b,
    0x80, 0x5f, 0x40, 0x73, 0x00, 0x00, 0x08, 0x02, 0xeb, 0xfe, 0x0a, 0x52, 0xa0, 0x55, 0x81, 0xf8,
    0x18, 0x92, 0xae, 0x96, 0x1d, 0x7d, 0xee, 0x00, 0x11, 0x23, 0xe0, 0x08, 0xdc, 0x00, 0x3d, 0xbf,
    0x00, 0xac, 0x00, 0xae, 0xc7, 0x08, 0xb8, 0x46, 0x48, 0x81, 0x48, 0x41, 0xc0, 0x0f, 0xcf, 0x06,
    0x4d, 0x80, 0x0e, 0x80, 0x8e, 0x8d, 0x00, 0x4e, 0xe0, 0x17, 0x40, 0x00, 0x7b, 0xc6, 0x14, 0xda,
    0xe0, 0xc4, 0x04, 0x81, 0x08, 0x90, 0xeb, 0x8f, 0x50, 0x01, 0x9b, 0xe6, 0x28, 0x08, 0x18, 0x82,
    0x7d, 0x60, 0xc2, 0xe0, 0xef, 0x27, 0xec, 0x15, 0x03, 0x85, 0xbf, 0x41, 0xc1, 0x10, 0x30, 0x06,
    0x8d, 0x44, 0xa3, 0x40, 0x08, 0x53, 0xa0, 0xf5, 0x57, 0xd0, 0x00, 0x00, 0x77, 0x80, 0x00, 0x6f,
    0xfb, 0xa4, 0x50, 0x01, 0xff, 0xd9,
};

#define W 16
#define H 12
#define TS_EXPL "1.2.840.10008.1.2.1"
#define TS_BE "1.2.840.10008.1.2.2"
#define TS_RLE "1.2.840.10008.1.2.5"
#define TS_JPEG_SV1 "1.2.840.10008.1.2.4.70"

static uint8_t img(int x, int y)
{
    return (uint8_t)((x * 13 + y * 29 + (x * y) % 7) & 0xFF);
}

static uint8_t rgb(int x, int y, int s)
{
    uint8_t v = img(x, y);
    return s == 0 ? v : s == 1 ? (uint8_t)((v * 3) & 0xFF) : (uint8_t)(255 - v);
}

static dc_pixel_desc desc(uint32_t rows, uint32_t cols, uint32_t samples, uint32_t frames,
                          uint16_t ba, uint16_t bs, uint16_t pr, const char *pi, const char *ts)
{
    dc_pixel_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.rows = rows;
    pd.cols = cols;
    pd.samples = samples;
    pd.frames = frames;
    pd.bits_alloc = ba;
    pd.bits_stored = bs;
    pd.high_bit = (uint16_t)(bs - 1);
    pd.pixel_rep = pr;
    pd.pixel_kind = DC_PIX_INT;
    snprintf(pd.photometric, sizeof pd.photometric, "%s", pi);
    snprintf(pd.ts_uid, sizeof pd.ts_uid, "%s", ts);
    pd.big_endian = strcmp(ts, TS_BE) == 0;
    return pd;
}

/* a dataset whose native pixel data are data[n] in memory */
static void native_ds(dc_dataset *ds, const void *data, size_t n)
{
    dc_dataset_init(ds);
    ds->mem = data;
    ds->mem_len = n;
    ds->pixel.present = 1;
    ds->pixel.tag = DC_TAG_PIXEL_DATA;
    ds->pixel.off = 0;
    ds->pixel.len = n;
}

/* encapsulated pixel data: fragments laid out as items in one buffer */
typedef struct {
    dc_dataset ds;
    uint8_t mem[8192];
    size_t len;
    dc_fragment frags[16];
    uint32_t bot[16];
} encaps;

static void encaps_init(encaps *e)
{
    memset(e, 0, sizeof *e);
    dc_dataset_init(&e->ds);
    e->ds.pixel.present = 1;
    e->ds.pixel.tag = DC_TAG_PIXEL_DATA;
    e->ds.pixel.encapsulated = 1;
    e->ds.pixel.walked = 1;
    e->ds.pixel.frags = e->frags;
    e->ds.pixel.bot = e->bot;
    e->len = 8; /* an empty basic offset table item */
}

/* append a fragment; new_frame: record its offset in the basic offset table */
static void encaps_add(encaps *e, const uint8_t *p, size_t n, int new_frame)
{
    dc_pixel_loc *px = &e->ds.pixel;
    assert_true(e->len + 8 + n <= sizeof e->mem && px->n_frags < 16);
    e->len += 8;
    memcpy(e->mem + e->len, p, n);
    px->frags[px->n_frags].off = e->len;
    px->frags[px->n_frags].len = (uint32_t)n;
    if (new_frame) px->bot[px->n_bot++] = (uint32_t)(e->len - px->frags[0].off);
    px->n_frags++;
    e->len += n;
    e->ds.mem = e->mem;
    e->ds.mem_len = e->len;
}

static int decode(dc_dataset *ds, const dc_pixel_desc *pd, uint32_t first, uint32_t count, int dt,
                  void *dst, char *err)
{
    err[0] = 0;
    return dc_decode_frames(ds, pd, first, count, dt, 1.0, 0.0, dst, err, DC_ERRLEN);
}

static void assert_img8(const uint8_t *out)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) assert_int_equal(out[y * W + x], img(x, y));
}

static void assert_rgb8(const uint8_t *out)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int s = 0; s < 3; s++) assert_int_equal(out[(y * W + x) * 3 + s], rgb(x, y, s));
}

/* ------------------------------------------------------------ native */

static void test_native_u16_frames(void **state)
{
    (void)state;
    uint16_t data[3 * 6];
    for (int i = 0; i < 18; i++) data[i] = (uint16_t)(i * 1000 + 7);
    dc_dataset ds;
    native_ds(&ds, data, sizeof data);
    dc_pixel_desc pd = desc(2, 3, 1, 3, 16, 16, 0, "MONOCHROME2", TS_EXPL);
    uint16_t out[18];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&ds, &pd, 0, 3, DC_DT_U16, out, err), 0);
    assert_memory_equal(out, data, sizeof data);
    memset(out, 0, sizeof out);
    assert_int_equal(decode(&ds, &pd, 1, 1, DC_DT_U16, out, err), 0);
    assert_memory_equal(out, data + 6, 6 * sizeof *out);
}

static void test_native_be_signed12(void **state)
{
    (void)state;
    /* big endian words: masked -1, masked -2048, 2047, already extended -2048, 5 */
    const uint8_t data[] = {0x0F, 0xFF, 0x08, 0x00, 0x07, 0xFF, 0xF8, 0x00, 0x00, 0x05, 0x00, 0x00};
    const int16_t want[] = {-1, -2048, 2047, -2048, 5, 0};
    dc_dataset ds;
    native_ds(&ds, data, sizeof data);
    dc_pixel_desc pd = desc(2, 3, 1, 1, 16, 12, 1, "MONOCHROME2", TS_BE);
    int16_t out[6];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_I16, out, err), 0);
    assert_memory_equal(out, want, sizeof want);
}

/* one value of vs bytes: every bit pattern of its width, stepping through them */
static uint32_t pattern(uint32_t i, size_t vs)
{
    uint32_t v = i * 2654435761u ^ (i << 7);
    return vs == 4 ? v : v & ((1u << (8 * vs)) - 1);
}

/* expected value of raw word w with BitsStored bs: low bs bits, sign-extended when signed */
static int64_t narrow_value(uint32_t w, unsigned bs, int is_signed)
{
    int64_t low = (int64_t)(w & (uint32_t)((1ull << bs) - 1));
    return is_signed && (low >> (bs - 1)) ? low - (int64_t)(1ull << bs) : low;
}

static int64_t out_value(const void *p, uint32_t i, size_t vs, int is_signed)
{
    if (vs == 1) return is_signed ? (int64_t)((const int8_t *)p)[i] : (int64_t)((const uint8_t *)p)[i];
    if (vs == 2) return is_signed ? (int64_t)((const int16_t *)p)[i] : (int64_t)((const uint16_t *)p)[i];
    if (is_signed) return ((const int32_t *)p)[i];
    return ((const uint32_t *)p)[i];
}

/* PS3.5 8.1.1: bits above HighBit are not part of the value.  Every depth
 * BitsStored < BitsAllocated, unsigned (masked) and signed (sign-extended),
 * with every high bit pattern present in the input. */
static void test_native_bits_stored(void **state)
{
    (void)state;
    static const struct { uint16_t ba, bs; } depths[] = {
        {8, 1}, {8, 2}, {8, 3}, {8, 4}, {8, 5}, {8, 6}, {8, 7}, {16, 8}, {16, 10},
        {16, 12}, {16, 14}, {16, 15}, {32, 24}, {32, 16}, {32, 31}};
    enum { R = 4, C = 16, N = R * C };
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        for (int sgn = 0; sgn <= 1; sgn++) {
            size_t vs = depths[d].ba / 8;
            uint8_t data[N * 4], out[N * 4];
            for (uint32_t i = 0; i < N; i++) {
                uint32_t w = pattern(i, vs);
                memcpy(data + i * vs, &w, vs); /* little endian host */
            }
            dc_dataset ds;
            native_ds(&ds, data, N * vs);
            dc_pixel_desc pd = desc(R, C, 1, 1, depths[d].ba, depths[d].bs, (uint16_t)sgn,
                                    "MONOCHROME2", TS_EXPL);
            int dt = vs == 1 ? (sgn ? DC_DT_I8 : DC_DT_U8)
                     : vs == 2 ? (sgn ? DC_DT_I16 : DC_DT_U16) : (sgn ? DC_DT_I32 : DC_DT_U32);
            char err[DC_ERRLEN];
            print_message("%u in %u, %s\n", depths[d].bs, depths[d].ba, sgn ? "signed" : "unsigned");
            assert_int_equal(decode(&ds, &pd, 0, 1, dt, out, err), 0);
            int high_seen = 0;
            for (uint32_t i = 0; i < N; i++) {
                uint32_t w = pattern(i, vs);
                high_seen |= (w >> depths[d].bs) != 0;
                assert_int_equal(out_value(out, i, vs, sgn), narrow_value(w, depths[d].bs, sgn));
            }
            assert_true(high_seen); /* the input had bits to drop */
            /* rescaled: the masked value times slope plus intercept */
            float f[N];
            assert_int_equal(dc_decode_frames(&ds, &pd, 0, 1, DC_DT_F32, 2.0, -1.0, f, err, DC_ERRLEN), 0);
            for (uint32_t i = 0; i < N; i++)
                assert_true(f[i] == (float)(narrow_value(pattern(i, vs), depths[d].bs, sgn) * 2.0 - 1.0));
            dc_dataset_free(&ds);
        }
    }
}

static void test_native_1bit_unaligned(void **state)
{
    (void)state;
    /* 3 frames of 3x3 bits = 27 bits, bit 0 of byte 0 first (pydicom's unpack_bits) */
    const uint8_t bits[27] = {1, 0, 0, 1, 1, 0, 1, 0, 1, /* frame 0 */
                              0, 1, 1, 0, 0, 1, 0, 1, 1, /* frame 1 */
                              1, 1, 1, 0, 0, 0, 1, 0, 0};
    uint8_t data[4] = {0};
    for (int i = 0; i < 27; i++) data[i / 8] |= (uint8_t)(bits[i] << (i % 8));
    dc_dataset ds;
    native_ds(&ds, data, sizeof data);
    dc_pixel_desc pd = desc(3, 3, 1, 3, 1, 1, 0, "MONOCHROME2", TS_EXPL);
    uint8_t out[27];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&ds, &pd, 0, 3, DC_DT_U8, out, err), 0);
    assert_memory_equal(out, bits, 27);
    assert_int_equal(decode(&ds, &pd, 1, 2, DC_DT_U8, out, err), 0);
    assert_memory_equal(out, bits + 9, 18);
}

static void test_native_planar_rgb(void **state)
{
    (void)state;
    uint8_t planar[3 * W * H], out[3 * W * H];
    for (int s = 0; s < 3; s++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) planar[s * W * H + y * W + x] = rgb(x, y, s);
    dc_dataset ds;
    native_ds(&ds, planar, sizeof planar);
    dc_pixel_desc pd = desc(H, W, 3, 1, 8, 8, 0, "RGB", TS_EXPL);
    pd.planar = 1;
    char err[DC_ERRLEN];
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U8, out, err), 0);
    assert_rgb8(out);
}

static void test_native_ybr_full(void **state)
{
    (void)state;
    /* expected values from pydicom's convert_color_space(arr, "YBR_FULL", "RGB") */
    const uint8_t ybr[18] = {128, 128, 128, 76,  85, 255, 0,  0,   0,
                             255, 255, 255, 150, 44, 21,  29, 255, 107};
    const uint8_t want[18] = {128, 128, 128, 254, 0,   0, 0, 135, 0,
                              255, 121, 255, 0,   255, 1, 0, 0,   254};
    dc_dataset ds;
    native_ds(&ds, ybr, sizeof ybr);
    dc_pixel_desc pd = desc(2, 3, 3, 1, 8, 8, 0, "YBR_FULL", TS_EXPL);
    uint8_t out[18];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U8, out, err), 0);
    assert_memory_equal(out, want, sizeof want);
    assert_string_equal(dc_decoded_photometric(&pd), "RGB");
}

static void test_native_ybr422(void **state)
{
    (void)state;
    /* 2 rows x 2 cols: Y1 Y2 Cb Cr per pair; neutral chroma gives grey */
    const uint8_t data[8] = {10, 20, 128, 128, 200, 250, 128, 128};
    const uint8_t want[12] = {10, 10, 10, 20, 20, 20, 200, 200, 200, 250, 250, 250};
    dc_dataset ds;
    native_ds(&ds, data, sizeof data);
    dc_pixel_desc pd = desc(2, 2, 3, 1, 8, 8, 0, "YBR_FULL_422", TS_EXPL);
    uint8_t out[12];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U8, out, err), 0);
    assert_memory_equal(out, want, sizeof want);
    ds.pixel.len = 6; /* 4 pixels of 4:2:2 need 8 bytes */
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
    assert_string_equal(err, "truncated pixel data");
}

static void test_native_rescale(void **state)
{
    (void)state;
    const int16_t data[4] = {-1000, 0, 1000, 2};
    const float want[4] = {-3524.0f, -1024.0f, 1476.0f, -1019.0f};
    dc_dataset ds;
    native_ds(&ds, data, sizeof data);
    dc_pixel_desc pd = desc(2, 2, 1, 1, 16, 16, 1, "MONOCHROME2", TS_EXPL);
    float out[4];
    char err[DC_ERRLEN];
    assert_int_equal(dc_output_dtype(&pd, 1), DC_DT_F32);
    assert_int_equal(
        dc_decode_frames(&ds, &pd, 0, 1, DC_DT_F32, 2.5, -1024.0, out, err, sizeof err), 0);
    assert_memory_equal(out, want, sizeof want);
}

static void test_native_float_be(void **state)
{
    (void)state;
    const float want[2] = {-1.5f, 1234.25f};
    uint8_t data[8];
    for (int i = 0; i < 2; i++) {
        uint32_t u;
        memcpy(&u, &want[i], 4);
        for (int b = 0; b < 4; b++) data[i * 4 + b] = (uint8_t)(u >> (24 - 8 * b));
    }
    dc_dataset ds;
    native_ds(&ds, data, sizeof data);
    ds.pixel.tag = DC_TAG_FLOAT_PIXEL_DATA;
    dc_pixel_desc pd = desc(1, 2, 1, 1, 32, 32, 0, "MONOCHROME2", TS_BE);
    pd.pixel_kind = DC_PIX_FLOAT;
    float out[2];
    char err[DC_ERRLEN];
    assert_int_equal(dc_output_dtype(&pd, 1), DC_DT_F32);
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_F32, out, err), 0);
    assert_memory_equal(out, want, sizeof want);
}

static void test_native_errors(void **state)
{
    (void)state;
    uint8_t data[6] = {0};
    uint8_t out[64];
    char err[DC_ERRLEN];
    dc_dataset ds;
    native_ds(&ds, data, sizeof data);
    dc_pixel_desc pd = desc(2, 2, 1, 1, 16, 16, 0, "MONOCHROME2", TS_EXPL);
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "truncated pixel data");
    ds.pixel.present = 0;
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "no pixel data");
    ds.pixel.present = 1;
    pd = desc(1, 2, 1, 1, 16, 16, 0, "MONOCHROME2", "1.2.840.10008.1.2.4.100");
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "unsupported transfer syntax 1.2.840.10008.1.2.4.100");
    pd = desc(1, 2, 1, 1, 12, 12, 0, "MONOCHROME2", TS_EXPL);
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "unsupported BitsAllocated 12");
    pd = desc(1, 2, 1, 2, 16, 16, 0, "MONOCHROME2", TS_EXPL);
    assert_int_equal(decode(&ds, &pd, 1, 2, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "bad frame range");
    pd = desc(1, 2, 1, 1, 16, 16, 1, "MONOCHROME2", TS_EXPL);
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "pixel type int16 does not match the output type uint16");
    pd = desc(0, 2, 1, 1, 16, 16, 0, "MONOCHROME2", TS_EXPL);
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "missing Rows/Columns");
    /* the file is shorter than the declared value (mem_len < len) */
    pd = desc(1, 3, 1, 1, 16, 16, 0, "MONOCHROME2", TS_EXPL);
    ds.pixel.len = 6;
    ds.mem_len = 4;
    assert_int_equal(decode(&ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "truncated pixel data");
}

/* ------------------------------------------------------------ RLE */

/* RLE frame of nseg segments (literal runs only) from planes[s][npix] */
static size_t rle_frame(uint8_t *out, const uint8_t *const *planes, int nseg, size_t npix)
{
    memset(out, 0, 64);
    out[0] = (uint8_t)nseg;
    size_t at = 64;
    for (int s = 0; s < nseg; s++) {
        out[4 + 4 * s] = (uint8_t)at;
        out[5 + 4 * s] = (uint8_t)(at >> 8);
        for (size_t i = 0; i < npix; i += 128) {
            size_t k = npix - i < 128 ? npix - i : 128;
            out[at++] = (uint8_t)(k - 1);
            memcpy(out + at, planes[s] + i, k);
            at += k;
        }
    }
    return at;
}

static void test_rle_runs(void **state)
{
    (void)state;
    /* 2 x 4: literal 3, repeat 4 (-3), no-op -128, literal 1; then padding */
    uint8_t f[64 + 12] = {1, 0, 0, 0, 64};
    const uint8_t seg[12] = {2, 10, 11, 12, 0xFD, 7, 0x80, 0, 99, 0, 0, 0};
    memcpy(f + 64, seg, sizeof seg);
    const uint8_t want[8] = {10, 11, 12, 7, 7, 7, 7, 99};
    encaps e;
    encaps_init(&e);
    encaps_add(&e, f, sizeof f, 1);
    dc_pixel_desc pd = desc(2, 4, 1, 1, 8, 8, 0, "MONOCHROME2", TS_RLE);
    uint8_t out[8];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), 0);
    assert_memory_equal(out, want, 8);
}

static void test_rle_rgb16(void **state)
{
    (void)state;
    /* 16-bit RGB: segments R-MSB R-LSB G-MSB G-LSB B-MSB B-LSB */
    enum { N = W * H };
    static uint8_t planes[6][N], f[64 + 6 * (N + 2)];
    uint16_t want[N * 3], out[N * 3];
    for (int i = 0; i < N; i++)
        for (int s = 0; s < 3; s++) {
            uint16_t v = (uint16_t)(rgb(i % W, i / W, s) * 257 + s);
            want[i * 3 + s] = v;
            planes[2 * s][i] = (uint8_t)(v >> 8);
            planes[2 * s + 1][i] = (uint8_t)v;
        }
    const uint8_t *const p[6] = {planes[0], planes[1], planes[2], planes[3], planes[4], planes[5]};
    size_t n = rle_frame(f, p, 6, N);
    encaps e;
    encaps_init(&e);
    encaps_add(&e, f, n + (n & 1), 1);
    dc_pixel_desc pd = desc(H, W, 3, 1, 16, 16, 0, "RGB", TS_RLE);
    char err[DC_ERRLEN];
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U16, out, err), 0);
    assert_memory_equal(out, want, sizeof want);
}

/* The same masking after a codec: a 12-bit unsigned RLE frame whose words
 * carry bits above bit 11 (the finish step is shared by every codec). */
static void test_rle_bits_stored(void **state)
{
    (void)state;
    enum { N = 40 };
    static uint8_t hi[N], lo[N], f[64 + 2 * (N + 2)];
    uint16_t want[N], out[N];
    for (int i = 0; i < N; i++) {
        uint16_t v = (uint16_t)pattern((uint32_t)i, 2);
        hi[i] = (uint8_t)(v >> 8);
        lo[i] = (uint8_t)v;
        want[i] = v & 0x0FFF;
    }
    const uint8_t *const p[2] = {hi, lo};
    size_t n = rle_frame(f, p, 2, N);
    encaps e;
    encaps_init(&e);
    encaps_add(&e, f, n + (n & 1), 1);
    dc_pixel_desc pd = desc(4, 10, 1, 1, 16, 12, 0, "MONOCHROME2", TS_RLE);
    char err[DC_ERRLEN];
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U16, out, err), 0);
    assert_memory_equal(out, want, sizeof want);
}

static void test_rle_errors(void **state)
{
    (void)state;
    uint8_t f[64 + 8] = {1, 0, 0, 0, 64};
    f[64] = 2; /* runs: literal 3, then 0 (literal 1) twice: 5 bytes of the 8 needed */
    encaps e;
    encaps_init(&e);
    encaps_add(&e, f, sizeof f, 1);
    dc_pixel_desc pd = desc(2, 4, 1, 1, 8, 8, 0, "MONOCHROME2", TS_RLE);
    uint8_t out[16];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
    assert_string_equal(err, "RLE segment 0 decodes to 5 of 8 bytes (" TS_RLE ")");
    pd = desc(2, 4, 1, 1, 16, 16, 0, "MONOCHROME2", TS_RLE);
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U16, out, err), -1);
    assert_string_equal(err, "RLE frame has 1 segments, expected 2 (" TS_RLE ")");
    f[4] = 200; /* offset past the frame */
    encaps_init(&e);
    encaps_add(&e, f, sizeof f, 1);
    pd = desc(2, 4, 1, 1, 8, 8, 0, "MONOCHROME2", TS_RLE);
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
    assert_string_equal(err, "RLE segment 0 offset 200 out of range (" TS_RLE ")");
    encaps_init(&e);
    encaps_add(&e, f, 40, 1);
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
    assert_string_equal(err, "RLE header truncated (" TS_RLE ")");
}

/* ------------------------------------------------------------ compressed */

static void decode_mono8(const uint8_t *s, size_t n, const char *ts, int ba)
{
    encaps e;
    encaps_init(&e);
    encaps_add(&e, s, n, 1);
    dc_pixel_desc pd = desc(H, W, 1, 1, (uint16_t)ba, 8, 0, "MONOCHROME2", ts);
    uint16_t out16[W * H];
    uint8_t out[W * H];
    char err[DC_ERRLEN];
    if (ba == 8) {
        assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), 0);
    } else { /* 8-bit stream in 16-bit words */
        assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U16, out16, err), 0);
        for (int i = 0; i < W * H; i++) out[i] = (uint8_t)out16[i], assert_true(out16[i] < 256);
    }
    assert_img8(out);
}

static void test_jpeg_lossless(void **state)
{
    (void)state;
    decode_mono8(JPEG_SV1, sizeof JPEG_SV1, TS_JPEG_SV1, 8);
    decode_mono8(JPEG_SV1, sizeof JPEG_SV1, "1.2.840.10008.1.2.4.57", 16);
}

static void test_jpegls(void **state)
{
    (void)state;
    decode_mono8(JPEGLS, sizeof JPEGLS, "1.2.840.10008.1.2.4.80", 8);
    decode_mono8(JPEGLS, sizeof JPEGLS, "1.2.840.10008.1.2.4.81", 16);
    encaps e;
    encaps_init(&e);
    encaps_add(&e, JPEGLS_RGB_ILV_NONE, sizeof JPEGLS_RGB_ILV_NONE, 1);
    dc_pixel_desc pd = desc(H, W, 3, 1, 8, 8, 0, "RGB", "1.2.840.10008.1.2.4.80");
    uint8_t out[3 * W * H];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), 0);
    assert_rgb8(out);
}

static void test_j2k_htj2k(void **state)
{
    (void)state;
    decode_mono8(J2K, sizeof J2K, "1.2.840.10008.1.2.4.90", 8);
    decode_mono8(J2K, sizeof J2K, "1.2.840.10008.1.2.4.91", 16);
    decode_mono8(HTJ2K, sizeof HTJ2K, "1.2.840.10008.1.2.4.201", 8);
    decode_mono8(HTJ2K, sizeof HTJ2K, "1.2.840.10008.1.2.4.203", 8);
}

static void test_size_mismatch(void **state)
{
    (void)state;
    static const struct {
        const uint8_t *s;
        size_t n;
        const char *ts, *msg;
    } c[] = {
        {JPEG_SV1, sizeof JPEG_SV1, TS_JPEG_SV1,
         "JPEG decode failed: JPEG is 16x12x1, header says 15x12x1 (" TS_JPEG_SV1 ")"},
        {JPEGLS, sizeof JPEGLS, "1.2.840.10008.1.2.4.80",
         "JPEG-LS decode failed: stream is 16x12x1, header says 15x12x1 (1.2.840.10008.1.2.4.80)"},
        {J2K, sizeof J2K, "1.2.840.10008.1.2.4.90",
         "JPEG 2000 decode failed: image is 16x12x1, header says 15x12x1 (1.2.840.10008.1.2.4.90)"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        encaps e;
        encaps_init(&e);
        encaps_add(&e, c[i].s, c[i].n, 1);
        dc_pixel_desc pd = desc(H, W - 1, 1, 1, 8, 8, 0, "MONOCHROME2", c[i].ts);
        uint8_t out[W * H];
        char err[DC_ERRLEN];
        assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
        assert_string_equal(err, c[i].msg);
    }
}

/* IJG decodes corrupt entropy data with a warning only: such frames are refused */
static void test_jpeg_corrupt_warnings(void **state)
{
    (void)state;
    static const struct {
        size_t pos;
        uint8_t x;
        const char *msg;
    } c[] = {
        {71, 0xFF, "JPEG decode failed: Corrupt JPEG data: bad Huffman code (" TS_JPEG_SV1 ")"},
        {70, 0x80,
         "JPEG decode failed: Corrupt JPEG data: premature end of data segment (" TS_JPEG_SV1 ")"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint8_t s[sizeof JPEG_SV1], out[W * H];
        char err[DC_ERRLEN];
        memcpy(s, JPEG_SV1, sizeof s);
        s[c[i].pos] ^= c[i].x;
        encaps e;
        encaps_init(&e);
        encaps_add(&e, s, sizeof s, 1);
        dc_pixel_desc pd = desc(H, W, 1, 1, 8, 8, 0, "MONOCHROME2", TS_JPEG_SV1);
        assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
        assert_string_equal(err, c[i].msg);
    }
}

/* ------------------------------------------------------------ frames */

static void test_frames_by_bot_and_count(void **state)
{
    (void)state;
    /* 3 RLE frames of 1x4, values 10*f + i */
    uint8_t frames[3][64 + 6];
    encaps e;
    encaps_init(&e);
    for (int f = 0; f < 3; f++) {
        uint8_t plane[4];
        for (int i = 0; i < 4; i++) plane[i] = (uint8_t)(10 * f + i);
        const uint8_t *p[1] = {plane};
        size_t n = rle_frame(frames[f], p, 1, 4);
        encaps_add(&e, frames[f], n + (n & 1), 1);
    }
    dc_pixel_desc pd = desc(1, 4, 1, 3, 8, 8, 0, "MONOCHROME2", TS_RLE);
    uint8_t out[12];
    char err[DC_ERRLEN];
    for (int with_bot = 1; with_bot >= 0; with_bot--) {
        e.ds.pixel.n_bot = with_bot ? 3 : 0;
        assert_int_equal(decode(&e.ds, &pd, 0, 3, DC_DT_U8, out, err), 0);
        for (int i = 0; i < 12; i++) assert_int_equal(out[i], 10 * (i / 4) + i % 4);
        assert_int_equal(decode(&e.ds, &pd, 2, 1, DC_DT_U8, out, err), 0);
        for (int i = 0; i < 4; i++) assert_int_equal(out[i], 20 + i);
    }
    pd.frames = 4;
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
    assert_string_equal(err, "3 fragments for 4 frames");
    pd.frames = 2;
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
    assert_string_equal(err, "cannot split 3 fragments into 2 frames");
}

static void test_frames_by_marker(void **state)
{
    (void)state;
    /* 2 JPEG frames, each cut into 3 fragments, no basic offset table */
    encaps e;
    encaps_init(&e);
    for (int f = 0; f < 2; f++) {
        encaps_add(&e, JPEG_SV1, 50, 0);
        encaps_add(&e, JPEG_SV1 + 50, 100, 0);
        encaps_add(&e, JPEG_SV1 + 150, sizeof JPEG_SV1 - 150, 0);
    }
    dc_pixel_desc pd = desc(H, W, 1, 2, 8, 8, 0, "MONOCHROME2", TS_JPEG_SV1);
    uint8_t out[2 * W * H];
    char err[DC_ERRLEN];
    assert_int_equal(decode(&e.ds, &pd, 0, 2, DC_DT_U8, out, err), 0);
    assert_img8(out);
    assert_img8(out + W * H);
    memset(out, 0, sizeof out);
    assert_int_equal(decode(&e.ds, &pd, 1, 1, DC_DT_U8, out, err), 0);
    assert_img8(out);
    /* a basic offset table that does not point at fragment starts is ignored */
    e.ds.pixel.bot[0] = 0;
    e.ds.pixel.bot[1] = 17;
    e.ds.pixel.n_bot = 2;
    assert_int_equal(decode(&e.ds, &pd, 1, 1, DC_DT_U8, out, err), 0);
    assert_img8(out);
    pd.frames = 3;
    assert_int_equal(decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err), -1);
    assert_string_equal(err, "cannot find frame boundaries in 6 fragments for 3 frames");
}

/* ------------------------------------------------------------ corruption */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* truncated and byte-flipped copies must fail with a reason or decode; never crash */
static void corrupt_stream(const uint8_t *s, size_t n, const char *ts, uint32_t samples)
{
    static uint8_t buf[4096];
    uint8_t out[3 * W * H];
    char err[DC_ERRLEN];
    uint32_t seed = 12345;
    dc_pixel_desc pd = desc(H, W, samples, 1, 8, 8, 0, samples == 3 ? "RGB" : "MONOCHROME2", ts);
    assert_true(n <= sizeof buf);
    for (int it = 0; it < 300; it++) {
        size_t len = n;
        memcpy(buf, s, n);
        if (it % 3 == 0)
            len = 1 + lcg(&seed) % n;
        else
            for (int k = 0; k <= it % 5; k++)
                buf[lcg(&seed) % n] ^= (uint8_t)(1 + lcg(&seed) % 255);
        encaps e;
        encaps_init(&e);
        encaps_add(&e, buf, len, 1);
        int rc = decode(&e.ds, &pd, 0, 1, DC_DT_U8, out, err);
        if (rc != 0) assert_true(strlen(err) > 0);
    }
}

static void test_corrupt_streams(void **state)
{
    (void)state;
    corrupt_stream(JPEG_SV1, sizeof JPEG_SV1, TS_JPEG_SV1, 1);
    corrupt_stream(JPEGLS, sizeof JPEGLS, "1.2.840.10008.1.2.4.80", 1);
    corrupt_stream(JPEGLS_RGB_ILV_NONE, sizeof JPEGLS_RGB_ILV_NONE, "1.2.840.10008.1.2.4.80", 3);
    corrupt_stream(J2K, sizeof J2K, "1.2.840.10008.1.2.4.90", 1);
    corrupt_stream(HTJ2K, sizeof HTJ2K, "1.2.840.10008.1.2.4.201", 1);
    enum { N = W * H };
    static uint8_t planes[3][N], f[64 + 3 * (N + 2)];
    for (int i = 0; i < N; i++)
        for (int s = 0; s < 3; s++) planes[s][i] = rgb(i % W, i / W, s);
    const uint8_t *const p[3] = {planes[0], planes[1], planes[2]};
    corrupt_stream(f, rle_frame(f, p, 3, N), TS_RLE, 3);
}

static void test_dtype_and_photometric(void **state)
{
    (void)state;
    dc_pixel_desc pd = desc(1, 1, 1, 1, 16, 12, 1, "MONOCHROME2", TS_EXPL);
    assert_int_equal(dc_output_dtype(&pd, 0), DC_DT_I16);
    pd.pixel_rep = 0;
    pd.bits_alloc = 8;
    assert_int_equal(dc_output_dtype(&pd, 0), DC_DT_U8);
    pd.bits_alloc = 32;
    assert_int_equal(dc_output_dtype(&pd, 0), DC_DT_U32);
    pd.pixel_kind = DC_PIX_DOUBLE;
    assert_int_equal(dc_output_dtype(&pd, 1), DC_DT_F64);
    assert_string_equal(dc_decoded_photometric(&pd), "MONOCHROME2");
    pd = desc(1, 1, 3, 1, 8, 8, 0, "YBR_RCT", TS_EXPL);
    assert_string_equal(dc_decoded_photometric(&pd), "RGB");
    pd = desc(1, 1, 3, 1, 8, 8, 0, "YBR_PARTIAL_420", TS_EXPL);
    assert_string_equal(dc_decoded_photometric(&pd), "YBR_PARTIAL_420");
    assert_non_null(dc_codec_find("1.2.840.10008.1.2.1.99"));
    assert_string_equal(dc_codec_find("1.2.840.10008.1.2.4.202")->name, "JPEG 2000");
    assert_null(dc_codec_find("1.2.840.10008.1.2.4.100"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_u16_frames),
        cmocka_unit_test(test_native_be_signed12),
        cmocka_unit_test(test_native_bits_stored),
        cmocka_unit_test(test_native_1bit_unaligned),
        cmocka_unit_test(test_native_planar_rgb),
        cmocka_unit_test(test_native_ybr_full),
        cmocka_unit_test(test_native_ybr422),
        cmocka_unit_test(test_native_rescale),
        cmocka_unit_test(test_native_float_be),
        cmocka_unit_test(test_native_errors),
        cmocka_unit_test(test_rle_runs),
        cmocka_unit_test(test_rle_rgb16),
        cmocka_unit_test(test_rle_errors),
        cmocka_unit_test(test_rle_bits_stored),
        cmocka_unit_test(test_jpeg_lossless),
        cmocka_unit_test(test_jpegls),
        cmocka_unit_test(test_j2k_htj2k),
        cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_jpeg_corrupt_warnings),
        cmocka_unit_test(test_frames_by_bot_and_count),
        cmocka_unit_test(test_frames_by_marker),
        cmocka_unit_test(test_corrupt_streams),
        cmocka_unit_test(test_dtype_and_photometric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
