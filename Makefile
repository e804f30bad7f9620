# dcmcrawl - build, test, install dependencies.
#
#   make            build build/dcmcrawl
#   make deps       install the Debian packages it needs (apt-get, as root or via sudo)
#   make sample     deps + build + crawl the bundled sample, print where outputs are
#   make test       deps + unit + integration + multi-rank tests (well under 15 minutes)
#   make asan       the same tests against an AddressSanitizer/UBSan build
#   make bench      benchmarks against side-by-side references (see README)
#   make fuzz       build the libFuzzer target (clang) and fuzz for FUZZ_SECONDS (default 60)
#
# BUILD=dir selects the build directory (helpers and CI can build side by side).

BUILD    ?= build
CC       := mpicc
CXX      := g++
HDF5_INC := -I/usr/include/hdf5/openmpi
HDF5_LIB := -L/usr/lib/x86_64-linux-gnu/hdf5/openmpi -Wl,-rpath,/usr/lib/x86_64-linux-gnu/hdf5/openmpi -lhdf5
OPJ_INC  := -I/usr/include/openjpeg-2.5
DCMTK_LIBS := -ldcmjpls -ldcmtkcharls -ldcmjpeg -lijg8 -lijg12 -lijg16 -ldcmimgle -ldcmdata -loflog -lofstd
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter
OPT      ?= -O2 -g
SAN      ?=
CPPFLAGS := -Iinclude $(HDF5_INC) $(OPJ_INC) -D_GNU_SOURCE -DDCMTK_ENABLE_CHARSET_CONVERSION
CFLAGS   := -std=c11 $(WARN) $(OPT) $(SAN) -MMD -MP
CXXFLAGS := -std=c++17 $(WARN) $(OPT) $(SAN) -MMD -MP
LDLIBS   := $(HDF5_LIB) -lyaml -lopenjp2 $(DCMTK_LIBS) -lz -lstdc++ -lm
LDFLAGS  := $(SAN)

C_SRC    := $(wildcard src/*.c)
CXX_SRC  := $(wildcard src/*.cpp)
OBJ      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(C_SRC)) $(patsubst src/%.cpp,$(BUILD)/obj/%.o,$(CXX_SRC))
LIB_OBJ  := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))

.PHONY: all tools unit-bin deps sample test unit asan bench fuzz clean format

all: $(BUILD)/dcmcrawl tools

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: src/%.cpp | $(BUILD)/obj
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libdcmcrawl.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/dcmcrawl: $(BUILD)/obj/main.o $(BUILD)/libdcmcrawl.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libdcmcrawl.a | $(BUILD)/unit
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libdcmcrawl.a $(LDLIBS) -lcmocka

# small developer/test tools: tools/<name>.c -> $(BUILD)/tools/<name>
$(BUILD)/tools/%: tools/%.c $(BUILD)/libdcmcrawl.a | $(BUILD)/tools
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libdcmcrawl.a $(LDLIBS)

TOOL_BIN := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))
tools: $(TOOL_BIN)

$(BUILD)/obj $(BUILD)/unit $(BUILD)/tools:
	mkdir -p $@

deps:
	@bash tools/deps.sh

sample: deps all
	@bash tools/sample.sh $(BUILD)/dcmcrawl

unit-bin: $(UNIT_BIN)

unit: $(UNIT_BIN)
	@bash tests/run_unit.sh $(BUILD)

test: deps all unit-bin
	@bash tests/run_tests.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" SAN="-fsanitize=address,undefined" all unit-bin
	@DCMCRAWL_ASAN=1 bash tests/run_tests.sh build-asan

bench: all
	@bash tests/bench/run_bench.sh $(BUILD)

fuzz:
	@FUZZ_BUILD=$${FUZZ_BUILD:-$(BUILD)/fuzzer} bash tests/fuzz/run_fuzz.sh $${FUZZ_SECONDS:-60}

format:
	clang-format -i src/*.c src/*.cpp include/*.h tests/unit/*.c

clean:
	rm -rf build build-asan build-*

-include $(OBJ:.o=.d)
