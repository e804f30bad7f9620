#!/usr/bin/python3
"""test_docs.py BUILD/dcmcrawl - every config key in the code is documented in all
three places, and the generated documentation is up to date.

The keys come from the code: the KEYS[] table of src/core/config.c, read from the source
(every `{"section", "key", K_...` row) and, as a cross-check, from the compiled table
(`BUILD/tools/gendocs keys`).  Each key must appear
  - in `dcmcrawl --help` (its "Config keys" block: `section:` lines, `key: default` lines),
  - in the man page BUILD/dcmcrawl.1 as man renders it (`section.key: type ...`),
  - in README.md's config table (a row "| `section.key` | ...").
And README.md must be exactly what `make docs` would write, the man page must render
without groff warnings, and SYNOPSIS/OPTIONS/EXIT STATUS must carry --help's text.
Other branches add keys to config.c: a key added there without `make docs` fails here
with the command to run.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def fail(msg):
    sys.exit("test_docs: FAIL: " + msg)


def keys_from_source():
    src = open(os.path.join(ROOT, "src", "core", "config.c"), encoding="utf-8").read()
    m = re.search(r"static const keydef KEYS\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if not m:
        fail("src/core/config.c has no `static const keydef KEYS[] = {...};` table")
    keys = re.findall(r'\{\s*"(\w+)"\s*,\s*"(\w+)"\s*,\s*K_\w+', m.group(1))
    return ["%s.%s" % k for k in keys]


def keys_in_help(binary):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, env=env, timeout=60)
    if r.returncode != 0:
        fail("%s --help exited %d: %s" % (binary, r.returncode, r.stderr))
    block = r.stdout.split("Config keys", 1)
    if len(block) != 2:
        fail("--help has no 'Config keys' block")
    found, section = set(), None
    for line in block[1].splitlines()[1:]:
        if re.match(r"^  (\w+):$", line):
            section = line.strip()[:-1]
        elif re.match(r"^    (\w+): ", line) and section:
            found.add("%s.%s" % (section, line.split(":")[0].strip()))
        elif line and not line.startswith(" "):
            break
    return r.stdout, found


def rendered_man(page):
    env = dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--no-hyphenation", "--no-justification", "-l", page],
                       capture_output=True, text=True, env=env, timeout=60)
    if r.returncode != 0:
        fail("man -l %s exited %d: %s" % (page, r.returncode, r.stderr))
    w = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True)
    if w.returncode != 0 or w.stderr.strip():
        fail("groff warns about %s:\n%s" % (page, w.stderr))
    return r.stdout


def readme_table():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- config-keys:begin[^\n]*\n(.*?)<!-- config-keys:end -->", text, re.S)
    if not m:
        fail("README.md has no <!-- config-keys:begin ... --> / <!-- config-keys:end --> block")
    return text, set(re.findall(r"^\| `(\w+\.\w+)` \|", m.group(1), re.M))


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/dcmcrawl")
    build = os.path.dirname(binary)
    gendocs, page = os.path.join(build, "tools", "gendocs"), os.path.join(build, "dcmcrawl.1")
    for f in (binary, gendocs, page):
        if not os.path.exists(f):
            fail("%s missing: build first (make BUILD=%s)" % (f, os.path.relpath(build, ROOT)))
    make_docs = "make BUILD=%s docs" % os.path.relpath(build, ROOT)
    make_build = "make BUILD=%s" % os.path.relpath(build, ROOT)

    code = keys_from_source()
    compiled = subprocess.run([gendocs, "keys"], capture_output=True, text=True,
                              check=True).stdout.split()
    if len(code) < 10 or sorted(code) != sorted(compiled):
        fail("keys in src/core/config.c %s vs the compiled table (gendocs keys) %s: rebuild (%s)"
             % (sorted(set(code) ^ set(compiled)) or len(code), len(compiled), make_build))

    help_text, in_help = keys_in_help(binary)
    man = rendered_man(page)
    readme, in_readme = readme_table()
    missing = []
    for k in code:
        if k not in in_help:
            missing.append("%s not in `dcmcrawl --help` (config.c's usage_keys prints KEYS[])" % k)
        if not re.search(r"^\s*%s: " % re.escape(k), man, re.M):
            missing.append("%s not in the man page %s (regenerate: %s)" % (k, page, make_build))
        if k not in in_readme:
            missing.append("%s not in README.md's config table (regenerate: %s, then commit "
                           "README.md)" % (k, make_docs))
    extra = sorted((in_help | in_readme) - set(code))
    if extra:
        missing.append("documented but not in src/core/config.c: %s (run %s)" % (extra, make_docs))
    if missing:
        fail("\n  " + "\n  ".join(missing))

    want = subprocess.run([gendocs, "readme", os.path.join(ROOT, "README.md")],
                          capture_output=True, text=True, check=True).stdout
    if want != readme:
        fail("README.md's config table is not what src/core/config.c says: run `%s` and commit "
             "README.md" % make_docs)

    # the man page carries --help's text: every option line and the exit status
    flat = " ".join(man.split())
    for opt in re.findall(r"^  (-[-\w, =\[\]]+?)(?:  |$)", help_text, re.M):
        if " ".join(opt.split()) not in flat:
            fail("option %r of --help is not in the man page" % opt)
    exit_text = help_text.split("Exit status:", 1)[1].split("\n\n")[0]
    if " ".join(exit_text.split()) not in flat or "EXIT STATUS" not in man:
        fail("the man page's EXIT STATUS is not --help's %r" % exit_text)
    for section in ("NAME", "SYNOPSIS", "OPTIONS", "CONFIGURATION", "EXIT STATUS", "FILES"):
        if not re.search(r"^%s$" % section, man, re.M):
            fail("the man page has no %s section" % section)
    print("test_docs: %d config keys in --help, the man page and README.md; README.md up to "
          "date; %d options of --help in the man page" % (len(code), len(re.findall(
              r"^  -", help_text, re.M))))
    print("test_docs: PASS")


main()
