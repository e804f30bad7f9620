/*
 * dcmtk_wrap.cpp - dcmtk's JPEG and JPEG-LS frame decoders behind the C
 * interface of dc_dcmtk.h.  The only C++ file of dcmcrawl.
 *
 * JPEG: dcmtk's DJDecompressIJG8Bit/12Bit/16Bit (IJG 6b with the lossless
 * extension), chosen by the frame's sample precision like dcmtk's own codec
 * does.  Colour conversion is off (EDC_never): the caller converts YBR to RGB
 * itself, the same way for every codec.
 *
 * JPEG-LS: JpegLsReadHeader/JpegLsDecode exported (extern "C") by
 * libdcmtkcharls, the CharLS 1.x fork bundled with dcmtk 3.6.7.  Its header
 * is not installed, so the prototypes and JlsParameters are declared here as
 * in dcmjpls/libcharls/intrface.h and pubtypes.h of dcmtk 3.6.7.
 *
 * Every entry point catches all exceptions; dcmtk's log output is silenced
 * (errors come back as return values).
 */
#include "dc_dcmtk.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmjpeg/djcparam.h"
#include "dcmtk/dcmjpeg/djdecabs.h"
#include "dcmtk/dcmjpeg/djdijg12.h"
#include "dcmtk/dcmjpeg/djdijg16.h"
#include "dcmtk/dcmjpeg/djdijg8.h"
#include "dcmtk/dcmjpeg/djutils.h"
#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/spi/logevent.h"
#include "dcmtk/ofstd/ofchrenc.h"

/* ---- CharLS 1.x (dcmtk 3.6.7 libdcmtkcharls) ---- */
extern "C" {
enum dc_jls_interleave { DC_JLS_ILV_NONE = 0, DC_JLS_ILV_LINE = 1, DC_JLS_ILV_SAMPLE = 2 };
struct dc_jls_custom {
    int maxval, t1, t2, t3, reset;
};
struct dc_jls_jfif {
    int ver;
    char units;
    int xdensity, ydensity;
    short xthumb, ythumb;
    void *thumbnail;
};
struct dc_jls_params {
    int width, height, bitspersample, bytesperline, components, allowedlossyerror;
    int ilv; /* enum interleavemode in CharLS (int-sized); may hold garbage from corrupt streams */
    int colorTransform;
    char outputBgr;
    struct dc_jls_custom custom;
    struct dc_jls_jfif jfif;
};
/* enum JLS_ERROR is int-sized; 0 = OK */
int JpegLsReadHeader(const void *compressed, size_t compressed_len, struct dc_jls_params *params);
int JpegLsDecode(void *uncompressed, size_t uncompressed_len, const void *compressed,
                 size_t compressed_len, struct dc_jls_params *info);
}

