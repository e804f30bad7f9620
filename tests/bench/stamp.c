/*
 * stamp.c - the archive-scale corpus of make bench, in seconds per million
 * files: one template DICOM file (written by gen_corpus.py archive) copied N
 * times with fixed-width decimal fields patched in place.
 *
 *   stamp TEMPLATE OUT N PER_FOLDER SERIES_PER_FOLDER SOP_OFF SOP_OFF2 SER_OFF INST_OFF
 *
 * OUT/d<NNNNN>/f<NNNNNNNN>.dcm; file i is in folder i / PER_FOLDER, series
 * (i % PER_FOLDER) * SERIES_PER_FOLDER / PER_FOLDER of it.  At each SOP
 * offset 9 digits (the file number), at SER_OFF 9 digits (folder and series),
 * at INST_OFF 8 characters (InstanceNumber, left aligned).  Deterministic.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put_digits(char *at, unsigned long long v, int width)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%0*llu", width, v);
    memcpy(at, tmp, (size_t)width);
}

int main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: stamp TEMPLATE OUT N PER_FOLDER SERIES_PER_FOLDER SOP_OFF SOP_OFF2 "
                        "SER_OFF INST_OFF\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) return perror(argv[1]), 1;
    static char tpl[1 << 20];
    size_t len = fread(tpl, 1, sizeof tpl, f);
    fclose(f);
    const char *out = argv[2];
    unsigned long long n = strtoull(argv[3], NULL, 10), per = strtoull(argv[4], NULL, 10);
    unsigned long long sper = strtoull(argv[5], NULL, 10);
    long sop1 = atol(argv[6]), sop2 = atol(argv[7]), ser = atol(argv[8]), inst = atol(argv[9]);
    mkdir(out, 0755);
    char path[4096];
    for (unsigned long long i = 0; i < n; i++) {
        unsigned long long folder = i / per, k = i % per;
        if (k == 0) {
            snprintf(path, sizeof path, "%s/d%05llu", out, folder);
            if (mkdir(path, 0755) != 0) perror(path);
        }
        put_digits(tpl + sop1, 100000000ULL + i, 9);
        put_digits(tpl + sop2, 100000000ULL + i, 9);
        put_digits(tpl + ser, 100000000ULL + folder * 10 + k * sper / per, 9);
        char num[32];
        snprintf(num, sizeof num, "%-8llu", k + 1);
        memcpy(tpl + inst, num, 8);
        snprintf(path, sizeof path, "%s/d%05llu/f%08llu.dcm", out, folder, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, tpl, len) != (ssize_t)len) return perror(path), 1;
        close(fd);
    }
    return 0;
}
