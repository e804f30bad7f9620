# tests/fuzz/fuzz.mk - the libFuzzer build of dcmcrawl's per-file path.
#
#   make -f tests/fuzz/fuzz.mk FUZZ_BUILD=build-fuzzer      (run_fuzz.sh does this)
#
# clang (Debian 12: clang-14 + libclang-rt-14-dev, both in tools/deps.sh) with
# -fsanitize=fuzzer,address,undefined; only the pure modules of the per-file
# path are compiled (no MPI, no HDF5).  dcmtk, OpenJPEG and zlib are the
# system's (not instrumented: ASan sees their memcpy/malloc, not their loads).
FUZZ_BUILD ?= build-fuzzer
CLANG      ?= $(shell command -v clang-14 || command -v clang)
CLANGXX    ?= $(shell command -v clang++-14 || command -v clang++)
SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all
FLAGS      := -g -O1 -fno-omit-frame-pointer $(SAN) -Wall -Wextra -Wno-unused-parameter
CPPFLAGS   := -Iinclude -I/usr/include/openjpeg-2.5 -D_GNU_SOURCE -DDCMTK_ENABLE_CHARSET_CONVERSION
DCMTK_LIBS := -ldcmjpls -ldcmtkcharls -ldcmjpeg -lijg8 -lijg12 -lijg16 -ldcmimgle -ldcmdata -loflog -lofstd
PURE       := util scan dicom dict dc_dict_table names dc_names_table pytext charset flatten record decode csv \
              codec_native codec_rle codec_jpeg codec_jpegls codec_j2k \
              vendor vendor_siemens vendor_philips xattr tiles \
              grid seg rtstruct references wire
# sources are found in src/<stage>/ by name (objects/: not obj/, whose dependency files
# from before the layout name src/<file>.c)
vpath %.c $(wildcard src/*/)
vpath %.cpp $(wildcard src/*/)
OBJ        := $(PURE:%=$(FUZZ_BUILD)/objects/%.o) $(FUZZ_BUILD)/objects/dcmtk_wrap.o $(FUZZ_BUILD)/objects/fuzz_one.o

all: $(FUZZ_BUILD)/fuzz_dcmfile

$(FUZZ_BUILD)/objects:
	mkdir -p $@

$(FUZZ_BUILD)/objects/%.o: %.c | $(FUZZ_BUILD)/objects
	$(CLANG) -std=c11 $(CPPFLAGS) $(FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/objects/%.o: %.cpp | $(FUZZ_BUILD)/objects
	$(CLANGXX) -std=c++17 $(CPPFLAGS) $(FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/objects/fuzz_one.o: tests/fuzz/fuzz_one.c | $(FUZZ_BUILD)/objects
	$(CLANG) -std=c11 $(CPPFLAGS) $(FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_dcmfile: tests/fuzz/fuzz_dcmfile.c $(OBJ)
	$(CLANGXX) $(FLAGS) -fsanitize=fuzzer -x c $< -x none $(OBJ) -o $@ \
	    -lopenjp2 $(DCMTK_LIBS) -lz -lm

-include $(OBJ:.o=.d)

# ---- coverage of the corpus: make -f tests/fuzz/fuzz.mk coverage (run by coverage.sh)
COV     := -g -O1 -fprofile-instr-generate -fcoverage-mapping
COV_OBJ := $(PURE:%=$(FUZZ_BUILD)/cov/%.o) $(FUZZ_BUILD)/cov/dcmtk_wrap.o $(FUZZ_BUILD)/cov/fuzz_one.o

coverage: $(FUZZ_BUILD)/fuzz_dcmfile_cov

$(FUZZ_BUILD)/cov:
	mkdir -p $@

$(FUZZ_BUILD)/cov/%.o: %.c | $(FUZZ_BUILD)/cov
	$(CLANG) -std=c11 $(CPPFLAGS) $(COV) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/cov/%.o: %.cpp | $(FUZZ_BUILD)/cov
	$(CLANGXX) -std=c++17 $(CPPFLAGS) $(COV) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/cov/fuzz_one.o: tests/fuzz/fuzz_one.c | $(FUZZ_BUILD)/cov
	$(CLANG) -std=c11 $(CPPFLAGS) $(COV) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_dcmfile_cov: tests/fuzz/fuzz_dcmfile.c $(COV_OBJ)
	$(CLANGXX) $(COV) -fsanitize=fuzzer -x c $< -x none $(COV_OBJ) -o $@ \
	    -lopenjp2 $(DCMTK_LIBS) -lz -lm