static void set_err(char *err, size_t errlen, const char *what, const char *detail)
{
    if (err && errlen)
        std::snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* The IJG library's warnings reach us only as dcmjpeg log messages: this
 * appender keeps the last one (and nothing is printed). */
class LastMessage : public dcmtk::log4cplus::Appender
{
  public:
    LastMessage()
    {
    }
    ~LastMessage() override
    {
        destructorImpl();
    }
    void close() override
    {
    }
    std::string text;

  protected:
    void append(const dcmtk::log4cplus::spi::InternalLoggingEvent &ev) override
    {
        text = ev.getMessage().c_str();
    }
};

static LastMessage *jpeg_messages(void)
{
    static LastMessage *last = NULL;
    if (last) return last;
    last = new LastMessage();
    DCM_dcmjpegLogger.setAdditivity(false); /* not to the console */
    DCM_dcmjpegLogger.removeAllAppenders();
    DCM_dcmjpegLogger.addAppender(dcmtk::log4cplus::SharedAppenderPtr(last));
    DCM_dcmjpegLogger.setLogLevel(OFLogger::WARN_LOG_LEVEL);
    return last;
}

/* IJG warnings that do not change decoded pixels */
static bool harmless_warning(const std::string &w)
{
    static const char *ok[] = {
        "extraneous bytes before marker", "Invalid SOS parameters for sequential JPEG",
        "Unknown Adobe color transform code", "Warning: unknown JFIF revision number",
        "Warning: thumbnail image size does not match data length"};
    for (const char *k : ok)
        if (w.find(k) != std::string::npos) return true;
    return false;
}

/* dcmtk's IJG decoder, counting the library's warnings: IJG decodes corrupt
 * entropy data anyway (bad Huffman code, premature end of segment, ...) and
 * only warns; such a frame is refused here rather than returned wrong. */
template <class Base> class StrictJpegDecoder : public Base
{
  public:
    explicit StrictJpegDecoder(const DJCodecParameter &cp) : Base(cp, OFFalse), warnings(0)
    {
    }
    void emitMessage(int msg_level) const override
    {
        if (msg_level >= 0) return; /* trace */
        LastMessage *m = jpeg_messages();
        m->text.clear();
        Base::emitMessage(msg_level); /* formats the message and logs it to m */
        if (!harmless_warning(m->text)) {
            if (!warnings) first = m->text;
            ++warnings;
        }
    }
    mutable int warnings;
    mutable std::string first;
};

template <class Base>
static int run_jpeg_decoder(const uint8_t *src, size_t n, uint8_t *dst, size_t need, int is_signed,
                            char *err, size_t errlen)
{
    DJCodecParameter cp(ECC_lossyYCbCr, EDC_never, EUC_never, EPC_default);
    StrictJpegDecoder<Base> dec(cp);
    OFCondition c = dec.init();
    if (c.bad()) {
        set_err(err, errlen, "JPEG decoder init failed", c.text());
        return -1;
    }
    c = dec.decode(const_cast<Uint8 *>(src), (Uint32)n, dst, (Uint32)need,
                   is_signed ? OFTrue : OFFalse);
    if (c == EJ_Suspension) {
        set_err(err, errlen, "truncated JPEG data", NULL);
        return -1;
    }
    if (c.bad()) {
        set_err(err, errlen, c.text(), NULL);
        return -1;
    }
    if (dec.warnings) {
        set_err(err, errlen, dec.first.empty() ? "corrupt JPEG data" : dec.first.c_str(), NULL);
        return -1;
    }
    return 0;
}

extern "C" int dc_dcmtk_decode_jpeg(const uint8_t *src, size_t n, uint32_t rows, uint32_t cols,
                                    uint32_t samples, int precision, int is_signed, uint8_t *dst,
                                    size_t dstlen, char *err, size_t errlen)
{
    size_t bytes = precision > 8 ? 2 : 1;
    size_t need = (size_t)rows * cols * samples * bytes;
    if (precision < 2 || precision > 16) {
        set_err(err, errlen, "unsupported JPEG precision", NULL);
        return -1;
    }
    if (dstlen < need || need > 0xFFFFFFFFu || n > 0xFFFFFFFFu || n == 0) {
        set_err(err, errlen, "bad buffer sizes", NULL);
        return -1;
    }
    try {
        jpeg_messages();
        if (precision > 12)
            return run_jpeg_decoder<DJDecompressIJG16Bit>(src, n, dst, need, is_signed, err,
                                                          errlen);
        if (precision > 8)
            return run_jpeg_decoder<DJDecompressIJG12Bit>(src, n, dst, need, is_signed, err,
                                                          errlen);
        return run_jpeg_decoder<DJDecompressIJG8Bit>(src, n, dst, need, is_signed, err, errlen);
    } catch (const std::exception &e) {
        set_err(err, errlen, "exception", e.what());
    } catch (...) {
        set_err(err, errlen, "unknown exception", NULL);
    }
    return -1;
}

static const char *jls_error_text(int e)
{
    static const char *names[] = {"OK",
                                  "invalid JPEG-LS parameters",
                                  "parameter value not supported",
                                  "uncompressed buffer too small",
                                  "compressed buffer too small",
                                  "invalid compressed data",
                                  "too much compressed data",
                                  "image type not supported",
                                  "unsupported bit depth for transform",
                                  "unsupported color transform",
                                  "memory allocation failure"};
    if (e >= 0 && e < (int)(sizeof names / sizeof names[0])) return names[e];
    return "unknown CharLS error";
}

static int jls_check_header(const struct dc_jls_params *p, uint32_t rows, uint32_t cols,
                            uint32_t samples, char *err, size_t errlen)
{
    char msg[160];
    if ((uint32_t)p->width != cols || (uint32_t)p->height != rows ||
        (uint32_t)p->components != samples) {
        std::snprintf(msg, sizeof msg, "stream is %dx%dx%d, header says %ux%ux%u", p->width,
                      p->height, p->components, (unsigned)cols, (unsigned)rows, (unsigned)samples);
        set_err(err, errlen, msg, NULL);
        return -1;
    }
    if (p->bitspersample < 2 || p->bitspersample > 16) {
        std::snprintf(msg, sizeof msg, "unsupported bits per sample %d", p->bitspersample);
        set_err(err, errlen, msg, NULL);
        return -1;
    }
    if (p->ilv < DC_JLS_ILV_NONE || p->ilv > DC_JLS_ILV_SAMPLE) {
        set_err(err, errlen, "bad interleave mode", NULL);
        return -1;
    }
    if (p->colorTransform != 0) {
        set_err(err, errlen, "HP colour transform not supported", NULL);
        return -1;
    }
    return 0;
}

static int jls_decode(const uint8_t *src, size_t n, uint32_t rows, uint32_t cols, uint32_t samples,
                      uint8_t *dst, size_t dstlen, int *planar, int *bits, char *err, size_t errlen)
{
    /* room after the struct in case the library's layout is larger than ours */
    union {
        struct dc_jls_params p;
        unsigned char pad[sizeof(struct dc_jls_params) + 256];
    } u;
    std::memset(&u, 0, sizeof u);
    int e = JpegLsReadHeader(src, n, &u.p);
    if (e != 0) {
        set_err(err, errlen, jls_error_text(e), NULL);
        return -1;
    }
    if (jls_check_header(&u.p, rows, cols, samples, err, errlen) != 0) return -1;
    size_t bytes = u.p.bitspersample > 8 ? 2 : 1;
    size_t need = (size_t)rows * cols * samples * bytes;
    if (dstlen < need) {
        set_err(err, errlen, "output buffer too small", NULL);
        return -1;
    }
    *planar = samples > 1 && u.p.ilv == DC_JLS_ILV_NONE;
    *bits = u.p.bitspersample;
    e = JpegLsDecode(dst, need, src, n, &u.p);
    if (e != 0) {
        set_err(err, errlen, jls_error_text(e), NULL);
        return -1;
    }
    return 0;
}

extern "C" int dc_dcmtk_decode_jpegls(const uint8_t *src, size_t n, uint32_t rows, uint32_t cols,
                                      uint32_t samples, uint8_t *dst, size_t dstlen, int *planar,
                                      int *bits, char *err, size_t errlen)
{
    if (!src || n < 4 || !dst) {
        set_err(err, errlen, "empty JPEG-LS frame", NULL);
        return -1;
    }
    try {
        return jls_decode(src, n, rows, cols, samples, dst, dstlen, planar, bits, err, errlen);
    } catch (const std::exception &e) {
        set_err(err, errlen, "exception", e.what());
    } catch (...) {
        set_err(err, errlen, "unknown exception", NULL);
    }
    return -1;
}

/* ------------------------------------------------------------------ version */

extern "C" const char *dc_dcmtk_version(void)
{
    static char text[160];
    if (text[0]) return text;
    try {
        OFString charset = OFCharacterEncoding::getLibraryVersionString();
        snprintf(text, sizeof text, "%s (character sets: %s)", OFFIS_DCMTK_VERSION_STRING,
                 charset.c_str());
    } catch (...) {
        snprintf(text, sizeof text, "%s", OFFIS_DCMTK_VERSION_STRING);
    }
    return text;
}
